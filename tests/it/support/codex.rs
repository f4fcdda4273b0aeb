//! The pinned Codex CLI for the real-Codex tiers.

use std::path::PathBuf;

/// The pinned CLI (`CODEX_BIN`, set by `scripts/test`, else `codex` on PATH); required in CI,
/// a skip by hand.
pub fn codex_bin() -> Option<PathBuf> {
    let found = std::env::var_os("CODEX_BIN").map(PathBuf::from).or_else(|| which::which("codex").ok());
    match found {
        Some(bin) if bin.is_file() => Some(bin),
        _ if std::env::var_os("CI").is_some() => panic!("CODEX_BIN is not set and `codex` is not on PATH"),
        _ => {
            eprintln!("SKIPPED: no Codex CLI (set CODEX_BIN or run scripts/test)");
            None
        }
    }
}
