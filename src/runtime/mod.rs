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

use std::path::PathBuf;
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
    pub cost: f64,
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

pub trait Runtime {
    /// Runs the agent to the end. `Err` only when the agent could not be started or driven
    /// at all; a failed turn is an `Ok(Outcome)` with `AgentStatus::Failed`.
    fn run(&self, request: &AgentRequest, cancel: &Cancel) -> Result<Outcome>;
}

/// Whether the agent's work tree is someone else's: a fork's head we will push to, or any pull
/// request whose head is not `repo`'s own (or is gone). Such a tree configures nothing.
pub fn untrusted_tree(fork_head: bool, pull: Option<&PullInfo>, repo: &str) -> bool {
    fork_head || pull.is_some_and(|p| p.is_fork || p.head_repo.as_deref().is_none_or(|r| !r.eq_ignore_ascii_case(repo)))
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
