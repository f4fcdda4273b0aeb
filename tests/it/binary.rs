//! The binary end to end, as the action runs it (env as GitHub sets it, `INPUT_*` inputs, a
//! payload file), against the fake GitHub, with `runtime: command` as the agent. Asserts the
//! end state on the fake: reactions, labels, replies; exit codes; outputs; no token anywhere.

use crate::support::actions::{Ran, Run};
use crate::support::fake_github;
use crate::support::fixtures::{self, hello_world};
use crate::support::git_repo::{git, git_cmd};

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_github::{FakeGithub, Fault, FaultKind};
use hello_world::{COMMENT, REPO};
use sisyphus_action::marker::MARKER;

const TOKEN: &str = "ghs_e2eSecretTokenValue987";
const KEY: &str = "sk-ant-e2eSecretModelKey42";
/// The run link's path: the link itself starts with the fake's server URL.
const RUN_URL: &str = "/Codertocat/Hello-World/actions/runs/4242";

struct Env {
    gh: FakeGithub,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let gh = FakeGithub::start();
        gh.expect_token(TOKEN);
        hello_world::seed_with_comment(&gh, "@sisyphus-dev-ai please fix the flaky test in `tests/net.rs`");
        let dir = tempfile::tempdir().unwrap();
        // A checkout as actions/checkout leaves it: `main` with one commit, `origin` a bare repo.
        git(dir.path(), &["init", "--bare", "-q", "origin.git"]);
        git(dir.path(), &["clone", "-q", "origin.git", "work"]);
        let work = dir.path().join("work");
        std::fs::write(work.join("README.md"), "Hello World\n").unwrap();
        git(&work, &["add", "README.md"]);
        git(&work, &["commit", "-q", "-m", "initial"]);
        git(&work, &["push", "-q", "origin", "HEAD:main"]);
        // The fake serves that repository over smart HTTP, where publishing fetches and pushes;
        // `origin` is its URL there, as actions/checkout sets it (the preflight checks it).
        gh.seed_git_repo(REPO, &dir.path().join("origin.git"));
        git(&work, &["remote", "set-url", "origin", &format!("{}/{REPO}", gh.server_url())]);
        Self { gh, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, agent: &str) -> Run {
        let payload = fixtures::json("lifecycle/issue_comment.created.json");
        let mut run = Run::new(self.dir.path());
        run.arg("run")
            .event("issue_comment", &payload)
            .workflow(REPO, &self.path("work"))
            .env_from(&self.gh)
            .env("GITHUB_TOKEN", TOKEN)
            .env("ANTHROPIC_API_KEY", KEY)
            .input("runtime", "command")
            .input("agent-command", agent)
            .input("timeout-minutes", "1");
        run
    }

    fn run(&self, agent: &str) -> Ran {
        self.command(agent).finish()
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    fn reactions(&self) -> Vec<String> {
        self.gh.reactions_on_comment(COMMENT)
    }

    /// 👍 or 😕 only, no label, at most one reply (with our marker), no OpenAPI violation.
    fn assert_finished(&self, verdict: &str, out: &Ran) {
        let log = out.logs();
        assert_eq!(self.reactions(), vec![verdict.to_owned()], "{:?}\n{log}", self.gh.request_lines());
        assert!(self.gh.issue_labels(REPO, 1).is_empty(), "label left behind\n{log}");
        let ours = self.gh.our_comments();
        assert!(ours.len() <= 1, "{ours:?}");
        assert!(ours.iter().all(|c| c.body.contains(MARKER)));
        assert!(self.gh.violations().is_empty(), "{:?}", self.gh.violations());
        self.assert_no_secret(out);
    }

    fn assert_no_secret(&self, out: &Ran) {
        let mut places = vec![("logs".to_owned(), out.logs()), ("summary".into(), self.file("step-summary"))];
        places.push(("outputs".into(), self.file("github-output")));
        places.extend(self.gh.comments().into_iter().map(|c| (format!("comment {}", c.id), c.body)));
        for (place, text) in places {
            for secret in [TOKEN, KEY] {
                assert!(!text.contains(secret), "{place} shows a secret:\n{text}");
            }
        }
    }
}

#[test]
fn success_leaves_only_thumbs_up_and_one_reply() {
    let env = Env::new();
    // The agent may print the model key it was given: the reply must not show it.
    let out = env.run("echo working; echo; echo \"Fixed it. gh=${GITHUB_TOKEN:-none} key=$ANTHROPIC_API_KEY\"");
    assert_eq!(out.code, 0, "{}", out.logs());
    env.assert_finished("+1", &out);
    // The whole conversation with GitHub, in order (no changes, so no branch and no PR).
    let comment = format!("/repos/{REPO}/issues/comments/{COMMENT}/reactions");
    let expected = [
        format!("POST {comment}"),
        format!("POST /repos/{REPO}/labels"),
        format!("POST /repos/{REPO}/issues/1/labels"),
        "POST /graphql".into(),
        format!("DELETE {comment}/ID"),
        format!("POST {comment}"),
        format!("GET {comment}"),
        format!("DELETE /repos/{REPO}/issues/1/labels/sisyphus%3A%20working"),
        format!("GET /repos/{REPO}/issues/1/comments"),
        format!("POST /repos/{REPO}/issues/1/comments"),
    ];
    let lines: Vec<String> =
        env.gh.request_lines().iter().map(|l| l.replace("/reactions/90001", "/reactions/ID")).collect();
    assert_eq!(lines, expected);
    let reply = &env.gh.our_comments()[0].body;
    assert!(reply.starts_with("Fixed it. gh=none key=***"), "{reply}");
    let outputs = env.file("github-output");
    assert!(outputs.contains("conclusion<<") && outputs.contains("\nsuccess\n"), "{outputs}");
    assert!(outputs.contains("comment-url<<"), "{outputs}");
    let summary = env.file("step-summary");
    assert!(summary.contains("| Outcome | success |") && summary.contains(RUN_URL), "{summary}");
}

#[test]
fn ack_reaches_github_before_the_context_query() {
    let env = Env::new();
    let out = env.run("echo done");
    let lines = env.gh.request_lines();
    let eyes = lines.iter().position(|l| l.ends_with(&format!("/issues/comments/{COMMENT}/reactions")));
    let context = lines.iter().position(|l| l == "POST /graphql");
    assert!(eyes.is_some() && context.is_some(), "{lines:?}\n{}", out.logs());
    assert!(eyes < context, "{lines:?}");
    assert_eq!(env.gh.requests()[eyes.unwrap()].body["content"], "eyes");
}

#[test]
fn failure_confused_reply_with_run_link_exit_1() {
    let env = Env::new();
    let out = env.run("echo half way; exit 3");
    assert_eq!(out.code, 1, "{}", out.logs());
    env.assert_finished("confused", &out);
    let reply = &env.gh.our_comments()[0].body;
    assert!(reply.contains(RUN_URL) && reply.contains("exited with status 3"), "{reply}");
    assert!(env.file("github-output").contains("\nfailure\n"));
}

#[test]
fn rerun_of_the_same_event_creates_no_duplicates() {
    let env = Env::new();
    let first = env.run("exit 3");
    assert_eq!(first.code, 1);
    let again = env.run("echo fixed now");
    assert_eq!(again.code, 0, "{}", again.logs());
    env.assert_finished("+1", &again);
    let ours = env.gh.our_comments();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].body.starts_with("fixed now"), "the earlier reply is updated: {}", ours[0].body);
}

