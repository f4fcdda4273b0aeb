//! The pinned Codex CLI for the real-Codex tiers (the rest they share with OpenCode's is in
//! `agent.rs`).

use std::path::PathBuf;

use super::agent;

/// The pinned CLI (`CODEX_BIN`, set by `scripts/test`, else `codex` on PATH); required in CI,
/// a skip by hand.
pub fn codex_bin() -> Option<PathBuf> {
    agent::pinned_bin("CODEX_BIN", "codex", "Codex CLI")
}
