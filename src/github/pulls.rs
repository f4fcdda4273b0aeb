//! Pull request calls: find the open PR for a branch, open one, update one.
//!
//! Request paths and bodies are built by small pure functions so they can be checked without a
//! server. Deciding *whether* to open or update (and the fallback when GitHub refuses) is
//! `publish::pr`'s job, not this module's. Nothing here merges.

use http::Method;
use serde_json::{Value, json};

use super::types::Repo;
use super::{Client, GithubError};

/// The parts of a pull request the action reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    pub number: u64,
    pub html_url: String,
}

/// What a new pull request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPull<'a> {
    pub title: &'a str,
    pub body: &'a str,
    /// Branch name in the same repository.
    pub head: &'a str,
    pub base: &'a str,
    pub draft: bool,
}

impl Client {
    /// The open pull request whose head is the branch `branch` of `repo` itself, if any.
    pub async fn find_open_pull(&self, repo: &Repo, branch: &str) -> Result<Option<Pull>, GithubError> {
        let path = list_open_path(repo, branch);
        let list = self.rest(Method::GET, &path, None).await?;
        let Some(items) = list.as_array() else {
            return Err(GithubError::Malformed(format!("GET /repos/{repo}/pulls: the answer is not a list")));
        };
        items.first().map(parse_pull).transpose()
    }

    /// `POST /repos/{repo}/pulls`.
    pub async fn create_pull(&self, repo: &Repo, pull: &NewPull<'_>) -> Result<Pull, GithubError> {
        let value = self.rest(Method::POST, &format!("/repos/{repo}/pulls"), Some(&create_body(pull))).await?;
        parse_pull(&value)
    }

    /// `PATCH /repos/{repo}/pulls/{number}`: new title and body.
    pub async fn update_pull(&self, repo: &Repo, number: u64, title: &str, body: &str) -> Result<Pull, GithubError> {
        let path = format!("/repos/{repo}/pulls/{number}");
        let value = self.rest(Method::PATCH, &path, Some(&json!({ "title": title, "body": body }))).await?;
        parse_pull(&value)
    }
}

/// `GET /repos/{repo}/pulls?head=owner:branch&state=open`: the head is named with its owner,
/// and a new pull request's head is always in `repo` itself.
fn list_open_path(repo: &Repo, branch: &str) -> String {
    let head = format!("{}:{branch}", repo.owner);
    format!("/repos/{repo}/pulls?head={}&state=open&per_page=10", query_escape(&head))
}

fn create_body(pull: &NewPull<'_>) -> Value {
    json!({
        "title": pull.title,
        "body": pull.body,
        "head": pull.head,
        "base": pull.base,
        "draft": pull.draft,
        "maintainer_can_modify": true,
    })
}

/// Reads `number` and `html_url` from a pull request object.
fn parse_pull(value: &Value) -> Result<Pull, GithubError> {
    let number = value.get("number").and_then(Value::as_u64);
    let html_url = value.get("html_url").and_then(Value::as_str);
    match (number, html_url) {
        (Some(number), Some(url)) => Ok(Pull { number, html_url: url.to_owned() }),
        _ => Err(GithubError::Malformed("the pull request in the answer lacks `number` or `html_url`".into())),
    }
}

/// True when GitHub refused because Actions may not open PRs in this repository (a setting:
/// "Allow GitHub Actions to create and approve pull requests").
pub fn is_actions_not_permitted(err: &GithubError) -> bool {
    let message = match err {
        GithubError::Forbidden(m) | GithubError::Unprocessable(m) | GithubError::Http { message: m, .. } => m,
        _ => return false,
    };
    message.to_ascii_lowercase().contains("not permitted to create or approve pull requests")
}

/// Percent-encodes a query value, keeping the characters a `head=owner:branch` needs readable.
fn query_escape(value: &str) -> String {
    const QUERY: &percent_encoding::AsciiSet = &super::UNRESERVED_ONLY.remove(b':').remove(b'/');
    percent_encoding::utf8_percent_encode(value, QUERY).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_path_escapes_the_branch() {
        let repo: Repo = "o/r".parse().unwrap();
        assert_eq!(
            list_open_path(&repo, "sisyphus/issue-5-fix"),
            "/repos/o/r/pulls?head=o:sisyphus/issue-5-fix&state=open&per_page=10"
        );
        assert_eq!(list_open_path(&repo, "a+b&c"), "/repos/o/r/pulls?head=o:a%2Bb%26c&state=open&per_page=10");
    }

    #[test]
    fn responses_are_read_or_refused_clearly() {
        let pull = parse_pull(&json!({"number": 7, "html_url": "https://github.com/o/r/pull/7"})).unwrap();
        assert_eq!(pull, Pull { number: 7, html_url: "https://github.com/o/r/pull/7".into() });
        assert!(matches!(parse_pull(&json!({"message": "x"})), Err(GithubError::Malformed(_))));
        let refused =
            GithubError::Forbidden("GitHub Actions is not permitted to create or approve pull requests.".into());
        assert!(is_actions_not_permitted(&refused));
        assert!(!is_actions_not_permitted(&GithubError::Forbidden("Resource not accessible by integration".into())));
    }
}
