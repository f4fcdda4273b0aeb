//! The live progress comment and the `stop` command, end to end: the binary as the action runs
//! it, the real `opencode serve`, the scripted fake model and the stateful fake GitHub, whose
//! request log holds every body the comment had, with its arrival time.
//!
//! `SISYPHUS_PROGRESS_INTERVAL_MS` shortens the 10-second spacing of edits so a scripted run of
//! a few seconds still shows several; the fake model's `progress` scenario updates its todo list
//! four times with a two-second tool call in between.

use crate::support::e2e;
use crate::support::fake_github;
use crate::support::opencode;

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::*;
use fake_github::{Fault, FaultKind, Logged, Subject};
use opencode::{Slot, opencode_bin};
use serde_json::json;
use sisyphus_action::marker::MARKER;

/// Longer than the scripted steps are apart (2 to 5 s), so only the throttle keeps edits this
/// far apart.
const INTERVAL_MS: u64 = 8000;
/// A bound on one run here: on a loaded 2-core box one model step of OpenCode can take most of
/// a minute, and these runs have up to five.
const LONG_RUN: Duration = Duration::from_secs(400);
/// The stop request's comment: newer than anything the fake posts (its ids start at 90 000).
const STOP_COMMENT: u64 = 900_000_001;
const STOP_RUN_ID: &str = "4343";

fn agent_scenario() -> Option<(Scenario, Slot)> {
    let bin = opencode_bin()?;
    let slot = Slot::take();
    Some((Scenario::new(bin), slot))
}

/// The mention on issue #1, seeded on the fake, and the command that answers it.
fn mention(sc: &Scenario, scenario: &str) -> Run {
    let body = format!("@sisyphus-dev-ai SCENARIO={scenario} please work on it");
    let mut cmd = sc.mention(&body);
    // However slow the machine, only the plan can bring the comment before the end.
    cmd.env("SISYPHUS_PROGRESS_INTERVAL_MS", INTERVAL_MS.to_string())
        .env("INPUT_TIMEOUT_MINUTES", "6")
        .env("INPUT_PROGRESS_DELAY", "3600")
        .limit(LONG_RUN);
    cmd
}

/// Every write of a comment on issue #1's conversation: creates and edits, in arrival order.
fn comment_writes(sc: &Scenario) -> Vec<Logged> {
    sc.gh
        .requests()
        .into_iter()
        .filter(|l| {
            (l.method == "POST" && l.path == format!("/repos/{REPO}/issues/{ISSUE}/comments"))
                || (l.method == "PATCH" && l.path.starts_with(&format!("/repos/{REPO}/issues/comments/")))
        })
        .collect()
}

fn body_of(l: &Logged) -> String {
    l.body["body"].as_str().unwrap_or_default().to_owned()
}

/// The checklist lines of a body.
fn checklist(body: &str) -> Vec<String> {
    body.lines().filter(|l| l.starts_with("- ")).map(str::to_owned).collect()
}

