//! Replays event streams recorded from a real OpenCode 1.18.33 (`tests/fixtures/opencode/`)
//! through the completion state machine, at their recorded times, with a simulated API that
//! answers re-checks from the state the stream had reached. No server, no sleeping: time is
//! the recording's `t`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use sisyphus_action::cancel::CancelReason;
use sisyphus_action::runtime::opencode::completion::{Action, Completion, Input, Limits, Snapshot};
use sisyphus_action::runtime::opencode::events::{self, Event, Status};
use sisyphus_action::runtime::opencode::sse::Parser;
use sisyphus_action::runtime::opencode::transcript::Transcript;
use sisyphus_action::runtime::opencode::{event_of_run, omo};
use sisyphus_action::runtime::{AgentStatus, Todo};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/opencode/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `(t seconds, event)` from a `.jsonl` recording.
fn recording(name: &str) -> Vec<(f64, Event)> {
    fixture(name)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            (v["t"].as_f64().unwrap(), Event::parse(&v["event"]))
        })
        .collect()
}

/// What the server would answer, built from the events seen so far.
#[derive(Default)]
struct SimApi {
    busy: HashSet<String>,
    todos: HashMap<String, Vec<Todo>>,
    children: Vec<(String, String)>,
    requests: usize,
    /// oh-my-opencode's marker file says background work is active before this time.
    background_until: f64,
    /// The marker file's active sources as recorded, from each change on (replaces
    /// `background_until` when not empty).
    markers: Markers,
    marker_reads: usize,
}

impl SimApi {
    fn see(&mut self, event: &Event) {
        match event {
            Event::Status { session, status: Status::Idle } | Event::Idle { session } => {
                self.busy.remove(session);
            }
            Event::Status { session, .. } => {
                self.busy.insert(session.clone());
            }
            Event::TodoUpdated { session, todos } => {
                self.todos.insert(session.clone(), todos.clone());
            }
            Event::SessionCreated { id, parent: Some(p) } => self.children.push((id.clone(), p.clone())),
            _ => {}
        }
    }

    fn snapshot(&mut self, root: &str) -> Snapshot {
        self.requests += 3;
        Snapshot {
            busy: self.busy.clone(),
            todos: self.todos.get(root).cloned().unwrap_or_default(),
            children: self.children.clone(),
        }
    }
}

struct Replay {
    machine: Completion,
    api: SimApi,
    root: String,
    base: Instant,
    /// Every action with the recording time it was emitted at.
    actions: Vec<(f64, Action)>,
    finished: Option<(f64, AgentStatus)>,
    /// What the driver would publish: the transcript of the run's events.
    transcript: Transcript,
    /// The final text when the machine finished.
    final_text: Option<String>,
}

impl Replay {
    fn new(events: &[(f64, Event)], limits: Limits) -> Self {
        let root = events
            .iter()
            .find_map(|(_, e)| match e {
                Event::SessionCreated { id, parent: None } => Some(id.clone()),
                _ => None,
            })
            .expect("a root session.created");
        let base = Instant::now();
        Replay {
            machine: Completion::new(root.clone(), limits, base),
            api: SimApi::default(),
            base,
            actions: vec![],
            finished: None,
            transcript: Transcript::new(root.clone()),
            final_text: None,
            root,
        }
    }

    fn at(&self, t: f64) -> Instant {
        self.base + Duration::from_secs_f64(t)
    }

    fn input(&mut self, t: f64, input: Input) {
        // As the driver does: the transcript records the run's events before the machine sees them.
        if let Input::Event(event) = &input
            && event_of_run(&self.machine, event)
        {
            self.transcript.record(event, std::path::Path::new("/work"));
        }
        let mut queue = self.machine.handle(input, self.at(t));
        while !queue.is_empty() {
            let action = queue.remove(0);
            self.actions.push((t, action.clone()));
            match action {
                Action::Recheck => {
                    let snapshot = self.api.snapshot(&self.root);
                    queue.extend(self.machine.handle(Input::Snapshot(snapshot), self.at(t)));
                }
                Action::ReadMarker => {
                    self.api.marker_reads += 1;
                    let active = if !self.api.markers.is_empty() {
                        let seen = self.api.markers.iter().take_while(|(tm, _)| *tm <= t).last();
                        seen.map(|(_, active)| active.clone()).unwrap_or_default()
                    } else if t < self.api.background_until {
                        vec!["background-task: 1 background task(s) active".to_owned()]
                    } else {
                        Vec::new()
                    };
                    queue.extend(self.machine.handle(Input::Marker(active), self.at(t)));
                }
                Action::Finish(status) => {
                    self.finished = Some((t, status));
                    self.final_text = Some(self.transcript.final_text());
                }
                _ => {}
            }
        }
    }

