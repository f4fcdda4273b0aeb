//! The whole lifecycle, end to end: the binary run as the action runs it (env as GitHub sets
//! it, `INPUT_*` inputs, a payload file), against the stateful fake GitHub, the real
//! `opencode serve` (pinned, `OPENCODE_BIN`), a scripted fake model and a real git checkout
//! whose `origin` is a local bare repo. Each scenario asserts the full end state: the fake
//! GitHub (reactions, labels, comments, PRs, request log, OpenAPI conformance), the bare repo
//! (refs, commits), `$GITHUB_OUTPUT` and the job summary — and that no process outlives a run.
//!
//! The fake model's script is picked by `SCENARIO=<name>` in the request (see
//! `support/fake_llm.rs`): `main` writes `hello.txt` and `notes.md` with todos; `http400`
//! fails; `slow` streams for a minute; any other name answers with one line of text.
//!
//! At most two OpenCode servers run at once (`opencode::Slot`). Without OpenCode the agent
//! scenarios fail in CI and skip by hand; the no-trigger scenarios never need it.

use crate::support::e2e;
use crate::support::fake_github;
use crate::support::git_repo;
use crate::support::opencode;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use e2e::*;
use fake_github::Subject;
use opencode::{Slot, opencode_bin};
use sisyphus_action::marker::MARKER;

/// A scenario with a real OpenCode, holding one of the two server slots.
fn agent_scenario() -> Option<(Scenario, Slot)> {
    let bin = opencode_bin()?;
    let slot = Slot::take();
    Some((Scenario::new(bin), slot))
}

const BRANCH: &str = "sisyphus/issue-1-spelling-error-in-the-readme";

/// The end state of a successful run on `subject`: 👍 only (on the whole fake), no label left,
/// exactly one reply carrying the marker and the model's words, `conclusion=success`.
fn assert_success(sc: &Scenario, run: &Ran, subject: &Subject, number: u64, answer: &str) {
    let log = run.logs();
    assert_eq!(run.code, 0, "{log}");
    assert_eq!(sc.all_reactions(), vec![format!("{subject:?} +1")], "{:?}\n{log}", sc.gh.request_lines());
    assert!(sc.gh.issue_labels(REPO, number).is_empty(), "label left behind\n{log}");
    assert!(sc.gh.repo_labels(REPO).iter().any(|l| l.name == LABEL && l.color == "fcf2e1"), "the working label");
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].body.contains(MARKER), "{}", replies[0].body);
    assert!(replies[0].body.contains(answer), "the model's answer is the reply: {}", replies[0].body);
    assert_eq!(sc.outputs().get("conclusion").map(String::as_str), Some("success"), "{:?}", sc.outputs());
    let summary = sc.summary();
    assert!(summary.contains("| Outcome | success |") && summary.contains(&sc.run_url()), "{summary}");
    assert!(run.logs().contains("::group::agent"), "workflow-native groups in Actions: {log}");
    sc.assert_hygiene(run);
}

/// The end state of a failed or cancelled run: 😕 only, no label, one reply with the run link.
fn assert_failure(sc: &Scenario, run: &Ran, code: i32, conclusion: &str, kind: &str) {
    let log = run.logs();
    assert_eq!(run.code, code, "{log}");
    assert_eq!(sc.all_reactions(), vec![format!("{:?} confused", Subject::IssueComment(COMMENT))], "{log}");
    assert!(sc.gh.issue_labels(REPO, ISSUE).is_empty(), "label left behind\n{log}");
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0].body;
    assert!(reply.starts_with("😕") && reply.contains(&sc.run_url()) && reply.contains(kind), "{reply}");
    assert_eq!(sc.outputs().get("conclusion").map(String::as_str), Some(conclusion));
    assert!(sc.gh.pulls().is_empty(), "no PR after a failure");
    assert_eq!(sc.refs().keys().collect::<Vec<_>>(), ["refs/heads/main"], "nothing pushed after a failure");
    sc.assert_hygiene(run);
}

