//! The OpenCode runtime against the REAL `opencode serve` (`OPENCODE_BIN`, set by
//! `scripts/test`), with a scripted fake model served from this test process
//! (`support/fake_llm.rs`). Each test gets its own repository, scratch dir and server; at most
//! two servers run at once (2-core CI). After every run we check that no process of that
//! server is left (the server env names the scratch dir, so `/proc/*/environ` finds them).
//!
//! Without OpenCode: fails in CI (`CI` set), skips with a message by hand.

use crate::support::fake_llm;
use crate::support::git_repo::git;
use crate::support::opencode;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_llm::FakeLlm;
use opencode::{Slot, opencode_bin};
use sisyphus_action::cancel::{Cancel, CancelReason};
use sisyphus_action::config::AgentConfig;
use sisyphus_action::runtime::opencode::completion::Limits;
use sisyphus_action::runtime::opencode::{OpenCode, RunStats};
use sisyphus_action::runtime::{AgentRequest, AgentStatus, Outcome, Runtime};

struct Setup {
    _dir: tempfile::TempDir,
    workdir: PathBuf,
    scratch: PathBuf,
    llm: FakeLlm,
    bin: PathBuf,
}

fn setup(bin: PathBuf) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().join("repo");
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&workdir).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(workdir.join("README.md"), "# test repo\n").unwrap();
    git(&workdir, &["init", "-q"]);
    git(&workdir, &["add", "."]);
    git(&workdir, &["commit", "-qm", "init"]);
    Setup { workdir: workdir.canonicalize().unwrap(), scratch, _dir: dir, llm: FakeLlm::start(), bin }
}

fn request(s: &Setup, scenario: &str, tweak: impl FnOnce(&mut AgentConfig)) -> AgentRequest {
    // Far beyond any test's bound below: a test that ends by its own event never meets it,
    // even on a loaded 2-core machine where OpenCode alone may take 25 s to start.
    let mut config = opencode::fake_model_agent(&s.bin, &s.llm.base_url, Duration::from_secs(300));
    tweak(&mut config);
    AgentRequest {
        prompt: format!("SCENARIO={scenario} do the thing"),
        workdir: s.workdir.clone(),
        title: format!("test {scenario}"),
        scratch: s.scratch.clone(),
        config,
        untrusted_tree: false,
        progress: None,
        gha: Default::default(),
    }
}

/// Processes whose environment names `scratch` (the server and anything it spawned).
fn processes_of(scratch: &Path) -> Vec<String> {
    let needle = scratch.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(env) = std::fs::read(entry.path().join("environ"))
            && String::from_utf8_lossy(&env).contains(&needle)
        {
            let cmd = std::fs::read_to_string(entry.path().join("cmdline")).unwrap_or_default().replace('\0', " ");
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid pgrp session: says whether it is dying, whose child it is
            // and whether it left the server's process group.
            let fields: Vec<&str> =
                stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().take(4).collect()).unwrap_or_default();
            found.push(format!("{name} [state/ppid/pgrp/sid {}]: {cmd}", fields.join("/")));
        }
    }
    found
}

fn run(s: &Setup, req: &AgentRequest, limits: Option<Limits>, cancel: &Cancel) -> Outcome {
    run_stats(s, req, limits, cancel).0
}

