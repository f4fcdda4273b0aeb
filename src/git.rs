//! The only place that runs `git`: a command wrapper that decides what each git process may
//! read, and nothing else.
//!
//! Every command starts from an empty environment (`env_clear`): `PATH`, the C locale, our own
//! proxy and CA settings, and the variables below. No `GIT_*` of the job, no `INPUT_*`, no
//! token in the environment of a command that does not need it. `GIT_CONFIG_NOSYSTEM`,
//! `GIT_CONFIG_GLOBAL=/dev/null` and a private empty `HOME`/`XDG_CONFIG_HOME` mean no config
//! but the repository's own is read; in the clean room (`room.rs`) that is a file we wrote.
//! On top, each command pins by `GIT_CONFIG_COUNT`: no hooks, no fsmonitor, no attributes
//! file, no signing, no credential helper or askpass, `protocol.allow=never` with only the
//! server's own scheme allowed, `http.sslVerify=true`. Paths are literal
//! (`GIT_LITERAL_PATHSPECS`): a file named `:notes.txt` is that file, not pathspec magic.
//!
//! The token is handed to git per command, as an `http.<server>/.extraheader` entry in the
//! same `GIT_CONFIG_*` variables — never on the command line (world-readable in `/proc`),
//! never in a config file, never in a URL. The entry is preceded by an *empty* entry for the
//! same key: git resets a multi-valued `extraheader` on an empty value, which drops any header
//! persisted for the same server (the "Duplicate header: Authorization" failure). Only
//! commands that talk to the server carry it (`try_remote`/`remote`).
//!
//! What it deliberately does not do: decide anything. `publish` decides; this runs.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use crate::secrets;

/// What a finished git command printed.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Clone)]
pub struct Git {
    /// `-C <dir>`, or `--git-dir <dir> [--work-tree <tree>]` for the clean room.
    location: Vec<OsString>,
    /// Shown in logs and errors.
    shown_dir: PathBuf,
    /// `HOME` and `XDG_CONFIG_HOME`: a private empty directory, or `/dev/null`.
    home: PathBuf,
    /// The schemes git may use besides `https` (`http`, `file`), from the server URL.
    protocols: Vec<&'static str>,
    /// `(config key, header value)`; the value holds the token.
    auth: Option<(String, String)>,
    /// Redacted from the output of commands that carried the token.
    secrets: secrets::Known,
}

/// Identity for commits, passed as environment so no config is ever rewritten.
pub struct Identity<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

impl Git {
    /// Local commands in `dir` (a work tree), with no home and no global config.
    pub fn new(dir: &Path) -> Self {
        let mut location = vec![OsString::from("-C")];
        location.push(dir.as_os_str().to_owned());
        Self {
            location,
            shown_dir: dir.to_path_buf(),
            home: PathBuf::from("/dev/null"),
            protocols: Vec::new(),
            auth: None,
            secrets: secrets::Known::default(),
        }
    }

    /// Commands on the repository `git_dir` (no work tree), with `home` as an empty `HOME`.
    pub fn bare(git_dir: &Path, home: &Path) -> Self {
        let mut location = vec![OsString::from("--git-dir")];
        location.push(git_dir.as_os_str().to_owned());
        Self { location, shown_dir: git_dir.to_path_buf(), home: home.to_path_buf(), ..Self::new(git_dir) }
    }

    /// The same repository with `tree` as its work tree, and without the token: commands that
    /// read the agent's files never carry it.
    pub fn with_work_tree(&self, tree: &Path) -> Self {
        let mut location = self.location.clone();
        location.push("--work-tree".into());
        location.push(tree.as_os_str().to_owned());
        Self { location, auth: None, ..self.clone() }
    }

    /// Allows the transport of `server_url` besides `https`: `http` for an http server, `file`
    /// for a local one (tests). Nothing else (`ssh`, `ext`, `git`) is ever allowed.
    pub fn for_server(mut self, server_url: &str) -> Self {
        self.protocols = match scheme(server_url) {
            Some("http") => vec!["http"],
            Some("file") | None => vec!["file"],
            _ => Vec::new(),
        };
        self
    }

