//! The commit, built in the clean room: the work tree's files staged on the base, the agent
//! tooling's own state folded back into the base, each remaining change put to the guard (what
//! fails is withheld: unstaged, listed with its reason), and the commit of what passed checked
//! again as a whole before anything may push it.
//!
//! What it does not do: push (`push`), or say why in the reply (the report renders the notes).

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::room::{Change, Room};
use super::{PublishInput, Published, guard, message};
use crate::config::Config;
use crate::git;
use crate::secrets;

/// Stages the work tree's files on `base` and lists what changed.
pub(super) fn staged_changes(room: &Room, workdir: &Path, base: &str) -> Result<Vec<Change>> {
    room.stage(workdir, base)?;
    room.staged(base)
}

/// Agent tooling's state, and agent configuration its tooling deleted (oh-my-opencode moves a
/// committed `.opencode/oh-my-opencode.json` away at startup), go back to the base silently:
/// they are not the model's work, and a run with nothing else has no changes. Returns the rest.
pub(super) fn fold(room: &Room, changes: Vec<Change>) -> Result<Vec<Change>> {
    let (tooling, staged): (Vec<_>, Vec<_>) = changes
        .into_iter()
        .partition(|c| guard::agent_state(&c.path) || (c.deleted() && guard::restore_deletion(&c.path)));
    if !tooling.is_empty() {
        room.unstage(&tooling.iter().collect::<Vec<_>>()).context("could not restore the agent tooling's files")?;
        let paths: Vec<&str> = tooling.iter().map(|c| c.path.as_str()).collect();
        tracing::info!("left out agent state and restored agent configuration: {}", paths.join(", "));
    }
    Ok(staged)
}

/// Puts each staged change to the guard: what passes goes into `out.files`, what does not is
/// unstaged and goes into `out.withheld` with its reason. Notes say what that means, and that
/// nothing is committed when nothing is left.
pub(super) fn withhold(
    room: &Room,
    staged: &[Change],
    config: &Config,
    known: &secrets::Known,
    out: &mut Published,
) -> Result<()> {
    let mut withheld = Vec::new();
    for change in staged {
        match change_reason(room, change, config, known)? {
            Some(reason) => {
                out.withheld.push((change.path.clone(), reason));
                withheld.push(change);
            }
            None => out.files.push(change.path.clone()),
        }
    }
    if !withheld.is_empty() {
        room.unstage(&withheld).context("could not unstage the withheld files")?;
        // The reply lists each file with its reason (`withheld`); the note says what that means.
        out.notes.push(format!(
            "{} file(s) were left out of the commit and stay only in the runner's work tree.",
            out.withheld.len()
        ));
    }
    if out.files.is_empty() {
        out.notes.push(if out.withheld.is_empty() {
            "The agent made no changes, so nothing was committed.".to_owned()
        } else {
            "Every change was left out, so nothing was committed.".to_owned()
        });
    }
    Ok(())
}

/// Commits what is staged on `base` with the message for `title` (redacted whole), then checks
/// that commit again (`recheck`). Returns its id.
pub(super) fn commit(
    room: &Room,
    base: &str,
    input: &PublishInput<'_>,
    title: &str,
    out: &Published,
    known: &secrets::Known,
) -> Result<String> {
    let config = input.config;
    let login = &input.trigger.author.login;
    let co_author = (config.publish.co_author
        && !input.trigger.author.is_bot
        && !login.is_empty()
        && *login != config.publish.git_user_name)
        .then_some(login.as_str());
    let thread_ref = input.thread.number.map(|n| format!("{}#{n}", input.thread.repo));
    let text = message::commit_message(title, input.outcome, thread_ref.as_deref(), co_author);
    let who = git::Identity { name: &config.publish.git_user_name, email: &config.publish.git_user_email };
    let tree = room.git.run(&["write-tree"])?;
    let secrets = config.secrets();
    let sha = room.git.commit_tree(&tree, base, &message::redact(&text, &secrets), &who)?;
    recheck(room, base, &sha, out, config, known)?;
    Ok(sha)
}

/// Why one staged change must not be committed: its path, a workflow the token cannot push,
/// an embedded repository, or what its exact new content adds.
fn change_reason(room: &Room, change: &Change, config: &Config, known: &secrets::Known) -> Result<Option<String>> {
    let workflow = |p: &str| if config.publish.allow_workflow_changes { None } else { guard::workflow_reason(p) };
    // A deletion leaks nothing, but a workflow deletion is still a workflow change.
    if change.deleted() {
        return Ok(workflow(&change.path));
    }
    if let Some(reason) = guard::path_reason(&change.path).or_else(|| workflow(&change.path)) {
        return Ok(Some(reason));
    }
    if change.new_mode == "160000" {
        return Ok(Some("an embedded git repository: only files are committed".into()));
    }
    let old =
        if change.added() || change.old_mode == "160000" { Vec::new() } else { room.git.blob(&change.old_oid)? };
    let new = room.git.blob(&change.new_oid)?;
    Ok(guard::content_reason(&old, &new, known))
}

/// The commit we made, checked again as a whole: it changes exactly the allowed paths, none
/// that was withheld, and nothing it adds holds a secret. Any difference means nothing is pushed.
fn recheck(room: &Room, base: &str, sha: &str, out: &Published, config: &Config, known: &secrets::Known) -> Result<()> {
    let changes = room.committed(base, sha)?;
    let mut paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let mut allowed: Vec<&str> = out.files.iter().map(String::as_str).collect();
    paths.sort_unstable();
    allowed.sort_unstable();
    if paths != allowed {
        bail!("the commit does not change exactly the checked files; refusing to push");
    }
    if let Some((path, _)) = out.withheld.iter().find(|(p, _)| paths.contains(&p.as_str())) {
        bail!("the commit contains the withheld file `{path}`; refusing to push");
    }
    for change in &changes {
        if change_reason(room, change, config, known)?.is_some() {
            bail!("the commit's `{}` did not pass the guard again; refusing to push", change.path);
        }
    }
    Ok(())
}
