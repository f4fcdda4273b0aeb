//! The OpenCode runtime: starts a private `opencode serve`, sends the prompt, follows the event
//! stream until the completion machine says the run is over, and hands back the `Outcome`.
//!
//! One thread waits on one channel: events (from the stream reader thread), the server's
//! output closing (it died) and cancellation all arrive there, and the wait is bounded by the
//! completion machine's next deadline. Nothing polls; while the agent works the only traffic
//! to the server is the event stream. The server is the `Teardown`'s: the caller stops it
//! (before containment) once it has the outcome; a run that fails stops it before returning.

pub mod agents;
pub mod api;
pub mod completion;
pub mod config;
pub mod events;
pub mod omo;
pub mod server;
pub mod sse;
pub mod transcript;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use self::api::{Api, StreamNote};
use self::completion::{Action, Completion, Input, Limits};
use self::events::Event;
use self::server::{Server, ServerNote};
use self::transcript::Transcript;
use super::{AgentRequest, AgentStatus, Finished, Outcome, Runtime, Teardown};
use crate::cancel::{Cancel, CancelReason};

/// How long `opencode serve` may take to print its URL (a cold start is ~1.5-4 s; a plugin
/// install can take much longer).
const START_WAIT: Duration = Duration::from_secs(120);
/// SIGTERM → SIGKILL grace for the server's process group.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How often a lost event stream is re-opened before the run fails.
const MAX_RESUBSCRIBES: u32 = 3;

/// Everything the driver thread waits for, on one channel.
#[derive(Debug)]
pub enum Note {
    Stream(StreamNote),
    Server(ServerNote),
    Cancel(CancelReason),
}

impl From<StreamNote> for Note {
    fn from(n: StreamNote) -> Self {
        Note::Stream(n)
    }
}

/// The OpenCode runtime. `limits` defaults from the config; tests may tighten them.
#[derive(Debug, Clone, Default)]
pub struct OpenCode {
    pub limits: Option<Limits>,
    /// Filled in at the end of a run, when set (tests and the benchmark read it).
    pub stats: Option<Arc<Mutex<RunStats>>>,
}

/// How the run went, for the benchmark targets (see the README's design notes).
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// API requests after the prompt until the input that ended the run arrived (target: 0 —
    /// only the event stream while the agent works).
    pub requests_while_working: usize,
    /// API requests made to decide, after that input (the idle re-check).
    pub requests_to_finish: usize,
    /// From that input's arrival (the final root idle, on success) to the outcome being ready.
    pub finish_latency: Duration,
    pub events: usize,
    pub steps: usize,
}

impl Runtime for OpenCode {
    fn run(&self, request: &AgentRequest, cancel: &Cancel) -> Result<Finished> {
        let limits = self.limits.unwrap_or_else(|| limits_for(&request.config));
        run(request, cancel, limits, self.stats.as_deref())
    }
}

/// The completion limits of a run with `config`: its timeout, and for the Sisyphus preset a
/// longer quiet period (the plugin resumes a session left with pending todos seconds after
/// its idle: `omo::QUIET`).
fn limits_for(config: &crate::config::AgentConfig) -> Limits {
    let quiet = if config.sisyphus() { omo::QUIET } else { Limits::default().quiet };
    Limits { timeout: config.timeout, quiet, ..Limits::default() }
}

/// `agent` is the resolved name (`agents::resolve`), not the input as typed.
fn prompt_body(request: &AgentRequest, agent: Option<&str>) -> Result<Value> {
    let (provider, model) = config::split_model(&request.config.model)?;
    // The Sisyphus preset: our headless rules ride in the message (`omo::with_rules` says why).
    let text = if request.config.sisyphus() { omo::with_rules(&request.prompt) } else { request.prompt.clone() };
    let mut body = json!({
        "parts": [{"type": "text", "text": text}],
        "model": {"providerID": provider, "modelID": model},
    });
    if let Some(agent) = agent {
        body["agent"] = json!(agent);
    }
    if let Some(variant) = &request.config.variant {
        body["variant"] = json!(variant);
    }
    Ok(body)
}

