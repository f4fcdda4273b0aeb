//! The private clone a local run works in (`--repo O/N --issue N` outside Actions).
//!
//! A person's checkout is theirs: uncommitted edits, staged changes, untracked files, stashes,
//! hooks. The agent must not work in it (publishing stages the whole work tree, so their edits
//! would be committed as the bot's), and must not share its `.git` either: a linked
//! `git worktree` shares config and hooks, so an agent could plant a hook that runs the next
//! time the person commits. So a local run gets a fresh repository of its own under a private
//! temporary directory, filled from the server through the clean room like every other fetch:
//! `prepare` puts it on the planned branch (the base branch, or a pull request's head), and a
//! read-only plan gets the default branch. The person's directory is only ever read (the
//! preflight checks its remote), never written.
//!
//! The clone is removed when the run ends, unless the agent's work is in it and nowhere else
//! (a read-only run, withheld files, a refused push): then it is kept and its path logged, as
//! an Actions run leaves such work in the runner's work tree. No git command runs in it after
//! the agent: its `.git` is the agent's to have rewritten.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::Published;
use super::prepare::hand_over;
use super::room::{self, Room};
use crate::config::Config;
use crate::context::Thread;
use crate::git::Git;
use crate::plan::Plan;

/// A local run's own repository; removed on drop.
pub struct LocalClone {
    dir: tempfile::TempDir,
    work: PathBuf,
    /// The run's configuration with the clone as its work tree.
    config: Config,
}

impl LocalClone {
    /// The work tree the agent edits and publishing reads.
    pub fn path(&self) -> &Path {
        &self.work
    }

    /// The run's configuration, its work tree moved to the clone.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Removes the clone, or keeps it when what the agent did may be only here: a read-only
    /// plan, files the guard withheld, or a commit that was not pushed.
    pub fn finish(self, plan: &Plan, published: Option<&Published>, gha: &crate::gha::Gha) {
        let unpublished = matches!(plan, Plan::ReadOnly { .. })
            || published.is_some_and(|p| !p.withheld.is_empty() || (p.commit_sha.is_none() && !p.files.is_empty()));
        if unpublished {
            let kept = self.dir.keep();
            gha.notice(&format!(
                "the agent's work tree is kept at `{}`: what it changed there was not (all) pushed; delete it when done",
                kept.join("work").display()
            ));
        }
    }
}

/// For a local run, a fresh repository under a private temporary directory (`None` for an
/// Actions run, whose checkout is the runner's own). A read-only plan gets the default
/// branch's tip checked out here; any other plan is filled by `prepare`.
pub fn local_clone(config: &Config, plan: &Plan, thread: &Thread) -> Result<Option<LocalClone>> {
    if config.manual.is_none() {
        return Ok(None);
    }
    let dir = room::private_dir(&config.github.runner_temp, "sisyphus-local-", "the local run's clone")?;
    let work = dir.path().join("work");
    fs::create_dir(&work).context("could not create the local run's work tree")?;
    // No templates: the clone starts without even the sample hooks.
    Git::new(&work).run(&["init", "--quiet", "--template="]).context("could not create the local run's clone")?;
    if let Plan::ReadOnly { .. } = plan {
        let repo = &config.github.repository;
        let branch = &thread.default_branch;
        let room = Room::new(config, repo)?;
        let tip = room
            .tip(branch)
            .and_then(|tip| tip.context("it is not on the server"))
            .with_context(|| format!("could not fetch the default branch `{branch}`"))?;
        hand_over(&room, &work, &tip)?
            .run(&["checkout", "--quiet", "--detach", &tip])
            .with_context(|| format!("could not check out `{branch}` in the local run's clone"))?;
    }
    let mut moved = config.clone();
    moved.github.workspace = work.clone();
    tracing::info!(
        "the agent works in a temporary clone ({}), not in `{}`",
        work.display(),
        config.github.workspace.display()
    );
    Ok(Some(LocalClone { dir, work, config: moved }))
}
