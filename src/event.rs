//! The event payload (`GITHUB_EVENT_PATH`) → a `Trigger`.
//!
//! Parsed leniently: only the fields we use, all optional at the serde level, so an unknown
//! or missing optional field never fails. A missing *required* field (say, the comment of an
//! `issue_comment`) is a clear error naming it.

use anyhow::{Result, bail};

/// Which kind of event summoned us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `issue_comment` on an issue or a pull request.
    IssueComment,
    /// `pull_request_review_comment`: a comment on a diff line.
    ReviewComment,
    /// `pull_request_review`: a submitted review with a body.
    Review,
    /// `issues`: opened / assigned / labeled.
    Issue,
    /// `workflow_dispatch`, or a manual run from the command line.
    Dispatch,
}

/// Where the acknowledgement reaction goes and which comment a reply threads under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// `/repos/{o}/{r}/issues/comments/{id}`
    Issue,
    /// `/repos/{o}/{r}/pulls/comments/{id}`
    Review,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub kind: CommentKind,
    pub html_url: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub login: String,
    /// `type == "Bot"` or a login ending in `[bot]`.
    pub is_bot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// What the payload says about a pull request (absent for `issue_comment`, whose payload
/// only flags that the issue is a PR; the context stage fills the rest in).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PullInfo {
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    /// `owner/name` of the head repository; `None` when it was deleted.
    pub head_repo: Option<String>,
    pub is_fork: bool,
    pub maintainer_can_modify: bool,
    pub draft: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub event_name: String,
    /// The payload's `action` (`created`, `submitted`, …); empty for dispatch.
    pub action: String,
    pub kind: EventKind,
    pub repo: Repo,
    /// Issue or pull request number; `None` for a dispatch without `issue-number`.
    pub number: Option<u64>,
    pub is_pull_request: bool,
    /// Who wrote the triggering text (or started the dispatch).
    pub author: Actor,
    /// `OWNER`, `MEMBER`, `COLLABORATOR`, `CONTRIBUTOR`, `NONE`, …; empty for dispatch.
    pub author_association: String,
    /// The text that may carry the mention: comment, review or issue body, dispatch prompt.
    pub body: String,
    /// The triggering comment, when there is one.
    pub comment: Option<Comment>,
    /// The thread as the payload has it (the context stage may know more).
    pub title: String,
    pub thread_body: String,
    pub thread_author: String,
    pub labels: Vec<String>,
    /// `issues.labeled`: the label that was added.
    pub added_label: Option<String>,
    /// `issues.assigned`: who was assigned.
    pub assignee: Option<String>,
    pub pull: Option<PullInfo>,
    pub default_branch: Option<String>,
    /// When the triggering text was written (ISO 8601); later comments are not context.
    pub created_at: Option<String>,
    pub html_url: Option<String>,
}

/// What the payload (or a manual run's flags) amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    Trigger(Box<Trigger>),
    /// An event we never act on (unknown name, `edited`/`deleted` action, …), with the reason.
    Skip(String),
}

/// Reads the payload named by the config (event name and path, or a manual `--issue`/`--prompt`
/// run). A missing variable or unreadable/malformed payload is a `UsageError`.
pub fn load(config: &crate::config::Config) -> Result<Loaded> {
    let _ = config;
    bail!(crate::UsageError("event loading is not implemented yet".into()))
}

/// Parses the payload for `event_name`.
pub fn parse(event_name: &str, payload: &str) -> Result<Trigger> {
    let _ = payload;
    bail!("event `{event_name}` parsing is not implemented yet")
}
