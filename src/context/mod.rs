//! The thread as the prompt needs it, with untrusted text sanitised.
//!
//! One GraphQL query (`context.graphql`) fetches the issue or pull request; parsing its answer
//! is a pure function so it can be tested without a server. Everything written by people is
//! untrusted: it becomes a `Sanitized` (`sanitize`) before any later stage sees it. This module
//! does not decide anything (that is the gate) and does not render anything (that is the prompt).

use anyhow::{Context as _, Result};
use serde::Deserialize as _;
use serde_json::{Value, json};

use crate::event::{PullInfo, Trigger};
use crate::github::{Client, GithubError};
use crate::sanitize::{Sanitized, sanitize, strip_invisible};

/// The context query, validated against GitHub's schema in `tests/it/context.rs`.
pub const QUERY: &str = include_str!("context.graphql");

mod graphql;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ThreadComment {
    pub author: String,
    pub created_at: String,
    pub body: Sanitized,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewComment {
    pub author: String,
    pub created_at: String,
    pub path: String,
    pub diff_hunk: String,
    pub body: Sanitized,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Review {
    pub author: String,
    pub state: String,
    pub submitted_at: String,
    pub body: Sanitized,
    pub comments: Vec<ReviewComment>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub additions: u64,
    pub deletions: u64,
}

/// Pull-request-only facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PullContext {
    pub info: PullInfo,
    pub files: Vec<ChangedFile>,
    pub reviews: Vec<Review>,
}

/// Everything later stages know about the thread. Text fields are already sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub repo: String,
    pub number: Option<u64>,
    pub is_pull_request: bool,
    pub title: Sanitized,
    pub body: Sanitized,
    pub author: String,
    pub labels: Vec<Sanitized>,
    /// The triggering comment's (or review's, or issue's) text: the prompt's `comment`.
    pub comment: Sanitized,
    pub default_branch: String,
    pub comments: Vec<ThreadComment>,
    pub pull: Option<PullContext>,
    /// True when the thread came from the payload alone (no token, dry-run).
    pub from_payload_only: bool,
    /// The title was changed after the trigger: `title` is the one the event payload carried,
    /// as it was when the request was made.
    pub title_edited: bool,
    /// Likewise the body (`lastEditedAt` after the trigger): `body` is the payload's.
    pub body_edited: bool,
}

/// Gathers the thread: one GraphQL query when a client is given, else what the payload holds.
/// Comments created or edited after the trigger are dropped; a title or body edited after it
/// is replaced by the payload's version (the one at the trigger) and flagged; untrusted text
/// is sanitised.
pub async fn gather(client: Option<&Client>, trigger: &Trigger) -> Result<Thread> {
    let (Some(client), Some(number)) = (client, trigger.number) else {
        return Ok(from_payload(trigger));
    };
    let variables = json!({"owner": trigger.repo.owner, "name": trigger.repo.name, "number": number});
    let response = client
        .graphql(QUERY, variables)
        .await
        .with_context(|| format!("cannot fetch the context of `{}#{number}`", trigger.repo.full_name()))?;
    parse_response(&response, trigger)
}

/// The thread as far as the payload alone tells it (dry-run without a token). The one place
/// the payload's `PayloadThread` becomes a `Thread`: `parse_response` starts from it, so later
/// stages read the thread only, never the payload's copy of it too.
pub fn from_payload(trigger: &Trigger) -> Thread {
    Thread {
        repo: trigger.repo.full_name(),
        number: trigger.number,
        is_pull_request: trigger.is_pull_request(),
        title: sanitize(&trigger.thread.title),
        body: sanitize(&trigger.thread.body),
        author: trigger.thread.author.clone(),
        labels: trigger.thread.labels.iter().map(|l| sanitize(l)).collect(),
        comment: sanitize(trigger.text()),
        default_branch: trigger.thread.default_branch.clone().unwrap_or_else(|| "main".into()),
        comments: Vec::new(),
        pull: trigger.thread.pull.clone().map(|info| PullContext { info, ..PullContext::default() }),
        from_payload_only: true,
        title_edited: false,
        body_edited: false,
    }
}

