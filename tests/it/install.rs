//! Installing OpenCode after the acknowledgement (`src/install.rs`).
//!
//! The binary runs as the action runs it, with no `opencode-path`, against the fake GitHub; the
//! `npm` on its `PATH` is a stand-in that first tells the fake GitHub it started (so the request
//! log orders it against the 👀), then lays out the platform package with the real pinned
//! OpenCode. The real npm is exercised on its own: it installs the real platform package from
//! npm's local cache (`npm_config_offline`, no network) into a fresh tool cache.

use crate::support::e2e;
use crate::support::opencode;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::*;
use opencode::{Slot, opencode_bin};
use sisyphus_action::install::{self, Decision, Platform, Target};

/// What the stand-in npm asks the fake GitHub first: the reactions on the mentioning comment.
fn started(api_url: &str) -> String {
    format!("{api_url}/repos/{REPO}/issues/comments/{COMMENT}/reactions")
}

/// A directory holding a stand-in `npm` that saves the reactions it sees when it starts (in
/// `npm-saw`), records each call in `npm-calls` and installs `opencode` as the platform
/// package's binary.
fn fake_npm(dir: &Path, api_url: &str, opencode: &Path) -> PathBuf {
    let bin = dir.join("fake-npm");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("npm-calls");
    let script = format!(
        r#"#!/bin/sh
curl -s -H "Authorization: Bearer {TOKEN}" "{started}" >> "{saw}" || true
echo "$*" >> "{calls}"
prefix=""; spec=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift ;;
    -*) ;;
    *) spec="$1" ;;
  esac
  shift
done
package="${{spec%@*}}"
mkdir -p "$prefix/node_modules/$package/bin"
ln -s "{opencode}" "$prefix/node_modules/$package/bin/opencode"
"#,
        calls = calls.display(),
        started = started(api_url),
        saw = dir.join("npm-saw").display(),
        opencode = opencode.display(),
    );
    let npm = bin.join("npm");
    std::fs::write(&npm, script).unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// The scenario's command without `opencode-path`, a private tool cache and the stand-in npm.
fn without_opencode_path(sc: &Scenario, payload: &serde_json::Value, npm_dir: &Path) -> Command {
    let mut cmd = sc.command("issue_comment", payload);
    cmd.env_remove("INPUT_OPENCODE_PATH");
    cmd.env("RUNNER_TOOL_CACHE", sc.path("tool-cache"));
    let path = format!("{}:{}", npm_dir.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path);
    cmd
}

fn npm_calls(sc: &Scenario) -> Vec<String> {
    sc.file("npm-calls").lines().map(str::to_owned).collect()
}

#[test]
fn opencode_is_installed_after_the_eyes_and_reused_on_the_next_run() {
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let sc = Scenario::new(bin.clone());
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai say hello", "Codertocat");
    let npm = fake_npm(sc.repos.root.path(), &sc.gh.api_url(), &bin);
    let payload = issue_comment("@sisyphus-dev-ai say hello", "Codertocat", "OWNER", false);

    let run = sc.run_command(without_opencode_path(&sc, &payload, &npm));
    assert_eq!(run.code(), Some(0), "{}", run.logs());
    // When npm started, the 👀 was already on the comment.
    let saw = sc.file("npm-saw");
    assert!(saw.contains("\"eyes\""), "the install started before the 👀: it saw {saw}\n{}", run.logs());
    let calls = npm_calls(&sc);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("--ignore-scripts") && calls[0].contains("@1.18.33"), "{}", calls[0]);
    assert!(!calls[0].contains("opencode-ai@"), "only the platform package: {}", calls[0]);
    assert_eq!(sc.replies().len(), 1, "{}", run.logs());

    // The next run finds the recorded install and runs no npm at all.
    let run = sc.run_command(without_opencode_path(&sc, &payload, &npm));
    assert_eq!(run.code(), Some(0), "{}", run.logs());
    assert_eq!(npm_calls(&sc).len(), 1, "the second run installed again:\n{}", run.logs());
    assert!(run.logs().contains("using OpenCode from the tool cache"), "{}", run.logs());
}

#[test]
fn a_skipped_event_installs_nothing() {
    // No OpenCode is ever started: any path does as the binary the stand-in would install.
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai fix it", "stranger");
    let npm = fake_npm(sc.repos.root.path(), &sc.gh.api_url(), Path::new("/bin/true"));
    let payload = issue_comment("@sisyphus-dev-ai fix it", "stranger", "NONE", false);
    let run = sc.run_command(without_opencode_path(&sc, &payload, &npm));
    assert_eq!(run.code(), Some(0), "{}", run.logs());
    assert!(sc.outputs().get("triggered").is_some_and(|t| t == "false"), "{}", run.logs());
    assert_eq!(npm_calls(&sc), Vec::<String>::new(), "a skipped event ran npm");
    assert!(!sc.path("tool-cache").exists(), "a skipped event wrote the tool cache");
    assert_eq!(sc.file("npm-saw"), "");
}

#[test]
fn an_install_failure_is_a_confused_reply_that_says_what_to_do() {
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai fix it", "Codertocat");
    let dir = sc.path("failing-npm");
    std::fs::create_dir_all(&dir).unwrap();
    let npm = dir.join("npm");
    std::fs::write(&npm, "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let payload = issue_comment("@sisyphus-dev-ai fix it", "Codertocat", "OWNER", false);
    let run = sc.run_command(without_opencode_path(&sc, &payload, &dir));
    assert_eq!(run.code(), Some(1), "{}", run.logs());
    assert!(sc.all_reactions().iter().any(|r| r.contains("confused")), "{:?}", sc.all_reactions());
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{}", run.logs());
    let body = &replies[0].body;
    assert!(body.contains("could not install OpenCode 1.18.33") && body.contains("E404"), "{body}");
    assert!(body.contains("opencode-path"), "the reply says what to do: {body}");
}

#[test]
fn real_npm_installs_the_platform_package_into_a_fresh_tool_cache() {
    if opencode_bin().is_none() {
        return;
    }
    if which::which("npm").is_err() {
        eprintln!("SKIPPED: no npm");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let platform = Platform::current();
    let target = Target::opencode(cache.path(), "1.18.33", &platform.package().unwrap());
    // What the binary gives npm: the allow-listed environment, here offline from npm's cache.
    let mut env: BTreeMap<OsString, OsString> = BTreeMap::new();
    for name in ["PATH", "HOME"] {
        env.insert(name.into(), std::env::var_os(name).unwrap_or_default());
    }
    env.insert("npm_config_offline".into(), "true".into());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let installed = match rt.block_on(install::install(&target, &env)) {
        Ok(path) => path,
        Err(e) if format!("{e:#}").contains("ENOTCACHED") && std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: {} is not in npm's cache ({e:#})", target.package);
            return;
        }
        Err(e) => panic!("{e:#}"),
    };
    assert_eq!(installed, target.binary());
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "1.18.33");
    // Recorded: the next run reuses it without npm, and no staging dir is left behind.
    let mut agent = sisyphus_action::config::Config::from_args(&Default::default()).unwrap().agent;
    agent.opencode_path = None;
    assert_eq!(install::decide(&agent, cache.path(), &platform).unwrap(), Decision::Reuse(installed));
    let left: Vec<_> =
        std::fs::read_dir(target.dir().parent().unwrap()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 2, "only the install and its record: {left:?}");
}
