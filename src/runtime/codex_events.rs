//! The Codex CLI's `codex exec --json` stream (one JSON object a line) → typed events, and the
//! pure fold of those events into what our `Outcome` holds: the final message, the todo list,
//! token usage, the step count, the files changed and how the turn ended.
//!
//! No I/O here: the driver (`codex.rs`) feeds lines, the replay tests feed recorded streams.
//! Unknown event and item types are ignored, never errors: the CLI adds new ones often.
//!
//! Two traps the real CLI showed (0.169.0): an `item.completed` of type `error` is a warning
//! (e.g. "model metadata not found"), not the turn failing; and a top-level `error` event is
//! also sent for every retry ("Reconnecting... 1/5 (…)"). Only `turn.failed` fails the turn;
//! the last `error` message is kept as its detail.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{AgentStatus, Todo, Usage};

/// One line of the stream, as far as we use it.
#[derive(Debug, Clone, PartialEq)]
pub enum CodexEvent {
    ThreadStarted {
        thread_id: String,
    },
    TurnStarted,
    TurnCompleted {
        usage: Usage,
    },
    TurnFailed {
        message: String,
    },
    /// A stream-level error: a retry notice or the failure `turn.failed` repeats.
    Error {
        message: String,
    },
    Item {
        phase: Phase,
        item: Item,
    },
    /// Valid JSON of a type we do not use.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Started,
    Updated,
    Completed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    AgentMessage {
        text: String,
    },
    Reasoning,
    Command {
        command: String,
        exit_code: Option<i64>,
        status: String,
    },
    FileChange {
        changes: Vec<(String, String)>,
        status: String,
    },
    McpToolCall {
        server: String,
        tool: String,
        status: String,
    },
    TodoList {
        todos: Vec<Todo>,
    },
    /// A warning item (not a failure of the turn).
    Warning {
        message: String,
    },
    Other,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// One stream line → its event; `None` for a line that is not a JSON object with a `type`.
pub fn parse_line(line: &str) -> Option<CodexEvent> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    let kind = v.get("type")?.as_str()?;
    let phase = match kind {
        "item.started" => Some(Phase::Started),
        "item.updated" => Some(Phase::Updated),
        "item.completed" => Some(Phase::Completed),
        _ => None,
    };
    if let Some(phase) = phase {
        return Some(CodexEvent::Item { phase, item: parse_item(v.get("item")?) });
    }
    Some(match kind {
        "thread.started" => CodexEvent::ThreadStarted { thread_id: text(&v, "thread_id") },
        "turn.started" => CodexEvent::TurnStarted,
        "turn.completed" => CodexEvent::TurnCompleted { usage: parse_usage(v.get("usage")) },
        "turn.failed" => CodexEvent::TurnFailed {
            message: v.pointer("/error/message").and_then(Value::as_str).unwrap_or("the turn failed").to_owned(),
        },
        "error" => CodexEvent::Error { message: text(&v, "message") },
        _ => CodexEvent::Unknown,
    })
}

fn parse_usage(usage: Option<&Value>) -> Usage {
    let n = |key: &str| usage.and_then(|u| u.get(key)).and_then(Value::as_u64).unwrap_or(0);
    // `input_tokens` already counts the cached ones; reasoning is part of the output. Codex
    // reports no cost.
    Usage { input_tokens: n("input_tokens"), output_tokens: n("output_tokens"), cost: None }
}

fn parse_item(item: &Value) -> Item {
    let status = text(item, "status");
    match item.get("type").and_then(Value::as_str).unwrap_or_default() {
        "agent_message" => Item::AgentMessage { text: text(item, "text") },
        "reasoning" => Item::Reasoning,
        "command_execution" => Item::Command {
            command: text(item, "command"),
            exit_code: item.get("exit_code").and_then(Value::as_i64),
            status,
        },
        "file_change" => Item::FileChange {
            changes: item
                .get("changes")
                .and_then(Value::as_array)
                .map(|cs| cs.iter().map(|c| (text(c, "path"), text(c, "kind"))).collect())
                .unwrap_or_default(),
            status,
        },
        "mcp_tool_call" => Item::McpToolCall { server: text(item, "server"), tool: text(item, "tool"), status },
        "todo_list" => Item::TodoList { todos: todos(item.get("items")) },
        "error" => Item::Warning { message: text(item, "message") },
        _ => Item::Other,
    }
}

/// Codex's todo items only say `completed` or not; the first open one is the one in progress,
/// as the plan it comes from is worked top to bottom.
fn todos(items: Option<&Value>) -> Vec<Todo> {
    let mut in_progress_given = false;
    let items = items.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|t| {
            let done = t.get("completed").and_then(Value::as_bool).unwrap_or(false);
            let status = if done {
                "completed"
            } else if !in_progress_given {
                in_progress_given = true;
                "in_progress"
            } else {
                "pending"
            };
            Todo { content: text(t, "text"), status: status.to_owned() }
        })
        .collect()
}

