//! The pinned OpenCode for the real-server tiers, and the cap on how many servers run at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sisyphus_action::config::{AgentConfig, DEFAULT_OMO_VERSION, DEFAULT_OPENCODE_VERSION, RuntimeKind};
use std::sync::{Condvar, Mutex};

/// The pinned OpenCode (`OPENCODE_BIN`, set by `scripts/test`, else `opencode` on PATH);
/// required in CI, a skip by hand.
pub fn opencode_bin() -> Option<PathBuf> {
    let found = std::env::var_os("OPENCODE_BIN").map(PathBuf::from).or_else(|| which::which("opencode").ok());
    match found {
        Some(bin) if bin.is_file() => Some(bin),
        _ if std::env::var_os("CI").is_some() => panic!("OPENCODE_BIN is not set and `opencode` is not on PATH"),
        _ => {
            eprintln!("SKIPPED: no OpenCode (set OPENCODE_BIN or run scripts/test)");
            None
        }
    }
}

/// At most two real OpenCode servers at once (each wants ~1 GB and a core).
static SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// One of the two server slots, held while a test's server runs.
pub struct Slot;

impl Slot {
    pub fn take() -> Slot {
        let (lock, cv) = &SLOTS;
        let mut used = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= 2 {
            used = cv.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (lock, cv) = &SLOTS;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        cv.notify_one();
    }
}

/// A plain OpenCode agent at `bin` on the fake model at `base_url` (`support::fake_llm`).
pub fn fake_model_agent(bin: &Path, base_url: &str, timeout: Duration) -> AgentConfig {
    AgentConfig {
        runtime: RuntimeKind::OpenCode,
        model: "openai-compatible/fake-model".into(),
        variant: None,
        agent: None,
        plugins: vec![],
        opencode_config: None,
        opencode_path: Some(bin.to_owned()),
        opencode_version: DEFAULT_OPENCODE_VERSION.into(),
        timeout,
        anthropic_api_key: None,
        anthropic_base_url: None,
        openai_api_key: Some("fake-key".into()),
        openai_base_url: Some(base_url.to_owned()),
        preset: None,
        omo_version: DEFAULT_OMO_VERSION.into(),
        omo_config: None,
        actions: false,
    }
}
