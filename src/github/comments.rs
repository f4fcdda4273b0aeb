//! Replies on the thread: a new issue comment, a threaded reply under a review comment, or an
//! update of the reply an earlier run of the same event already posted (found by its hidden
//! key and its author), so a re-run never posts twice.
//!
//! The key alone proves nothing: anyone can paste it into a comment of their own, and a token
//! that may write issues may also edit other people's comments. So an earlier reply is ours
//! only when our own account wrote it too.

use http::Method;
use serde_json::{Value, json};

use super::types::{CommentKind, Repo};
use super::{Client, GithubError};

/// Where a posted comment lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub id: u64,
    pub html_url: String,
    /// Issue comment (`issues/comments/{id}`) or review comment (`pulls/comments/{id}`).
    pub kind: CommentKind,
}

fn posted(path: &str, body: &Value, kind: CommentKind) -> Result<Posted, GithubError> {
    let id = body
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| GithubError::Malformed(format!("{path}: the comment in the response has no id")))?;
    let html_url = body.get("html_url").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Posted { id, html_url, kind })
}

impl Client {
    /// Posts a comment on an issue or pull request conversation.
    pub async fn create_issue_comment(&self, repo: &Repo, number: u64, body: &str) -> Result<Posted, GithubError> {
        let path = format!("/repos/{}/{}/issues/{number}/comments", repo.owner, repo.name);
        let reply = self.rest(Method::POST, &path, Some(&json!({ "body": body }))).await?;
        posted(&path, &reply, CommentKind::Issue)
    }

    /// Replies in the thread of a pull request review comment.
    pub async fn reply_to_review_comment(
        &self,
        repo: &Repo,
        pull: u64,
        comment_id: u64,
        body: &str,
    ) -> Result<Posted, GithubError> {
        let path = format!("/repos/{}/{}/pulls/{pull}/comments/{comment_id}/replies", repo.owner, repo.name);
        let reply = self.rest(Method::POST, &path, Some(&json!({ "body": body }))).await?;
        posted(&path, &reply, CommentKind::Review)
    }

    /// Replaces the body of a comment we posted earlier.
    pub async fn update_comment(&self, repo: &Repo, comment: &Posted, body: &str) -> Result<Posted, GithubError> {
        let path = format!("/repos/{}/{}/{}/comments/{}", repo.owner, repo.name, comment.kind.path(), comment.id);
        let reply = self.rest(Method::PATCH, &path, Some(&json!({ "body": body }))).await?;
        posted(&path, &reply, comment.kind)
    }

    /// Our earlier comment: written by `author` (our token's login, compared as GitHub does,
    /// without case) and containing `key` (a hidden marker), on the issue conversation or, with
    /// `CommentKind::Review`, among the pull request's review comments. Reads at most 1000 comments.
    pub async fn find_comment(
        &self,
        repo: &Repo,
        number: u64,
        key: &str,
        author: &str,
        kind: CommentKind,
    ) -> Result<Option<Posted>, GithubError> {
        if author.is_empty() {
            return Ok(None);
        }
        let path = format!("/repos/{}/{}/{}/{number}/comments", repo.owner, repo.name, kind.path());
        let items = self.rest_list(&path, 10).await?;
        let ours = |c: &Value| {
            let by = c.pointer("/user/login").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case(author));
            by && c.get("body").and_then(Value::as_str).is_some_and(|b| b.contains(key))
        };
        items.iter().rev().find(|c| ours(c)).map(|c| posted(kind.path(), c, kind)).transpose()
    }
}
