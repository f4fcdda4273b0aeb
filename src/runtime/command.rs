//! The `command` runtime: any CLI agent, run as `sh -c <agent-command>` in the work tree.
//!
//! The prompt is written to a file named by `$SISYPHUS_PROMPT_FILE`; the last non-empty
//! paragraph of stdout is the final text; exit 0 is done, anything else failed. The child
//! gets the agent's allow-listed environment (`isolation::env::agent_env`: never `GITHUB_TOKEN`,
//! `GH_TOKEN` or `INPUT_*`: pushing and commenting are ours) and its own process group, stopped
//! on timeout or cancellation (SIGTERM, then SIGKILL after a grace period). Its stdout and
//! stderr both come through us: stderr lines are logged redacted and kept whole in
//! `agent-stderr.log` in the scratch dir.
//!
//! It does not stream progress or count tokens: a plain command has neither.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, ChildStderr, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};

use super::{AgentRequest, AgentStatus, Finished, Outcome, Runtime, Usage};
use crate::cancel::Cancel;
use crate::isolation::env::agent_env;
use crate::isolation::process;

/// Time the agent gets between SIGTERM and SIGKILL. The runner itself sends SIGKILL ~7.5 s
/// after its SIGTERM, and we still have to finish on GitHub after this.
const GRACE: Duration = Duration::from_secs(3);

/// Bytes of stdout kept (the tail): the final text is at the end.
const STDOUT_LIMIT: usize = 1 << 20;

/// Characters of one stderr line shown in the job log (the whole line is in the log file).
const STDERR_LINE_LIMIT: usize = 500;

pub struct CommandRuntime {
    pub command: String,
}

/// The CLI's environment: the agent's allow-list, then where the prompt is and what the run is,
/// then the model keys (the agent's to use; never the GitHub token).
fn env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    request: &AgentRequest,
    prompt_file: &Path,
) -> BTreeMap<OsString, OsString> {
    let ours: [(&str, OsString); 4] = [
        ("SISYPHUS_PROMPT_FILE", prompt_file.into()),
        ("SISYPHUS_WORKDIR", request.workdir.clone().into()),
        ("SISYPHUS_TITLE", request.title.clone().into()),
        ("SISYPHUS_MODEL", request.config.model.clone().into()),
    ];
    let keys = model_keys(request).map(|(name, value)| (name, value.into()));
    agent_env(parent, ours.into_iter().chain(keys).map(|(name, value)| (name.into(), value)))
}

/// The model settings the config holds, by the variable each goes in.
fn model_keys(request: &AgentRequest) -> impl Iterator<Item = (&str, &String)> {
    let c = &request.config;
    [
        ("ANTHROPIC_API_KEY", &c.anthropic_api_key),
        ("ANTHROPIC_BASE_URL", &c.anthropic_base_url),
        ("OPENAI_API_KEY", &c.openai_api_key),
        ("OPENAI_BASE_URL", &c.openai_base_url),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value.as_ref()?)))
}

enum Event {
    /// The child exited; it is not reaped yet (the waiter only watches), so its pid and group
    /// id stay ours until we reap it.
    Exited,
    Cancelled,
}

