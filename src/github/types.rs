//! The GitHub vocabulary several stages share: a repository's name and the two kinds of
//! comment. Plain values, no I/O; the payload parser, the client and the lifecycle all use them.

use std::fmt;
use std::str::FromStr;

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    /// `owner/name`, as GitHub's `full_name`.
    pub fn full_name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// `owner/name` with both parts non-empty. Which characters are allowed is the input check's
/// concern (`config::valid_repo`): a payload's `full_name` is GitHub's, taken as it is.
impl FromStr for Repo {
    type Err = String;

    fn from_str(full_name: &str) -> Result<Self, Self::Err> {
        match full_name.split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() => {
                Ok(Self { owner: owner.to_owned(), name: name.to_owned() })
            }
            _ => Err(format!("`{}` is not `owner/name`", full_name.escape_debug())),
        }
    }
}

/// Where the acknowledgement reaction goes and which comment a reply threads under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// `/repos/{o}/{r}/issues/comments/{id}`
    Issue,
    /// `/repos/{o}/{r}/pulls/comments/{id}`
    Review,
}

impl CommentKind {
    /// The REST path segment its comments live under: `issues` or `pulls`.
    pub fn path(self) -> &'static str {
        match self {
            CommentKind::Issue => "issues",
            CommentKind::Review => "pulls",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Repo;

    #[test]
    fn a_repo_reads_and_prints_as_owner_slash_name() {
        let repo: Repo = "octo/hello-world".parse().unwrap();
        assert_eq!((repo.owner.as_str(), repo.name.as_str()), ("octo", "hello-world"));
        assert_eq!((repo.to_string(), repo.full_name()), ("octo/hello-world".into(), "octo/hello-world".into()));
        for bad in ["", "octo", "/x", "x/"] {
            assert!(bad.parse::<Repo>().is_err(), "{bad}");
        }
    }
}