fn run_stats(s: &Setup, req: &AgentRequest, limits: Option<Limits>, cancel: &Cancel) -> (Outcome, RunStats) {
    let _ = tracing_subscriber::fmt().with_test_writer().with_max_level(tracing::Level::INFO).try_init();
    let started = Instant::now();
    let stats = Arc::new(Mutex::new(RunStats::default()));
    let finished = OpenCode { limits, stats: Some(stats.clone()) }.run(req, cancel).unwrap_or_else(|e| {
        let log = std::fs::read_to_string(s.scratch.join("opencode/server.log")).unwrap_or_default();
        panic!("run failed: {e:#}\nserver log tail:\n{}", tail(&log))
    });
    // What the lifecycle does before containment: the server stops with the teardown.
    let outcome = finished.outcome;
    finished.teardown.finish();
    if let Some(keep) = std::env::var_os("RUNTIME_TEST_KEEP_LOGS") {
        let to = Path::new(&keep).join(format!("{}.log", req.title.replace(' ', "-")));
        let _ = std::fs::copy(s.scratch.join("opencode/server.log"), to);
    }
    eprintln!("run: {:?} in {:?} (agent {:?})", outcome.status, started.elapsed(), outcome.duration);
    // The teardown returns only once the runtime's processes are gone: none may be left here.
    // Whether they would have gone by themselves a little later tells a slow death from a leak.
    let left = processes_of(&s.scratch);
    if !left.is_empty() {
        let until = Instant::now() + Duration::from_secs(10);
        while !processes_of(&s.scratch).is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("processes left behind: {left:?}; 10 s later: {:?}", processes_of(&s.scratch));
    }
    let stats = stats.lock().unwrap().clone();
    (outcome, stats)
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn limits(timeout: Duration) -> Limits {
    Limits { timeout, quiet: Duration::from_millis(500), ..Limits::default() }
}

#[test]
fn main_turn_writes_files_completes_todos_and_answers() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let req = request(&s, "main", |_| {});
    let (o, stats) = run_stats(&s, &req, None, &Cancel::new());
    assert_eq!(o.status, AgentStatus::Done, "{o:?}");
    // Event-driven: nothing but the event stream while the agent worked, nor to decide.
    assert_eq!(stats.requests_while_working, 0, "{stats:?}");
    assert_eq!(stats.requests_to_finish, 0, "{stats:?}");
    assert_eq!(stats.steps, 5, "{stats:?}");
    assert_eq!(std::fs::read_to_string(s.workdir.join("hello.txt")).unwrap(), "hi\n");
    assert!(std::fs::read_to_string(s.workdir.join("notes.md")).unwrap().contains("written by fake llm"));
    assert_eq!(o.todos.iter().map(|t| t.status.as_str()).collect::<Vec<_>>(), ["completed", "completed"]);
    assert!(o.final_text.contains("FAKE-FINAL-ANSWER"), "{:?}", o.final_text);
    assert!(!o.final_text.contains("SCENARIO="), "the prompt is not the answer");
    assert_eq!(o.files_changed, ["hello.txt", "notes.md"]);
    assert!(o.usage.input_tokens >= 500, "{:?}", o.usage);
    assert!(o.session_id.as_deref().is_some_and(|id| id.starts_with("ses_")));
    assert!(o.child_sessions.is_empty());
    let steps: Vec<usize> =
        s.llm.requests().iter().filter(|r| r.scenario == "main" && r.tools).map(|r| r.step).collect();
    assert_eq!(steps, [0, 1, 2, 3, 4]);
}

#[test]
fn task_subagent_is_waited_for() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let o = run(&s, &request(&s, "parent", |_| {}), None, &Cancel::new());
    assert_eq!(o.status, AgentStatus::Done, "{o:?}");
    assert_eq!(o.child_sessions.len(), 1, "{o:?}");
    assert!(s.workdir.join("child.txt").exists());
    assert!(o.final_text.contains("FAKE-PARENT-FINAL"), "{:?}", o.final_text);
    assert!(o.files_changed.contains(&"child.txt".to_owned()), "{:?}", o.files_changed);
}

