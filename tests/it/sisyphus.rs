//! The Sisyphus preset (`agent-preset: sisyphus`) with the real pinned oh-my-opencode, the
//! real `opencode serve` and the fake model, run as the action runs it.
//!
//! The plugin (and OpenCode's plugin dependency) are installed by the binary's own installer
//! into a tool cache shared by the test runs (`SISYPHUS_TOOL_CACHE`, else `.tools/tool-cache`):
//! the first run needs the npm registry, later ones reuse it. Without it (and not in CI) the
//! tests skip.

use crate::support::agent;
use crate::support::e2e;
use crate::support::fake_llm;
use crate::support::git_repo;
use crate::support::opencode;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use e2e::*;
use fake_llm::Reply;
use opencode::{Slot, opencode_bin};
use serde_json::{Value, json};
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

/// A fork's head carries a hostile `.claude/` (hooks on the prompt, the session's start and
/// every tool call, an MCP server, a skill and a command, each of which writes a canary outside
/// the tree or shows a marker to the model): with the plugin's Claude Code compatibility off for
/// an untrusted tree (`omo::build`), none of it runs or reaches the model.
///
/// The fork's branch is checked out (`allow-fork-push`, and the fake serves the fork): without
/// it the agent works on our `main`, where there is nothing to load, and the test proved nothing
/// (it passed with the compatibility on, session 18). The model's tool step records that the
/// tree is the fork's (4.19.4 reads `process.cwd()/.claude/settings.json` in
/// `loadClaudeHooksConfig`, and `.mcp.json` when `claude_code.mcp` is on).
///
/// Before session 19 the fork's `PreToolUse` and `UserPromptSubmit` hooks and its `.mcp.json`
/// server ran here despite `claude_code` off: the plugin ignored our whole config file for keys
/// its layer schema does not know (`omo::build` says where they go now); and OpenCode itself
/// showed the fork's skill to the model until `OPENCODE_DISABLE_CLAUDE_CODE` was set.
#[test]
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
    // The fork: the same repository served under the fork's name.
    sc.gh.seed_git_repo("forker/Hello-World", &sc.repos.origin);
    sc.gh.seed_pull(REPO, PULL, &format!("forker:{PR_HEAD}"), "main");
    sc.gh.set_graphql(pull_graphql(PULL, &sha, true));
    // In the tree's `.omo/` (never published): the agent may not write outside the tree.
    let look = "test -f .claude/settings.json && mkdir -p .omo && touch .omo/fork-tree";
    sc.llm.script_steps(
        "forked",
        vec![
            Reply::Tools(vec![("bash", json!({"command": look, "description": "Look around"}))]),
            Reply::Text("Looked around. FAKE-FORK-DONE".into()),
        ],
    );
    let body = "@sisyphus-dev-ai SCENARIO=forked look around";
    sc.gh.seed_comment(REPO, PULL, COMMENT, body, "Codertocat");
    let mut cmd = sc.command("issue_comment", &issue_comment(body, "Codertocat", "OWNER", true));
    cmd.env("INPUT_AGENT_PRESET", "sisyphus").env("RUNNER_TOOL_CACHE", &cache).env("INPUT_TIMEOUT_MINUTES", "3");
    cmd.env("INPUT_ALLOW_FORK_PUSH", "true");
    let run = cmd.finish();
    assert_eq!(run.code, 0, "{}", run.logs());
    assert!(sc.replies()[0].body.contains("FAKE-FORK-DONE"), "{}", sc.replies()[0].body);
    let proof = sc.repos.work.join(".omo/fork-tree");
    assert!(proof.exists(), "the agent did not work on the fork's tree\n{}", run.logs());
    let ran: Vec<_> = std::fs::read_dir(canary.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    let log = plugin_log(&sc.path("runner-temp"));
    let log: Vec<&str> = log.lines().filter(|l| l.contains("claude") || l.contains("hook")).collect();
    assert!(ran.is_empty(), "the fork's Claude Code files ran: {ran:?}\n{}\n{}", log.join("\n"), run.logs());
    let requests = sc.llm.requests();
    assert!(requests.iter().any(|r| r.tools), "the model was never asked");
    for r in &requests {
        assert!(!format!("{}{}", r.system, r.user).contains("FAKE-HOSTILE"), "the fork's files reached the model");
    }
}

