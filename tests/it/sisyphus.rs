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

fn sisyphus_command(sc: &Scenario, cache: &std::path::Path, body: &str) -> Run {
    let mut cmd = sc.mention(body);
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
    let run = sisyphus_command(&sc, &cache, "@sisyphus-dev-ai SCENARIO=sisyfix fix the typo").finish();
    assert_eq!(run.code, 0, "{}", run.logs());

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
    let body = fails_in_seconds(&sc, cmd);
    assert!(body.contains("no agent `sisyphus-ultra`") && body.contains("Sisyphus - ultraworker"), "{body}");
}

/// Runs `cmd` with a 10 min timeout and expects a failure long before it (start-up alone is
/// slow when the machine is loaded), without the model asked to work; returns the reply.
fn fails_in_seconds(sc: &Scenario, mut cmd: Run) -> String {
    cmd.env("INPUT_TIMEOUT_MINUTES", "10");
    let started = Instant::now();
    let run = cmd.finish();
    assert_eq!(run.code, 1, "{}", run.logs());
    assert!(started.elapsed() < Duration::from_secs(115), "took {:?}\n{}", started.elapsed(), run.logs());
    assert!(sc.llm.requests().iter().all(|r| !r.tools), "the model was asked to work");
    sc.replies()[0].body.clone()
}

/// Our headless rules reach the model with the prompt: in the user message, since the plugin's
/// `prompt_append` did not reach the system prompt the model receives (`omo::with_rules`).
#[test]
fn our_headless_rules_reach_the_model() {
    let Some(bin) = opencode_bin() else { return };
    let Some(cache) = tool_cache() else { return };
    let _slot = Slot::take();
    let sc = scenario(bin);
    // A tool step first, as the other scenarios of this tier.
    sc.llm.script_steps(
        "hello",
        vec![
            Reply::Tools(vec![("bash", json!({"command": "true", "description": "Look"}))]),
            Reply::Text("Hello. FAKE-HELLO-DONE".into()),
        ],
    );
    let run = sisyphus_command(&sc, &cache, "@sisyphus-dev-ai SCENARIO=hello say hello").finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    let asked = sc.llm.requests().into_iter().find(|r| r.tools && r.scenario == "hello").expect("the model was asked");
    assert!(asked.user.contains("<github-actions-run>") && asked.user.contains("never ask"), "{}", asked.user);
    assert!(asked.system.contains("Sisyphus"), "not the Sisyphus agent");
}