/// The GraphQL answer (`{"data": …}` or the bare `data`) → `Thread`, on top of what the payload
/// says (`from_payload`): the answer's facts win, the payload's fill what it lacks. Pure.
pub fn parse_response(response: &Value, trigger: &Trigger) -> Result<Thread> {
    let data = response.get("data").unwrap_or(response);
    let data = graphql::Data::deserialize(data)
        .map_err(|e| GithubError::Malformed(format!("the context query's answer has an unexpected shape: {e}")))?;
    let payload = from_payload(trigger);
    let repo = data.repository.context("the context query found no repository")?;
    let item = repo.issue_or_pull_request.as_ref().with_context(|| {
        format!("the context query found no issue or pull request #{}", trigger.number.unwrap_or(0))
    })?;
    let cutoff = trigger.created_at.as_deref();
    let answered_pull = item.typename == "PullRequest";
    let comments = item
        .comments
        .iter()
        .filter(|c| written_before(&[Some(&c.created_at), c.last_edited_at.as_ref()], cutoff))
        .map(|c| ThreadComment {
            author: c.author.login.clone(),
            created_at: c.created_at.clone(),
            body: sanitize(&c.body),
        })
        .collect();
    let pull = answered_pull.then(|| PullContext {
        info: PullInfo {
            head_ref: item.head_ref_name.clone(),
            head_sha: item.head_ref_oid.clone(),
            base_ref: item.base_ref_name.clone(),
            head_repo: item.head_repository.as_ref().and_then(|r| r.name_with_owner.clone()),
            // A deleted head repository counts as a fork: there is nowhere safe to push.
            is_fork: item.is_cross_repository.unwrap_or(true) || item.head_repository.is_none(),
            maintainer_can_modify: item.maintainer_can_modify,
            draft: item.is_draft,
        },
        files: item
            .files
            .iter()
            .map(|f| ChangedFile { path: strip_invisible(&f.path), additions: f.additions, deletions: f.deletions })
            .collect(),
        reviews: item
            .reviews
            .iter()
            .filter(|r| written_before(&[Some(&r.submitted_at), r.last_edited_at.as_ref()], cutoff))
            .map(|r| Review {
                author: r.author.login.clone(),
                state: r.state.clone(),
                submitted_at: r.submitted_at.clone(),
                body: sanitize(&r.body),
                comments: r
                    .comments
                    .iter()
                    .filter(|c| written_before(&[Some(&c.created_at), c.last_edited_at.as_ref()], cutoff))
                    .map(|c| ReviewComment {
                        author: c.author.login.clone(),
                        created_at: c.created_at.clone(),
                        path: strip_invisible(&c.path),
                        // Code: HTML comments and markup in a diff are content, not hiding places.
                        diff_hunk: strip_invisible(&c.diff_hunk),
                        body: sanitize(&c.body),
                    })
                    .collect(),
            })
            .collect(),
    });
    let (title, body, title_edited, body_edited) = as_at_trigger(item, trigger, &payload);
    Ok(Thread {
        repo: repo.name_with_owner.unwrap_or(payload.repo),
        number: item.number.or(payload.number),
        // Either saying so makes it a pull request: a fork's head must never pass for an issue.
        is_pull_request: answered_pull || payload.is_pull_request,
        title,
        body,
        author: item.author.login.clone(),
        labels: item.labels.iter().map(|l| sanitize(&l.name)).collect(),
        comment: payload.comment,
        default_branch: repo.default_branch_ref.map_or(payload.default_branch, |r| r.name),
        comments,
        pull: pull.or(payload.pull),
        from_payload_only: false,
        title_edited,
        body_edited,
    })
}

/// The title and body as they were at the trigger, sanitised, and whether each was edited
/// since. Anyone who may edit the thread could have planted words after the request was made;
/// the event payload holds the version the request was made against. Without a trigger time
/// (a dispatch, a local run) there is no payload version, and nothing counts as later.
fn as_at_trigger(item: &graphql::Item, trigger: &Trigger, payload: &Thread) -> (Sanitized, Sanitized, bool, bool) {
    let (title, body) = (sanitize(&item.title), sanitize(&item.body));
    if trigger.created_at.is_none() {
        return (title, body, false, false);
    }
    // GitHub keeps no edit time for a title, but the payload carries the title at the trigger.
    let title_edited = !payload.title.is_empty() && payload.title != title;
    let body_edited = !written_before(&[item.created_at.as_ref(), item.last_edited_at.as_ref()], cutoff(trigger));
    (
        if title_edited { payload.title.clone() } else { title },
        if body_edited { payload.body.clone() } else { body },
        title_edited,
        body_edited,
    )
}

