//! When is the agent really done? A pure state machine: fed OpenCode events, API snapshots,
//! clock ticks and cancellation, it answers with actions for the driver (`opencode/mod.rs`) to
//! perform. No I/O and no clock of its own (every input carries `now`), so the recorded event
//! streams replay through it in tests exactly as they happened.
//!
//! The rule: the root session is idle, every descendant session (`session.created` with a
//! `parentID` we track, recursively) is idle, no background work is active, and the root's
//! todos are all `completed` or `cancelled` — or, when todos are left pending (a plugin such as
//! oh-my-opencode resumes the session 2-4 s after idle, more on a loaded machine: the Sisyphus
//! preset's `quiet` is longer, `omo::QUIET`), no busy came back within `quiet`,
//! counted from the last idle of *any* tracked session. Background work is what
//! oh-my-opencode's marker file (`<workdir>/.omo/run-continuation/<root>.json`) lists as
//! `active`: its background agents run and report back to the root after the root's idle. The
//! driver reads that file (a file read, not a request) when asked (`Action::ReadMarker`: on
//! each idle, then every `marker_tick` while something is active) and feeds back
//! `Input::Marker`; an idle that saw background work is never conclusive by itself.
//!
//! Events are the source of truth: we subscribe before prompting and the stream is ordered, so
//! a child's `session.created` and every `todo.updated` arrive before the root idle they
//! precede. A root idle that is conclusive from events (todos done, no descendant busy) ends the
//! run at once, with no request. The API is consulted only on an inconclusive root idle (todos
//! pending or a descendant still busy — the re-check catches an idle we cannot have seen), after
//! a lost stream, and when the stream has been silent longer than `watchdog` (heartbeats arrive
//! every ~10 s, so silence means a stalled stream, not a slow model). It never polls.
//!
//! Limits: a root `session.error` fails the run at the root's idle, or `quiet` after the error
//! when no idle and no busy follow (OpenCode's "Agent not found" is never followed by either),
//! unless a busy shows the session recovered. Retries are progress up to `max_retries`, but
//! `max_hopeless_retries` identical retries of a kind that retrying cannot fix (a refused key,
//! an unknown model, an unreachable base URL: `events::classify`) abort at once. More than
//! `max_steps` model steps in one session (a truncated model stream makes OpenCode re-call the
//! model forever), `max_identical_steps` identical steps in a row (a loop), or `timeout` abort
//! the session. Permission and question prompts are answered at once: nobody is there to
//! answer them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::events::{Event, Part, Status, classify};
use crate::cancel::CancelReason;
use crate::runtime::{AgentStatus, Todo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget for the turn (`timeout-minutes`).
    pub timeout: Duration,
    /// How long an idle root with pending todos must stay idle before it counts as done.
    pub quiet: Duration,
    /// Event-stream silence (heartbeats included) that triggers an API re-check.
    pub watchdog: Duration,
    /// Model steps (`step-start` parts) of one session before we abort.
    pub max_steps: usize,
    /// Consecutive identical steps of one session (same text, same tool calls) taken for a loop.
    pub max_identical_steps: usize,
    /// `retry` attempts of one model call before we abort.
    pub max_retries: u32,
    /// Consecutive retries with the same reason of a class that retrying cannot fix (a refused
    /// key, an unknown model, an unreachable base URL) before we abort.
    pub max_hopeless_retries: u32,
    /// While a background source (the plugin's marker file) is active and the root idle, how
    /// often the driver reads the marker again.
    pub marker_tick: Duration,
    /// After an abort, how long to wait for the root to go idle.
    pub abort_grace: Duration,
    /// A prompt whose session never became busy within this is reported as not started.
    pub start_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            quiet: Duration::from_secs(4),
            watchdog: Duration::from_secs(30),
            max_steps: 200,
            max_identical_steps: 12,
            max_retries: 8,
            max_hopeless_retries: 3,
            marker_tick: Duration::from_millis(500),
            abort_grace: Duration::from_secs(3),
            start_grace: Duration::from_secs(60),
        }
    }
}

