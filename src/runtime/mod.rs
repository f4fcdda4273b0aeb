//! The agent runtime: one small trait, one file per runtime.
//!
//! A runtime takes the rendered prompt and a work tree, runs the agent until the work is
//! really done (or failed, timed out, was cancelled) and hands back an `Outcome`. It never
//! sees the GitHub token: publishing is ours.
//!
//! The OpenCode runtime (`opencode/`) is split by concern: `opencode/mod.rs` drives one run
//! (the only file that sequences I/O); `config.rs` computes the server's config and
//! environment; `server.rs` owns the process; `api.rs` the HTTP calls and the event-stream
//! reader; `sse.rs` and `events.rs` turn bytes into typed events; `completion.rs` is the pure
//! state machine that decides when the run is over; `transcript.rs` logs and collects what the
//! agent said and did; `agents.rs` and `omo.rs` resolve the agent and configure the Sisyphus
//! plugin. What the agent may see and how its processes end is `crate::isolation`'s.
//!
//! The Codex runtime runs `codex exec --json` once: `codex.rs` drives it, `codex_config.rs`
//! computes its `config.toml` and environment, `codex_events.rs` folds its JSON-lines stream.

pub mod command;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cancel::Cancel;
use crate::config::{AgentConfig, RuntimeKind};
use crate::event::PullInfo;

pub mod codex;
pub mod codex_config;
pub mod codex_events;
pub mod opencode;

/// What the runtime needs to run one request.
#[derive(Debug, Clone)]
pub struct AgentRequest {
    pub prompt: String,
    /// The work tree the agent edits (the checked-out repository).
    pub workdir: PathBuf,
    /// Session title, e.g. `owner/name#12`.
    pub title: String,
    /// Private scratch space (under `RUNNER_TEMP`) for state, config and logs.
    pub scratch: PathBuf,
    pub config: AgentConfig,
    /// The work tree is a fork's head: its own agent configuration (OpenCode's project config)
    /// is the fork author's and must not load.
    pub untrusted_tree: bool,
    /// Where progress notes (todo lists, the current tool call) go, for the live comment.
    /// Sending never blocks the agent.
    pub progress: Option<crate::progress::Sender>,
    /// Where workflow commands go: model output is printed inside `::stop-commands::`.
    pub gha: crate::gha::Gha,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Todo {
    pub content: String,
    /// `pending`, `in_progress`, `completed` or `cancelled`.
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// In dollars; `None` when the runtime reports no cost (Codex, a `command`), which the
    /// reply then does not make up.
    pub cost: Option<f64>,
}

/// How the agent's turn ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AgentStatus {
    Done,
    /// The agent (or its model) failed: `kind` is e.g. `APIError`, `message` a short excerpt.
    Failed {
        kind: String,
        message: String,
    },
    TimedOut,
    Cancelled,
}

/// Handed to publish and report, whatever the status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: AgentStatus,
    pub final_text: String,
    pub todos: Vec<Todo>,
    pub child_sessions: Vec<String>,
    pub usage: Usage,
    pub files_changed: Vec<String>,
    pub session_id: Option<String>,
    #[serde(skip)]
    pub duration: Duration,
}

impl Outcome {
    /// A run that was cancelled before the runtime could say how its turn ended.
    pub fn cancelled() -> Self {
        Self {
            status: AgentStatus::Cancelled,
            final_text: String::new(),
            todos: Vec::new(),
            child_sessions: Vec::new(),
            usage: Usage::default(),
            files_changed: Vec::new(),
            session_id: None,
            duration: Duration::ZERO,
        }
    }
}

/// What a run hands back: how the turn ended, at once, and what is left to end.
#[derive(Debug)]
pub struct Finished {
    pub outcome: Outcome,
    pub teardown: Teardown,
}

impl Finished {
    /// A run that left nothing running (the CLI runtimes stop their process before returning).
    pub fn new(outcome: Outcome) -> Self {
        Self { outcome, teardown: Teardown::default() }
    }
}

/// What a run leaves to end: the runtime's own processes (OpenCode's server and what must
/// wait for it, the plugin's config put back) and the scratch dir the caller hands it. It is
/// a value, not a mode: whoever holds it decides when, and nothing is forgotten, because
/// dropping it does the same as `finish`.
///
/// The order is the security construction's: `stop` before containment (which ends what
/// the agent left on its own, `isolation::process`), scratch deleted only once nothing uses
/// it.
#[derive(Default)]
#[must_use = "dropping a teardown stops the server at once; hold it until containment"]
pub struct Teardown {
    stop: Option<Box<dyn FnOnce() + Send>>,
    scratch: Option<tempfile::TempDir>,
}

