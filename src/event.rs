//! The event payload (`GITHUB_EVENT_PATH`) → a `Trigger`: where (repository, number), who,
//! and the `Subject` (comment, review, opened/labelled/assigned issue, dispatch) with exactly
//! the fields that event has, plus the thread as the payload shows it.
//!
//! Two passes over the JSON value, no serde structs: `require` checks the fields the gate and
//! the lifecycle need against a spec per event (a missing or mistyped one is a `UsageError`
//! naming it), then the lenient `Json` accessor reads them, every other field reading as empty
//! when absent or mistyped, so an unknown or odd optional field never fails. Events and actions
//! we never act on (`edited`, `deleted`, …) are a `Loaded::Skip` here, before any `Trigger`.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use crate::config::Config;
use crate::exit::UsageError;
use crate::github::types::{CommentKind, Repo};

/// The comment that summoned us (`issue_comment` or `pull_request_review_comment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub kind: CommentKind,
    pub html_url: String,
    pub created_at: String,
    /// The text that may carry the mention.
    pub body: String,
    /// `OWNER`, `MEMBER`, `COLLABORATOR`, `CONTRIBUTOR`, `NONE`, …
    pub association: String,
}

/// A submitted review (`pull_request_review`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Review {
    pub body: String,
    pub association: String,
}

/// What summoned us: each event we act on, with exactly the fields it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `issue_comment.created` (`CommentKind::Issue`) or `pull_request_review_comment.created`
    /// (`CommentKind::Review`, a comment on a diff line).
    Comment(Comment),
    /// `pull_request_review.submitted`.
    Review(Review),
    /// `issues.opened`: the issue's body is the text.
    IssueOpened { body: String, association: String },
    /// `issues.labeled`, with the label that was added.
    IssueLabeled { label: String },
    /// `issues.assigned`, with who was assigned.
    IssueAssigned { assignee: String },
    /// `workflow_dispatch`, or a manual run from the command line.
    Dispatch { prompt: String },
}

impl Subject {
    /// The payload's `action` this subject comes from; empty for a dispatch.
    pub fn action(&self) -> &'static str {
        match self {
            Subject::Comment(_) => "created",
            Subject::Review(_) => "submitted",
            Subject::IssueOpened { .. } => "opened",
            Subject::IssueLabeled { .. } => "labeled",
            Subject::IssueAssigned { .. } => "assigned",
            Subject::Dispatch { .. } => "",
        }
    }
}

/// The thread as the payload has it (the context stage may know more).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PayloadThread {
    pub is_pull_request: bool,
    pub title: String,
    pub body: String,
    pub author: String,
    pub labels: Vec<String>,
    pub default_branch: Option<String>,
    pub pull: Option<PullInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub login: String,
    /// `type == "Bot"` or a login ending in `[bot]`.
    pub is_bot: bool,
}

/// What the payload says about a pull request (absent for `issue_comment`, whose payload
/// only flags that the issue is a PR; the context stage fills the rest in).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PullInfo {
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    /// `owner/name` of the head repository; `None` when it was deleted.
    pub head_repo: Option<String>,
    pub is_fork: bool,
    pub maintainer_can_modify: bool,
    pub draft: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub repo: Repo,
    /// Issue or pull request number; `None` for a dispatch without `issue-number`.
    pub number: Option<u64>,
    /// Who wrote the triggering text (or labelled, assigned, started the dispatch).
    pub author: Actor,
    pub html_url: Option<String>,
    /// When the triggering text became visible (ISO 8601): `created_at`, or `updated_at` when later
    /// (a review comment appears when its review is submitted). Later comments are not context.
    pub created_at: Option<String>,
    pub subject: Subject,
    pub thread: PayloadThread,
}