/// `METHOD /path` of every request, ids of things we created replaced by `ID`.
fn endpoints(sc: &Scenario) -> Vec<String> {
    sc.gh
        .request_lines()
        .iter()
        .map(|l| {
            l.split('/')
                .map(|seg| if seg.len() == 5 && seg.starts_with("900") { "ID" } else { seg })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

#[test]
fn issue_mention_pushes_a_branch_opens_a_pr_and_replies() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai SCENARIO=main please fix the spelling", "Codertocat");
    let mut cmd = sc.command(
        "issue_comment",
        &issue_comment("@sisyphus-dev-ai SCENARIO=main please fix the spelling", "Codertocat", "OWNER", false),
    );
    // The call sequence below is that of a run without the live progress comment, whose
    // edits depend on timing (`progress_e2e` covers them).
    cmd.env("INPUT_PROGRESS", "off");
    let run = cmd.finish();
    assert_success(&sc, &run, &Subject::IssueComment(COMMENT), ISSUE, "FAKE-FINAL-ANSWER");

    // The branch: one commit on top of main with exactly the agent's files, by the bot.
    let main = sc.repos.remote_sha("main").unwrap();
    let refs = sc.refs();
    assert_eq!(refs.keys().collect::<Vec<_>>(), ["refs/heads/main", &format!("refs/heads/{BRANCH}")], "{refs:?}");
    assert_eq!(sc.commits_between("main", BRANCH).len(), 1);
    assert_eq!(git_repo::git(&sc.repos.origin, &["rev-parse", &format!("{BRANCH}^")]), main);
    let files = git_repo::git(&sc.repos.origin, &["diff", "--name-only", "main", BRANCH]);
    assert_eq!(files, "hello.txt\nnotes.md");
    assert_eq!(sc.repos.remote_file(BRANCH, "hello.txt").as_deref(), Some("hi\n"));
    let author = git_repo::git(&sc.repos.origin, &["log", "-1", "--format=%an <%ae>", BRANCH]);
    assert_eq!(author, "sisyphus-dev-ai <sisyphus-dev-ai@users.noreply.github.com>");
    assert!(
        sc.repos.remote_message(BRANCH).contains("Co-authored-by: Codertocat"),
        "{}",
        sc.repos.remote_message(BRANCH)
    );

    // The PR: from the branch to main, closing the issue, linking the run.
    let pulls = sc.gh.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let pr = &pulls[0];
    assert_eq!((pr.head.as_str(), pr.base.as_str(), pr.draft), (format!("{OWNER}:{BRANCH}").as_str(), "main", false));
    assert!(pr.body.contains("Closes #1") && pr.body.contains(&sc.run_url()), "{}", pr.body);
    let pr_url = format!("https://github.com/{REPO}/pull/{}", pr.number);
    assert!(sc.replies()[0].body.contains(&pr_url), "the reply links the PR: {}", sc.replies()[0].body);

    // Outputs name all of it.
    let out = sc.outputs();
    assert_eq!(out["branch"], BRANCH);
    assert_eq!(out["pr-url"], pr_url);
    assert_eq!(out["pr-number"], pr.number.to_string());
    assert_eq!(Some(&out["commit-sha"]), refs.get(&format!("refs/heads/{BRANCH}")));
    assert!(out["session-id"].starts_with("ses_"), "{out:?}");
    assert!(out["comment-url"].contains("#issuecomment-"), "{out:?}");
    assert_eq!(out["triggered"], "true");

    // The conversation with GitHub: 👀 first, then every call in order — 9, the target: no
    // re-run lookups on a first attempt, no PR lookup before creating it.
    let comment = format!("/repos/{REPO}/issues/comments/{COMMENT}/reactions");
    let expected = [
        format!("POST {comment}"),
        format!("POST /repos/{REPO}/labels"),
        format!("POST /repos/{REPO}/issues/1/labels"),
        "POST /graphql".to_owned(),
        format!("POST /repos/{REPO}/pulls"),
        format!("DELETE {comment}/ID"),
        format!("POST {comment}"),
        format!("DELETE /repos/{REPO}/issues/1/labels/sisyphus%3A%20working"),
        format!("POST /repos/{REPO}/issues/1/comments"),
    ];
    assert_eq!(endpoints(&sc), expected);
}

#[test]
fn pr_mention_commits_on_the_pr_head_only() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let sc = sc.with_pull(false);
    let before = sc.refs();
    let head = before["refs/heads/feature"].clone();
    sc.gh.seed_comment(REPO, PULL, COMMENT, "@sisyphus-dev-ai SCENARIO=main add the notes", "Codertocat");
    let run = sc.run(
        "issue_comment",
        &issue_comment("@sisyphus-dev-ai SCENARIO=main add the notes", "Codertocat", "MEMBER", true),
    );
    assert_success(&sc, &run, &Subject::IssueComment(COMMENT), PULL, "FAKE-FINAL-ANSWER");
    let after = sc.refs();
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "no new branch");
    assert_eq!(after["refs/heads/main"], before["refs/heads/main"], "main untouched");
    assert_eq!(git_repo::git(&sc.repos.origin, &["rev-parse", "feature^"]), head, "one commit on the PR head");
    assert_eq!(git_repo::git(&sc.repos.origin, &["diff", "--name-only", &head, "feature"]), "hello.txt\nnotes.md");
    assert_eq!(sc.gh.pulls().len(), 1, "no second PR");
    let out = sc.outputs();
    assert_eq!((out["branch"].as_str(), out["pr-number"].as_str()), ("feature", "2"));
    assert_eq!(out["commit-sha"], after["refs/heads/feature"]);
}