    /// Delivers the ticks a driver waiting until `t` would deliver.
    fn advance(&mut self, t: f64) {
        while self.finished.is_none() {
            match self.machine.next_deadline() {
                Some(d) if d <= self.at(t) => {
                    let dt = d.duration_since(self.base).as_secs_f64();
                    self.input(dt, Input::Tick);
                }
                _ => break,
            }
        }
    }

    fn run(events: Vec<(f64, Event)>, limits: Limits, extra: &[(f64, Input)], horizon: f64) -> Replay {
        Replay::run_with(events, limits, extra, horizon, 0.0)
    }

    /// `run`, with the plugin's marker showing background work until `background_until`.
    fn run_with(
        events: Vec<(f64, Event)>,
        limits: Limits,
        extra: &[(f64, Input)],
        horizon: f64,
        background_until: f64,
    ) -> Replay {
        let mut r = Replay::new(&events, limits);
        r.api.background_until = background_until;
        let mut extra: Vec<(f64, Input)> = extra.to_vec();
        for (t, event) in events {
            while let Some(pos) = extra.iter().position(|(te, _)| *te <= t) {
                let (te, input) = extra.remove(pos);
                r.advance(te);
                r.input(te, input);
            }
            r.advance(t);
            if r.finished.is_some() {
                break;
            }
            r.api.see(&event);
            r.input(t, Input::Event(event));
        }
        r.advance(horizon);
        r
    }

    fn count(&self, pred: impl Fn(&Action) -> bool) -> usize {
        self.actions.iter().filter(|(_, a)| pred(a)).count()
    }
}

fn limits() -> Limits {
    Limits { timeout: Duration::from_secs(600), ..Limits::default() }
}

#[test]
fn main_run_is_done_at_the_final_root_idle() {
    let r = Replay::run(recording("events-main.jsonl"), limits(), &[], 700.0);
    let (t, status) = r.finished.clone().expect("finished");
    assert_eq!(status, AgentStatus::Done);
    // Done on the idle event itself (3.948), not after a poll interval or quiet period.
    assert!((t - 3.948).abs() < 1e-9, "done at {t}");
    assert_eq!(r.machine.todos().iter().map(|t| t.status.as_str()).collect::<Vec<_>>(), ["completed", "completed"]);
    // Conclusive from events: no request at all, neither while working nor to decide (the
    // background marker is a file read).
    assert_eq!(r.actions, [(3.948, Action::ReadMarker), (3.948, Action::Finish(AgentStatus::Done))]);
    assert_eq!(r.api.requests, 0);
}

#[test]
fn parent_waits_for_the_child_and_lists_it() {
    let events = recording("events-parent.jsonl");
    let r = Replay::run(events, limits(), &[], 700.0);
    let (t, status) = r.finished.clone().expect("finished");
    assert_eq!(status, AgentStatus::Done);
    assert!((t - 1.971).abs() < 1e-9, "done at {t}, not at the child's idle (1.268)");
    assert_eq!(r.machine.children().len(), 1);
    assert!(r.machine.children()[0].ends_with("VbJuoL"));
}

#[test]
fn a_busy_child_holds_completion_even_when_the_root_is_idle() {
    // The parent run, cut so the root goes idle while the child still works (background task).
    let mut events: Vec<(f64, Event)> = recording("events-parent.jsonl")
        .into_iter()
        .filter(|(t, e)| !matches!(e, Event::Status { status: Status::Idle, .. } | Event::Idle { .. }) || *t > 1.9)
        .collect();
    let child = events
        .iter()
        .find_map(|(_, e)| match e {
            Event::SessionCreated { id, parent: Some(_) } => Some(id.clone()),
            _ => None,
        })
        .unwrap();
    events.push((5.0, Event::Status { session: child.clone(), status: Status::Idle }));
    let r = Replay::run(events, limits(), &[], 700.0);
    let (t, status) = r.finished.clone().expect("finished");
    assert_eq!(status, AgentStatus::Done);
    assert!((t - 5.0).abs() < 1e-9, "done when the child went idle, at {t}");
}