    /// Authenticates fetches and pushes to `server_url` (e.g. `https://github.com`) with `token`.
    /// Other hosts never see the header.
    pub fn with_token(mut self, server_url: &str, token: &str) -> Self {
        let origin = url_origin(server_url);
        self.auth = Some((format!("http.{origin}/.extraheader"), secrets::basic_header(token)));
        self.secrets = secrets::Known::new(&[token]);
        self
    }

    fn command(&self, args: &[&str], authed: bool) -> Command {
        let mut cmd = Command::new("git");
        cmd.env_clear();
        for var in crate::isolation::env::GIT_PASSED {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        cmd.env("LANG", "C")
            .env("LC_ALL", "C")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("GIT_NO_REPLACE_OBJECTS", "1")
            .env("GIT_TERMINAL_PROMPT", "0");
        cmd.args(&self.location).args(args);
        let mut config: Vec<(String, String)> = [
            ("core.hooksPath", "/dev/null"),
            ("core.fsmonitor", "false"),
            ("core.attributesFile", "/dev/null"),
            ("core.excludesFile", "/dev/null"),
            ("core.askPass", ""),
            ("credential.helper", ""),
            ("commit.gpgSign", "false"),
            ("tag.gpgSign", "false"),
            ("push.followTags", "false"),
            ("protocol.allow", "never"),
            ("protocol.https.allow", "always"),
            ("http.sslVerify", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        config.extend(self.protocols.iter().map(|p| (format!("protocol.{p}.allow"), "always".to_owned())));
        if authed {
            // A stalled transfer aborts instead of holding the job until its timeout; the calls
            // are blocking, so cancellation cannot interrupt them.
            config.push(("http.lowSpeedLimit".into(), "1000".into()));
            config.push(("http.lowSpeedTime".into(), "60".into()));
            if let Some((key, value)) = &self.auth {
                config.push((key.clone(), String::new()));
                config.push((key.clone(), value.clone()));
            }
        }
        cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (key, value)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), key).env(format!("GIT_CONFIG_VALUE_{i}"), value);
        }
        cmd
    }

    /// Output of commands that carried the token is redacted; local commands are left as they
    /// are, because the guard must see a leaked token to withhold it.
    fn output(&self, mut cmd: Command, args: &[&str], stdin: Option<&str>, authed: bool) -> Result<Output> {
        let shown = format!("git {}", args.join(" "));
        tracing::debug!(command = %shown, dir = %self.shown_dir.display(), "running");
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().with_context(|| format!("could not start `{shown}` (is git installed?)"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).with_context(|| format!("could not write to `{shown}`"))?;
        }
        let out = child.wait_with_output().with_context(|| format!("`{shown}` did not finish"))?;
        let text = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            if authed { secrets::redact(&text, &self.secrets) } else { text.into_owned() }
        };
        Ok(Output { success: out.status.success(), stdout: text(&out.stdout), stderr: text(&out.stderr) })
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

