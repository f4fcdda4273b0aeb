//! Opening (or updating) the pull request for a pushed branch, and the compare link when that
//! is not possible. The branch is already pushed when this runs, so nothing here can lose work:
//! every failure becomes a note and a link a human can follow. A pushed PR head needs no PR:
//! `follow_up` links the one it belongs to. Nothing here merges, and nothing here pushes.

use crate::github::pulls::{self, NewPull, Pull};
use crate::github::types::Repo;
use crate::github::{Client, GithubError};

use super::room::Room;
use super::{PublishInput, Published, message};
use crate::plan::Plan;

/// `{server}/{repo}/compare/{base}...{branch}?expand=1`: GitHub's "open a pull request" page.
pub fn compare_url(server_url: &str, repo: &Repo, base: &str, branch: &str) -> String {
    format!("{}/{repo}/compare/{base}...{branch}?expand=1", server_url.trim_end_matches('/'))
}

/// Updates the open PR for the branch `pull.head` of `repo`, or opens one; falls back to a
/// compare link on `server_url`.
async fn open_or_update(
    client: Option<&Client>,
    repo: &Repo,
    server_url: &str,
    pull: &NewPull<'_>,
    out: &mut Published,
) {
    let compare = compare_url(server_url, repo, pull.base, pull.head);
    let Some(client) = client else {
        out.notes.push("No pull request was opened: there is no GitHub token to open it with.".into());
        out.compare_url = Some(compare);
        return;
    };
    match upsert(client, repo, pull).await {
        Ok(opened) => {
            out.pr_number = Some(opened.number);
            out.pr_url = Some(opened.html_url);
        }
        Err(err) if pulls::is_actions_not_permitted(&err) => {
            out.notes.push(format!(
                "GitHub does not allow Actions to open pull requests in this repository, so the branch `{}` \
                 was pushed without one; open it with the compare link (or enable \"Allow GitHub Actions to \
                 create and approve pull requests\" in the repository settings).",
                pull.head
            ));
            out.compare_url = Some(compare);
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not open or update the pull request");
            out.notes.push(format!(
                "The pull request could not be opened or updated ({err}); the branch `{}` is pushed, \
                 open it with the compare link.",
                pull.head
            ));
            out.compare_url = Some(compare);
        }
    }
}

/// Opens the PR; when GitHub answers that one already exists for the branch (a re-run, or
/// another run that got there first), updates that one instead. Creating first spares the
/// lookup in the common case, a first run on a new branch.
async fn upsert(client: &Client, repo: &Repo, pull: &NewPull<'_>) -> Result<Pull, GithubError> {
    match client.create_pull(repo, pull).await {
        Err(GithubError::AlreadyExists(detail)) => match client.find_open_pull(repo, pull.head).await? {
            Some(existing) => client.update_pull(repo, existing.number, pull.title, pull.body).await,
            None => Err(GithubError::AlreadyExists(detail)),
        },
        other => other,
    }
}

/// After the push of `sha` (built on `base`): a new branch gets its PR opened or updated; a
/// PR's head already has its PR, which `out` links.
pub(super) async fn follow_up(
    client: Option<&Client>,
    plan: &Plan,
    input: &PublishInput<'_>,
    room: &Room,
    (base, sha): (&str, &str),
    title: &str,
    out: &mut Published,
) {
    match plan {
        Plan::NewBranch { branch, base: base_branch } => {
            // A re-run adds to the branch: the PR lists everything the branch changes.
            let branch_files = input
                .prepared
                .base
                .as_deref()
                .filter(|b| *b != base)
                .and_then(|b| room.fetch(b, true).and_then(|b| room.committed(&b, sha)).ok())
                .map(|changes| changes.into_iter().map(|c| c.path).collect::<Vec<_>>())
                .filter(|files| !files.is_empty())
                .unwrap_or_else(|| out.files.clone());
            open_pull_request(client, input, (branch, base_branch), &branch_files, title, out).await;
        }
        Plan::PullHead { .. } | Plan::ForkHead { .. } => {
            if let Some(n) = input.thread.number {
                out.pr_number = Some(n);
                let server = input.config.github.server_url.trim_end_matches('/');
                out.pr_url = Some(format!("{server}/{}/pull/{n}", input.thread.repo));
            }
        }
        Plan::ReadOnly { .. } => {}
    }
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
    // `owner/name` always: GitHub's `nameWithOwner`, or the payload's repository.
    let repo = input.thread.repo.parse::<Repo>().unwrap_or_else(|_| input.trigger.repo.clone());
    if !config.publish.allow_pr {
        out.notes.push(format!("No pull request was opened: the `allow-pr` input is off (branch `{branch}`)."));
        out.compare_url = Some(compare_url(server_url, &repo, base, branch));
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
    let pull = NewPull { title, body: &body, head: branch, base, draft: config.publish.draft_pr };
    open_or_update(client, &repo, server_url, &pull, out).await;
}

#[cfg(test)]
mod tests {
    use super::compare_url;

    #[test]
    fn compare_link_points_at_the_expanded_compare_page() {
        assert_eq!(
            compare_url("https://github.com/", &"o/r".parse().unwrap(), "main", "sisyphus/issue-5-fix"),
            "https://github.com/o/r/compare/main...sisyphus/issue-5-fix?expand=1"
        );
    }
}
