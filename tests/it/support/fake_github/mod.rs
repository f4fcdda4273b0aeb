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

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{self, Request, Response, Server};

const OPERATIONS: &str = include_str!("../../../fixtures/github-rest/operations.json");

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

#[derive(Debug)]
struct Operation {
    method: String,
    segments: Vec<String>,
    required: Vec<String>,
    enums: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default)]
struct State {
    issues: Vec<Issue>,
    comments: Vec<Comment>,
    reactions: Vec<Reaction>,
    labels: BTreeMap<String, Vec<Label>>,
    pulls: Vec<Pull>,
    branches: BTreeMap<(String, String), bool>,
    default_branch: String,
    log: Vec<Logged>,
    violations: Vec<String>,
    faults: Vec<Fault>,
    graphql: Option<Value>,
    forbid_pulls: bool,
    login: String,
    user_endpoint_forbidden: bool,
    expected_token: Option<String>,
    next_id: u64,
    /// `owner/name` → the bare repository served for it.
    git_repos: BTreeMap<String, std::path::PathBuf>,
    git_log: Vec<GitRequest>,
    /// `GET /repos/{o}/{r}`'s `permissions` object (a user's token shows its access there).
    repo_permissions: Option<Value>,
    /// `x-oauth-scopes` on every REST answer (a classic token's scopes).
    oauth_scopes: Option<String>,
    /// `can_approve_pull_request_reviews` of `GET …/actions/permissions/workflow`; `None` answers
    /// 403 (reading it needs admin rights).
    actions_can_create_pulls: Option<bool>,
    /// Workflow runs the Actions cancel endpoint knows: run id → the process it signals.
    runs: BTreeMap<String, WorkflowRun>,
}

/// A workflow run as the Actions cancel endpoint sees it. Cancelling one in progress sends
/// SIGINT to its process, as the runner does to the job's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    pub pid: u32,
    pub cancelled: bool,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Our comment on the conversation, or (with `in_reply_to`) a threaded review comment.
    fn post_comment(&mut self, repo: String, number: u64, body: &Value, in_reply_to: Option<u64>) -> Answer {
        let comment = Comment {
            id: self.id(),
            repo,
            number,
            body: body["body"].as_str().unwrap_or_default().into(),
            user: self.login.clone(),
            review: in_reply_to.is_some(),
            in_reply_to,
        };
        let v = comment_json(&comment);
        self.comments.push(comment);
        (201, Vec::new(), v)
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
        let operations = load_operations();
        let s = state.clone();
        let server = http::serve(move |request| match git_target(&request, &s) {
            Some(target) => Some(serve_git(&request, target, &s)),
            None => {
                handle(&request, &s, &operations).map(|(status, headers, body)| json_response(status, &headers, &body))
            }
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
        let out = git_backend_command(&dir).args(["for-each-ref", "--format=%(refname) %(objectname)"]).output();
        let out = out.expect("git runs");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
    }

    /// Every object of the served `repo` (loose and packed, reachable or not), with contents,
    /// as `git cat-file --batch-all-objects --batch` prints them: for scanning for secrets.
    pub fn git_all_objects(&self, repo: &str) -> Vec<u8> {
        let dir = self.git_dir(repo).expect("a seeded git repository");
        let out = git_backend_command(&dir).args(["cat-file", "--batch-all-objects", "--batch"]).output();
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

fn load_operations() -> Vec<Operation> {
    let spec: Value = serde_json::from_str(OPERATIONS).expect("operations.json");
    spec["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| Operation {
            method: o["method"].as_str().unwrap_or_default().to_owned(),
            segments: split(o["path"].as_str().unwrap_or_default()),
            required: o["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            enums: o["enums"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect(),
                    )
                })
                .collect(),
        })
        .collect()
}

fn split(path: &str) -> Vec<String> {
    path.trim_matches('/').split('/').map(str::to_owned).collect()
}

