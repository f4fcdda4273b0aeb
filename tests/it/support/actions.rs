//! The one harness for the binary: runs `sisyphus-action` as the action (or a person) runs it
//! and reads back what it left: exit code, both streams and the `$GITHUB_OUTPUT` values.
//!
//! `Run::new(dir)` starts from a cleared environment (only `PATH`, `HOME` and a fresh
//! `$GITHUB_OUTPUT` in `dir`); the builder adds the event, the `INPUT_*` inputs, the fake
//! GitHub's URLs and whatever else a suite needs. Every wait is bounded. What the world around
//! the run is (a fake GitHub, a checkout, a model) is the suites' business, or `e2e::Scenario`'s.
//!
//! The binary is `$SISYPHUS_BIN` when set (`scripts/test` points it at a release build), else
//! the debug build cargo made for this test.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::fake_github::FakeGithub;

/// How long a run may take unless the suite says otherwise (`Run::limit`).
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn binary() -> PathBuf {
    std::env::var_os("SISYPHUS_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sisyphus-action")), PathBuf::from)
}

/// One run of the binary, being built. Methods take `&mut self`, as `std::process::Command`'s do,
/// so a suite can build a run in a helper and add to it at the call site.
pub struct Run {
    program: PathBuf,
    /// A program the binary runs under (`setpriv …`), when it runs as another user.
    wrapper: Vec<OsString>,
    args: Vec<OsString>,
    env: BTreeMap<OsString, OsString>,
    dir: PathBuf,
    cwd: PathBuf,
    limit: Duration,
}

impl Run {
    /// The binary in `dir` (its `HOME`, its working directory and where its payloads and
    /// `$GITHUB_OUTPUT` go), with nothing of the test's environment but `PATH`.
    pub fn new(dir: &Path) -> Self {
        let mut run = Self {
            program: binary(),
            wrapper: Vec::new(),
            args: Vec::new(),
            env: BTreeMap::new(),
            dir: dir.to_path_buf(),
            cwd: dir.to_path_buf(),
            limit: DEFAULT_LIMIT,
        };
        run.env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GITHUB_OUTPUT", dir.join("github-output"));
        run
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&mut self, args: I) -> &mut Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.env.insert(key.as_ref().to_owned(), value.as_ref().to_owned());
        self
    }

    pub fn envs<I: IntoIterator<Item = (K, V)>, K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, vars: I) -> &mut Self {
        for (key, value) in vars {
            self.env(key, value);
        }
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.env.remove(key.as_ref());
        self
    }

    /// An action input as the runner passes it: `INPUT_` and the name upper-cased, `-` as `_`.
    pub fn input(&mut self, name: &str, value: impl AsRef<OsStr>) -> &mut Self {
        self.env(format!("INPUT_{}", name.to_uppercase().replace('-', "_")), value)
    }

    /// The event the workflow was started by: `payload` is written to a new file in the run's dir.
    pub fn event(&mut self, name: &str, payload: &Value) -> &mut Self {
        static PAYLOADS: AtomicUsize = AtomicUsize::new(0);
        let path = self.dir.join(format!("event-{}.json", PAYLOADS.fetch_add(1, Ordering::SeqCst)));
        std::fs::write(&path, serde_json::to_vec_pretty(payload).unwrap()).unwrap();
        self.event_file(name, &path)
    }

    /// The event, with its payload already in a file.
    pub fn event_file(&mut self, name: &str, path: &Path) -> &mut Self {
        self.env("GITHUB_EVENT_NAME", name).env("GITHUB_EVENT_PATH", path)
    }

    /// GitHub is the fake: its server, REST and GraphQL URLs, and short retry waits.
    pub fn env_from(&mut self, gh: &FakeGithub) -> &mut Self {
        self.env("GITHUB_SERVER_URL", gh.server_url())
            .env("GITHUB_API_URL", gh.api_url())
            .env("GITHUB_GRAPHQL_URL", gh.graphql_url())
            .env("SISYPHUS_RETRY_BASE_MS", "10")
    }

    /// What a workflow job on `repo` sets around the step: the repository, run 4242, the
    /// checkout at `workspace` (also the working directory), a step summary and `RUNNER_TEMP`
    /// in the run's dir. No `GITHUB_RUN_ATTEMPT`: without it the binary treats the run as a
    /// possible re-run and looks for its earlier reply.
    pub fn workflow(&mut self, repo: &str, workspace: &Path) -> &mut Self {
        let temp = self.dir.join("runner-temp");
        std::fs::create_dir_all(&temp).unwrap();
        let owner = repo.split_once('/').map_or(repo, |(owner, _)| owner);
        let summary = self.dir.join("step-summary");
        self.env("GITHUB_REPOSITORY", repo)
            .env("GITHUB_REPOSITORY_OWNER", owner)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_STEP_SUMMARY", summary)
            .env("RUNNER_TEMP", temp)
            .cwd(workspace)
    }

    pub fn cwd(&mut self, dir: &Path) -> &mut Self {
        self.cwd = dir.to_path_buf();
        self
    }

    /// How long the run may take from its start before it is killed and the test fails.
    pub fn limit(&mut self, limit: Duration) -> &mut Self {
        self.limit = limit;
        self
    }

    /// Runs as the user and group `uid` (through `setpriv`), from a copy of the binary at `copy`
    /// (the user may not read the build's directory). Whatever else the user needs to read is
    /// the suite's to hand over.
    pub fn as_user(&mut self, uid: impl std::fmt::Display, copy: &Path) -> &mut Self {
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&self.program, copy).unwrap();
        self.program = copy.to_path_buf();
        let ids = [format!("--reuid={uid}"), format!("--regid={uid}")];
        self.wrapper = ["setpriv", &ids[0], &ids[1], "--clear-groups", "--"].iter().map(OsString::from).collect();
        self
    }

    /// The process as built, for a caller that must wait on it itself (a benchmark timing a
    /// blocking wait); its output is not read back.
    pub fn command(&self) -> Command {
        let mut cmd = match self.wrapper.split_first() {
            Some((wrapper, args)) => {
                let mut cmd = Command::new(wrapper);
                cmd.args(args).arg(&self.program);
                cmd
            }
            None => Command::new(&self.program),
        };
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts the run; `Running::wait` reads what it left.
    pub fn spawn(&mut self) -> Running {
        let child = self.command().spawn().expect("the binary starts");
        Running { child, output: self.dir.join("github-output"), started: Instant::now(), limit: self.limit }
    }

    /// Runs to the end (bounded).
    pub fn finish(&mut self) -> Ran {
        self.spawn().wait()
    }
}

