//! What the agent said and did, from the event stream: streamed to the log as it happens
//! (assistant text line by line, one line per tool call state) and collected for the
//! `Outcome` (final text, token and cost totals, files changed). Collecting from events means
//! the outcome is ready the moment the run is done, with no transcript download.
//!
//! The log is untrusted model output: the driver wraps it in `::stop-commands::`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use super::events::{Event, MessageUsage, Part, excerpt};
use crate::runtime::Usage;

#[derive(Debug, Default)]
pub struct Transcript {
    root: String,
    /// The ids of the root session's user messages (their text parts are the prompt, not an answer).
    user_messages: HashSet<String>,
    /// The newest root assistant message that has text, with its text parts in order.
    text_message: Option<String>,
    text_parts: Vec<(String, String)>,
    usage: HashMap<String, MessageUsage>,
    files: BTreeSet<String>,
    /// `callID:status` already logged.
    logged_states: HashSet<String>,
    /// Text not yet logged because its line is not complete, per part.
    pending_line: HashMap<String, String>,
}

impl Transcript {
    pub fn new(root: impl Into<String>) -> Self {
        Self { root: root.into(), ..Self::default() }
    }

    /// Records (and logs) one event of a session of this run.
    pub fn record(&mut self, event: &Event, workdir: &Path) {
        match event {
            Event::MessageUpdated { session, id, role, usage } => {
                if role == "user" && *session == self.root {
                    self.user_messages.insert(id.clone());
                }
                if let Some(usage) = usage {
                    self.usage.insert(id.clone(), *usage);
                }
            }
            Event::TextDelta { session, message_id, part_id, delta }
                if *session == self.root && !self.user_messages.contains(message_id) =>
            {
                self.log_text(part_id, delta, false);
                self.append_text(message_id, part_id, delta, false);
            }
            Event::PartUpdated { session, part } => match part {
                Part::Text { id, message_id, text }
                    if *session == self.root && !self.user_messages.contains(message_id) && !text.is_empty() =>
                {
                    // The final text part carries the whole text: log what deltas did not.
                    let logged: usize = self.part_text(id).map_or(0, str::len);
                    if let Some(rest) = text.get(logged..) {
                        self.log_text(id, rest, true);
                    }
                    self.append_text(message_id, id, text, true);
                }
                // A tool part is re-sent as its metadata changes: one line per state is enough.
                Part::Tool { tool, call_id, status, preview, error }
                    if status != "pending" && self.logged_states.insert(format!("{call_id}:{status}")) =>
                {
                    let who = if *session == self.root { String::new() } else { format!("[{}] ", short(session)) };
                    match error {
                        Some(e) => tracing::info!("{who}tool {tool} {preview} → {status}: {e}"),
                        None => tracing::info!("{who}tool {tool} {preview} → {status}"),
                    }
                }
                Part::Patch { files } => {
                    for file in files {
                        let path = Path::new(file);
                        let rel = path.strip_prefix(workdir).unwrap_or(path);
                        self.files.insert(rel.to_string_lossy().into_owned());
                    }
                }
                _ => {}
            },
            Event::TodoUpdated { session, todos } if *session == self.root => {
                let done = todos.iter().filter(|t| t.status == "completed" || t.status == "cancelled").count();
                tracing::info!("todos: {done}/{} done", todos.len());
            }
            Event::SessionCreated { id, parent: Some(_) } => tracing::info!("subagent session {} started", short(id)),
            Event::Error { name, message, .. } => tracing::warn!("session error {name}: {message}"),
            Event::Status { status: super::events::Status::Retry { attempt, message }, .. } => {
                let reason = if message.is_empty() { "no reason given" } else { message.as_str() };
                tracing::warn!("model call failed ({reason}); retry {attempt}")
            }
            _ => {}
        }
    }

    fn part_text(&self, part_id: &str) -> Option<&str> {
        self.text_parts.iter().find(|(id, _)| id == part_id).map(|(_, t)| t.as_str())
    }

