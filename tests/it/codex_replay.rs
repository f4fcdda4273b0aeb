//! Replays of event streams recorded from the real Codex CLI against the fake Responses API
//! (`runtime_codex.rs` with `RECORD_CODEX_FIXTURES=1`; the work tree is `/work/tree` in them):
//! fast checks of the mapping to our outcome, without the CLI.

use std::path::Path;

use sisyphus_action::runtime::codex_events::{CodexRun, parse_line};
use sisyphus_action::runtime::{AgentStatus, Usage};

fn fold(name: &str, extra: impl Fn(usize) -> Option<&'static str>) -> CodexRun {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/codex/{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut run = CodexRun::default();
    for (i, line) in text.lines().enumerate() {
        for line in extra(i).into_iter().chain([line]) {
            if let Some(event) = parse_line(line) {
                run.apply(event, Path::new("/work/tree"));
            }
        }
    }
    run
}

fn kind(status: &AgentStatus) -> &str {
    match status {
        AgentStatus::Failed { kind, .. } => kind,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn the_multi_step_fix_maps_to_a_done_outcome() {
    let run = fold("main", |_| None);
    assert_eq!(run.status(true, "ended (exit status: 0)", ""), AgentStatus::Done);
    assert_eq!(run.final_text(), "All done: created hello.txt and notes.md.\nFAKE-FINAL-ANSWER");
    let todos: Vec<(&str, &str)> = run.todos().iter().map(|t| (t.content.as_str(), t.status.as_str())).collect();
    assert_eq!(todos, [("Create hello.txt", "completed"), ("Write notes.md", "completed")]);
    assert_eq!(run.usage(), Usage { input_tokens: 500, output_tokens: 100, cost: None });
    assert_eq!(run.steps(), 2);
    assert_eq!(run.files_changed(), ["notes.md"]);
    assert!(run.thread_id.is_some());
}

/// Event and item types the CLI may add later change nothing.
#[test]
fn unknown_events_interleaved_change_nothing() {
    let noise = |i: usize| {
        Some(match i % 3 {
            0 => r#"{"type":"thread.rolled_back","thread_id":"x"}"#,
            1 => r#"{"type":"item.completed","item":{"id":"z","type":"web_search","query":"q"}}"#,
            _ => "not json at all",
        })
    };
    let plain = fold("main", |_| None);
    let noisy = fold("main", noise);
    assert_eq!(noisy.status(true, "", ""), AgentStatus::Done);
    assert_eq!(noisy.final_text(), plain.final_text());
    assert_eq!(noisy.todos(), plain.todos());
    assert_eq!(noisy.usage(), plain.usage());
    assert_eq!(noisy.steps(), plain.steps());
}

#[test]
fn recorded_failures_map_to_typed_failures() {
    for (name, expected) in [("m400", "UnknownModel"), ("m500", "APIError"), ("cut", "StreamLost")] {
        let run = fold(name, |_| None);
        let status = run.status(false, "ended (exit status: 1)", "");
        assert_eq!(kind(&status), expected, "{name}: {status:?}");
        assert_eq!(run.final_text(), "", "{name}");
        assert_eq!(run.usage(), Usage::default(), "{name}");
    }
}

/// A stream that stops mid-turn (the CLI killed, or stopped by us) never reads as done.
#[test]
fn a_stream_without_its_turn_end_is_the_cli_dying() {
    for name in ["slow", "cancel"] {
        let run = fold(name, |_| None);
        assert_eq!(run.end(), None, "{name}");
        assert_eq!(kind(&run.status(false, "ended (signal: 9)", "tail")), "CodexDied", "{name}");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codex/main.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for cut in 0..lines.len() {
        let mut run = CodexRun::default();
        for line in &lines[..cut] {
            if let Some(event) = parse_line(line) {
                run.apply(event, Path::new("/work/tree"));
            }
        }
        assert_ne!(run.status(true, "ended (exit status: 0)", ""), AgentStatus::Done, "cut after {cut} lines");
    }
}