#[test]
fn review_comment_gets_a_threaded_reply() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let sc = sc.with_pull(false);
    let body = "@sisyphus-dev-ai SCENARIO=review-line why this line?";
    sc.gh.seed_review_comment(REPO, PULL, REVIEW_COMMENT, body, "Codertocat");
    let run = sc.run("pull_request_review_comment", &review_comment(body));
    assert_success(&sc, &run, &Subject::ReviewComment(REVIEW_COMMENT), PULL, "unknown scenario review-line");
    let reply = &sc.replies()[0];
    assert!(reply.review && reply.in_reply_to == Some(REVIEW_COMMENT), "threaded under the comment: {reply:?}");
    assert!(sc.outputs()["comment-url"].contains("#discussion_r"), "{:?}", sc.outputs());
    assert!(sc.gh.comments().iter().filter(|c| !c.review).all(|c| c.user != "github-actions[bot]"), "no issue comment");
}

#[test]
fn review_body_gets_a_reply() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let sc = sc.with_pull(false);
    let run = sc.run("pull_request_review", &review("Looks close. @sisyphus-dev-ai SCENARIO=review-body summarise"));
    assert_success(&sc, &run, &Subject::Issue(REPO.into(), PULL), PULL, "unknown scenario review-body");
    let reply = &sc.replies()[0];
    assert!(!reply.review && reply.number == PULL, "a conversation comment on the PR: {reply:?}");
}

#[test]
fn dispatch_with_prompt_and_issue_number() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let run = sc.run("workflow_dispatch", &dispatch("SCENARIO=main fix the spelling", Some(ISSUE)));
    assert_success(&sc, &run, &Subject::Issue(REPO.into(), ISSUE), ISSUE, "FAKE-FINAL-ANSWER");
    assert_eq!(sc.replies()[0].number, ISSUE);
    let pulls = sc.gh.pulls();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].head, format!("{OWNER}:{BRANCH}"));
    assert!(pulls[0].body.contains("Closes #1"), "{}", pulls[0].body);
    assert_eq!(sc.commits_between("main", BRANCH).len(), 1);
}

