//! Installing OpenCode or the Codex CLI after the acknowledgement (`src/install.rs`).
//!
//! The binary runs as the action runs it, with no `opencode-path` (`codex-path`), against the
//! fake GitHub; the `npm` on its `PATH` is a stand-in that first tells the fake GitHub it
//! started (so the request log orders it against the 👀), then lays out the platform package
//! with the real pinned OpenCode (Codex). The real npm is exercised on its own: it installs the
//! real platform package from npm's local cache (`npm_config_offline`, no network) into a fresh
//! tool cache.

use crate::support::codex;
use crate::support::e2e;
use crate::support::fake_responses;
use crate::support::opencode;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::*;
use fake_responses::{FakeResponses, Reply};
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
    fake_npm_installing(dir, api_url, opencode, Path::new("bin/opencode"))
}

/// The stand-in npm, installing `binary` at `bin` in the package it is asked for.
fn fake_npm_installing(dir: &Path, api_url: &str, binary: &Path, bin: &Path) -> PathBuf {
    let npm_dir = dir.join("fake-npm");
    std::fs::create_dir_all(&npm_dir).unwrap();
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
mkdir -p "$(dirname "$prefix/node_modules/$package/{bin}")"
ln -s "{binary}" "$prefix/node_modules/$package/{bin}"
"#,
        calls = calls.display(),
        started = started(api_url),
        saw = dir.join("npm-saw").display(),
        binary = binary.display(),
        bin = bin.display(),
    );
    let npm = npm_dir.join("npm");
    std::fs::write(&npm, script).unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    npm_dir
}

/// The scenario's command without `opencode-path`, a private tool cache and the stand-in npm.
fn without_opencode_path(sc: &Scenario, payload: &serde_json::Value, npm_dir: &Path) -> Run {
    let mut cmd = sc.command("issue_comment", payload);
    cmd.env_remove("INPUT_OPENCODE_PATH");
    cmd.env("RUNNER_TOOL_CACHE", sc.path("tool-cache"));
    let path = format!("{}:{}", npm_dir.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path);
    cmd
}

/// The scenario's command for `runtime: codex` without `codex-path`, against `model`, with a
/// private tool cache and the stand-in npm.
fn codex_without_codex_path(sc: &Scenario, payload: &serde_json::Value, npm_dir: &Path, model: &str) -> Run {
    let mut cmd = without_opencode_path(sc, payload, npm_dir);
    cmd.env("INPUT_RUNTIME", "codex")
        .env_remove("INPUT_CODEX_PATH")
        .env("INPUT_MODEL", "openai/gpt-5.5")
        .env("INPUT_OPENAI_BASE_URL", model);
    cmd
}

/// The native binary inside the pinned CLI's platform package (what the install runs), else
/// the CLI as given.
fn native_codex(cli: &Path) -> PathBuf {
    let real = std::fs::canonicalize(cli).unwrap_or_else(|_| cli.to_owned());
    // …/node_modules/@openai/codex/bin/codex.js → …/node_modules/@openai/codex-<platform>/vendor/<triple>/bin/codex
    let scope = real.ancestors().nth(3).map(Path::to_owned);
    let found = scope.and_then(|scope| {
        std::fs::read_dir(&scope).ok()?.flatten().find_map(|pkg| {
            let vendor = pkg.path().join("vendor");
            std::fs::read_dir(vendor).ok()?.flatten().map(|t| t.path().join("bin/codex")).find(|b| b.is_file())
        })
    });
    found.unwrap_or(real)
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

    let run = without_opencode_path(&sc, &payload, &npm).finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    // When npm started, the 👀 was already on the comment.
    let saw = sc.file("npm-saw");
    assert!(saw.contains("\"eyes\""), "the install started before the 👀: it saw {saw}\n{}", run.logs());
    let calls = npm_calls(&sc);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("--ignore-scripts") && calls[0].contains("@1.18.33"), "{}", calls[0]);
    assert!(!calls[0].contains("opencode-ai@"), "only the platform package: {}", calls[0]);
    assert_eq!(sc.replies().len(), 1, "{}", run.logs());

    // The next run finds the recorded install and runs no npm at all.
    let run = without_opencode_path(&sc, &payload, &npm).finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    assert_eq!(npm_calls(&sc).len(), 1, "the second run installed again:\n{}", run.logs());
    assert!(run.logs().contains("using OpenCode from the tool cache"), "{}", run.logs());
}

#[test]
fn codex_is_installed_after_the_eyes_and_reused_on_the_next_run() {
    let Some(cli) = codex::codex_bin() else { return };
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    let model = FakeResponses::start();
    model.script("main", vec![Reply::Text("Nothing to change.\nFAKE-CODEX-INSTALLED".into())]);
    let body = "@sisyphus-dev-ai SCENARIO=main say hello";
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, body, "Codertocat");
    let platform = Platform::current();
    let target = Target::codex(&sc.path("tool-cache"), "0.169.0", &platform).unwrap();
    let npm = fake_npm_installing(sc.repos.root.path(), &sc.gh.api_url(), &native_codex(&cli), &target.bin);
    let payload = issue_comment(body, "Codertocat", "OWNER", false);

    let run = codex_without_codex_path(&sc, &payload, &npm, &model.base_url).finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    let saw = sc.file("npm-saw");
    assert!(saw.contains("\"eyes\""), "the install started before the 👀: it saw {saw}\n{}", run.logs());
    let calls = npm_calls(&sc);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (suffix, _) = platform.codex().unwrap();
    let spec = format!("@openai/codex@0.169.0-{suffix}");
    assert!(
        calls[0].contains("--ignore-scripts") && calls[0].ends_with(&spec),
        "only this platform's package: {}",
        calls[0]
    );
    assert!(target.binary().exists(), "installed into the tool cache: {}", run.logs());
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{}", run.logs());
    assert!(replies[0].body.contains("FAKE-CODEX-INSTALLED"), "the installed Codex ran: {}", replies[0].body);

    let run = codex_without_codex_path(&sc, &payload, &npm, &model.base_url).finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    assert_eq!(npm_calls(&sc).len(), 1, "the second run installed again:\n{}", run.logs());
    assert!(run.logs().contains("using Codex from the tool cache"), "{}", run.logs());
}

