//! The runtime's benchmark targets, measured against the real `opencode serve` and the fake
//! model (run by `scripts/bench-runtime`, i.e. `cargo bench --bench runtime`):
//!
//! * final root idle → outcome ready ≤ 50 ms (median of the `main` turns);
//! * 0 requests to the server while the agent works, besides the event stream;
//! * our CPU during a 60 s turn ≤ 20 ms: the long turn's CPU minus a short turn's (which is
//!   server start and stop, the same for every run), also printed whole;
//! * peak RSS ≤ 15 MB.
//!
//! The fake model runs in a child process (this binary with `--fake-llm`), so the CPU and RSS
//! figures are the runtime's alone. Under `cargo test` (no `--bench` flag) it does nothing.

// The integration tests' support, whole (this bench uses the fake model).
#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;
use support::fake_llm;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use sisyphus_action::cancel::Cancel;
use sisyphus_action::config::{AgentConfig, RuntimeKind};
use sisyphus_action::runtime::opencode::{OpenCode, RunStats};
use sisyphus_action::runtime::{AgentRequest, AgentStatus, Runtime};

fn cpu() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let us = |t: nix::sys::time::TimeVal| Duration::from_micros((t.tv_sec() * 1_000_000 + t.tv_usec()) as u64);
    us(usage.user_time()) + us(usage.system_time())
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.email=b@example.com", "-c", "user.name=b"])
        .args(args)
        .current_dir(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?}");
}

fn turn(bin: &Path, llm: &str, scenario: &str) -> (AgentStatus, RunStats, Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().join("repo");
    std::fs::create_dir_all(&workdir).unwrap();
    std::fs::write(workdir.join("README.md"), "bench\n").unwrap();
    git(&workdir, &["init", "-q"]);
    git(&workdir, &["add", "."]);
    git(&workdir, &["commit", "-qm", "init"]);
    let request = AgentRequest {
        prompt: format!("SCENARIO={scenario} do the thing"),
        workdir: workdir.canonicalize().unwrap(),
        title: format!("bench {scenario}"),
        scratch: dir.path().join("scratch"),
        config: AgentConfig {
            runtime: RuntimeKind::OpenCode,
            model: "openai-compatible/fake-model".into(),
            variant: None,
            agent: None,
            plugins: vec![],
            opencode_config: None,
            opencode_path: Some(bin.to_owned()),
            opencode_version: "1.18.33".into(),
            timeout: Duration::from_secs(600),
            anthropic_api_key: None,
            anthropic_base_url: None,
            openai_api_key: Some("x".into()),
            openai_base_url: Some(llm.to_owned()),
            preset: None,
            omo_version: "4.19.4".into(),
            omo_config: None,
            actions: false,
        },
        untrusted_tree: false,
        progress: None,
        gha: Default::default(),
    };
    let stats = Arc::new(Mutex::new(RunStats::default()));
    let runtime = OpenCode { limits: None, stats: Some(stats.clone()) };
    let (cpu0, t0) = (cpu(), Instant::now());
    let finished = runtime.run(&request, &Cancel::new()).expect("run");
    let outcome = finished.outcome;
    finished.teardown.finish();
    let (cpu1, wall) = (cpu(), t0.elapsed());
    let stats = stats.lock().unwrap().clone();
    (outcome.status, stats, cpu1 - cpu0, wall)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--fake-llm") {
        let llm = fake_llm::FakeLlm::start();
        println!("{}", llm.base_url);
        // Serve until the parent closes our stdin.
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let bin = std::env::var_os("OPENCODE_BIN").map(PathBuf::from).or_else(|| which::which("opencode").ok());
    let Some(bin) = bin else {
        eprintln!("no OpenCode: set OPENCODE_BIN");
        std::process::exit(1);
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--fake-llm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("fake model");
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    let long_secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);

    let mut latencies = Vec::new();
    let mut short_cpu = Vec::new();
    for i in 0..5 {
        let (status, stats, cpu, wall) = turn(&bin, &url, "main");
        assert_eq!(status, AgentStatus::Done);
        println!(
            "main #{i}: idle→outcome {:.2} ms, requests while working {}, to finish {}, events {}, cpu {:.1} ms, wall {:.1} s",
            stats.finish_latency.as_secs_f64() * 1e3,
            stats.requests_while_working,
            stats.requests_to_finish,
            stats.events,
            cpu.as_secs_f64() * 1e3,
            wall.as_secs_f64()
        );
        latencies.push(stats.finish_latency);
        short_cpu.push(cpu);
    }
    latencies.sort();
    short_cpu.sort();
    let fixed = short_cpu[short_cpu.len() / 2];
    let (status, stats, cpu, wall) = turn(&bin, &url, &format!("long{long_secs}"));
    assert_eq!(status, AgentStatus::Done);
    println!(
        "long {long_secs} s turn: cpu {:.1} ms, requests while working {}, events {}, wall {:.1} s",
        cpu.as_secs_f64() * 1e3,
        stats.requests_while_working,
        stats.events,
        wall.as_secs_f64()
    );
    println!("median idle→outcome: {:.2} ms (target ≤ 50 ms)", latencies[latencies.len() / 2].as_secs_f64() * 1e3);
    println!(
        "cpu during the {long_secs} s turn: {:.1} ms (target ≤ 20 ms); whole run incl. server start/stop {:.1} ms",
        cpu.saturating_sub(fixed).as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3
    );
    println!("peak RSS: {:.1} MB (target ≤ 15 MB)", peak_rss_kb() as f64 / 1024.0);
    drop(child.stdin.take());
    let _ = child.wait();
}