fn run(request: &AgentRequest, cancel: &Cancel, limits: Limits, stats: Option<&Mutex<RunStats>>) -> Result<Finished> {
    let started = Instant::now();
    let binary = server::locate(request.config.opencode_path.as_deref())?;
    // Only a warning either way, so off the critical path: it runs while the server starts.
    let version_check = {
        let (binary, pinned) = (binary.clone(), request.config.opencode_version.clone());
        std::thread::spawn(move || match server::version(&binary) {
            Ok(v) if v == pinned => tracing::info!("opencode {v} at {}", binary.display()),
            Ok(v) => {
                tracing::warn!("opencode at `{}` is version {v}, not the pinned {pinned}; continuing", binary.display())
            }
            Err(e) => tracing::warn!("cannot read the opencode version: {e:#}"),
        })
    };

    let config = config::build(&request.config, &request.workdir)?;
    for (_, dir) in config::xdg_dirs(&request.scratch) {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    // The Sisyphus preset: the plugin's config for this run (put back when `omo` drops,
    // after the server stopped), and its transcripts and temp files in private dirs.
    let omo = if request.config.sisyphus() { Some(sisyphus_config(request)?) } else { None };
    let password = crate::gha::random_token();
    let mut env = config::server_env(
        std::env::vars_os(),
        &config.to_string(),
        &password,
        &request.scratch,
        request.untrusted_tree,
    );
    if request.config.sisyphus() {
        for (name, dir) in [("CLAUDE_CONFIG_DIR", "claude"), ("TMPDIR", "tmp")] {
            let dir = request.scratch.join("opencode").join(dir);
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
            env.insert(name.into(), dir.into());
        }
    }

    let (tx, rx) = mpsc::channel::<Note>();
    let (server_tx, server_rx) = mpsc::channel::<ServerNote>();
    forward(server_rx, tx.clone());
    let log_path = request.scratch.join("opencode").join("server.log");
    let mut server = Server::start(&binary, &request.workdir, &env, log_path, START_WAIT, server_tx)?;
    tracing::info!("opencode serving at {} (log: {})", server.url, server.log_path.display());
    // Usually done by now (it had the server's whole start-up); never waited for: the check
    // is bounded (30 s) and only ever warns.
    if version_check.is_finished() {
        let _ = version_check.join();
    }

    let channel = Channel { tx, rx, pending: VecDeque::new() };
    let outcome = Driver::start(request, cancel, limits, &mut server, &password, channel)
        .and_then(|driver| driver.drive(started, stats));
    // The caller stops the server (before it contains what is left and publishes, so nothing
    // still serves the agent then); when the run failed, it is stopped here. The plugin's
    // config is put back only after the server stopped.
    let teardown = Teardown::stopping(Box::new(move || {
        server.stop(STOP_GRACE);
        drop(omo);
    }));
    match outcome {
        Ok(outcome) => Ok(Finished { outcome, teardown }),
        Err(e) => {
            teardown.finish();
            Err(e)
        }
    }
}

/// Writes oh-my-opencode's config where it reads it, `$HOME/.omo/omo.jsonc`.
fn sisyphus_config(request: &AgentRequest) -> Result<omo::Written> {
    let home =
        std::env::var_os("HOME").context("`HOME` is not set: oh-my-opencode reads its config from `$HOME/.omo`")?;
    let config = omo::build(&request.config, request.untrusted_tree, &request.workdir)?;
    omo::write(std::path::Path::new(&home), &config)
}

/// The agent the prompt goes to, checked against the server's list before anything is sent:
/// an unknown name fails now, listing the agents, instead of after `timeout-minutes`. In the
/// Sisyphus preset the plugin must have loaded (its agent is listed), whatever `agent` says.
fn resolve_agent(api: &Api, request: &AgentRequest, server: &Server) -> Result<Option<String>> {
    let sisyphus = request.config.sisyphus();
    if request.config.agent.is_none() && !sisyphus {
        return Ok(None);
    }
    let list = agents::parse(&api.agents()?);
    if sisyphus && !agents::has_sisyphus(&list) {
        bail!("oh-my-opencode did not load (no Sisyphus agent); last server log lines:\n{}", server.tail());
    }
    // The preset's agent unless `agent` names another.
    let Some(wanted) = request.config.agent.as_deref().or(sisyphus.then_some("sisyphus")) else { return Ok(None) };
    let agent = agents::resolve(wanted, &list)?;
    if agent.name != wanted {
        tracing::info!("agent `{wanted}` is `{}`", agent.name);
    }
    Ok(Some(agent.name.clone()))
}

/// Forwards the server's notes into the driver's channel.
fn forward(from: Receiver<ServerNote>, to: Sender<Note>) {
    std::thread::spawn(move || {
        for note in from {
            if to.send(Note::Server(note)).is_err() {
                return;
            }
        }
    });
}

/// The driver's one channel, and what arrived on it before the driver looked (kept in order).
struct Channel {
    tx: Sender<Note>,
    rx: Receiver<Note>,
    pending: VecDeque<Note>,
}

impl Channel {
    /// Waits for `server.connected` on a fresh subscription (what came with or before it is
    /// kept).
    fn await_connected(&mut self, wait: Duration) -> Result<()> {
        let deadline = Instant::now() + wait;
        loop {
            match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Note::Stream(StreamNote::Events(batch))) if batch.contains(&Event::Connected) => {
                    let rest: Vec<Event> = batch.into_iter().filter(|e| *e != Event::Connected).collect();
                    if !rest.is_empty() {
                        self.pending.push_back(Note::Stream(StreamNote::Events(rest)));
                    }
                    return Ok(());
                }
                Ok(Note::Stream(StreamNote::Ended(why))) => bail!("the event stream closed before connecting: {why}"),
                Ok(note) => self.pending.push_back(note),
                Err(_) => bail!("the event stream did not connect within {wait:?}"),
            }
        }
    }

    /// The next note, waiting at most until `deadline` (`None`: the deadline passed).
    fn next(&mut self, deadline: Option<Instant>) -> Result<Option<Note>> {
        if let Some(note) = self.pending.pop_front() {
            return Ok(Some(note));
        }
        let Some(deadline) = deadline else {
            return Ok(Some(self.rx.recv().context("the runtime's event channel closed")?));
        };
        match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(note) => Ok(Some(note)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => bail!("the runtime's event channel closed"),
        }
    }
}

