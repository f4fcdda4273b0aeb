//! The REST side: logs each request, injects the matching fault, checks the operation against
//! the OpenAPI description, then answers it from the state, one function per resource.

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::FaultKind;
use super::graphql::graphql;
use super::openapi::{self, Operation};
use super::state::{Comment, Issue, Label, Logged, Pull, Reaction, State, Subject};
use crate::support::http::{Request, Response};

pub(super) fn json_response(status: u16, headers: &[(String, String)], body: &Value) -> Response {
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

pub(super) type Answer = (u16, Vec<(String, String)>, Value);

pub(super) fn error(status: u16, message: &str) -> Answer {
    (status, Vec::new(), json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }))
}

/// Logs, applies a fault, checks the operation, then answers from the state. `None` = reset.
pub(super) fn handle(request: &Request, state: &Mutex<State>, ops: &[Operation]) -> Option<Answer> {
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
    let segments = openapi::split(&request.path);
    if let Err((status, why)) = openapi::check(ops, &request.method, &segments, body) {
        s.violations.push(format!("{line}: {why}"));
        return error(status, if status == 404 { "Not Found" } else { "Invalid request" });
    }
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let call = Call { method: &request.method, seg: &seg, query: &request.query, body };
    let (status, mut headers, body) = answer(&mut s, &call);
    if let Some(scopes) = &s.oauth_scopes {
        headers.push(("x-oauth-scopes".into(), scopes.clone()));
    }
    (status, headers, body)
}

pub(super) fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
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

/// One REST call, already checked against the OpenAPI description.
struct Call<'a> {
    method: &'a str,
    seg: &'a [&'a str],
    query: &'a str,
    body: &'a Value,
}

/// The resources in the order `answer` asks them; each answers `None` to a call not its own.
const RESOURCES: [fn(&mut State, &Call) -> Option<Answer>; 7] =
    [repository, actions, reactions, labels, issues, comments, pulls];

/// Answers a call from the first resource that owns it.
fn answer(s: &mut State, call: &Call) -> Answer {
    RESOURCES.iter().find_map(|resource| resource(s, call)).unwrap_or_else(|| error(404, "Not Found"))
}

fn ok(v: Value) -> Answer {
    (200, Vec::new(), v)
}

fn created(v: Value) -> Answer {
    (201, Vec::new(), v)
}

/// The user, the rate limit, the repository and its branches and collaborators.
fn repository(s: &mut State, c: &Call) -> Option<Answer> {
    Some(match (c.method, c.seg) {
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
        ("GET", ["repos", o, r, "branches", b]) => match s.branches.get(&(format!("{o}/{r}"), decode(b))) {
            Some(protected) => {
                ok(json!({ "name": decode(b), "protected": protected, "commit": { "sha": "0".repeat(40) } }))
            }
            None => error(404, "Branch not found"),
        },
        ("GET", ["repos", _, _, "collaborators", _, "permission"]) => ok(json!({ "permission": "write" })),
        _ => return None,
    })
}

/// The Actions workflow permissions and the cancel endpoint (which signals the run's process).
fn actions(s: &mut State, c: &Call) -> Option<Answer> {
    Some(match (c.method, c.seg) {
        ("GET", ["repos", _, _, "actions", "permissions", "workflow"]) => match s.actions_can_create_pulls {
            Some(allowed) => {
                ok(json!({ "default_workflow_permissions": "read", "can_approve_pull_request_reviews": allowed }))
            }
            None => error(403, "Must have admin rights to Repository."),
        },
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
        _ => return None,
    })
}

/// Reactions on conversation comments, review comments and issues.
fn reactions(s: &mut State, c: &Call) -> Option<Answer> {
    Some(match c.seg {
        ["repos", o, r, kind, "comments", id, "reactions", rest @ ..] if *kind == "issues" || *kind == "pulls" => {
            let Ok(id) = id.parse::<u64>() else { return Some(error(404, "Not Found")) };
            let review = *kind == "pulls";
            if !s.comments.iter().any(|c| c.id == id && c.review == review && c.repo == format!("{o}/{r}")) {
                return Some(error(404, "Not Found"));
            }
            let subject = if review { Subject::ReviewComment(id) } else { Subject::IssueComment(id) };
            react(s, c, subject, rest)
        }
        ["repos", o, r, "issues", n, "reactions", rest @ ..] => {
            let Ok(n) = n.parse::<u64>() else { return Some(error(404, "Not Found")) };
            let repo = format!("{o}/{r}");
            if !s.issues.iter().any(|i| i.repo == repo && i.number == n) {
                return Some(error(404, "Not Found"));
            }
            react(s, c, Subject::Issue(repo, n), rest)
        }
        _ => return None,
    })
}

