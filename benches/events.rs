//! Micro-benchmark of our CPU per streamed event (`cargo bench --bench events`): the path every
//! OpenCode event takes while the agent works — SSE parse, noise filter, JSON decode, the
//! completion machine and the transcript — so a change to it can be judged in seconds instead
//! of a 60 s turn (`scripts/bench` measures the real turn).
//!
//! Two figures:
//! * hot loop: a synthetic turn (240 text deltas, as the fake model's 60 s turn streams, plus
//!   heartbeats and the turn's other events) and the recorded `events-main.jsonl`, fed as one
//!   read per event, many times over; µs per event.
//! * paced: the same turn served over real HTTP (chunked SSE on 127.0.0.1, one event per ms)
//!   through `Api::subscribe`'s reader thread and a driver loop on the channel, CPU of every
//!   thread but the server's (`getrusage`); µs per event, wake-ups included.
//!
//! Under `cargo test` (no `--bench` flag) it does nothing.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use serde_json::{Value, json};
use sisyphus_action::runtime::opencode::api::{Api, Decoder, StreamNote};
use sisyphus_action::runtime::opencode::completion::{Completion, Input, Limits};
use sisyphus_action::runtime::opencode::events::Event;
use sisyphus_action::runtime::opencode::transcript::Transcript;
use sisyphus_action::runtime::opencode::{Note, event_of_run};

const ROOT: &str = "ses_e042e21bbffe42n2VeflJCfS3T";

/// The wire form of one event: compact JSON with `id`, `type`, `properties` first, in that
/// order, as OpenCode sends it (`json!` alone would sort the keys).
fn frame(event: &Value) -> Vec<u8> {
    let mut fields: Vec<String> = ["id", "type", "properties"]
        .iter()
        .filter_map(|k| event.get(*k).map(|v| format!("{}:{v}", Value::from(*k))))
        .collect();
    if let Some(map) = event.as_object() {
        for (k, v) in map.iter().filter(|(k, _)| !["id", "type", "properties"].contains(&k.as_str())) {
            fields.push(format!("{}:{v}", Value::from(k.as_str())));
        }
    }
    format!("data: {{{}}}\n\n", fields.join(",")).into_bytes()
}

/// A turn like the fake model's `long60`: 240 deltas of "slow " with a heartbeat every 10 s.
fn synthetic_turn() -> Vec<Vec<u8>> {
    let msg = "msg_1fbd1ec250010o6Zg7eRvAPGPf";
    let part = "prt_1fbd1ec89001JaLjGWLZaGt7pB";
    let mut out = vec![
        frame(&json!({"id":"evt_1","type":"session.status","properties":{"sessionID":ROOT,"status":{"type":"busy"}}})),
        frame(
            &json!({"id":"evt_2","type":"message.updated","properties":{"sessionID":ROOT,"info":{"id":msg,"role":"assistant","sessionID":ROOT,"tokens":{"input":0,"output":0,"reasoning":0},"cost":0}}}),
        ),
    ];
    for i in 0..240 {
        if i % 40 == 0 {
            out.push(frame(&json!({"type":"server.heartbeat","properties":{}})));
        }
        out.push(frame(&json!({"id":format!("evt_1fbd1ec8c00{i:03}zryLE8prYob39x"),"type":"message.part.delta",
            "properties":{"sessionID":ROOT,"messageID":msg,"partID":part,"field":"text","delta":"slow "}})));
    }
    out
}

fn recorded_turn() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opencode/events-main.jsonl"),
    )
    .expect("fixture");
    text.lines().map(|l| frame(&serde_json::from_str::<Value>(l).expect("jsonl")["event"])).collect()
}

/// What the driver does with one batch (as `runtime/opencode/mod.rs`'s loop).
struct Driver {
    machine: Completion,
    transcript: Transcript,
    events: usize,
}

impl Driver {
    fn new() -> Self {
        Self {
            machine: Completion::new(ROOT, Limits::default(), Instant::now()),
            transcript: Transcript::new(ROOT),
            events: 0,
        }
    }

