//! OpenCode `/event` payloads (`{id, type, properties}`) → the few typed events the runtime
//! acts on. Shapes as observed on OpenCode 1.18.33 (see the recorded streams in
//! `tests/fixtures/opencode/`). Anything else — and anything malformed — is `Other`: an event we
//! do not understand must never stop the run, only fail to advance it.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::runtime::Todo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Busy,
    /// The model call failed and is retried; `attempt` counts from 1, `message` is OpenCode's
    /// reason (the provider's error text, e.g. `fake upstream exploded`).
    Retry {
        attempt: u32,
        message: String,
    },
    Idle,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text {
        id: String,
        message_id: String,
        text: String,
    },
    StepStart {
        id: String,
    },
    Tool {
        tool: String,
        call_id: String,
        status: String,
        preview: String,
        error: Option<String>,
    },
    /// Files (absolute paths) a step changed.
    Patch {
        files: Vec<String>,
    },
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connected,
    Heartbeat,
    SessionCreated {
        id: String,
        parent: Option<String>,
    },
    Status {
        session: String,
        status: Status,
    },
    /// `session.idle` (deprecated twin of `session.status idle`; sometimes sent twice).
    Idle {
        session: String,
    },
    /// `session.error`; `session` is missing for errors not tied to a session.
    Error {
        session: Option<String>,
        name: String,
        message: String,
    },
    MessageUpdated {
        session: String,
        id: String,
        role: String,
        usage: Option<MessageUsage>,
    },
    PartUpdated {
        session: String,
        part: Part,
    },
    TextDelta {
        session: String,
        message_id: String,
        part_id: String,
        delta: String,
    },
    TodoUpdated {
        session: String,
        todos: Vec<Todo>,
    },
    PermissionAsked {
        id: String,
        session: String,
        permission: String,
        patterns: Vec<String>,
    },
    QuestionAsked {
        id: String,
        session: String,
    },
    Other(String),
}

/// Token and cost totals of one assistant message (re-sent with every update).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MessageUsage {
    pub input: u64,
    pub output: u64,
    pub cost: f64,
}

fn str_at(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// At most `max` characters of `s` on one line, `…` included.
pub use crate::text::excerpt_line as excerpt;

pub fn todos_from(v: &Value) -> Vec<Todo> {
    v.as_array()
        .map(|items| {
            items.iter().map(|t| Todo { content: str_at(t, "content"), status: str_at(t, "status") }).collect()
        })
        .unwrap_or_default()
}

/// A short, single-line view of a tool's input: the field a reader recognises the call by.
fn tool_preview(input: &Value) -> String {
    for key in ["command", "filePath", "pattern", "description", "url", "query", "path"] {
        if let Some(s) = input.get(key).and_then(Value::as_str) {
            return excerpt(s, 80);
        }
    }
    if let Some(todos) = input.get("todos").and_then(Value::as_array) {
        return format!("{} todos", todos.len());
    }
    String::new()
}

fn part(p: &Value) -> Part {
    match p.get("type").and_then(Value::as_str).unwrap_or_default() {
        "text" => Part::Text { id: str_at(p, "id"), message_id: str_at(p, "messageID"), text: str_at(p, "text") },
        "step-start" => Part::StepStart { id: str_at(p, "id") },
        "tool" => {
            let state = p.get("state").unwrap_or(&Value::Null);
            Part::Tool {
                tool: str_at(p, "tool"),
                call_id: str_at(p, "callID"),
                status: str_at(state, "status"),
                preview: state.get("input").map(tool_preview).unwrap_or_default(),
                error: state.get("error").and_then(Value::as_str).map(|e| excerpt(e, 200)),
            }
        }
        "patch" => Part::Patch {
            files: p
                .get("files")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        },
        _ => Part::Other,
    }
}

/// A short message for an error object (`{name, data:{message, statusCode?}}`).
fn error_message(error: &Value) -> String {
    let data = error.get("data").unwrap_or(&Value::Null);
    let message = data.get("message").and_then(Value::as_str).unwrap_or_default();
    let message = match data.get("statusCode").and_then(Value::as_u64) {
        Some(code) => format!("HTTP {code}: {message}"),
        None => message.to_owned(),
    };
    excerpt(&message, 300)
}

/// A failure that repeating cannot fix: the run stops at once instead of retrying until the
/// timeout, and the reply says which of our inputs to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The provider refused the key (401/403) or there is none.
    Auth,
    /// The provider does not know the model (404, `model_not_found`).
    UnknownModel,
    /// The provider's address cannot be reached (refused, no such host): a bad base URL.
    Connection,
}