impl Trigger {
    /// The event's name, as Actions calls it.
    pub fn event_name(&self) -> &'static str {
        match &self.subject {
            Subject::Comment(c) if c.kind == CommentKind::Review => "pull_request_review_comment",
            Subject::Comment(_) => "issue_comment",
            Subject::Review(_) => "pull_request_review",
            Subject::IssueOpened { .. } | Subject::IssueLabeled { .. } | Subject::IssueAssigned { .. } => "issues",
            Subject::Dispatch { .. } => "workflow_dispatch",
        }
    }

    /// The text that may carry the mention: the comment, review or issue body, the dispatch
    /// prompt; for a label or an assignment, the issue's body.
    pub fn text(&self) -> &str {
        match &self.subject {
            Subject::Comment(c) => &c.body,
            Subject::Review(r) => &r.body,
            Subject::IssueOpened { body, .. } => body,
            Subject::IssueLabeled { .. } | Subject::IssueAssigned { .. } => &self.thread.body,
            Subject::Dispatch { prompt } => prompt,
        }
    }

    /// The triggering comment, when there is one.
    pub fn comment(&self) -> Option<&Comment> {
        match &self.subject {
            Subject::Comment(c) => Some(c),
            _ => None,
        }
    }

    /// The author's association with the repository, for the subjects that have one.
    pub fn association(&self) -> Option<&str> {
        match &self.subject {
            Subject::Comment(Comment { association, .. })
            | Subject::Review(Review { association, .. })
            | Subject::IssueOpened { association, .. } => Some(association),
            _ => None,
        }
    }

    pub fn is_pull_request(&self) -> bool {
        self.thread.is_pull_request
    }
}

/// What the payload (or a manual run's flags) amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    Trigger(Box<Trigger>),
    /// An event we never act on (unknown name, `edited`/`deleted` action, …), with the reason.
    Skip(String),
}

/// Reads the payload named by the config (event name and path, or a manual `--issue`/`--prompt`
/// run). A missing variable or unreadable/malformed payload is a `UsageError`.
///
/// `--issue`/`--prompt` are flags only (never `INPUT_*`), so when they are given they win over
/// any `GITHUB_EVENT_*` left in the environment: the person typing them meant a manual run.
pub fn load(config: &Config) -> Result<Loaded> {
    if let Some(manual) = &config.manual {
        return manual_run(config, manual.issue, manual.prompt.as_deref());
    }
    let usage = |msg: String| anyhow::Error::new(UsageError(msg));
    let Some(name) = config.event_name.as_deref() else {
        return Err(usage(
            "`GITHUB_EVENT_NAME` is not set: pass `--event-name`, or `--issue`/`--prompt` for a manual run".into(),
        ));
    };
    let Some(path) = config.event_path.as_deref() else {
        return Err(usage("`GITHUB_EVENT_PATH` is not set: pass `--event-path` with a saved payload".into()));
    };
    let payload = read_payload(path).map_err(usage)?;
    let mut loaded = parse_value(name, &payload)?;
    if let Loaded::Trigger(trigger) = &mut loaded
        && trigger.repo.owner.is_empty()
    {
        trigger.repo = repo_from(&config.github.repository);
    }
    Ok(loaded)
}

fn read_payload(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the event payload `{}`: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("the event payload `{}` is not valid JSON: {e}", path.display()))
}

/// `--repo O/N --issue N --prompt "…"`: a dispatch with no payload.
fn manual_run(config: &Config, issue: Option<u64>, prompt: Option<&str>) -> Result<Loaded> {
    if config.github.repository.is_empty() {
        return Err(UsageError("a manual run (`--issue`/`--prompt`) needs `--repo owner/name`".into()).into());
    }
    let repo = repo_from(&config.github.repository);
    Ok(Loaded::Trigger(Box::new(dispatch(repo, issue, prompt.unwrap_or_default(), Actor::default()))))
}

/// Parses the payload for `event_name` into a trigger; an event we never act on is an error
/// carrying the skip reason (tests and tools that want the trigger itself).
pub fn parse(event_name: &str, payload: &str) -> Result<Trigger> {
    match parse_event(event_name, payload)? {
        Loaded::Trigger(trigger) => Ok(*trigger),
        Loaded::Skip(reason) => anyhow::bail!("{reason}"),
    }
}

/// Parses the payload for `event_name`: a trigger, or the reason the event is never acted on.
pub fn parse_event(event_name: &str, payload: &str) -> Result<Loaded> {
    let value: Value =
        serde_json::from_str(payload).map_err(|e| UsageError(format!("the event payload is not valid JSON: {e}")))?;
    parse_value(event_name, &value)
}

