//! The context query's answer, typed as `context.graphql` asks for it.
//!
//! As lenient as GitHub's nullable schema requires: a missing or `null` field is its default,
//! a `null` node in a list is skipped, and a deleted account (`author: null`) is `ghost`.
//! Deserialising only: what the answer means for the thread is `context`'s.

use serde::{Deserialize, Deserializer};

/// `data` of the answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Data {
    pub repository: Option<Repository>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Repository {
    pub name_with_owner: Option<String>,
    pub default_branch_ref: Option<Named>,
    pub issue_or_pull_request: Option<Item>,
}

/// Anything with a `name` (a branch ref, a label).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Named {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

/// A login; a deleted account's is GitHub's `ghost`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Author {
    #[serde(deserialize_with = "nullable_login")]
    pub login: String,
}

impl Default for Author {
    fn default() -> Self {
        Self { login: "ghost".into() }
    }
}

/// A connection's `nodes`, without the `null` ones.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Nodes<T> {
    nodes: Option<Vec<Option<T>>>,
}

impl<T> Default for Nodes<T> {
    fn default() -> Self {
        Self { nodes: None }
    }
}

impl<T> Nodes<T> {
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.nodes.iter().flatten().flatten()
    }
}

/// The issue or pull request (`issueOrPullRequest`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Item {
    #[serde(rename = "__typename", deserialize_with = "nullable")]
    pub typename: String,
    pub number: Option<u64>,
    #[serde(deserialize_with = "nullable")]
    pub title: String,
    #[serde(deserialize_with = "nullable")]
    pub body: String,
    #[serde(deserialize_with = "nullable")]
    pub author: Author,
    pub created_at: Option<String>,
    pub last_edited_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub labels: Nodes<Named>,
    #[serde(deserialize_with = "nullable")]
    pub comments: Nodes<Comment>,
    // Pull requests only.
    #[serde(deserialize_with = "nullable")]
    pub head_ref_name: String,
    #[serde(deserialize_with = "nullable")]
    pub head_ref_oid: String,
    #[serde(deserialize_with = "nullable")]
    pub base_ref_name: String,
    pub head_repository: Option<HeadRepository>,
    pub is_cross_repository: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    pub maintainer_can_modify: bool,
    #[serde(deserialize_with = "nullable")]
    pub is_draft: bool,
    #[serde(deserialize_with = "nullable")]
    pub files: Nodes<File>,
    #[serde(deserialize_with = "nullable")]
    pub reviews: Nodes<Review>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HeadRepository {
    pub name_with_owner: Option<String>,
}

/// A thread comment or a review comment (`path` and `diffHunk` are the review comment's).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Comment {
    #[serde(deserialize_with = "nullable")]
    pub author: Author,
    #[serde(deserialize_with = "nullable")]
    pub created_at: String,
    pub last_edited_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub body: String,
    #[serde(deserialize_with = "nullable")]
    pub path: String,
    #[serde(deserialize_with = "nullable")]
    pub diff_hunk: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct File {
    #[serde(deserialize_with = "nullable")]
    pub path: String,
    #[serde(deserialize_with = "nullable")]
    pub additions: u64,
    #[serde(deserialize_with = "nullable")]
    pub deletions: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Review {
    #[serde(deserialize_with = "nullable")]
    pub author: Author,
    #[serde(deserialize_with = "nullable")]
    pub state: String,
    #[serde(deserialize_with = "nullable")]
    pub submitted_at: String,
    pub last_edited_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub body: String,
    #[serde(deserialize_with = "nullable")]
    pub comments: Nodes<Comment>,
}

/// `null` as the default (GitHub sends `null` for a deleted author, an absent ref, …).
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A `null` login is `ghost` too.
fn nullable_login<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(|| Author::default().login))
}