/// Events that must not act: zero requests to GitHub (not even a read), no model call, no
/// push, exit 0, `triggered=false` with the reason.
#[test]
fn non_triggers_make_no_request_at_all() {
    let cases = [
        ("no mention", issue_comment("Thanks, looks good to me.", "Codertocat", "OWNER", false), "not mentioned"),
        (
            "mention in a code block",
            issue_comment("Try:\n\n```\n@sisyphus-dev-ai fix it\n```\n", "Codertocat", "OWNER", false),
            "not mentioned",
        ),
        ("bot author", issue_comment("@sisyphus-dev-ai fix it", "renovate[bot]", "MEMBER", false), "is a bot"),
        ("association NONE", issue_comment("@sisyphus-dev-ai fix it", "stranger", "NONE", false), "`NONE`"),
    ];
    for (what, payload, reason) in cases {
        // A runnable OpenCode is never needed here: if the gate let this through, the run would
        // fail loudly (and GitHub would have seen the 👀 first).
        let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
        let before = sc.refs();
        let run = sc.run("issue_comment", &payload);
        assert_eq!(run.code, 0, "{what}: {}", run.logs());
        assert_eq!(sc.gh.request_lines(), Vec::<String>::new(), "{what}: GitHub was called");
        assert!(sc.llm.requests().is_empty(), "{what}: the model was called");
        assert_eq!(sc.refs(), before, "{what}");
        let out = sc.outputs();
        assert_eq!(out.get("triggered").map(String::as_str), Some("false"), "{what}: {out:?}");
        assert_eq!(out.get("conclusion").map(String::as_str), Some("skipped"), "{what}: {out:?}");
        assert!(out["skip-reason"].contains(reason), "{what}: {out:?}");
        assert!(run.elapsed < Duration::from_secs(5), "{what}: {:?}", run.elapsed);
    }
}

#[test]
fn model_error_confused_reply_with_run_link_exit_1() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let body = "@sisyphus-dev-ai SCENARIO=http400 fix it";
    let run = sc.mention(body).finish();
    assert_failure(&sc, &run, 1, "failure", "APIError");
    assert!(sc.replies()[0].body.contains("fake bad request"), "{}", sc.replies()[0].body);
    assert!(sc.summary().contains("| Outcome | failure |"), "{}", sc.summary());
}

#[test]
fn timeout_minutes_aborts_the_agent_exit_130() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let body = "@sisyphus-dev-ai SCENARIO=slow take your time";
    let mut cmd = sc.mention(body);
    cmd.env("INPUT_TIMEOUT_MINUTES", "0.2");
    // Below the one-minute floor of `timeout-minutes`: allowed for the timeout tests only.
    cmd.env("SISYPHUS_SHORT_TIMEOUTS", "1");
    let run = cmd.finish();
    assert_failure(&sc, &run, 130, "cancelled", "timeout");
    assert!(run.elapsed < Duration::from_secs(60), "{:?}", run.elapsed);
}

#[test]
fn sigterm_during_the_turn_finalizes_without_orphans() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let body = "@sisyphus-dev-ai SCENARIO=slow take your time";
    let child = sc.mention(body).spawn();
    let streaming = sc.wait_for_model(Duration::from_secs(90), |r| r.iter().any(|r| r.scenario == "slow" && r.tools));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    if !streaming {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        panic!("the agent never reached the model");
    }
    assert!(!sc.processes().is_empty(), "the OpenCode server runs during the turn");
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let signalled = Instant::now();
    let run = child.wait();
    // The runner sends SIGKILL ~7.5 s after SIGTERM: everything must be done by then.
    assert!(signalled.elapsed() < Duration::from_millis(7500), "finishing took {:?}", signalled.elapsed());
    assert!(run.logs().contains("SIGTERM"), "{}", run.logs());
    assert_failure(&sc, &run, 130, "cancelled", "cancelled");
}

