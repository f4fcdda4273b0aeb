//! The branch strategy: where the agent's work will go, decided from the trigger, the thread
//! and the inputs before the agent starts. Pure: no git, no network.
//!
//! It never plans a push to the default branch, and a fork PR is read-only unless the
//! `allow-fork-push` input and the PR's "allow edits from maintainers" both say otherwise.
//! Protected branches other than the default branch are only known to GitHub: a push there is
//! refused by the server and reported by `publish`, not predicted here.

use crate::config::Config;
use crate::context::Thread;
use crate::event::{PullInfo, Trigger};

/// Where the work will go, decided before the agent starts and told to it in the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A new branch from the default branch (issues, dispatch without a PR).
    NewBranch { branch: String, base: String },
    /// The head branch of a same-repository PR; `head_sha` is the head commit the context saw,
    /// which the work tree is pinned to.
    PullHead { branch: String, head_sha: Option<String> },
    /// The head branch of a fork PR (`repo` is `owner/name`), only with `allow-fork-push` and
    /// the author's "allow edits from maintainers"; pinned to `head_sha` like `PullHead`.
    ForkHead { repo: String, branch: String, head_sha: Option<String> },
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
            Plan::PullHead { branch, .. } => format!(
                "Your changes will be committed to the pull request's branch `{branch}` and pushed by the action. Do not commit, push or open pull requests yourself."
            ),
            Plan::ForkHead { repo, branch, .. } => format!(
                "Your changes will be committed to the pull request's branch `{branch}` in the fork `{repo}` and pushed by the action. Do not commit, push or open pull requests yourself."
            ),
            Plan::ReadOnly { reason } => {
                format!("Nothing you change will be pushed: {reason}. Answer with your findings.")
            }
        }
    }
}

/// Where a plan pushes: the repository on the server and the branch there.
pub struct PushTarget {
    /// `owner/name` on the configured server: ours, or the fork's.
    pub repo: String,
    /// The branch on the remote.
    pub branch: String,
    /// The local branch the work tree is put on.
    pub local: String,
    /// For a new branch: the base branch.
    pub base: Option<String>,
    /// For a PR head: the commit the context saw.
    pub pin: Option<String>,
}

impl PushTarget {
    /// `None` for a read-only plan.
    pub fn of(plan: &Plan, config: &Config) -> Option<Self> {
        let ours = config.github.repository.clone();
        match plan {
            Plan::ReadOnly { .. } => None,
            Plan::NewBranch { branch, base } => Some(Self {
                repo: ours,
                branch: branch.clone(),
                local: branch.clone(),
                base: Some(base.clone()),
                pin: None,
            }),
            Plan::PullHead { branch, head_sha } => Some(Self {
                repo: ours,
                branch: branch.clone(),
                local: branch.clone(),
                base: None,
                pin: head_sha.clone(),
            }),
            // A fork's branch may share a name with ours (its `main`, say): it gets its own
            // local name so our default branch is never moved.
            Plan::ForkHead { repo, branch, head_sha } => Some(Self {
                repo: repo.clone(),
                branch: branch.clone(),
                local: format!("sisyphus-fork/{repo}/{branch}"),
                base: None,
                pin: head_sha.clone(),
            }),
        }
    }
}

/// Longest slug in a new branch name, so names stay readable in the GitHub UI.
const SLUG_MAX: usize = 30;

pub fn plan(trigger: &Trigger, thread: &Thread, config: &Config) -> Plan {
    if !config.publish.allow_push {
        return read_only("the `allow-push` input is off");
    }
    // The thread already holds what the payload says of the pull request (`context`).
    if thread.is_pull_request {
        return match thread.pull.as_ref().map(|p| &p.info) {
            Some(pull) => pull_plan(pull, thread, config),
            None => read_only("the pull request's head branch is not known (it could not be looked up)"),
        };
    }
    let base = thread.default_branch.clone();
    let branch = format!("{}{}", config.publish.branch_prefix, branch_leaf(trigger, thread, config));
    if branch == base {
        return read_only(&format!("the planned branch `{branch}` is the default branch"));
    }
    Plan::NewBranch { branch, base }
}

fn read_only(reason: &str) -> Plan {
    Plan::ReadOnly { reason: reason.to_owned() }
}

fn pull_plan(pull: &PullInfo, thread: &Thread, config: &Config) -> Plan {
    let branch = pull.head_ref.trim();
    if branch.is_empty() {
        return read_only("the pull request's head branch is not known");
    }
    let Some(head_repo) = pull.head_repo.as_deref() else {
        return read_only("the pull request's head repository no longer exists");
    };
    let same_repo = !pull.is_fork && head_repo.eq_ignore_ascii_case(&thread.repo);
    if same_repo {
        if branch == thread.default_branch {
            return read_only(&format!(
                "the pull request's head branch `{branch}` is the default branch, which is never pushed to"
            ));
        }
        return Plan::PullHead { branch: branch.to_owned(), head_sha: head_sha(pull) };
    }
    if !config.publish.allow_fork_push {
        return read_only(&format!(
            "the pull request comes from the fork `{head_repo}`, and pushing to forks is off (`allow-fork-push`)"
        ));
    }
    if !pull.maintainer_can_modify {
        return read_only(&format!(
            "the pull request comes from the fork `{head_repo}`, whose author does not allow edits from maintainers"
        ));
    }
    Plan::ForkHead { repo: head_repo.to_owned(), branch: branch.to_owned(), head_sha: head_sha(pull) }
}

/// The head commit the context saw, when it is known.
fn head_sha(pull: &PullInfo) -> Option<String> {
    Some(pull.head_sha.trim()).filter(|sha| !sha.is_empty()).map(str::to_owned)
}

/// `<kind>-<number>-<slug>`, or `task-<run id or time>-<slug>` for a dispatch without a number.
fn branch_leaf(trigger: &Trigger, thread: &Thread, config: &Config) -> String {
    let number = thread.number.or(trigger.number);
    let title = if thread.title.trim().is_empty() { trigger.text() } else { thread.title.as_str() };
    let slug = slug(title);
    match number {
        Some(n) => format!("issue-{n}-{slug}"),
        None => {
            let id =
                config.github.run_id.clone().unwrap_or_else(|| chrono::Utc::now().format("%Y%m%d%H%M%S").to_string());
            format!("task-{id}-{slug}")
        }
    }
}

/// Lowercase ASCII words joined by `-`, at most `SLUG_MAX` characters, cut at a word boundary.
pub fn slug(text: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            current.push(c.to_ascii_lowercase());
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut out = String::new();
    for word in words {
        let extra = if out.is_empty() { word.len() } else { word.len() + 1 };
        if out.len() + extra > SLUG_MAX {
            if out.is_empty() {
                out = word[..SLUG_MAX].to_owned();
            }
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word);
    }
    if out.is_empty() { "work".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slug_is_lowercase_ascii_and_short() {
        assert_eq!(slug("Fix the flaky test in `ci.yml`!"), "fix-the-flaky-test-in-ci-yml");
        assert_eq!(slug("Ünïcode only: 日本語"), "n-code-only");
        assert_eq!(slug("   "), "work");
        assert_eq!(slug("a".repeat(50).as_str()), "a".repeat(30));
        let long = slug("make the parser accept trailing commas in arrays and objects");
        assert!(long.len() <= 30, "{long}");
        assert_eq!(long, "make-the-parser-accept");
    }
}