/// The payload's fields, by path; absent or mistyped fields read as empty.
struct Json<'a>(&'a Value);

impl<'a> Json<'a> {
    fn at(&self, path: &[&str]) -> &'a Value {
        path.iter().fold(self.0, |v, key| v.get(key).unwrap_or(&Value::Null))
    }
    fn str(&self, path: &[&str]) -> String {
        match self.at(path) {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        }
    }
    fn opt(&self, path: &[&str]) -> Option<String> {
        Some(self.str(path)).filter(|s| !s.is_empty())
    }
    fn u64(&self, path: &[&str]) -> Option<u64> {
        match self.at(path) {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().trim_start_matches('#').parse().ok(),
            _ => None,
        }
    }
    fn bool(&self, path: &[&str]) -> bool {
        self.at(path).as_bool().unwrap_or(false)
    }
    fn actor(&self, path: &[&str]) -> Actor {
        let user = Json(self.at(path));
        let login = user.str(&["login"]);
        let is_bot = user.str(&["type"]).eq_ignore_ascii_case("bot") || login.ends_with("[bot]");
        Actor { login, is_bot }
    }
    fn labels(&self, path: &[&str]) -> Vec<String> {
        self.at(path)
            .as_array()
            .map(|labels| labels.iter().filter_map(|l| l.get("name")?.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// Lenient: a malformed name reads as empty, and `load` falls back to `--repo`.
fn repo_from(full_name: &str) -> Repo {
    full_name.parse().unwrap_or_default()
}

fn skip(event_name: &str, action: &str) -> Loaded {
    if action.is_empty() {
        Loaded::Skip(format!("event `{event_name}` is not one sisyphus-action acts on"))
    } else {
        Loaded::Skip(format!("`{event_name}` with action `{action}` never triggers (only new text does)"))
    }
}

fn parse_value(event_name: &str, payload: &Value) -> Result<Loaded> {
    if !KNOWN_EVENTS.contains(&event_name) {
        return Ok(skip(event_name, ""));
    }
    require(event_name, payload, COMMON)?;
    if event_name != "workflow_dispatch" {
        require(event_name, payload, &[("action", Field::Str)])?;
    }
    let p = Json(payload);
    let action = p.str(&["action"]);
    let acting = match event_name {
        "issue_comment" | "pull_request_review_comment" => action == "created",
        "pull_request_review" => action == "submitted",
        "issues" => matches!(action.as_str(), "opened" | "assigned" | "labeled"),
        _ => true,
    };
    if !acting {
        return Ok(skip(event_name, &action));
    }
    require(event_name, payload, fields_for(event_name, &action))?;
    let repo = repo_from(&p.str(&["repository", "full_name"]));
    let trigger = match event_name {
        "workflow_dispatch" => {
            let issue = p.u64(&["inputs", "issue-number"]).or_else(|| p.u64(&["inputs", "issue_number"]));
            let mut t = dispatch(repo, issue, &p.str(&["inputs", "prompt"]), p.actor(&["sender"]));
            t.thread.default_branch = p.opt(&["repository", "default_branch"]);
            t
        }
        "issues" => issue_event(&p, repo, &action),
        _ => comment_event(event_name, &p, repo)?,
    };
    Ok(Loaded::Trigger(Box::new(trigger)))
}

/// Events we may act on; any other event is skipped, as Actions would never send it to us
/// unless the workflow subscribed to it.
const KNOWN_EVENTS: &[&str] =
    &["issue_comment", "pull_request_review_comment", "pull_request_review", "issues", "workflow_dispatch"];

/// What a field the gate or the lifecycle reads must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Str,
    /// GitHub sends `null` for an empty body.
    StrOrNull,
    /// A positive integer (numbers, ids).
    Number,
    /// Absent, `null`, or a string or number that is a positive integer (a dispatch input).
    OptNumber,
    Object,
    ObjectOrNull,
}

type Spec = &'static [(&'static str, Field)];

