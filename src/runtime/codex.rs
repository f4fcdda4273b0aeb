//! The Codex runtime: runs `codex exec --json` once in the work tree, with a private
//! `CODEX_HOME` (config from `codex_config.rs`), folds its JSON-lines stream into the `Outcome`
//! (`codex_events.rs`) and stops its whole process group before returning.
//!
//! The run is over when the CLI's turn has ended *and* its process has exited (a turn that
//! ended but a process that lingers gets `EXIT_WAIT`, then is stopped). The deadline and
//! cancellation stop the group (SIGTERM, `GRACE`, SIGKILL). One thread waits on one channel:
//! stream lines, the end of stdout, the process's exit and cancellation all arrive there.
//! Stdout is read line by line with a bound per line: memory stays bounded whatever the agent
//! prints (a huge command output is dropped from the stream, not buffered).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};

use super::codex_events::{self, CodexEvent, CodexRun, Progress, parse_line};
use super::opencode::server;
use super::{AgentRequest, AgentStatus, Finished, Outcome, Runtime, codex_config};
use crate::cancel::{Cancel, CancelReason};
use crate::config::{CodexSettings, DEFAULT_CODEX_VERSION, RuntimeKind};
use crate::isolation::process;

/// SIGTERM → SIGKILL grace for the CLI's process group (the runner kills ~7.5 s after its own
/// SIGTERM, and we still have to report after this).
const GRACE: Duration = Duration::from_secs(3);
/// How long the process may outlive its turn's end before it is stopped.
const EXIT_WAIT: Duration = Duration::from_secs(15);
/// How long stdout may stay open after the process exited (a leftover holding the pipe).
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// Longest stream line kept; longer ones (a command's huge output) are skipped.
const LINE_LIMIT: usize = 4 << 20;
/// Bytes of prompt passed as an argument; a longer prompt goes through a file on stdin
/// (one argument may be at most 128 KiB on Linux).
const ARG_PROMPT_LIMIT: usize = 100_000;
const STDERR_TAIL: usize = 20;

/// The Codex runtime.
#[derive(Debug, Clone, Default)]
pub struct Codex;

enum Note {
    Event(Box<CodexEvent>),
    StdoutClosed,
    Exited,
    Cancel(CancelReason),
}

impl Runtime for Codex {
    fn run(&self, request: &AgentRequest, cancel: &Cancel) -> Result<Finished> {
        let settings = match &request.config.runtime {
            RuntimeKind::Codex(settings) => settings.clone(),
            _ => CodexSettings { version: DEFAULT_CODEX_VERSION.into(), path: None, config: None },
        };
        // The CLI is stopped before `run` returns: nothing is left for a teardown.
        run(request, &settings, cancel).map(Finished::new)
    }
}

/// The configured binary, or `codex` on PATH.
pub fn locate(configured: Option<&Path>) -> Result<PathBuf> {
    match configured {
        Some(path) if path.is_file() => Ok(path.to_owned()),
        Some(path) => bail!("`codex-path` `{}` is not a file", path.display()),
        None => which::which("codex")
            .context("`codex` is not on PATH (install `@openai/codex` or set the `codex-path` input)"),
    }
}

