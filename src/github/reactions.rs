//! Reactions on the triggering comment or issue: the 👀 acknowledgement and the 👍/😕 verdict.
//!
//! GitHub answers 201 for a new reaction and 200 for one the same user already left, so adding
//! is idempotent; we remember the id to remove it later. "Ours" is told apart from humans' by
//! the login GitHub reports on the reaction we created, because `GET /user` is forbidden for
//! the workflow's `GITHUB_TOKEN`.

use http::Method;
use serde_json::{Value, json};

use super::types::Repo;
use super::{Client, GithubError};

/// What a reaction is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A comment on an issue or on a pull request's conversation.
    IssueComment(u64),
    /// A comment on a pull request's diff.
    ReviewComment(u64),
    /// The issue or pull request itself.
    Issue(u64),
}

impl Target {
    fn path(self, repo: &Repo) -> String {
        let base = format!("/repos/{}/{}", repo.owner, repo.name);
        match self {
            Self::IssueComment(id) => format!("{base}/issues/comments/{id}/reactions"),
            Self::ReviewComment(id) => format!("{base}/pulls/comments/{id}/reactions"),
            Self::Issue(number) => format!("{base}/issues/{number}/reactions"),
        }
    }
}

/// The reactions we use (GitHub's `content` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Eyes,
    ThumbsUp,
    Confused,
}

impl Content {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eyes => "eyes",
            Self::ThumbsUp => "+1",
            Self::Confused => "confused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub id: u64,
    pub content: String,
    pub user: String,
    /// False when GitHub answered 200: the same user had already reacted so.
    pub created: bool,
}

fn parse(value: &Value, created: bool) -> Option<Reaction> {
    Some(Reaction {
        id: value.get("id")?.as_u64()?,
        content: value.get("content")?.as_str()?.to_owned(),
        user: value.pointer("/user/login").and_then(Value::as_str).unwrap_or_default().to_owned(),
        created,
    })
}

fn malformed(what: &str) -> GithubError {
    GithubError::Malformed(format!("{what}: the reaction in the response has no id"))
}

impl Client {
    /// Adds `content` to `target`; returns the reaction (new or already there).
    pub async fn add_reaction(&self, repo: &Repo, target: Target, content: Content) -> Result<Reaction, GithubError> {
        let path = target.path(repo);
        let (status, body) =
            self.rest_status(Method::POST, &path, Some(&json!({ "content": content.as_str() }))).await?;
        parse(&body, status == 201).ok_or_else(|| malformed(&path))
    }

    /// Removes one reaction; one that is already gone is fine.
    pub async fn delete_reaction(&self, repo: &Repo, target: Target, id: u64) -> Result<(), GithubError> {
        match self.rest(Method::DELETE, &format!("{}/{id}", target.path(repo)), None).await {
            Ok(_) | Err(GithubError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The reactions of `content` on `target` (first 300).
    pub async fn list_reactions(
        &self,
        repo: &Repo,
        target: Target,
        content: Content,
    ) -> Result<Vec<Reaction>, GithubError> {
        let items = self.rest_list(&format!("{}?content={}", target.path(repo), content.as_str()), 3).await?;
        Ok(items.iter().filter_map(|v| parse(v, false)).collect())
    }

    /// Removes every `content` reaction `user` left on `target` (a verdict from an earlier run).
    pub async fn remove_reactions_by(
        &self,
        repo: &Repo,
        target: Target,
        content: Content,
        user: &str,
    ) -> Result<(), GithubError> {
        for reaction in self.list_reactions(repo, target, content).await? {
            if reaction.user.eq_ignore_ascii_case(user) {
                self.delete_reaction(repo, target, reaction.id).await?;
            }
        }
        Ok(())
    }
}