/// What the API says right now (answers an `Action::Recheck`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `GET /session/status`: busy/retry sessions only (idle ones are omitted).
    pub busy: HashSet<String>,
    /// `GET /session/{root}/todo`.
    pub todos: Vec<Todo>,
    /// `(child, parent)` from `GET /session/{id}/children`, recursively.
    pub children: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Event(Event),
    Snapshot(Snapshot),
    /// The re-check could not reach the API; events stay the source of truth.
    RecheckFailed,
    /// A deadline passed (the driver waits until `next_deadline`).
    Tick,
    Cancel(CancelReason),
    /// The answer to `Action::ReadMarker`: the sources of oh-my-opencode's marker file
    /// (`<workdir>/.omo/run-continuation/<root>.json`) that are `active`, with their reasons;
    /// empty when there is no file (no plugin) or nothing is active.
    Marker(Vec<String>),
    /// The event stream ended. `server_exited`: the process is gone, so nothing can follow.
    StreamLost {
        server_exited: bool,
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Read status, todos and children via the API and feed back a `Snapshot`.
    Recheck,
    /// Read the background-work marker file (a file read, not a request) and feed back
    /// `Input::Marker`.
    ReadMarker,
    /// Reject a pending permission request (with a message, so the agent loop continues).
    RejectPermission {
        id: String,
    },
    RejectQuestion {
        id: String,
    },
    /// `POST /session/{root}/abort`.
    Abort,
    /// The event stream is gone but the server lives: subscribe again (then re-check).
    Resubscribe,
    /// The run is over.
    Finish(AgentStatus),
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Working,
    Aborting { status: AgentStatus, since: Instant },
    Finished,
}

#[derive(Debug)]
pub struct Completion {
    root: String,
    limits: Limits,
    started_at: Instant,
    /// Descendants of the root → busy?
    children: HashMap<String, bool>,
    child_order: Vec<String>,
    /// The root went busy at least once (our prompt is being worked on).
    started: bool,
    /// The not-started check was made (it is made once).
    start_checked: bool,
    root_idle_since: Option<Instant>,
    /// The last idle of any tracked session: the quiet period counts from here.
    last_idle: Option<Instant>,
    todos: Vec<Todo>,
    /// A root `session.error` and when it came; cleared by a busy (the session recovered).
    error: Option<(String, String)>,
    error_at: Option<Instant>,
    steps: HashMap<String, Steps>,
    /// The last retry's reason and how many consecutive retries gave it.
    retry_reason: Option<(String, u32)>,
    /// Active background sources from the marker file, as last read.
    background: Vec<String>,
    marker_pending: bool,
    marker_read_at: Option<Instant>,
    /// The marker showed background work during the root's current idle.
    background_since_idle: bool,
    background_seen: Option<Instant>,
    answered: HashSet<String>,
    last_event: Instant,
    recheck_pending: bool,
    phase: Phase,
}

/// One session's model steps: how many, and whether the last ones repeat each other.
#[derive(Debug, Default)]
struct Steps {
    ids: HashSet<String>,
    /// What the current step said and called, by part id (a part is re-sent as it grows).
    current: Vec<(String, String)>,
    previous: Option<Vec<String>>,
    /// Finished steps in a row that were equal to the one before them.
    repeats: usize,
}

impl Steps {
    /// A new step begins: the one that finished is compared with the one before it.
    fn start(&mut self, id: String) {
        if !self.ids.insert(id) {
            return;
        }
        let finished: Vec<String> = std::mem::take(&mut self.current).into_iter().map(|(_, what)| what).collect();
        // What came before the first step is the prompt, not a step.
        if self.ids.len() > 1 {
            self.repeats = if self.previous.as_ref() == Some(&finished) { self.repeats + 1 } else { 0 };
            self.previous = Some(finished);
        }
    }

    /// Identical steps in a row, the last one finished included.
    fn identical(&self) -> usize {
        self.repeats + usize::from(self.previous.is_some())
    }

    fn part(&mut self, key: &str, what: String) {
        match self.current.iter_mut().find(|(k, _)| k == key) {
            Some((_, w)) => *w = what,
            None => self.current.push((key.to_owned(), what)),
        }
    }
}

fn todo_done(t: &Todo) -> bool {
    t.status == "completed" || t.status == "cancelled"
}

impl Completion {
    pub fn new(root: impl Into<String>, limits: Limits, now: Instant) -> Self {
        Self {
            root: root.into(),
            limits,
            started_at: now,
            children: HashMap::new(),
            child_order: Vec::new(),
            started: false,
            start_checked: false,
            root_idle_since: None,
            last_idle: None,
            todos: Vec::new(),
            error: None,
            error_at: None,
            steps: HashMap::new(),
            retry_reason: None,
            background: Vec::new(),
            marker_pending: false,
            marker_read_at: None,
            background_since_idle: false,
            background_seen: None,
            answered: HashSet::new(),
            last_event: now,
            recheck_pending: false,
            phase: Phase::Working,
        }
    }