impl ErrorClass {
    /// The `kind` of the failure it ends a run with.
    pub fn kind(&self) -> &str {
        match self {
            ErrorClass::Auth => "AuthError",
            ErrorClass::UnknownModel => "UnknownModel",
            ErrorClass::Connection => "ConnectionError",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        [ErrorClass::Auth, ErrorClass::UnknownModel, ErrorClass::Connection].into_iter().find(|c| c.kind() == kind)
    }
}

/// What an error's name and text (a retry's reason or a `session.error`) say about its cause,
/// from the wording of OpenCode 1.18.33, the AI SDK and the providers' error bodies. `None`
/// for anything that may pass (overload, rate limits, 5xx) or that we do not recognise.
pub fn classify(name: &str, message: &str) -> Option<ErrorClass> {
    let text = format!("{name} {message}").to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if any(&[
        "http 401",
        "http 403",
        "unauthorized",
        "invalid_api_key",
        "invalid api key",
        "incorrect api key",
        "invalid x-api-key",
        "authentication_error",
        "api key is missing",
        "loadapikeyerror",
        "providerautherror",
        "permission_denied",
    ]) {
        return Some(ErrorClass::Auth);
    }
    if any(&["model_not_found", "providermodelnotfounderror", "model not found", "unknown model"])
        || (text.contains("model") && any(&["http 404", "does not exist", "not_found_error", "not found"]))
    {
        return Some(ErrorClass::UnknownModel);
    }
    if any(&[
        "econnrefused",
        "connection refused",
        "unable to connect",
        "cannot connect",
        "enotfound",
        "getaddrinfo",
        "fetch failed",
        "failed to fetch",
        "typo in the url",
    ]) {
        return Some(ErrorClass::Connection);
    }
    None
}

/// Where oh-my-opencode records background work of a session it may still resume:
/// `<workdir>/.omo/run-continuation/<session>.json` (its `run-continuation-state` feature).
pub fn marker_path(workdir: &std::path::Path, session: &str) -> std::path::PathBuf {
    workdir.join(".omo").join("run-continuation").join(format!("{session}.json"))
}

/// The sources of a marker file that are `active`, as `source: reason`. The plugin (4.19.4)
/// writes `{sessionID, updatedAt, sources: {<source>: {state, reason?, updatedAt}}}` with
/// `state` ∈ `active`, `idle`, `stopped`; e.g. `background-task` stays `active` while its
/// tasks run and until their result has been handed back to the parent session. Anything
/// unreadable counts as nothing active: the deadline bounds the run either way.
pub fn active_sources(marker: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(marker) else { return Vec::new() };
    let Some(sources) = v.get("sources").and_then(Value::as_object) else { return Vec::new() };
    sources
        .iter()
        .filter(|(_, s)| s.get("state").and_then(Value::as_str) == Some("active"))
        .map(|(name, s)| match s.get("reason").and_then(Value::as_str) {
            Some(reason) => format!("{name}: {}", excerpt(reason, 120)),
            None => name.clone(),
        })
        .collect()
}

/// The event's `type`, read from the text without parsing it, when it comes first-ish in the
/// compact JSON OpenCode sends (`{"id":…,"type":"…"`); `None` otherwise. A hint only: the
/// decoders check the type they parse.
pub fn peek_kind(data: &str) -> Option<&str> {
    let head = data.get(..data.len().min(200)).unwrap_or(data);
    let at = head.find("\"type\":\"")?;
    let rest = &head[at + 8..];
    rest.find('"').map(|end| &rest[..end])
}

/// `message.part.delta`, the event that comes by the hundred while a model streams: decoded
/// straight from the text, without a `Value` tree. Anything this shape does not fit exactly
/// (a missing `properties`, a non-string field, a duplicate key) takes the general path.
#[derive(Deserialize)]
pub struct DeltaEvent<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    pub properties: DeltaProperties<'a>,
}

#[derive(Deserialize)]
pub struct DeltaProperties<'a> {
    #[serde(borrow, rename = "sessionID", default)]
    pub session: Cow<'a, str>,
    #[serde(borrow, rename = "messageID", default)]
    pub message: Cow<'a, str>,
    #[serde(borrow, rename = "partID", default)]
    pub part: Cow<'a, str>,
    #[serde(borrow, default)]
    pub field: Cow<'a, str>,
    #[serde(borrow, default)]
    pub delta: Cow<'a, str>,
}

impl<'a> DeltaEvent<'a> {
    /// A `message.part.delta` decoded on the fast path, borrowing from `data`; `None` when
    /// `data` is another event or does not fit the shape exactly (the general path decides).
    pub fn decode(data: &'a str) -> Option<Self> {
        if peek_kind(data) != Some("message.part.delta") {
            return None;
        }
        serde_json::from_str::<DeltaEvent>(data).ok().filter(|d| d.kind == "message.part.delta")
    }

