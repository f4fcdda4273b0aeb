//! The lifecycle through the library, against the fake GitHub, with the `command` runtime as
//! the agent: acknowledgement first, the guaranteed finish, re-runs, faults, no leaked token.
//! (The binary end to end, with signals, is in `binary.rs`.)

use crate::support::fake_github;
use crate::support::fixtures::hello_world::{self, COMMENT, REPO};

use fake_github::{FakeGithub, Fault, FaultKind, Subject};
use sisyphus_action::cli::RunArgs;
use sisyphus_action::config::{Config, GithubEnv};
use sisyphus_action::event::{self, Actor, Comment, PayloadThread, Trigger};
use sisyphus_action::exit::Conclusion;
use sisyphus_action::gha::Gha;
use sisyphus_action::github::types::{CommentKind, Repo};
use sisyphus_action::lifecycle;
use sisyphus_action::marker::MARKER;
use sisyphus_action::sanitize::sanitize;

const TOKEN: &str = "ghs_lifecycleSecretToken1234";
const LABEL: &str = "sisyphus: working";

struct Setup {
    gh: FakeGithub,
    config: Config,
    dir: tempfile::TempDir,
}

fn setup(agent_command: &str) -> Setup {
    let gh = FakeGithub::start();
    gh.expect_token(TOKEN);
    hello_world::seed_with_comment(&gh, "@sisyphus-dev-ai please fix the flaky test");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("work")).unwrap();
    std::fs::create_dir_all(dir.path().join("temp")).unwrap();
    let args = RunArgs {
        runtime: Some("command".into()),
        agent_command: Some(agent_command.into()),
        github_token: Some(TOKEN.into()),
        timeout_minutes: Some("1".into()),
        ..RunArgs::default()
    };
    let mut config = Config::from_args(&args).unwrap();
    config.github = GithubEnv {
        api_url: gh.api_url(),
        graphql_url: gh.graphql_url(),
        server_url: "https://github.com".into(),
        repository: REPO.into(),
        workspace: dir.path().join("work"),
        run_id: Some("4242".into()),
        run_attempt: None,
        output: Some(dir.path().join("output")),
        step_summary: Some(dir.path().join("summary")),
        runner_temp: dir.path().join("temp"),
        tool_cache: None,
        actions: false,
        retry_base: None,
    };
    Setup { gh, config, dir }
}

fn trigger() -> Trigger {
    Trigger {
        repo: Repo { owner: "Codertocat".into(), name: "Hello-World".into() },
        number: Some(1),
        author: Actor { login: "Codertocat".into(), is_bot: false },
        html_url: Some(format!("https://github.com/{REPO}/issues/1")),
        created_at: Some("2019-05-15T15:20:21Z".into()),
        subject: event::Subject::Comment(Comment {
            id: COMMENT,
            kind: CommentKind::Issue,
            html_url: format!("https://github.com/{REPO}/issues/1#issuecomment-{COMMENT}"),
            created_at: "2019-05-15T15:20:21Z".into(),
            body: "@sisyphus-dev-ai please fix the flaky test".into(),
            association: "OWNER".into(),
        }),
        thread: PayloadThread {
            title: "Spelling error in the README file".into(),
            author: "Codertocat".into(),
            default_branch: Some("main".into()),
            ..PayloadThread::default()
        },
    }
}

async fn run(s: &Setup) -> Conclusion {
    lifecycle::run(&s.config, trigger(), sanitize("please fix the flaky test"), &Gha::new(false)).await.unwrap()
}

/// Nothing of ours left on the thread but the verdict and at most one reply.
fn assert_finished(s: &Setup, verdict: &str) {
    assert_eq!(s.gh.reactions_on_comment(COMMENT), vec![verdict.to_owned()], "{:?}", s.gh.request_lines());
    assert!(s.gh.issue_labels(REPO, 1).is_empty(), "the working label is left behind");
    assert!(s.gh.repo_labels(REPO).iter().any(|l| l.name == LABEL && l.color == "fcf2e1"));
    let ours = s.gh.our_comments();
    assert!(ours.len() <= 1, "{ours:?}");
    assert!(ours.iter().all(|c| c.body.contains(MARKER)));
    assert!(s.gh.violations().is_empty(), "{:?}", s.gh.violations());
}

fn no_token_anywhere(s: &Setup) {
    for c in s.gh.comments() {
        assert!(!c.body.contains(TOKEN), "{}", c.body);
    }
    for file in ["summary", "output"] {
        let text = std::fs::read_to_string(s.dir.path().join(file)).unwrap_or_default();
        assert!(!text.contains(TOKEN), "{file}: {text}");
    }
}