/// One run against a started server: the session, the completion machine fed from the one
/// channel, and the actions it asks for carried out. `start` sends the prompt; `drive` follows
/// the stream until the machine finishes.
struct Driver<'a> {
    request: &'a AgentRequest,
    server: &'a mut Server,
    api: Api,
    session: String,
    channel: Channel,
    machine: Completion,
    transcript: Transcript,
    /// oh-my-opencode's background-work marker for this session.
    marker: PathBuf,
    resubscribes: u32,
    events: usize,
    /// API calls made up to the prompt (the benchmark counts those after it).
    calls_after_prompt: usize,
}

impl<'a> Driver<'a> {
    /// Subscribes (before prompting: `prompt_async` answers before the work starts), checks the
    /// agent, creates the session and sends the prompt.
    fn start(
        request: &'a AgentRequest,
        cancel: &Cancel,
        limits: Limits,
        server: &'a mut Server,
        password: &str,
        mut channel: Channel,
    ) -> Result<Self> {
        let api = Api::new(&server.url, "opencode", password);
        api.subscribe(channel.tx.clone())?;
        channel.await_connected(Duration::from_secs(30))?;
        let agent = resolve_agent(&api, request, server)?;
        let session = api.create_session(&request.title)?;
        tracing::info!("session {session}: {}", request.title);

        let cancel_tx = channel.tx.clone();
        cancel.on_cancel(move |reason| {
            let _ = cancel_tx.send(Note::Cancel(reason));
        });
        // Cancelled while the server started: the queued cancel note ends the loop at once.
        if !cancel.is_cancelled() {
            api.prompt(&session, &prompt_body(request, agent.as_deref())?)?;
        }
        Ok(Self {
            request,
            server,
            calls_after_prompt: api.calls(),
            marker: events::marker_path(&request.workdir, &session),
            machine: Completion::new(session.clone(), limits, Instant::now()),
            transcript: Transcript::new(session.clone()),
            api,
            session,
            channel,
            resubscribes: 0,
            events: 0,
        })
    }

