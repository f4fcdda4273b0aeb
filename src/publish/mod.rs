//! Publishing the agent's work: branch, commit, guarded push, pull request. The agent only
//! edits files; everything that leaves the machine is decided here.
//!
//! `plan` (pure) decides where the work goes before the agent starts, `prepare` puts the work
//! tree there, `publish` commits what passes the guard, pushes only the planned branch (never
//! the default branch, never with force) and opens or updates the PR. What it did not do goes
//! into `Published::notes` in plain words; the reply is the report stage's.

pub mod credentials;
mod git;
pub mod guard;
mod plan;
pub mod pr;
pub mod text;

use std::path::Path;

use anyhow::{Context as _, Result, bail};

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
    /// The head branch of a same-repository PR.
    PullHead { branch: String },
    /// The head branch of a fork PR (`repo` is `owner/name`), only with `allow-fork-push` and
    /// the author's "allow edits from maintainers".
    ForkHead { repo: String, branch: String },
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
            Plan::ForkHead { repo, branch } => format!(
                "Your changes will be committed to the pull request's branch `{branch}` in the fork `{repo}` and pushed by the action. Do not commit, push or open pull requests yourself."
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

/// Decides the branch strategy. Pure.
pub fn plan(trigger: &Trigger, thread: &Thread, config: &Config) -> Plan {
    plan::plan(trigger, thread, config)
}

/// Where a plan pushes: the remote, the branch there, and the local names for it.
struct Target {
    /// `origin`, or a fork's URL.
    remote: String,
    /// The branch on the remote.
    branch: String,
    /// The local branch the work tree is on.
    local: String,
    /// The remote-tracking ref the branch is fetched into.
    tracking: String,
    /// For a new branch: the base branch and its remote-tracking ref.
    base: Option<(String, String)>,
}

impl Target {
    fn of(plan: &Plan, config: &Config) -> Option<Self> {
        let origin = |branch: &str| format!("refs/remotes/origin/{branch}");
        match plan {
            Plan::ReadOnly { .. } => None,
            Plan::NewBranch { branch, base } => Some(Self {
                remote: "origin".into(),
                branch: branch.clone(),
                local: branch.clone(),
                tracking: origin(branch),
                base: Some((base.clone(), origin(base))),
            }),
            Plan::PullHead { branch } => Some(Self {
                remote: "origin".into(),
                branch: branch.clone(),
                local: branch.clone(),
                tracking: origin(branch),
                base: None,
            }),
            // A fork's branch may share a name with ours (its `main`, say): it gets its own
            // local name so our default branch is never moved.
            Plan::ForkHead { repo, branch } => Some(Self {
                remote: format!("{}/{repo}.git", config.github.server_url.trim_end_matches('/')),
                branch: branch.clone(),
                local: format!("sisyphus-fork/{repo}/{branch}"),
                tracking: format!("refs/remotes/sisyphus-fork/{repo}/{branch}"),
                base: None,
            }),
        }
    }

    /// Where the work starts: the branch if it already exists (a re-run, a PR), else the base.
    fn start(&self, git: &git::Git) -> Result<String> {
        if git.has_ref(&self.tracking)? {
            return Ok(self.tracking.clone());
        }
        match &self.base {
            Some((_, base)) => Ok(base.clone()),
            None => bail!("branch `{}` was not fetched from `{}`", self.branch, self.remote),
        }
    }
}

fn git_for(workdir: &Path, config: &Config) -> git::Git {
    let git = git::Git::new(workdir);
    match &config.token {
        Some(token) => git.with_token(&config.github.server_url, token),
        None => git,
    }
}

/// Puts the work tree on the planned branch before the agent starts.
pub fn prepare(plan: &Plan, workdir: &Path, config: &Config) -> Result<()> {
    let Some(target) = Target::of(plan, config) else { return Ok(()) };
    let git = git_for(workdir, config);
    if let Some((base, tracking)) = &target.base {
        git.fetch_branch(&target.remote, base, tracking)
            .with_context(|| format!("could not fetch the base branch `{base}`"))?;
    }
    // A re-run on the same issue continues the branch it pushed before, so the push stays a
    // fast-forward; a PR's head must exist.
    if target.base.is_none() || git.remote_has_branch(&target.remote, &target.branch)? {
        git.fetch_branch(&target.remote, &target.branch, &target.tracking)
            .with_context(|| format!("could not fetch the branch `{}`", target.branch))?;
    }
    let start = target.start(&git)?;
    // `checkout -B` moves whatever is uncommitted along (or refuses on a conflict), so
    // leftovers of earlier steps can only ever be committed to the planned branch.
    git.run(&["checkout", "--quiet", "-B", &target.local, &start])
        .with_context(|| format!("could not check out the branch `{}`", target.local))?;
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
    let config = input.config;
    let mut out = Published::default();
    let Some(target) = Target::of(plan, config) else {
        if let Plan::ReadOnly { reason } = plan {
            out.notes.push(format!("Nothing was pushed: {reason}."));
        }
        let pending = git::Git::new(input.workdir).try_run(&["status", "--porcelain"]);
        let pending = pending.map(|o| o.stdout.lines().count()).unwrap_or(0);
        if pending > 0 {
            out.notes.push(format!("{pending} changed file(s) in the work tree were left unpublished."));
        }
        return Ok(out);
    };
    if target.remote == "origin" && target.branch == input.thread.default_branch {
        out.notes
            .push(format!("Nothing was pushed: `{}` is the default branch, which is never pushed to.", target.branch));
        return Ok(out);
    }
    let git = git_for(input.workdir, config);
    let on = git.current_branch()?;
    if on.as_deref() != Some(target.local.as_str()) {
        bail!(
            "the work tree is on `{}`, not on the planned branch `{}`; refusing to publish",
            on.as_deref().unwrap_or("a detached HEAD"),
            target.local
        );
    }
    fold_agent_commits(&git, &target, &mut out)?;

    let secrets = config.secrets();
    git.run(&["add", "--all"])?;
    let staged = staged_changes(&git)?;
    let workflow = |p: &str| if config.publish.allow_workflow_changes { None } else { guard::workflow_reason(p) };
    for (path, deleted) in &staged {
        // A deletion leaks nothing, but a workflow deletion is still a workflow change.
        let reason = if *deleted {
            workflow(path)
        } else {
            match guard::path_reason(path).or_else(|| workflow(path)) {
                Some(reason) => Some(reason),
                None => diff_reason(&git, path, &secrets)?,
            }
        };
        match reason {
            Some(reason) => out.withheld.push((path.clone(), reason)),
            None => out.files.push(path.clone()),
        }
    }
    if !out.withheld.is_empty() {
        let mut args = vec!["reset", "--quiet", "--"];
        args.extend(out.withheld.iter().map(|(p, _)| p.as_str()));
        git.run(&args).context("could not unstage the withheld files")?;
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

    let title = text::subject(input.request, &input.thread.title);
    let login = &input.trigger.author.login;
    let co_author = (config.publish.co_author
        && !input.trigger.author.is_bot
        && !login.is_empty()
        && *login != config.publish.git_user_name)
        .then_some(login.as_str());
    let thread_ref = input.thread.number.map(|n| format!("{}#{n}", input.thread.repo));
    let message = text::commit_message(&title, input.outcome, thread_ref.as_deref(), co_author);
    let who = git::Identity { name: &config.publish.git_user_name, email: &config.publish.git_user_email };
    git.commit(&text::redact(&message, &secrets), &who)?;
    let sha = git.run(&["rev-parse", "HEAD"])?;

    let refspec = format!("HEAD:refs/heads/{}", target.branch);
    let push = git.try_remote(&["push", "--porcelain", "--no-verify", &target.remote, &refspec])?;
    if !push.success {
        let refusal = push_refusal(&push.stderr, &push.stdout, &target.branch)
            .with_context(|| format!("`git push` to `{}` failed: {}", target.branch, push.stderr.trim()))?;
        out.notes.push(format!("The commit {} was not pushed: {refusal}.", &sha[..sha.len().min(12)]));
        return Ok(out);
    }
    out.branch = Some(target.branch.clone());
    out.commit_sha = Some(sha);

    match plan {
        Plan::NewBranch { branch, base } => {
            // A re-run adds to the branch: the PR lists everything the branch changes.
            let branch_files = target
                .base
                .as_ref()
                .and_then(|(_, tracking)| changed_since(&git, tracking).ok())
                .filter(|files| !files.is_empty())
                .unwrap_or_else(|| out.files.clone());
            open_pull_request(client, input, (branch, base), &branch_files, &title, &mut out).await;
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

/// The agent was told not to commit; if it did anyway, its commits are undone into the index
/// so that everything passes the guard and lands as one commit of ours.
fn fold_agent_commits(git: &git::Git, target: &Target, out: &mut Published) -> Result<()> {
    let start = target.start(git)?;
    let head = git.run(&["rev-parse", "HEAD"])?;
    let start_sha = git.run(&["rev-parse", &format!("{start}^{{commit}}")])?;
    if head == start_sha {
        return Ok(());
    }
    if !git.try_run(&["merge-base", "--is-ancestor", &start_sha, &head])?.success {
        bail!("the branch `{}` no longer descends from `{start}`; refusing to publish rewritten history", target.local);
    }
    git.run(&["reset", "--soft", &start_sha])?;
    out.notes.push("The agent made commits of its own; they were folded into one checked commit.".into());
    Ok(())
}

/// Staged paths, and whether each is a deletion. Renames count as a deletion and an addition,
/// so the new name is guarded like any added file.
fn staged_changes(git: &git::Git) -> Result<Vec<(String, bool)>> {
    // Untrimmed: a path may end in whitespace, and `-z` output needs no trimming.
    let raw = git.try_run(&["diff", "--cached", "--name-status", "--no-renames", "-z"])?;
    if !raw.success {
        bail!("`git diff --cached` failed: {}", raw.stderr.trim());
    }
    let mut fields = raw.stdout.split('\0').filter(|f| !f.is_empty());
    let mut changes = Vec::new();
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        changes.push((path.to_owned(), status.starts_with('D')));
    }
    Ok(changes)
}

fn diff_reason(git: &git::Git, path: &str, secrets: &[String]) -> Result<Option<String>> {
    let diff = git.run(&["diff", "--cached", "--no-color", "--no-ext-diff", "--text", "--unified=0", "--", path])?;
    Ok(guard::diff_reason(&diff, secrets))
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

/// Files changed on the branch since it left `base` (empty when shallow history hides that).
fn changed_since(git: &git::Git, base: &str) -> Result<Vec<String>> {
    let names = git.run(&["diff", "--name-only", "--no-renames", "-z", &format!("{base}...HEAD")])?;
    Ok(names.split('\0').filter(|n| !n.is_empty()).map(str::to_owned).collect())
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
    let facts = text::PrFacts {
        outcome: input.outcome,
        files,
        withheld: &out.withheld,
        closes,
        run_url: config.github.run_url(),
    };
    let body = text::redact(&text::pr_body(&facts), &config.secrets());
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
