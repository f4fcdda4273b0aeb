//! Publishing the agent's work: branch, commit, guarded push, pull request. The agent only
//! edits files; everything that leaves the machine is decided here.
//!
//! `crate::plan` (pure) decides where the work goes before the agent starts; here `prepare`
//! puts the work tree there, and `publish` runs the stages after the agent, each in its own
//! file, all in one fresh clean room (`room`): `commit` stages the work tree's files, folds
//! the agent tooling's state back, withholds what the `guard` refuses and commits the rest
//! (its words from `message`); `push` pushes only the planned branch (never the default
//! branch, never with force); `pr` opens or updates the PR. What it did not do goes into
//! `Published::notes` in plain words. This module does not reply: the reply is the report
//! stage's.

mod clone;
mod commit;
mod guard;
pub mod message;
mod pr;
mod prepare;
mod push;
mod room;

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::config::Config;
use crate::context::Thread;
use crate::event::Trigger;
use crate::github::Client;
use crate::plan::{Plan, PushTarget};
use crate::runtime::Outcome;
use crate::sanitize::Sanitized;
use crate::secrets;

pub use clone::{LocalClone, local_clone};
pub use prepare::{Prepared, prepare, unexclude_agent_state};

/// What publishing did, and what it deliberately did not do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// The branch pushed to (only set when the push succeeded).
    pub branch: Option<String>,
    /// The commit pushed (only set when the push succeeded).
    pub commit_sha: Option<String>,
    pub pr_url: Option<String>,
    pub pr_number: Option<u64>,
    /// A link to open the PR by hand, when none was opened for a pushed new branch (GitHub
    /// refused, `allow-pr` off, no token, or another API failure).
    pub compare_url: Option<String>,
    /// Files committed.
    pub files: Vec<String>,
    /// Files (or changes) left out, with the reason.
    pub withheld: Vec<(String, String)>,
    /// What was not done and why (`allow-push` off, fork PR, no changes, …), for the reply.
    pub notes: Vec<String>,
}

/// What publishing needs to know about the run.
pub struct PublishInput<'a> {
    pub config: &'a Config,
    pub trigger: &'a Trigger,
    pub thread: &'a Thread,
    pub request: &'a Sanitized,
    pub outcome: &'a Outcome,
    /// The work tree the agent edited; only its files are read, never its `.git`.
    pub workdir: &'a Path,
    /// What `prepare` returned.
    pub prepared: &'a Prepared,
}

/// Commits, guards, pushes and opens/updates the PR after the agent is done (and contained).
/// Everything happens in a fresh clean room: the base commit is fetched from the server, the
/// work tree's files are staged on top of it, the guard reads the staged blobs, the commit is
/// re-checked, and exactly that commit id is pushed to an explicit URL.
pub async fn publish(client: Option<&Client>, plan: &Plan, input: &PublishInput<'_>) -> Result<Published> {
    let config = input.config;
    let mut out = Published::default();
    let Some(target) = PushTarget::of(plan, config) else {
        if let Plan::ReadOnly { reason } = plan {
            out.notes.push(format!(
                "Nothing was pushed: {reason}; whatever the agent changed stays in the runner's work tree."
            ));
        }
        return Ok(out);
    };
    if target.repo.eq_ignore_ascii_case(&config.github.repository) && target.branch == input.thread.default_branch {
        out.notes
            .push(format!("Nothing was pushed: `{}` is the default branch, which is never pushed to.", target.branch));
        return Ok(out);
    }
    let Some(start) = input.prepared.start.as_deref() else {
        bail!("the work tree was not prepared for the branch `{}`; refusing to publish", target.branch);
    };
    let room = room::Room::new(config, &target.repo)?;
    let base = room.fetch(start, true).with_context(|| format!("could not fetch the commit `{start}` to build on"))?;
    let staged = commit::fold(&room, commit::staged_changes(&room, input.workdir, &base)?)?;
    let known = secrets::Known::new(&config.secrets());
    commit::withhold(&room, &staged, config, &known, &mut out)?;
    if out.files.is_empty() {
        return Ok(out);
    }
    // The PR title too: redacted like the body (the commit message is redacted whole).
    let title = message::redact(&message::subject(input.request, &input.thread.title), &config.secrets());
    let sha = commit::commit(&room, &base, input, &title, &out, &known)?;
    if let push::Push::Refused(note) = push::push(&room, &sha, &target.branch)? {
        out.notes.push(note);
        return Ok(out);
    }
    out.branch = Some(target.branch.clone());
    out.commit_sha = Some(sha.clone());
    pr::follow_up(client, plan, input, &room, (&base, &sha), &title, &mut out).await;
    Ok(out)
}