impl Teardown {
    /// `stop` ends the runtime's processes (blocking; bounded by the runtime's grace).
    pub fn stopping(stop: Box<dyn FnOnce() + Send>) -> Self {
        Self { stop: Some(stop), scratch: None }
    }

    /// `scratch` is deleted last, after the stop.
    pub fn deleting(mut self, scratch: tempfile::TempDir) -> Self {
        self.scratch = Some(scratch);
        self
    }

    /// Stops the runtime's processes; idempotent. The scratch dir stays.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }

    /// Stops what is still running, then deletes the scratch dir.
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        self.stop();
        if let Some(scratch) = self.scratch.take() {
            let path = scratch.path().to_owned();
            if let Err(e) = scratch.close() {
                tracing::warn!("cannot delete the scratch dir `{}`: {e}", path.display());
            }
        }
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        self.end();
    }
}

impl std::fmt::Debug for Teardown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teardown").field("stops", &self.stop.is_some()).field("scratch", &self.scratch).finish()
    }
}

pub trait Runtime {
    /// Runs the agent to the end of its turn. `Err` only when the agent could not be started
    /// or driven at all (what it started is stopped before `run` returns); a failed turn is an
    /// `Ok` with `AgentStatus::Failed`.
    fn run(&self, request: &AgentRequest, cancel: &Cancel) -> Result<Finished>;
}

/// Whether the agent's work tree is someone else's: a fork's head we will push to, or any pull
/// request whose head is not `repo`'s own (or is gone). Such a tree configures nothing.
pub fn untrusted_tree(fork_head: bool, pull: Option<&PullInfo>, repo: &str) -> bool {
    fork_head || pull.is_some_and(|p| p.is_fork || p.head_repo.as_deref().is_none_or(|r| !r.eq_ignore_ascii_case(repo)))
}

/// Where the install stage seeds what it prepared for this run (OpenCode's plugins): the
/// config dir of the run's private XDG dirs under `scratch`.
pub fn seed_dir(scratch: &Path) -> PathBuf {
    opencode::config::xdg_dirs(scratch)[0].1.join("opencode")
}

/// The runtime the config asks for.
pub fn for_config(config: &AgentConfig) -> Box<dyn Runtime + Send + Sync> {
    match &config.runtime {
        RuntimeKind::OpenCode => Box::new(opencode::OpenCode::default()),
        RuntimeKind::Command(command) => Box::new(command::CommandRuntime { command: command.clone() }),
        RuntimeKind::Codex(_) => Box::new(codex::Codex),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stop runs once, before the scratch dir goes; dropping does what `finish` does.
    #[test]
    fn a_teardown_stops_once_then_deletes_scratch_on_finish_or_drop() {
        use std::sync::{Arc, Mutex};
        for finish in [true, false] {
            let scratch = tempfile::tempdir().unwrap();
            let path = scratch.path().to_owned();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            let mut teardown =
                Teardown::stopping(Box::new(move || log.lock().unwrap().push(path.exists()))).deleting(scratch);
            teardown.stop();
            teardown.stop();
            let path = teardown.scratch.as_ref().unwrap().path().to_owned();
            assert!(path.exists(), "stop alone keeps the scratch dir");
            if finish {
                teardown.finish();
            } else {
                drop(teardown);
            }
            assert!(!path.exists(), "the scratch dir is still there (finish: {finish})");
            assert_eq!(*seen.lock().unwrap(), [true], "stopped once, while the scratch dir was there");
        }
        // Never stopped by hand: dropping stops it.
        let stopped = Arc::new(Mutex::new(false));
        let flag = stopped.clone();
        drop(Teardown::stopping(Box::new(move || *flag.lock().unwrap() = true)));
        assert!(*stopped.lock().unwrap());
    }

    #[test]
    fn fork_heads_and_foreign_pull_requests_are_untrusted() {
        let pull = |head: Option<&str>, is_fork| PullInfo {
            head_repo: head.map(str::to_owned),
            is_fork,
            ..PullInfo::default()
        };
        assert!(!untrusted_tree(false, None, "octo/repo"));
        assert!(untrusted_tree(true, None, "octo/repo"));
        assert!(!untrusted_tree(false, Some(&pull(Some("Octo/Repo"), false)), "octo/repo"));
        assert!(untrusted_tree(false, Some(&pull(Some("octo/repo"), true)), "octo/repo"));
        assert!(untrusted_tree(false, Some(&pull(Some("forker/repo"), false)), "octo/repo"));
        assert!(untrusted_tree(false, Some(&pull(None, false)), "octo/repo"));
    }
}
