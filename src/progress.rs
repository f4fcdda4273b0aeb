//! The live progress comment, pure: what the runtime's events say about progress (`note_for`),
//! the comment body (todo checklist, what the agent does now, elapsed time, the run and how to
//! stop it), and the throttle that decides when to create or edit it.
//!
//! The comment appears at the agent's first non-empty todo list, or after `progress-delay` if
//! it never publishes one, so a quick run still notifies once, at the end. Edits send no
//! notifications; they are coalesced (the latest state wins), spaced at least [`INTERVAL`]
//! apart, skipped when nothing but the clock changed, and bounded by [`MAX_EDITS`]. Posting is
//! `live_comment`'s; the final reply replaces the body (the lifecycle's).
//!
//! Everything shown here came from the model or its tools: it is defused like the reply, and
//! `<`/`>` are escaped, so it can neither notify anyone nor forge the hidden markers the body
//! ends with (the stop command reads the run id from them).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::publish::message::defuse;
use crate::runtime::Todo;
use crate::runtime::opencode::events::{Event, Part};
use crate::text::{excerpt_line, human};

/// Shortest spacing between two writes of the comment.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// Edits per run at most (a 30-minute run edited every 10 s needs 180): with the create and
/// the final reply, a run costs at most `MAX_EDITS + 2` comment writes.
pub const MAX_EDITS: usize = 150;

/// The hidden line naming the run that works on this thread; `stop` cancels it.
pub fn run_marker(run_id: &str) -> String {
    format!("<!-- sisyphus-action:run-id={run_id} -->")
}

/// The run id of a live progress comment, from the marker on its last lines (only ours are
/// trusted: the caller checks who wrote the comment). Model text in the body cannot forge
/// it: its `<` is escaped.
pub fn run_id_of(body: &str) -> Option<String> {
    let tail = body.lines().rev().take(4).find_map(|l| l.trim().strip_prefix("<!-- sisyphus-action:run-id="))?;
    let id = tail.strip_suffix(" -->")?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_owned())
}

/// What the runtime tells the progress comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The root session's todo list, whole.
    Todos(Vec<Todo>),
    /// What the agent does now, in one line.
    Activity(String),
}

pub type Sender = tokio::sync::mpsc::UnboundedSender<Note>;

/// The note an event of this run stands for, if any: the root session's todo list, and each
/// tool call as it starts running.
pub fn note_for(event: &Event, root: &str, workdir: &Path) -> Option<Note> {
    match event {
        Event::TodoUpdated { session, todos } if session == root => Some(Note::Todos(todos.clone())),
        Event::PartUpdated { session, part: Part::Tool { tool, status, preview, .. } } if status == "running" => {
            let what = activity(tool, preview, workdir);
            Some(Note::Activity(if session == root { what } else { format!("a subagent is {what}") }))
        }
        _ => None,
    }
}

/// `editing `src/net.rs``, `running `cargo test``: a tool call in a reader's words.
fn activity(tool: &str, preview: &str, workdir: &Path) -> String {
    let root = format!("{}/", workdir.display());
    let target = preview.strip_prefix(root.as_str()).unwrap_or(preview).replace('`', "'");
    let code = |verb: &str| if target.is_empty() { verb.to_owned() } else { format!("{verb} `{target}`") };
    match tool {
        "edit" | "multiedit" | "patch" | "apply_patch" => code("editing"),
        "write" => code("writing"),
        "read" => code("reading"),
        "bash" => code("running"),
        "grep" | "glob" | "list" | "ls" | "codesearch" => code("searching"),
        "todowrite" | "todoread" => "updating the plan".into(),
        "task" => code("delegating"),
        "webfetch" | "websearch" => code("looking up"),
        other => format!("using `{}`", other.replace('`', "'")),
    }
}

/// What the comment shows besides the agent's state.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub run_url: Option<&'a str>,
    /// The trigger phrase, for the stop hint.
    pub phrase: &'a str,
    /// Hidden lines: our marker, the reply key, the run id.
    pub markers: &'a str,
}

/// The agent's state as the comment shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub todos: Vec<Todo>,
    pub activity: Option<String>,
}

impl State {
    pub fn apply(&mut self, note: Note) {
        match note {
            Note::Todos(todos) => self.todos = todos,
            Note::Activity(what) => self.activity = Some(what),
        }
    }