    /// Follows the stream until the machine finishes; the outcome, and `stats` filled in.
    fn drive(mut self, started: Instant, stats: Option<&Mutex<RunStats>>) -> Result<Outcome> {
        let (status, decided_at, calls_before) = {
            // Model output is untrusted: it must not be able to issue workflow commands.
            let _guard = self.request.gha.stop_commands();
            loop {
                let note = self.channel.next(self.machine.next_deadline())?;
                let arrived = Instant::now();
                let calls_before = self.api.calls();
                let Some(inputs) = self.inputs(note) else { continue };
                if let Some(status) = self.feed(inputs, arrived)? {
                    self.transcript.flush_log();
                    break (status, arrived, calls_before);
                }
            }
        };
        let outcome = Outcome {
            status,
            final_text: self.transcript.final_text(),
            todos: self.machine.todos().to_vec(),
            child_sessions: self.machine.children().to_vec(),
            usage: self.transcript.usage(),
            files_changed: self.transcript.files_changed(),
            session_id: Some(self.session.clone()),
            duration: started.elapsed(),
        };
        self.report(&outcome, decided_at, calls_before, stats);
        Ok(outcome)
    }

    /// What one note (`None`: the machine's deadline passed) means to the machine; `None` for
    /// a note it does not care about.
    fn inputs(&mut self, note: Option<Note>) -> Option<Vec<Input>> {
        Some(match note {
            None => vec![Input::Tick],
            Some(Note::Cancel(reason)) => vec![Input::Cancel(reason)],
            Some(Note::Stream(StreamNote::Events(batch))) => {
                self.events += batch.len();
                batch.into_iter().map(Input::Event).collect()
            }
            Some(Note::Stream(StreamNote::Ended(detail))) => {
                let server_exited = self.server.exited().is_some() || self.resubscribes >= MAX_RESUBSCRIBES;
                vec![Input::StreamLost { server_exited, detail }]
            }
            Some(Note::Server(ServerNote::OutputClosed)) => {
                let detail = format!("`opencode serve` exited; last log lines:\n{}", self.server.tail());
                vec![Input::StreamLost { server_exited: true, detail }]
            }
            Some(Note::Server(ServerNote::Listening)) => return None,
        })
    }

    /// Records the run's events (transcript, live comment) and hands each input to the
    /// machine; the final status once it finishes.
    fn feed(&mut self, inputs: Vec<Input>, arrived: Instant) -> Result<Option<AgentStatus>> {
        for input in inputs {
            // Decided before the machine sees the event, which may start tracking a child.
            if let Input::Event(event) = &input
                && event_of_run(&self.machine, event)
            {
                self.transcript.record(event, &self.request.workdir);
                if let Some(tx) = &self.request.progress
                    && let Some(note) = crate::progress::note_for(event, &self.session, &self.request.workdir)
                {
                    // The live comment may have ended already; the agent does not care.
                    let _ = tx.send(note);
                }
            }
            let actions = self.machine.handle(input, arrived);
            if let Some(status) = self.perform(actions)? {
                return Ok(Some(status));
            }
        }
        Ok(None)
    }

