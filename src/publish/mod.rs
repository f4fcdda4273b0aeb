//! Publishing the agent's work: branch, commit, guarded push, pull request. The agent only
//! edits files; everything that leaves the machine is decided here.
//!
//! `crate::plan` (pure) decides where the work goes before the agent starts; here `prepare`
//! puts the work tree there, and `publish` commits what passes the guard, pushes only the
//! planned branch (never the default branch, never with force) and opens or updates the PR.
//! What it did not do goes into `Published::notes` in plain words; the reply is the report
//! stage's.

mod clone;
pub mod guard;
pub mod message;
pub mod pr;
mod room;

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::config::Config;
use crate::context::Thread;
use crate::event::Trigger;
use crate::git;
use crate::github::Client;
use crate::plan::{Plan, PushTarget};
use crate::runtime::Outcome;
use crate::sanitize::Sanitized;
use crate::secrets;

pub use clone::{LocalClone, local_clone};

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

/// What `prepare` put the work tree on; `publish` builds on exactly that commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The commit the work tree was checked out at (`None` for a read-only plan).
    pub start: Option<String>,
    /// For a new branch: the base branch's commit at that time.
    pub base: Option<String>,
}

/// Puts the work tree on the planned branch before the agent starts. The commits come from the
/// server through a clean room (the token never meets the work tree's config) and are handed to
/// the work tree by a local fetch that carries no token.
pub fn prepare(plan: &Plan, workdir: &Path, config: &Config) -> Result<Prepared> {
    // For the agent's own `git status` and `git add`: its tooling's state is not part of the
    // work. Best-effort (publishing excludes it again in the clean room, which is what counts).
    let exclude = git::Git::new(workdir).run(&["rev-parse", "--git-path", "info/exclude"]);
    if let Err(e) = exclude.and_then(|path| exclude_agent_state(&workdir.join(path))) {
        tracing::warn!("could not exclude agent state in the work tree: {e:#}");
    }
    let Some(target) = PushTarget::of(plan, config) else { return Ok(Prepared::default()) };
    let room = room::Room::new(config, &target.repo)?;
    let mut prepared = Prepared::default();
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
fn hand_over(room: &room::Room, workdir: &Path, start: &str) -> Result<git::Git> {
    let work = git::Git::new(workdir).for_server(&room.git_dir().to_string_lossy());
    if !work.try_run(&["cat-file", "-e", &format!("{start}^{{commit}}")])?.success {
        let fetched = room.fetch(start, false).with_context(|| format!("could not fetch the commit `{start}`"))?;
        let room_dir = room.git_dir();
        work.run(&["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", &room_dir.to_string_lossy(), &fetched])
            .context("could not hand the fetched commit to the work tree")?;
    }
    Ok(work)
}

/// The line that starts our block in an `info/exclude` file.
const EXCLUDE_MARK: &str = "# sisyphus-action: agent state, never published";

/// Appends `guard::AGENT_STATE_EXCLUDES` to the `info/exclude` file at `path`, once: a re-run in
/// the same work tree finds the block and leaves the file as it is.
fn exclude_agent_state(path: &Path) -> Result<()> {
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
    room.stage(input.workdir, &base)?;

    let known = secrets::Known::new(&config.secrets());
    // Agent tooling's state, and agent configuration its tooling deleted (oh-my-opencode moves a
    // committed `.opencode/oh-my-opencode.json` away at startup), go back to the base silently:
    // they are not the model's work, and a run with nothing else has no changes.
    let (tooling, staged): (Vec<_>, Vec<_>) = room
        .staged(&base)?
        .into_iter()
        .partition(|c| guard::agent_state(&c.path) || (c.deleted() && guard::restore_deletion(&c.path)));
    if !tooling.is_empty() {
        room.unstage(&tooling.iter().collect::<Vec<_>>()).context("could not restore the agent tooling's files")?;
        let paths: Vec<&str> = tooling.iter().map(|c| c.path.as_str()).collect();
        tracing::info!("left out agent state and restored agent configuration: {}", paths.join(", "));
    }
    let mut withheld = Vec::new();
    for change in &staged {
        match change_reason(&room, change, config, &known)? {
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
        return Ok(out);
    }

    // The PR title too: redacted like the body (the commit message is redacted whole below).
    let title = message::redact(&message::subject(input.request, &input.thread.title), &config.secrets());
    let login = &input.trigger.author.login;
    let co_author = (config.publish.co_author
        && !input.trigger.author.is_bot
        && !login.is_empty()
        && *login != config.publish.git_user_name)
        .then_some(login.as_str());
    let thread_ref = input.thread.number.map(|n| format!("{}#{n}", input.thread.repo));
    let message = message::commit_message(&title, input.outcome, thread_ref.as_deref(), co_author);
    let who = git::Identity { name: &config.publish.git_user_name, email: &config.publish.git_user_email };
    let tree = room.git.run(&["write-tree"])?;
    let secrets = config.secrets();
    let sha = room.git.commit_tree(&tree, &base, &message::redact(&message, &secrets), &who)?;
    recheck(&room, &base, &sha, &out, config, &known)?;

    let refspec = format!("{sha}:refs/heads/{}", target.branch);
    let push = room.git.try_remote(&["push", "--porcelain", "--no-verify", "--no-follow-tags", &room.url, &refspec])?;
    if !push.success {
        let refusal = push_refusal(&push.stderr, &push.stdout, &target.branch)
            .with_context(|| format!("`git push` to `{}` failed: {}", target.branch, push.stderr.trim()))?;
        out.notes.push(format!("The commit {} was not pushed: {refusal}.", &sha[..sha.len().min(12)]));
        return Ok(out);
    }
    confirm_push(&push.stdout, &sha, &target.branch)?;
    out.branch = Some(target.branch.clone());
    out.commit_sha = Some(sha.clone());

    match plan {
        Plan::NewBranch { branch, base: base_branch } => {
            // A re-run adds to the branch: the PR lists everything the branch changes.
            let branch_files = input
                .prepared
                .base
                .as_deref()
                .filter(|b| *b != base)
                .and_then(|b| room.fetch(b, true).and_then(|b| room.committed(&b, &sha)).ok())
                .map(|changes| changes.into_iter().map(|c| c.path).collect::<Vec<_>>())
                .filter(|files| !files.is_empty())
                .unwrap_or_else(|| out.files.clone());
            open_pull_request(client, input, (branch, base_branch), &branch_files, &title, &mut out).await;
        }
        Plan::PullHead { .. } | Plan::ForkHead { .. } => {
            if let Some(n) = input.thread.number {
                out.pr_number = Some(n);
                let server = config.github.server_url.trim_end_matches('/');
                out.pr_url = Some(format!("{server}/{}/pull/{n}", input.thread.repo));
            }
        }
        Plan::ReadOnly { .. } => {}
    }
    Ok(out)
}

/// Why one staged change must not be committed: its path, a workflow the token cannot push,
/// an embedded repository, or what its exact new content adds.
fn change_reason(
    room: &room::Room,
    change: &room::Change,
    config: &Config,
    known: &secrets::Known,
) -> Result<Option<String>> {
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
fn recheck(
    room: &room::Room,
    base: &str,
    sha: &str,
    out: &Published,
    config: &Config,
    known: &secrets::Known,
) -> Result<()> {
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

/// `git push --porcelain` prints one line per ref; exactly ours must have moved, to our commit,
/// as a fast-forward or a new branch.
fn confirm_push(stdout: &str, sha: &str, branch: &str) -> Result<()> {
    let want = format!("{sha}:refs/heads/{branch}");
    let refs: Vec<&str> = stdout.lines().filter(|l| l.contains('\t')).collect();
    let ok = match refs.as_slice() {
        [line] => {
            let mut fields = line.split('\t');
            let flag = fields.next().unwrap_or_default();
            matches!(flag, " " | "*" | "=") && fields.next() == Some(want.as_str())
        }
        _ => false,
    };
    if !ok {
        bail!("`git push` did not report exactly `{want}` as pushed: {}", stdout.trim());
    }
    Ok(())
}

/// Why the server refused a push, in plain words; `None` for failures that are errors.
fn push_refusal(stderr: &str, stdout: &str, branch: &str) -> Option<String> {
    let all = format!("{stderr}\n{stdout}").to_ascii_lowercase();
    if all.contains("protected branch") || all.contains("gh006") || all.contains("gh013") {
        return Some(format!("GitHub refused the push because `{branch}` is a protected branch"));
    }
    if all.contains("workflow") && (all.contains("permission") || all.contains("scope")) {
        return Some("GitHub refused the push because the token may not change `.github/workflows/`".into());
    }
    if all.contains("non-fast-forward") || all.contains("fetch first") || all.contains("[rejected]") {
        return Some(format!("`{branch}` moved on the remote meanwhile, and the action never force-pushes"));
    }
    if all.contains("pre-receive hook declined") || all.contains("[remote rejected]") {
        return Some(format!("the remote refused the push to `{branch}`"));
    }
    None
}

async fn open_pull_request(
    client: Option<&Client>,
    input: &PublishInput<'_>,
    (branch, base): (&str, &str),
    files: &[String],
    title: &str,
    out: &mut Published,
) {
    let config = input.config;
    let server_url = &config.github.server_url;
    if !config.publish.allow_pr {
        out.notes.push(format!("No pull request was opened: the `allow-pr` input is off (branch `{branch}`)."));
        out.compare_url = Some(pr::compare_url(server_url, &input.thread.repo, base, branch));
        return;
    }
    let closes = input.thread.number.filter(|_| !input.thread.is_pull_request);
    let facts = message::PrFacts {
        outcome: input.outcome,
        files,
        withheld: &out.withheld,
        closes,
        run_url: config.github.run_url(),
    };
    let body = message::redact(&message::pr_body(&facts), &config.secrets());
    let request = pr::Request {
        repo: &input.thread.repo,
        server_url,
        branch,
        base,
        title,
        body: &body,
        draft: config.publish.draft_pr,
    };
    pr::open_or_update(client, &request, out).await;
}

#[cfg(test)]
mod tests {
    use super::confirm_push;

    #[test]
    fn a_push_counts_only_when_exactly_our_ref_moved_to_our_commit() {
        let sha = "a".repeat(40);
        let ours = format!("{sha}:refs/heads/b");
        let report = |lines: &[String]| format!("To /srv/o/r.git\n{}\nDone\n", lines.join("\n"));
        assert!(confirm_push(&report(&[format!("*\t{ours}\t[new branch]")]), &sha, "b").is_ok());
        assert!(confirm_push(&report(&[format!(" \t{ours}\t1111111..{}", &sha[..7])]), &sha, "b").is_ok());
        // Forced, another ref as well, another commit, or nothing at all: not ours.
        assert!(confirm_push(&report(&[format!("+\t{ours}\t(forced update)")]), &sha, "b").is_err());
        let tag = "*\trefs/tags/v1:refs/tags/v1\t[new tag]".to_owned();
        assert!(confirm_push(&report(&[format!("*\t{ours}\t[new branch]"), tag]), &sha, "b").is_err());
        let other = format!("{}:refs/heads/b", "b".repeat(40));
        assert!(confirm_push(&report(&[format!("*\t{other}\t[new branch]")]), &sha, "b").is_err());
        assert!(confirm_push("Everything up-to-date\n", &sha, "b").is_err());
    }
}
