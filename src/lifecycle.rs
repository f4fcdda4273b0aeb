//! The lifecycle of one acted-on event: acknowledge → context → prompt → runtime → publish →
//! finish. Finishing (reaction swap, label removal, failure reply) always happens: on success,
//! error, timeout and cancellation.

use anyhow::Result;

use crate::config::Config;
use crate::event::Trigger;
use crate::gha::Gha;
use crate::run::Conclusion;

pub async fn run(config: &Config, trigger: Trigger, request: String, gha: &Gha) -> Result<Conclusion> {
    let _ = (config, trigger, request, gha);
    anyhow::bail!("the lifecycle is not implemented yet")
}
