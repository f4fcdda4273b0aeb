//! The only place that runs `git`: a small command wrapper with clear errors.
//!
//! The token is handed to git per command, as an `http.<server>/.extraheader` entry passed
//! through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` — never on the command line
//! (world-readable in `/proc`), never in `.git/config`, never in a remote URL. The entry is
//! preceded by an *empty* entry for the same key: git resets a multi-valued `extraheader` on an
//! empty value, which drops the header `actions/checkout` persisted for the same server (the
//! "Duplicate header: Authorization" failure). A generic `http.extraheader=` would not do: git
//! ignores a less specific URL match once a more specific one was seen.
//!
//! Every command also runs with hooks and fsmonitor off and signing off: the agent could have
//! written `.git/hooks` or `.git/config`, and none of that may run next to the token or block
//! a bot commit.
//!
//! What it deliberately does not do: decide anything. `publish` decides; this runs.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

/// What a finished git command printed.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

pub struct Git {
    dir: PathBuf,
    /// `(config key, header value)`; the value holds the token.
    auth: Option<(String, String)>,
    /// Redacted from every error message.
    secrets: Vec<String>,
}

/// Identity for commits, passed as environment so the user's config is never rewritten.
pub struct Identity<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

impl Git {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), auth: None, secrets: Vec::new() }
    }

    /// Authenticates fetches and pushes to `server_url` (e.g. `https://github.com`) with `token`.
    /// Other hosts never see the header.
    pub fn with_token(mut self, server_url: &str, token: &str) -> Self {
        let origin = url_origin(server_url);
        let basic = base64(format!("x-access-token:{token}").as_bytes());
        self.auth = Some((format!("http.{origin}/.extraheader"), format!("AUTHORIZATION: basic {basic}")));
        self.secrets = vec![token.to_owned(), basic];
        self
    }

    fn command(&self, args: &[&str], authed: bool) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.dir).args(args);
        cmd.env("GIT_TERMINAL_PROMPT", "0").env("LC_ALL", "C");
        // Trace variables could print what we pass below; a child never inherits them.
        for var in ["GIT_TRACE", "GIT_TRACE_CURL", "GIT_TRACE_PACKET", "GIT_CURL_VERBOSE", "GIT_TRACE_REDACT"] {
            cmd.env_remove(var);
        }
        let mut config: Vec<(String, String)> = vec![
            ("core.hooksPath".into(), "/dev/null".into()),
            ("core.fsmonitor".into(), "false".into()),
            ("commit.gpgSign".into(), "false".into()),
        ];
        if authed {
            // A stalled transfer aborts instead of holding the job until its timeout; the calls
            // are blocking, so cancellation cannot interrupt them.
            config.push(("http.lowSpeedLimit".into(), "1000".into()));
            config.push(("http.lowSpeedTime".into(), "60".into()));
            if let Some((key, value)) = &self.auth {
                config.push((key.clone(), String::new()));
                config.push((key.clone(), value.clone()));
                config.push(("credential.helper".into(), String::new()));
            }
        }
        cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (key, value)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), key).env(format!("GIT_CONFIG_VALUE_{i}"), value);
        }
        cmd
    }

    /// Output of commands that carried the token is redacted; local commands are left as they
    /// are, because the guard must see a leaked token in a diff to withhold it.
    fn output(&self, mut cmd: Command, args: &[&str], stdin: Option<&str>, authed: bool) -> Result<Output> {
        let shown = format!("git {}", args.join(" "));
        tracing::debug!(command = %shown, dir = %self.dir.display(), "running");
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().with_context(|| format!("could not start `{shown}` (is git installed?)"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).with_context(|| format!("could not write to `{shown}`"))?;
        }
        let out = child.wait_with_output().with_context(|| format!("`{shown}` did not finish"))?;
        let text = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            if authed { self.redact(&text) } else { text.into_owned() }
        };
        Ok(Output { success: out.status.success(), stdout: text(&out.stdout), stderr: text(&out.stderr) })
    }

    fn redact(&self, text: &str) -> String {
        self.secrets.iter().filter(|s| !s.is_empty()).fold(text.to_owned(), |t, s| t.replace(s.as_str(), "***"))
    }

    /// Runs a local command; whatever it printed, and whether it succeeded.
    pub fn try_run(&self, args: &[&str]) -> Result<Output> {
        self.output(self.command(args, false), args, None, false)
    }

    /// Runs a command that talks to the server, with the token.
    pub fn try_remote(&self, args: &[&str]) -> Result<Output> {
        self.output(self.command(args, true), args, None, true)
    }

    /// Runs a local command that must succeed; its trimmed stdout.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        checked(self.try_run(args)?, args)
    }

    /// Runs a command that talks to the server and must succeed.
    pub fn remote(&self, args: &[&str]) -> Result<String> {
        checked(self.try_remote(args)?, args)
    }

    /// `git commit` with the message on stdin and the given identity as author and committer.
    pub fn commit(&self, message: &str, who: &Identity<'_>) -> Result<()> {
        let args = ["commit", "--quiet", "--no-verify", "--file", "-"];
        let mut cmd = self.command(&args, false);
        for role in ["AUTHOR", "COMMITTER"] {
            cmd.env(format!("GIT_{role}_NAME"), who.name).env(format!("GIT_{role}_EMAIL"), who.email);
        }
        checked(self.output(cmd, &args, Some(message), false)?, &args).map(drop)
    }

    /// True when the ref exists locally.
    pub fn has_ref(&self, name: &str) -> Result<bool> {
        Ok(self.try_run(&["rev-parse", "--verify", "--quiet", &format!("{name}^{{commit}}")])?.success)
    }

    /// The checked-out branch, `None` when HEAD is detached.
    pub fn current_branch(&self) -> Result<Option<String>> {
        let out = self.try_run(&["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        Ok(out.success.then(|| out.stdout.trim().to_owned()).filter(|b| !b.is_empty()))
    }

    /// True when `remote` has the branch (asks the server).
    pub fn remote_has_branch(&self, remote: &str, branch: &str) -> Result<bool> {
        let out = self.remote(&["ls-remote", "--heads", remote, &format!("refs/heads/{branch}")])?;
        Ok(!out.trim().is_empty())
    }

    /// Fetches `branch` from `remote` into `tracking` (a local remote-tracking ref).
    pub fn fetch_branch(&self, remote: &str, branch: &str, tracking: &str) -> Result<()> {
        let refspec = format!("+refs/heads/{branch}:{tracking}");
        let shallow = self.run(&["rev-parse", "--is-shallow-repository"])? == "true";
        // A shallow checkout (`actions/checkout` fetches one commit) stays shallow: history is
        // not needed to commit on top of a branch tip.
        let mut args = vec!["fetch", "--quiet", "--no-tags"];
        if shallow {
            args.push("--depth=1");
        }
        args.extend([remote, refspec.as_str()]);
        self.remote(&args).map(drop)
    }
}

fn checked(out: Output, args: &[&str]) -> Result<String> {
    if !out.success {
        let detail = out.stderr.trim();
        let detail = if detail.is_empty() { out.stdout.trim() } else { detail };
        bail!("`git {}` failed: {detail}", args.join(" "));
    }
    Ok(out.stdout.trim_end().to_owned())
}

/// `scheme://host[:port]` of a URL (what `http.<url>.*` config keys match on).
fn url_origin(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

/// Standard base64 with padding; the only encoding git's basic auth header needs.
pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn header_key_is_scoped_to_the_server_origin() {
        assert_eq!(url_origin("https://github.com/"), "https://github.com");
        assert_eq!(url_origin("https://ghe.example.com:8443/some/path"), "https://ghe.example.com:8443");
        let git = Git::new(Path::new(".")).with_token("https://github.com", "secret-token");
        let (key, value) = git.auth.clone().unwrap();
        assert_eq!(key, "http.https://github.com/.extraheader");
        assert_eq!(value, format!("AUTHORIZATION: basic {}", base64(b"x-access-token:secret-token")));
        assert_eq!(git.redact("x secret-token y"), "x *** y");
    }

    #[test]
    fn the_token_travels_in_the_environment_never_in_arguments() {
        let git = Git::new(Path::new(".")).with_token("https://github.com", "secret-token");
        let header = git.auth.clone().unwrap().1;
        let cmd = git.command(&["push", "origin", "HEAD:refs/heads/x"], true);
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(args.iter().all(|a| !a.contains("secret-token") && !a.contains(&header)), "{args:?}");
        let envs: Vec<(String, String)> = cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_string_lossy().into_owned(), v?.to_string_lossy().into_owned())))
            .collect();
        let value_of = |key: &str| envs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        // The persisted header is reset (empty value) before ours is added, under the same key.
        let count: usize = value_of("GIT_CONFIG_COUNT").unwrap().parse().unwrap();
        let pairs: Vec<(String, String)> = (0..count)
            .map(|i| {
                (value_of(&format!("GIT_CONFIG_KEY_{i}")).unwrap(), value_of(&format!("GIT_CONFIG_VALUE_{i}")).unwrap())
            })
            .collect();
        let key = "http.https://github.com/.extraheader".to_owned();
        let at = pairs.iter().position(|p| *p == (key.clone(), String::new())).unwrap();
        assert_eq!(pairs[at + 1], (key, header));
        // A local command carries no token at all.
        let local = git.command(&["status"], false);
        assert!(local.get_envs().all(|(_, v)| !v.is_some_and(|v| v.to_string_lossy().contains("basic"))));
    }
}