fn matches_template(template: &[String], segments: &[String]) -> bool {
    template.len() == segments.len()
        && template.iter().zip(segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
}

// ----- HTTP -----

fn json_response(status: u16, headers: &[(String, String)], body: &Value) -> Response {
    let text = if body.is_null() { String::new() } else { body.to_string() };
    let mut response = if text.is_empty() {
        Response::new(status, text)
    } else {
        Response::new(status, text).header("content-type", "application/json; charset=utf-8")
    };
    for (k, v) in headers {
        response = response.header(k, v.clone());
    }
    response
}

type Answer = (u16, Vec<(String, String)>, Value);

fn error(status: u16, message: &str) -> Answer {
    (status, Vec::new(), json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }))
}

/// Logs, applies a fault, checks the operation, then answers from the state. `None` = reset.
fn handle(request: &Request, state: &Mutex<State>, ops: &[Operation]) -> Option<Answer> {
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into()))
    };
    let (fault, seq) = {
        let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut fired = None;
        for f in &mut s.faults {
            if f.method.eq_ignore_ascii_case(&request.method) && request.path.contains(&f.path_contains) {
                f.seen += 1;
                if fired.is_none() && f.seen >= f.nth && f.seen < f.nth + f.times {
                    fired = Some(f.kind.clone());
                }
            }
        }
        let seq = s.log.len();
        s.log.push(Logged {
            method: request.method.clone(),
            path: request.path.clone(),
            body: body.clone(),
            headers: request.headers.clone(),
            at: Instant::now(),
            status: 0,
        });
        (fired, seq)
    };
    let answer = match fault {
        Some(FaultKind::Reset) => None,
        Some(FaultKind::Status(status)) => Some(error(status, "Server Error")),
        Some(FaultKind::TooManyRequests { retry_after }) => {
            let (status, _, body) = error(429, "API rate limit exceeded");
            Some((status, vec![("retry-after".into(), retry_after.to_string())], body))
        }
        Some(FaultKind::SecondaryRateLimit { retry_after }) => {
            let (status, _, body) =
                error(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.");
            Some((status, retry_after.map(|r| ("retry-after".into(), r.to_string())).into_iter().collect(), body))
        }
        Some(FaultKind::PrimaryRateLimit { reset_in }) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let (status, _, body) = error(403, "API rate limit exceeded for installation.");
            Some((
                status,
                vec![
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), (now + reset_in).to_string()),
                ],
                body,
            ))
        }
        Some(FaultKind::Answer(status, body)) => Some((status, Vec::new(), body)),
        Some(FaultKind::Slow(ms)) => {
            thread::sleep(Duration::from_millis(ms));
            Some(route(request, &body, state, ops))
        }
        None => Some(route(request, &body, state, ops)),
    };
    let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(entry) = s.log.get_mut(seq) {
        entry.status = answer.as_ref().map_or(0, |a| a.0);
    }
    answer
}