fn run(request: &AgentRequest, settings: &CodexSettings, cancel: &Cancel) -> Result<Outcome> {
    let started = Instant::now();
    let binary = locate(settings.path.as_deref())?;
    match server::version(&binary).map(|v| v.rsplit(' ').next().unwrap_or_default().to_owned()) {
        Ok(v) if v == settings.version => tracing::info!("codex {v} at {}", binary.display()),
        Ok(v) => tracing::warn!(
            "codex at `{}` is version {v}, not the pinned {}; continuing",
            binary.display(),
            settings.version
        ),
        Err(e) => tracing::warn!("cannot read the codex version: {e:#}"),
    }

    let home = codex_config::home(&request.scratch);
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create `{}`", home.display()))?;
    let config = codex_config::build(&request.config, settings, &request.workdir, request.untrusted_tree)?;
    let config_path = home.join("config.toml");
    std::fs::write(&config_path, codex_config::to_toml(&config)?)
        .with_context(|| format!("cannot write `{}`", config_path.display()))?;
    let env = codex_config::env(std::env::vars_os(), &config, &request.config, &home);

    let mut command = process::agent_command(&binary, &env);
    command.args(["exec", "--json", "--skip-git-repo-check", "--cd"]).arg(&request.workdir);
    // No shell: the prompt is one argument (after `--`, so it cannot be read as an option), or
    // for a very long one a file on stdin. Never an open pipe: the CLI would wait on it.
    if request.prompt.len() <= ARG_PROMPT_LIMIT {
        command.arg("--").arg(&request.prompt);
    } else {
        let prompt_file = home.join("prompt.md");
        std::fs::write(&prompt_file, &request.prompt)
            .with_context(|| format!("cannot write `{}`", prompt_file.display()))?;
        let file =
            std::fs::File::open(&prompt_file).with_context(|| format!("cannot open `{}`", prompt_file.display()))?;
        command.arg("-").stdin(file);
    }
    command.current_dir(&request.workdir).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().with_context(|| format!("cannot start `{} exec`", binary.display()))?;
    let group = process::pid_of(&child);
    tracing::info!("codex exec started (pid {group}; CODEX_HOME {})", home.display());

    let (tx, rx) = mpsc::channel::<Note>();
    let events_log = request.scratch.join("codex").join("events.jsonl");
    let stdout = child.stdout.take().context("no stdout from `codex exec`")?;
    let log =
        std::fs::File::create(&events_log).with_context(|| format!("cannot create `{}`", events_log.display()))?;
    let out_tx = tx.clone();
    std::thread::spawn(move || read_stream(stdout, log, &out_tx));
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    if let Some(stderr) = child.stderr.take() {
        let stderr_log = request.scratch.join("codex").join("stderr.log");
        let log =
            std::fs::File::create(&stderr_log).with_context(|| format!("cannot create `{}`", stderr_log.display()))?;
        let secrets: Vec<String> = request.config.openai_api_key.iter().cloned().collect();
        let tail = tail.clone();
        std::thread::spawn(move || relay_stderr(stderr, log, &secrets, &tail));
    }
    let exit_tx = tx.clone();
    std::thread::spawn(move || {
        // Watches without reaping: `child` stays the one owner of the exit status.
        let _ = waitid(Id::Pid(group), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
        let _ = exit_tx.send(Note::Exited);
    });
    let cancel_tx = Mutex::new(tx);
    cancel.on_cancel(move |reason| {
        if let Ok(tx) = cancel_tx.lock() {
            let _ = tx.send(Note::Cancel(reason));
        }
    });

    let deadline = started + request.config.timeout;
    let gha = &request.gha;
    let mut fold = CodexRun::default();
    let (mut exited, mut closed) = (false, false);
    let mut exit_by: Option<Instant> = None;
    let mut lingered = false;
    let stopped = {
        // Model output is untrusted: it must not be able to issue workflow commands.
        let _guard = gha.stop_commands();
        loop {
            if exited && closed {
                break None;
            }
            let until = match (exit_by, fold.end()) {
                (Some(by), _) => by,
                (None, Some(_)) => *exit_by.insert(Instant::now() + EXIT_WAIT),
                (None, None) => deadline,
            };
            match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(Note::Event(event)) => {
                    if let Some(progress) = fold.apply(*event, &request.workdir) {
                        log_progress(&progress);
                        // The live comment's feed; a closed one (no comment) is no error.
                        if let Some(tx) = &request.progress
                            && let Some(note) = codex_events::progress_note(&progress, fold.todos())
                        {
                            let _ = tx.send(note);
                        }
                    }
                }
                Ok(Note::StdoutClosed) => closed = true,
                Ok(Note::Exited) => {
                    exited = true;
                    exit_by = Some(Instant::now() + DRAIN_WAIT);
                    // What it left running in its group goes with it.
                    let _ = killpg(group, Signal::SIGKILL);
                }
                Ok(Note::Cancel(reason)) => {
                    tracing::warn!("cancelled ({reason:?}): stopping codex");
                    break Some(AgentStatus::Cancelled);
                }
                Err(RecvTimeoutError::Disconnected) => bail!("the codex runtime's channel closed"),
                Err(RecvTimeoutError::Timeout) if exited => break None,
                Err(RecvTimeoutError::Timeout) if fold.end().is_some() => {
                    tracing::warn!("codex did not exit within {EXIT_WAIT:?} of its turn's end; stopping it");
                    lingered = true;
                    break None;
                }
                Err(RecvTimeoutError::Timeout) => {
                    tracing::warn!("codex did not finish within {:?}: stopping it", request.config.timeout);
                    break Some(AgentStatus::TimedOut);
                }
            }
        }
    };
    if matches!(child.try_wait(), Ok(None)) {
        // The CLI starts its commands in sessions of their own: while it still lives they are
        // its descendants, found by `/proc`, and end before it (the group stop misses them).
        if let Err(left) = process::end_descendants(group, GRACE, GRACE * 2) {
            tracing::warn!("{left}");
        }
    }
    process::stop_group(&mut child, GRACE);
    let status = match stopped {
        Some(status) => status,
        None => {
            let exit = child.try_wait().ok().flatten();
            let ok = lingered || exit.is_some_and(|s| s.success());
            let detail = exit.map_or_else(|| "was stopped".to_owned(), |s| format!("ended ({s})"));
            let tail = tail.lock().map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default();
            fold.status(ok, &detail, &tail)
        }
    };
    let outcome = Outcome {
        status,
        final_text: fold.final_text().to_owned(),
        todos: fold.todos().to_vec(),
        child_sessions: Vec::new(),
        usage: fold.usage(),
        files_changed: fold.files_changed(),
        session_id: fold.thread_id.clone(),
        duration: started.elapsed(),
    };
    tracing::info!(
        "agent finished: {:?} after {:.1} s, {} steps, {} todos, {} input / {} output tokens",
        outcome.status,
        outcome.duration.as_secs_f64(),
        fold.steps(),
        outcome.todos.len(),
        outcome.usage.input_tokens,
        outcome.usage.output_tokens
    );
    Ok(outcome)
}

