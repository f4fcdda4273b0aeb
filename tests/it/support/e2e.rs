//! The scenario world: one run of the binary exactly as the action runs it, around it
//! everything it talks to.
//!
//! Each `Scenario` owns a temp dir with a real git checkout (`git_repo::Repos`) cloned over HTTP
//! from the fake GitHub, which serves the bare repo with the real `git http-backend`
//! (`GITHUB_SERVER_URL` is the fake's URL, so every fetch and push goes over it), a stateful
//! fake GitHub seeded with the Hello-World issue (`fixtures::hello_world`) and a scripted fake
//! model on 127.0.0.1. `Scenario::command` is the run (`actions::Run`) with the environment
//! GitHub Actions sets (`GITHUB_*`, `RUNNER_TEMP`, `INPUT_*`) around a payload file. The agent is
//! the real `opencode serve` (`OPENCODE_BIN`), talking to the fake model through an
//! OpenAI-compatible provider (`openai-base-url`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::actions::parse_outputs;
pub use crate::support::actions::{Ran, Run};
use crate::support::fake_github::FakeGithub;
use crate::support::fake_llm::FakeLlm;
pub use crate::support::fixtures::hello_world::{
    COMMENT, ISSUE, ISSUE_TITLE, OWNER, PR_HEAD, PULL, REPO, REVIEW_COMMENT,
};
use crate::support::fixtures::{hello_world, trigger};
use crate::support::git_repo::{self, Repos};

pub const TOKEN: &str = "ghs_e2eScenarioToken0123456789";
pub const MODEL_KEY: &str = "sk-e2eScenarioModelKey987654321";
pub const RUN_ID: &str = "4242";
/// The run's path under `GITHUB_SERVER_URL`; the full link is `Scenario::run_url()`.
pub const RUN_URL: &str = "/Codertocat/Hello-World/actions/runs/4242";
pub const LABEL: &str = "sisyphus: working";
/// A bound on any one run of the binary (a cold OpenCode start on a loaded 2-core box included).
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

pub struct Scenario {
    pub repos: Repos,
    pub gh: FakeGithub,
    pub llm: FakeLlm,
    pub opencode: PathBuf,
}

impl Scenario {
    /// Issue #1 (the suite seeds the mentioning comment), a checkout of `main`; no PR yet.
    pub fn new(opencode: PathBuf) -> Self {
        let gh = FakeGithub::start();
        gh.expect_token(TOKEN);
        let repos = Repos::served("main", REPO, |bare| {
            gh.seed_git_repo(REPO, bare);
            format!("{}/{REPO}", gh.server_url())
        });
        std::fs::create_dir_all(repos.root.path().join("runner-temp")).unwrap();
        hello_world::seed(&gh);
        Self { repos, gh, llm: FakeLlm::start(), opencode }
    }

    /// Adds PR #2 from `feature` (same repository) with one commit, as GitHub and origin know it;
    /// the checkout stays on `main`, as `actions/checkout` leaves it for comment events.
    pub fn with_pull(self, fork: bool) -> Self {
        let sha = self.repos.push_branch(PR_HEAD, "main", &[("feature.txt", "feature work\n")]);
        let head_owner = if fork { "forker" } else { OWNER };
        self.gh.seed_pull(REPO, PULL, &format!("{head_owner}:{PR_HEAD}"), "main");
        self.gh.set_graphql(pull_graphql(PULL, &sha, fork));
        self
    }

    /// `GITHUB_SERVER_URL`: the fake GitHub, which also serves the repository over git's HTTP.
    pub fn server_url(&self) -> String {
        self.gh.server_url()
    }