impl Runtime for CommandRuntime {
    fn run(&self, request: &AgentRequest, cancel: &Cancel) -> Result<Finished> {
        let started = Instant::now();
        let prompt_file = request.scratch.join("prompt.md");
        std::fs::write(&prompt_file, &request.prompt)
            .with_context(|| format!("cannot write the prompt to `{}`", prompt_file.display()))?;

        let mut command = process::agent_command("sh", env(std::env::vars_os(), request, &prompt_file));
        command
            .arg("-c")
            .arg(&self.command)
            .current_dir(&request.workdir)
            // Both piped through us: nothing the agent prints reaches the job log unguarded.
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let secrets: Vec<String> =
            model_keys(request).filter(|(name, _)| name.ends_with("_KEY")).map(|(_, v)| v.clone()).collect();
        let mut child = command.spawn().with_context(|| format!("cannot start `sh -c {}`", self.command))?;
        let group = process::pid_of(&child);

        let stdout = child.stdout.take();
        let (out_tx, out_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = out_tx.send(read_tail(stdout));
        });
        let stderr_log = request.scratch.join("agent-stderr.log");
        if let Some(stderr) = child.stderr.take() {
            let log = std::fs::File::create(&stderr_log)
                .with_context(|| format!("cannot create `{}`", stderr_log.display()))?;
            std::thread::spawn(move || relay_stderr(stderr, log, &secrets));
        }
        let (tx, rx) = mpsc::channel();
        let exit_tx = tx.clone();
        std::thread::spawn(move || {
            // Watches without reaping: `child` stays the one owner of the exit status.
            let _ = waitid(Id::Pid(group), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
            let _ = exit_tx.send(Event::Exited);
        });
        let cancel_tx = std::sync::Mutex::new(tx);
        cancel.on_cancel(move |_| {
            if let Ok(tx) = cancel_tx.lock() {
                let _ = tx.send(Event::Cancelled);
            }
        });

        let deadline = started + request.config.timeout;
        let status = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Event::Exited) => match child.wait() {
                Ok(status) => exit_status(status, &self.command),
                Err(e) => {
                    AgentStatus::Failed { kind: "Wait".into(), message: format!("cannot wait for the agent: {e}") }
                }
            },
            Ok(Event::Cancelled) => {
                stop(&mut child);
                AgentStatus::Cancelled
            }
            Err(_) => {
                stop(&mut child);
                AgentStatus::TimedOut
            }
        };
        // Whatever the agent left running in its group goes with it; what left the group is
        // the caller's containment (`process::end_descendants`).
        let _ = killpg(group, Signal::SIGKILL);
        let stdout = out_rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
        Ok(Finished::new(Outcome {
            status,
            final_text: last_paragraph(&stdout),
            todos: Vec::new(),
            child_sessions: Vec::new(),
            usage: Usage::default(),
            files_changed: Vec::new(),
            session_id: None,
            duration: started.elapsed(),
        }))
    }
}

/// SIGTERM the group, give it `GRACE`, then SIGKILL.
fn stop(child: &mut Child) {
    let started = Instant::now();
    process::stop_group(child, GRACE);
    if started.elapsed() >= GRACE {
        tracing::warn!("the agent did not stop within {GRACE:?} of SIGTERM; it was killed");
    }
}

/// Each stderr line goes to the log file whole, and to our log shortened and with the model
/// keys redacted (the agent knows those; the GitHub token it never had).
fn relay_stderr(stderr: ChildStderr, mut log: std::fs::File, secrets: &[String]) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let _ = log.write_all(&line);
        let text = String::from_utf8_lossy(&line);
        let shown: String = crate::gha::redact(text.trim_end(), secrets).chars().take(STDERR_LINE_LIMIT).collect();
        tracing::info!("agent stderr: {shown}");
        line.clear();
    }
}

fn exit_status(status: ExitStatus, command: &str) -> AgentStatus {
    use std::os::unix::process::ExitStatusExt as _;
    if status.success() {
        return AgentStatus::Done;
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "failed".to_owned(),
    };
    AgentStatus::Failed { kind: "AgentCommand".into(), message: format!("`{command}` {how}") }
}

