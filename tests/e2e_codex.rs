//! The issue → PR path once with `runtime: codex`: the binary run as the action runs it, the
//! real pinned Codex CLI (`CODEX_BIN`) against the fake Responses API, the stateful fake
//! GitHub and a real checkout — the same end state as with OpenCode (`e2e.rs`): 👀 then 👍,
//! the label gone, one reply with the agent's words (its footer naming the runtime and
//! model), the fix pushed on a branch with a PR, and nothing left running.
//!
//! Without the CLI: fails in CI, skips by hand.

#[path = "support/codex.rs"]
mod codex;
#[path = "support/e2e.rs"]
mod e2e;
#[path = "support/fake_github.rs"]
mod fake_github;
#[path = "support/fake_llm.rs"]
mod fake_llm;
#[path = "support/fake_responses.rs"]
mod fake_responses;
#[path = "support/git_repo.rs"]
mod git_repo;

use std::path::PathBuf;

use e2e::*;
use fake_github::Subject;
use fake_responses::{Call, FakeResponses, Reply};
use sisyphus_action::marker::MARKER;

const BRANCH: &str = "sisyphus/issue-1-spelling-error-in-the-readme";

#[test]
fn issue_mention_with_codex_pushes_the_fix_opens_a_pr_and_replies() {
    let Some(codex) = codex::codex_bin() else { return };
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    let model = FakeResponses::start();
    let patch = "*** Begin Patch\n*** Add File: notes.md\n+# Notes\n*** End Patch\n";
    model.script(
        "main",
        vec![
            Reply::Calls(vec![Call::Exec("echo hi > hello.txt".into())]),
            Reply::Calls(vec![Call::Patch(patch.into())]),
            Reply::Text("Fixed: hello.txt and notes.md.\nFAKE-FINAL-ANSWER".into()),
        ],
    );
    let body = "@sisyphus-dev-ai SCENARIO=main please fix the spelling";
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, body, "Codertocat");
    let mut cmd = sc.command("issue_comment", &issue_comment(body, "Codertocat", "OWNER", false));
    cmd.env_remove("INPUT_OPENCODE_PATH")
        .env("INPUT_RUNTIME", "codex")
        .env("INPUT_CODEX_PATH", &codex)
        .env("INPUT_MODEL", "openai/gpt-5.5")
        .env("INPUT_OPENAI_BASE_URL", &model.base_url);
    let run = sc.run_command(cmd);
    let log = run.logs();

    assert_eq!(run.code(), Some(0), "{log}");
    assert_eq!(sc.all_reactions(), vec![format!("{:?} +1", Subject::IssueComment(COMMENT))], "{log}");
    assert!(sc.gh.issue_labels(REPO, ISSUE).is_empty(), "label left behind\n{log}");
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0].body;
    assert!(reply.contains(MARKER) && reply.contains("FAKE-FINAL-ANSWER"), "{reply}");
    assert!(reply.contains("codex with openai/gpt-5.5"), "the footer names the runtime and model: {reply}");
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
