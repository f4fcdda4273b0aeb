//! The `opencode serve` process: found, version-checked, started in its own process group with
//! an explicit environment, its URL read from the "listening" line, its output drained to a log
//! file (so a full pipe can never stall it), and stopped — SIGTERM to the whole group, SIGKILL
//! after a grace period (`process::stop_group`) — when the guard drops.
//!
//! It does not talk HTTP (`api.rs`) and does not decide anything about the session.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::isolation::{env, process};

/// `config.opencode_path`, else `opencode` on `PATH`.
pub fn locate(configured: Option<&Path>) -> Result<PathBuf> {
    match configured {
        Some(path) if path.is_file() => Ok(path.to_owned()),
        Some(path) => bail!("`opencode-path` `{}` is not a file", path.display()),
        None => which::which("opencode")
            .context("`opencode` is not on PATH (install `opencode-ai` or set the `opencode-path` input)"),
    }
}

/// `opencode --version`, trimmed; bounded so a broken binary cannot hang us.
pub fn version(binary: &Path) -> Result<String> {
    // Like the server, it is the agent's code: it gets the allow-listed environment only.
    let env = env::agent_env(std::env::vars_os(), [("OPENCODE_DISABLE_AUTOUPDATE".into(), "1".into())]);
    let mut child = process::agent_command(binary, env)
        .arg("--version")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run `{} --version`", binary.display()))?;
    let mut stdout = child.stdout.take().context("no stdout from `opencode --version`")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let out = rx.recv_timeout(Duration::from_secs(30));
    process::stop_group(&mut child, Duration::ZERO);
    let out = out.map_err(|_| anyhow::anyhow!("`{} --version` did not answer within 30 s", binary.display()))?;
    Ok(out.trim().trim_start_matches('v').to_owned())
}

/// What the server's output reader reports to whoever waits on the server.
#[derive(Debug)]
pub enum ServerNote {
    /// The server printed its address and answers there.
    Listening,
    /// Both output pipes closed: the process is exiting.
    OutputClosed,
}

/// A running server. Dropping it stops the whole process group.
pub struct Server {
    child: Child,
    pub url: String,
    pub log_path: PathBuf,
    tail: Arc<Mutex<VecDeque<String>>>,
}

const TAIL_LINES: usize = 20;

impl Server {
    /// Starts `opencode serve` in `workdir` and waits (at most `wait`) for its URL. `notes`
    /// later receives `OutputClosed` when the process goes away, so the driver learns of a
    /// dead server from an event, not by polling it.
    pub fn start(
        binary: &Path,
        workdir: &Path,
        env: &BTreeMap<OsString, OsString>,
        log_path: PathBuf,
        wait: Duration,
        notes: Sender<ServerNote>,
    ) -> Result<Server> {
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create the server log `{}`", log_path.display()))?;
        let log = Arc::new(Mutex::new(log));
        let mut child = process::agent_command(binary, env)
            .args(["serve", "--hostname", "127.0.0.1", "--port", "0", "--print-logs"])
            .current_dir(workdir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{} serve`", binary.display()))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (url_tx, url_rx) = mpsc::channel::<String>();
        let pipes: Vec<Box<dyn Read + Send>> = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        let open = Arc::new(Mutex::new(pipes.len()));
        for pipe in pipes {
            let (log, tail, url_tx, notes, open) =
                (log.clone(), tail.clone(), url_tx.clone(), notes.clone(), open.clone());
            std::thread::spawn(move || {
                drain(pipe, &log, &tail, &url_tx);
                let mut open = open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *open -= 1;
                if *open == 0 {
                    let _ = notes.send(ServerNote::OutputClosed);
                }
            });
        }
        drop(url_tx);
        let mut server = Server { child, url: String::new(), log_path, tail };
        let deadline = Instant::now() + wait;
        match url_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(url) => {
                let _ = notes.send(ServerNote::Listening);
                server.url = url;
                Ok(server)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.child.wait().map(|s| s.to_string()).unwrap_or_default();
                bail!("`opencode serve` exited ({status}) before listening; last log lines:\n{}", server.tail())
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!("`opencode serve` did not listen within {wait:?}; last log lines:\n{}", server.tail())
            }
        }
    }

    /// The last lines the server printed (for error messages).
    pub fn tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Whether the process has exited (non-blocking), with its status.
    pub fn exited(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(|s| s.to_string())
    }

    /// SIGTERM to the group, SIGKILL after `grace`. Idempotent. Helpers it spawned in the same
    /// group go with it; its detached bash commands do not (they have sessions of their own):
    /// ending those is the caller's containment (`process::end_descendants`).
    pub fn stop(&mut self, grace: Duration) {
        process::stop_group(&mut self.child, grace);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

fn drain(pipe: Box<dyn Read + Send>, log: &Mutex<std::fs::File>, tail: &Mutex<VecDeque<String>>, url: &Sender<String>) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    let mut found = false;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if let Ok(mut log) = log.lock() {
            let _ = log.write_all(&line);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if !found && let Some(u) = listening_url(text) {
            found = true;
            let _ = url.send(u);
        }
        let mut tail = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text.chars().take(500).collect());
    }
}

/// `opencode server listening on http://127.0.0.1:4096` → the URL.
pub fn listening_url(line: &str) -> Option<String> {
    let rest = &line[line.find("opencode server listening on ")? + "opencode server listening on ".len()..];
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://").then(|| url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_listening_line() {
        assert_eq!(
            listening_url("opencode server listening on http://127.0.0.1:4096").as_deref(),
            Some("http://127.0.0.1:4096")
        );
        assert_eq!(
            listening_url("INFO x opencode server listening on http://127.0.0.1:33/ y").as_deref(),
            Some("http://127.0.0.1:33")
        );
        assert_eq!(listening_url("server listening"), None);
    }

    /// `opencode --version` is the agent's code too: it sees only the allow-listed environment
    /// (cargo's own variables, set for this test process, must not reach it).
    #[test]
    fn version_runs_with_the_allow_listed_environment() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("env");
        let script = dir.path().join("fake-opencode");
        std::fs::write(&script, format!("#!/bin/sh\nenv > {}\necho v1.2.3\n", seen.display())).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        assert_eq!(version(&script).unwrap(), "1.2.3");
        let env = std::fs::read_to_string(&seen).unwrap();
        assert!(env.contains("OPENCODE_DISABLE_AUTOUPDATE=1"), "{env}");
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some(), "cargo sets it for tests");
        let names = env.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k));
        // What `sh` sets itself.
        let shell = ["PWD", "OLDPWD", "SHLVL", "_"];
        for name in names {
            assert!(env::allowed(name) || shell.contains(&name), "{name} reached `opencode --version`:\n{env}");
        }
    }

    #[test]
    fn a_server_that_dies_first_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-opencode");
        std::fs::write(&script, "#!/bin/sh\necho 'boom: cannot bind'\nexit 3\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let (tx, _rx) = mpsc::channel();
        let env = BTreeMap::from([(OsString::from("PATH"), OsString::from("/usr/bin:/bin"))]);
        let err = Server::start(&script, dir.path(), &env, dir.path().join("log"), Duration::from_secs(10), tx)
            .err()
            .unwrap();
        let msg = format!("{err:#}");
        assert!(msg.contains("exited") && msg.contains("boom: cannot bind"), "{msg}");
    }
}
