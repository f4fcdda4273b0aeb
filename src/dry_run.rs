//! `--dry-run`: decide, gather (payload-only without a token), render, and print what a real
//! run would do. No writes to GitHub, no agent.

use anyhow::Result;

use crate::config::Config;
use crate::event::Trigger;
use crate::gha::Gha;
use crate::run::Conclusion;

pub async fn run(config: &Config, trigger: &Trigger, request: &str, gha: &Gha) -> Result<Conclusion> {
    let _ = (config, trigger, request, gha);
    anyhow::bail!("dry run is not implemented yet")
}