#[tokio::test]
async fn ack_comes_first_then_failure_finishes_with_confused_and_one_reply() {
    let s = setup("echo \"leaking $SISYPHUS_PROMPT_FILE\"; exit 3");
    assert_eq!(run(&s).await, Conclusion::Failure);
    let lines = s.gh.request_lines();
    let reactions = format!("POST /repos/{REPO}/issues/comments/{COMMENT}/reactions");
    assert_eq!(lines[0], reactions, "👀 is the very first request: {lines:?}");
    assert_eq!(s.gh.requests()[0].body["content"], "eyes");
    assert_eq!(lines[1], format!("POST /repos/{REPO}/labels"));
    assert_eq!(lines[2], format!("POST /repos/{REPO}/issues/1/labels"));
    assert_finished(&s, "confused");
    let reply = &s.gh.our_comments()[0].body;
    assert!(reply.contains("https://github.com/Codertocat/Hello-World/actions/runs/4242"), "{reply}");
    assert!(reply.contains("failed"), "{reply}");
    let summary = std::fs::read_to_string(s.dir.path().join("summary")).unwrap();
    assert!(summary.contains("| Outcome | failure |"), "{summary}");
    let outputs = std::fs::read_to_string(s.dir.path().join("output")).unwrap();
    assert!(outputs.contains("comment-url<<") && outputs.contains("#issuecomment-"), "{outputs}");
    no_token_anywhere(&s);
}

#[tokio::test]
async fn a_rerun_of_the_same_event_creates_no_duplicates() {
    let s = setup("exit 3");
    assert_eq!(run(&s).await, Conclusion::Failure);
    let first = s.gh.our_comments();
    assert_eq!(run(&s).await, Conclusion::Failure);
    assert_finished(&s, "confused");
    let second = s.gh.our_comments();
    assert_eq!(second.len(), 1);
    assert_eq!(first[0].id, second[0].id, "the reply is updated, not posted again");
}

#[tokio::test]
async fn a_comment_by_someone_else_carrying_our_key_is_never_edited() {
    let s = setup("exit 3");
    // Anyone can paste our hidden marker and key; the token could edit their comment all the same.
    let planted = format!("{MARKER}\n<!-- sisyphus-action:reply-to=comment-{COMMENT} -->\nplanted");
    s.gh.seed_comment(REPO, 1, 777, &planted, "mallory");
    for _ in 0..2 {
        assert_eq!(run(&s).await, Conclusion::Failure);
        let theirs = s.gh.comments().into_iter().find(|c| c.id == 777).unwrap();
        assert_eq!(theirs.body, planted, "{:?}", s.gh.request_lines());
        assert!(!s.gh.request_lines().iter().any(|l| l.contains("/comments/777")), "{:?}", s.gh.request_lines());
    }
    let ours = s.gh.our_comments();
    assert_eq!(ours.len(), 1, "our own reply is found and updated on the re-run: {ours:?}");
    assert!(ours[0].body.contains("failed"), "{}", ours[0].body);
}

#[tokio::test]
async fn without_our_login_no_earlier_comment_is_taken_for_ours() {
    let s = setup("exit 3");
    assert_eq!(run(&s).await, Conclusion::Failure);
    // Every reaction fails now, so the re-run never learns our login: it posts anew.
    s.gh.fault(Fault::on("POST", "/reactions").kind(FaultKind::Status(422)).times(100));
    assert_eq!(run(&s).await, Conclusion::Failure);
    assert_eq!(s.gh.our_comments().len(), 2, "{:?}", s.gh.request_lines());
    assert!(!s.gh.request_lines().iter().any(|l| l.starts_with("PATCH")), "{:?}", s.gh.request_lines());
}

#[tokio::test]
async fn a_long_reply_is_capped_and_the_agents_words_notify_nobody() {
    // The agent's last paragraph: a mention, a closing keyword, a trailer and 70,000 more bytes.
    let mut s = setup(
        "printf 'Thanks @octocat! Fixes #1\\nCo-authored-by: Mallory <m@x>\\n'; head -c 70000 /dev/zero | tr '\\0' x; echo",
    );
    s.config.publish.allow_push = false;
    assert_eq!(run(&s).await, Conclusion::Success);
    let ours = s.gh.our_comments();
    assert_eq!(ours.len(), 1);
    let body = &ours[0].body;
    assert!(body.len() <= 60_000, "{} bytes", body.len());
    assert!(body.starts_with("Thanks `@octocat`! Fixes `#1`\n`Co-authored-by:` Mallory"), "{}", &body[..80]);
    assert!(body.contains("truncated; the full text is in the job summary"));
    assert!(body.contains(MARKER) && body.ends_with(&format!("reply-to=comment-{COMMENT} -->\n")), "the footer stays");
    let summary = std::fs::read_to_string(s.dir.path().join("summary")).unwrap();
    assert!(summary.contains(&"x".repeat(70_000)), "the job summary has the whole reply");
    no_token_anywhere(&s);
}