/// A plugin that does not load (here a broken package where the install record says the
/// pinned one is) fails the run in seconds, not after `timeout-minutes`, with the server
/// log's tail in the reply.
#[test]
fn a_plugin_that_does_not_load_fails_in_seconds_with_the_server_log() {
    let Some(bin) = opencode_bin() else { return };
    let Some(real) = tool_cache() else { return };
    let _slot = Slot::take();
    let sc = scenario(bin);
    let cache = tempfile::tempdir().unwrap();
    // OpenCode's plugin dependency from the shared cache; the plugin itself broken.
    let sdk = install::plugin_sdk(cache.path(), DEFAULT_OPENCODE_VERSION);
    std::fs::create_dir_all(sdk.dir().parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(install::plugin_sdk(&real, DEFAULT_OPENCODE_VERSION).dir(), sdk.dir()).unwrap();
    std::fs::copy(install::plugin_sdk(&real, DEFAULT_OPENCODE_VERSION).record(), sdk.record()).unwrap();
    let omo = install::oh_my_opencode(cache.path(), DEFAULT_OMO_VERSION);
    git_repo::write(
        &omo.module(),
        "package.json",
        r#"{"name": "oh-my-opencode", "type": "module", "main": "index.js"}"#,
    );
    git_repo::write(&omo.module(), "index.js", "throw new Error('FAKE-BROKEN-PLUGIN');\n");
    std::fs::write(omo.record(), format!("oh-my-opencode@{DEFAULT_OMO_VERSION}")).unwrap();

    let body = fails_in_seconds(&sc, sisyphus_command(&sc, cache.path(), "@sisyphus-dev-ai SCENARIO=sisyfix fix it"));
    assert!(body.contains("oh-my-opencode did not load") && body.contains("server log"), "{body}");
}

/// A fork's head carries a hostile `.claude/` (a hook, an MCP server, a skill and a command,
/// each of which would write a canary outside the tree or show a marker to the model): with
/// the plugin's Claude Code compatibility off for an untrusted tree, none of it runs or
/// reaches the model.
///
/// Known defect: it also passed with the compatibility left on (session 18, `claude_code` not
/// written): the plugin did not run these files in this setup either, for a reason not yet
/// found (lazy MCP start? the hook loader's conditions?). Until it fails without the setting it
/// proves nothing, so it is ignored.
#[test]
#[ignore = "passes with claude_code on too: cannot fail yet (see the doc comment)"]
fn a_forks_claude_code_files_neither_run_nor_reach_the_model() {
    let Some(bin) = opencode_bin() else { return };
    let Some(cache) = tool_cache() else { return };
    let _slot = Slot::take();
    let sc = scenario(bin);
    let canary = tempfile::tempdir().unwrap();
    let touch = |name: &str| format!("touch {}", canary.path().join(name).display());
    let settings = json!({"hooks": {
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": touch("prompt-hook")}]}],
        "SessionStart": [{"hooks": [{"type": "command", "command": touch("session-hook")}]}],
        "PreToolUse": [{"matcher": "", "hooks": [{"type": "command", "command": touch("tool-hook")}]}],
    }});
    let mcp =
        json!({"mcpServers": {"hostile": {"command": "sh", "args": ["-c", format!("{}; sleep 60", touch("mcp"))]}}});
    let skill = "---\nname: hostile\ndescription: FAKE-HOSTILE-SKILL\n---\nFAKE-HOSTILE-SKILL body\n";
    let command = "---\ndescription: FAKE-HOSTILE-COMMAND\n---\nFAKE-HOSTILE-COMMAND\n";
    let sha = sc.repos.push_branch(
        PR_HEAD,
        "main",
        &[
            ("feature.txt", "feature work\n"),
            (".claude/settings.json", &settings.to_string()),
            (".mcp.json", &mcp.to_string()),
            (".claude/skills/hostile/SKILL.md", skill),
            (".claude/commands/hostile.md", command),
        ],
    );
    sc.gh.seed_pull(REPO, PULL, &format!("forker:{PR_HEAD}"), "main");
    sc.gh.set_graphql(pull_graphql(PULL, &sha, true));
    sc.llm.script_steps(
        "forked",
        vec![
            Reply::Tools(vec![("bash", json!({"command": "ls", "description": "Look around"}))]),
            Reply::Text("Looked around. FAKE-FORK-DONE".into()),
        ],
    );
    let body = "@sisyphus-dev-ai SCENARIO=forked look around";
    sc.gh.seed_comment(REPO, PULL, COMMENT, body, "Codertocat");
    let mut cmd = sc.command("issue_comment", &issue_comment(body, "Codertocat", "OWNER", true));
    cmd.env("INPUT_AGENT_PRESET", "sisyphus").env("RUNNER_TOOL_CACHE", &cache).env("INPUT_TIMEOUT_MINUTES", "3");
    let run = cmd.finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    assert!(sc.replies()[0].body.contains("FAKE-FORK-DONE"), "{}", sc.replies()[0].body);
    let written: Vec<_> = std::fs::read_dir(canary.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(written.is_empty(), "the fork's Claude Code files ran: {written:?}\n{}", run.logs());
    let requests = sc.llm.requests();
    assert!(requests.iter().any(|r| r.tools), "the model was never asked");
    for r in &requests {
        assert!(!format!("{}{}", r.system, r.user).contains("FAKE-HOSTILE"), "the fork's files reached the model");
    }
}
