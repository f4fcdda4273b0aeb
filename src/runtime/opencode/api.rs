//! The OpenCode HTTP API (v1 routes, as the official SDK uses them), over ureq on loopback:
//! Basic auth, no proxy (a `*_PROXY` variable must not reroute 127.0.0.1), bounded timeouts on
//! every call except the event stream, which a reader thread follows into a channel.
//!
//! Only requests; deciding what to request is `completion.rs`'s and `mod.rs`'s business.

use std::collections::HashSet;
use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use super::Note;
use super::completion::Snapshot;
use super::events::{DeltaEvent, Event, peek_kind, todos_from};
use super::sse::Parser;
use crate::runtime::Todo;

/// How long `GET /event` may take to answer its head (see `Api::subscribe`).
const EVENT_HEAD_WAIT: Duration = Duration::from_secs(180);

/// What the event-stream reader thread sends.
#[derive(Debug)]
pub enum StreamNote {
    /// The events one read made ready: a burst costs the driver one wake-up, not one per event,
    /// and a read of text deltas that completes no line costs it none (see `Decoder`).
    Events(Vec<Event>),
    /// The stream ended (EOF or error) — the detail says which.
    Ended(String),
}

#[derive(Clone)]
pub struct Api {
    agent: ureq::Agent,
    base: String,
    auth: String,
    /// Requests made (the event stream not counted): the benchmark's "requests while working".
    calls: Arc<AtomicUsize>,
}

/// RFC 4648 base64, for one Basic auth header.
fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

fn path_segment(id: &str) -> String {
    // Session and permission ids are `ses_…`/`per_…`; refuse anything that could change the path.
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect()
}

impl Api {
    pub fn new(base: &str, user: &str, password: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Self {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            auth: format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
            calls: Arc::default(),
        }
    }