#[test]
fn model_400_fails_with_api_error() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let o = run(&s, &request(&s, "http400", |_| {}), None, &Cancel::new());
    match o.status {
        AgentStatus::Failed { kind, message } => {
            assert_eq!(kind, "APIError");
            assert!(message.contains("400"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn model_500_is_retried_then_fails() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let o = run(&s, &request(&s, "http500fast", |_| {}), None, &Cancel::new());
    match o.status {
        AgentStatus::Failed { kind, message } => {
            assert_eq!(kind, "APIError");
            assert!(message.contains("500"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let calls = s.llm.requests().iter().filter(|r| r.scenario == "http500fast" && r.tools).count();
    assert!(calls > 1, "retried: {calls} calls");
}

#[test]
fn malformed_model_stream_fails() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let o = run(&s, &request(&s, "malformed", |_| {}), None, &Cancel::new());
    assert!(matches!(&o.status, AgentStatus::Failed { kind, .. } if kind == "UnknownError"), "{o:?}");
}

#[test]
fn truncated_stream_loop_is_capped() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let l = Limits { max_steps: 8, ..limits(Duration::from_secs(300)) };
    let started = Instant::now();
    let o = run(&s, &request(&s, "truncated", |_| {}), Some(l), &Cancel::new());
    assert!(matches!(&o.status, AgentStatus::Failed { kind, .. } if kind == "StepLimit"), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(150), "caught by the cap, not the deadline");
}

#[test]
fn permission_request_is_rejected_and_the_turn_continues() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let req = request(&s, "permission", |c| c.opencode_config = Some(r#"{"permission":{"bash":"ask"}}"#.into()));
    let o = run(&s, &req, None, &Cancel::new());
    assert_eq!(o.status, AgentStatus::Done, "{o:?}");
    assert!(o.final_text.contains("FAKE-PERM-DONE"), "{:?}", o.final_text);
    assert!(!s.workdir.join("perm.txt").exists(), "the rejected command ran");
    let log = std::fs::read_to_string(s.scratch.join("opencode/server.log")).unwrap();
    assert!(log.contains("permission"), "no permission activity in the server log");
}

#[test]
fn timeout_aborts_the_session() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let started = Instant::now();
    // Long enough for a cold first prompt on a loaded 2-core machine to reach the model.
    let o = run(&s, &request(&s, "slow", |_| {}), Some(limits(Duration::from_secs(20))), &Cancel::new());
    assert_eq!(o.status, AgentStatus::TimedOut, "{o:?}");
    // The deadline plus stopping the server, with slack for a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(120), "{:?}", started.elapsed());
    assert!(o.final_text.contains("slow"), "the partial text is kept: {:?}", o.final_text);
}

#[test]
fn cancel_signal_stops_everything() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let cancel = Cancel::new();
    let c = cancel.clone();
    let llm_requests = s.llm.requests.clone();
    // Cancel once the model is streaming (the turn is really under way).
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if llm_requests.lock().unwrap().iter().any(|r| r.scenario == "slow" && r.tools) {
                std::thread::sleep(Duration::from_millis(500));
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        c.cancel(CancelReason::Signal);
    });
    let started = Instant::now();
    let o = run(&s, &request(&s, "slow", |_| {}), None, &cancel);
    assert_eq!(o.status, AgentStatus::Cancelled, "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(150), "{:?}", started.elapsed());
}

#[test]
fn server_death_fails_the_run() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let (llm_requests, scratch) = (s.llm.requests.clone(), s.scratch.clone());
    let killer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if llm_requests.lock().unwrap().iter().any(|r| r.scenario == "slow" && r.tools) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let pids: Vec<i32> =
            processes_of(&scratch).iter().filter_map(|p| p.split([':', ' ']).next()?.parse().ok()).collect();
        for pid in &pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
        }
        pids.len()
    });
    let started = Instant::now();
    let o = run(&s, &request(&s, "slow", |_| {}), None, &Cancel::new());
    assert!(killer.join().unwrap() >= 1, "found no server to kill");
    assert!(matches!(&o.status, AgentStatus::Failed { kind, .. } if kind == "ServerExited"), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(150), "{:?}", started.elapsed());
}

const CANARY: &str = "ghp_canary0123456789";

