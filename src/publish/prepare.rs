//! Putting the work tree on the planned branch before the agent starts: the branch's commits
//! come from the server through a clean room, and reach the work tree by a local fetch that
//! carries no token. It also keeps the agent's tooling state out of the work tree's `git status`.
//!
//! What it does not do: decide the branch (`crate::plan` did), or commit or push anything
//! (`commit`, `push`, after the agent).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use super::{guard, room};
use crate::config::Config;
use crate::git;
use crate::plan::{Plan, PushTarget};

/// What `prepare` put the work tree on; `publish` builds on exactly that commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The commit the work tree was checked out at (`None` for a read-only plan).
    pub start: Option<String>,
    /// For a new branch: the base branch's commit at that time.
    pub base: Option<String>,
    /// The work tree's `info/exclude`, found before the agent ran (so that taking our block out
    /// again runs no git in the tree the agent wrote): `unexclude_agent_state` edits it.
    pub exclude: Option<PathBuf>,
}

/// Puts the work tree on the planned branch before the agent starts. The commits come from the
/// server through a clean room (the token never meets the work tree's config) and are handed to
/// the work tree by a local fetch that carries no token.
pub fn prepare(plan: &Plan, workdir: &Path, config: &Config) -> Result<Prepared> {
    // For the agent's own `git status` and `git add`: its tooling's state is not part of the
    // work. Best-effort (publishing excludes it again in the clean room, which is what counts).
    let exclude = git::Git::new(workdir).run(&["rev-parse", "--git-path", "info/exclude"]).map(|p| workdir.join(p));
    let exclude = match exclude.and_then(|path| exclude_agent_state(&path).map(|()| path)) {
        Ok(path) => Some(path),
        Err(e) => {
            tracing::warn!("could not exclude agent state in the work tree: {e:#}");
            None
        }
    };
    let mut prepared = Prepared { exclude, ..Prepared::default() };
    let Some(target) = PushTarget::of(plan, config) else { return Ok(prepared) };
    let room = room::Room::new(config, &target.repo)?;
    if let Some(base) = &target.base {
        let sha = room
            .tip(base)
            .and_then(|tip| tip.context("it is not on the server"))
            .with_context(|| format!("could not fetch the base branch `{base}`"))?;
        prepared.base = Some(sha);
    }
    // A re-run on the same issue continues the branch it pushed before, so the push stays a
    // fast-forward; a PR's head must exist.
    let tip = room.tip(&target.branch).with_context(|| format!("could not fetch the branch `{}`", target.branch))?;
    let mut start = match (tip, &prepared.base) {
        (Some(tip), _) => tip,
        (None, Some(base)) => base.clone(),
        (None, None) => bail!("could not fetch the branch `{}`: not on the server", target.branch),
    };
    // A PR head is the commit the context saw, not whatever was pushed since (by a fork's
    // author, say): the agent works on what was shown. A later head makes our push a
    // non-fast-forward, which is refused and reported.
    if let Some(pin) = target.pin.as_deref() {
        start = pin.to_owned();
    }
    let work = hand_over(&room, workdir, &start)?;
    // `checkout -B` moves whatever is uncommitted along (or refuses on a conflict), so
    // leftovers of earlier steps can only ever be committed to the planned branch.
    work.run(&["checkout", "--quiet", "-B", &target.local, &start])
        .with_context(|| format!("could not check out the branch `{}`", target.local))?;
    prepared.start = Some(start);
    Ok(prepared)
}

/// Makes sure the work tree has the commit `start`: checkout usually fetched it already (the
/// default branch, a PR's head); only a missing one is fetched whole (the work tree needs its
/// files) and handed over by a local fetch that carries no token. Git in the work tree.
pub(super) fn hand_over(room: &room::Room, workdir: &Path, start: &str) -> Result<git::Git> {
    let work = git::Git::new(workdir).for_server(&room.git_dir().to_string_lossy());
    if !work.try_run(&["cat-file", "-e", &format!("{start}^{{commit}}")])?.success {
        let fetched = room.fetch(start, false).with_context(|| format!("could not fetch the commit `{start}`"))?;
        let room_dir = room.git_dir();
        work.run(&["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", &room_dir.to_string_lossy(), &fetched])
            .context("could not hand the fetched commit to the work tree")?;
    }
    Ok(work)
}

