//! The pinned OpenCode for the real-server tiers, and the cap on how many servers run at once.
//! What every real agent's tests share (the work tree, the request, no process left) is in
//! `agent.rs`.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

use super::agent;

/// The pinned OpenCode (`OPENCODE_BIN`, set by `scripts/test`, else `opencode` on PATH);
/// required in CI, a skip by hand.
pub fn opencode_bin() -> Option<PathBuf> {
    agent::pinned_bin("OPENCODE_BIN", "opencode", "OpenCode")
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
