//! Pull request calls: find the open PR for a branch, open one, update one.
//!
//! Request paths and bodies are built by small pure functions so they can be checked without a
//! server. Deciding *whether* to open or update (and the fallback when GitHub refuses) is
//! `publish::pr`'s job, not this module's. Nothing here merges.

use http::Method;
use serde_json::{Value, json};

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

/// `GET /repos/{repo}/pulls?head=owner:branch&state=open`.
pub fn list_open_path(repo: &str, head_owner: &str, branch: &str) -> String {
    format!("/repos/{repo}/pulls?head={}&state=open&per_page=10", query_escape(&format!("{head_owner}:{branch}")))
}

pub fn create_body(pull: &NewPull<'_>) -> Value {
    json!({
        "title": pull.title,
        "body": pull.body,
        "head": pull.head,
        "base": pull.base,
        "draft": pull.draft,
        "maintainer_can_modify": true,
    })
}

pub fn update_body(title: &str, body: &str) -> Value {
    json!({ "title": title, "body": body })
}

/// Reads `number` and `html_url` from a pull request object.
pub fn parse_pull(value: &Value) -> Result<Pull, GithubError> {
    let number = value.get("number").and_then(Value::as_u64);
    let html_url = value.get("html_url").and_then(Value::as_str);
    match (number, html_url) {
        (Some(number), Some(url)) => Ok(Pull { number, html_url: url.to_owned() }),
        _ => Err(GithubError::Transport("pull request response lacks `number` or `html_url`".into())),
    }
}

/// The open pull request whose head is `head_owner:branch`, if any.
pub async fn find_open(
    client: &Client,
    repo: &str,
    head_owner: &str,
    branch: &str,
) -> Result<Option<Pull>, GithubError> {
    let list = client.rest(Method::GET, &list_open_path(repo, head_owner, branch), None).await?;
    let Some(items) = list.as_array() else {
        return Err(GithubError::Transport("pull request list is not an array".into()));
    };
    items.first().map(parse_pull).transpose()
}

/// `POST /repos/{repo}/pulls`.
pub async fn create(client: &Client, repo: &str, pull: &NewPull<'_>) -> Result<Pull, GithubError> {
    let value = client.rest(Method::POST, &format!("/repos/{repo}/pulls"), Some(&create_body(pull))).await?;
    parse_pull(&value)
}

/// `PATCH /repos/{repo}/pulls/{number}`: new title and body.
pub async fn update(client: &Client, repo: &str, number: u64, title: &str, body: &str) -> Result<Pull, GithubError> {
    let path = format!("/repos/{repo}/pulls/{number}");
    let value = client.rest(Method::PATCH, &path, Some(&update_body(title, body))).await?;
    parse_pull(&value)
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
        assert_eq!(
            list_open_path("o/r", "o", "sisyphus/issue-5-fix"),
            "/repos/o/r/pulls?head=o:sisyphus/issue-5-fix&state=open&per_page=10"
        );
        assert_eq!(list_open_path("o/r", "o", "a+b&c"), "/repos/o/r/pulls?head=o:a%2Bb%26c&state=open&per_page=10");
    }

    #[test]
    fn responses_are_read_or_refused_clearly() {
        let pull = parse_pull(&json!({"number": 7, "html_url": "https://github.com/o/r/pull/7"})).unwrap();
        assert_eq!(pull, Pull { number: 7, html_url: "https://github.com/o/r/pull/7".into() });
        assert!(parse_pull(&json!({"message": "x"})).is_err());
        let refused =
            GithubError::Forbidden("GitHub Actions is not permitted to create or approve pull requests.".into());
        assert!(is_actions_not_permitted(&refused));
        assert!(!is_actions_not_permitted(&GithubError::Forbidden("Resource not accessible by integration".into())));
    }
}