/// Reads the stream: each line within `LINE_LIMIT` goes to the log file and, parsed, to the
/// driver; then the end of stdout.
fn read_stream(stdout: impl std::io::Read, mut log: std::fs::File, tx: &mpsc::Sender<Note>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        match read_bounded_line(&mut reader, &mut line, LINE_LIMIT) {
            Ok(Some(true)) => {
                let _ = log.write_all(&line);
                if let Some(event) = parse_line(&String::from_utf8_lossy(&line))
                    && tx.send(Note::Event(Box::new(event))).is_err()
                {
                    return;
                }
            }
            Ok(Some(false)) => tracing::warn!("skipped a codex stream line longer than {LINE_LIMIT} bytes"),
            Ok(None) | Err(_) => break,
        }
    }
    let _ = tx.send(Note::StdoutClosed);
}

/// The next line into `line` (cleared first): `Some(true)` for a whole line of at most `limit`
/// bytes, `Some(false)` for a longer one (read to its end, not kept), `None` at the end.
pub fn read_bounded_line(reader: &mut impl BufRead, line: &mut Vec<u8>, limit: usize) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut overlong = false;
    let mut any = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some(!overlong));
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let n = chunk.len();
        if !overlong && line.len() + n <= limit {
            line.extend_from_slice(chunk);
        } else {
            overlong = true;
            line.clear();
        }
        reader.consume(n);
        if done {
            return Ok(Some(!overlong));
        }
    }
}

/// Stderr: whole to the log file, the last lines kept (a death's explanation), each shown in
/// our log redacted and shortened.
fn relay_stderr(
    stderr: impl std::io::Read,
    mut log: std::fs::File,
    secrets: &[String],
    tail: &Mutex<VecDeque<String>>,
) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    while let Ok(Some(_)) = read_bounded_line(&mut reader, &mut line, 64 << 10) {
        let _ = log.write_all(&line);
        let text: String =
            crate::gha::redact(String::from_utf8_lossy(&line).trim_end(), secrets).chars().take(500).collect();
        tracing::debug!("codex stderr: {text}");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(text);
        }
    }
}

fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 200 { line.chars().take(200).collect::<String>() + "…" } else { line.to_owned() }
}

