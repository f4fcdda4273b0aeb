//! sisyphus-action: an `@mention` in a GitHub thread becomes finished work.
//!
//! The modules follow the lifecycle, in the order data flows:
//! `event → gate → context → prompt → runtime → publish → report`, with `preflight` (every
//! input, the provider's key, the template, the work tree) between the gate and the first write.
//! `doctor` runs the preflight and checks what needs the network, without acting.
//! Side effects live at the edges only: `github` (the API), `publish::git`, `runtime`
//! (the agent process) and `gha` (workflow commands, outputs, summary).

pub mod cancel;
pub mod cli;
pub mod config;
pub mod context;
pub mod doctor;
pub mod dry_run;
pub mod event;
pub mod gate;
pub mod gha;
pub mod github;
pub mod install;
pub mod lifecycle;
pub mod live_comment;
pub mod log;
pub mod mention;
pub mod preflight;
pub mod progress;
pub mod prompt;
pub mod publish;
pub mod report;
pub mod run;
pub mod runtime;
pub mod secrets;
pub mod stop;

use std::process::ExitCode;

/// Exit codes, as the runner we replace used them (documented in the README).
pub mod exit {
    /// The work is done, or the event was skipped.
    pub const SUCCESS: u8 = 0;
    /// The run failed (agent error, GitHub error, publish refused).
    pub const FAILURE: u8 = 1;
    /// Bad invocation: a missing variable, an unreadable payload, an invalid input.
    pub const USAGE: u8 = 2;
    /// Cancelled by the runner (SIGINT/SIGTERM) or stopped by `timeout-minutes`.
    pub const CANCELLED: u8 = 130;
}

/// An error in how we were invoked (missing variable, unreadable payload, bad input): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses the command line and runs it; maps every error to one clear line and an exit code.
pub fn main_entry() -> ExitCode {
    run::main()
}