#[test]
fn sigterm_mid_run_finalizes_and_exits_130() {
    let env = Env::new();
    let orphan = env.path("work/orphan");
    let agent = format!("(sleep 3; touch {}) & sleep 30", orphan.display());
    let child = env.command(&agent).spawn();
    // Wait until the agent runs: the ack and the label are on the fake by then.
    let started = Instant::now();
    while !env.gh.issue_labels(REPO, 1).iter().any(|l| l == "sisyphus: working") {
        assert!(started.elapsed() < Duration::from_secs(20), "never acknowledged");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let signalled = Instant::now();
    let out = child.wait();
    assert_eq!(out.code, 130, "{}", out.logs());
    assert!(signalled.elapsed() < Duration::from_secs(7), "finishing took {:?}", signalled.elapsed());
    env.assert_finished("confused", &out);
    assert!(out.logs().contains("SIGTERM"), "{}", out.logs());
    assert!(env.file("github-output").contains("\ncancelled\n"));
    std::thread::sleep(Duration::from_millis(3500));
    assert!(!orphan.exists(), "a process the agent started outlived the job");
}

#[test]
fn timeout_minutes_stops_the_agent() {
    let env = Env::new();
    let mut cmd = env.command("sleep 30");
    cmd.env("INPUT_TIMEOUT_MINUTES", "0.01");
    // Below the one-minute floor of `timeout-minutes`: allowed for the timeout tests only.
    cmd.env("SISYPHUS_SHORT_TIMEOUTS", "1");
    let out = cmd.limit(Duration::from_secs(30)).finish();
    assert_eq!(out.code, 130, "{}", out.logs());
    env.assert_finished("confused", &out);
    assert!(env.gh.our_comments()[0].body.contains("timeout"), "{}", env.gh.our_comments()[0].body);
}

/// Each fault, injected into each kind of call, ends in the same clean state.
#[test]
fn every_injected_fault_ends_clean() {
    let kinds = [
        FaultKind::Status(500),
        FaultKind::Status(502),
        FaultKind::TooManyRequests { retry_after: 1 },
        FaultKind::SecondaryRateLimit { retry_after: None },
        FaultKind::Reset,
        FaultKind::Slow(400),
    ];
    let calls = [
        ("POST", "/reactions"),
        ("POST", "/labels"),
        ("POST", "/graphql"),
        ("DELETE", "/reactions/"),
        ("POST", "/comments"),
        ("DELETE", "/labels/"),
    ];
    for (i, kind) in kinds.iter().enumerate() {
        // Rotate which call each fault hits, so every fault and every call is covered.
        for (method, path) in [calls[i % calls.len()], calls[(i + 3) % calls.len()]] {
            let env = Env::new();
            env.gh.fault(Fault::on(method, path).kind(kind.clone()));
            let out = env.run("echo done");
            let what = format!("{kind:?} on {method} {path}");
            assert_eq!(out.code, 0, "{what}\n{}", out.logs());
            env.assert_finished("+1", &out);
            assert_eq!(env.gh.our_comments().len(), 1, "{what}");
            if *kind != FaultKind::Slow(400) {
                let log = out.logs();
                assert!(log.contains("retry 1/4"), "{what}: no clear log line\n{log}");
            }
        }
    }
}

#[test]
fn workflow_commands_inside_actions_and_masks_first() {
    let env = Env::new();
    let mut cmd = env.command("echo '::set-output name=x::injected'; echo done");
    cmd.env("GITHUB_ACTIONS", "true");
    let out = cmd.finish();
    assert_eq!(out.code, 0, "{}", out.logs());
    let stdout = &out.stdout;
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("::add-mask::"), "{stdout}");
    for stage in ["acknowledge", "context", "agent", "finish"] {
        assert!(stdout.contains(&format!("::group::{stage}")), "{stage}: {stdout}");
    }
    assert_eq!(stdout.matches("::group::").count(), stdout.matches("::endgroup::").count(), "{stdout}");
    env.assert_finished("+1", &out);
}