/// Every webhook payload names its repository and who caused the event.
const COMMON: Spec =
    &[("repository", Field::Object), ("repository.full_name", Field::Str), ("sender.login", Field::Str)];

const ISSUE_COMMENT: Spec = &[
    ("issue", Field::Object),
    ("issue.number", Field::Number),
    ("issue.title", Field::Str),
    ("issue.body", Field::StrOrNull),
    ("issue.user.login", Field::Str),
    ("comment", Field::Object),
    ("comment.id", Field::Number),
    ("comment.body", Field::StrOrNull),
    ("comment.user.login", Field::Str),
    ("comment.author_association", Field::Str),
];

const REVIEW_COMMENT: Spec = &[
    ("pull_request", Field::Object),
    ("pull_request.number", Field::Number),
    ("pull_request.head.ref", Field::Str),
    ("pull_request.head.sha", Field::Str),
    ("pull_request.base.ref", Field::Str),
    ("comment", Field::Object),
    ("comment.id", Field::Number),
    ("comment.body", Field::StrOrNull),
    ("comment.user.login", Field::Str),
    ("comment.author_association", Field::Str),
];

const REVIEW: Spec = &[
    ("pull_request", Field::Object),
    ("pull_request.number", Field::Number),
    ("pull_request.head.ref", Field::Str),
    ("pull_request.head.sha", Field::Str),
    ("pull_request.base.ref", Field::Str),
    ("review", Field::Object),
    ("review.body", Field::StrOrNull),
    ("review.user.login", Field::Str),
    ("review.author_association", Field::Str),
];

const ISSUE_OPENED: Spec = &[
    ("issue", Field::Object),
    ("issue.number", Field::Number),
    ("issue.title", Field::Str),
    ("issue.body", Field::StrOrNull),
    ("issue.user.login", Field::Str),
    ("issue.author_association", Field::Str),
];

const ISSUE_LABELED: Spec = &[
    ("issue", Field::Object),
    ("issue.number", Field::Number),
    ("issue.title", Field::Str),
    ("issue.body", Field::StrOrNull),
    ("label.name", Field::Str),
];

const ISSUE_ASSIGNED: Spec = &[
    ("issue", Field::Object),
    ("issue.number", Field::Number),
    ("issue.title", Field::Str),
    ("issue.body", Field::StrOrNull),
    ("assignee", Field::ObjectOrNull),
];

const DISPATCH: Spec = &[
    ("inputs", Field::ObjectOrNull),
    ("inputs.prompt", Field::StrOrNull),
    ("inputs.issue-number", Field::OptNumber),
    ("inputs.issue_number", Field::OptNumber),
];

fn fields_for(event_name: &str, action: &str) -> Spec {
    match (event_name, action) {
        ("issue_comment", _) => ISSUE_COMMENT,
        ("pull_request_review_comment", _) => REVIEW_COMMENT,
        ("pull_request_review", _) => REVIEW,
        ("issues", "opened") => ISSUE_OPENED,
        ("issues", "labeled") => ISSUE_LABELED,
        ("issues", _) => ISSUE_ASSIGNED,
        _ => DISPATCH,
    }
}

/// Checks that the payload has each field of `spec` with the right type; the error names the
/// first one that is missing or mistyped (a payload replayed under the wrong event name fails
/// here, not later with no number and blank branches).
fn require(event_name: &str, payload: &Value, spec: Spec) -> Result<(), UsageError> {
    if !payload.is_object() {
        return Err(UsageError(format!("the `{event_name}` payload must be a JSON object, got {}", kind_of(payload))));
    }
    for (path, field) in spec {
        let value = path.split('.').try_fold(payload, |v, key| v.get(key)).unwrap_or(&Value::Null);
        let positive = |v: &Value| match v {
            Value::Number(n) => n.as_u64().is_some_and(|n| n > 0),
            Value::String(s) => s.trim().trim_start_matches('#').parse::<u64>().is_ok_and(|n| n > 0),
            _ => false,
        };
        let (ok, wanted) = match field {
            Field::Str => (value.is_string(), "a string"),
            Field::StrOrNull => (value.is_string() || value.is_null(), "a string or null"),
            Field::Number => (value.as_u64().is_some_and(|n| n > 0), "a positive integer"),
            Field::OptNumber => (
                value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) || positive(value),
                "a positive integer",
            ),
            Field::Object => (value.is_object(), "an object"),
            Field::ObjectOrNull => (value.is_object() || value.is_null(), "an object or null"),
        };
        if !ok {
            let found = if value.is_null() { "it is missing".to_owned() } else { format!("it is {}", kind_of(value)) };
            return Err(UsageError(format!(
                "the `{event_name}` payload needs `{path}` ({wanted}), but {found}: is this payload really a `{event_name}` event?"
            )));
        }
    }
    Ok(())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn dispatch(repo: Repo, issue: Option<u64>, prompt: &str, author: Actor) -> Trigger {
    Trigger {
        repo,
        number: issue,
        author,
        html_url: None,
        created_at: None,
        subject: Subject::Dispatch { prompt: prompt.to_owned() },
        thread: PayloadThread::default(),
    }
}

