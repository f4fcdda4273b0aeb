//! The scenario harness: one run of the binary exactly as the action runs it.
//!
//! Each `Scenario` owns a temp dir with a real git checkout (`git_repo::Repos`) cloned over HTTP
//! from the fake GitHub, which serves the bare repo with the real `git http-backend`
//! (`GITHUB_SERVER_URL` is the fake's URL, so every fetch and push goes over it), a stateful
//! fake GitHub and a scripted fake model on 127.0.0.1, and
//! builds the environment GitHub Actions sets (`GITHUB_*`, `RUNNER_TEMP`, `INPUT_*`) around a
//! payload file. The agent is the real `opencode serve` (`OPENCODE_BIN`), talking to the fake
//! model through an OpenAI-compatible provider (`openai-base-url`).
//!
//! The binary is `$SISYPHUS_BIN` when set (`scripts/test` points it at a release build), else
//! the debug build cargo made for this test. Every wait is bounded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fake_github::FakeGithub;
use crate::support::fake_llm::FakeLlm;
use crate::support::git_repo::{self, Repos};

pub const REPO: &str = "Codertocat/Hello-World";
pub const OWNER: &str = "Codertocat";
pub const TOKEN: &str = "ghs_e2eScenarioToken0123456789";
pub const MODEL_KEY: &str = "sk-e2eScenarioModelKey987654321";
pub const RUN_ID: &str = "4242";
/// The run's path under `GITHUB_SERVER_URL`; the full link is `Scenario::run_url()`.
pub const RUN_URL: &str = "/Codertocat/Hello-World/actions/runs/4242";
pub const LABEL: &str = "sisyphus: working";
/// The issue every scenario has, and the comment on it that mentions the bot.
pub const ISSUE: u64 = 1;
pub const ISSUE_TITLE: &str = "Spelling error in the README file";
pub const COMMENT: u64 = 492_700_400;
/// The pull request the PR scenarios use, its head branch, and its comments.
pub const PULL: u64 = 2;
pub const PR_HEAD: &str = "feature";
pub const REVIEW_COMMENT: u64 = 284_312_630;
/// A bound on any one run of the binary (a cold OpenCode start on a loaded 2-core box included).
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The binary under test.
pub fn binary() -> PathBuf {
    std::env::var_os("SISYPHUS_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sisyphus-action")), PathBuf::from)
}

pub struct Scenario {
    pub repos: Repos,
    pub gh: FakeGithub,
    pub llm: FakeLlm,
    pub opencode: PathBuf,
}

/// One finished run of the binary.
pub struct Run {
    pub out: Output,
    pub elapsed: Duration,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// stdout and stderr, without `::add-mask::` lines (the runner's way to hide a value shows it once).
    pub fn logs(&self) -> String {
        let all = format!("{}{}", String::from_utf8_lossy(&self.out.stdout), String::from_utf8_lossy(&self.out.stderr));
        all.lines().filter(|l| !l.starts_with("::add-mask::")).collect::<Vec<_>>().join("\n")
    }
}