/// How the turn ended, as far as the stream says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEnd {
    Completed,
    Failed(String),
}

/// What a progress line should say about one event, if anything (the driver logs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Command { command: String, exit_code: Option<i64> },
    Files(Vec<String>),
    Tool(String),
    Todos { done: usize, total: usize },
    Warning(String),
    Retry(String),
}

/// What the live progress comment hears of a progress line: the todo list whole (`todos`, the
/// fold's list after the event), or the last thing the agent did, in a reader's words.
pub fn progress_note(progress: &Progress, todos: &[Todo]) -> Option<crate::progress::Note> {
    use crate::progress::Note;
    // Codex reports an item once it is done: the line says what the agent just did.
    let code = |text: &str| {
        let line = text.lines().next().unwrap_or_default().replace('`', "'");
        let short: String = line.chars().take(80).collect();
        if short.len() < line.len() { format!("`{short}…`") } else { format!("`{short}`") }
    };
    match progress {
        Progress::Todos { .. } => Some(Note::Todos(todos.to_vec())),
        Progress::Command { command, .. } => Some(Note::Activity(format!("ran {}", code(shell_script(command))))),
        Progress::Files(paths) if !paths.is_empty() => {
            let shown: Vec<String> = paths.iter().take(3).map(|p| code(p)).collect();
            let more = if paths.len() > 3 { format!(" and {} more", paths.len() - 3) } else { String::new() };
            Some(Note::Activity(format!("edited {}{more}", shown.join(", "))))
        }
        Progress::Tool(tool) => Some(Note::Activity(format!("used {}", code(tool)))),
        Progress::Files(_) | Progress::Warning(_) | Progress::Retry(_) => None,
    }
}

/// The script of a command Codex ran through a shell (`/bin/bash -lc '<script>'`, as it
/// reports every `exec_command`): a reader asked for the script, not for the shell.
fn shell_script(command: &str) -> &str {
    let shells = ["/bin/bash -lc ", "bash -lc ", "/bin/sh -c ", "sh -c ", "/bin/zsh -lc ", "zsh -lc "];
    let Some(rest) = shells.iter().find_map(|shell| command.strip_prefix(shell)) else { return command };
    let inner = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
    // A quote inside was escaped (`'\\''`): the quoted text is not the script as typed.
    inner.filter(|inner| !inner.contains('\'')).unwrap_or(command)
}

/// The fold of a run's events.
#[derive(Debug, Clone, Default)]
pub struct CodexRun {
    pub thread_id: Option<String>,
    final_text: String,
    todos: Vec<Todo>,
    usage: Usage,
    steps: usize,
    files: BTreeSet<String>,
    last_error: Option<String>,
    end: Option<TurnEnd>,
}

impl CodexRun {
    /// Folds one event in; returns what is worth a progress line.
    pub fn apply(&mut self, event: CodexEvent, workdir: &Path) -> Option<Progress> {
        match event {
            CodexEvent::ThreadStarted { thread_id } => self.thread_id = Some(thread_id),
            CodexEvent::TurnStarted | CodexEvent::Unknown => {}
            CodexEvent::TurnCompleted { usage } => {
                self.usage.input_tokens += usage.input_tokens;
                self.usage.output_tokens += usage.output_tokens;
                self.end = Some(TurnEnd::Completed);
            }
            CodexEvent::TurnFailed { message } => self.end = Some(TurnEnd::Failed(message)),
            CodexEvent::Error { message } => {
                self.last_error = Some(message.clone());
                return Some(Progress::Retry(message));
            }
            CodexEvent::Item { phase, item } => return self.apply_item(phase, item, workdir),
        }
        None
    }

    fn apply_item(&mut self, phase: Phase, item: Item, workdir: &Path) -> Option<Progress> {
        match (phase, item) {
            // The todo list is live: every update replaces it.
            (_, Item::TodoList { todos }) => {
                let done = todos.iter().filter(|t| t.status == "completed").count();
                let total = todos.len();
                let changed = todos != self.todos;
                self.todos = todos;
                changed.then_some(Progress::Todos { done, total })
            }
            (Phase::Completed, Item::AgentMessage { text }) if !text.trim().is_empty() => {
                self.final_text = text;
                None
            }
            (Phase::Completed, Item::Command { command, exit_code, .. }) => {
                self.steps += 1;
                Some(Progress::Command { command, exit_code })
            }
            (Phase::Completed, Item::FileChange { changes, status }) => {
                self.steps += 1;
                if status == "failed" {
                    return None;
                }
                let paths: Vec<String> = changes.into_iter().map(|(path, _)| relative(&path, workdir)).collect();
                self.files.extend(paths.iter().cloned());
                Some(Progress::Files(paths))
            }
            (Phase::Completed, Item::McpToolCall { server, tool, .. }) => {
                self.steps += 1;
                Some(Progress::Tool(format!("{server}.{tool}")))
            }
            (Phase::Completed, Item::Warning { message }) => Some(Progress::Warning(message)),
            _ => None,
        }
    }