/// Runs `server_env_inner` in a child test process whose environment holds GitHub tokens and
/// action inputs (we cannot set variables in this process: `unsafe_code` is forbidden).
#[test]
fn server_env_has_no_github_token() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "runtime_opencode::server_env_inner", "--ignored", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .env("OPENCODE_BIN", &bin)
        .env("GITHUB_TOKEN", CANARY)
        .env("GH_TOKEN", CANARY)
        .env("INPUT_GITHUB_TOKEN", CANARY)
        .env("INPUT_GITHUB-TOKEN", CANARY)
        .env("ACTIONS_RUNTIME_TOKEN", CANARY)
        .env("SISYPHUS_ENV_CANARY", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("1 passed"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "run by server_env_has_no_github_token with a poisoned environment"]
fn server_env_inner() {
    assert_eq!(std::env::var("SISYPHUS_ENV_CANARY").as_deref(), Ok("1"), "run via server_env_has_no_github_token");
    let s = setup(opencode_bin().unwrap());
    let o = run(&s, &request(&s, "envcheck", |_| {}), None, &Cancel::new());
    assert_eq!(o.status, AgentStatus::Done, "{o:?}");
    let env = std::fs::read_to_string(s.workdir.join("env.txt")).unwrap();
    assert!(env.contains("PATH="), "the agent's shell saw no environment at all: {env}");
    assert!(!env.contains(CANARY), "a token reached the agent:\n{env}");
    for name in ["GITHUB_TOKEN=", "GH_TOKEN=", "INPUT_", "ACTIONS_RUNTIME_TOKEN="] {
        assert!(!env.lines().any(|l| l.starts_with(name)), "{name} reached the agent");
    }
}

/// A fork's head configures nothing: with `untrusted_tree`, the tree's `opencode.json` and
/// `.opencode/opencode.json` (here: denying the bash tool) are not loaded. The trusted runs are
/// the control: the same file does deny bash there, so the assertion can fail.
#[test]
fn an_untrusted_tree_does_not_load_its_project_config() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    for file in ["opencode.json", ".opencode/opencode.json"] {
        for untrusted in [false, true] {
            let s = setup(bin.clone());
            let path = s.workdir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, r#"{"permission": {"bash": "deny"}}"#).unwrap();
            let mut req = request(&s, "envcheck", |_| {});
            req.untrusted_tree = untrusted;
            let o = run(&s, &req, None, &Cancel::new());
            let ran_bash = s.workdir.join("env.txt").exists();
            assert_eq!(ran_bash, untrusted, "{file} (untrusted: {untrusted}): {o:?}");
        }
    }
}

/// The log lines (`tracing`, INFO and up) of what `f` does on this thread.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            std::io::stderr().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    (out, text)
}

/// The reply the lifecycle would post for a failed outcome.
fn failure_reply_of(o: &Outcome, model: &str) -> String {
    use sisyphus_action::report::{Failure, Footer, failure_reply};
    let failure = Failure::from_outcome(o, model, Duration::from_secs(300)).expect("a failure");
    failure_reply(&failure, None, &Footer { duration: o.duration, run_url: None, key: "k", agent: None })
}

#[test]
fn a_refused_key_ends_the_run_at_once_saying_which_input_to_set() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let body = r#"{"error":{"message":"Incorrect API key provided: sk-xx***xx.","type":"invalid_request_error","code":"invalid_api_key"}}"#;
    s.llm.script_steps("http401", vec![fake_llm::Reply::Status(401, body)]);
    let req = request(&s, "http401", |_| {});
    let started = Instant::now();
    let (o, log) = logged(|| run(&s, &req, None, &Cancel::new()));
    // The timeout is 300 s: ending well inside it means the error ended the run.
    assert!(started.elapsed() < Duration::from_secs(90), "{:?}", started.elapsed());
    let AgentStatus::Failed { kind, message } = &o.status else { panic!("{:?}", o.status) };
    assert_eq!(kind, "APIError");
    assert!(message.contains("HTTP 401") && message.contains("Incorrect API key"), "{message}");
    assert!(log.contains("Incorrect API key provided"), "the reason is in the log:\n{log}");
    let reply = failure_reply_of(&o, &req.config.model);
    assert!(reply.contains("Incorrect API key provided"), "{reply}");
    assert!(reply.contains("pass it as `openai-api-key`"), "{reply}");
    assert!(!reply.contains("apiKey"), "{reply}");
}