    /// The agent has published a plan.
    pub fn has_plan(&self) -> bool {
        !self.todos.is_empty()
    }
}

/// Untrusted text as one safe line: no markup that notifies, links a closing keyword, or opens
/// an HTML comment. `<`/`>` are escaped outside code spans only (inside one they are literal,
/// and an entity would show as typed).
fn safe(text: &str, max: usize) -> String {
    let line = excerpt_line(text, max);
    // An unpaired backtick opens no code span: then nothing is code.
    let paired = line.matches('`').count().is_multiple_of(2);
    let escaped: Vec<String> = line
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i.is_multiple_of(2) || !paired {
                part.replace('<', "&lt;").replace('>', "&gt;")
            } else {
                part.to_owned()
            }
        })
        .collect();
    defuse(&escaped.join("`")).trim_end().to_owned()
}

/// The checklist: one line per todo with its state.
pub fn checklist(todos: &[Todo]) -> String {
    let mut out = String::new();
    for todo in todos {
        let content = safe(&todo.content, 200);
        let _ = match todo.status.as_str() {
            "completed" => writeln!(out, "- ✅ {content}"),
            "in_progress" => writeln!(out, "- 🔄 **{content}**"),
            "cancelled" => writeln!(out, "- ✖️ ~~{content}~~"),
            _ => writeln!(out, "- ⬜ {content}"),
        };
    }
    out
}

/// The comment's body. With `elapsed` `None` it is the state's fingerprint: what the throttle
/// compares, so a body that differs only by the clock is not worth an edit.
pub fn render(state: &State, frame: &Frame<'_>, elapsed: Option<Duration>) -> String {
    let mut out = String::from("⏳ **Working on it.** This comment follows the work and becomes the reply.\n\n");
    if state.has_plan() {
        out.push_str(&checklist(&state.todos));
        out.push('\n');
    }
    if let Some(what) = &state.activity {
        let _ = writeln!(out, "**Now:** {}\n", safe(what, 120));
    }
    let mut facts = Vec::new();
    if let Some(elapsed) = elapsed {
        facts.push(format!("⏱ {} so far", human(elapsed)));
    }
    if let Some(url) = frame.run_url {
        facts.push(format!("[run]({url})"));
    }
    facts.push(format!("reply `{} stop` to stop it", frame.phrase));
    let _ = write!(out, "<sub>{}</sub>\n\n{}\n", facts.join(" · "), frame.markers.trim_end());
    out
}

/// The job summary's last section: the final checklist (empty without todos).
pub fn summary_section(todos: &[Todo]) -> String {
    if todos.is_empty() {
        return String::new();
    }
    format!("\n### Checklist\n\n{}", checklist(todos))
}

/// `reply` with the final checklist put before its footer (the `<sub>⏱` line), for a run that
/// did not finish: the reader sees what was done so far. Unchanged without todos.
pub fn with_checklist(reply: &str, todos: &[Todo]) -> String {
    if todos.is_empty() {
        return reply.to_owned();
    }
    let section = format!("**Checklist when it stopped:**\n\n{}\n", checklist(todos));
    match reply.rfind("<sub>⏱") {
        Some(at) => format!("{}{section}{}", &reply[..at], &reply[at..]),
        None => format!("{reply}\n{section}"),
    }
}

/// What the throttle says to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Edit,
    /// Nothing before this instant (or before a new note).
    WaitUntil(Instant),
    /// Nothing until a new note arrives.
    Idle,
}

/// When to write the comment; time is injected.
#[derive(Debug, Clone)]
pub struct Throttle {
    start: Instant,
    delay: Duration,
    interval: Duration,
    max_edits: usize,
    created: bool,
    /// The comment is gone (deleted by someone): no more live edits; the reply is posted anew.
    gone: bool,
    last_attempt: Option<Instant>,
    /// The fingerprint of what the comment shows now.
    shown: Option<String>,
    edits: usize,
}

impl Throttle {
    pub fn new(start: Instant, delay: Duration) -> Self {
        Self::with_limits(start, delay, INTERVAL, MAX_EDITS)
    }

    pub fn with_limits(start: Instant, delay: Duration, interval: Duration, max_edits: usize) -> Self {
        Self {
            start,
            delay,
            interval,
            max_edits,
            created: false,
            gone: false,
            last_attempt: None,
            shown: None,
            edits: 0,
        }
    }

