//! A stateful fake GitHub for tests, served over real HTTP/1.1 on 127.0.0.1
//! (`support::http`: hyper, keep-alive, chunked bodies).
//!
//! It holds issues, comments, review comments, reactions, labels and pull requests; answers the
//! REST calls we make and `POST /graphql`; logs every request in arrival order; and injects
//! faults per call (5xx, 429 with `retry-after`, 403 secondary rate limit, connection reset,
//! slow responses). Every request's method and path is checked against GitHub's OpenAPI
//! description (`tests/fixtures/github-rest/operations.json`): an unknown operation gets 404 and
//! a recorded violation, which tests assert is empty. Request bodies are checked for required
//! fields and enum values.
//!
//! Use:
//! ```ignore
//! let gh = FakeGithub::start();
//! gh.seed_issue("octo/repo", 7, "Flaky test", "body", false);
//! gh.seed_comment("octo/repo", 7, 1001, "@sisyphus-dev-ai fix it", "alice");
//! gh.fault(Fault::on("POST", "/reactions").nth(1).kind(FaultKind::Status(502)));
//! // … point the client or the binary at gh.api_url() / gh.graphql_url() …
//! assert_eq!(gh.reactions_on_comment(1001), vec!["+1"]);
//! assert!(gh.violations().is_empty());
//! ```
//!
//! It is also the git server: `seed_git_repo("octo/repo", bare_dir)` serves that bare repository
//! at `{server_url}/octo/repo` and `{server_url}/octo/repo.git` over git's smart HTTP protocol,
//! by running the real `git http-backend` as a CGI. Fetches are anonymous; a push (both the
//! `git-receive-pack` advertisement and its POST) needs `Authorization: Basic
//! base64(x-access-token:<token>)` with the token given to `expect_token` (any basic credentials
//! when none was given), else 401 with `WWW-Authenticate: Basic`. Git requests are logged apart
//! from the REST log (`git_requests`) and never count as OpenAPI violations. The API stays at
//! the root (`api_url`), as on github.com's own host layout; the two never overlap, because no
//! REST path has a repository's `owner/name` as its first two segments.

mod git;
mod graphql;
mod openapi;
mod routes;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::http::{self, Server};
pub use git::GitRequest;
use state::State;
pub use state::{Comment, Issue, Label, Logged, Pull, Reaction, Subject, WorkflowRun};

/// What to do to a matching request instead of (or before) answering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status (e.g. 500, 502) and a GitHub-style error body.
    Status(u16),
    /// 429 with `retry-after: N` seconds.
    TooManyRequests { retry_after: u64 },
    /// 403 "You have exceeded a secondary rate limit", with `retry-after` when given.
    SecondaryRateLimit { retry_after: Option<u64> },
    /// 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` now + N seconds.
    PrimaryRateLimit { reset_in: u64 },
    /// Close the connection without answering.
    Reset,
    /// Sleep, then answer normally.
    Slow(u64),
    /// Answer with this status and body (e.g. GraphQL's `RATE_LIMITED` inside HTTP 200).
    Answer(u16, Value),
}

/// A fault for the `nth` (1-based) request matching `method` and `path_contains`, repeated `times`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: String,
    pub path_contains: String,
    pub nth: usize,
    pub times: usize,
    pub kind: FaultKind,
    seen: usize,
}

impl Fault {
    pub fn on(method: &str, path_contains: &str) -> Self {
        Self {
            method: method.to_owned(),
            path_contains: path_contains.to_owned(),
            nth: 1,
            times: 1,
            kind: FaultKind::Status(500),
            seen: 0,
        }
    }
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
    pub fn kind(mut self, kind: FaultKind) -> Self {
        self.kind = kind;
        self
    }
}

pub struct FakeGithub {
    state: Arc<Mutex<State>>,
    server: Server,
}