/// A mention of `runtime` by `author` (`association`) against the stand-in npm, with `env`
/// added; the scenario and the run, after checking that nothing was installed.
fn installs_nothing(runtime: &str, (author, association): (&str, &str), env: &[(&str, &str)]) -> (Scenario, Ran) {
    // No agent is ever started: any path does as the binary the stand-in would install.
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai fix it", author);
    let npm = fake_npm(sc.repos.root.path(), &sc.gh.api_url(), Path::new("/bin/true"));
    let payload = issue_comment("@sisyphus-dev-ai fix it", author, association, false);
    let mut cmd = without_opencode_path(&sc, &payload, &npm);
    cmd.env("INPUT_RUNTIME", runtime).env_remove("INPUT_CODEX_PATH").envs(env.iter().copied());
    if runtime == "codex" {
        cmd.env("INPUT_MODEL", "openai/gpt-5.5");
    }
    let run = cmd.finish();
    assert_eq!(run.code, 0, "{runtime}: {}", run.logs());
    assert_eq!(npm_calls(&sc), Vec::<String>::new(), "npm ran for {runtime}");
    assert!(!sc.path("tool-cache").exists(), "the tool cache was written for {runtime}");
    assert_eq!(sc.file("npm-saw"), "");
    (sc, run)
}

#[test]
fn a_skipped_event_installs_nothing() {
    for runtime in ["opencode", "codex"] {
        let (sc, run) = installs_nothing(runtime, ("stranger", "NONE"), &[]);
        assert!(sc.outputs().get("triggered").is_some_and(|t| t == "false"), "{runtime}: {}", run.logs());
    }
}

#[test]
fn a_dry_run_installs_nothing() {
    for runtime in ["opencode", "codex"] {
        let (_sc, run) = installs_nothing(runtime, ("Codertocat", "OWNER"), &[("INPUT_DRY_RUN", "true")]);
        assert!(run.logs().contains("fix it"), "the dry run rendered the prompt: {}", run.logs());
    }
}

/// A run against an `npm` that fails with E404: its exit code and its one reply.
fn run_with_failing_npm(runtime: &str) -> (i32, Vec<String>, String) {
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai fix it", "Codertocat");
    let dir = sc.path("failing-npm");
    std::fs::create_dir_all(&dir).unwrap();
    let npm = dir.join("npm");
    std::fs::write(&npm, "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let payload = issue_comment("@sisyphus-dev-ai fix it", "Codertocat", "OWNER", false);
    let mut cmd = without_opencode_path(&sc, &payload, &dir);
    cmd.env("INPUT_RUNTIME", runtime).env_remove("INPUT_CODEX_PATH");
    if runtime == "codex" {
        cmd.env("INPUT_MODEL", "openai/gpt-5.5");
    }
    let run = cmd.finish();
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{}", run.logs());
    (run.code, sc.all_reactions(), replies[0].body.clone())
}

#[test]
fn an_install_failure_is_a_confused_reply_that_says_what_to_do() {
    for (runtime, what, input) in [
        ("opencode", "could not install OpenCode 1.18.33", "opencode-path"),
        ("codex", "could not install Codex 0.169.0", "codex-path"),
    ] {
        let (code, reactions, body) = run_with_failing_npm(runtime);
        assert_eq!(code, 1, "{runtime}: {body}");
        assert!(reactions.iter().any(|r| r.contains("confused")), "{runtime}: {reactions:?}");
        assert!(body.contains(what) && body.contains("E404"), "{body}");
        assert!(body.contains(input), "the reply says what to do: {body}");
    }
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
    let Some(installed) = real_npm_install(&target) else { return };
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

/// Installs `target` with the real npm, offline from npm's cache, given the environment the
/// binary gives npm (allow-listed); `None` (a skip, by hand only) when npm's cache lacks it.
fn real_npm_install(target: &Target) -> Option<PathBuf> {
    let mut env: BTreeMap<OsString, OsString> = BTreeMap::new();
    for name in ["PATH", "HOME"] {
        env.insert(name.into(), std::env::var_os(name).unwrap_or_default());
    }
    env.insert("npm_config_offline".into(), "true".into());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    match rt.block_on(install::install(target, &env)) {
        Ok(path) => Some(path),
        Err(e) if format!("{e:#}").contains("ENOTCACHED") && std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: {} is not in npm's cache ({e:#})", target.spec());
            None
        }
        Err(e) => panic!("{e:#}"),
    }
}

#[test]
fn real_npm_installs_codexs_platform_package_whose_binary_runs_without_node() {
    if codex::codex_bin().is_none() {
        return;
    }
    if which::which("npm").is_err() {
        eprintln!("SKIPPED: no npm");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let target = Target::codex(cache.path(), "0.169.0", &Platform::current()).unwrap();
    let Some(installed) = real_npm_install(&target) else { return };
    assert_eq!(installed, target.binary());
    // Only the platform package: no Node wrapper beside it.
    let modules: Vec<_> = std::fs::read_dir(target.dir().join("node_modules/@openai"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(modules, ["codex"], "{modules:?}");
    assert!(!target.module().join("bin/codex.js").exists(), "the Node wrapper was installed");
    let version = Command::new(&installed).arg("--version").env_clear().output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "codex-cli 0.169.0");
}
