//! The working label: created once per repository, added while we work, removed when done.
//! "Already exists" and "already gone" are success: finishing must be repeatable.

use http::Method;
use serde_json::json;

use super::types::Repo;
use super::{Client, GithubError, encode_segment};

pub const LABEL_COLOR: &str = "fcf2e1";
pub const LABEL_DESCRIPTION: &str = "Sisyphus is currently working on this";

impl Client {
    /// Creates the repository label `name` unless it exists.
    pub async fn ensure_label(&self, repo: &Repo, name: &str) -> Result<(), GithubError> {
        let body = json!({ "name": name, "color": LABEL_COLOR, "description": LABEL_DESCRIPTION });
        match self.rest(Method::POST, &format!("/repos/{}/{}/labels", repo.owner, repo.name), Some(&body)).await {
            Ok(_) | Err(GithubError::AlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds labels to an issue or pull request (existing ones stay).
    pub async fn add_labels(&self, repo: &Repo, number: u64, names: &[&str]) -> Result<(), GithubError> {
        let path = format!("/repos/{}/{}/issues/{number}/labels", repo.owner, repo.name);
        self.rest(Method::POST, &path, Some(&json!({ "labels": names }))).await.map(drop)
    }

    /// Removes a label from an issue or pull request; one that is not there is fine.
    pub async fn remove_label(&self, repo: &Repo, number: u64, name: &str) -> Result<(), GithubError> {
        let path = format!("/repos/{}/{}/issues/{number}/labels/{}", repo.owner, repo.name, encode_segment(name));
        match self.rest(Method::DELETE, &path, None).await {
            Ok(_) | Err(GithubError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
