//! What the tests of the real agents share, whichever agent it is: the lookup of its pinned
//! binary, a fresh work tree with a scratch dir, the request to the runtime, the check that a
//! run left no process behind, and the typed-failure assertion.
//!
//! It knows no agent: `opencode.rs` and `codex.rs` name their binaries, and each runtime suite
//! builds its own `AgentConfig` and drives its own runtime.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sisyphus_action::config::AgentConfig;
use sisyphus_action::runtime::{AgentRequest, AgentStatus};

use super::git_repo::git;

/// The pinned binary: `$var` (set by `scripts/test`), else `program` on PATH. Required in CI
/// (`CI` set: a panic), a skip with a message by hand (`None`).
pub fn pinned_bin(var: &str, program: &str, what: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var).map(PathBuf::from).or_else(|| which::which(program).ok());
    match found {
        Some(bin) if bin.is_file() => Some(bin),
        _ if std::env::var_os("CI").is_some() => panic!("{var} is not set and `{program}` is not on PATH"),
        _ => {
            eprintln!("SKIPPED: no {what} (set {var} or run scripts/test)");
            None
        }
    }
}

/// A git repository with one commit (`README.md`) for the agent to work in, and a scratch dir
/// beside it, both in one temp dir.
pub struct Tree {
    pub dir: tempfile::TempDir,
    /// Canonical: the agents report paths under it as they resolve them.
    pub workdir: PathBuf,
    pub scratch: PathBuf,
}

impl Tree {
    pub fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let workdir = dir.path().join("repo");
        let scratch = dir.path().join("scratch");
        std::fs::create_dir_all(&workdir).unwrap();
        std::fs::create_dir_all(&scratch).unwrap();
        std::fs::write(workdir.join("README.md"), "# test repo\n").unwrap();
        git(&workdir, &["init", "-q"]);
        git(&workdir, &["add", "."]);
        git(&workdir, &["commit", "-qm", "init"]);
        let workdir = workdir.canonicalize().unwrap();
        Tree { dir, workdir, scratch }
    }

    /// The request for `scenario` (the fakes pick their script by the `SCENARIO=` in the prompt;
    /// the title names the test's logs and recorded fixtures).
    pub fn request(&self, scenario: &str, config: AgentConfig) -> AgentRequest {
        AgentRequest {
            prompt: format!("SCENARIO={scenario} do the thing"),
            workdir: self.workdir.clone(),
            title: format!("test {scenario}"),
            scratch: self.scratch.clone(),
            config,
            untrusted_tree: false,
            progress: None,
            gha: Default::default(),
        }
    }
}

/// The agent on an OpenAI-compatible fake at `base_url`, with a timeout far beyond any test's
/// own bound: a test that ends by its own event never meets it, even on a loaded 2-core machine
/// where OpenCode alone may take 25 s to start.
pub fn on_fake_openai(model: &str, base_url: &str, key: &str) -> AgentConfig {
    AgentConfig {
        model: model.into(),
        timeout: Duration::from_secs(300),
        openai_api_key: Some(key.into()),
        openai_base_url: Some(base_url.into()),
        ..AgentConfig::default()
    }
}

/// The processes whose environment names `scratch` (both runtimes put it there: OpenCode's
/// server through its home, the Codex CLI through `CODEX_HOME`), so they and every child they
/// spawned are found in `/proc` whatever their process group.
pub fn pids_of(scratch: &Path) -> Vec<i32> {
    let needle = scratch.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let env = std::fs::read(entry.path().join("environ")).ok()?;
            String::from_utf8_lossy(&env).contains(&needle).then_some(pid)
        })
        .collect()
}

/// A process for a failure message: its pid, `state/ppid/pgrp/sid` (whether it is dying, whose
/// child it is and whether it left the group it was started in) and its command line.
fn describe(pid: i32) -> String {
    let proc = Path::new("/proc").join(pid.to_string());
    let cmd = std::fs::read_to_string(proc.join("cmdline")).unwrap_or_default().replace('\0', " ");
    let stat = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().take(4).collect()).unwrap_or_default();
    format!("{pid} [state/ppid/pgrp/sid {}]: {cmd}", fields.join("/"))
}

/// A runtime's teardown returns only once its processes are gone: none may be left when it has.
/// Whether they would have gone by themselves a little later tells a slow death from a leak, so
/// the message says that too.
pub fn assert_none_left(scratch: &Path) {
    let left = pids_of(scratch);
    if left.is_empty() {
        return;
    }
    let left: Vec<String> = left.into_iter().map(describe).collect();
    let until = Instant::now() + Duration::from_secs(10);
    while !pids_of(scratch).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let later: Vec<String> = pids_of(scratch).into_iter().map(describe).collect();
    panic!("processes left behind: {left:?}; 10 s later: {later:?}");
}

/// The run failed with `kind`, and its message contains `needle` (`""`: any message).
#[track_caller]
pub fn assert_failed(status: &AgentStatus, kind: &str, needle: &str) {
    match status {
        AgentStatus::Failed { kind: got, message } => {
            assert_eq!(got, kind, "{message}");
            assert!(message.contains(needle), "{kind} without `{needle}`: {message}");
        }
        other => panic!("expected a {kind} failure, got {other:?}"),
    }
}
