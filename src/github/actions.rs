//! The Actions API: cancelling a workflow run (the `stop` command). Needs `actions: write`.

use http::Method;

use super::types::Repo;
use super::{Client, GithubError};

impl Client {
    /// Asks GitHub to cancel run `run_id` of `repo`: `Ok(true)` when accepted (202; the runner
    /// then signals the job), `Ok(false)` when there is nothing to cancel (409: the run already
    /// finished; 404: no such run here).
    pub async fn cancel_run(&self, repo: &Repo, run_id: &str) -> Result<bool, GithubError> {
        let path = format!("/repos/{}/{}/actions/runs/{run_id}/cancel", repo.owner, repo.name);
        match self.rest(Method::POST, &path, None).await {
            Ok(_) => Ok(true),
            Err(GithubError::NotFound(_) | GithubError::Http { status: 409, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
