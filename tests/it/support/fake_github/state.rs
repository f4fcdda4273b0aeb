//! What the fake GitHub holds: the seeded and created resources, the request log, the faults to
//! inject and the settings tests flip.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use super::Fault;
use super::git::GitRequest;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub body: Value,
    pub headers: BTreeMap<String, String>,
    pub at: Instant,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub user: String,
    pub is_pr: bool,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub repo: String,
    pub number: u64,
    pub body: String,
    pub user: String,
    /// A pull request review comment (on the diff) rather than a conversation comment.
    pub review: bool,
    pub in_reply_to: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    IssueComment(u64),
    ReviewComment(u64),
    Issue(String, u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub id: u64,
    pub subject: Subject,
    pub content: String,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    pub color: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    pub repo: String,
    pub number: u64,
    /// `owner:branch`.
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub state: String,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) issues: Vec<Issue>,
    pub(super) comments: Vec<Comment>,
    pub(super) reactions: Vec<Reaction>,
    pub(super) labels: BTreeMap<String, Vec<Label>>,
    pub(super) pulls: Vec<Pull>,
    pub(super) branches: BTreeMap<(String, String), bool>,
    pub(super) default_branch: String,
    pub(super) log: Vec<Logged>,
    pub(super) violations: Vec<String>,
    pub(super) faults: Vec<Fault>,
    pub(super) graphql: Option<Value>,
    pub(super) forbid_pulls: bool,
    pub(super) login: String,
    pub(super) user_endpoint_forbidden: bool,
    pub(super) expected_token: Option<String>,
    pub(super) next_id: u64,
    /// `owner/name` → the bare repository served for it.
    pub(super) git_repos: BTreeMap<String, std::path::PathBuf>,
    pub(super) git_log: Vec<GitRequest>,
    /// `GET /repos/{o}/{r}`'s `permissions` object (a user's token shows its access there).
    pub(super) repo_permissions: Option<Value>,
    /// `x-oauth-scopes` on every REST answer (a classic token's scopes).
    pub(super) oauth_scopes: Option<String>,
    /// `can_approve_pull_request_reviews` of `GET …/actions/permissions/workflow`; `None` answers
    /// 403 (reading it needs admin rights).
    pub(super) actions_can_create_pulls: Option<bool>,
    /// Workflow runs the Actions cancel endpoint knows: run id → the process it signals.
    pub(super) runs: BTreeMap<String, WorkflowRun>,
}

/// A workflow run as the Actions cancel endpoint sees it. Cancelling one in progress sends
/// SIGINT to its process, as the runner does to the job's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    pub pid: u32,
    pub cancelled: bool,
}

impl State {
    pub(super) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}