#[test]
fn changes_are_published_and_reported() {
    let env = Env::new();
    let out = env.run("echo 'Hello, World' > README.md; echo Fixed the greeting.");
    assert_eq!(out.code, 0, "{}", out.logs());
    env.assert_finished("+1", &out);
    let pulls = env.gh.pulls();
    assert_eq!(pulls.len(), 1, "{:?}\n{}", env.gh.request_lines(), out.logs());
    let outputs = env.file("github-output");
    let pr_url = format!("https://github.com/{REPO}/pull/{}", pulls[0].number);
    assert!(outputs.contains("pr-url<<") && outputs.contains(&pr_url), "{outputs}");
    let branch = pulls[0].head.split_once(':').unwrap().1.to_owned();
    assert!(outputs.contains(&format!("\n{branch}\n")), "{outputs}");
    let reply = &env.gh.our_comments()[0].body;
    assert!(reply.starts_with("Fixed the greeting.") && reply.contains(&pr_url), "{reply}");
    let pushed = git_cmd(&env.path("origin.git"), &["show", &format!("{branch}:README.md")]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&pushed.stdout), "Hello, World\n");
}

#[test]
fn the_agent_cannot_read_our_environment() {
    // On a runner both we and the agent's tools run as the unprivileged `runner` user, and our
    // environment holds the token. Root reads every process anyway, so play the runner: run the
    // binary (and so its agent) as `nobody`.
    if !Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n")) {
        eprintln!("SKIPPED: needs root to switch to an unprivileged user");
        return;
    }
    let env = Env::new();
    let seen = env.path("seen");
    // `$PPID` of the agent's shell is our process.
    let agent = format!("{{ cat /proc/$PPID/environ; echo \"rc=$?\"; }} > {} 2>&1; echo done", seen.display());
    // Everything `nobody` needs is in the temp dir it owns: the clone may live where `nobody`
    // cannot read (a 0700 dir made by `mktemp -d`).
    let mut inner = env.command(&agent);
    inner.as_user(65534, &env.path("sisyphus-action"));
    let chowned = Command::new("chown").args(["-R", "65534:65534"]).arg(env.dir.path()).status().unwrap();
    assert!(chowned.success());
    let out = inner.finish();
    assert_eq!(out.code, 0, "{}", out.logs());
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(!seen.contains(TOKEN), "the agent read the token from our environment:\n{seen}");
    assert!(seen.contains("rc=1") && seen.contains("Permission denied"), "{seen}");
}

#[test]
fn checkout_credentials_are_hidden_from_the_agent_and_back_after() {
    let env = Env::new();
    // What actions/checkout v4/v5 persist: base64("x-access-token:" + TOKEN) in a header.
    let basic = "eC1hY2Nlc3MtdG9rZW46Z2hzX2UyZVNlY3JldFRva2VuVmFsdWU5ODc=";
    let header = format!("AUTHORIZATION: basic {basic}");
    let work = env.path("work");
    let config = |args: &[&str]| git_cmd(&work, &[&["config"], args].concat()).output().unwrap();
    assert!(config(&["--local", "http.https://github.com/.extraheader", &header]).status.success());

    // The last paragraph of the command's output is its final text, i.e. the reply.
    let out = env.run("echo working; echo; echo Seen:; git config --get-regexp extraheader; cat .git/config");
    assert_eq!(out.code, 0, "{}", out.logs());
    env.assert_finished("+1", &out);
    let reply = &env.gh.our_comments()[0].body;
    assert!(reply.contains("[remote \"origin\"]"), "the agent's output is in the reply: {reply}");
    assert!(!reply.contains(basic) && !out.logs().contains(basic), "{reply}");
    assert!(out.logs().contains("hid 1 persisted git credential entries"), "{}", out.logs());
    let after = config(&["--get-all", "http.https://github.com/.extraheader"]);
    assert_eq!(String::from_utf8_lossy(&after.stdout).trim(), header);
}