/// Takes our block out of the work tree's `info/exclude` again once the run is over: the
/// exclusion is for the run (the agent's `git status`), not a lasting change to the person's
/// checkout, which a self-hosted runner keeps for the next job. Best-effort, like the exclusion.
pub fn unexclude_agent_state(prepared: &Prepared) -> Result<()> {
    let Some(path) = prepared.exclude.as_deref() else { return Ok(()) };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("could not read `{}`", path.display())),
    };
    match without_our_block(&text) {
        Some(rest) => std::fs::write(path, rest).with_context(|| format!("could not write `{}`", path.display())),
        None => Ok(()),
    }
}

/// `text` without the block `exclude_agent_state` appended (its mark and the patterns right
/// after it, as written), or `None` when there is no such block. Lines that someone else put
/// after our block stay.
fn without_our_block(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines.iter().position(|l| l.trim_end_matches('\n') == EXCLUDE_MARK)?;
    let mut end = start + 1;
    for pattern in guard::AGENT_STATE_EXCLUDES {
        if lines.get(end).is_some_and(|l| l.trim_end_matches('\n') == *pattern) {
            end += 1;
        }
    }
    Some(lines[..start].iter().chain(&lines[end..]).copied().collect())
}

/// The line that starts our block in an `info/exclude` file.
const EXCLUDE_MARK: &str = "# sisyphus-action: agent state, never published";

/// Appends `guard::AGENT_STATE_EXCLUDES` to the `info/exclude` file at `path`, once: a re-run in
/// the same work tree finds the block and leaves the file as it is.
pub(super) fn exclude_agent_state(path: &Path) -> Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("could not read `{}`", path.display())),
    };
    if existing.lines().any(|l| l == EXCLUDE_MARK) {
        return Ok(());
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(EXCLUDE_MARK);
    text.push('\n');
    for pattern in guard::AGENT_STATE_EXCLUDES {
        text.push_str(pattern);
        text.push('\n');
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create `{}`", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("could not write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKOUTS: &str = "# git ls-files --others --exclude-from=.git/info/exclude\n# *.[oa]\n";

    #[test]
    fn our_block_comes_out_as_it_went_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("info/exclude");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, CHECKOUTS).unwrap();
        exclude_agent_state(&path).unwrap();
        let with = std::fs::read_to_string(&path).unwrap();
        assert!(with.starts_with(CHECKOUTS) && with.contains(EXCLUDE_MARK), "{with}");
        assert_eq!(without_our_block(&with).as_deref(), Some(CHECKOUTS));
        assert_eq!(without_our_block(CHECKOUTS), None, "nothing of ours: nothing to do");
    }

    #[test]
    fn lines_added_after_our_block_stay() {
        let text = format!("{CHECKOUTS}{EXCLUDE_MARK}\n{}\n/build/\n", guard::AGENT_STATE_EXCLUDES.join("\n"));
        assert_eq!(without_our_block(&text), Some(format!("{CHECKOUTS}/build/\n")));
    }

    #[test]
    fn the_work_trees_exclude_file_is_put_back_after_the_run() {
        // `Prepared.exclude` holds the path, so taking the block out needs no repository.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exclude");
        std::fs::write(&path, CHECKOUTS).unwrap();
        exclude_agent_state(&path).unwrap();
        assert_ne!(std::fs::read_to_string(&path).unwrap(), CHECKOUTS);
        unexclude_agent_state(&Prepared { exclude: Some(path.clone()), ..Prepared::default() }).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), CHECKOUTS);
    }
}