#[test]
fn an_unreachable_base_url_stops_retrying_after_a_few_identical_failures() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    // Nothing listens on port 1: OpenCode retries "Cannot connect" 5 times over ~60 s.
    let req = request(&s, "text", |c| c.openai_base_url = Some("http://127.0.0.1:1/v1".into()));
    let started = Instant::now();
    let (o, log) = logged(|| run(&s, &req, None, &Cancel::new()));
    let AgentStatus::Failed { kind, message } = &o.status else { panic!("{:?}", o.status) };
    assert_eq!(kind, "ConnectionError", "{message}");
    assert!(message.contains("3 times in a row"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(90), "{:?}", started.elapsed());
    let retries = log.lines().filter(|l| l.contains("model call failed (Cannot connect to API")).count();
    assert!(retries >= 3, "each retry logs its reason:\n{log}");
    let reply = failure_reply_of(&o, &req.config.model);
    assert!(reply.contains("check `openai-base-url`"), "{reply}");
}

#[test]
fn a_run_that_stops_with_todos_open_says_so_in_the_outcome_and_the_reply() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let todos = serde_json::json!({"todos": [
        {"content": "Fix the parser", "status": "completed", "priority": "high"},
        {"content": "Add a regression test", "status": "pending", "priority": "medium"},
    ]});
    s.llm.script_steps(
        "leftover",
        vec![fake_llm::Reply::Tools(vec![("todowrite", todos)]), fake_llm::Reply::Text("Parser fixed.".into())],
    );
    let o = run(&s, &request(&s, "leftover", |_| {}), None, &Cancel::new());
    // Done by the quiet period (no plugin resumed it), with the todo still open.
    assert_eq!(o.status, AgentStatus::Done);
    let open: Vec<&str> = o.todos.iter().filter(|t| t.status == "pending").map(|t| t.content.as_str()).collect();
    assert_eq!(open, ["Add a regression test"]);
    use sisyphus_action::report::{Footer, success_reply};
    let footer = Footer { duration: o.duration, run_url: None, key: "k", agent: None };
    let reply = success_reply(&o, &Default::default(), &footer);
    assert!(reply.starts_with("Parser fixed."), "{reply}");
    assert!(reply.contains("**Unfinished:** 1 of 2 todos were still open when the agent stopped"), "{reply}");
    assert!(reply.contains("- [ ] Add a regression test (pending)"), "{reply}");
}

/// A wrong agent name fails before the prompt, listing the agents, instead of waiting out the
/// timeout; a case-insensitive name or a unique prefix reaches the agent it names.
#[test]
fn agent_names_are_resolved_against_the_servers_list() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let s = setup(bin);
    let started = Instant::now();
    let wrong = request(&s, "main", |c| c.agent = Some("sisyphus".into()));
    let err = OpenCode { limits: Some(limits(Duration::from_secs(120))), stats: None }
        .run(&wrong, &Cancel::new())
        .expect_err("an unknown agent fails the run");
    let message = format!("{err:#}");
    assert!(message.contains("no agent `sisyphus`") && message.contains("`build`"), "{message}");
    // Far below the 120 s timeout: only the server's start-up (slow on a loaded machine).
    assert!(started.elapsed() < Duration::from_secs(90), "took {:?}", started.elapsed());
    assert!(s.llm.requests().is_empty(), "the model was never asked");

    let loose = request(&s, "text", |c| c.agent = Some("BUILD".into()));
    let outcome = run(&s, &loose, Some(limits(Duration::from_secs(120))), &Cancel::new());
    assert_eq!(outcome.status, AgentStatus::Done, "{outcome:?}");
}