    /// What to do at `now` for a state whose fingerprint is `fingerprint`.
    pub fn step(&self, now: Instant, fingerprint: &str, has_plan: bool) -> Step {
        if self.gone {
            return Step::Idle;
        }
        let spaced = self.last_attempt.map(|at| at + self.interval).filter(|next| *next > now);
        if !self.created {
            let due = self.start + self.delay;
            if !has_plan && now < due {
                return Step::WaitUntil(due);
            }
            return spaced.map_or(Step::Create, Step::WaitUntil);
        }
        if self.shown.as_deref() == Some(fingerprint) || self.edits >= self.max_edits {
            return Step::Idle;
        }
        spaced.map_or(Step::Edit, Step::WaitUntil)
    }

    /// The create or edit at `now` succeeded and shows `fingerprint`.
    pub fn sent(&mut self, now: Instant, fingerprint: String) {
        if self.created {
            self.edits += 1;
        }
        self.created = true;
        self.last_attempt = Some(now);
        self.shown = Some(fingerprint);
    }

    /// The write at `now` failed: the next try waits a full interval, and carries the latest state.
    pub fn failed(&mut self, now: Instant) {
        if self.created {
            self.edits += 1;
        }
        self.last_attempt = Some(now);
    }

    /// The comment was deleted: stop editing it.
    pub fn gone(&mut self) {
        self.gone = true;
    }

    pub fn edits(&self) -> usize {
        self.edits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn todo(content: &str, status: &str) -> Todo {
        Todo { content: content.into(), status: status.into() }
    }

    const FRAME: Frame<'static> = Frame {
        run_url: Some("https://github.com/o/r/actions/runs/7"),
        phrase: "@sisyphus-dev-ai",
        markers: "<!-- sisyphus-action -->\n<!-- sisyphus-action:run-id=7 -->",
    };

    #[test]
    fn the_body_shows_each_state_the_activity_and_how_to_stop() {
        let state = State {
            todos: vec![
                todo("Create hello.txt", "completed"),
                todo("Write notes.md", "in_progress"),
                todo("Push", "pending"),
                todo("Dance", "cancelled"),
            ],
            activity: Some("editing `notes.md`".into()),
        };
        let body = render(&state, &FRAME, Some(Duration::from_secs(75)));
        assert_eq!(
            body,
            "⏳ **Working on it.** This comment follows the work and becomes the reply.\n\n\
             - ✅ Create hello.txt\n- 🔄 **Write notes.md**\n- ⬜ Push\n- ✖️ ~~Dance~~\n\n\
             **Now:** editing `notes.md`\n\n\
             <sub>⏱ 1m 15s so far · [run](https://github.com/o/r/actions/runs/7) · reply `@sisyphus-dev-ai stop` to stop it</sub>\n\n\
             <!-- sisyphus-action -->\n<!-- sisyphus-action:run-id=7 -->\n"
        );
        assert_eq!(run_id_of(&body).as_deref(), Some("7"));
        // The fingerprint leaves the clock out.
        assert_eq!(render(&state, &FRAME, None), render(&state, &FRAME, None));
        assert!(!render(&state, &FRAME, None).contains('⏱'));
    }

    #[test]
    fn model_text_cannot_notify_or_forge_a_run_marker() {
        let state = State {
            todos: vec![todo("ping @alice then fixes #3 <!-- sisyphus-action:run-id=999 -->", "pending")],
            activity: None,
        };
        let body = render(&state, &FRAME, None);
        assert!(body.contains("`@alice`"), "{body}");
        assert!(!body.contains("<!-- sisyphus-action:run-id=999"), "{body}");
        let state = State { todos: Vec::new(), activity: Some("running `echo a > b`".into()) };
        assert!(render(&state, &FRAME, None).contains("**Now:** running `echo a > b`"));
        let state = State { todos: vec![todo("odd ` <!-- hide", "pending")], activity: None };
        assert!(render(&state, &FRAME, None).contains("- ⬜ odd ` &lt;!-- hide"));
        assert_eq!(run_id_of(&body).as_deref(), Some("7"));
        assert_eq!(run_id_of("<!-- sisyphus-action:run-id=12; rm -->"), None);
    }