    pub fn into_event(self) -> Event {
        let p = self.properties;
        if p.field == "text" {
            Event::TextDelta {
                session: p.session.into_owned(),
                message_id: p.message.into_owned(),
                part_id: p.part.into_owned(),
                delta: p.delta.into_owned(),
            }
        } else {
            Event::Other(self.kind.into_owned())
        }
    }
}

impl Event {
    /// One event's JSON text; `None` when it is not JSON.
    pub fn from_json(data: &str) -> Option<Event> {
        if let Some(delta) = DeltaEvent::decode(data) {
            return Some(delta.into_event());
        }
        serde_json::from_str::<Value>(data).ok().map(|v| Event::parse(&v))
    }

    pub fn parse(v: &Value) -> Event {
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let p = v.get("properties").unwrap_or(&Value::Null);
        let session = || str_at(p, "sessionID");
        match kind {
            "server.connected" => Event::Connected,
            "server.heartbeat" => Event::Heartbeat,
            "session.created" => {
                let info = p.get("info").unwrap_or(&Value::Null);
                let id = Some(str_at(info, "id")).filter(|s| !s.is_empty()).unwrap_or_else(session);
                Event::SessionCreated { id, parent: info.get("parentID").and_then(Value::as_str).map(str::to_owned) }
            }
            "session.status" => {
                let status = p.get("status").unwrap_or(&Value::Null);
                let status = match status.get("type").and_then(Value::as_str) {
                    Some("busy") => Status::Busy,
                    Some("idle") => Status::Idle,
                    Some("retry") => Status::Retry {
                        attempt: status.get("attempt").and_then(Value::as_u64).map_or(1, |a| a as u32),
                        message: excerpt(&str_at(status, "message"), 300),
                    },
                    _ => return Event::Other(kind.to_owned()),
                };
                Event::Status { session: session(), status }
            }
            "session.idle" => Event::Idle { session: session() },
            "session.error" => {
                let error = p.get("error").unwrap_or(&Value::Null);
                Event::Error {
                    session: p.get("sessionID").and_then(Value::as_str).map(str::to_owned),
                    name: Some(str_at(error, "name"))
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "UnknownError".into()),
                    message: error_message(error),
                }
            }
            "message.updated" => {
                let info = p.get("info").unwrap_or(&Value::Null);
                let role = str_at(info, "role");
                let usage = (role == "assistant").then(|| {
                    let tokens = info.get("tokens").unwrap_or(&Value::Null);
                    let n = |k: &str| tokens.get(k).and_then(Value::as_u64).unwrap_or(0);
                    MessageUsage {
                        input: n("input"),
                        output: n("output") + n("reasoning"),
                        cost: info.get("cost").and_then(Value::as_f64).unwrap_or(0.0),
                    }
                });
                let s = Some(str_at(info, "sessionID")).filter(|s| !s.is_empty()).unwrap_or_else(session);
                Event::MessageUpdated { session: s, id: str_at(info, "id"), role, usage }
            }
            "message.part.updated" => {
                let p_part = p.get("part").unwrap_or(&Value::Null);
                let s = Some(str_at(p_part, "sessionID")).filter(|s| !s.is_empty()).unwrap_or_else(session);
                Event::PartUpdated { session: s, part: part(p_part) }
            }
            "message.part.delta" if p.get("field").and_then(Value::as_str) == Some("text") => Event::TextDelta {
                session: session(),
                message_id: str_at(p, "messageID"),
                part_id: str_at(p, "partID"),
                delta: str_at(p, "delta"),
            },
            "todo.updated" => {
                Event::TodoUpdated { session: session(), todos: todos_from(p.get("todos").unwrap_or(&Value::Null)) }
            }
            "permission.asked" => Event::PermissionAsked {
                id: str_at(p, "id"),
                session: session(),
                permission: str_at(p, "permission"),
                patterns: p
                    .get("patterns")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
            },
            "question.asked" => Event::QuestionAsked { id: str_at(p, "id"), session: session() },
            _ => Event::Other(kind.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_events_we_act_on() {
        let e = Event::parse(
            &json!({"type":"session.status","properties":{"sessionID":"s","status":{"type":"retry","attempt":3}}}),
        );
        assert_eq!(
            e,
            Event::Status { session: "s".into(), status: Status::Retry { attempt: 3, message: String::new() } }
        );
        let e = Event::parse(
            &json!({"type":"session.error","properties":{"sessionID":"s","error":{"name":"APIError","data":{"message":"bad","statusCode":400}}}}),
        );
        assert_eq!(
            e,
            Event::Error { session: Some("s".into()), name: "APIError".into(), message: "HTTP 400: bad".into() }
        );
        let e = Event::parse(
            &json!({"type":"session.created","properties":{"sessionID":"c","info":{"id":"c","parentID":"r"}}}),
        );
        assert_eq!(e, Event::SessionCreated { id: "c".into(), parent: Some("r".into()) });
    }

    #[test]
    fn malformed_events_are_other() {
        assert_eq!(Event::parse(&json!(42)), Event::Other(String::new()));
        assert_eq!(
            Event::parse(&json!({"type":"session.status","properties":{"status":{"type":"weird"}}})),
            Event::Other("session.status".into())
        );
    }

    #[test]
    fn text_deltas_decode_alike_on_both_paths() {
        for text in [
            r#"{"id":"e","type":"message.part.delta","properties":{"sessionID":"s","messageID":"m","partID":"p","field":"text","delta":"a \"b\"\n"}}"#,
            r#"{"type":"message.part.delta","properties":{"sessionID":"s","field":"reasoning","delta":"x"}}"#,
            r#"{"type":"message.part.delta","properties":{"sessionID":"s","field":"text","delta":null}}"#,
            r#"{"type":"message.part.delta","properties":{"sessionID":"s","field":"text","field":"x"}}"#,
            r#"{"type":"message.part.delta"}"#,
            r#"{"type":"session.idle","properties":{"sessionID":"s","field":"text","delta":"x"}}"#,
        ] {
            let general = Event::parse(&serde_json::from_str(text).unwrap());
            assert_eq!(Event::from_json(text), Some(general), "{text}");
        }
        assert_eq!(Event::from_json("{not json"), None);
    }

    #[test]
    fn retries_carry_their_reason() {
        let e = Event::parse(&json!({"type":"session.status","properties":{"sessionID":"s",
            "status":{"type":"retry","attempt":2,"message":"fake upstream exploded","next":1795225729781_u64}}}));
        let status = Status::Retry { attempt: 2, message: "fake upstream exploded".into() };
        assert_eq!(e, Event::Status { session: "s".into(), status });
    }

    #[test]
    fn hopeless_errors_are_told_from_passing_ones() {
        use ErrorClass::*;
        for (name, message, class) in [
            ("APIError", "HTTP 401: Incorrect API key provided: sk-xx***xx.", Some(Auth)),
            ("APIError", "HTTP 403: Forbidden", Some(Auth)),
            ("UnknownError", "Anthropic API key is missing. Pass it using the 'apiKey' parameter", Some(Auth)),
            ("ProviderAuthError", "", Some(Auth)),
            (
                "APIError",
                "HTTP 404: The model `gpt-9` does not exist or you do not have access to it.",
                Some(UnknownModel),
            ),
            ("UnknownError", "ProviderModelNotFoundError: nonsense", Some(UnknownModel)),
            ("", "Cannot connect to API: Unable to connect. Is the computer able to access the url?", Some(Connection)),
            ("", "fetch failed: getaddrinfo ENOTFOUND api.example.invalid", Some(Connection)),
            ("APIError", "HTTP 500: fake upstream exploded", None),
            ("", "Provider is overloaded", None),
            ("", "Rate Limited", None),
            ("UnknownError", "Agent not found: \"sisyphus\". Available agents: build, plan", None),
        ] {
            assert_eq!(classify(name, message), class, "{name}: {message}");
        }
        assert_eq!(ErrorClass::from_kind(Auth.kind()), Some(Auth));
        assert_eq!(ErrorClass::from_kind("APIError"), None);
    }

    #[test]
    fn the_plugins_marker_lists_its_active_sources() {
        // As oh-my-opencode 4.19.4 writes it (`setContinuationMarkerSource`).
        let marker = r#"{
          "sessionID": "ses_1",
          "updatedAt": "2026-12-01T23:00:00.000Z",
          "sources": {
            "background-task": {"state": "active", "reason": "2 background task(s) active", "updatedAt": "x"},
            "stop": {"state": "idle", "updatedAt": "x"}
          }
        }"#;
        assert_eq!(active_sources(marker), ["background-task: 2 background task(s) active"]);
        let idle = marker.replace("\"active\"", "\"idle\"");
        assert_eq!(active_sources(&idle), [] as [String; 0]);
        for junk in ["", "{", "[]", r#"{"sources": 3}"#, r#"{"sources": {"x": {"state": 1}}}"#] {
            assert_eq!(active_sources(junk), [] as [String; 0], "{junk}");
        }
        let path = marker_path(std::path::Path::new("/w"), "ses_1");
        assert_eq!(path, std::path::Path::new("/w/.omo/run-continuation/ses_1.json"));
    }

    #[test]
    fn excerpt_cuts_on_chars() {
        assert_eq!(excerpt("héllo\n  world", 8), "héllo…");
        assert_eq!(excerpt("short", 10), "short");
    }
}