    /// The link to this run, as the binary builds it from `GITHUB_SERVER_URL`.
    pub fn run_url(&self) -> String {
        format!("{}{RUN_URL}", self.server_url())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.repos.root.path().join(name)
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// The run as the action starts it: the payload, the environment GitHub Actions sets and
    /// the inputs pointing at the fake model and OpenCode.
    pub fn command(&self, event: &str, payload: &Value) -> Run {
        let mut run = self.base_command();
        run.arg("run")
            .env("GITHUB_ACTIONS", "true")
            .event(event, payload)
            .workflow(REPO, &self.repos.work)
            .env("GITHUB_RUN_ATTEMPT", "1")
            .input("github-token", TOKEN)
            .input("model", "openai-compatible/fake-model")
            .input("openai-base-url", &self.llm.base_url)
            .input("openai-api-key", MODEL_KEY)
            .input("opencode-path", &self.opencode)
            .input("timeout-minutes", "2");
        run
    }

    /// The run with only what any process needs and the fake GitHub; GitHub's variables are
    /// added by `command`, a local run adds its own.
    pub fn base_command(&self) -> Run {
        let mut run = Run::new(self.repos.root.path());
        run.env_from(&self.gh).env("GITHUB_TOKEN", TOKEN).limit(RUN_LIMIT);
        run
    }

    /// The usual trigger: `body` as comment #`COMMENT` on issue #1 by the repository's owner,
    /// seeded on the fake, and the run on its `issue_comment` event.
    pub fn mention(&self, body: &str) -> Run {
        self.gh.seed_comment(REPO, ISSUE, COMMENT, body, OWNER);
        self.command("issue_comment", &issue_comment(body, OWNER, "OWNER", false))
    }

    pub fn run(&self, event: &str, payload: &Value) -> Ran {
        self.command(event, payload).finish()
    }

    /// `$GITHUB_OUTPUT`, parsed (heredoc form; the last value of a name wins).
    pub fn outputs(&self) -> BTreeMap<String, String> {
        parse_outputs(&self.file("github-output"))
    }

    pub fn summary(&self) -> String {
        self.file("step-summary")
    }

    /// Every ref of the bare origin with its commit.
    pub fn refs(&self) -> BTreeMap<String, String> {
        self.repos
            .remote_refs()
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(r, sha)| (r.to_owned(), sha.to_owned()))
            .collect()
    }

    /// Commits on `branch` in origin that `base` does not have, newest first.
    pub fn commits_between(&self, base: &str, branch: &str) -> Vec<String> {
        let range = format!("{base}..refs/heads/{branch}");
        let out = git_repo::git(&self.repos.origin, &["rev-list", &range]);
        out.lines().map(str::to_owned).collect()
    }

    /// Processes whose environment or command line names this scenario's temp dir: the
    /// OpenCode server and anything it started. None may outlive a run.
    pub fn processes(&self) -> Vec<String> {
        processes_naming(self.repos.root.path())
    }