    /// Runs a local command that must succeed, `stdin` on its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Result<String> {
        checked(self.output(self.command(args, false), args, Some(stdin), false)?, args)
    }

    /// Runs a command that talks to the server and must succeed.
    pub fn remote(&self, args: &[&str]) -> Result<String> {
        checked(self.try_remote(args)?, args)
    }

    /// A blob's exact bytes: no textconv, no filter, fetched on demand (with the token) when
    /// a blob-less fetch left it out.
    pub fn blob(&self, oid: &str) -> Result<Vec<u8>> {
        let args = ["cat-file", "blob", oid];
        let mut cmd = self.command(&args, true);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = cmd.output().context("could not start `git cat-file`")?;
        if !out.status.success() {
            let err = secrets::redact(&String::from_utf8_lossy(&out.stderr), &self.secrets);
            bail!("`git cat-file blob {oid}` failed: {}", err.trim());
        }
        Ok(out.stdout)
    }

    /// `git commit-tree`: a commit of `tree` on `parent`, the message on stdin, the given
    /// identity as author and committer. No ref moves; the commit id is returned.
    pub fn commit_tree(&self, tree: &str, parent: &str, message: &str, who: &Identity<'_>) -> Result<String> {
        let args = ["commit-tree", tree, "-p", parent, "-F", "-"];
        let mut cmd = self.command(&args, false);
        for role in ["AUTHOR", "COMMITTER"] {
            cmd.env(format!("GIT_{role}_NAME"), who.name).env(format!("GIT_{role}_EMAIL"), who.email);
        }
        checked(self.output(cmd, &args, Some(message), false)?, &args).map(|s| s.trim().to_owned())
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

/// `https`, `http`, `file`, … of a URL; `None` for a plain path.
fn scheme(url: &str) -> Option<&str> {
    url.trim().split_once("://").map(|(scheme, _)| scheme)
}

/// `scheme://host[:port]` of a URL (what `http.<url>.*` config keys match on).
///
/// Hand-written on purpose: `url` is in the binary already (through octocrab), but
/// `Url::parse(..).origin()` made the release binary 4,096 bytes larger (3,984,696 → 3,988,792),
/// and it is held under 4 MiB. git normalises the key's case and default port itself.
fn url_origin(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(cmd: &Command) -> Vec<(String, Option<String>)> {
        cmd.get_envs()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.map(|v| v.to_string_lossy().into_owned())))
            .collect()
    }

    fn config_of(cmd: &Command) -> Vec<(String, String)> {
        let envs = env_of(cmd);
        let value_of = |key: &str| envs.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.clone()).unwrap();
        let count: usize = value_of("GIT_CONFIG_COUNT").parse().unwrap();
        (0..count)
            .map(|i| (value_of(&format!("GIT_CONFIG_KEY_{i}")), value_of(&format!("GIT_CONFIG_VALUE_{i}"))))
            .collect()
    }

    #[test]
    fn header_key_is_scoped_to_the_server_origin() {
        assert_eq!(url_origin("https://github.com/"), "https://github.com");
        assert_eq!(url_origin("https://ghe.example.com:8443/some/path"), "https://ghe.example.com:8443");
        let git = Git::new(Path::new(".")).with_token("https://github.com", "secret-token");
        let (key, value) = git.auth.clone().unwrap();
        assert_eq!(key, "http.https://github.com/.extraheader");
        assert_eq!(value, secrets::basic_header("secret-token"));
    }

    #[test]
    fn the_token_travels_in_the_environment_never_in_arguments() {
        let git = Git::new(Path::new(".")).with_token("https://github.com", "secret-token");
        let header = git.auth.clone().unwrap().1;
        let cmd = git.command(&["push", "https://github.com/o/r.git", "abc:refs/heads/x"], true);
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(args.iter().all(|a| !a.contains("secret-token") && !a.contains(&header)), "{args:?}");
        // The persisted header is reset (empty value) before ours is added, under the same key.
        let pairs = config_of(&cmd);
        let key = "http.https://github.com/.extraheader".to_owned();
        let at = pairs.iter().position(|p| *p == (key.clone(), String::new())).unwrap();
        assert_eq!(pairs[at + 1], (key, header));
        // A local command carries no token at all, and a work-tree view drops it.
        let local = git.command(&["status"], false);
        assert!(env_of(&local).iter().all(|(_, v)| !v.as_deref().is_some_and(|v| v.contains("basic"))));
        let staging = git.with_work_tree(Path::new("/tmp")).command(&["add", "-A"], true);
        assert!(env_of(&staging).iter().all(|(_, v)| !v.as_deref().is_some_and(|v| v.contains("basic"))));
    }

    #[test]
    fn only_the_servers_transport_is_allowed() {
        let allowed = |server: &str| -> Vec<String> {
            let cmd = Git::new(Path::new(".")).for_server(server).command(&["fetch"], false);
            config_of(&cmd)
                .into_iter()
                .filter(|(k, v)| k.starts_with("protocol.") && v == "always")
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(allowed("https://github.com"), ["protocol.https.allow"]);
        assert_eq!(allowed("http://127.0.0.1:8080"), ["protocol.https.allow", "protocol.http.allow"]);
        assert_eq!(allowed("/tmp/server"), ["protocol.https.allow", "protocol.file.allow"]);
        let cmd = Git::new(Path::new(".")).command(&["fetch"], false);
        assert!(config_of(&cmd).contains(&("protocol.allow".into(), "never".into())));
        // Nothing of the job's environment is inherited.
        assert!(env_of(&cmd).iter().all(|(k, _)| !k.starts_with("INPUT_") && k != "GITHUB_TOKEN"));
    }
}