    /// Requests made so far, the event stream not counted.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn check(what: &str, response: ureq::http::Response<ureq::Body>) -> Result<ureq::http::Response<ureq::Body>> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let mut response = response;
        let body = response.body_mut().read_to_string().unwrap_or_default();
        bail!("{what} answered HTTP {status}: {}", super::events::excerpt(&body, 300))
    }

    fn get_json(&self, path: &str) -> Result<Value> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response = self
            .agent
            .get(self.url(path))
            .header("Authorization", &self.auth)
            .call()
            .with_context(|| format!("cannot reach the OpenCode server for `GET {path}`"))?;
        let mut response = Self::check(&format!("`GET {path}`"), response)?;
        response.body_mut().read_json().with_context(|| format!("`GET {path}` did not answer JSON"))
    }

    fn post_json(&self, path: &str, body: &Value) -> Result<ureq::http::Response<ureq::Body>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response = self
            .agent
            .post(self.url(path))
            .header("Authorization", &self.auth)
            .send_json(body)
            .with_context(|| format!("cannot reach the OpenCode server for `POST {path}`"))?;
        Self::check(&format!("`POST {path}`"), response)
    }

    /// `POST /session` → the session id.
    pub fn create_session(&self, title: &str) -> Result<String> {
        let mut response = self.post_json("/session", &json!({"title": title}))?;
        let session: Value = response.body_mut().read_json().context("`POST /session` did not answer JSON")?;
        match session.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => bail!("`POST /session` answered without a session id"),
        }
    }

    /// `POST /session/{id}/prompt_async` (204, returns before the work starts).
    pub fn prompt(&self, session: &str, body: &Value) -> Result<()> {
        self.post_json(&format!("/session/{}/prompt_async", path_segment(session)), body)?;
        Ok(())
    }

    pub fn abort(&self, session: &str) -> Result<()> {
        self.post_json(&format!("/session/{}/abort", path_segment(session)), &json!({}))?;
        Ok(())
    }

    /// Rejects with a message: OpenCode then fails just that tool call and the loop continues
    /// (a reject without message stops the whole session).
    pub fn reject_permission(&self, id: &str) -> Result<()> {
        let body = json!({
            "reply": "reject",
            "message": "This run is headless (GitHub Actions): nobody can approve this request, and it is not \
                        allowed. Continue without it, within the working directory.",
        });
        self.post_json(&format!("/permission/{}/reply", path_segment(id)), &body)?;
        Ok(())
    }

    pub fn reject_question(&self, id: &str) -> Result<()> {
        self.post_json(&format!("/question/{}/reject", path_segment(id)), &json!({}))?;
        Ok(())
    }

    /// `GET /agent`: every agent the server knows, plugins' included.
    pub fn agents(&self) -> Result<Value> {
        self.get_json("/agent")
    }

    pub fn todos(&self, session: &str) -> Result<Vec<Todo>> {
        Ok(todos_from(&self.get_json(&format!("/session/{}/todo", path_segment(session)))?))
    }

    /// Status, todos and the whole descendant tree: the answer to `Action::Recheck`.
    /// The three independent requests run concurrently: this sits between the final idle and
    /// the outcome, so its latency is the run's.
    pub fn snapshot(&self, root: &str) -> Result<Snapshot> {
        let (status, todos, children) = std::thread::scope(|scope| {
            let status = scope.spawn(|| self.get_json("/session/status"));
            let todos = scope.spawn(|| self.todos(root));
            let children = self.descendants(root);
            let join = |e: Box<dyn std::any::Any + Send>| anyhow::anyhow!("a re-check thread panicked: {e:?}");
            (status.join().map_err(join), todos.join().map_err(join), children)
        });
        let busy: HashSet<String> = status??
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, s)| s.get("type").and_then(Value::as_str) != Some("idle"))
                    .map(|(id, _)| id.clone())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Snapshot { busy, todos: todos??, children: children? })
    }

    /// `(child, parent)` for the whole tree under `root`.
    fn descendants(&self, root: &str) -> Result<Vec<(String, String)>> {
        let mut children = Vec::new();
        let mut queue = vec![root.to_owned()];
        // Bounded: a tree of subagents is small; a cycle or a runaway must not spin here.
        while let Some(parent) = queue.pop()
            && children.len() < 500
        {
            let list = self.get_json(&format!("/session/{}/children", path_segment(&parent)))?;
            for child in list.as_array().into_iter().flatten() {
                if let Some(id) = child.get("id").and_then(Value::as_str)
                    && !children.iter().any(|(c, _)| c == id)
                {
                    children.push((id.to_owned(), parent.clone()));
                    queue.push(id.to_owned());
                }
            }
        }
        Ok(children)
    }

    /// Opens `GET /event` and follows it on a thread until it ends; every event goes to `tx`.
    /// Returns once the server answered the subscription (not when `server.connected` arrived).
    pub fn subscribe(&self, tx: Sender<Note>) -> Result<()> {
        let response = self
            .agent
            .get(self.url("/event"))
            .header("Authorization", &self.auth)
            .header("Accept", "text/event-stream")
            .config()
            // The stream lasts the whole turn, but reaching the server and its answer's head do
            // not: a server that accepts and never answers must not hold the run to its deadline.
            // The head comes only once the server has set up its instance for the work tree, which
            // loads the plugins: seconds on a runner, but over a minute on a loaded 2-core machine
            // with oh-my-opencode (seen), hence a bound well above that.
            .timeout_global(None)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(EVENT_HEAD_WAIT))
            .build()
            .call()
            .context("cannot reach the OpenCode server for `GET /event`")?;
        let response = Self::check("`GET /event`", response)?;
        let mut reader = response.into_body().into_reader();
        std::thread::spawn(move || {
            let mut decoder = Decoder::default();
            let mut buf = vec![0u8; 16 * 1024];
            let end = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break "the event stream ended".to_owned(),
                    Ok(n) => {
                        let events = decoder.feed(&buf[..n]);
                        if !events.is_empty() && tx.send(Note::Stream(StreamNote::Events(events))).is_err() {
                            return; // the driver is gone
                        }
                    }
                    Err(e) => break format!("the event stream failed: {e}"),
                }
            };
            if let Some(held) = decoder.finish() {
                let _ = tx.send(Note::Stream(StreamNote::Events(vec![held])));
            }
            let _ = tx.send(Note::Stream(StreamNote::Ended(end)));
        });
        Ok(())
    }
}

/// The event stream's bytes → the events we act on (SSE frames, noise dropped, JSON decoded).
///
/// Text deltas are held back and merged until their line is complete: a model streams a word
/// every few hundred ms, and forwarding each one would wake the driver thread per word (that
/// wake-up was most of our CPU during a turn). Nothing acts on a partial line — the transcript
/// logs whole lines and the completion machine ignores deltas except as liveness, which
/// heartbeats give — and any other event, a newline, a large backlog or the end of the stream
/// forwards the held text first, so order and content are unchanged.
#[derive(Debug, Default)]
pub struct Decoder {
    parser: Parser,
    held: Option<Event>,
}

/// Held delta text beyond this is forwarded even without a newline.
const MAX_HELD_BYTES: usize = 64 * 1024;

