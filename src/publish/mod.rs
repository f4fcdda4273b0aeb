//! Publishing the agent's work: branch, commit, guarded push, pull request. The agent only
//! edits files; everything that leaves the machine is decided here.

use std::path::Path;

use anyhow::Result;

use crate::config::Config;
use crate::context::Thread;
use crate::event::Trigger;
use crate::github::Client;
use crate::runtime::Outcome;

/// Where the work will go, decided before the agent starts and told to it in the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A new branch from the default branch (issues, dispatch without a PR).
    NewBranch { branch: String, base: String },
    /// The head branch of a same-repository PR (or a fork PR when allowed).
    PullHead { branch: String },
    /// Nothing will be pushed (fork PR, `allow-push: false`, …); the reason is told to humans.
    ReadOnly { reason: String },
}

impl Plan {
    /// One paragraph for the prompt: where the changes go and what the agent must not do.
    pub fn describe(&self) -> String {
        match self {
            Plan::NewBranch { branch, base } => format!(
                "Your changes will be committed to a new branch `{branch}` (from `{base}`) and pushed by the action, which then opens a pull request. Do not commit, push or open pull requests yourself."
            ),
            Plan::PullHead { branch } => format!(
                "Your changes will be committed to the pull request's branch `{branch}` and pushed by the action. Do not commit, push or open pull requests yourself."
            ),
            Plan::ReadOnly { reason } => {
                format!("Nothing you change will be pushed: {reason}. Answer with your findings.")
            }
        }
    }
}

/// What publishing did, and what it deliberately did not do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub branch: Option<String>,
    pub commit_sha: Option<String>,
    pub pr_url: Option<String>,
    pub pr_number: Option<u64>,
    /// When GitHub refused to open the PR: a link to open it by hand.
    pub compare_url: Option<String>,
    /// Files committed.
    pub files: Vec<String>,
    /// Files (or changes) left out, with the reason.
    pub withheld: Vec<(String, String)>,
    /// What was not done and why (`allow-push` off, fork PR, no changes, …), for the reply.
    pub notes: Vec<String>,
}

/// Decides the branch strategy. Pure.
pub fn plan(trigger: &Trigger, thread: &Thread, config: &Config) -> Plan {
    let _ = (trigger, thread, config);
    Plan::ReadOnly { reason: "publishing is not implemented yet".into() }
}

/// Puts the work tree on the planned branch before the agent starts.
pub fn prepare(plan: &Plan, workdir: &Path, config: &Config) -> Result<()> {
    let _ = (plan, workdir, config);
    Ok(())
}

/// What publishing needs to know about the run.
pub struct PublishInput<'a> {
    pub config: &'a Config,
    pub trigger: &'a Trigger,
    pub thread: &'a Thread,
    pub request: &'a str,
    pub outcome: &'a Outcome,
    /// The work tree the agent edited.
    pub workdir: &'a Path,
}

/// Commits, guards, pushes and opens/updates the PR after the agent is done.
pub async fn publish(client: Option<&Client>, plan: &Plan, input: &PublishInput<'_>) -> Result<Published> {
    let _ = (client, input);
    Ok(Published { notes: vec![format!("nothing published: {}", plan.describe())], ..Published::default() })
}