fn read_tail(stdout: Option<std::process::ChildStdout>) -> String {
    let Some(mut stdout) = stdout else { return String::new() };
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n) = stdout.read(&mut chunk) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > 2 * STDOUT_LIMIT {
            kept.drain(..kept.len() - STDOUT_LIMIT);
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The last paragraph (lines between blank lines) with any text in it.
pub fn last_paragraph(text: &str) -> String {
    let mut paragraphs = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line.trim_end());
        }
    }
    if !current.is_empty() {
        paragraphs.push(current.join("\n"));
    }
    paragraphs.pop().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::CancelReason;
    use crate::config::{AgentConfig, RuntimeKind};

    fn request(dir: &std::path::Path, command: &str, timeout: Duration) -> (CommandRuntime, AgentRequest) {
        let config = AgentConfig {
            runtime: RuntimeKind::Command(command.into()),
            model: "test/model".into(),
            timeout,
            ..AgentConfig::default()
        };
        let request = AgentRequest {
            prompt: "fix the flaky test".into(),
            workdir: dir.to_path_buf(),
            title: "octo/repo#7".into(),
            scratch: dir.to_path_buf(),
            config,
            untrusted_tree: false,
            progress: None,
            gha: Default::default(),
        };
        (CommandRuntime { command: command.into() }, request)
    }

    #[test]
    fn last_paragraph_is_the_final_text() {
        assert_eq!(last_paragraph("working…\n\nstep 2\n\nAll done.\nTests pass.\n\n\n"), "All done.\nTests pass.");
        assert_eq!(last_paragraph("  \n"), "");
    }

    #[test]
    fn runs_in_the_workdir_with_the_prompt_and_without_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = r#"echo noise; echo; cat "$SISYPHUS_PROMPT_FILE"; echo " in $(basename "$PWD") token=${GITHUB_TOKEN:-none} input=${INPUT_GITHUB_TOKEN:-none}""#;
        let (rt, req) = request(dir.path(), cmd, Duration::from_secs(10));
        let outcome = rt.run(&req, &Cancel::new()).unwrap().outcome;
        assert_eq!(outcome.status, AgentStatus::Done);
        let name = dir.path().file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(outcome.final_text, format!("fix the flaky test in {name} token=none input=none"));
    }

    /// stderr is ours, never the job log's directly: kept whole in the scratch dir (and logged
    /// redacted, line by line).
    #[test]
    fn stderr_is_piped_through_us() {
        let dir = tempfile::tempdir().unwrap();
        let (rt, req) =
            request(dir.path(), "echo oops >&2; echo '::warning::injected' >&2; echo fine", Duration::from_secs(10));
        let outcome = rt.run(&req, &Cancel::new()).unwrap().outcome;
        assert_eq!(outcome.status, AgentStatus::Done);
        assert_eq!(outcome.final_text, "fine");
        // The relay thread may still be writing when the agent's exit is seen.
        let log = dir.path().join("agent-stderr.log");
        let until = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("injected")) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "oops\n::warning::injected\n");
    }

    #[test]
    fn nonzero_exit_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (rt, req) = request(dir.path(), "echo half done; exit 3", Duration::from_secs(10));
        let outcome = rt.run(&req, &Cancel::new()).unwrap().outcome;
        assert_eq!(
            outcome.status,
            AgentStatus::Failed {
                kind: "AgentCommand".into(),
                message: "`echo half done; exit 3` exited with status 3".into()
            }
        );
        assert_eq!(outcome.final_text, "half done");
    }

    #[test]
    fn timeout_stops_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let (rt, req) = request(dir.path(), &cmd, Duration::from_millis(300));
        let started = Instant::now();
        let outcome = rt.run(&req, &Cancel::new()).unwrap().outcome;
        assert_eq!(outcome.status, AgentStatus::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "a background child outlived the agent");
    }

    #[test]
    fn cancel_terminates_then_kills() {
        let dir = tempfile::tempdir().unwrap();
        // Ignores SIGTERM, so only the SIGKILL after the grace period stops it.
        let (rt, req) = request(dir.path(), "trap '' TERM; sleep 30 & wait; sleep 30", Duration::from_secs(60));
        let cancel = Cancel::new();
        let c = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            c.cancel(CancelReason::Signal);
        });
        let started = Instant::now();
        let outcome = rt.run(&req, &cancel).unwrap().outcome;
        assert_eq!(outcome.status, AgentStatus::Cancelled);
        let took = started.elapsed();
        assert!(took >= GRACE && took < GRACE + Duration::from_secs(3), "{took:?}");
    }
}