impl Decoder {
    /// Feeds one read's bytes; returns the events ready to forward.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        let held = &mut self.held;
        self.parser.feed_with(chunk, |frame| Self::take(held, &frame.data, &mut out));
        out
    }

    fn take(held: &mut Option<Event>, data: &str, out: &mut Vec<Event>) {
        if peek_kind(data).is_some_and(|kind| NOISE.contains(&kind)) {
            return;
        }
        // The common case — the next words of the held part — appends without allocating.
        let fast = DeltaEvent::decode(data);
        let appended = match (held.as_mut(), &fast) {
            (Some(Event::TextDelta { session, message_id, part_id, delta }), Some(d))
                if d.properties.field == "text"
                    && *session == d.properties.session
                    && *message_id == d.properties.message
                    && *part_id == d.properties.part =>
            {
                delta.push_str(&d.properties.delta);
                true
            }
            _ => false,
        };
        if !appended {
            let event = match fast {
                Some(d) => d.into_event(),
                None => match Event::from_json(data) {
                    Some(event) => event,
                    None => return,
                },
            };
            match (&mut *held, event) {
                (
                    Some(Event::TextDelta { session, message_id, part_id, delta }),
                    Event::TextDelta { session: s, message_id: m, part_id: p, delta: more },
                ) if *session == s && *message_id == m && *part_id == p => delta.push_str(&more),
                (_, delta @ Event::TextDelta { .. }) => out.extend(held.replace(delta)),
                (_, other) => {
                    out.extend(held.take());
                    out.push(other);
                }
            }
        }
        if let Some(Event::TextDelta { delta, .. }) = held
            && (delta.contains('\n') || delta.len() > MAX_HELD_BYTES)
        {
            out.extend(held.take());
        }
    }

    /// What is still held back (the stream ended).
    pub fn finish(&mut self) -> Option<Event> {
        self.held.take()
    }
}

/// Event types nothing here acts on, dropped before JSON parsing so they cost neither a parse
/// nor a wake-up of the driver (oh-my-opencode alone sends a toast every ~150 ms). Liveness
/// for the watchdog comes from `server.heartbeat` every ~10 s.
const NOISE: &[&str] = &[
    "tui.toast.show",
    "plugin.added",
    "catalog.updated",
    "reference.updated",
    "integration.updated",
    "file.watcher.updated",
    "lsp.updated",
    "lsp.client.diagnostics",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, out) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("opencode:pw", "b3BlbmNvZGU6cHc="),
        ] {
            assert_eq!(base64(input.as_bytes()), out);
        }
    }

    #[test]
    fn noise_is_dropped_before_parsing() {
        let mut d = Decoder::default();
        assert_eq!(d.feed(b"data: {\"id\":\"e\",\"type\":\"tui.toast.show\",\"properties\":{}}\n\n"), []);
        assert_eq!(d.feed(b"data: {\"type\":\"server.heartbeat\",\"properties\":{}}\n\n"), [Event::Heartbeat]);
        assert_eq!(d.feed(b"data: {not json\n\n"), []);
    }

    fn delta(part: &str, text: &str) -> String {
        let event = json!({"type":"message.part.delta","properties":{"sessionID":"s","messageID":"m","partID":part,"field":"text","delta":text}});
        format!("data: {event}\n\n")
    }

    fn text_of(events: &[Event]) -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| match e {
                Event::TextDelta { part_id, delta, .. } => (part_id.clone(), delta.clone()),
                other => (String::new(), format!("{other:?}")),
            })
            .collect()
    }

    #[test]
    fn deltas_are_held_until_their_line_ends_or_something_else_comes() {
        let mut d = Decoder::default();
        assert!(d.feed(delta("p", "one ").as_bytes()).is_empty());
        assert!(d.feed(delta("p", "two ").as_bytes()).is_empty());
        // A newline forwards the merged text at once.
        let out = d.feed(format!("{}{}", delta("p", "three\nfo"), delta("p", "ur")).as_bytes());
        assert_eq!(text_of(&out), [("p".to_owned(), "one two three\nfo".to_owned())]);
        // Another part, then another event: each forwards what is held first, in order.
        let heartbeat = "data: {\"type\":\"server.heartbeat\",\"properties\":{}}\n\n";
        let out = d.feed(format!("{}{heartbeat}", delta("q", "x")).as_bytes());
        assert_eq!(
            text_of(&out),
            [
                ("p".to_owned(), "ur".to_owned()),
                ("q".to_owned(), "x".to_owned()),
                (String::new(), "Heartbeat".to_owned())
            ]
        );
        assert!(d.feed(delta("q", "tail").as_bytes()).is_empty());
        // The general path (here: `type` after `properties`) merges alike.
        let late = r#"data: {"properties":{"sessionID":"s","messageID":"m","partID":"q","field":"text","delta":" end"},"type":"message.part.delta"}"#;
        assert!(d.feed(format!("{late}\n\n").as_bytes()).is_empty());
        assert_eq!(text_of(&d.finish().into_iter().collect::<Vec<_>>()), [("q".to_owned(), "tail end".to_owned())]);
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn ids_cannot_escape_the_path() {
        assert_eq!(path_segment("ses_ab-1/../x?y"), "ses_ab-1xy");
    }
}
