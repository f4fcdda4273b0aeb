//! What users feel, measured on the release binary run as the action runs it (run by
//! `scripts/bench`; see the README's "Performance" section for the targets and the figures).
//!
//! The same harness as the scenario suite (`tests/it/support/e2e.rs`): fake GitHub and fake model
//! on 127.0.0.1 in this process, the real pinned `opencode serve`, a real git checkout. Our
//! process is the binary's pid alone: its CPU (`/proc/<pid>/schedstat`) and peak RSS
//! (`VmHWM`) are sampled while it runs, so OpenCode's figures never mix in.
//!
//! `BENCH_RUNS` (default 5) runs of each figure; the long turn lasts `BENCH_TURN_SECS`
//! (default 60) and runs `BENCH_TURN_RUNS` times (default 3). Under `cargo test` (no
//! `--bench` flag) it does nothing.

// The integration tests' support, whole (each bench uses a part of it).
#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;
use support::{e2e, fake_llm, opencode};

// `judged` is for the benches with verdicts.
#[allow(dead_code)]
#[path = "common/figure.rs"]
mod figure;
use figure::{Figure, HEADER, env_or};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::{COMMENT, ISSUE, REPO, RUN_LIMIT, Ran, Run, Scenario, issue_comment};
use opencode::opencode_bin;
use support::actions::{Running, binary};

/// What the sampler saw of our process.
#[derive(Debug, Default, Clone)]
struct Samples {
    /// CPU time (ns) of the live threads at the last sample.
    cpu_ns: u64,
    /// CPU time (ns) of the whole process at the last sample (10 ms resolution).
    total_ns: u64,
    /// Peak RSS (kB) at the last sample (`VmHWM` only grows).
    hwm_kb: u64,
    /// CPU time (ns) when the long turn reached the model.
    turn_start_ns: Option<u64>,
    /// `turn` after that: the model's stream ends.
    turn_end_ns: Option<u64>,
}

/// CPU time of all our threads now (ns): the sum of each thread's `schedstat` (precise, but a
/// thread that has exited no longer counts — fine within a turn, where the threads stay).
fn cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let text = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += text.split_whitespace().next().and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
    }
    Some(total)
}

/// utime + stime of the whole process, exited threads included (ns; 10 ms ticks).
fn cpu_total_ns(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may contain spaces: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}

fn hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.split_whitespace().next()?.parse().ok()
}

/// Samples our process every 20 ms until told to stop; notes the CPU time when the long turn
/// reached the model and `turn` later, when the model's stream ends.
fn sample(
    pid: u32,
    llm: Arc<Mutex<Vec<fake_llm::Request>>>,
    scenario: String,
    turn: Duration,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<Samples>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut s = Samples::default();
        let mut turn_started = None;
        while !flag.load(Ordering::SeqCst) {
            if let (Some(cpu), Some(total), Some(hwm)) = (cpu_ns(pid), cpu_total_ns(pid), hwm_kb(pid)) {
                s.cpu_ns = cpu;
                s.total_ns = total;
                s.hwm_kb = s.hwm_kb.max(hwm);
            }
            let asked = || llm.lock().unwrap().iter().any(|r| r.scenario == scenario && r.tools && r.step == 0);
            if turn_started.is_none() && asked() {
                turn_started = Some(Instant::now());
                s.turn_start_ns = Some(s.cpu_ns);
            }
            // The fake model streams for exactly `turn`: that window is the agent's turn.
            if s.turn_end_ns.is_none() && turn_started.is_some_and(|t| t.elapsed() >= turn) {
                s.turn_end_ns = Some(s.cpu_ns);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    });
    (stop, handle)
}

/// Waits for the child while sampling it.
fn run_sampled(sc: &Scenario, child: Running, scenario: &str) -> (Ran, Samples) {
    let turn = Duration::from_secs(env_or("BENCH_TURN_SECS", 60));
    let (stop, sampler) = sample(child.id(), sc.llm.requests.clone(), scenario.to_owned(), turn);
    let run = child.wait();
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.join().unwrap();
    (run, samples)
}