    fn handle(&mut self, batch: Vec<Event>) {
        let now = Instant::now();
        self.events += batch.len();
        for event in batch {
            if event_of_run(&self.machine, &event) {
                self.transcript.record(&event, Path::new("/w"));
            }
            std::hint::black_box(self.machine.handle(Input::Event(event), now));
        }
        std::hint::black_box(self.machine.next_deadline());
    }
}

fn hot(name: &str, frames: &[Vec<u8>]) {
    let rounds = 200;
    let started = Instant::now();
    let mut events = 0;
    for _ in 0..rounds {
        let mut decoder = Decoder::default();
        let mut driver = Driver::new();
        for f in frames {
            driver.handle(decoder.feed(f));
        }
        events += driver.events;
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / (rounds * frames.len()) as f64;
    println!("hot loop, {name}: {per:.2} µs per frame ({} frames, {} events kept)", frames.len(), events / rounds);
}

/// CPU (ns) of the process (`RUSAGE_SELF`, exited threads included) or of the calling thread.
fn cpu_ns(who: UsageWho) -> u64 {
    let usage = getrusage(who).expect("getrusage");
    let us = |t: nix::sys::time::TimeVal| (t.tv_sec() * 1_000_000 + t.tv_usec()) as u64;
    (us(usage.user_time()) + us(usage.system_time())) * 1000
}

fn paced(frames: Vec<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (cpu_tx, cpu_rx) = mpsc::channel();
    let n = frames.len();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = std::io::Read::read(&mut conn, &mut buf);
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            .unwrap();
        let chunk =
            |data: &[u8]| [format!("{:x}\r\n", data.len()).into_bytes(), data.to_vec(), b"\r\n".to_vec()].concat();
        conn.write_all(&chunk(&frame(&json!({"type":"server.connected","properties":{}})))).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let start = cpu_ns(UsageWho::RUSAGE_THREAD);
        for f in &frames {
            conn.write_all(&chunk(f)).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        conn.write_all(b"0\r\n\r\n").unwrap();
        cpu_tx.send(cpu_ns(UsageWho::RUSAGE_THREAD) - start).unwrap();
    });
    let api = Api::new(&url, "opencode", "pw");
    let (tx, rx) = mpsc::channel::<Note>();
    api.subscribe(tx).unwrap();
    let mut driver = Driver::new();
    // Wait for `server.connected` before counting.
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Note::Stream(StreamNote::Events(batch))) => driver.handle(batch),
        other => panic!("no connect: {other:?}"),
    }
    let before = cpu_ns(UsageWho::RUSAGE_SELF);
    loop {
        let wait = driver.machine.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
        match rx.recv_timeout(wait.unwrap_or(Duration::from_secs(10)).min(Duration::from_secs(10))) {
            Ok(Note::Stream(StreamNote::Events(batch))) => driver.handle(batch),
            Ok(Note::Stream(StreamNote::Ended(_))) => break,
            Ok(other) => panic!("only the stream feeds this channel: {other:?}"),
            Err(e) => panic!("stream: {e}"),
        }
    }
    server.join().unwrap();
    let cpu = cpu_ns(UsageWho::RUSAGE_SELF) - before - cpu_rx.recv().unwrap();
    println!(
        "paced over HTTP: {:.1} µs CPU per frame ({n} frames, 1 per ms; {:.2} ms in all, {} events kept)",
        cpu as f64 / 1e3 / n as f64,
        cpu as f64 / 1e6,
        driver.events - 1
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // Logging as the binary does it (info, formatted), into a sink.
    tracing_subscriber::fmt().with_writer(std::io::sink).with_target(false).without_time().init();
    let synthetic = synthetic_turn();
    let recorded = recorded_turn();
    for _ in 0..2 {
        hot("synthetic 60 s turn", &synthetic);
        hot("recorded events-main", &recorded);
    }
    for _ in 0..3 {
        paced(synthetic.clone());
    }
}