impl Scenario {
    /// Issue #1 with the mentioning comment, a checkout of `main`; no PR yet.
    pub fn new(opencode: PathBuf) -> Self {
        let gh = FakeGithub::start();
        gh.expect_token(TOKEN);
        let repos = Repos::served("main", REPO, |bare| {
            gh.seed_git_repo(REPO, bare);
            format!("{}/{REPO}", gh.server_url())
        });
        std::fs::create_dir_all(repos.root.path().join("runner-temp")).unwrap();
        gh.seed_issue(REPO, ISSUE, ISSUE_TITLE, "It looks like you accidently spelled 'commit' with two 't's.", false);
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

    /// Writes the payload and returns the command, with the environment GitHub Actions sets.
    pub fn command(&self, event: &str, payload: &Value) -> Command {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let payload_path = self.path(&format!("event-{}.json", RUNS.fetch_add(1, Ordering::SeqCst)));
        std::fs::write(&payload_path, serde_json::to_vec_pretty(payload).unwrap()).unwrap();
        let mut cmd = self.base_command();
        cmd.arg("run")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", &payload_path)
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_REPOSITORY_OWNER", OWNER)
            .env("GITHUB_WORKSPACE", &self.repos.work)
            .env("GITHUB_RUN_ID", RUN_ID)
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("GITHUB_OUTPUT", self.path("github-output"))
            .env("GITHUB_STEP_SUMMARY", self.path("step-summary"))
            .env("RUNNER_TEMP", self.path("runner-temp"))
            .env("INPUT_GITHUB_TOKEN", TOKEN)
            .env("INPUT_MODEL", "openai-compatible/fake-model")
            .env("INPUT_OPENAI_BASE_URL", &self.llm.base_url)
            .env("INPUT_OPENAI_API_KEY", MODEL_KEY)
            .env("INPUT_OPENCODE_PATH", &self.opencode)
            .env("INPUT_TIMEOUT_MINUTES", "2")
            .current_dir(&self.repos.work);
        cmd
    }

    /// A cleared environment with only what any process needs; GitHub's variables are added by
    /// `command`, a local run adds its own.
    pub fn base_command(&self) -> Command {
        let mut cmd = Command::new(binary());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.repos.root.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GITHUB_SERVER_URL", self.server_url())
            .env("GITHUB_API_URL", self.gh.api_url())
            .env("GITHUB_GRAPHQL_URL", self.gh.graphql_url())
            .env("GITHUB_TOKEN", TOKEN)
            .env("SISYPHUS_RETRY_BASE_MS", "10")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub fn run(&self, event: &str, payload: &Value) -> Run {
        self.run_command(self.command(event, payload))
    }

    pub fn run_command(&self, mut cmd: Command) -> Run {
        let started = Instant::now();
        let out = wait_bounded(cmd.spawn().expect("the binary starts"), RUN_LIMIT);
        Run { out, elapsed: started.elapsed() }
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
    pub fn assert_hygiene(&self, run: &Run) {
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

pub fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "the binary did not finish within {limit:?}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("wait")
}

pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some((name, delimiter)) = line.split_once("<<") else { continue };
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delimiter {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_owned(), value.join("\n"));
    }
    out
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

// ----- payloads: real GitHub payloads (tests/fixtures/e2e/), pointed at this scenario -----

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e").join(name);
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["repository"]["full_name"] = json!(REPO);
    v["repository"]["name"] = json!("Hello-World");
    v["repository"]["owner"]["login"] = json!(OWNER);
    v["repository"]["default_branch"] = json!("main");
    v
}

/// `issue_comment.created` on issue #1 (or PR #2 with `on_pull`), by `login` with `association`.
pub fn issue_comment(body: &str, login: &str, association: &str, on_pull: bool) -> Value {
    let mut v = fixture("issue_comment.created.json");
    v["comment"]["id"] = json!(COMMENT);
    v["comment"]["body"] = json!(body);
    v["comment"]["user"]["login"] = json!(login);
    v["comment"]["user"]["type"] = json!(if login.ends_with("[bot]") { "Bot" } else { "User" });
    v["comment"]["author_association"] = json!(association);
    if on_pull {
        v["issue"]["number"] = json!(PULL);
        v["issue"]["title"] = json!(format!("PR {PULL}"));
        v["issue"]["pull_request"] = json!({"url": format!("https://api.github.com/repos/{REPO}/pulls/{PULL}")});
    } else {
        v["issue"]["number"] = json!(ISSUE);
        v["issue"]["title"] = json!(ISSUE_TITLE);
    }
    v
}

fn point_pull(v: &mut Value) {
    v["pull_request"]["number"] = json!(PULL);
    v["pull_request"]["head"]["ref"] = json!(PR_HEAD);
    v["pull_request"]["head"]["repo"]["full_name"] = json!(REPO);
    v["pull_request"]["base"]["ref"] = json!("main");
    v["pull_request"]["base"]["repo"]["full_name"] = json!(REPO);
}

/// `pull_request_review_comment.created` on PR #2.
pub fn review_comment(body: &str) -> Value {
    let mut v = fixture("pull_request_review_comment.created.json");
    point_pull(&mut v);
    v["comment"]["id"] = json!(REVIEW_COMMENT);
    v["comment"]["body"] = json!(body);
    v
}

/// `pull_request_review.submitted` on PR #2 with `body`.
pub fn review(body: &str) -> Value {
    let mut v = fixture("pull_request_review.submitted.json");
    point_pull(&mut v);
    v["review"]["body"] = json!(body);
    v
}

/// `workflow_dispatch` with the `prompt` and `issue-number` inputs.
pub fn dispatch(prompt: &str, issue: Option<u64>) -> Value {
    let mut v = fixture("workflow_dispatch.json");
    let mut inputs = json!({"prompt": prompt});
    if let Some(n) = issue {
        inputs["issue-number"] = json!(n.to_string());
    }
    v["inputs"] = inputs;
    v
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
