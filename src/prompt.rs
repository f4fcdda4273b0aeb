//! Handlebars templates in `prompts/` (embedded), no HTML escaping, strict mode.

use std::path::Path;

use anyhow::Result;

use crate::config::Config;
use crate::context::Thread;
use crate::event::Trigger;

/// Everything a template may use.
pub struct PromptInput<'a> {
    pub config: &'a Config,
    pub trigger: &'a Trigger,
    pub thread: &'a Thread,
    /// The request: the text after the mention.
    pub request: &'a str,
    /// Where the work goes, decided before the agent starts (`publish::Plan::describe`).
    pub publishing: &'a str,
    /// The work tree the agent edits.
    pub workdir: &'a Path,
}

pub fn render(input: &PromptInput<'_>) -> Result<String> {
    let _ = input;
    anyhow::bail!("prompt rendering is not implemented yet")
}