/// Lists, adds (idempotently, as GitHub does) or deletes the reactions on one subject.
fn react(s: &mut State, c: &Call, subject: Subject, rest: &[&str]) -> Answer {
    match (c.method, rest) {
        ("GET", []) => {
            let content = query_param(c.query, "content");
            let all: Vec<Value> = s
                .reactions
                .iter()
                .filter(|r| r.subject == subject && content.is_none_or(|c| decode(c) == r.content))
                .map(reaction_json)
                .collect();
            (200, Vec::new(), json!(page(&all, c.query)))
        }
        ("POST", []) => {
            let content = c.body["content"].as_str().unwrap_or_default().to_owned();
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

/// The repository's labels and an issue's.
fn labels(s: &mut State, c: &Call) -> Option<Answer> {
    let body = c.body;
    Some(match (c.method, c.seg) {
        ("POST", ["repos", o, r, "labels"]) => {
            let name = body["name"].as_str().unwrap_or_default().to_owned();
            let labels = s.labels.entry(format!("{o}/{r}")).or_default();
            if labels.iter().any(|l| l.name.eq_ignore_ascii_case(&name)) {
                return Some((
                    422,
                    Vec::new(),
                    json!({ "message": "Validation Failed",
                        "errors": [{ "resource": "Label", "code": "already_exists", "field": "name" }] }),
                ));
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
        (method, ["repos", o, r, "issues", n, "labels", rest @ ..]) => {
            let repo = format!("{o}/{r}");
            let Some(idx) = s.issues.iter().position(|i| i.repo == repo && Some(i.number) == n.parse().ok()) else {
                return Some(error(404, "Not Found"));
            };
            match (method, rest) {
                ("GET", []) => ok(json!(s.issues[idx].labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>())),
                ("POST", []) => {
                    let Some(names) = body["labels"].as_array().filter(|a| !a.is_empty()) else {
                        s.violations.push("POST issue labels: body needs a non-empty `labels` array".into());
                        return Some(error(422, "Invalid request"));
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
        _ => return None,
    })
}

/// One issue (or pull request, as an issue).
fn issues(s: &mut State, c: &Call) -> Option<Answer> {
    Some(match (c.method, c.seg) {
        ("GET", ["repos", o, r, "issues", n]) => {
            match s.issues.iter().find(|i| i.repo == format!("{o}/{r}") && Some(i.number) == n.parse().ok()) {
                Some(i) => ok(issue_json(i)),
                None => error(404, "Not Found"),
            }
        }
        _ => return None,
    })
}

/// Conversation comments and pull request review comments, with threaded replies.
fn comments(s: &mut State, c: &Call) -> Option<Answer> {
    let (method, query, body) = (c.method, c.query, c.body);
    Some(match (method, c.seg) {
        (_, ["repos", o, r, "issues", n, "comments"]) => {
            let repo = format!("{o}/{r}");
            let Some(n) = n.parse::<u64>().ok().filter(|n| s.issues.iter().any(|i| i.repo == repo && i.number == *n))
            else {
                return Some(error(404, "Not Found"));
            };
            if method == "GET" {
                let all: Vec<Value> = s
                    .comments
                    .iter()
                    .filter(|c| !c.review && c.repo == repo && c.number == n)
                    .map(comment_json)
                    .collect();
                return Some(ok(json!(page(&all, query))));
            }
            post_comment(s, repo, n, body, None)
        }
        (_, ["repos", o, r, kind, "comments", id]) if *kind == "issues" || *kind == "pulls" => {
            let review = *kind == "pulls";
            let repo = format!("{o}/{r}");
            let Some(c) =
                s.comments.iter_mut().find(|c| c.review == review && c.repo == repo && Some(c.id) == id.parse().ok())
            else {
                return Some(error(404, "Not Found"));
            };
            if method == "PATCH" {
                c.body = body["body"].as_str().unwrap_or_default().into();
            }
            ok(comment_json(c))
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
            let (Ok(n), Ok(parent)) = (n.parse::<u64>(), parent.parse::<u64>()) else {
                return Some(error(404, "Not Found"));
            };
            if !s.comments.iter().any(|c| c.review && c.repo == repo && c.number == n && c.id == parent) {
                return Some(error(404, "Not Found"));
            }
            post_comment(s, repo, n, body, Some(parent))
        }
        _ => return None,
    })
}

/// Our comment on the conversation, or (with `in_reply_to`) a threaded review comment.
fn post_comment(s: &mut State, repo: String, number: u64, body: &Value, in_reply_to: Option<u64>) -> Answer {
    let comment = Comment {
        id: s.id(),
        repo,
        number,
        body: body["body"].as_str().unwrap_or_default().into(),
        user: s.login.clone(),
        review: in_reply_to.is_some(),
        in_reply_to,
    };
    let v = comment_json(&comment);
    s.comments.push(comment);
    (201, Vec::new(), v)
}

/// Pull requests: list (by head and state), create, read, update; their files and reviews are
/// always empty.
fn pulls(s: &mut State, c: &Call) -> Option<Answer> {
    let (method, query, body) = (c.method, c.query, c.body);
    Some(match (method, c.seg) {
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
                return Some(error(403, "GitHub Actions is not permitted to create or approve pull requests."));
            }
            let repo = format!("{o}/{r}");
            let head_raw = body["head"].as_str().unwrap_or_default();
            let head = if head_raw.contains(':') { head_raw.to_owned() } else { format!("{o}:{head_raw}") };
            let base = body["base"].as_str().unwrap_or_default().to_owned();
            if s.pulls.iter().any(|p| p.repo == repo && p.head == head && p.base == base && p.state == "open") {
                return Some((
                    422,
                    Vec::new(),
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "code": "custom",
                        "message": format!("A pull request already exists for {head}.") }] }),
                ));
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
                return Some(error(404, "Not Found"));
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
        ("GET", ["repos", _, _, "pulls", _, "files" | "reviews"]) => ok(json!([])),
        _ => return None,
    })
}

fn page(all: &[Value], query: &str) -> Vec<Value> {
    let per_page: usize = query_param(query, "per_page").and_then(|v| v.parse().ok()).unwrap_or(30).clamp(1, 100);
    let page: usize = query_param(query, "page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    all.iter().skip((page - 1) * per_page).take(per_page).cloned().collect()
}