    pub fn final_text(&self) -> &str {
        &self.final_text
    }

    pub fn todos(&self) -> &[Todo] {
        &self.todos
    }

    pub fn usage(&self) -> Usage {
        self.usage.clone()
    }

    /// Commands, file changes and tool calls completed.
    pub fn steps(&self) -> usize {
        self.steps
    }

    pub fn files_changed(&self) -> Vec<String> {
        self.files.iter().cloned().collect()
    }

    pub fn end(&self) -> Option<&TurnEnd> {
        self.end.as_ref()
    }

    /// The status once the CLI has exited (`exit_ok`: status 0) without being stopped by us;
    /// `stderr_tail` explains a death.
    pub fn status(&self, exit_ok: bool, exit_detail: &str, stderr_tail: &str) -> AgentStatus {
        match &self.end {
            Some(TurnEnd::Completed) if exit_ok => AgentStatus::Done,
            Some(TurnEnd::Completed) => AgentStatus::Failed {
                kind: "CodexExit".into(),
                message: format!("the turn completed but `codex exec` {exit_detail}"),
            },
            Some(TurnEnd::Failed(message)) => {
                AgentStatus::Failed { kind: failure_kind(message).into(), message: excerpt(message) }
            }
            None => {
                let why = self.last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default();
                AgentStatus::Failed {
                    kind: "CodexDied".into(),
                    message: excerpt(&format!(
                        "`codex exec` {exit_detail} before its turn ended{why}; stderr ends with:\n{stderr_tail}"
                    )),
                }
            }
        }
    }
}

/// A failure message → its kind. The CLI gives only text (the provider's error message, or its
/// own wording for a status), so this is a classification of what it is known to say.
pub fn failure_kind(message: &str) -> &str {
    let m = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["401 unauthorized", "403 forbidden", "invalid api key", "incorrect api key", "invalid_api_key"]) {
        "Auth"
    } else if has(&["429", "rate limit", "too many requests", "quota"]) {
        "RateLimit"
    } else if has(&["model_not_found", "unknown model", "404 not found"])
        || (m.contains("model") && has(&["does not exist", "not found", "not supported"]))
    {
        "UnknownModel"
    } else if has(&["sandbox", "read-only file system", "operation not permitted"]) {
        "SandboxDenied"
    } else if has(&["stream disconnected", "stream closed", "idle timeout"]) {
        "StreamLost"
    } else {
        "APIError"
    }
}

/// A path the CLI reports (absolute, in the work tree) → relative to the work tree.
fn relative(path: &str, workdir: &Path) -> String {
    Path::new(path).strip_prefix(workdir).map_or_else(|_| path.to_owned(), |p| p.to_string_lossy().into_owned())
}