#[tokio::test]
async fn a_humans_reactions_survive() {
    let s = setup("exit 3");
    s.gh.seed_reaction(Subject::IssueComment(COMMENT), "eyes", "Codertocat");
    s.gh.seed_reaction(Subject::IssueComment(COMMENT), "+1", "Codertocat");
    run(&s).await;
    let mut left: Vec<(String, String)> = s.gh.reactions().into_iter().map(|r| (r.content, r.user)).collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            ("+1".into(), "Codertocat".into()),
            ("confused".into(), "github-actions[bot]".into()),
            ("eyes".into(), "Codertocat".into())
        ]
    );
}

#[tokio::test]
async fn a_failing_github_during_ack_does_not_stop_the_finish() {
    let s = setup("exit 3");
    // Adding the label is refused: acknowledging half-works, finishing still cleans up.
    s.gh.fault(Fault::on("POST", "/issues/1/labels").kind(FaultKind::Status(422)).times(100));
    assert_eq!(run(&s).await, Conclusion::Failure);
    assert_finished(&s, "confused");
}

#[tokio::test]
async fn allow_comments_off_posts_nothing() {
    let mut s = setup("exit 3");
    s.config.publish.allow_comments = false;
    assert_eq!(run(&s).await, Conclusion::Failure);
    assert!(s.gh.our_comments().is_empty());
    assert_eq!(s.gh.reactions_on_comment(COMMENT), vec!["confused"]);
}

#[tokio::test]
async fn no_token_is_a_clear_usage_error() {
    let mut s = setup("true");
    s.config.token = None;
    let err = lifecycle::run(&s.config, trigger(), sanitize("x"), &Gha::new(false)).await.unwrap_err();
    assert!(err.chain().any(|e| e.is::<sisyphus_action::exit::UsageError>()));
    assert!(format!("{err}").contains("github-token"), "{err}");
    assert!(s.gh.requests().is_empty());
}

#[tokio::test]
async fn a_review_comment_gets_its_reactions_and_a_threaded_reply() {
    let s = setup("exit 3");
    s.gh.seed_pull(REPO, 2, "Codertocat:changes", "master");
    s.gh.seed_review_comment(REPO, 2, 284_312_630, "@sisyphus-dev-ai rename this variable", "Codertocat");
    let mut t = trigger();
    t.number = Some(2);
    t.thread.is_pull_request = true;
    t.subject = event::Subject::Comment(Comment {
        id: 284_312_630,
        kind: CommentKind::Review,
        html_url: format!("https://github.com/{REPO}/pull/2#discussion_r284312630"),
        created_at: "2019-05-15T15:20:37Z".into(),
        body: "@sisyphus-dev-ai please fix the flaky test".into(),
        association: "OWNER".into(),
    });
    let conclusion =
        lifecycle::run(&s.config, t.clone(), sanitize("rename this variable"), &Gha::new(false)).await.unwrap();
    assert_eq!(conclusion, Conclusion::Failure);
    assert_eq!(s.gh.reactions_on(&Subject::ReviewComment(284_312_630)), vec!["confused"]);
    assert!(s.gh.issue_labels(REPO, 2).is_empty());
    let ours = s.gh.our_comments();
    assert_eq!(ours.len(), 1);
    assert_eq!((ours[0].review, ours[0].in_reply_to), (true, Some(284_312_630)));
    // A re-run updates the threaded reply.
    lifecycle::run(&s.config, t, sanitize("rename this variable"), &Gha::new(false)).await.unwrap();
    assert_eq!(s.gh.our_comments().len(), 1);
    assert!(s.gh.violations().is_empty(), "{:?}", s.gh.violations());
}

#[tokio::test]
async fn a_dispatch_without_a_thread_writes_nothing_on_github() {
    let s = setup("exit 3");
    let mut t = trigger();
    t.number = None;
    t.subject = event::Subject::Dispatch { prompt: t.text().to_owned() };
    assert_eq!(
        lifecycle::run(&s.config, t, sanitize("audit the docs"), &Gha::new(false)).await.unwrap(),
        Conclusion::Failure
    );
    let writes: Vec<String> =
        s.gh.request_lines().into_iter().filter(|l| !l.starts_with("GET") && l != "POST /graphql").collect();
    assert!(writes.is_empty(), "{writes:?}");
    let summary = std::fs::read_to_string(s.dir.path().join("summary")).unwrap();
    assert!(summary.contains("`workflow_dispatch`"), "{summary}");
}