/// The number before `unit` in the log line containing `needle`.
fn logged_number(logs: &str, needle: &str, unit: &str) -> Option<f64> {
    let line = logs.lines().find(|l| l.contains(needle))?;
    let before = &line[..line.find(needle)?];
    let words: Vec<&str> = before.split_whitespace().collect();
    let at = words.iter().rposition(|w| *w == unit)?;
    words.get(at.checked_sub(1)?)?.parse().ok()
}

fn mention(sc: &Scenario, scenario: &str) -> Run {
    let body = format!("@sisyphus-dev-ai SCENARIO={scenario} please fix the spelling");
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, &body, "Codertocat");
    let mut cmd = sc.command("issue_comment", &issue_comment(&body, "Codertocat", "OWNER", false));
    cmd.env("SISYPHUS_LOG", "info,sisyphus_action=debug,tower_http=off,octocrab=off")
        .limit(RUN_LIMIT + Duration::from_secs(env_or("BENCH_TURN_SECS", 60)));
    cmd
}

/// `POST /repos/{owner}/{repo}/issues/comments/{id}/reactions`-style templates.
fn endpoint(line: &str) -> String {
    line.split('/')
        .enumerate()
        .map(|(i, seg)| match seg {
            _ if i == 2 && line.contains("/repos/") => "{owner}".to_owned(),
            _ if i == 3 && line.contains("/repos/") => "{repo}".to_owned(),
            s if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() => "{id}".to_owned(),
            s if s.contains('%') => "{name}".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runs = env_or("BENCH_RUNS", 5) as usize;
    let turn_secs = env_or("BENCH_TURN_SECS", 60);
    let turn_runs = env_or("BENCH_TURN_RUNS", 3) as usize;
    let Some(opencode) = opencode_bin() else { panic!("the benchmark needs OpenCode (OPENCODE_BIN)") };
    let bin = binary();
    println!("binary: {}\nopencode: {}\n", bin.display(), opencode.display());

    let mut ack = Figure::new("process start → 👀 received by GitHub", "ms", "≤ 20 ms");
    let mut skip = Figure::new("non-trigger payload → exit", "ms", "≤ 10 ms");
    let mut skip_calls = Figure::new("  API calls on a non-trigger", "", "0");
    let mut calls = Figure::new("GitHub API calls, issue → PR", "", "≤ 9");
    let mut idle_publish = Figure::new("final root idle → publish starts", "ms", "≤ 50 ms (old: 3.1 s)");
    let mut idle_outcome = Figure::new("  of which: idle → outcome ready", "ms", "");
    let mut turn_cpu =
        Figure::new(&format!("our CPU during a {turn_secs} s agent turn"), "ms", "≤ 20 ms (old: 0.44 s)");
    let mut run_cpu = Figure::new("  our CPU, whole run (start → exit)", "ms", "");
    let mut waiting = Figure::new("requests to OpenCode while it works", "", "0 (old: 2/s)");
    let mut rss = Figure::new("our peak RSS", "MB", "≤ 15 MB (old: 209 MB)");
    // MiB, as `.ci/run` checks the static release build against 4 MiB.
    let mut size = Figure::new("release binary size", "MiB", "≤ 4 MiB");
    size.values.push(std::fs::metadata(&bin).map(|m| m.len() as f64 / 1048576.0).unwrap_or(0.0));
    let mut by_endpoint: BTreeMap<String, usize> = BTreeMap::new();

    for i in 0..runs {
        // Acknowledgement: the agent is a no-op command, so nothing slow follows the 👀.
        let sc = Scenario::new(opencode.clone());
        let mut cmd = mention(&sc, "none");
        cmd.env("INPUT_RUNTIME", "command").env("INPUT_AGENT_COMMAND", "echo done");
        let spawned = Instant::now();
        let run = cmd.finish();
        assert_eq!(run.code, 0, "{}", run.logs());
        let first = sc.gh.requests().into_iter().next().expect("a request");
        assert!(first.path.ends_with("/reactions") && first.body["content"] == "eyes", "{first:?}");
        ack.values.push(first.at.duration_since(spawned).as_secs_f64() * 1e3);

        // The skip path: waited for with a blocking wait, not a polling loop.
        let sc = Scenario::new(opencode.clone());
        let payload = issue_comment("Thanks, looks good to me.", "Codertocat", "OWNER", false);
        let cmd = sc.command("issue_comment", &payload);
        let spawned = Instant::now();
        let status = cmd.command().status().unwrap();
        skip.values.push(spawned.elapsed().as_secs_f64() * 1e3);
        assert!(status.success());
        skip_calls.values.push(sc.gh.requests().len() as f64);
        eprintln!("run {}/{runs}: ack {:.1} ms, skip {:.1} ms", i + 1, ack.values[i], skip.values[i]);
    }

    for i in 0..runs {
        // Issue → PR with the real agent: the calls, and idle → publish from our own log lines.
        let sc = Scenario::new(opencode.clone());
        let child = mention(&sc, "main").spawn();
        let (run, samples) = run_sampled(&sc, child, "main");
        let logs = run.logs();
        assert_eq!(run.code, 0, "{logs}");
        assert_eq!(sc.gh.pulls().len(), 1, "{logs}");
        let lines = sc.gh.request_lines();
        calls.values.push(lines.len() as f64);
        if i == 0 {
            for line in &lines {
                *by_endpoint.entry(endpoint(line)).or_default() += 1;
            }
        }
        let outcome = logged_number(&logs, "after the deciding input arrived", "ms");
        let publish = logged_number(&logs, "after the agent's outcome was ready", "ms");
        if let (Some(o), Some(p)) = (outcome, publish) {
            idle_outcome.values.push(o);
            idle_publish.values.push(o + p);
        } else {
            eprintln!("missing timing lines in the log:\n{logs}");
        }
        rss.values.push(samples.hwm_kb as f64 / 1e3);
        eprintln!("issue → PR {}/{runs}: {} calls, {:?} total", i + 1, lines.len(), run.elapsed);
    }

    let scenario = format!("long{turn_secs}");
    for i in 0..turn_runs {
        let sc = Scenario::new(opencode.clone());
        let child = mention(&sc, &scenario).spawn();
        let (run, samples) = run_sampled(&sc, child, &scenario);
        let logs = run.logs();
        assert_eq!(run.code, 0, "{logs}");
        match (samples.turn_start_ns, samples.turn_end_ns) {
            (Some(a), Some(b)) => turn_cpu.values.push((b - a) as f64 / 1e6),
            _ => eprintln!("the turn was not seen: {samples:?}, model requests {:?}", sc.llm.requests()),
        }
        run_cpu.values.push(samples.total_ns as f64 / 1e6);
        rss.values.push(samples.hwm_kb as f64 / 1e3);
        let line = logs.lines().find(|l| l.contains("requests to the server while the agent worked")).unwrap_or("");
        let n = line.split("; ").nth(1).and_then(|p| p.split_whitespace().next()).and_then(|n| n.parse::<f64>().ok());
        waiting.values.extend(n);
        eprintln!("{turn_secs} s turn {}/{turn_runs}: {:?} total", i + 1, run.elapsed);
    }

    println!("{HEADER}");
    for f in
        [&ack, &skip, &skip_calls, &calls, &idle_publish, &idle_outcome, &turn_cpu, &run_cpu, &waiting, &rss, &size]
    {
        println!("{}", f.row());
    }
    println!("\nGitHub API calls of one issue → PR run, by endpoint:");
    for (endpoint, n) in &by_endpoint {
        println!("  {n} × {endpoint}");
    }
}