/// A run under way.
pub struct Running {
    child: Child,
    output: PathBuf,
    started: Instant,
    limit: Duration,
}

impl Running {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit, bounded by the run's limit from its start.
    pub fn wait(self) -> Ran {
        let Self { child, output, started, limit } = self;
        let out = wait_bounded(child, limit.saturating_sub(started.elapsed()));
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: parse_outputs(&std::fs::read_to_string(output).unwrap_or_default()),
            elapsed: started.elapsed(),
        }
    }
}

/// What a finished run left.
pub struct Ran {
    /// The exit code; -1 when a signal ended the process.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// `$GITHUB_OUTPUT` after the run (the last value of a name wins).
    pub outputs: BTreeMap<String, String>,
    pub elapsed: Duration,
}

impl Ran {
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("<unset>", String::as_str)
    }

    /// stdout and stderr, without `::add-mask::` lines (the runner's way to hide a value shows it once).
    pub fn logs(&self) -> String {
        let all = format!("{}{}", self.stdout, self.stderr);
        all.lines().filter(|l| !l.starts_with("::add-mask::")).collect::<Vec<_>>().join("\n")
    }

    /// Exactly one non-empty stderr line, and no panic.
    pub fn one_line_error(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        assert_eq!(lines.len(), 1, "expected one error line, got: {}", self.stderr);
        lines[0]
    }
}

/// `sisyphus-action <args>` in a fresh temp dir (also its `GITHUB_WORKSPACE`) with only `env`:
/// the stage suites' one-liner.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    Run::new(dir.path()).args(args).env("GITHUB_WORKSPACE", dir.path()).envs(env.iter().copied()).finish()
}

/// Replays a payload from `tests/fixtures/events/` as `event`, in dry-run mode.
pub fn replay(event: &str, file: &str, env: &[(&str, &str)]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    Run::new(dir.path())
        .args(["run", "--dry-run"])
        .env("GITHUB_WORKSPACE", dir.path())
        .event_file(event, &super::fixtures::fixture(&format!("events/{file}")))
        .envs(env.iter().copied())
        .finish()
}

/// Waits for `child` to exit; kills it and fails the test, with what it printed, after `limit`.
fn wait_bounded(mut child: Child, limit: Duration) -> std::process::Output {
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

/// `name<<DELIM\nvalue\nDELIM\n` blocks, as `gha::set_output` writes them (other lines are skipped).
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