/// Checks the operation against the OpenAPI description, then answers it.
fn route(request: &Request, body: &Value, state: &Mutex<State>, ops: &[Operation]) -> Answer {
    let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let line = format!("{} {}", request.method, request.path);
    if let Some(expected) = &s.expected_token
        && request.headers.get("authorization") != Some(&format!("Bearer {expected}"))
    {
        return error(401, "Bad credentials");
    }
    if request.method == "POST" && request.path == "/graphql" {
        return graphql(&s, body);
    }
    let segments = split(&request.path);
    let Some(op) = ops.iter().find(|o| o.method == request.method && matches_template(&o.segments, &segments)) else {
        s.violations.push(format!("{line}: not in GitHub's OpenAPI description"));
        return error(404, "Not Found");
    };
    for field in &op.required {
        if body.get(field).is_none() {
            s.violations.push(format!("{line}: body lacks required `{field}`"));
            return error(422, "Invalid request");
        }
    }
    for (field, allowed) in &op.enums {
        if let Some(v) = body.get(field)
            && !v.as_str().is_some_and(|v| allowed.iter().any(|a| a == v))
        {
            s.violations.push(format!("{line}: `{field}` = {v} is not one of {allowed:?}"));
            return error(422, "Invalid request");
        }
    }
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (status, mut headers, body) = answer(&mut s, &request.method, &seg, &request.query, body);
    if let Some(scopes) = &s.oauth_scopes {
        headers.push(("x-oauth-scopes".into(), scopes.clone()));
    }
    (status, headers, body)
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn user(login: &str) -> Value {
    json!({ "login": login, "id": 41898282, "type": if login.ends_with("[bot]") { "Bot" } else { "User" } })
}

fn comment_json(c: &Comment) -> Value {
    let html_url = if c.review {
        format!("https://github.com/{}/pull/{}#discussion_r{}", c.repo, c.number, c.id)
    } else {
        format!("https://github.com/{}/issues/{}#issuecomment-{}", c.repo, c.number, c.id)
    };
    // The repository's owner is `OWNER`; anyone else is only a `CONTRIBUTOR` (bots `NONE`).
    let owner = c.repo.split('/').next().unwrap_or_default();
    let association = match c.user.as_str() {
        u if u.eq_ignore_ascii_case(owner) => "OWNER",
        u if u.ends_with("[bot]") => "NONE",
        _ => "CONTRIBUTOR",
    };
    let mut v = json!({ "id": c.id, "body": c.body, "user": user(&c.user), "html_url": html_url,
        "author_association": association,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z" });
    if let Some(parent) = c.in_reply_to {
        v["in_reply_to_id"] = json!(parent);
    }
    v
}

fn reaction_json(r: &Reaction) -> Value {
    json!({ "id": r.id, "content": r.content, "user": user(&r.user), "created_at": "2026-01-01T00:00:00Z" })
}

fn label_json(l: &Label) -> Value {
    json!({ "name": l.name, "color": l.color, "description": l.description, "default": false })
}

fn pull_json(p: &Pull) -> Value {
    let (owner, branch) = p.head.split_once(':').unwrap_or(("", &p.head));
    json!({ "number": p.number, "state": p.state, "title": p.title, "body": p.body, "draft": p.draft,
        "html_url": format!("https://github.com/{}/pull/{}", p.repo, p.number),
        "head": { "ref": branch, "label": p.head, "repo": { "full_name": format!("{owner}/{}", p.repo.split('/').nth(1).unwrap_or_default()) } },
        "base": { "ref": p.base } })
}

fn issue_json(i: &Issue) -> Value {
    let mut v = json!({ "number": i.number, "title": i.title, "body": i.body, "user": user(&i.user), "state": "open",
        "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "html_url": format!("https://github.com/{}/{}/{}", i.repo, if i.is_pr { "pull" } else { "issues" }, i.number) });
    if i.is_pr {
        v["pull_request"] = json!({ "url": "" });
    }
    v
}

/// Answers a request already checked against the OpenAPI description.
fn answer(s: &mut State, method: &str, seg: &[&str], query: &str, body: &Value) -> Answer {
    let ok = |v: Value| (200, Vec::new(), v);
    let created = |v: Value| (201, Vec::new(), v);
    match (method, seg) {
        ("GET", ["user"]) if s.user_endpoint_forbidden => error(403, "Resource not accessible by integration"),
        ("GET", ["user"]) => ok(user(&s.login)),
        ("GET", ["rate_limit"]) => ok(json!({ "resources": { "core": { "limit": 5000, "remaining": 4999 } } })),
        ("GET", ["repos", o, r]) => {
            let mut repo = json!({ "full_name": format!("{o}/{r}"), "default_branch": s.default_branch });
            if let Some(permissions) = &s.repo_permissions {
                repo["permissions"] = permissions.clone();
            }
            ok(repo)
        }
        ("GET", ["repos", _, _, "actions", "permissions", "workflow"]) => match s.actions_can_create_pulls {
            Some(allowed) => {
                ok(json!({ "default_workflow_permissions": "read", "can_approve_pull_request_reviews": allowed }))
            }
            None => error(403, "Must have admin rights to Repository."),
        },
        ("GET", ["repos", o, r, "branches", b]) => match s.branches.get(&(format!("{o}/{r}"), decode(b))) {
            Some(protected) => {
                ok(json!({ "name": decode(b), "protected": protected, "commit": { "sha": "0".repeat(40) } }))
            }
            None => error(404, "Branch not found"),
        },

        // ----- reactions -----
        (_, ["repos", o, r, kind, "comments", id, "reactions", rest @ ..]) if *kind == "issues" || *kind == "pulls" => {
            let Ok(id) = id.parse::<u64>() else { return error(404, "Not Found") };
            let review = *kind == "pulls";
            if !s.comments.iter().any(|c| c.id == id && c.review == review && c.repo == format!("{o}/{r}")) {
                return error(404, "Not Found");
            }
            let subject = if review { Subject::ReviewComment(id) } else { Subject::IssueComment(id) };
            reactions(s, method, subject, rest, query, body)
        }
        (_, ["repos", o, r, "issues", n, "reactions", rest @ ..]) => {
            let Ok(n) = n.parse::<u64>() else { return error(404, "Not Found") };
            let repo = format!("{o}/{r}");
            if !s.issues.iter().any(|i| i.repo == repo && i.number == n) {
                return error(404, "Not Found");
            }
            reactions(s, method, Subject::Issue(repo, n), rest, query, body)
        }

        // ----- labels -----
        ("POST", ["repos", o, r, "labels"]) => {
            let name = body["name"].as_str().unwrap_or_default().to_owned();
            let labels = s.labels.entry(format!("{o}/{r}")).or_default();
            if labels.iter().any(|l| l.name.eq_ignore_ascii_case(&name)) {
                return (
                    422,
                    Vec::new(),
                    json!({ "message": "Validation Failed",
                        "errors": [{ "resource": "Label", "code": "already_exists", "field": "name" }] }),
                );
            }
            let label = Label {
                name,
                color: body["color"].as_str().unwrap_or("ededed").to_owned(),
                description: body["description"].as_str().unwrap_or_default().to_owned(),
            };
            let v = label_json(&label);
            labels.push(label);
            created(v)
        }
        ("GET", ["repos", o, r, "labels", name]) => {
            let name = decode(name);
            match s.labels.get(&format!("{o}/{r}")).and_then(|ls| ls.iter().find(|l| l.name == name)) {
                Some(l) => ok(label_json(l)),
                None => error(404, "Not Found"),
            }
        }
        (_, ["repos", o, r, "issues", n, "labels", rest @ ..]) => {
            let repo = format!("{o}/{r}");
            let Some(idx) = s.issues.iter().position(|i| i.repo == repo && Some(i.number) == n.parse().ok()) else {
                return error(404, "Not Found");
            };
            match (method, rest) {
                ("GET", []) => ok(json!(s.issues[idx].labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>())),
                ("POST", []) => {
                    let Some(names) = body["labels"].as_array().filter(|a| !a.is_empty()) else {
                        s.violations.push("POST issue labels: body needs a non-empty `labels` array".into());
                        return error(422, "Invalid request");
                    };
                    for name in names.iter().filter_map(Value::as_str) {
                        // GitHub creates unknown labels on the fly, with a default colour.
                        let known = s.labels.entry(repo.clone()).or_default();
                        if !known.iter().any(|l| l.name == name) {
                            known.push(Label { name: name.into(), color: "ededed".into(), description: String::new() });
                        }
                        if !s.issues[idx].labels.iter().any(|l| l == name) {
                            s.issues[idx].labels.push(name.into());
                        }
                    }
                    ok(json!(s.issues[idx].labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()))
                }
                ("DELETE", [name]) => {
                    let name = decode(name);
                    let labels = &mut s.issues[idx].labels;
                    match labels.iter().position(|l| *l == name) {
                        Some(p) => {
                            labels.remove(p);
                            ok(json!(labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()))
                        }
                        None => error(404, "Label does not exist"),
                    }
                }
                _ => error(404, "Not Found"),
            }
        }

        // ----- issues and comments -----
        ("GET", ["repos", o, r, "issues", n]) => {
            match s.issues.iter().find(|i| i.repo == format!("{o}/{r}") && Some(i.number) == n.parse().ok()) {
                Some(i) => ok(issue_json(i)),
                None => error(404, "Not Found"),
            }
        }
        (_, ["repos", o, r, "issues", n, "comments"]) => {
            let repo = format!("{o}/{r}");
            let Some(n) = n.parse::<u64>().ok().filter(|n| s.issues.iter().any(|i| i.repo == repo && i.number == *n))
            else {
                return error(404, "Not Found");
            };
            if method == "GET" {
                let all: Vec<Value> = s
                    .comments
                    .iter()
                    .filter(|c| !c.review && c.repo == repo && c.number == n)
                    .map(comment_json)
                    .collect();
                return ok(json!(page(&all, query)));
            }
            s.post_comment(repo, n, body, None)
        }
        (_, ["repos", o, r, kind, "comments", id]) if *kind == "issues" || *kind == "pulls" => {
            let review = *kind == "pulls";
            let repo = format!("{o}/{r}");
            let Some(c) =
                s.comments.iter_mut().find(|c| c.review == review && c.repo == repo && Some(c.id) == id.parse().ok())
            else {
                return error(404, "Not Found");
            };
            if method == "PATCH" {
                c.body = body["body"].as_str().unwrap_or_default().into();
            }
            ok(comment_json(c))
        }

        // ----- pull requests -----
        ("GET", ["repos", o, r, "pulls"]) => {
            let repo = format!("{o}/{r}");
            let head = query_param(query, "head").map(decode);
            let state = query_param(query, "state").unwrap_or("open");
            let list: Vec<Value> = s
                .pulls
                .iter()
                .filter(|p| p.repo == repo && (state == "all" || p.state == state))
                .filter(|p| head.as_ref().is_none_or(|h| *h == p.head))
                .map(pull_json)
                .collect();
            ok(json!(list))
        }
        ("POST", ["repos", o, r, "pulls"]) => {
            if s.forbid_pulls {
                return error(403, "GitHub Actions is not permitted to create or approve pull requests.");
            }
            let repo = format!("{o}/{r}");
            let head_raw = body["head"].as_str().unwrap_or_default();
            let head = if head_raw.contains(':') { head_raw.to_owned() } else { format!("{o}:{head_raw}") };
            let base = body["base"].as_str().unwrap_or_default().to_owned();
            if s.pulls.iter().any(|p| p.repo == repo && p.head == head && p.base == base && p.state == "open") {
                return (
                    422,
                    Vec::new(),
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "code": "custom",
                        "message": format!("A pull request already exists for {head}.") }] }),
                );
            }
            let number = s.issues.iter().filter(|i| i.repo == repo).map(|i| i.number).max().unwrap_or(0) + 1;
            let pull = Pull {
                repo: repo.clone(),
                number,
                head,
                base,
                title: body["title"].as_str().unwrap_or_default().into(),
                body: body["body"].as_str().unwrap_or_default().into(),
                draft: body["draft"].as_bool().unwrap_or(false),
                state: "open".into(),
            };
            s.issues.push(Issue {
                repo,
                number,
                title: pull.title.clone(),
                body: pull.body.clone(),
                user: s.login.clone(),
                is_pr: true,
                labels: Vec::new(),
            });
            let v = pull_json(&pull);
            s.pulls.push(pull);
            created(v)
        }
        (_, ["repos", o, r, "pulls", n]) => {
            let repo = format!("{o}/{r}");
            let Some(p) = s.pulls.iter_mut().find(|p| p.repo == repo && Some(p.number) == n.parse().ok()) else {
                return error(404, "Not Found");
            };
            if method == "PATCH" {
                if let Some(t) = body["title"].as_str() {
                    p.title = t.into();
                }
                if let Some(b) = body["body"].as_str() {
                    p.body = b.into();
                }
                if let Some(st) = body["state"].as_str() {
                    p.state = st.into();
                }
                if let Some(b) = body["base"].as_str() {
                    p.base = b.into();
                }
            }
            ok(pull_json(p))
        }
        ("GET", ["repos", o, r, "pulls", n, "comments"]) => {
            let repo = format!("{o}/{r}");
            let all: Vec<Value> = s
                .comments
                .iter()
                .filter(|c| c.review && c.repo == repo && Some(c.number) == n.parse().ok())
                .map(comment_json)
                .collect();
            ok(json!(page(&all, query)))
        }
        ("POST", ["repos", o, r, "pulls", n, "comments", parent, "replies"]) => {
            let repo = format!("{o}/{r}");
            let (Ok(n), Ok(parent)) = (n.parse::<u64>(), parent.parse::<u64>()) else { return error(404, "Not Found") };
            if !s.comments.iter().any(|c| c.review && c.repo == repo && c.number == n && c.id == parent) {
                return error(404, "Not Found");
            }
            s.post_comment(repo, n, body, Some(parent))
        }
        ("GET", ["repos", _, _, "pulls", _, "files" | "reviews"]) => ok(json!([])),
        ("GET", ["repos", _, _, "collaborators", _, "permission"]) => ok(json!({ "permission": "write" })),
        ("POST", ["repos", _, _, "actions", "runs", id, "cancel"]) => match s.runs.get_mut(*id) {
            Some(run) if run.cancelled => error(409, "Cannot cancel a workflow run that is completed."),
            Some(run) => {
                run.cancelled = true;
                let pid = nix::unistd::Pid::from_raw(i32::try_from(run.pid).unwrap_or(i32::MAX));
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
                (202, Vec::new(), json!({}))
            }
            None => error(404, "Not Found"),
        },
        _ => error(404, "Not Found"),
    }
}

fn page(all: &[Value], query: &str) -> Vec<Value> {
    let per_page: usize = query_param(query, "per_page").and_then(|v| v.parse().ok()).unwrap_or(30).clamp(1, 100);
    let page: usize = query_param(query, "page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    all.iter().skip((page - 1) * per_page).take(per_page).cloned().collect()
}

fn reactions(s: &mut State, method: &str, subject: Subject, rest: &[&str], query: &str, body: &Value) -> Answer {
    match (method, rest) {
        ("GET", []) => {
            let content = query_param(query, "content");
            let all: Vec<Value> = s
                .reactions
                .iter()
                .filter(|r| r.subject == subject && content.is_none_or(|c| decode(c) == r.content))
                .map(reaction_json)
                .collect();
            (200, Vec::new(), json!(page(&all, query)))
        }
        ("POST", []) => {
            let content = body["content"].as_str().unwrap_or_default().to_owned();
            let login = s.login.clone();
            if let Some(existing) =
                s.reactions.iter().find(|r| r.subject == subject && r.content == content && r.user == login)
            {
                return (200, Vec::new(), reaction_json(existing));
            }
            let id = s.id();
            let reaction = Reaction { id, subject, content, user: login };
            let v = reaction_json(&reaction);
            s.reactions.push(reaction);
            (201, Vec::new(), v)
        }
        ("DELETE", [id]) => {
            let Some(p) = s.reactions.iter().position(|r| r.subject == subject && Some(r.id) == id.parse().ok()) else {
                return error(404, "Not Found");
            };
            s.reactions.remove(p);
            (204, Vec::new(), Value::Null)
        }
        _ => error(404, "Not Found"),
    }
}

/// The thread as a GraphQL answer, unless a test set a canned one. Generous with field names:
/// whichever shape the context query asks for, the data it needs is there.
fn graphql(s: &State, body: &Value) -> Answer {
    if let Some(canned) = &s.graphql {
        return (200, Vec::new(), canned.clone());
    }
    let number = body.pointer("/variables/number").and_then(Value::as_u64);
    let issue = s.issues.iter().find(|i| Some(i.number) == number);
    let Some(issue) = issue else {
        return (
            200,
            Vec::new(),
            json!({ "data": { "repository": { "issueOrPullRequest": null } },
                "errors": [{ "type": "NOT_FOUND", "message": "Could not resolve to an issue or pull request" }] }),
        );
    };
    let comments: Vec<Value> = s
        .comments
        .iter()
        .filter(|c| !c.review && c.repo == issue.repo && c.number == issue.number)
        .map(|c| {
            json!({ "author": { "login": c.user }, "body": c.body, "createdAt": "2026-01-01T00:00:00Z",
            "lastEditedAt": null, "databaseId": c.id, "isMinimized": false })
        })
        .collect();
    let node = json!({
        "__typename": if issue.is_pr { "PullRequest" } else { "Issue" },
        "number": issue.number, "title": issue.title, "body": issue.body, "author": { "login": issue.user },
        "labels": { "nodes": issue.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>() },
        "comments": { "nodes": comments, "pageInfo": { "hasNextPage": false } },
    });
    (
        200,
        Vec::new(),
        json!({ "data": { "repository": {
            "defaultBranchRef": { "name": s.default_branch },
            "issueOrPullRequest": node.clone(),
            "issue": if issue.is_pr { Value::Null } else { node.clone() },
            "pullRequest": if issue.is_pr { node } else { Value::Null },
        } } }),
    )
}

// ----- git over smart HTTP -----

/// One git request as the fake received it.
#[derive(Debug, Clone)]
pub struct GitRequest {
    pub method: String,
    /// `git-upload-pack` (fetch) or `git-receive-pack` (push).
    pub service: String,
    /// The `Authorization` header, if any (tests assert on where the token went).
    pub authorization: Option<String>,
    /// Whether it carried the expected credentials.
    pub authorized: bool,
    /// `Content-Encoding` (git gzips big request bodies) and whether the body came chunked.
    pub content_encoding: Option<String>,
    pub chunked: bool,
    pub status: u16,
}

impl GitRequest {
    pub fn is_push(&self) -> bool {
        self.service == "git-receive-pack"
    }
}

struct GitTarget {
    dir: std::path::PathBuf,
    /// `info/refs`, `git-upload-pack` or `git-receive-pack`.
    rest: String,
    service: String,
}

/// The served repository a request is for, when it is a git request (`/owner/name[.git]/…`).
fn git_target(request: &Request, state: &Mutex<State>) -> Option<GitTarget> {
    let path = request.path.trim_start_matches('/');
    let mut parts = path.splitn(3, '/');
    let (owner, name, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let name = name.strip_suffix(".git").unwrap_or(name);
    let dir = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .git_repos
        .get(&format!("{owner}/{name}"))?
        .clone();
    let service = match rest {
        "info/refs" => query_param(&request.query, "service").unwrap_or_default().to_owned(),
        "git-upload-pack" | "git-receive-pack" => rest.to_owned(),
        // Dumb HTTP (objects/…, HEAD) is not served: GitHub does not either.
        _ => String::new(),
    };
    Some(GitTarget { dir, rest: rest.to_owned(), service })
}

/// `git` for the served repositories: none of the machine's or the user's config.
fn git_backend_command(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C")
        .arg("--git-dir")
        .arg(dir);
    cmd
}

fn http_response(status: u16, headers: &[(String, String)], body: &[u8]) -> Response {
    headers.iter().fold(Response::new(status, body), |r, (k, v)| r.header(k, v.clone()))
}

/// Runs `git http-backend` for the request; the whole HTTP response.
fn serve_git(request: &Request, target: GitTarget, state: &Mutex<State>) -> Response {
    let authorization = request.headers.get("authorization").cloned();
    let expected = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).expected_token.clone();
    let authorized = authorization.as_deref().is_some_and(|a| basic_matches(a, expected.as_deref()));
    let push = target.service == "git-receive-pack";
    let response = if target.service.is_empty() {
        http_response(404, &[], b"not found")
    } else if push && !authorized {
        let headers = [("www-authenticate".to_owned(), "Basic realm=\"GitHub\"".to_owned())];
        http_response(401, &headers, b"authentication required")
    } else {
        run_backend(request, &target, authorized)
    };
    let status = response.status();
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).git_log.push(GitRequest {
        method: request.method.clone(),
        service: target.service,
        authorization,
        authorized,
        content_encoding: request.headers.get("content-encoding").cloned(),
        chunked: request.headers.get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")),
        status,
    });
    response
}

/// `Basic base64(x-access-token:<token>)` with the expected token (any user and password when
/// no token is expected).
fn basic_matches(header: &str, expected: Option<&str>) -> bool {
    let Some((scheme, value)) = header.split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    match expected {
        Some(token) => value.trim() == base64_encode(format!("x-access-token:{token}").as_bytes()),
        None => !value.trim().is_empty(),
    }
}

pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn run_backend(request: &Request, target: &GitTarget, authorized: bool) -> Response {
    let mut cmd = git_backend_command(&target.dir);
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &target.dir)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{}", target.rest))
        .env("REQUEST_METHOD", &request.method)
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1");
    // What a blob-less, shallow clone of a commit needs, as on GitHub.
    // `safe.directory`: a test may hand the served repositories to another user (the
    // containment tests run the binary as `nobody`); the server is still ours to run.
    let config =
        [("uploadpack.allowFilter", "true"), ("uploadpack.allowAnySHA1InWant", "true"), ("safe.directory", "*")];
    cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (k, v)) in config.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), k).env(format!("GIT_CONFIG_VALUE_{i}"), v);
    }
    if let Some(kind) = request.headers.get("content-type") {
        cmd.env("CONTENT_TYPE", kind);
    }
    // http-backend inflates gzip bodies itself and reads the protocol version from this header.
    for (header, var) in [("content-encoding", "HTTP_CONTENT_ENCODING"), ("git-protocol", "HTTP_GIT_PROTOCOL")] {
        if let Some(v) = request.headers.get(header) {
            cmd.env(var, v);
        }
    }
    if authorized {
        // Enables receive-pack, as an authenticated user may push.
        cmd.env("REMOTE_USER", "x-access-token");
    }
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let Ok(mut child) = cmd.spawn() else { return http_response(500, &[], b"no git") };
    let body = request.body.clone();
    let stdin = child.stdin.take();
    let writer = thread::spawn(move || {
        if let Some(mut pipe) = stdin {
            let _ = pipe.write_all(&body);
        }
    });
    let out = child.wait_with_output();
    let _ = writer.join();
    let Ok(out) = out else { return http_response(500, &[], b"git failed") };
    parse_cgi(&out.stdout)
}

/// A CGI answer (`Status:` and other headers, a blank line, the body) as an HTTP response.
fn parse_cgi(out: &[u8]) -> Response {
    let (head_len, sep) =
        match (out.windows(4).position(|w| w == b"\r\n\r\n"), out.windows(2).position(|w| w == b"\n\n")) {
            (Some(a), Some(b)) if b < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => return http_response(502, &[], out),
        };
    let head = String::from_utf8_lossy(&out[..head_len]).into_owned();
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("status") {
            status = v.split(' ').next().and_then(|code| code.parse().ok()).unwrap_or(500);
        } else if !k.eq_ignore_ascii_case("content-length") {
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    http_response(status, &headers, &out[head_len + sep..])
}
