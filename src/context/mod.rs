//! The thread as the prompt needs it, with untrusted text sanitised.
//!
//! One GraphQL query (`context.graphql`) fetches the issue or pull request; parsing its answer
//! is a pure function so it can be tested without a server. Everything written by people is
//! untrusted: it becomes a `Sanitized` (`sanitize`) before any later stage sees it. This module
//! does not decide anything (that is the gate) and does not render anything (that is the prompt).

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::event::{PullInfo, Trigger};
use crate::github::Client;
use crate::sanitize::{Sanitized, sanitize, strip_invisible};

/// The context query, validated against GitHub's schema in `tests/context.rs`.
pub const QUERY: &str = include_str!("context.graphql");

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

/// The thread as far as the payload alone tells it (dry-run without a token).
pub fn from_payload(trigger: &Trigger) -> Thread {
    Thread {
        repo: trigger.repo.full_name(),
        number: trigger.number,
        is_pull_request: trigger.is_pull_request,
        title: sanitize(&trigger.title),
        body: sanitize(&trigger.thread_body),
        author: trigger.thread_author.clone(),
        labels: trigger.labels.iter().map(|l| sanitize(l)).collect(),
        comment: sanitize(&trigger.body),
        default_branch: trigger.default_branch.clone().unwrap_or_else(|| "main".into()),
        comments: Vec::new(),
        pull: trigger.pull.clone().map(|info| PullContext { info, ..PullContext::default() }),
        from_payload_only: true,
        title_edited: false,
        body_edited: false,
    }
}

/// The GraphQL answer (`{"data": …}` or the bare `data`) → `Thread`. Pure.
pub fn parse_response(response: &Value, trigger: &Trigger) -> Result<Thread> {
    let data = response.get("data").unwrap_or(response);
    let repo = data.get("repository").filter(|r| !r.is_null()).context("the context query found no repository")?;
    let item = repo.get("issueOrPullRequest").filter(|i| !i.is_null()).with_context(|| {
        format!("the context query found no issue or pull request #{}", trigger.number.unwrap_or(0))
    })?;
    let cutoff = trigger.created_at.as_deref();
    let is_pull_request = text(item, "__typename") == "PullRequest";
    let comments = nodes(item, "comments")
        .filter(|c| written_before(c, "createdAt", cutoff))
        .map(|c| ThreadComment { author: login(c), created_at: text(c, "createdAt"), body: sanitize(&text(c, "body")) })
        .collect();
    let pull = is_pull_request.then(|| PullContext {
        info: PullInfo {
            head_ref: text(item, "headRefName"),
            head_sha: text(item, "headRefOid"),
            base_ref: text(item, "baseRefName"),
            head_repo: item.pointer("/headRepository/nameWithOwner").and_then(Value::as_str).map(str::to_owned),
            // A deleted head repository counts as a fork: there is nowhere safe to push.
            is_fork: item.get("isCrossRepository").and_then(Value::as_bool).unwrap_or(true)
                || item.get("headRepository").is_none_or(Value::is_null),
            maintainer_can_modify: flag(item, "maintainerCanModify"),
            draft: flag(item, "isDraft"),
        },
        files: nodes(item, "files")
            .map(|f| ChangedFile {
                path: strip_invisible(&text(f, "path")),
                additions: f.get("additions").and_then(Value::as_u64).unwrap_or(0),
                deletions: f.get("deletions").and_then(Value::as_u64).unwrap_or(0),
            })
            .collect(),
        reviews: nodes(item, "reviews")
            .filter(|r| written_before(r, "submittedAt", cutoff))
            .map(|r| Review {
                author: login(r),
                state: text(r, "state"),
                submitted_at: text(r, "submittedAt"),
                body: sanitize(&text(r, "body")),
                comments: nodes(r, "comments")
                    .filter(|c| written_before(c, "createdAt", cutoff))
                    .map(|c| ReviewComment {
                        author: login(c),
                        created_at: text(c, "createdAt"),
                        path: strip_invisible(&text(c, "path")),
                        // Code: HTML comments and markup in a diff are content, not hiding places.
                        diff_hunk: strip_invisible(&text(c, "diffHunk")),
                        body: sanitize(&text(c, "body")),
                    })
                    .collect(),
            })
            .collect(),
    });
    let (title, body, title_edited, body_edited) = as_at_trigger(item, trigger);
    Ok(Thread {
        repo: repo.get("nameWithOwner").and_then(Value::as_str).map_or_else(|| trigger.repo.full_name(), str::to_owned),
        number: item.get("number").and_then(Value::as_u64).or(trigger.number),
        is_pull_request,
        title,
        body,
        author: login(item),
        labels: nodes(item, "labels").map(|l| sanitize(&text(l, "name"))).collect(),
        comment: sanitize(&trigger.body),
        default_branch: repo
            .pointer("/defaultBranchRef/name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| trigger.default_branch.clone())
            .unwrap_or_else(|| "main".into()),
        comments,
        pull,
        from_payload_only: false,
        title_edited,
        body_edited,
    })
}

/// The title and body as they were at the trigger, sanitised, and whether each was edited
/// since. Anyone who may edit the thread could have planted words after the request was made;
/// the event payload holds the version the request was made against. Without a trigger time
/// (a dispatch, a local run) there is no payload version, and nothing counts as later.
fn as_at_trigger(item: &Value, trigger: &Trigger) -> (Sanitized, Sanitized, bool, bool) {
    let (title, body) = (sanitize(&text(item, "title")), sanitize(&text(item, "body")));
    if trigger.created_at.is_none() {
        return (title, body, false, false);
    }
    // GitHub keeps no edit time for a title, but the payload carries the title at the trigger.
    let payload_title = sanitize(&trigger.title);
    let title_edited = !payload_title.is_empty() && payload_title != title;
    let body_edited = !written_before(item, "createdAt", trigger.created_at.as_deref());
    (
        if title_edited { payload_title } else { title },
        if body_edited { sanitize(&trigger.thread_body) } else { body },
        title_edited,
        body_edited,
    )
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A deleted account shows as `author: null`; GitHub calls it `ghost`.
fn login(v: &Value) -> String {
    v.pointer("/author/login").and_then(Value::as_str).unwrap_or("ghost").to_owned()
}

fn nodes<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(|c| c.get("nodes")).and_then(Value::as_array).into_iter().flatten().filter(|n| !n.is_null())
}

/// Text written (or last edited) after the trigger was not there when the person asked, and
/// may have been planted since: it is not context.
fn written_before(v: &Value, created_key: &str, cutoff: Option<&str>) -> bool {
    let Some(cutoff) = cutoff else { return true };
    [created_key, "lastEditedAt"].iter().filter_map(|k| v.get(*k).and_then(Value::as_str)).all(|t| !is_after(t, cutoff))
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
        let c = |created: &str, edited: Option<&str>| json!({"createdAt": created, "lastEditedAt": edited});
        let cutoff = Some("2024-01-01T10:00:00Z");
        assert!(written_before(&c("2024-01-01T09:00:00Z", None), "createdAt", cutoff));
        assert!(written_before(&c("2024-01-01T10:00:00Z", None), "createdAt", cutoff), "the trigger itself stays");
        assert!(!written_before(&c("2024-01-01T10:00:01Z", None), "createdAt", cutoff));
        assert!(!written_before(&c("2024-01-01T09:00:00Z", Some("2024-01-01T11:00:00Z")), "createdAt", cutoff));
        assert!(written_before(&c("2024-01-01T11:00:00+02:00", None), "createdAt", cutoff), "offsets compare as times");
    }
}