    /// Waits (bounded) until `pred` holds for the fake model's requests.
    pub fn wait_for_model(&self, limit: Duration, pred: impl Fn(&[crate::support::fake_llm::Request]) -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if pred(&self.llm.requests()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// What every run must leave: no OpenAPI violation, no secret anywhere a human or the
    /// agent could see it, no process left behind, the token nowhere in git.
    pub fn assert_hygiene(&self, run: &Ran) {
        assert!(self.gh.violations().is_empty(), "OpenAPI violations: {:?}", self.gh.violations());
        let mut places = vec![
            ("logs".to_owned(), run.logs()),
            ("summary".to_owned(), self.summary()),
            ("outputs".to_owned(), self.file("github-output")),
        ];
        places.extend(self.gh.comments().into_iter().map(|c| (format!("comment {}", c.id), c.body)));
        places.extend(
            self.gh.pulls().into_iter().map(|p| (format!("pull {}", p.number), format!("{}\n{}", p.title, p.body))),
        );
        for (place, text) in places {
            for secret in [TOKEN, MODEL_KEY] {
                assert!(!text.contains(secret), "{place} shows a secret:\n{text}");
            }
        }
        self.repos.assert_token_absent(TOKEN);
        // The agent-state exclusion is for the run: the checkout's own file is as it was.
        let exclude = std::fs::read_to_string(self.repos.work.join(".git/info/exclude")).unwrap_or_default();
        assert!(!exclude.contains("sisyphus-action"), "our info/exclude block was left behind:\n{exclude}");
        assert_eq!(self.processes(), Vec::<String>::new(), "processes outlived the run");
        // Our scratch dirs (`sisyphus-*`; OpenCode's state) go before we exit. (Bun's own
        // `.so` extracts in `$TMPDIR` are OpenCode's business.)
        let left: Vec<_> = std::fs::read_dir(self.path("runner-temp"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("sisyphus-"))
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "our scratch outlived the run: {left:?}");
    }

    /// Our replies (comments by the fake's login), in order.
    pub fn replies(&self) -> Vec<crate::support::fake_github::Comment> {
        self.gh.our_comments()
    }

    /// Every reaction on the fake, as `(subject, content)`, sorted.
    pub fn all_reactions(&self) -> Vec<String> {
        let mut all: Vec<String> =
            self.gh.reactions().iter().map(|r| format!("{:?} {}", r.subject, r.content)).collect();
        all.sort();
        all
    }
}

impl Drop for Scenario {
    /// A failed assertion must not leave an OpenCode server running for the rest of the suite:
    /// whatever still names this scenario's temp dir was started by it.
    fn drop(&mut self) {
        for line in self.processes() {
            if let Some(pid) = line.split(':').next().and_then(|p| p.parse::<i32>().ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

pub fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if String::from_utf8_lossy(&environ).contains(&needle)
            || String::from_utf8_lossy(&cmdline).contains(&needle)
            || cwd.starts_with(dir)
        {
            found.push(format!("{name}: {}", String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

// ----- payloads: real GitHub payloads (`fixtures::trigger`), pointed at this scenario -----

/// `issue_comment.created` on issue #1 (or PR #2 with `on_pull`), by `login` with `association`.
pub fn issue_comment(body: &str, login: &str, association: &str, on_pull: bool) -> Value {
    let payload = if on_pull {
        trigger::issue_comment(REPO, PULL).titled(&format!("PR {PULL}")).on_pull(REPO)
    } else {
        trigger::issue_comment(REPO, ISSUE).titled(ISSUE_TITLE)
    };
    payload.comment(COMMENT, body).by(login, association).json()
}

/// `pull_request_review_comment.created` on PR #2.
pub fn review_comment(body: &str) -> Value {
    trigger::review_comment(REPO, PULL, PR_HEAD).comment(REVIEW_COMMENT, body).json()
}

/// `pull_request_review.submitted` on PR #2 with `body`.
pub fn review(body: &str) -> Value {
    trigger::review(REPO, PULL, PR_HEAD).review_body(body).json()
}

/// `workflow_dispatch` with the `prompt` and `issue-number` inputs.
pub fn dispatch(prompt: &str, issue: Option<u64>) -> Value {
    let payload = trigger::dispatch(REPO, prompt);
    match issue {
        Some(n) => payload.input("issue-number", &n.to_string()).json(),
        None => payload.json(),
    }
}

/// The context query's answer for PR #2 (the fake's built-in answer has no PR fields).
pub fn pull_graphql(number: u64, head_sha: &str, fork: bool) -> Value {
    let head_repo = if fork { "forker/Hello-World".to_owned() } else { REPO.to_owned() };
    json!({"data": {"repository": {
        "nameWithOwner": REPO,
        "defaultBranchRef": {"name": "main"},
        "issueOrPullRequest": {
            "__typename": "PullRequest",
            "number": number,
            "title": format!("PR {number}"),
            "body": "Adds the feature.",
            "author": {"login": if fork { "forker" } else { OWNER }},
            "labels": {"nodes": []},
            "comments": {"nodes": []},
            "headRefName": PR_HEAD,
            "headRefOid": head_sha,
            "baseRefName": "main",
            "headRepository": {"nameWithOwner": head_repo},
            "isCrossRepository": fork,
            "maintainerCanModify": fork,
            "isDraft": false,
            "files": {"nodes": [{"path": "feature.txt", "additions": 1, "deletions": 0}]},
            "reviews": {"nodes": []}
        }
    }}})
}