    /// Carries out the machine's actions; returns the final status once it finishes.
    fn perform(&mut self, actions: Vec<Action>) -> Result<Option<AgentStatus>> {
        let (api, session) = (&self.api, self.session.as_str());
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Finish(status) => return Ok(Some(status)),
                Action::Recheck => {
                    let input = match api.snapshot(session) {
                        Ok(snapshot) => Input::Snapshot(snapshot),
                        Err(e) => {
                            tracing::warn!("re-check failed: {e:#}");
                            Input::RecheckFailed
                        }
                    };
                    queue.extend(self.machine.handle(input, Instant::now()));
                }
                Action::ReadMarker => {
                    // Absent unless oh-my-opencode runs: then nothing is active.
                    let active =
                        std::fs::read_to_string(&self.marker).map(|m| events::active_sources(&m)).unwrap_or_default();
                    if active != self.machine.background() && !active.is_empty() {
                        tracing::info!("waiting for background work: {}", active.join("; "));
                    }
                    queue.extend(self.machine.handle(Input::Marker(active), Instant::now()));
                }
                Action::Abort => {
                    tracing::warn!("aborting the session");
                    if let Err(e) = api.abort(session) {
                        tracing::warn!("abort failed: {e:#}");
                    }
                }
                Action::RejectPermission { id } => {
                    tracing::warn!("permission request {id} rejected: this run is headless");
                    if let Err(e) = api.reject_permission(&id) {
                        tracing::warn!("cannot answer permission request {id}: {e:#}");
                    }
                }
                Action::RejectQuestion { id } => {
                    tracing::warn!("question {id} rejected: this run is headless");
                    if let Err(e) = api.reject_question(&id) {
                        tracing::warn!("cannot answer question {id}: {e:#}");
                    }
                }
                Action::Resubscribe => {
                    self.resubscribes += 1;
                    let n = self.resubscribes;
                    tracing::warn!("event stream lost; subscribing again ({n}/{MAX_RESUBSCRIBES})");
                    if let Err(e) = api.subscribe(self.channel.tx.clone()) {
                        tracing::warn!("cannot subscribe again: {e:#}");
                    }
                }
            }
        }
        Ok(None)
    }

    /// The finish's numbers for the log, the benchmark and `stats`.
    fn report(&self, outcome: &Outcome, decided_at: Instant, calls_before: usize, stats: Option<&Mutex<RunStats>>) {
        let latency = decided_at.elapsed();
        let (working, finishing) = (calls_before - self.calls_after_prompt, self.api.calls() - calls_before);
        // The benchmark (`scripts/bench`) reads this line: keep its wording.
        tracing::debug!(
            "outcome ready {:.1} ms after the deciding input arrived; {} requests to the server while the agent worked, {} to decide",
            latency.as_secs_f64() * 1e3,
            working,
            finishing
        );
        if let Some(stats) = stats {
            *stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = RunStats {
                requests_while_working: working,
                requests_to_finish: finishing,
                finish_latency: latency,
                events: self.events,
                steps: self.machine.steps(),
            };
        }
        tracing::info!(
            "agent finished: {:?} after {:.1} s, {} steps, {} todos, {} subagents",
            outcome.status,
            outcome.duration.as_secs_f64(),
            self.machine.steps(),
            outcome.todos.len(),
            outcome.child_sessions.len()
        );
        let open = outcome.todos.iter().filter(|t| t.status != "completed" && t.status != "cancelled").count();
        if open > 0 {
            tracing::warn!("the agent stopped with {open} of {} todos still open", outcome.todos.len());
        }
    }
}

/// Events of sessions we do not track (another client's) only count as stream liveness.
pub fn event_of_run(machine: &Completion, event: &Event) -> bool {
    match event {
        Event::SessionCreated { parent: Some(p), .. } => machine.tracks(p),
        Event::Status { session, .. }
        | Event::Idle { session }
        | Event::MessageUpdated { session, .. }
        | Event::PartUpdated { session, .. }
        | Event::TextDelta { session, .. }
        | Event::TodoUpdated { session, .. } => machine.tracks(session),
        Event::Error { session, .. } => session.as_deref().is_none_or(|s| machine.tracks(s)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AgentConfig, Preset};

    #[test]
    fn a_sisyphus_run_waits_longer_for_the_plugin_to_resume_it() {
        let plain = AgentConfig { timeout: Duration::from_secs(90), ..AgentConfig::default() };
        assert_eq!(limits_for(&plain), Limits { timeout: Duration::from_secs(90), ..Limits::default() });
        let sisyphus = AgentConfig { preset: Some(Preset::Sisyphus), ..plain };
        let limits = limits_for(&sisyphus);
        assert_eq!((limits.quiet, limits.timeout), (omo::QUIET, Duration::from_secs(90)));
        assert!(omo::QUIET > Limits::default().quiet);
    }
}