fn log_progress(progress: &Progress) {
    match progress {
        Progress::Command { command, exit_code } => {
            let code = exit_code.map_or_else(|| "?".to_owned(), |c| c.to_string());
            tracing::info!("codex ran `{}` (exit {code})", short(command));
        }
        Progress::Files(paths) => tracing::info!("codex changed {}", short(&paths.join(", "))),
        Progress::Tool(name) => tracing::info!("codex called the tool {}", short(name)),
        Progress::Todos { done, total } => tracing::info!("todos: {done}/{total} done"),
        Progress::Warning(message) => tracing::warn!("codex: {}", short(message)),
        Progress::Retry(message) => tracing::warn!("codex error: {}", short(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;

    /// A stand-in `codex` (a shell script) and a request that runs it.
    fn fake_cli(dir: &Path, script: &str) -> AgentRequest {
        use std::os::unix::fs::PermissionsExt as _;
        let bin = dir.join("fake-codex");
        std::fs::write(
            &bin,
            format!("#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 'codex-cli 0.0.0'; exit 0; }}\n{script}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let settings = CodexSettings { version: "0.169.0".into(), path: Some(bin), config: None };
        AgentRequest {
            prompt: "-looks like a flag".into(),
            workdir: dir.to_path_buf(),
            title: "t".into(),
            scratch: dir.to_path_buf(),
            config: AgentConfig {
                runtime: RuntimeKind::Codex(settings),
                openai_base_url: None,
                openai_api_key: Some("sk-unit".into()),
                ..codex_config::tests::agent()
            },
            untrusted_tree: false,
            progress: None,
            gha: Default::default(),
        }
    }

    #[test]
    fn the_cli_gets_the_prompt_as_one_argument_its_home_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("dump");
        let script = format!(
            "printf '%s\\n' \"$@\" > {d}; echo \"home=$CODEX_HOME key=$OPENAI_API_KEY\" >> {d}; \
             echo '{{\"type\":\"turn.completed\",\"usage\":{{\"input_tokens\":1,\"output_tokens\":2}}}}'",
            d = dump.display()
        );
        let req = fake_cli(dir.path(), &script);
        let outcome = Codex.run(&req, &Cancel::new()).unwrap().outcome;
        assert_eq!(outcome.status, AgentStatus::Done);
        assert_eq!(outcome.usage.output_tokens, 2);
        let dump = std::fs::read_to_string(dump).unwrap();
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines[..4], ["exec", "--json", "--skip-git-repo-check", "--cd"]);
        assert_eq!(lines[5..7], ["--", "-looks like a flag"]);
        let home = codex_config::home(dir.path());
        assert_eq!(lines[7], format!("home={} key=sk-unit", home.display()));
        assert!(std::fs::read_to_string(home.join("config.toml")).unwrap().contains("approval_policy = \"never\""));
    }

    /// Done is the turn's end plus the process's exit; one that lingers after its turn ended
    /// is stopped after `EXIT_WAIT`, and the turn still counts.
    #[test]
    fn a_cli_lingering_after_its_turn_is_stopped_and_the_turn_counts() {
        let dir = tempfile::tempdir().unwrap();
        let script = "echo '{\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"done\"}}'; \
                      echo '{\"type\":\"turn.completed\",\"usage\":{}}'; exec sleep 300";
        let started = Instant::now();
        let outcome = Codex.run(&fake_cli(dir.path(), script), &Cancel::new()).unwrap().outcome;
        assert_eq!(outcome.status, AgentStatus::Done);
        assert_eq!(outcome.final_text, "done");
        let took = started.elapsed();
        assert!(took >= EXIT_WAIT && took < EXIT_WAIT + Duration::from_secs(30), "{took:?}");
    }

    #[test]
    fn a_cli_dying_before_its_turn_ends_is_a_typed_failure() {
        let dir = tempfile::tempdir().unwrap();
        let script =
            "echo '{\"type\":\"thread.started\",\"thread_id\":\"t1\"}'; echo 'boom: out of memory' >&2; exit 3";
        let outcome = Codex.run(&fake_cli(dir.path(), script), &Cancel::new()).unwrap().outcome;
        match &outcome.status {
            AgentStatus::Failed { kind, message } => {
                assert_eq!(kind, "CodexDied");
                assert!(message.contains("exit status: 3") && message.contains("boom: out of memory"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(outcome.session_id.as_deref(), Some("t1"));
    }

    #[test]
    fn lines_are_read_with_a_bound() {
        let data = b"short\n0123456789abcdef\nlast".to_vec();
        let mut reader = BufReader::with_capacity(4, &data[..]);
        let mut line = Vec::new();
        assert_eq!(read_bounded_line(&mut reader, &mut line, 10).unwrap(), Some(true));
        assert_eq!(line, b"short\n");
        assert_eq!(read_bounded_line(&mut reader, &mut line, 10).unwrap(), Some(false));
        assert!(line.len() <= 10);
        assert_eq!(read_bounded_line(&mut reader, &mut line, 10).unwrap(), Some(true));
        assert_eq!(line, b"last");
        assert_eq!(read_bounded_line(&mut reader, &mut line, 10).unwrap(), None);
    }
}