/// `issues`: the issue itself is the triggering text; for `labeled`/`assigned` the actor is the
/// sender (who needs triage rights to do that), so there is no association to check.
fn issue_event(p: &Json<'_>, repo: Repo, action: &str) -> Trigger {
    let issue = Json(p.at(&["issue"]));
    let opened = action == "opened";
    let subject = match action {
        "opened" => {
            Subject::IssueOpened { body: issue.str(&["body"]), association: issue.str(&["author_association"]) }
        }
        "labeled" => Subject::IssueLabeled { label: p.str(&["label", "name"]) },
        _ => Subject::IssueAssigned { assignee: p.str(&["assignee", "login"]) },
    };
    Trigger {
        repo,
        number: issue.u64(&["number"]),
        author: if opened { issue.actor(&["user"]) } else { p.actor(&["sender"]) },
        html_url: issue.opt(&["html_url"]),
        created_at: if opened { issue.opt(&["created_at"]) } else { issue.opt(&["updated_at"]) },
        subject,
        thread: PayloadThread {
            is_pull_request: !issue.at(&["pull_request"]).is_null(),
            title: issue.str(&["title"]),
            body: issue.str(&["body"]),
            author: issue.actor(&["user"]).login,
            labels: issue.labels(&["labels"]),
            default_branch: p.opt(&["repository", "default_branch"]),
            pull: None,
        },
    }
}

/// `issue_comment`, `pull_request_review_comment`, `pull_request_review`.
fn comment_event(event_name: &str, p: &Json<'_>, repo: Repo) -> Result<Trigger> {
    let (kind, text_key, thread_key) = match event_name {
        "issue_comment" => (Some(CommentKind::Issue), "comment", "issue"),
        "pull_request_review_comment" => (Some(CommentKind::Review), "comment", "pull_request"),
        _ => (None, "review", "pull_request"),
    };
    if !p.at(&[text_key]).is_object() {
        return Err(UsageError(format!("the `{event_name}` payload has no `{text_key}` object")).into());
    }
    let text = Json(p.at(&[text_key]));
    let thread = Json(p.at(&[thread_key]));
    let pull = (thread_key == "pull_request").then(|| pull_info(&thread, &repo));
    let (body, association) = (text.str(&["body"]), text.str(&["author_association"]));
    // A review comment written in a pending review becomes visible (and fires this event) when
    // the review is submitted: `updated_at`, not `created_at`. Edits never get here.
    let (subject, created_at) = match kind {
        Some(kind) => (
            Subject::Comment(Comment {
                id: text
                    .u64(&["id"])
                    .ok_or_else(|| UsageError(format!("the `{event_name}` payload's comment has no `id`")))?,
                kind,
                html_url: text.str(&["html_url"]),
                created_at: text.str(&["created_at"]),
                body,
                association,
            }),
            text.opt(&["created_at"]).max(text.opt(&["updated_at"])),
        ),
        None => (Subject::Review(Review { body, association }), text.opt(&["submitted_at"])),
    };
    Ok(Trigger {
        repo,
        number: thread.u64(&["number"]),
        author: text.actor(&["user"]),
        html_url: text.opt(&["html_url"]),
        created_at,
        subject,
        thread: PayloadThread {
            is_pull_request: pull.is_some() || !thread.at(&["pull_request"]).is_null(),
            title: thread.str(&["title"]),
            body: thread.str(&["body"]),
            author: thread.actor(&["user"]).login,
            labels: thread.labels(&["labels"]),
            default_branch: p.opt(&["repository", "default_branch"]),
            pull,
        },
    })
}

