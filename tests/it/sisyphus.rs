//! The Sisyphus preset (`agent-preset: sisyphus`) with the real pinned oh-my-opencode, the
//! real `opencode serve` and the fake model, run as the action runs it.
//!
//! The plugin (and OpenCode's plugin dependency) are installed by the binary's own installer
//! into a tool cache shared by the test runs (`SISYPHUS_TOOL_CACHE`, else `.tools/tool-cache`):
//! the first run needs the npm registry, later ones reuse it. Without it (and not in CI) the
//! tests skip.

use crate::support::e2e;
use crate::support::fake_llm;
use crate::support::git_repo;
use crate::support::opencode;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::*;
use fake_llm::Reply;
use opencode::{Slot, opencode_bin};
use serde_json::json;
use sisyphus_action::config::{DEFAULT_OMO_VERSION, DEFAULT_OPENCODE_VERSION};
use sisyphus_action::install;

const FIXED_README: &str = "# Hello-World\n\nCommit your work.\n";
const USERS_OMO: &str = "// the runner user's own config\n{\"telemetry\": true}\n";

/// The shared tool cache with the pinned plugin and OpenCode's plugin dependency in it.
fn tool_cache() -> Option<PathBuf> {
    let cache = std::env::var_os("SISYPHUS_TOOL_CACHE")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/tool-cache"), PathBuf::from);
    let env = sisyphus_action::isolation::env::agent_env(std::env::vars_os(), []);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let installed = rt.block_on(async {
        let omo = install::oh_my_opencode(&cache, DEFAULT_OMO_VERSION);
        install::npm_install(&omo, "oh-my-opencode", &env).await?;
        let sdk = install::plugin_sdk(&cache, DEFAULT_OPENCODE_VERSION);
        install::npm_install(&sdk, "@opencode-ai/plugin", &env).await
    });
    match installed {
        Ok(_) => Some(cache),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: cannot install oh-my-opencode: {e:#}");
            None
        }
        Err(e) => panic!("cannot install oh-my-opencode: {e:#}"),
    }
}

/// A scenario whose repository commits the plugin's project config, and whose runner user
/// (`HOME`) has an `omo.jsonc` of its own.
fn scenario(bin: PathBuf) -> Scenario {
    let sc = Scenario::new(bin);
    sc.repos.push_branch("main", "main", &[(".opencode/oh-my-opencode.json", "{\"agents\": {}}\n")]);
    git_repo::git(&sc.repos.work, &["pull", "--quiet", "origin", "main"]);
    git_repo::write(sc.repos.root.path(), ".omo/omo.jsonc", USERS_OMO);
    sc
}

fn sisyphus_command(sc: &Scenario, cache: &std::path::Path, body: &str) -> Command {
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, body, "Codertocat");
    let mut cmd = sc.command("issue_comment", &issue_comment(body, "Codertocat", "OWNER", false));
    cmd.env("INPUT_AGENT_PRESET", "sisyphus").env("RUNNER_TOOL_CACHE", cache).env("INPUT_TIMEOUT_MINUTES", "3");
    cmd
}

#[test]
fn a_sisyphus_fix_is_published_alone_and_the_users_config_is_put_back() {
    let Some(bin) = opencode_bin() else { return };
    let Some(cache) = tool_cache() else { return };
    let _slot = Slot::take();
    let sc = scenario(bin);
    // Through bash: the plugin refuses `write` over an existing file, and may reshape `edit`.
    let fix = format!("printf '{}' > README.md", FIXED_README.replace('\n', "\\n"));
    sc.llm.script_steps(
        "sisyfix",
        vec![
            Reply::Tools(vec![("bash", json!({"command": fix, "description": "Fix the README"}))]),
            Reply::Text("Fixed the spelling in README.md. FAKE-SISYPHUS-DONE".into()),
        ],
    );
    let run = sc.run_command(sisyphus_command(&sc, &cache, "@sisyphus-dev-ai SCENARIO=sisyfix fix the typo"));
    assert_eq!(run.code(), Some(0), "{}", run.logs());

    let pulls = sc.gh.pulls();
    assert_eq!(pulls.len(), 1, "{}", run.logs());
    let branch = pulls[0].head.split_once(':').map_or(pulls[0].head.clone(), |(_, b)| b.to_owned());
    let files = git_repo::git(&sc.repos.origin, &["diff", "--name-only", "main", &format!("refs/heads/{branch}")]);
    assert_eq!(files, "README.md", "only the fix is published\n{}", run.logs());
    assert_eq!(sc.repos.remote_file(&branch, "README.md").as_deref(), Some(FIXED_README));
    // Sisyphus ran.
    let system: String = sc.llm.requests().iter().map(|r| r.system.clone()).collect();
    assert!(system.contains("Sisyphus"), "not the Sisyphus agent");
    assert_eq!(sc.repos.remote_file(&branch, ".opencode/oh-my-opencode.json").as_deref(), Some("{\"agents\": {}}\n"));
    let omo = std::fs::read_to_string(sc.repos.root.path().join(".omo/omo.jsonc")).unwrap();
    assert_eq!(omo, USERS_OMO, "$HOME/.omo/omo.jsonc was not put back");
    assert!(sc.replies()[0].body.contains("FAKE-SISYPHUS-DONE"), "{}", sc.replies()[0].body);
}

#[test]
fn a_wrong_agent_name_fails_in_seconds_listing_the_agents() {
    let Some(bin) = opencode_bin() else { return };
    let Some(cache) = tool_cache() else { return };
    let _slot = Slot::take();
    let sc = scenario(bin);
    let mut cmd = sisyphus_command(&sc, &cache, "@sisyphus-dev-ai SCENARIO=sisyfix fix the typo");
    cmd.env("INPUT_AGENT", "sisyphus-ultra");
    let started = Instant::now();
    let run = sc.run_command(cmd);
    assert_eq!(run.code(), Some(1), "{}", run.logs());
    // The timeout is 3 min: failing well before it is the point (start-up is slow when loaded).
    assert!(started.elapsed() < Duration::from_secs(100), "took {:?}", started.elapsed());
    let body = &sc.replies()[0].body;
    assert!(body.contains("no agent `sisyphus-ultra`") && body.contains("Sisyphus - ultraworker"), "{body}");
    assert!(sc.llm.requests().iter().all(|r| !r.tools), "the model was asked to work");
}

/// Known gap: `GET /agent` shows our `prompt_append` in Sisyphus's prompt (checked by hand with
/// the same `omo.jsonc`), but the system prompt the model receives does not carry it — the
/// plugin rebuilds the prompt per request (`sisyphus-runtime-prompt-reconciler`). Run with
/// `--ignored` once that is understood.
#[test]
#[ignore = "the plugin's per-request prompt rebuild drops prompt_append (see the doc comment)"]
fn our_headless_rules_reach_the_models_system_prompt() {
    let Some(bin) = opencode_bin() else { return };
    let Some(cache) = tool_cache() else { return };
    let _slot = Slot::take();
    let sc = scenario(bin);
    let run = sc.run_command(sisyphus_command(&sc, &cache, "@sisyphus-dev-ai SCENARIO=hello say hello"));
    assert_eq!(run.code(), Some(0), "{}", run.logs());
    let system: String = sc.llm.requests().iter().map(|r| r.system.clone()).collect();
    assert!(system.contains("<github-actions-run>"), "our prompt_append did not reach the model");
}