impl FakeGithub {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            default_branch: "main".into(),
            login: "github-actions[bot]".into(),
            user_endpoint_forbidden: true,
            next_id: 90_000,
            ..State::default()
        }));
        let operations = openapi::load_operations();
        let s = state.clone();
        let server = http::serve(move |request| match git::git_target(&request, &s) {
            Some(target) => Some(git::serve_git(&request, target, &s)),
            None => routes::handle(&request, &s, &operations)
                .map(|(status, headers, body)| routes::json_response(status, &headers, &body)),
        });
        Self { state, server }
    }

    /// `GITHUB_SERVER_URL`: the web and git host. Git repositories are under it as `/owner/name`.
    pub fn server_url(&self) -> String {
        self.server.url()
    }

    pub fn api_url(&self) -> String {
        self.server.url()
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.server.url())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    // ----- seeding -----

    pub fn seed_issue(&self, repo: &str, number: u64, title: &str, body: &str, is_pr: bool) {
        self.lock().issues.push(Issue {
            repo: repo.into(),
            number,
            title: title.into(),
            body: body.into(),
            user: "alice".into(),
            is_pr,
            labels: Vec::new(),
        });
    }

    pub fn seed_comment(&self, repo: &str, number: u64, id: u64, body: &str, user: &str) {
        self.lock().comments.push(Comment {
            id,
            repo: repo.into(),
            number,
            body: body.into(),
            user: user.into(),
            review: false,
            in_reply_to: None,
        });
    }

    pub fn seed_review_comment(&self, repo: &str, pull: u64, id: u64, body: &str, user: &str) {
        self.lock().comments.push(Comment {
            id,
            repo: repo.into(),
            number: pull,
            body: body.into(),
            user: user.into(),
            review: true,
            in_reply_to: None,
        });
    }

    /// A pull request (and its issue entry) with `head` as `owner:branch`.
    pub fn seed_pull(&self, repo: &str, number: u64, head: &str, base: &str) {
        self.seed_issue(repo, number, &format!("PR {number}"), "", true);
        self.lock().pulls.push(Pull {
            repo: repo.into(),
            number,
            head: head.into(),
            base: base.into(),
            title: format!("PR {number}"),
            body: String::new(),
            draft: false,
            state: "open".into(),
        });
    }

    pub fn seed_branch(&self, repo: &str, branch: &str, protected: bool) {
        self.lock().branches.insert((repo.into(), branch.into()), protected);
    }

    pub fn set_default_branch(&self, branch: &str) {
        self.lock().default_branch = branch.into();
    }

    /// A reaction left by someone (e.g. a human's 👀, which must survive our cleanup).
    pub fn seed_reaction(&self, subject: Subject, content: &str, user: &str) -> u64 {
        let mut state = self.lock();
        let id = state.id();
        state.reactions.push(Reaction { id, subject, content: content.into(), user: user.into() });
        id
    }

    // ----- behaviour -----

    pub fn fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// The answer to every `POST /graphql` (instead of the one built from the state).
    pub fn set_graphql(&self, response: Value) {
        self.lock().graphql = Some(response);
    }

    /// `POST /pulls` answers 403 "GitHub Actions is not permitted to create or approve pull requests".
    pub fn forbid_pull_creation(&self) {
        self.lock().forbid_pulls = true;
    }

    /// The login GitHub attributes our writes to (default `github-actions[bot]`).
    /// Requests whose `Authorization` is not `Bearer <token>` get 401.
    pub fn expect_token(&self, token: &str) {
        self.lock().expected_token = Some(token.into());
    }

    /// The `permissions` object `GET /repos/{o}/{r}` shows (`{"push": true, …}`).
    pub fn set_repo_permissions(&self, permissions: Value) {
        self.lock().repo_permissions = Some(permissions);
    }

    /// Answers as for a classic token with these scopes (`x-oauth-scopes: repo, workflow`).
    pub fn set_oauth_scopes(&self, scopes: &str) {
        self.lock().oauth_scopes = Some(scopes.into());
    }

    /// Whether GitHub Actions may create pull requests (the repository's workflow setting);
    /// until set, reading it is forbidden, as for a token without admin rights.
    pub fn set_actions_can_create_pulls(&self, allowed: bool) {
        self.lock().actions_can_create_pulls = Some(allowed);
    }

    /// Serves the bare repository `bare_dir` as `repo` (`owner/name`) over smart HTTP.
    pub fn seed_git_repo(&self, repo: &str, bare_dir: &std::path::Path) {
        self.lock().git_repos.insert(repo.into(), bare_dir.to_path_buf());
    }

    /// The bare repository served as `repo`.
    pub fn git_dir(&self, repo: &str) -> Option<std::path::PathBuf> {
        self.lock().git_repos.get(repo).cloned()
    }

    /// Every git request, in arrival order.
    pub fn git_requests(&self) -> Vec<GitRequest> {
        self.lock().git_log.clone()
    }

    /// Every ref of the served `repo` with its object id, as `refname sha`.
    pub fn git_refs(&self, repo: &str) -> Vec<String> {
        let dir = self.git_dir(repo).expect("a seeded git repository");
        let out = git::git_backend_command(&dir).args(["for-each-ref", "--format=%(refname) %(objectname)"]).output();
        let out = out.expect("git runs");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
    }

    /// Every object of the served `repo` (loose and packed, reachable or not), with contents,
    /// as `git cat-file --batch-all-objects --batch` prints them: for scanning for secrets.
    pub fn git_all_objects(&self, repo: &str) -> Vec<u8> {
        let dir = self.git_dir(repo).expect("a seeded git repository");
        let out = git::git_backend_command(&dir).args(["cat-file", "--batch-all-objects", "--batch"]).output();
        out.expect("git runs").stdout
    }

    // ----- inspection -----

    pub fn requests(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    /// `METHOD /path` of every request, in arrival order.
    pub fn request_lines(&self) -> Vec<String> {
        self.lock().log.iter().map(|l| format!("{} {}", l.method, l.path)).collect()
    }

    /// Requests that are not in GitHub's OpenAPI description or whose body breaks it.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    pub fn reactions(&self) -> Vec<Reaction> {
        self.lock().reactions.clone()
    }

    /// Contents of the reactions on an issue comment, sorted.
    pub fn reactions_on_comment(&self, id: u64) -> Vec<String> {
        self.reactions_on(&Subject::IssueComment(id))
    }

    pub fn reactions_on(&self, subject: &Subject) -> Vec<String> {
        let mut v: Vec<String> =
            self.lock().reactions.iter().filter(|r| &r.subject == subject).map(|r| r.content.clone()).collect();
        v.sort();
        v
    }

    pub fn issue_labels(&self, repo: &str, number: u64) -> Vec<String> {
        self.lock()
            .issues
            .iter()
            .find(|i| i.repo == repo && i.number == number)
            .map(|i| i.labels.clone())
            .unwrap_or_default()
    }

    pub fn repo_labels(&self, repo: &str) -> Vec<Label> {
        self.lock().labels.get(repo).cloned().unwrap_or_default()
    }

    pub fn comments(&self) -> Vec<Comment> {
        self.lock().comments.clone()
    }

    /// Comments written by the fake's login (ours), in order.
    pub fn our_comments(&self) -> Vec<Comment> {
        let state = self.lock();
        state.comments.iter().filter(|c| c.user == state.login).cloned().collect()
    }

    pub fn pulls(&self) -> Vec<Pull> {
        self.lock().pulls.clone()
    }

    // ----- Actions runs and deletions -----

    /// A workflow run in progress whose job is process `pid` (cancelling it sends SIGINT).
    pub fn seed_run(&self, run_id: &str, pid: u32) {
        self.lock().runs.insert(run_id.into(), WorkflowRun { pid, cancelled: false });
    }

    pub fn run_state(&self, run_id: &str) -> Option<WorkflowRun> {
        self.lock().runs.get(run_id).cloned()
    }

    /// Deletes a comment, as a person on the thread may.
    pub fn delete_comment(&self, id: u64) {
        self.lock().comments.retain(|c| c.id != id);
    }
}

/// Standard base64, as in git's `Authorization: Basic` header.
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
