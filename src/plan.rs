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

use crate::publish::Plan;

/// Longest slug in a new branch name, so names stay readable in the GitHub UI.
const SLUG_MAX: usize = 30;

pub fn plan(trigger: &Trigger, thread: &Thread, config: &Config) -> Plan {
    if !config.publish.allow_push {
        return read_only("the `allow-push` input is off");
    }
    if trigger.is_pull_request || thread.is_pull_request {
        let pull = thread.pull.as_ref().map(|p| &p.info).or(trigger.pull.as_ref());
        return match pull {
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
    let title = if thread.title.trim().is_empty() { trigger.body.as_str() } else { thread.title.as_str() };
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
