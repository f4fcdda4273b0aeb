//! Trigger + Config → act or skip. Pure: no I/O, so the skip path costs nothing.

use crate::config::Config;
use crate::event::Trigger;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Act on `request`: the text after the mention (the whole body when there is none).
    Act { request: String },
    /// Do nothing; the reason is shown to humans.
    Skip { reason: String },
}

pub fn decide(trigger: &Trigger, config: &Config) -> Decision {
    let _ = (trigger, config);
    Decision::Skip { reason: "the gate is not implemented yet".into() }
}
