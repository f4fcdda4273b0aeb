//! Test-only builders: the copied GitHub fixtures (`tests/fixtures/`), payloads built from them
//! (`trigger::issue_comment(repo, 7).comment(1001, body).by("alice", "OWNER")`), work trees the
//! preflight accepts, and the seeded "Codertocat/Hello-World" world several suites stand on.
//! Nothing here runs the binary (that is `actions.rs`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::fake_github::FakeGithub;
use super::git_repo::git;

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// `tests/fixtures/<name>`, parsed as JSON.
pub fn json(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

/// Parses `tests/fixtures/events/<file>` as `event`; panics when it is skipped.
pub fn trigger(event: &str, file: &str) -> sisyphus_action::event::Trigger {
    let payload = std::fs::read_to_string(fixture(&format!("events/{file}"))).unwrap();
    sisyphus_action::event::parse(event, &payload).unwrap()
}

/// What the preflight needs before a dry run may act: a work tree that is a git repository.
/// The dir lives as long as the returned guard; the path is its `GITHUB_WORKSPACE`.
pub fn ready() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    let path = dir.path().to_str().unwrap().to_owned();
    (dir, path)
}

/// `ready()`, with `origin` at `https://github.com/{repo}`: a clone of `repo` as far as the
/// preflight's remote check can tell (a local run and Actions check it).
pub fn ready_for(repo: &str) -> (tempfile::TempDir, String) {
    let (dir, path) = ready();
    let url = format!("https://github.com/{repo}");
    git(dir.path(), &["remote", "add", "origin", &url]);
    (dir, path)
}

/// The world of GitHub's own example payloads: `Codertocat/Hello-World`, issue #1 and the
/// comment on it, PR #2 from `feature`.
pub mod hello_world {
    use super::FakeGithub;

    pub const REPO: &str = "Codertocat/Hello-World";
    pub const OWNER: &str = "Codertocat";
    pub const ISSUE: u64 = 1;
    pub const ISSUE_TITLE: &str = "Spelling error in the README file";
    pub const ISSUE_BODY: &str = "It looks like you accidently spelled 'commit' with two 't's.";
    /// The comment on issue #1 that mentions the bot.
    pub const COMMENT: u64 = 492_700_400;
    pub const PULL: u64 = 2;
    pub const PR_HEAD: &str = "feature";
    pub const REVIEW_COMMENT: u64 = 284_312_630;

    /// Issue #1 on the fake, as GitHub's example payloads describe it.
    pub fn seed(gh: &FakeGithub) {
        gh.seed_issue(REPO, ISSUE, ISSUE_TITLE, ISSUE_BODY, false);
    }

    /// `seed`, and the mentioning comment `body` by the repository's owner.
    pub fn seed_with_comment(gh: &FakeGithub, body: &str) {
        seed(gh);
        gh.seed_comment(REPO, ISSUE, COMMENT, body, OWNER);
    }
}

/// Payloads as GitHub sends them (`tests/fixtures/e2e/`), pointed at a repository and thread.
pub mod trigger {
    use serde_json::{Value, json};

    /// A payload being built; `json()` is what goes in `GITHUB_EVENT_PATH`.
    pub struct Payload(Value);

    fn from(file: &str, repo: &str) -> Payload {
        let mut v = super::json(&format!("e2e/{file}"));
        let (owner, name) = repo.split_once('/').expect("owner/name");
        v["repository"]["full_name"] = json!(repo);
        v["repository"]["name"] = json!(name);
        v["repository"]["owner"]["login"] = json!(owner);
        v["repository"]["default_branch"] = json!("main");
        Payload(v)
    }

    /// `issue_comment.created` on issue `number` of `repo`.
    pub fn issue_comment(repo: &str, number: u64) -> Payload {
        let mut p = from("issue_comment.created.json", repo);
        p.0["issue"]["number"] = json!(number);
        p
    }

    /// `pull_request_review_comment.created` on `repo`'s PR `number` from `head` (same repository).
    pub fn review_comment(repo: &str, number: u64, head: &str) -> Payload {
        from("pull_request_review_comment.created.json", repo).pull(repo, number, head)
    }

    /// `pull_request_review.submitted` on `repo`'s PR `number` from `head` (same repository).
    pub fn review(repo: &str, number: u64, head: &str) -> Payload {
        from("pull_request_review.submitted.json", repo).pull(repo, number, head)
    }

    /// `workflow_dispatch` on `repo` with the `prompt` input.
    pub fn dispatch(repo: &str, prompt: &str) -> Payload {
        let mut p = from("workflow_dispatch.json", repo);
        p.0["inputs"] = json!({"prompt": prompt});
        p
    }

    impl Payload {
        fn pull(mut self, repo: &str, number: u64, head: &str) -> Self {
            let pr = &mut self.0["pull_request"];
            pr["number"] = json!(number);
            pr["head"]["ref"] = json!(head);
            pr["head"]["repo"]["full_name"] = json!(repo);
            pr["base"]["ref"] = json!("main");
            pr["base"]["repo"]["full_name"] = json!(repo);
            self
        }

        /// The comment's id and body (of an `issue_comment` or a review comment).
        pub fn comment(mut self, id: u64, body: &str) -> Self {
            self.0["comment"]["id"] = json!(id);
            self.0["comment"]["body"] = json!(body);
            self
        }

        /// The comment's author and their association; a `[bot]` login is a bot.
        pub fn by(mut self, login: &str, association: &str) -> Self {
            let comment = &mut self.0["comment"];
            comment["user"]["login"] = json!(login);
            comment["user"]["type"] = json!(if login.ends_with("[bot]") { "Bot" } else { "User" });
            comment["author_association"] = json!(association);
            self
        }

        /// The issue's title.
        pub fn titled(mut self, title: &str) -> Self {
            self.0["issue"]["title"] = json!(title);
            self
        }

        /// The commented issue is a pull request of `repo`.
        pub fn on_pull(mut self, repo: &str) -> Self {
            let number = self.0["issue"]["number"].clone();
            self.0["issue"]["pull_request"] =
                json!({"url": format!("https://api.github.com/repos/{repo}/pulls/{number}")});
            self
        }

        /// The review's body.
        pub fn review_body(mut self, body: &str) -> Self {
            self.0["review"]["body"] = json!(body);
            self
        }

        /// A `workflow_dispatch` input.
        pub fn input(mut self, name: &str, value: &str) -> Self {
            self.0["inputs"][name] = json!(value);
            self
        }

        pub fn json(self) -> Value {
            self.0
        }
    }
}
