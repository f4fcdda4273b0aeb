//! When is the agent really done? A pure state machine: fed OpenCode events, API snapshots,
//! clock ticks and cancellation, it answers with actions for the driver (`opencode.rs`) to
//! perform. No I/O and no clock of its own (every input carries `now`), so the recorded event
//! streams replay through it in tests exactly as they happened.
//!
//! The rule: the root session is idle, every descendant session (`session.created` with a
//! `parentID` we track, recursively) is idle, and the root's todos are all `completed` or
//! `cancelled` — or, when todos are left pending (a plugin such as oh-my-opencode resumes the
//! session ~2-3 s after idle), no busy came back within `quiet`.
//!
//! Events are the source of truth: we subscribe before prompting and the stream is ordered, so
//! a child's `session.created` and every `todo.updated` arrive before the root idle they
//! precede. A root idle that is conclusive from events (todos done, no descendant busy) ends the
//! run at once, with no request. The API is consulted only on an inconclusive root idle (todos
//! pending or a descendant still busy — the re-check catches an idle we cannot have seen), after
//! a lost stream, and when the stream has been silent longer than `watchdog` (heartbeats arrive
//! every ~10 s, so silence means a stalled stream, not a slow model). It never polls.
//!
//! Limits: a root `session.error` fails the run (unless a busy shows the session recovered);
//! retries are progress up to `max_retries`; more than `max_steps` model steps (a truncated model
//! stream makes OpenCode re-call the model forever) or `timeout` abort the session. Permission
//! and question prompts are answered at once: nobody is there to answer them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::events::{Event, Part, Status};
use super::{AgentStatus, Todo};
use crate::cancel::CancelReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget for the turn (`timeout-minutes`).
    pub timeout: Duration,
    /// How long an idle root with pending todos must stay idle before it counts as done.
    pub quiet: Duration,
    /// Event-stream silence (heartbeats included) that triggers an API re-check.
    pub watchdog: Duration,
    /// Model steps (`step-start` parts, all sessions of the run) before we abort.
    pub max_steps: usize,
    /// `retry` attempts of one model call before we abort.
    pub max_retries: u32,
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
            max_retries: 8,
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
    todos: Vec<Todo>,
    error: Option<(String, String)>,
    steps: HashSet<String>,
    answered: HashSet<String>,
    last_event: Instant,
    recheck_pending: bool,
    phase: Phase,
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
            todos: Vec::new(),
            error: None,
            steps: HashSet::new(),
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

    pub fn steps(&self) -> usize {
        self.steps.len()
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
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
        // The quiet period is a deadline only while it is the one thing left to wait for;
        // otherwise an elapsed quiet period would make every wait return at once.
        let only_quiet_left = !self.recheck_pending && !self.children.values().any(|busy| *busy);
        if let (Phase::Working, Some(idle), true) = (&self.phase, self.root_idle_since, only_quiet_left) {
            next = next.min(idle + self.limits.quiet);
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
                        // The session is working again: the error before did not end it.
                        self.error = None;
                    } else if let Some(busy) = self.children.get_mut(&session) {
                        *busy = true;
                    }
                    if let Status::Retry { attempt } = status
                        && self.tracks(&session)
                        && attempt > self.limits.max_retries
                    {
                        let message = format!("the model call was retried {attempt} times");
                        self.abort(AgentStatus::Failed { kind: "RetryLimit".into(), message }, now, actions);
                    }
                }
            },
            Event::Idle { session } => self.on_idle(&session, now, actions),
            Event::Error { session, name, message } if session.as_deref().is_none_or(|s| s == self.root) => {
                self.started = true;
                self.error = Some((name, message));
            }
            Event::PartUpdated { session, part: Part::StepStart { id } } if self.tracks(&session) => {
                self.steps.insert(id);
                if self.steps.len() > self.limits.max_steps {
                    let message = format!(
                        "more than {} model steps: the model stream may be cut off and re-called in a loop",
                        self.limits.max_steps
                    );
                    self.abort(AgentStatus::Failed { kind: "StepLimit".into(), message }, now, actions);
                }
            }
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

    fn on_idle(&mut self, session: &str, now: Instant, actions: &mut Vec<Action>) {
        if session == self.root {
            if !self.started || self.root_idle_since.is_some() {
                return; // before our prompt ran, or the duplicate `session.idle`
            }
            self.root_idle_since = Some(now);
            match &self.phase {
                Phase::Aborting { status, .. } => {
                    let status = status.clone();
                    self.finish(status, actions);
                }
                _ if self.error.is_some() => {}
                // Conclusive from events alone: `evaluate` finishes now, with no request.
                _ if self.todos.iter().all(todo_done) && !self.children.values().any(|busy| *busy) => {}
                _ => self.request_recheck(actions),
            }
        } else if let Some(busy) = self.children.get_mut(session) {
            *busy = false;
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
            *busy = snapshot.busy.contains(id);
        }
        if snapshot.busy.contains(&self.root) {
            self.started = true;
            self.root_idle_since = None;
        } else if self.started && self.root_idle_since.is_none() {
            // An idle we did not see as an event (stalled stream).
            self.root_idle_since = Some(now);
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
        let Some(idle_since) = self.root_idle_since else { return };
        if self.recheck_pending || self.children.values().any(|busy| *busy) {
            return;
        }
        if let Some((kind, message)) = self.error.clone() {
            self.finish(AgentStatus::Failed { kind, message }, actions);
        } else if self.todos.iter().all(todo_done) || now >= idle_since + self.limits.quiet {
            self.finish(AgentStatus::Done, actions);
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