#[test]
fn the_comment_follows_the_plan_is_throttled_and_becomes_the_reply() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let run = mention(&sc, "progress").finish();
    let log = run.logs();
    assert_eq!(run.code, 0, "{log}");

    let writes = comment_writes(&sc);
    assert!(writes.len() >= 3, "a create, edits and the reply: {writes:#?}");
    // Created at the first todo list (the delay is an hour, so only the plan can have brought
    // it), showing that list, the run and how to stop it.
    let (first, rest) = writes.split_first().unwrap();
    assert_eq!(first.method, "POST", "{writes:#?}");
    let created = body_of(first);
    assert_eq!(
        checklist(&created),
        ["- 🔄 **Inspect the code**", "- ⬜ Write the fix", "- ⬜ Run the tests"],
        "{created}"
    );
    assert!(created.contains(&sc.run_url()) && created.contains("`@sisyphus-dev-ai stop`"), "{created}");
    assert!(created.contains(&format!("<!-- sisyphus-action:run-id={RUN_ID} -->")), "{created}");
    assert!(created.contains(MARKER), "{created}");
    // Edited in place, never created again; the last body is the reply.
    assert!(rest.iter().all(|l| l.method == "PATCH"), "{writes:#?}");
    let (last, edits) = rest.split_last().unwrap();
    let reply = body_of(last);
    assert!(reply.contains("FAKE-PROGRESS-FINAL") && !reply.contains("Working on it"), "{reply}");
    // The live bodies walk through the plan: states only move forward, the activity line shows
    // the tool at work, and an unchanged state is never re-sent.
    let lives: Vec<String> = std::iter::once(created.clone()).chain(edits.iter().map(body_of)).collect();
    let done = |b: &str| checklist(b).iter().filter(|l| l.starts_with("- ✅")).count();
    assert!(lives.windows(2).all(|w| done(&w[0]) <= done(&w[1])), "{lives:#?}");
    assert!(lives.iter().map(|b| done(b)).collect::<std::collections::BTreeSet<_>>().len() >= 2, "{lives:#?}");
    assert!(lives.iter().any(|b| b.contains("**Now:** running `sleep 2; echo")), "{lives:#?}");
    let fingerprint = |b: &str| b.lines().filter(|l| !l.starts_with("<sub>")).collect::<Vec<_>>().join("\n");
    assert!(lives.windows(2).all(|w| fingerprint(&w[0]) != fingerprint(&w[1])), "{lives:#?}");
    // Throttled: live writes at least the interval apart (with slack for arrival jitter), and no
    // more of them than the time allowed.
    let interval = Duration::from_millis(INTERVAL_MS);
    let times: Vec<Instant> = std::iter::once(first).chain(edits).map(|l| l.at).collect();
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= interval.mul_f64(0.7), "edits {:?} apart: {writes:#?}", pair[1] - pair[0]);
    }
    let span = *times.last().unwrap() - times[0];
    assert!(
        times.len() as f64 <= span.as_secs_f64() / interval.as_secs_f64() + 2.0,
        "{} writes in {span:?}",
        times.len()
    );
    // Exactly one bot comment, and it is the reply; the summary ends with the final checklist.
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert_eq!(replies[0].body, reply);
    let summary = sc.summary();
    assert!(
        summary.trim_end().ends_with("### Checklist\n\n- ✅ Inspect the code\n- ✅ Write the fix\n- ✅ Run the tests"),
        "{summary}"
    );
    sc.assert_hygiene(&run);
}

#[test]
fn a_short_run_without_a_plan_comments_only_at_the_end() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let run = mention(&sc, "quick").finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    let writes = comment_writes(&sc);
    let methods: Vec<&str> = writes.iter().map(|l| l.method.as_str()).collect();
    assert_eq!(methods, ["POST"], "after {:?}: {writes:#?}\n{}", run.elapsed, run.logs());
    assert!(body_of(&writes[0]).contains("FAKE-QUICK-FINAL"), "{writes:#?}");
    assert_eq!(sc.replies().len(), 1);
    sc.assert_hygiene(&run);
}

#[test]
fn failed_edits_do_not_stop_the_run() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    // The first live edit fails, retry included; later ones go through.
    sc.gh.fault(Fault::on("PATCH", "/issues/comments/").times(2).kind(FaultKind::Status(502)));
    let run = mention(&sc, "progress").finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    assert!(run.logs().contains("cannot update the progress comment"), "{}", run.logs());
    let patches: Vec<Logged> = comment_writes(&sc).into_iter().filter(|l| l.method == "PATCH").collect();
    assert!(patches.iter().filter(|l| l.status == 502).count() == 2, "{patches:#?}");
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(replies[0].body.contains("FAKE-PROGRESS-FINAL"), "{}", replies[0].body);
    sc.assert_hygiene(&run);
}

#[test]
fn a_deleted_live_comment_is_recreated_for_the_reply() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let child = mention(&sc, "progress").spawn();
    let live = wait_for(LONG_RUN, || sc.replies().first().map(|c| c.id));
    let Some(live) = live else {
        panic!("no live comment appeared: {}", child.wait().logs());
    };
    sc.gh.delete_comment(live);
    let run = child.wait();
    assert_eq!(run.code, 0, "{}", run.logs());
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert_ne!(replies[0].id, live);
    assert!(replies[0].body.contains("FAKE-PROGRESS-FINAL"), "{}", replies[0].body);
    sc.assert_hygiene(&run);
}

