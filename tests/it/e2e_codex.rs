//! The issue → PR path once with `runtime: codex`: the binary run as the action runs it, the
//! real pinned Codex CLI (`CODEX_BIN`) against the fake Responses API, the stateful fake
//! GitHub and a real checkout — the same end state as with OpenCode (`e2e.rs`): 👀 then 👍,
//! the label gone, one reply with the agent's words (its footer naming the runtime and
//! model), the fix pushed on a branch with a PR, and nothing left running.
//!
//! Without the CLI: fails in CI, skips by hand.

use crate::support::codex;
use crate::support::e2e;
use crate::support::fake_github;
use crate::support::fake_responses;
use crate::support::git_repo;

use std::path::PathBuf;

use e2e::*;
use fake_github::{Logged, Subject};
use fake_responses::{Call, FakeResponses, Reply};
use sisyphus_action::marker::MARKER;

const BRANCH: &str = "sisyphus/issue-1-spelling-error-in-the-readme";
/// The patch both scenarios apply: a new `notes.md`.
const PATCH: &str = "*** Begin Patch\n*** Add File: notes.md\n+# Notes\n*** End Patch\n";

/// A scenario whose fake model answers `SCENARIO=<scenario>` with `steps`, the mention that asks
/// for it seeded on the fake GitHub, and the command that runs the binary on it with the real
/// Codex CLI; `None` without the CLI.
fn codex_mention(scenario: &str, steps: Vec<Reply>) -> Option<(Scenario, FakeResponses, Run)> {
    let codex = codex::codex_bin()?;
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    let model = FakeResponses::start();
    model.script(scenario, steps);
    let body = format!("@sisyphus-dev-ai SCENARIO={scenario} please fix the spelling");
    let mut cmd = sc.mention(&body);
    cmd.env_remove("INPUT_OPENCODE_PATH")
        .env("INPUT_RUNTIME", "codex")
        .env("INPUT_CODEX_PATH", &codex)
        .env("INPUT_MODEL", "openai/gpt-5.5")
        .env("INPUT_OPENAI_BASE_URL", &model.base_url);
    Some((sc, model, cmd))
}

#[test]
fn issue_mention_with_codex_pushes_the_fix_opens_a_pr_and_replies() {
    let steps = vec![
        Reply::Calls(vec![Call::Exec("echo hi > hello.txt".into())]),
        Reply::Calls(vec![Call::Patch(PATCH.into())]),
        Reply::Text("Fixed: hello.txt and notes.md.\nFAKE-FINAL-ANSWER".into()),
    ];
    let Some((sc, model, mut cmd)) = codex_mention("main", steps) else { return };
    let run = cmd.finish();
    let log = run.logs();

    assert_eq!(run.code, 0, "{log}");
    assert_eq!(sc.all_reactions(), vec![format!("{:?} +1", Subject::IssueComment(COMMENT))], "{log}");
    assert!(sc.gh.issue_labels(REPO, ISSUE).is_empty(), "label left behind\n{log}");
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0].body;
    assert!(reply.contains(MARKER) && reply.contains("FAKE-FINAL-ANSWER"), "{reply}");
    assert!(reply.contains("codex with openai/gpt-5.5"), "the footer names the runtime and model: {reply}");
    // Codex reports tokens but no cost: the footer says the tokens and shows no made-up `$0.00`.
    let footer = reply.lines().find(|l| l.contains("codex with")).unwrap_or_default();
    assert!(footer.contains("tokens in") && !footer.contains('$'), "{footer}");
    assert_eq!(sc.outputs().get("conclusion").map(String::as_str), Some("success"), "{:?}", sc.outputs());

    // The fix, pushed: exactly the agent's files, one commit on main, with a PR.
    let files = git_repo::git(&sc.repos.origin, &["diff", "--name-only", "main", BRANCH]);
    assert_eq!(files, "hello.txt\nnotes.md", "{log}");
    assert_eq!(sc.repos.remote_file(BRANCH, "hello.txt").as_deref(), Some("hi\n"));
    assert_eq!(sc.gh.pulls().len(), 1);

    // The CLI got our provider's key and nothing of GitHub's.
    let requests = model.requests();
    assert_eq!(requests[0].authorization.as_deref(), Some(format!("Bearer {MODEL_KEY}").as_str()));
    assert!(!requests.iter().any(|r| r.body.to_string().contains(TOKEN)), "the GitHub token reached the model");
    sc.assert_hygiene(&run);
}

/// Every write of a comment on issue #1's conversation: creates and edits, in arrival order.
fn comment_writes(sc: &Scenario) -> Vec<Logged> {
    let created = format!("/repos/{REPO}/issues/{ISSUE}/comments");
    let edited = format!("/repos/{REPO}/issues/comments/");
    let writes = sc.gh.requests().into_iter();
    writes
        .filter(|l| (l.method == "POST" && l.path == created) || (l.method == "PATCH" && l.path.starts_with(&edited)))
        .collect()
}

/// The live progress comment fed by Codex's stream: created at its first plan (the delay is an
/// hour, so nothing else can have brought it), edited with each command it ran and each file it
/// changed, and at the end it is the reply.
#[test]
fn codex_steps_show_in_the_live_progress_comment_which_becomes_the_reply() {
    // The sleeps keep each step on screen longer than the throttle's spacing (1 s here).
    let steps = vec![
        Reply::Calls(vec![Call::Plan(vec![("Create hello.txt", "in_progress"), ("Write notes.md", "pending")])]),
        Reply::Calls(vec![Call::Exec("sleep 3; echo hi > hello.txt".into())]),
        Reply::Calls(vec![Call::Patch(PATCH.into())]),
        Reply::Calls(vec![Call::Exec("sleep 3; cat notes.md".into())]),
        Reply::Calls(vec![Call::Plan(vec![("Create hello.txt", "completed"), ("Write notes.md", "completed")])]),
        Reply::Text("Both files are there.\nFAKE-CODEX-PROGRESS-FINAL".into()),
    ];
    let Some((sc, _model, mut cmd)) = codex_mention("progress", steps) else { return };
    cmd.env("INPUT_PROGRESS_DELAY", "3600").env("SISYPHUS_PROGRESS_INTERVAL_MS", "1000");
    let run = cmd.finish();
    let log = run.logs();
    assert_eq!(run.code, 0, "{log}");

    let writes = comment_writes(&sc);
    let bodies: Vec<String> = writes.iter().map(|l| l.body["body"].as_str().unwrap_or_default().to_owned()).collect();
    let (first, rest) = writes.split_first().expect("a comment was written");
    assert_eq!(first.method, "POST", "{bodies:#?}");
    assert!(bodies[0].contains("Create hello.txt") && bodies[0].contains("Write notes.md"), "the plan: {bodies:#?}");
    assert!(rest.iter().all(|l| l.method == "PATCH"), "edited in place, never created again: {bodies:#?}");
    let lives = &bodies[..bodies.len() - 1];
    assert!(lives.iter().any(|b| b.contains("ran `sleep 3; echo hi > hello.txt`")), "the command: {bodies:#?}");
    assert!(lives.iter().any(|b| b.contains("edited `notes.md`")), "the file change: {bodies:#?}");
    let reply = bodies.last().unwrap();
    assert!(reply.contains("FAKE-CODEX-PROGRESS-FINAL") && reply.contains(MARKER), "{reply}");
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(&replies[0].body, reply, "the live comment became the reply");
    sc.assert_hygiene(&run);
}