/// At most 2,000 characters of a message (the reply quotes it).
fn excerpt(text: &str) -> String {
    crate::text::excerpt(text, 2000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> CodexRun {
        let mut run = CodexRun::default();
        for line in lines {
            if let Some(event) = parse_line(line) {
                run.apply(event, Path::new("/w"));
            }
        }
        run
    }

    #[test]
    fn a_completed_turn_gives_message_usage_steps_and_files() {
        let run = run(&[
            r#"{"type":"thread.started","thread_id":"t1"}"#,
            r#"{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata not found"}}"#,
            r#"{"type":"turn.started"}"#,
            r#"{"type":"item.started","item":{"id":"i1","type":"command_execution","command":"ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#,
            r#"{"type":"item.completed","item":{"id":"i1","type":"command_execution","command":"ls","aggregated_output":"a\n","exit_code":0,"status":"completed"}}"#,
            r#"{"type":"item.completed","item":{"id":"i2","type":"file_change","changes":[{"path":"/w/notes.md","kind":"add"}],"status":"completed"}}"#,
            r#"{"type":"item.completed","item":{"id":"i3","type":"agent_message","text":"first"}}"#,
            r#"{"type":"item.completed","item":{"id":"i4","type":"brand_new_item","x":1}}"#,
            r#"{"type":"brand.new.event"}"#,
            "not json",
            r#"{"type":"item.completed","item":{"id":"i5","type":"agent_message","text":"All done."}}"#,
            r#"{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":30,"output_tokens":60,"reasoning_output_tokens":15}}"#,
        ]);
        assert_eq!(run.thread_id.as_deref(), Some("t1"));
        assert_eq!(run.final_text(), "All done.");
        assert_eq!(run.usage(), Usage { input_tokens: 300, output_tokens: 60, cost: None });
        assert_eq!(run.steps(), 2);
        assert_eq!(run.files_changed(), ["notes.md"]);
        assert_eq!(run.status(true, "exited with status 0", ""), AgentStatus::Done);
    }

    #[test]
    fn todo_lists_replace_each_other_and_mark_the_first_open_item() {
        let list = |a: bool, b: bool| {
            format!(
                r#"{{"type":"item.updated","item":{{"id":"p","type":"todo_list","items":[{{"text":"one","completed":{a}}},{{"text":"two","completed":{b}}}]}}}}"#
            )
        };
        let r = run(&[&list(false, false), &list(true, false)]);
        let statuses: Vec<&str> = r.todos().iter().map(|t| t.status.as_str()).collect();
        assert_eq!(statuses, ["completed", "in_progress"]);
        assert_eq!(r.todos()[1].content, "two");
    }

    #[test]
    fn retries_are_not_failures_but_a_failed_turn_is_typed() {
        let r = run(&[
            r#"{"type":"turn.started"}"#,
            r#"{"type":"error","message":"Reconnecting... 1/2 (stream disconnected before completion)"}"#,
        ]);
        assert_eq!(r.end(), None);
        let died = r.status(false, "exited with status 1", "boom");
        assert!(
            matches!(&died, AgentStatus::Failed { kind, message } if kind == "CodexDied" && message.contains("boom") && message.contains("Reconnecting")),
            "{died:?}"
        );
        let failed =
            run(&[r#"{"type":"turn.failed","error":{"message":"unexpected status 401 Unauthorized: bad key"}}"#]);
        assert_eq!(
            failed.status(false, "exited with status 1", ""),
            AgentStatus::Failed { kind: "Auth".into(), message: "unexpected status 401 Unauthorized: bad key".into() }
        );
    }

    #[test]
    fn failure_messages_are_classified() {
        assert_eq!(failure_kind("exceeded retry limit, last status: 429 Too Many Requests"), "RateLimit");
        assert_eq!(failure_kind("The model `gpt-9` does not exist or you do not have access to it."), "UnknownModel");
        assert_eq!(
            failure_kind("stream disconnected before completion: stream closed before response.completed"),
            "StreamLost"
        );
        assert_eq!(failure_kind("We're currently experiencing high demand"), "APIError");
        assert_eq!(failure_kind("sandbox denied the command"), "SandboxDenied");
    }

    /// The progress comment hears the plan whole and each finished command or edit.
    #[test]
    fn progress_lines_become_the_live_comments_notes() {
        use crate::progress::Note;
        let lines = [
            r#"{"type":"item.updated","item":{"id":"p","type":"todo_list","items":[{"text":"fix it","completed":false}]}}"#,
            r#"{"type":"item.completed","item":{"id":"i1","type":"command_execution","command":"cargo test `x`","aggregated_output":"","exit_code":0,"status":"completed"}}"#,
            r#"{"type":"item.completed","item":{"id":"i4","type":"command_execution","command":"/bin/bash -lc 'sleep 1; ls'","exit_code":0,"status":"completed"}}"#,
            r#"{"type":"item.completed","item":{"id":"i6","type":"command_execution","command":"/bin/bash -lc 'echo '\\''a'\\'''","exit_code":0,"status":"completed"}}"#,
            r#"{"type":"item.completed","item":{"id":"i2","type":"file_change","changes":[{"path":"/w/src/a.rs","kind":"update"}],"status":"completed"}}"#,
            r#"{"type":"item.completed","item":{"id":"i3","type":"agent_message","text":"done"}}"#,
        ];
        let mut run = CodexRun::default();
        let mut notes = Vec::new();
        for line in lines {
            if let Some(p) = parse_line(line).and_then(|e| run.apply(e, Path::new("/w"))) {
                notes.extend(progress_note(&p, run.todos()));
            }
        }
        assert_eq!(
            notes,
            [
                Note::Todos(vec![Todo { content: "fix it".into(), status: "in_progress".into() }]),
                Note::Activity("ran `cargo test 'x'`".into()),
                Note::Activity("ran `sleep 1; ls`".into()),
                Note::Activity(r"ran `/bin/bash -lc 'echo '\''a'\'''`".into()),
                Note::Activity("edited `src/a.rs`".into()),
            ]
        );
    }
}