/// Polls `probe` (every 50 ms, bounded) until it yields something.
fn wait_for<T>(limit: Duration, probe: impl Fn() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(found) = probe() {
            return Some(found);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// `@sisyphus-dev-ai stop` by `login` on issue #1, as a second run (its own run id) sees it.
fn stop_command(sc: &Scenario, login: &str, association: &str) -> Run {
    let body = "@sisyphus-dev-ai stop";
    sc.gh.seed_comment(REPO, ISSUE, STOP_COMMENT, body, login);
    let mut payload = issue_comment(body, login, association, false);
    payload["comment"]["id"] = json!(STOP_COMMENT);
    let mut cmd = sc.command("issue_comment", &payload);
    cmd.env("GITHUB_RUN_ID", STOP_RUN_ID);
    cmd
}

fn cancels(sc: &Scenario) -> Vec<String> {
    sc.gh.request_lines().into_iter().filter(|l| l.contains("/actions/runs/")).collect()
}

#[test]
fn stop_cancels_the_run_at_work_which_says_who_stopped_it() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let first = mention(&sc, "stoppable").spawn();
    sc.gh.seed_run(RUN_ID, first.id());
    let live = wait_for(LONG_RUN, || sc.replies().first().map(|c| c.id));
    assert!(live.is_some(), "the first run never showed its plan");

    let stop = stop_command(&sc, "Codertocat", "OWNER").finish();
    assert_eq!(stop.code, 0, "{}", stop.logs());
    assert_eq!(cancels(&sc), [format!("POST /repos/{REPO}/actions/runs/{RUN_ID}/cancel")]);
    assert_eq!(sc.gh.reactions_on_comment(STOP_COMMENT), ["+1"]);
    assert!(sc.gh.run_state(RUN_ID).is_some_and(|r| r.cancelled));

    let run = first.wait();
    assert_eq!(run.code, 130, "{}", run.logs());
    assert!(run.logs().contains("SIGINT"), "{}", run.logs());
    // One bot comment: the live one, now the cancelled run's reply, naming who stopped it and
    // what was done; nothing pushed; 😕 on the request, no label.
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert_eq!(Some(replies[0].id), live);
    let reply = &replies[0].body;
    assert!(reply.contains("stopped by @Codertocat from the thread; nothing was pushed"), "{reply}");
    assert!(reply.contains("- 🔄 **Inspect the code**"), "{reply}");
    assert!(!reply.contains("sisyphus-action:run-id="), "a finished run is not stoppable: {reply}");
    assert_eq!(sc.gh.reactions_on(&Subject::IssueComment(COMMENT)), ["confused"]);
    assert!(sc.gh.issue_labels(REPO, ISSUE).is_empty());
    assert_eq!(sc.refs().keys().collect::<Vec<_>>(), ["refs/heads/main"]);
    assert_eq!(sc.outputs().get("conclusion").map(String::as_str), Some("cancelled"));
    sc.assert_hygiene(&run);

    // Stopping again: nothing is running any more.
    let again = stop_command(&sc, "Codertocat", "OWNER").finish();
    assert_eq!(again.code, 0, "{}", again.logs());
    assert_eq!(cancels(&sc).len(), 1, "the finished run's reply names no run to cancel");
}

#[test]
fn stop_with_nothing_running_replies_once() {
    let sc = Scenario::new(std::path::PathBuf::from("/nonexistent/opencode"));
    let run = stop_command(&sc, "Codertocat", "OWNER").finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    assert!(cancels(&sc).is_empty());
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert!(replies[0].body.starts_with("Nothing is running here"), "{}", replies[0].body);
    assert!(replies[0].body.contains(MARKER));
    assert!(sc.gh.reactions_on_comment(STOP_COMMENT).is_empty());
    assert!(sc.llm.requests().is_empty(), "a stop never starts an agent");
    assert!(sc.gh.violations().is_empty(), "{:?}", sc.gh.violations());
}

#[test]
fn a_stop_by_someone_not_allowed_is_skipped() {
    let sc = Scenario::new(std::path::PathBuf::from("/nonexistent/opencode"));
    // The run's "job": a process of its own, so a wrong cancel would signal only it.
    let mut job = Command::new("sleep").arg("60").spawn().unwrap();
    sc.gh.seed_run(RUN_ID, job.id());
    // A live comment of a run at work, which the stop must not reach.
    sc.gh.seed_comment(
        REPO,
        ISSUE,
        1,
        &format!("working\n\n{MARKER}\n<!-- sisyphus-action:run-id={RUN_ID} -->"),
        "github-actions[bot]",
    );
    let run = stop_command(&sc, "mallory", "NONE").finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    assert!(run.logs().contains("skipping"), "{}", run.logs());
    assert!(cancels(&sc).is_empty());
    assert!(sc.gh.run_state(RUN_ID).is_some_and(|r| !r.cancelled));
    assert_eq!(sc.replies().len(), 1, "only the seeded live comment");
    assert!(sc.gh.request_lines().is_empty(), "{:?}", sc.gh.request_lines());
    let _ = job.kill();
    let _ = job.wait();
}