/// oh-my-opencode's own log of the run (`oh-my-opencode.log` in its private `TMPDIR`).
fn plugin_log(dir: &std::path::Path) -> String {
    let Ok(entries) = std::fs::read_dir(dir) else { return String::new() };
    entries
        .flatten()
        .map(|e| e.path())
        .map(|p| {
            if p.is_dir() {
                plugin_log(&p)
            } else if p.file_name().is_some_and(|n| n == "oh-my-opencode.log") {
                std::fs::read_to_string(&p).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .collect()
}

/// Records what the real plugin, the real `opencode serve` and the fake model do in one
/// Sisyphus turn into `tests/fixtures/opencode/<name>.jsonl`, for `runtime_replay.rs`: each
/// line is `{"t": s, "event": <the raw event>}` or `{"t": s, "marker": <the plugin's marker
/// file, parsed> | null}` (the file as read every 50 ms, a line per change), `t` in seconds
/// since the event stream connected. The server is set up as the action sets it up (our
/// OpenCode and plugin configs, the plugin by path, the seeded config dir), without GitHub.
/// Spinner toasts (`tui.toast.show`, every ~150 ms) are left out: they are noise to the
/// machine. Ends 10 s after the last event that is neither a heartbeat nor a toast, once the
/// root was idle at least once (at most 200 s).
fn record_stream(name: &str, scripts: Vec<(&str, Vec<Reply>)>, prompt: &str) {
    use sisyphus_action::config::{AgentConfig, Preset};
    use sisyphus_action::runtime::opencode::{agents, api::Api, config, events, omo, server::Server, sse::Parser};
    use std::io::Read as _;
    use std::sync::{Arc, Mutex};

    let bin = opencode_bin().expect("OPENCODE_BIN");
    let cache = tool_cache().expect("the plugin installed");
    let _slot = Slot::take();
    let llm = fake_llm::FakeLlm::start();
    for (scenario, steps) in scripts {
        llm.script_steps(scenario, steps);
    }
    let work = tempfile::tempdir().unwrap();
    git_repo::git(work.path(), &["init", "--quiet"]);
    git_repo::write(work.path(), "README.md", FIXED_README);
    let (scratch, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let omo_target = install::oh_my_opencode(&cache, DEFAULT_OMO_VERSION);
    let sdk = install::plugin_sdk(&cache, DEFAULT_OPENCODE_VERSION);
    let installed = install::Installed {
        opencode: Some(bin.clone()),
        codex: None,
        omo: Some(omo_target.module()),
        config_seed: Some((sdk.dir(), DEFAULT_OPENCODE_VERSION.into())),
    };
    let agent = AgentConfig {
        preset: Some(Preset::Sisyphus),
        opencode_path: Some(bin.clone()),
        timeout: Duration::from_secs(180),
        ..agent::on_fake_openai("openai-compatible/fake-model", &llm.base_url, "fake-key")
    };
    let agent = installed.apply(&agent);
    let oc_config = config::build(&agent, work.path()).unwrap();
    for (_, dir) in config::xdg_dirs(scratch.path()) {
        std::fs::create_dir_all(dir).unwrap();
    }
    installed.seed(&sisyphus_action::runtime::seed_dir(scratch.path())).unwrap();
    let _omo = omo::write(home.path(), &omo::build(&agent, false, work.path()).unwrap()).unwrap();
    let password = "recorder-password";
    let parent = std::env::vars_os().filter(|(k, _)| k != "HOME").chain([("HOME".into(), home.path().into())]);
    let mut env = config::server_env(parent, &oc_config.to_string(), password, scratch.path(), false);
    for (var, dir) in [("CLAUDE_CONFIG_DIR", "claude"), ("TMPDIR", "tmp")] {
        let dir = scratch.path().join("opencode").join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        env.insert(var.into(), dir.into());
    }
    let (notes, _notes_rx) = std::sync::mpsc::channel();
    let log = scratch.path().join("server.log");
    let mut server = Server::start(&bin, work.path(), &env, log.clone(), Duration::from_secs(120), notes).unwrap();

    // The raw stream, timestamped as it arrives.
    let lines: Arc<Mutex<Vec<(f64, Value)>>> = Arc::default();
    let last_news = Arc::new(Mutex::new(Instant::now()));
    let auth = {
        use base64::Engine as _;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("opencode:{password}")))
    };
    let response = ureq::get(format!("{}/event", server.url))
        .header("Authorization", &auth)
        .config()
        .timeout_global(None)
        .build()
        .call()
        .unwrap();
    let start = Instant::now();
    let mut body = response.into_body().into_reader();
    {
        let (lines, last_news) = (lines.clone(), last_news.clone());
        std::thread::spawn(move || {
            let mut parser = Parser::new();
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = body.read(&mut buf) {
                let t = start.elapsed().as_secs_f64();
                for frame in parser.feed(&buf[..n]) {
                    let Ok(event) = serde_json::from_str::<Value>(&frame.data) else { continue };
                    let kind = event["type"].as_str().unwrap_or_default().to_owned();
                    if kind == "tui.toast.show" {
                        continue;
                    }
                    if kind != "server.heartbeat" {
                        *last_news.lock().unwrap() = Instant::now();
                    }
                    lines.lock().unwrap().push((t, json!({"t": t, "event": event})));
                }
            }
        });
    }
    let api = Api::new(&server.url, "opencode", password);
    let list = agents::parse(&api.agents().unwrap());
    let sisyphus = agents::resolve("sisyphus", &list).unwrap().name.clone();
    let session = api.create_session(&format!("record {name}")).unwrap();
    let marker = events::marker_path(work.path(), &session);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (lines, done) = (lines.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last: Option<Value> = None;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let now: Value = std::fs::read_to_string(&marker)
                    .ok()
                    .and_then(|m| serde_json::from_str(&m).ok())
                    .unwrap_or(Value::Null);
                if last.as_ref() != Some(&now) {
                    let t = start.elapsed().as_secs_f64();
                    lines.lock().unwrap().push((t, json!({"t": t, "marker": now.clone()})));
                    last = Some(now);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let text = omo::with_rules(prompt);
    let body = json!({
        "parts": [{"type": "text", "text": text}],
        "model": {"providerID": "openai-compatible", "modelID": "fake-model"},
        "agent": sisyphus,
    });
    api.prompt(&session, &body).unwrap();
    let root_idle = |lines: &[(f64, Value)]| {
        lines.iter().any(|(_, l)| {
            l["event"]["type"] == "session.idle" && l["event"]["properties"]["sessionID"] == session.as_str()
        })
    };
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let quiet = last_news.lock().unwrap().elapsed() > Duration::from_secs(10);
        if (quiet && root_idle(&lines.lock().unwrap())) || start.elapsed() > Duration::from_secs(200) {
            break;
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    poller.join().unwrap();
    server.stop(Duration::from_secs(5));
    let mut lines = std::mem::take(&mut *lines.lock().unwrap());
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let out: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/opencode/{name}.jsonl"));
    std::fs::write(&path, out).unwrap();
    let asked: Vec<(String, usize)> =
        llm.requests().iter().filter(|r| r.tools).map(|r| (r.scenario.clone(), r.step)).collect();
    eprintln!(
        "recorded {} lines into {}; the model was asked {asked:?}; server log {}",
        lines.len(),
        path.display(),
        log.display()
    );
    std::mem::forget(scratch); // kept for a look at the server and plugin logs
}

/// Re-records `omo-background-wake.jsonl`: Sisyphus starts an `explore` task in the
/// background, ends its turn, and the task's result wakes the root after its idle.
#[test]
#[ignore = "a recorder: run it by hand to redo the fixture"]
fn record_background_wake() {
    let explore = json!({
        "subagent_type": "explore", "run_in_background": true, "load_skills": [],
        "description": "Explore the README", "prompt": "SCENARIO=bgchild Read the README and report back.",
    });
    record_stream(
        "omo-background-wake",
        vec![
            (
                "bg",
                vec![
                    Reply::Tools(vec![("task", explore)]),
                    Reply::Text("The explorer is running in the background; I will wait for it.".into()),
                    Reply::Text("The explorer reported back. FAKE-BG-FINAL".into()),
                ],
            ),
            // Slow enough that its result comes after the root's idle.
            ("bgchild", vec![Reply::Slow(6), Reply::Text("Explored. FAKE-BGCHILD-DONE".into())]),
        ],
        "SCENARIO=bg explore the repository in the background and report",
    );
}

/// Re-records `omo-todo-continuation.jsonl`: Sisyphus plans two todos, ends its turn with them
/// pending, the plugin prompts it again, and it finishes them.
#[test]
#[ignore = "a recorder: run it by hand to redo the fixture"]
fn record_todo_continuation() {
    let todos = |a: &str, b: &str| {
        json!({"todos": [
            {"content": "Read the README", "status": a, "priority": "high"},
            {"content": "Summarise it", "status": b, "priority": "medium"},
        ]})
    };
    record_stream(
        "omo-todo-continuation",
        vec![(
            "todo",
            vec![
                Reply::Tools(vec![("todowrite", todos("in_progress", "pending"))]),
                Reply::Text("I planned the work and stop here for now.".into()),
                Reply::Tools(vec![("todowrite", todos("completed", "completed"))]),
                Reply::Text("Read and summarised the README. FAKE-TODO-FINAL".into()),
            ],
        )],
        "SCENARIO=todo read the README and summarise it",
    );
}