#[test]
fn an_idle_lost_on_our_side_is_found_by_the_idle_recheck() {
    // The child's idle never reaches the machine (the API knows it): the inconclusive root idle
    // re-checks, finds the child idle, and the run is done at the root idle, not at the timeout.
    let events = recording("events-parent.jsonl");
    let child = events
        .iter()
        .find_map(|(_, e)| match e {
            Event::SessionCreated { id, parent: Some(_) } => Some(id.clone()),
            _ => None,
        })
        .unwrap();
    let mut r = Replay::new(&events, limits());
    for (t, event) in events {
        r.advance(t);
        if r.finished.is_some() {
            break;
        }
        r.api.see(&event);
        let lost = matches!(&event, Event::Status { session, status: Status::Idle } | Event::Idle { session } if *session == child);
        if !lost {
            r.input(t, Input::Event(event));
        }
    }
    assert_eq!(r.finished, Some((1.971, AgentStatus::Done)));
    assert_eq!(r.count(|a| *a == Action::Recheck), 1);
}

#[test]
fn http_400_fails_with_the_error_name() {
    let r = Replay::run(recording("events-http400.jsonl"), limits(), &[], 700.0);
    let (t, status) = r.finished.clone().expect("finished");
    match status {
        AgentStatus::Failed { kind, message } => {
            assert_eq!(kind, "APIError");
            assert!(message.contains("400") && message.contains("fake bad request"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!((t - 0.11).abs() < 1e-9, "{t}");
}

#[test]
fn malformed_stream_fails() {
    let r = Replay::run(recording("events-malformed.jsonl"), limits(), &[], 700.0);
    match r.finished.clone().expect("finished").1 {
        AgentStatus::Failed { kind, message } => {
            assert_eq!(kind, "UnknownError");
            assert!(message.contains("JSON parsing failed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn doom_loop_error_fails() {
    let r = Replay::run(recording("events-doom3.jsonl"), limits(), &[], 700.0);
    assert!(matches!(r.finished.clone().unwrap().1, AgentStatus::Failed { kind, .. } if kind == "UnknownError"));
}

#[test]
fn permission_denied_by_config_completes() {
    let r = Replay::run(recording("events-permission.jsonl"), limits(), &[], 700.0);
    assert_eq!(r.finished.clone().unwrap(), (0.401, AgentStatus::Done));
}

#[test]
fn retries_are_progress_and_cost_no_requests() {
    // 60 s of 5xx retries with heartbeats: still working, and no re-check was needed.
    let r = Replay::run(recording("events-http500-retry.jsonl"), limits(), &[], 61.0);
    assert_eq!(r.finished, None);
    assert!(r.actions.is_empty(), "{:?}", r.actions);
    assert_eq!(r.api.requests, 0);
}

#[test]
fn too_many_retries_abort() {
    let l = Limits { max_retries: 3, ..limits() };
    let r = Replay::run(recording("events-http500-retry.jsonl"), l, &[], 61.0);
    let aborts: Vec<f64> = r.actions.iter().filter(|(_, a)| *a == Action::Abort).map(|(t, _)| *t).collect();
    assert_eq!(aborts, [16.338], "abort at attempt 4");
    let (t, status) = r.finished.clone().expect("finished after the abort grace");
    assert!(matches!(status, AgentStatus::Failed { kind, .. } if kind == "RetryLimit"));
    assert!((t - (16.338 + l.abort_grace.as_secs_f64())).abs() < 1e-6, "{t}");
}

#[test]
fn permission_ask_is_answered_once() {
    let r = Replay::run(recording("events-permission-ask-hang.jsonl"), limits(), &[], 10.0);
    let asked: Vec<&Action> =
        r.actions.iter().map(|(_, a)| a).filter(|a| matches!(a, Action::RejectPermission { .. })).collect();
    assert_eq!(asked, [&Action::RejectPermission { id: "per_1fbcc4062001eLyGdNAGlttZX1".into() }]);
    assert_eq!(r.finished, None, "the recording ends busy (nobody answered it then)");
}

#[test]
fn cancel_aborts_and_ends_cancelled_at_the_idle() {
    let r = Replay::run(
        recording("events-slow-abort.jsonl"),
        limits(),
        &[(2.0, Input::Cancel(CancelReason::Signal))],
        700.0,
    );
    assert_eq!(r.actions.iter().filter(|(_, a)| *a == Action::Abort).map(|(t, _)| *t).collect::<Vec<_>>(), [2.0]);
    // MessageAbortedError then idle at 2.16: the abort's own error is not a failure.
    assert_eq!(r.finished.clone().unwrap(), (2.16, AgentStatus::Cancelled));
}

#[test]
fn timeout_aborts_and_ends_timed_out() {
    let l = Limits { timeout: Duration::from_secs(2), ..limits() };
    let r = Replay::run(recording("events-slow-abort.jsonl"), l, &[], 700.0);
    assert_eq!(r.actions.iter().filter(|(_, a)| *a == Action::Abort).map(|(t, _)| *t).collect::<Vec<_>>(), [2.0]);
    assert_eq!(r.finished.clone().unwrap(), (2.16, AgentStatus::TimedOut));
}

#[test]
fn truncated_stream_loop_hits_the_step_cap() {
    let l = Limits { max_steps: 10, ..limits() };
    let r = Replay::run(recording("events-truncated-loop.jsonl"), l, &[], 700.0);
    assert_eq!(r.count(|a| *a == Action::Abort), 1);
    let (_, status) = r.finished.clone().expect("finished");
    assert!(matches!(status, AgentStatus::Failed { kind, .. } if kind == "StepLimit"));
    assert_eq!(r.machine.steps(), 11);
}

#[test]
fn truncated_stream_loop_is_not_capped_early() {
    // The recording has fewer steps than the default cap: no false alarm.
    let r = Replay::run(recording("events-truncated-loop.jsonl"), limits(), &[], 5.0);
    assert_eq!(r.finished, None);
    assert!(r.machine.steps() > 10);
}

#[test]
fn stalled_stream_triggers_one_recheck_per_watchdog_period() {
    // The main run cut at 3.0 s, then silence: the watchdog re-checks at 33 s and 63 s, and
    // the re-check that finds the root idle (events missed) completes the run.
    let events: Vec<(f64, Event)> = recording("events-main.jsonl").into_iter().filter(|(t, _)| *t < 3.0).collect();
    let mut r = Replay::run(events, limits(), &[], 40.0);
    assert_eq!(
        r.actions.iter().map(|(t, a)| (t.round() as i64, a.clone())).collect::<Vec<_>>(),
        [(33, Action::Recheck)]
    );
    r.api.busy.clear(); // meanwhile the session finished
    r.api.todos.values_mut().flatten().for_each(|t| t.status = "completed".into());
    r.advance(70.0);
    assert_eq!(r.finished.clone().map(|(t, s)| (t.round() as i64, s)), Some((63, AgentStatus::Done)));
}

#[test]
fn server_exit_fails_at_once() {
    let mut r =
        Replay::run(recording("events-main.jsonl").into_iter().filter(|(t, _)| *t < 2.0).collect(), limits(), &[], 2.0);
    r.input(2.5, Input::StreamLost { server_exited: true, detail: "gone".into() });
    assert_eq!(
        r.finished.clone().unwrap().1,
        AgentStatus::Failed { kind: "ServerExited".into(), message: "gone".into() }
    );
}

/// The oh-my-opencode run: raw SSE frames (no timestamps) parsed by our SSE parser. Spinner
/// toasts come every ~150 ms, so each frame is given 150 ms; heartbeats 10 s.
fn omo_events() -> Vec<(f64, Event)> {
    let raw = fixture("omo-todo-continuation-raw-sse.txt");
    let mut parser = Parser::new();
    // Fed in odd-sized chunks: the parser must not care.
    let frames: Vec<_> = raw.as_bytes().chunks(777).flat_map(|c| parser.feed(c)).collect();
    let mut t = 0.0;
    frames
        .into_iter()
        .map(|f| {
            let event = Event::parse(&serde_json::from_str(&f.data).unwrap());
            t += if event == Event::Heartbeat { 10.0 } else { 0.15 };
            (t, event)
        })
        .collect()
}

#[test]
fn omo_todo_continuation_is_not_mistaken_for_done() {
    let events = omo_events();
    let idles: Vec<f64> = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Status { status: Status::Idle, .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(idles.len(), 2);
    let r = Replay::run(events, limits(), &[], 700.0);
    let (t, status) = r.finished.clone().expect("finished");
    assert_eq!(status, AgentStatus::Done);
    // Not at the first idle (the plugin resumed ~2 s later) but a quiet period after the last.
    let quiet = limits().quiet.as_secs_f64();
    assert!((t - (idles[1] + quiet)).abs() < 1e-6, "done at {t}, idles {idles:?}");
    assert_eq!(r.machine.todos().iter().map(|t| t.status.as_str()).collect::<Vec<_>>(), ["pending"]);
}

#[test]
fn a_too_short_quiet_period_would_stop_omo_early() {
    // Documents why `quiet` must outlast the plugin's ~2 s resume delay.
    let l = Limits { quiet: Duration::from_secs(1), ..limits() };
    let events = omo_events();
    let first_idle =
        events.iter().find(|(_, e)| matches!(e, Event::Status { status: Status::Idle, .. })).map(|(t, _)| *t).unwrap();
    let r = Replay::run(events, l, &[], 700.0);
    let (t, _) = r.finished.clone().unwrap();
    assert!((t - (first_idle + 1.0)).abs() < 1e-6);
}

fn failed(r: &Replay) -> (f64, String, String) {
    match r.finished.clone() {
        Some((t, AgentStatus::Failed { kind, message })) => (t, kind, message),
        other => panic!("not failed: {other:?}"),
    }
}

fn root_of(events: &[(f64, Event)]) -> String {
    events
        .iter()
        .find_map(|(_, e)| match e {
            Event::SessionCreated { id, parent: None } => Some(id.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn a_wrong_agent_name_fails_a_quiet_period_after_its_error() {
    // Recorded with `agent: sisyphus` (no such agent): two `session.error`s (the cause, then a
    // bare stack trace) and nothing after them, no busy, no idle.
    let events = recording("events-agent-not-found.jsonl");
    let error_at = events.iter().find(|(_, e)| matches!(e, Event::Error { .. })).unwrap().0;
    let r = Replay::run(events, limits(), &[], 700.0);
    let (t, kind, message) = failed(&r);
    assert_eq!(kind, "UnknownError");
    assert!(message.contains("Agent not found: \"sisyphus\""), "the first error is the cause: {message}");
    assert!((t - (error_at + limits().quiet.as_secs_f64())).abs() < 1e-6, "failed at {t}, not at the timeout");
    assert_eq!(r.count(|a| *a == Action::Abort), 0, "it never ran");
}

#[test]
fn a_root_error_while_busy_fails_unless_a_busy_follows_within_the_quiet_period() {
    // The main run cut at 2.0 s, then an error on the root and silence: abort and fail with it.
    let mut events: Vec<(f64, Event)> = recording("events-main.jsonl").into_iter().filter(|(t, _)| *t < 2.0).collect();
    let root = root_of(&events);
    let error = Event::Error { session: Some(root.clone()), name: "APIError".into(), message: "boom".into() };
    events.push((2.0, error.clone()));
    let r = Replay::run(events, limits(), &[], 700.0);
    assert_eq!(failed(&r), (6.0, "APIError".into(), "boom".into()));
    assert_eq!(r.count(|a| *a == Action::Abort), 1);
    // The whole run with the same error at 1.0 s: the busy after it shows the session went on.
    let mut events = recording("events-main.jsonl");
    let at = events.iter().position(|(t, _)| *t > 1.0).unwrap();
    events.insert(at, (1.0, error));
    let r = Replay::run(events, limits(), &[], 700.0);
    assert_eq!(r.finished, Some((3.948, AgentStatus::Done)));
}

#[test]
fn http_401_fails_at_once_with_the_providers_reason() {
    let r = Replay::run(recording("events-http401.jsonl"), limits(), &[], 700.0);
    let (t, kind, message) = failed(&r);
    assert_eq!((t, kind.as_str()), (23.104, "APIError"));
    assert_eq!(message, "HTTP 401: Incorrect API key provided: sk-xx***xx.");
}

#[test]
fn identical_connection_failures_stop_the_retries_early() {
    // A base URL nobody listens on: OpenCode retries 5 times over ~60 s, then errors. Three
    // identical "Cannot connect" retries are enough to know.
    let events = recording("events-connection-refused.jsonl");
    let retries: Vec<f64> = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Status { status: Status::Retry { .. }, .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(retries.len(), 5);
    let r = Replay::run(events, limits(), &[], 700.0);
    let aborts: Vec<f64> = r.actions.iter().filter(|(_, a)| *a == Action::Abort).map(|(t, _)| *t).collect();
    assert_eq!(aborts, [retries[2]], "abort at the third identical retry");
    let (t, kind, message) = failed(&r);
    assert_eq!(kind, "ConnectionError");
    assert!(message.starts_with("Cannot connect to API: Unable to connect."), "{message}");
    assert!(message.contains("3 times in a row"), "{message}");
    assert!(t < retries[3], "{t}");
}

#[test]
fn transient_retries_are_not_cut_short() {
    // Five identical 5xx retries: an outage may pass, so only `max_retries` ends them.
    let l = Limits { max_hopeless_retries: 2, ..limits() };
    let r = Replay::run(recording("events-http500-retry.jsonl"), l, &[], 61.0);
    assert_eq!(r.finished, None);
}

#[test]
fn the_quiet_period_counts_from_the_last_idle_of_any_session() {
    // The root idles with a todo pending while a child still works; the child idles 2 s later.
    let e = |session: &str, status| Event::Status { session: session.into(), status };
    let events = vec![
        (0.0, Event::SessionCreated { id: "root".into(), parent: None }),
        (0.1, e("root", Status::Busy)),
        (
            0.2,
            Event::TodoUpdated {
                session: "root".into(),
                todos: vec![Todo { content: "x".into(), status: "pending".into() }],
            },
        ),
        (0.3, Event::SessionCreated { id: "child".into(), parent: Some("root".into()) }),
        (0.4, e("child", Status::Busy)),
        (1.0, e("root", Status::Idle)),
        (3.0, e("child", Status::Idle)),
        (20.0, Event::Heartbeat),
    ];
    let r = Replay::run(events, limits(), &[], 700.0);
    assert_eq!(r.finished, Some((3.0 + limits().quiet.as_secs_f64(), AgentStatus::Done)), "not 1.0 + quiet");
}

#[test]
fn background_work_in_the_plugins_marker_holds_completion() {
    // The main run's final idle (3.948) is conclusive from events, but the plugin's marker says
    // a background task is running; at 7.0 it hands the result back (the root works again) and
    // the root's next idle, with nothing active, ends the run.
    let mut events = recording("events-main.jsonl");
    let root = root_of(&events);
    events.push((7.0, Event::Status { session: root.clone(), status: Status::Busy }));
    events.push((8.0, Event::Status { session: root, status: Status::Idle }));
    let r = Replay::run_with(events, limits(), &[], 700.0, 7.0);
    assert_eq!(r.finished, Some((8.0, AgentStatus::Done)));
    // Read at the idle, then on the tick while idle (every 0.5 s), not in a busy loop.
    assert!((6..=9).contains(&r.api.marker_reads), "{} reads", r.api.marker_reads);
    assert_eq!(r.api.requests, 0, "a file read, not a request");
}

#[test]
fn background_work_that_ends_without_waking_the_root_ends_after_the_quiet_period() {
    let r = Replay::run_with(recording("events-main.jsonl"), limits(), &[], 700.0, 6.0);
    let (t, status) = r.finished.clone().unwrap();
    assert_eq!(status, AgentStatus::Done);
    // The last read that saw it active (5.948), plus the quiet period.
    assert!((t - (5.948 + limits().quiet.as_secs_f64())).abs() < 1e-6, "{t}");
    assert_eq!(r.machine.background(), [] as [String; 0]);
}

#[test]
fn background_work_is_bounded_by_the_timeout() {
    let l = Limits { timeout: Duration::from_secs(30), ..limits() };
    let r = Replay::run_with(recording("events-main.jsonl"), l, &[], 700.0, 1e9);
    assert_eq!(r.finished, Some((30.0, AgentStatus::TimedOut)));
    assert_eq!(r.machine.background().len(), 1);
}

#[test]
fn the_step_cap_counts_per_session() {
    // The root takes 4 steps and its child 2: six in all, but no session more than four.
    let l = Limits { max_steps: 4, ..limits() };
    let r = Replay::run(recording("events-parent.jsonl"), l, &[], 700.0);
    assert_eq!(r.finished.clone().map(|(_, s)| s), Some(AgentStatus::Done));
    assert_eq!(r.machine.steps(), 6);
    let l = Limits { max_steps: 3, ..limits() };
    let r = Replay::run(recording("events-parent.jsonl"), l, &[], 700.0);
    assert_eq!(failed(&r).1, "StepLimit");
}

#[test]
fn identical_consecutive_steps_are_a_loop_long_before_the_cap() {
    // The truncated stream: every step says "partial " and is re-called.
    let l = Limits { max_identical_steps: 5, ..limits() };
    let r = Replay::run(recording("events-truncated-loop.jsonl"), l, &[], 700.0);
    let (_, kind, message) = failed(&r);
    assert_eq!(kind, "StepLoop");
    assert!(message.contains("5 identical model steps"), "{message}");
    // Steps that differ are not a loop: the main run's five steps each do something else.
    let l = Limits { max_identical_steps: 2, ..limits() };
    let r = Replay::run(recording("events-main.jsonl"), l, &[], 700.0);
    assert_eq!(r.finished.clone().map(|(_, s)| s), Some(AgentStatus::Done));
}

#[test]
fn an_unknown_model_fails_at_once_and_the_advice_names_the_model_input() {
    // Recorded: the provider answered 404 `model_not_found`; OpenCode does not retry it.
    let r = Replay::run(recording("events-http404-model.jsonl"), limits(), &[], 700.0);
    let (t, kind, message) = failed(&r);
    assert_eq!((t, kind.as_str()), (23.651, "APIError"), "at the idle after the error");
    assert!(message.starts_with("HTTP 404: The model `fake-model` does not exist"), "{message}");
    let advice = sisyphus_action::report::advice(&kind, &message, "openai-compatible/fake-model").unwrap();
    assert!(advice.contains("the model `fake-model` is not known to provider `openai-compatible`"), "{advice}");
    assert!(advice.contains("set the `model` input"), "{advice}");
}

/// The plugin's marker file's active sources, from each change on.
type Markers = Vec<(f64, Vec<String>)>;

/// A recording of a Sisyphus turn (`sisyphus::record_stream`): the events, and the marker.
fn omo_recording(name: &str) -> (Vec<(f64, Event)>, Markers) {
    let (mut events, mut markers) = (Vec::new(), Vec::new());
    for line in fixture(name).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let t = v["t"].as_f64().unwrap();
        match v.get("marker") {
            Some(marker) => markers.push((t, events::active_sources(&marker.to_string()))),
            None => events.push((t, Event::parse(&v["event"]))),
        }
    }
    (events, markers)
}

/// The limits a Sisyphus run gets (`OpenCode::run`).
fn sisyphus_limits() -> Limits {
    Limits { quiet: omo::QUIET, ..limits() }
}

/// Replays a Sisyphus recording, its marker as recorded, cut (events and marker changes) at
/// `cut`; then time runs on to 700 s.
fn run_omo(name: &str, limits: Limits, cut: f64) -> Replay {
    let (events, markers) = omo_recording(name);
    let events: Vec<(f64, Event)> = events.into_iter().filter(|(t, _)| *t < cut).collect();
    let mut r = Replay::new(&events, limits);
    r.api.markers = markers.into_iter().filter(|(t, _)| *t < cut).collect();
    for (t, event) in events {
        r.advance(t);
        if r.finished.is_some() {
            break;
        }
        r.api.see(&event);
        r.input(t, Input::Event(event));
    }
    r.advance(700.0);
    r
}

/// When the root went idle (`session.status` idle) in a recording.
fn root_idles(events: &[(f64, Event)], root: &str) -> Vec<f64> {
    events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Status { session, status: Status::Idle } if session == root))
        .map(|(t, _)| *t)
        .collect()
}

/// A Sisyphus recording with its root and the root's two idles (before and after the plugin
/// woke it), checked to be there.
fn two_idles(name: &str) -> (Vec<(f64, Event)>, Markers, String, [f64; 2]) {
    let (events, markers) = omo_recording(name);
    let root = root_of(&events);
    let idles = root_idles(&events, &root);
    let idles: [f64; 2] = idles.try_into().unwrap_or_else(|i| panic!("two root idles, not {i:?}"));
    (events, markers, root, idles)
}

#[test]
fn a_background_task_that_reports_after_the_roots_idle_is_waited_for() {
    // Recorded: Sisyphus starts an explore task in the background (the marker turns active),
    // ends its turn (root idle at ~54 s), the task's session works on until ~59 s, the marker
    // turns idle at ~62 s and the plugin hands the result to the root, which answers and goes
    // idle again (~65 s).
    let name = "omo-background-wake.jsonl";
    let (_, markers, _, idles) = two_idles(name);
    let active_at_idle = markers.iter().take_while(|(t, _)| *t <= idles[0]).last().map(|(_, a)| a.clone());
    assert!(active_at_idle.is_some_and(|a| !a.is_empty()), "the marker is active at the first idle");

    let r = run_omo(name, sisyphus_limits(), 700.0);
    assert_eq!(r.finished, Some((idles[1], AgentStatus::Done)), "done at the idle after the wake, not at {}", idles[0]);
    assert_eq!(r.machine.children().len(), 1, "the background task's session is tracked");
    let text = r.final_text.clone().unwrap();
    assert!(text.contains("FAKE-BG-FINAL"), "the answer after the wake is what is published: {text}");
    // Read at each idle, then every 0.5 s once only the marker holds the run (~59-62 s).
    assert!((5..=20).contains(&r.api.marker_reads), "{} marker reads", r.api.marker_reads);
    // One re-check, at the first idle (the task's session was busy); marker reads are file reads.
    assert_eq!(r.count(|a| *a == Action::Recheck), 1);
    // The default quiet period holds too: the marker is what holds the run, not the quiet period.
    let r = run_omo(name, limits(), 700.0);
    assert_eq!(r.finished, Some((idles[1], AgentStatus::Done)));
}

#[test]
fn a_background_task_cut_before_its_wake_times_out_naming_the_work() {
    // The same run cut while the task still works (60 s): nothing more comes, the marker stays
    // active. The run is held to its deadline and then reports the background work left.
    let name = "omo-background-wake.jsonl";
    let l = Limits { timeout: Duration::from_secs(120), ..sisyphus_limits() };
    let r = run_omo(name, l, 60.0);
    assert_eq!(r.finished.clone().map(|(t, s)| (t.round() as i64, s)), Some((120, AgentStatus::TimedOut)));
    assert_eq!(r.machine.background(), ["background-task: 1 background task(s) active"]);
    // Cut after the marker turned idle but before the root woke (~62 s): done a quiet period
    // after the last read that saw it active, with the root's pre-wake text.
    let (events, markers, root, [first_idle, _]) = two_idles(name);
    let is_root_busy = |e: &Event| matches!(e, Event::Status { session, status: Status::Busy } if *session == root);
    let wake = events.iter().find(|(t, e)| *t > first_idle && is_root_busy(e)).unwrap().0;
    let went_idle = markers.iter().find(|(t, a)| *t > first_idle && a.is_empty()).unwrap().0;
    assert!(went_idle < wake, "the recording's marker turned idle before the wake");
    let r = run_omo(name, sisyphus_limits(), wake - 0.01);
    let (t, status) = r.finished.clone().expect("finished");
    assert_eq!(status, AgentStatus::Done);
    assert!(t > went_idle && t <= went_idle + omo::QUIET.as_secs_f64(), "done at {t}, marker idle at {went_idle}");
    assert!(!r.final_text.clone().unwrap().contains("FAKE-BG-FINAL"));
}

#[test]
fn a_todo_continuation_by_the_plugin_is_waited_for() {
    // Recorded on a loaded machine: Sisyphus plans two todos, ends its turn with them pending
    // (first idle), and the plugin prompts it again 4.1 s later; it completes them and goes
    // idle with nothing pending.
    let name = "omo-todo-continuation.jsonl";
    let (events, _, root, idles) = two_idles(name);
    let resumed = events
        .iter()
        .find(|(t, e)| {
            *t > idles[0] && matches!(e, Event::Status { session, status: Status::Busy } if *session == root)
        })
        .unwrap()
        .0;
    assert!(
        resumed - idles[0] > Limits::default().quiet.as_secs_f64(),
        "the recording's point: {}",
        resumed - idles[0]
    );

    let r = run_omo(name, sisyphus_limits(), 700.0);
    assert_eq!(r.finished, Some((idles[1], AgentStatus::Done)), "done at the final idle, todos done");
    assert_eq!(r.machine.todos().iter().map(|t| t.status.as_str()).collect::<Vec<_>>(), ["completed", "completed"]);
    assert!(r.final_text.clone().unwrap().contains("FAKE-TODO-FINAL"));
    // With the 4 s of a plain run, the plugin's resume came too late: why Sisyphus waits longer.
    let r = run_omo(name, limits(), 700.0);
    let (t, _) = r.finished.clone().unwrap();
    assert!((t - (idles[0] + limits().quiet.as_secs_f64())).abs() < 1e-6, "stopped early at {t}");
}

#[test]
fn a_todo_continuation_that_never_comes_ends_a_quiet_period_after_the_idle() {
    // Cut after the first idle: the plugin never resumed. Done with the todos left pending (the
    // driver warns about them), a quiet period after the idle, not at the deadline.
    let name = "omo-todo-continuation.jsonl";
    let (_, _, _, idles) = two_idles(name);
    let r = run_omo(name, sisyphus_limits(), idles[0] + 2.0);
    let (t, status) = r.finished.clone().unwrap();
    assert_eq!(status, AgentStatus::Done);
    assert!((t - (idles[0] + omo::QUIET.as_secs_f64())).abs() < 1e-6, "{t}");
    assert_eq!(r.machine.todos().iter().map(|t| t.status.as_str()).collect::<Vec<_>>(), ["in_progress", "pending"]);
    assert!(!r.final_text.clone().unwrap().contains("FAKE-TODO-FINAL"));
}