    #[test]
    fn events_become_notes() {
        let w = Path::new("/w");
        let tool = |session: &str, tool: &str, status: &str, preview: &str| Event::PartUpdated {
            session: session.into(),
            part: Part::Tool {
                tool: tool.into(),
                call_id: "c".into(),
                status: status.into(),
                preview: preview.into(),
                error: None,
            },
        };
        assert_eq!(
            note_for(&tool("r", "edit", "running", "/w/src/net.rs"), "r", w),
            Some(Note::Activity("editing `src/net.rs`".into()))
        );
        assert_eq!(
            note_for(&tool("r", "bash", "running", "cargo `test`"), "r", w),
            Some(Note::Activity("running `cargo 'test'`".into()))
        );
        assert_eq!(
            note_for(&tool("c", "read", "running", "/w/a.rs"), "r", w),
            Some(Note::Activity("a subagent is reading `a.rs`".into()))
        );
        assert_eq!(note_for(&tool("r", "read", "completed", "/w/a.rs"), "r", w), None);
        let todos = vec![todo("x", "pending")];
        assert_eq!(
            note_for(&Event::TodoUpdated { session: "r".into(), todos: todos.clone() }, "r", w),
            Some(Note::Todos(todos.clone()))
        );
        assert_eq!(note_for(&Event::TodoUpdated { session: "c".into(), todos }, "r", w), None);
    }

    #[test]
    fn the_comment_waits_for_a_plan_or_the_delay() {
        let t0 = Instant::now();
        let throttle = Throttle::with_limits(t0, Duration::from_secs(60), Duration::from_secs(10), 5);
        assert_eq!(throttle.step(t0, "a", false), Step::WaitUntil(t0 + Duration::from_secs(60)));
        assert_eq!(throttle.step(t0 + Duration::from_secs(1), "a", true), Step::Create);
        assert_eq!(throttle.step(t0 + Duration::from_secs(60), "a", false), Step::Create);
    }

    #[test]
    fn edits_are_spaced_coalesced_skipped_when_unchanged_and_bounded() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut throttle = Throttle::with_limits(t0, s(60), s(10), 2);
        throttle.sent(t0, "a".into());
        assert_eq!(throttle.step(t0 + s(3), "a", true), Step::Idle, "unchanged");
        assert_eq!(throttle.step(t0 + s(3), "b", true), Step::WaitUntil(t0 + s(10)), "too soon");
        assert_eq!(throttle.step(t0 + s(10), "c", true), Step::Edit, "the latest state, once due");
        throttle.failed(t0 + s(10));
        assert_eq!(throttle.step(t0 + s(12), "c", true), Step::WaitUntil(t0 + s(20)), "a failure waits too");
        throttle.sent(t0 + s(20), "c".into());
        assert_eq!(throttle.edits(), 2);
        assert_eq!(throttle.step(t0 + s(99), "d", true), Step::Idle, "bounded");
        let mut throttle = Throttle::with_limits(t0, s(0), s(10), 9);
        throttle.sent(t0, "a".into());
        throttle.gone();
        assert_eq!(throttle.step(t0 + s(99), "b", true), Step::Idle, "deleted");
    }

    #[test]
    fn a_failed_create_is_retried_after_the_interval() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut throttle = Throttle::with_limits(t0, s(0), s(10), 9);
        assert_eq!(throttle.step(t0, "a", false), Step::Create);
        throttle.failed(t0);
        assert_eq!(throttle.step(t0 + s(1), "a", false), Step::WaitUntil(t0 + s(10)));
        assert_eq!(throttle.step(t0 + s(10), "a", false), Step::Create);
        assert_eq!(throttle.edits(), 0);
    }

    #[test]
    fn the_checklist_goes_before_the_footer() {
        let reply = "😕 stopped\n\n<sub>⏱ 3s</sub>\n\n<!-- sisyphus-action -->\n";
        let out = with_checklist(reply, &[todo("a", "completed")]);
        assert_eq!(
            out,
            "😕 stopped\n\n**Checklist when it stopped:**\n\n- ✅ a\n\n<sub>⏱ 3s</sub>\n\n<!-- sisyphus-action -->\n"
        );
        assert_eq!(with_checklist(reply, &[]), reply);
        assert_eq!(summary_section(&[todo("a", "pending")]), "\n### Checklist\n\n- ⬜ a\n");
    }
}
