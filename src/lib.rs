//! sisyphus-action: an `@mention` in a GitHub thread becomes finished work.
//!
//! The modules follow the lifecycle, in the order data flows:
//! `event → gate → context → prompt → runtime → publish → report`, with `preflight` (every
//! input, the provider's key, the template, the work tree) between the gate and the first write.
//! `doctor` runs the preflight and checks what needs the network, without acting.
//! `exit`, `marker` and `text` are leaves every stage may import; `sanitize` makes the only
//! `Sanitized` text, which the thread, the prompt, the commit subject and the PR title take.
//! Side effects live at the edges only: `github` (the API), `git`, `runtime`
//! (the agent process) and `gha` (workflow commands, outputs, summary).

pub mod cancel;
pub mod cli;
pub mod config;
pub mod context;
pub mod doctor;
pub mod dry_run;
pub mod event;
pub mod exit;
pub mod gate;
pub mod gha;
pub mod git;
pub mod github;
pub mod install;
pub mod isolation;
pub mod lifecycle;
pub mod live_comment;
pub mod log;
pub mod marker;
pub mod mention;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod prompt;
pub mod publish;
pub mod report;
pub mod run;
pub mod runtime;
pub mod sanitize;
pub mod secrets;
pub mod stop;
pub mod text;