    pub fn todos(&self) -> &[Todo] {
        &self.todos
    }

    /// Descendant session ids, in the order they appeared.
    pub fn children(&self) -> &[String] {
        &self.child_order
    }

    /// Model steps of all sessions of the run.
    pub fn steps(&self) -> usize {
        self.steps.values().map(|s| s.ids.len()).sum()
    }

    /// Background sources still active when the run ended (from the last marker read).
    pub fn background(&self) -> &[String] {
        &self.background
    }

    /// Whether an event for `session` concerns this run (the root or a descendant).
    pub fn tracks(&self, session: &str) -> bool {
        session == self.root || self.children.contains_key(session)
    }

    /// The earliest moment the machine wants a `Tick`.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut next = match &self.phase {
            Phase::Finished => return None,
            Phase::Aborting { since, .. } => *since + self.limits.abort_grace,
            Phase::Working => self.started_at + self.limits.timeout,
        };
        next = next.min(self.last_event + self.limits.watchdog);
        if self.phase == Phase::Working {
            // The quiet period (or the next marker read) is a deadline only while it is the one
            // thing left to wait for; otherwise an elapsed quiet period would make every wait
            // return at once.
            let waiting = self.recheck_pending || self.marker_pending || self.children_busy();
            if let (Some(settled), false) = (self.settled_since(), waiting) {
                match self.marker_read_at {
                    Some(read) if !self.background.is_empty() => next = next.min(read + self.limits.marker_tick),
                    _ => next = next.min(settled + self.limits.quiet),
                }
            }
            if let (Some(at), Some(_)) = (self.error_at, &self.error) {
                next = next.min(at + self.limits.quiet);
            }
        }
        if !self.started && !self.start_checked {
            next = next.min(self.started_at + self.limits.start_grace);
        }
        Some(next)
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        if self.phase == Phase::Finished {
            return Vec::new();
        }
        let mut actions = Vec::new();
        match input {
            Input::Event(event) => {
                self.last_event = now;
                self.on_event(event, now, &mut actions);
            }
            Input::Snapshot(snapshot) => {
                self.recheck_pending = false;
                self.on_snapshot(snapshot, now, &mut actions);
            }
            Input::RecheckFailed => self.recheck_pending = false,
            Input::Marker(active) => {
                self.marker_pending = false;
                self.marker_read_at = Some(now);
                if !active.is_empty() && self.root_idle_since.is_some() {
                    // Work goes on in the background: this idle is not conclusive, and the quiet
                    // period counts from the last moment it was seen going on.
                    self.background_since_idle = true;
                    self.background_seen = Some(now);
                }
                self.background = active;
            }
            Input::Tick => self.on_tick(now, &mut actions),
            Input::Cancel(reason) => {
                let status = match reason {
                    CancelReason::Signal => AgentStatus::Cancelled,
                    CancelReason::Timeout => AgentStatus::TimedOut,
                };
                self.abort(status, now, &mut actions);
            }
            Input::StreamLost { server_exited: true, detail } => {
                let status = match &self.phase {
                    // We were stopping it anyway: keep the reason we stopped for.
                    Phase::Aborting { status, .. } => status.clone(),
                    _ => AgentStatus::Failed { kind: "ServerExited".into(), message: detail },
                };
                self.finish(status, &mut actions);
            }
            Input::StreamLost { server_exited: false, .. } => {
                actions.push(Action::Resubscribe);
                self.request_recheck(&mut actions);
            }
        }
        if self.phase == Phase::Working {
            self.evaluate(now, &mut actions);
        }
        actions
    }

    fn children_busy(&self) -> bool {
        self.children.values().any(|busy| *busy)
    }

    /// Since when everything has been idle: the root's idle, a later idle of any descendant,
    /// or the last marker read that still showed background work. `None` while the root works.
    fn settled_since(&self) -> Option<Instant> {
        let root = self.root_idle_since?;
        Some([self.last_idle, self.background_seen].into_iter().flatten().fold(root, Instant::max))
    }

    fn on_event(&mut self, event: Event, now: Instant, actions: &mut Vec<Action>) {
        match event {
            Event::SessionCreated { id, parent: Some(parent) } if self.tracks(&parent) && !self.tracks(&id) => {
                self.children.insert(id.clone(), false);
                self.child_order.push(id);
            }
            Event::Status { session, status } => match status {
                Status::Idle => self.on_idle(&session, now, actions),
                Status::Busy | Status::Retry { .. } => {
                    if session == self.root {
                        self.started = true;
                        self.root_idle_since = None;
                        self.background_since_idle = false;
                        self.background_seen = None;
                        // The session is working again: the error before did not end it.
                        self.error = None;
                        self.error_at = None;
                    } else if let Some(busy) = self.children.get_mut(&session) {
                        *busy = true;
                    }
                    if let Status::Retry { attempt, message } = status
                        && self.tracks(&session)
                    {
                        self.on_retry(attempt, message, now, actions);
                    }
                }
            },
            Event::Idle { session } => self.on_idle(&session, now, actions),
            // The first error since the session last worked is the cause; OpenCode may follow
            // it with a bare stack trace ("Agent not found", then `UnknownError`).
            Event::Error { session, name, message }
                if session.as_deref().is_none_or(|s| s == self.root) && self.error.is_none() =>
            {
                self.error = Some((name, message));
                self.error_at = Some(now);
            }
            Event::PartUpdated { session, part } if self.tracks(&session) => self.on_part(session, part, now, actions),
            Event::TodoUpdated { session, todos } if session == self.root => self.todos = todos,
            // Any session on this server is ours; a request left pending would hang the run.
            Event::PermissionAsked { id, .. } if self.answered.insert(id.clone()) => {
                actions.push(Action::RejectPermission { id });
            }
            Event::QuestionAsked { id, .. } if self.answered.insert(id.clone()) => {
                actions.push(Action::RejectQuestion { id });
            }
            _ => {}
        }
    }

    /// A retry is progress, unless it is the same failure again of a kind that retrying
    /// cannot fix, or there were too many.
    fn on_retry(&mut self, attempt: u32, message: String, now: Instant, actions: &mut Vec<Action>) {
        let repeats = match &self.retry_reason {
            Some((last, n)) if *last == message => n + 1,
            _ => 1,
        };
        let hopeless = classify("", &message).filter(|_| repeats >= self.limits.max_hopeless_retries);
        let reason = if message.is_empty() { "no reason given".to_owned() } else { message.clone() };
        self.retry_reason = Some((message, repeats));
        if let Some(class) = hopeless {
            let message = format!("{reason} (the same failure {repeats} times in a row; retrying will not help)");
            self.abort(AgentStatus::Failed { kind: class.kind().into(), message }, now, actions);
        } else if attempt > self.limits.max_retries {
            let message = format!("the model call was retried {attempt} times; the last reason: {reason}");
            self.abort(AgentStatus::Failed { kind: "RetryLimit".into(), message }, now, actions);
        }
    }

    fn on_part(&mut self, session: String, part: Part, now: Instant, actions: &mut Vec<Action>) {
        let steps = self.steps.entry(session).or_default();
        match part {
            Part::StepStart { id } => steps.start(id),
            Part::Text { id, text, .. } => return steps.part(&id, text),
            Part::Tool { call_id, tool, preview, .. } => return steps.part(&call_id, format!("{tool} {preview}")),
            _ => return,
        }
        let (count, identical) = (steps.ids.len(), steps.identical());
        let failure = if count > self.limits.max_steps {
            let message = format!(
                "more than {} model steps in one session: the model stream may be cut off and re-called in a loop",
                self.limits.max_steps
            );
            Some(AgentStatus::Failed { kind: "StepLimit".into(), message })
        } else if identical >= self.limits.max_identical_steps.max(2) {
            let message = format!("{identical} identical model steps in a row: the agent is repeating itself");
            Some(AgentStatus::Failed { kind: "StepLoop".into(), message })
        } else {
            None
        };
        if let Some(status) = failure {
            self.abort(status, now, actions);
        }
    }

    fn on_idle(&mut self, session: &str, now: Instant, actions: &mut Vec<Action>) {
        if session == self.root {
            if (!self.started && self.error.is_none()) || self.root_idle_since.is_some() {
                return; // before our prompt ran, or the duplicate `session.idle`
            }
            self.root_idle_since = Some(now);
            self.last_idle = Some(now);
            match &self.phase {
                Phase::Aborting { status, .. } => {
                    let status = status.clone();
                    self.finish(status, actions);
                }
                _ if self.error.is_some() => {}
                _ => {
                    // A plugin's background work shows only in its marker file.
                    self.request_marker(actions);
                    // Conclusive from events alone: `evaluate` finishes, with no request.
                    if !self.todos.iter().all(todo_done) || self.children_busy() {
                        self.request_recheck(actions);
                    }
                }
            }
        } else if let Some(busy) = self.children.get_mut(session)
            && std::mem::replace(busy, false)
        {
            self.last_idle = Some(now);
            if self.root_idle_since.is_some() && self.phase == Phase::Working {
                self.request_marker(actions);
            }
        }
    }

    fn on_snapshot(&mut self, snapshot: Snapshot, now: Instant, actions: &mut Vec<Action>) {
        for (child, parent) in snapshot.children {
            if self.tracks(&parent) && !self.tracks(&child) {
                self.children.insert(child.clone(), false);
                self.child_order.push(child);
            }
        }
        for (id, busy) in &mut self.children {
            let now_busy = snapshot.busy.contains(id);
            if std::mem::replace(busy, now_busy) && !now_busy {
                self.last_idle = Some(now);
            }
        }
        if snapshot.busy.contains(&self.root) {
            self.started = true;
            self.root_idle_since = None;
        } else if self.started && self.root_idle_since.is_none() {
            // An idle we did not see as an event (stalled stream).
            self.root_idle_since = Some(now);
            self.last_idle = Some(now);
            self.request_marker(actions);
        } else if !self.started && now >= self.started_at + self.limits.start_grace {
            let message = "the session never started working on the prompt".to_owned();
            self.finish(AgentStatus::Failed { kind: "NotStarted".into(), message }, actions);
        }
        self.todos = snapshot.todos;
    }

    fn on_tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        match &self.phase {
            Phase::Aborting { status, since } if now >= *since + self.limits.abort_grace => {
                let status = status.clone();
                self.finish(status, actions);
                return;
            }
            Phase::Working if now >= self.started_at + self.limits.timeout => {
                self.abort(AgentStatus::TimedOut, now, actions);
                return;
            }
            Phase::Working => {
                if let (Some(at), Some((kind, message))) = (self.error_at, self.error.clone())
                    && now >= at + self.limits.quiet
                {
                    // No busy and no idle followed the error (e.g. "Agent not found"): nothing
                    // will; stop whatever may still run and fail with the error itself.
                    if self.started && self.root_idle_since.is_none() {
                        actions.push(Action::Abort);
                    }
                    self.finish(AgentStatus::Failed { kind, message }, actions);
                    return;
                }
                let reread = self.marker_read_at.is_some_and(|read| now >= read + self.limits.marker_tick);
                if self.root_idle_since.is_some() && !self.background.is_empty() && reread {
                    self.request_marker(actions);
                }
            }
            _ => {}
        }
        let stalled = now >= self.last_event + self.limits.watchdog;
        let unstarted = !self.started && !self.start_checked && now >= self.started_at + self.limits.start_grace;
        self.start_checked |= unstarted;
        if stalled || unstarted {
            // Re-arm, so a dead stream costs one re-check per watchdog period, not a busy loop.
            self.last_event = now;
            self.request_recheck(actions);
        }
    }

    /// Declares the run done when the rule holds.
    fn evaluate(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let Some(settled) = self.settled_since() else { return };
        if self.recheck_pending || self.marker_pending || self.children_busy() {
            return;
        }
        if let Some((kind, message)) = self.error.clone() {
            self.finish(AgentStatus::Failed { kind, message }, actions);
        } else if !self.background.is_empty() {
            // Bounded by the timeout; the marker is read again on a tick.
        } else if (self.todos.iter().all(todo_done) && !self.background_since_idle)
            || now >= settled + self.limits.quiet
        {
            self.finish(AgentStatus::Done, actions);
        }
    }

    fn request_marker(&mut self, actions: &mut Vec<Action>) {
        if !self.marker_pending {
            self.marker_pending = true;
            actions.push(Action::ReadMarker);
        }
    }

    fn request_recheck(&mut self, actions: &mut Vec<Action>) {
        if !self.recheck_pending {
            self.recheck_pending = true;
            actions.push(Action::Recheck);
        }
    }

    fn abort(&mut self, status: AgentStatus, now: Instant, actions: &mut Vec<Action>) {
        if self.phase != Phase::Working {
            return;
        }
        if !self.started || self.root_idle_since.is_some() {
            // Nothing is running: there is no idle to wait for.
            self.finish(status, actions);
            return;
        }
        actions.push(Action::Abort);
        self.phase = Phase::Aborting { status, since: now };
    }

    fn finish(&mut self, status: AgentStatus, actions: &mut Vec<Action>) {
        self.phase = Phase::Finished;
        actions.push(Action::Finish(status));
    }
}