    fn append_text(&mut self, message_id: &str, part_id: &str, text: &str, replace: bool) {
        if self.text_message.as_deref() != Some(message_id) {
            if text.is_empty() {
                return;
            }
            // A newer message speaks: only the last one is the final answer.
            self.text_message = Some(message_id.to_owned());
            self.text_parts.clear();
        }
        match self.text_parts.iter_mut().find(|(id, _)| id == part_id) {
            Some((_, t)) if replace => *t = text.to_owned(),
            Some((_, t)) => t.push_str(text),
            None => self.text_parts.push((part_id.to_owned(), text.to_owned())),
        }
    }

    /// Logs whole lines; `flush` logs the rest too (the part is complete).
    fn log_text(&mut self, part_id: &str, text: &str, flush: bool) {
        let pending = self.pending_line.entry(part_id.to_owned()).or_default();
        pending.push_str(text);
        while let Some(nl) = pending.find('\n') {
            let line: String = pending.drain(..=nl).collect();
            tracing::info!("│ {}", line.trim_end());
        }
        if flush {
            if !pending.trim().is_empty() {
                tracing::info!("│ {}", pending.trim_end());
            }
            self.pending_line.remove(part_id);
        }
    }

    /// Logs text whose line never ended (the run stopped mid-sentence).
    pub fn flush_log(&mut self) {
        for (_, pending) in self.pending_line.drain() {
            if !pending.trim().is_empty() {
                tracing::info!("│ {}", pending.trim_end());
            }
        }
    }

    /// The last assistant message's text (the agent's final answer).
    pub fn final_text(&self) -> String {
        let parts: Vec<&str> = self.text_parts.iter().map(|(_, t)| t.trim()).filter(|t| !t.is_empty()).collect();
        parts.join("\n\n")
    }

    pub fn usage(&self) -> Usage {
        self.usage.values().fold(Usage::default(), |mut u, m| {
            u.input_tokens += m.input;
            u.output_tokens += m.output;
            u.cost = Some(u.cost.unwrap_or(0.0) + m.cost);
            u
        })
    }

    pub fn files_changed(&self) -> Vec<String> {
        self.files.iter().cloned().collect()
    }
}

/// The distinctive tail of a session id, for log lines.
fn short(id: &str) -> String {
    excerpt(&id.chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<String>(), 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(message: &str, part: &str, text: &str) -> Event {
        Event::PartUpdated {
            session: "r".into(),
            part: Part::Text { id: part.into(), message_id: message.into(), text: text.into() },
        }
    }

    fn message(id: &str, role: &str, input: u64) -> Event {
        let usage = (role == "assistant").then_some(MessageUsage { input, output: 1, cost: 0.5 });
        Event::MessageUpdated { session: "r".into(), id: id.into(), role: role.into(), usage }
    }

    #[test]
    fn final_text_is_the_last_assistant_message_not_the_prompt() {
        let mut t = Transcript::new("r");
        let w = Path::new("/w");
        for e in [
            message("m0", "user", 0),
            text("m0", "p0", "SCENARIO=x the prompt"),
            message("m1", "assistant", 10),
            text("m1", "p1", "thinking out loud"),
            message("m2", "assistant", 20),
            Event::TextDelta {
                session: "r".into(),
                message_id: "m2".into(),
                part_id: "p2".into(),
                delta: "All ".into(),
            },
            Event::TextDelta { session: "r".into(), message_id: "m2".into(), part_id: "p2".into(), delta: "do".into() },
            message("m2", "assistant", 30),
        ] {
            t.record(&e, w);
        }
        assert_eq!(t.final_text(), "All do");
        t.record(&text("m2", "p2", "All done."), w);
        assert_eq!(t.final_text(), "All done.");
        // Usage counts each message once, at its latest totals.
        assert_eq!(t.usage(), Usage { input_tokens: 40, output_tokens: 2, cost: Some(1.0) });
    }

    #[test]
    fn files_are_relative_to_the_workdir_and_unique() {
        let mut t = Transcript::new("r");
        let patch = |files: &[&str]| Event::PartUpdated {
            session: "c".into(),
            part: Part::Patch { files: files.iter().map(|f| (*f).to_owned()).collect() },
        };
        t.record(&patch(&["/w/b.txt", "/w/src/a.rs"]), Path::new("/w"));
        t.record(&patch(&["/w/b.txt"]), Path::new("/w"));
        assert_eq!(t.files_changed(), ["b.txt", "src/a.rs"]);
    }
}
