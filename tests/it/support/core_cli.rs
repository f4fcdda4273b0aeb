//! Runs the real `sisyphus-action` binary with a clean environment and reads back what it
//! wrote: exit code, stdout, stderr and the `$GITHUB_OUTPUT` values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::git_repo::git;

/// Parses `tests/fixtures/events/<file>` as `event`; panics when it is skipped.
pub fn trigger(event: &str, file: &str) -> sisyphus_action::event::Trigger {
    let payload = std::fs::read_to_string(fixture(&format!("events/{file}"))).unwrap();
    sisyphus_action::event::parse(event, &payload).unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
}

impl Run {
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("<unset>", String::as_str)
    }

    /// Exactly one non-empty stderr line, and no panic.
    pub fn one_line_error(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        assert_eq!(lines.len(), 1, "expected one error line, got: {}", self.stderr);
        lines[0]
    }
}

/// `sisyphus-action <args>` with only PATH, HOME, a fresh `GITHUB_OUTPUT` and `env`.
/// Killed after 60 s so nothing can hang the suite.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sisyphus-action"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_WORKSPACE", dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sisyphus-action did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: parse_outputs(&text),
    }
}

/// Replays a payload from `tests/fixtures/events/` as `event`, in dry-run mode.
pub fn replay(event: &str, file: &str, env: &[(&str, &str)]) -> Run {
    let path = fixture(&format!("events/{file}"));
    let mut all = vec![("GITHUB_EVENT_NAME", event), ("GITHUB_EVENT_PATH", path.to_str().unwrap())];
    all.extend_from_slice(env);
    run(&["run", "--dry-run"], &all)
}

/// `name<<DELIM\nvalue\nDELIM\n` blocks, as `gha::set_output` writes them.
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(header) = lines.next() {
        let (name, delimiter) = header.split_once("<<").expect("a heredoc header");
        let mut value = Vec::new();
        for line in lines.by_ref() {
            if line == delimiter {
                break;
            }
            value.push(line);
        }
        outputs.insert(name.to_owned(), value.join("\n"));
    }
    outputs
}

/// What the preflight needs before a dry run may act: a work tree that is a git repository,
/// and a key for the default model's provider. The dir lives as long as the returned guard;
/// the path is its `GITHUB_WORKSPACE`.
pub fn ready() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    let path = dir.path().to_str().unwrap().to_owned();
    (dir, path)
}

/// `ready()`, with `origin` at `https://github.com/{repo}`: a clone of `repo` as far as the
/// preflight's remote check can tell (a local run and Actions check it).
pub fn ready_for(repo: &str) -> (tempfile::TempDir, String) {
    let (dir, path) = ready();
    let url = format!("https://github.com/{repo}");
    git(dir.path(), &["remote", "add", "origin", &url]);
    (dir, path)
}