fn cutoff(trigger: &Trigger) -> Option<&str> {
    trigger.created_at.as_deref()
}

/// Text written (or last edited, the second time) after the trigger was not there when the
/// person asked, and may have been planted since: it is not context.
fn written_before(times: &[Option<&String>], cutoff: Option<&str>) -> bool {
    let Some(cutoff) = cutoff else { return true };
    times.iter().flatten().all(|t| !is_after(t, cutoff))
}

fn is_after(time: &str, cutoff: &str) -> bool {
    use chrono::DateTime;
    match (DateTime::parse_from_rfc3339(time), DateTime::parse_from_rfc3339(cutoff)) {
        (Ok(t), Ok(c)) => t > c,
        // Unparseable: GitHub's fixed ISO format still orders as text.
        _ => time > cutoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_and_edited_comments_are_dropped() {
        let c = |created: &str, edited: Option<&str>| [Some(created.to_owned()), edited.map(str::to_owned)];
        let before =
            |times: [Option<String>; 2], cutoff| written_before(&[times[0].as_ref(), times[1].as_ref()], cutoff);
        let cutoff = Some("2024-01-01T10:00:00Z");
        assert!(before(c("2024-01-01T09:00:00Z", None), cutoff));
        assert!(before(c("2024-01-01T10:00:00Z", None), cutoff), "the trigger itself stays");
        assert!(!before(c("2024-01-01T10:00:01Z", None), cutoff));
        assert!(!before(c("2024-01-01T09:00:00Z", Some("2024-01-01T11:00:00Z")), cutoff));
        assert!(before(c("2024-01-01T11:00:00+02:00", None), cutoff), "offsets compare as times");
    }

    /// The thread is all later stages read: what the answer lacks of a pull request, the
    /// payload's facts fill (here an answer that takes the pull request for an issue).
    #[test]
    fn the_payloads_pull_request_fills_what_the_answer_lacks() {
        let payload = include_str!("../../tests/fixtures/events/pull_request_review_comment.created.mention.json");
        let trigger = crate::event::parse("pull_request_review_comment", payload).unwrap();
        let from_payload = trigger.thread.pull.clone().unwrap();
        let answer = json!({"data": {"repository": {"nameWithOwner": "o/r", "defaultBranchRef": null,
            "issueOrPullRequest": {"__typename": "Issue", "number": 1, "title": "T", "body": "B",
                "author": {"login": "a"}, "labels": {"nodes": []}, "comments": {"nodes": []}}}}});
        let thread = parse_response(&answer, &trigger).unwrap();
        assert!(thread.is_pull_request);
        assert_eq!(thread.pull.map(|p| p.info), Some(from_payload));
        assert_eq!(Some(thread.default_branch), trigger.thread.default_branch);
        let odd = parse_response(&json!({"data": "no object"}), &trigger).unwrap_err();
        assert!(matches!(odd.downcast_ref::<GithubError>(), Some(GithubError::Malformed(_))), "{odd:#}");
    }

    #[test]
    fn nulls_in_the_answer_are_defaults_and_a_deleted_author_is_ghost() {
        let answer = json!({"data": {"repository": {"nameWithOwner": "o/r", "defaultBranchRef": null,
            "issueOrPullRequest": {"__typename": "PullRequest", "number": 3, "title": "T", "body": null,
                "author": null, "labels": {"nodes": [null, {"name": "bug"}]},
                "comments": {"nodes": [{"author": {"login": null}, "createdAt": "2000-01-01T00:00:00Z", "body": "hi"}]},
                "headRepository": null, "isCrossRepository": false, "files": null, "reviews": {"nodes": null}}}}});
        let payload = include_str!("../../tests/fixtures/events/issue_comment.created.mention.json");
        let trigger = crate::event::parse("issue_comment", payload).unwrap();
        let thread = parse_response(&answer, &trigger).unwrap();
        assert_eq!((thread.author.as_str(), thread.body.as_str()), ("ghost", ""));
        assert_eq!(thread.labels, vec!["bug"]);
        assert_eq!(thread.comments[0].author, "ghost");
        assert_eq!(thread.default_branch, "master", "no ref: the payload's default branch");
        let pull = thread.pull.unwrap();
        assert!(pull.info.is_fork, "a deleted head repository counts as a fork");
        assert!(pull.files.is_empty() && pull.reviews.is_empty());
    }
}