#[test]
fn fork_pr_pushes_nothing_and_explains() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let sc = sc.with_pull(true);
    let before = sc.refs();
    sc.gh.seed_comment(REPO, PULL, COMMENT, "@sisyphus-dev-ai SCENARIO=main add the notes", "Codertocat");
    let run = sc.run(
        "issue_comment",
        &issue_comment("@sisyphus-dev-ai SCENARIO=main add the notes", "Codertocat", "OWNER", true),
    );
    assert_success(&sc, &run, &Subject::IssueComment(COMMENT), PULL, "FAKE-FINAL-ANSWER");
    assert_eq!(sc.refs(), before, "nothing pushed anywhere");
    assert_eq!(sc.gh.pulls().len(), 1, "no PR opened");
    let reply = &sc.replies()[0].body;
    assert!(reply.contains("Nothing was pushed") && reply.contains("fork `forker/Hello-World`"), "{reply}");
    assert!(reply.contains("allow-fork-push"), "says how to allow it: {reply}");
    let out = sc.outputs();
    assert_eq!((out["branch"].as_str(), out["commit-sha"].as_str(), out["pr-url"].as_str()), ("", "", ""));
    assert!(!sc.gh.request_lines().iter().any(|l| l.contains("/pulls")), "{:?}", sc.gh.request_lines());
}

#[test]
fn rerun_of_a_finished_event_duplicates_nothing() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let body = "@sisyphus-dev-ai SCENARIO=main please fix the spelling";
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, body, "Codertocat");
    let payload = issue_comment(body, "Codertocat", "OWNER", false);
    let first = sc.run("issue_comment", &payload);
    assert_success(&sc, &first, &Subject::IssueComment(COMMENT), ISSUE, "FAKE-FINAL-ANSWER");
    let refs = sc.refs();
    let first_reply = sc.replies()[0].clone();

    // "Re-run jobs" on GitHub: same event, same run id, next attempt, in a fresh checkout of
    // `main` (the agent's files of the first attempt are not in it, as on a new runner).
    for args in [&["checkout", "--quiet", "--force", "main"][..], &["clean", "-ffdxq"]] {
        git_repo::git(&sc.repos.work, args);
    }
    let mut cmd = sc.command("issue_comment", &payload);
    cmd.env("GITHUB_RUN_ATTEMPT", "2");
    let again = cmd.finish();
    assert_success(&sc, &again, &Subject::IssueComment(COMMENT), ISSUE, "FAKE-FINAL-ANSWER");
    assert_eq!(sc.replies()[0].id, first_reply.id, "the earlier reply is updated, not repeated");
    assert_eq!(sc.gh.pulls().len(), 1, "no second PR");
    assert_eq!(sc.refs(), refs, "the same work again changes nothing on the branch");
    assert_eq!(sc.commits_between("main", BRANCH).len(), 1);
}

/// `sisyphus-action run --repo O/N --issue N --prompt "…"` outside Actions: the same lifecycle,
/// plain logs (no workflow commands), no payload, no `GITHUB_*` but the API URLs and the token.
#[test]
fn local_run_of_one_issue_outside_actions() {
    let Some((sc, _slot)) = agent_scenario() else { return };
    let mut cmd = sc.base_command();
    cmd.args(["run", "--repo", REPO, "--issue", "1", "--prompt", "SCENARIO=main fix the spelling"])
        .args(["--model", "openai-compatible/fake-model", "--openai-base-url", &sc.llm.base_url])
        .arg("--opencode-path")
        .arg(&sc.opencode)
        .env("OPENAI_API_KEY", MODEL_KEY)
        .env("TMPDIR", sc.path("runner-temp"))
        .cwd(&sc.repos.work);
    let run = cmd.finish();
    let log = run.logs();
    assert_eq!(run.code, 0, "{log}");
    assert!(!log.lines().any(|l| l.starts_with("::")), "workflow commands outside Actions:\n{log}");
    assert!(log.contains("session"), "plain progress logs: {log}");
    assert_eq!(sc.all_reactions(), vec![format!("{:?} +1", Subject::Issue(REPO.into(), ISSUE))]);
    assert!(sc.gh.issue_labels(REPO, ISSUE).is_empty());
    assert_eq!(sc.gh.pulls().len(), 1);
    assert_eq!(sc.commits_between("main", BRANCH).len(), 1);
    let replies = sc.replies();
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].body.contains("FAKE-FINAL-ANSWER") && !replies[0].body.contains("actions/runs"),
        "{}",
        replies[0].body
    );
    sc.assert_hygiene(&run);
}