fn pull_info(pr: &Json<'_>, base_repo: &Repo) -> PullInfo {
    let head_repo = pr.opt(&["head", "repo", "full_name"]);
    let base = pr.opt(&["base", "repo", "full_name"]).unwrap_or_else(|| base_repo.full_name());
    PullInfo {
        head_ref: pr.str(&["head", "ref"]),
        head_sha: pr.str(&["head", "sha"]),
        base_ref: pr.str(&["base", "ref"]),
        // A deleted head repository is treated as a fork: there is nowhere safe to push.
        is_fork: head_repo.as_deref().is_none_or(|h| !h.eq_ignore_ascii_case(&base)),
        head_repo,
        maintainer_can_modify: pr.bool(&["maintainer_can_modify"]),
        draft: pr.bool(&["draft"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(event: &str, payload: serde_json::Value) -> Trigger {
        parse(event, &payload.to_string()).unwrap()
    }

    #[test]
    fn issue_comment_on_a_pull_request_is_a_pr() {
        let t = trigger(
            "issue_comment",
            serde_json::json!({
                "action": "created",
                "issue": {"number": 7, "title": "T", "pull_request": {"url": "x"}, "user": {"login": "a"}},
                "comment": {"id": 9, "body": "hi", "user": {"login": "dependabot[bot]", "type": "User"},
                            "author_association": "NONE", "created_at": "2020-01-01T00:00:00Z"},
                "repository": {"full_name": "o/r", "default_branch": "trunk"}, "sender": {"login": "a"}
            }),
        );
        assert!(t.is_pull_request());
        assert!(t.author.is_bot, "a login ending in [bot] is a bot");
        assert_eq!(t.number, Some(7));
        assert_eq!(t.repo.full_name(), "o/r");
        assert_eq!(t.thread.default_branch.as_deref(), Some("trunk"));
        assert_eq!((t.event_name(), t.subject.action()), ("issue_comment", "created"));
        assert_eq!(t.comment().unwrap().kind, CommentKind::Issue);
        assert_eq!(t.created_at.as_deref(), Some("2020-01-01T00:00:00Z"));
    }

    #[test]
    fn dispatch_uses_the_prompt_and_the_issue_number() {
        let t = trigger(
            "workflow_dispatch",
            serde_json::json!({"inputs": {"prompt": "do it", "issue-number": "12"}, "repository": {"full_name": "o/r"},
                               "sender": {"login": "a"}}),
        );
        assert_eq!((&t.subject, t.number), (&Subject::Dispatch { prompt: "do it".into() }, Some(12)));
    }

    #[test]
    fn each_event_becomes_its_subject_and_names_itself_as_actions_does() {
        let issue = serde_json::json!({"number": 4, "title": "T", "body": "the issue", "user": {"login": "i"},
                                       "author_association": "MEMBER"});
        let pull = serde_json::json!({"number": 5, "head": {"ref": "h", "sha": "s"}, "base": {"ref": "main"}});
        let text = serde_json::json!({"id": 9, "body": "hi", "user": {"login": "a"}, "author_association": "OWNER"});
        let cases = [
            ("issues", "opened", serde_json::json!({"issue": issue})),
            ("issues", "labeled", serde_json::json!({"issue": issue, "label": {"name": "sisyphus"}})),
            ("issues", "assigned", serde_json::json!({"issue": issue, "assignee": {"login": "bot"}})),
            ("pull_request_review", "submitted", serde_json::json!({"pull_request": pull, "review": text})),
            ("pull_request_review_comment", "created", serde_json::json!({"pull_request": pull, "comment": text})),
        ];
        for (event, action, extra) in cases {
            let mut payload = base(action);
            payload.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let t = trigger(event, payload);
            assert_eq!((t.event_name(), t.subject.action()), (event, action));
            let (text, association) = match &t.subject {
                Subject::IssueOpened { body, association } => (body.as_str(), Some(association.as_str())),
                Subject::IssueLabeled { label } => (label.as_str(), None),
                Subject::IssueAssigned { assignee } => (assignee.as_str(), None),
                Subject::Review(r) => (r.body.as_str(), Some(r.association.as_str())),
                Subject::Comment(c) => (c.body.as_str(), Some(c.association.as_str())),
                Subject::Dispatch { .. } => panic!("{event}: a dispatch"),
            };
            let expected = match action {
                "opened" => ("the issue", Some("MEMBER")),
                "labeled" => ("sisyphus", None),
                "assigned" => ("bot", None),
                _ => ("hi", Some("OWNER")),
            };
            assert_eq!((text, association), expected, "{event}");
            assert_eq!(t.association(), association, "{event}");
            assert_eq!(t.is_pull_request(), event != "issues", "{event}");
            // A label or an assignment asks for what the issue asks for: its body is the text.
            let want = if association.is_none() { "the issue" } else { text };
            assert_eq!(t.text(), want, "{event}");
        }
    }

    fn base(action: &str) -> serde_json::Value {
        serde_json::json!({"action": action, "repository": {"full_name": "o/r"}, "sender": {"login": "a"}})
    }

    #[test]
    fn non_acting_actions_and_unknown_events_skip() {
        for (event, action) in
            [("issue_comment", "edited"), ("issues", "unlabeled"), ("pull_request_review", "dismissed"), ("push", "")]
        {
            let loaded = parse_event(event, &base(action).to_string()).unwrap();
            assert!(matches!(loaded, Loaded::Skip(ref r) if r.contains(event)), "{event}/{action}: {loaded:?}");
        }
        // An unknown event is skipped whatever its payload.
        assert!(matches!(parse_event("star", "[]").unwrap(), Loaded::Skip(_)));
    }

    #[test]
    fn mistyped_required_fields_are_usage_errors_and_optional_ones_are_not() {
        let mut p = base("opened");
        p["issue"] =
            serde_json::json!({"number": "x", "title": "t", "user": {"login": "a"}, "author_association": "OWNER"});
        let e = parse_event("issues", &p.to_string()).unwrap_err();
        assert!(e.is::<UsageError>() && e.to_string().contains("`issue.number` (a positive integer)"), "{e}");
        p["issue"]["number"] = 3.into();
        p["issue"]["labels"] = 3.into();
        let t = trigger("issues", p);
        assert_eq!((t.number, t.thread.labels.len()), (Some(3), 0));
    }

    #[test]
    fn payloads_that_are_not_the_event_they_claim_are_usage_errors() {
        let comment = serde_json::json!({
            "action": "created", "repository": {"full_name": "o/r"}, "sender": {"login": "a"},
            "issue": {"number": 1, "title": "t", "body": null, "user": {"login": "a"}},
            "comment": {"id": 9, "body": "hi", "user": {"login": "a"}, "author_association": "OWNER"}
        });
        assert!(parse_event("issue_comment", &comment.to_string()).is_ok());
        let e = parse_event("pull_request_review_comment", &comment.to_string()).unwrap_err();
        assert!(e.to_string().contains("`pull_request`"), "{e}");
        for (event, payload, field) in [
            ("issue_comment", "[]", "must be a JSON object, got an array"),
            ("issues", "null", "must be a JSON object, got null"),
            ("issue_comment", "{}", "`repository`"),
            ("workflow_dispatch", "{}", "`repository`"),
            ("pull_request_review", "\"x\"", "got a string"),
        ] {
            let e = parse_event(event, payload).unwrap_err();
            assert!(e.is::<UsageError>() && e.to_string().contains(field), "{event} {payload}: {e}");
        }
        let mut no_action = base("");
        no_action.as_object_mut().unwrap().remove("action");
        let e = parse_event("issue_comment", &no_action.to_string()).unwrap_err();
        assert!(e.to_string().contains("`action` (a string)"), "{e}");
    }
}
