//! action.yml is the action's interface: it must offer every input the binary reads (src/cli.rs),
//! hand each one to the binary as `INPUT_*`, default to what the binary would default to, and
//! be described truthfully in README.md. The workflows pin third-party actions by commit.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

/// Inputs the action handles itself; the binary never sees them.
const ACTION_ONLY_INPUTS: &[&str] = &["build-from-source"];
const OUTPUTS: &[&str] = &[
    "triggered",
    "skip-reason",
    "conclusion",
    "comment-url",
    "session-id",
    "branch",
    "pr-url",
    "pr-number",
    "commit-sha",
];

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn yaml(rel: &str) -> Value {
    serde_yaml_ng::from_str(&read(rel)).unwrap_or_else(|e| panic!("parse {rel}: {e}"))
}

fn action() -> Value {
    yaml("action.yml")
}

fn string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

/// `name → (description, default)`, in file order.
fn inputs(action: &Value) -> Vec<(String, String, String)> {
    let Value::Mapping(map) = &action["inputs"] else { panic!("action.yml has no inputs") };
    map.iter()
        .map(|(k, v)| (string(k), string(&v["description"]), v.get("default").map(string).unwrap_or_default()))
        .collect()
}

fn outputs(action: &Value) -> Vec<(String, String, String)> {
    let Value::Mapping(map) = &action["outputs"] else { panic!("action.yml has no outputs") };
    map.iter().map(|(k, v)| (string(k), string(&v["description"]), string(&v["value"]))).collect()
}

fn steps_of(action: &Value) -> &Vec<Value> {
    let Value::Sequence(steps) = &action["runs"]["steps"] else { panic!("action.yml has no steps") };
    steps
}

fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    let Value::Sequence(steps) = &action["runs"]["steps"] else { panic!("action.yml has no steps") };
    steps.iter().find(|s| s["id"].as_str() == Some(id)).unwrap_or_else(|| panic!("no step `{id}`"))
}

/// Every `env = "INPUT_X"` in src/cli.rs with the `[default: …]` its doc comment promises.
fn cli_inputs() -> BTreeMap<String, Option<String>> {
    let mut found = BTreeMap::new();
    let mut docs = String::new();
    for line in read("src/cli.rs").lines().map(str::trim) {
        if let Some(doc) = line.strip_prefix("///") {
            docs.push_str(doc);
            docs.push(' ');
        } else if let Some(rest) = line.split("env = \"INPUT_").nth(1) {
            let var = rest.split('"').next().unwrap();
            let default = docs.split("[default: ").nth(1).map(|d| {
                let d = d.split(']').next().unwrap().trim();
                let d = d.trim_matches('"');
                if d == "none" { String::new() } else { d.to_owned() }
            });
            found.insert(format!("INPUT_{var}"), default);
        } else if line.starts_with("pub ") {
            docs.clear();
        }
    }
    assert!(found.len() > 20, "parsing src/cli.rs found only {found:?}");
    found
}

fn input_to_env(name: &str) -> String {
    format!("INPUT_{}", name.to_ascii_uppercase().replace('-', "_"))
}

#[test]
fn every_binary_input_is_an_action_input_mapped_into_the_run_step() {
    let action = action();
    let names: Vec<String> = inputs(&action).into_iter().map(|(n, ..)| n).collect();
    let env = &step(&action, "run")["env"];
    for var in cli_inputs().keys() {
        let name = var.trim_start_matches("INPUT_").to_ascii_lowercase().replace('_', "-");
        assert!(names.contains(&name), "src/cli.rs reads {var} but action.yml has no input `{name}`");
        let value = env.get(var.as_str()).map(string).unwrap_or_else(|| panic!("run step's env lacks {var}"));
        assert!(
            value.contains(&format!("inputs.{name} ")) || value.contains(&format!("inputs.{name}}}")),
            "{var} is mapped to `{value}`, not to inputs.{name}"
        );
    }
}

#[test]
fn every_action_input_reaches_the_binary_or_is_action_only() {
    let action = action();
    let cli = cli_inputs();
    for (name, description, _) in inputs(&action) {
        assert!(!description.trim().is_empty(), "input `{name}` has no description");
        let var = input_to_env(&name);
        assert!(
            cli.contains_key(&var) || ACTION_ONLY_INPUTS.contains(&name.as_str()),
            "action.yml input `{name}` is not read by the binary ({var} is not in src/cli.rs)"
        );
    }
    let env = &step(&action, "install")["env"];
    assert_eq!(string(&env["SISYPHUS_BUILD_FROM_SOURCE"]), "${{ inputs.build-from-source }}");
}

#[test]
fn action_defaults_are_the_binary_defaults() {
    let action = action();
    let defaults: BTreeMap<String, String> =
        inputs(&action).into_iter().map(|(n, _, d)| (input_to_env(&n), d)).collect();
    for (var, promised) in cli_inputs() {
        if let Some(promised) = promised {
            assert_eq!(
                defaults.get(&var).map(String::as_str),
                Some(promised.as_str()),
                "default of {var} differs between action.yml and src/cli.rs"
            );
        }
    }
    // The same values the binary falls back to on an empty input.
    use sisyphus_action::config;
    for (var, value) in [
        ("INPUT_TRIGGER_PHRASE", config::DEFAULT_TRIGGER_PHRASE.to_owned()),
        ("INPUT_TRIGGER_LABEL", config::DEFAULT_TRIGGER_LABEL.to_owned()),
        ("INPUT_ALLOWED_ASSOCIATIONS", config::DEFAULT_ASSOCIATIONS.to_owned()),
        ("INPUT_BOT_LOGIN", config::DEFAULT_BOT_LOGIN.to_owned()),
        ("INPUT_LABEL", config::DEFAULT_LABEL.to_owned()),
        ("INPUT_MODEL", config::DEFAULT_MODEL.to_owned()),
        ("INPUT_OPENCODE_VERSION", config::DEFAULT_OPENCODE_VERSION.to_owned()),
        ("INPUT_TIMEOUT_MINUTES", config::DEFAULT_TIMEOUT_MINUTES.to_string()),
        ("INPUT_BRANCH_PREFIX", config::DEFAULT_BRANCH_PREFIX.to_owned()),
    ] {
        assert_eq!(defaults[var], value, "default of {var} differs between action.yml and src/config.rs");
    }
    assert_eq!(defaults["INPUT_GITHUB_TOKEN"], "${{ github.token }}");
}

#[test]
fn outputs_come_from_the_run_step() {
    let action = action();
    let outs = outputs(&action);
    let names: Vec<&str> = outs.iter().map(|(n, ..)| n.as_str()).collect();
    assert_eq!(names, OUTPUTS);
    for (name, description, value) in &outs {
        assert!(!description.trim().is_empty(), "output `{name}` has no description");
        assert_eq!(value, &format!("${{{{ steps.run.outputs.{name} }}}}"));
    }
}

#[test]
fn the_steps_install_fall_back_and_exec() {
    let action = action();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    // The source build runs exactly when the install script signalled a fallback (no `path`).
    assert_eq!(step(&action, "build")["if"].as_str(), Some("steps.install.outputs.path == ''"));
    let run = step(&action, "run");
    assert_eq!(string(&run["env"]["SISYPHUS_BIN"]), "${{ steps.install.outputs.path || steps.build.outputs.path }}");
    // The binary installs OpenCode or Codex after its 👀 (src/install.rs): no step may make the
    // 👀 wait by installing an agent before the binary runs.
    let ids: Vec<String> = steps_of(&action).iter().map(|s| string(&s["id"])).collect();
    assert_eq!(ids, ["install", "build", "run"], "only our binary is installed before it runs");
    for s in steps_of(&action) {
        let text = format!("{} {}", string(&s["name"]), string(&s["run"])).to_lowercase();
        for agent in ["opencode", "codex", "npm"] {
            assert!(!text.contains(agent), "step `{}` installs an agent before the binary runs", string(&s["id"]));
        }
    }
    assert_eq!(string(&run["env"]["INPUT_OPENCODE_PATH"]), "${{ inputs.opencode-path }}");
    assert_eq!(string(&run["env"]["INPUT_CODEX_PATH"]), "${{ inputs.codex-path }}");
    // exec: the binary becomes the step's process and receives the runner's cancel signals.
    assert_eq!(run["run"].as_str().map(str::trim), Some(r#"exec "$SISYPHUS_BIN" run"#));
    let Value::Sequence(steps) = &action["runs"]["steps"] else { unreachable!() };
    for s in steps {
        let run = s["run"].as_str().unwrap_or_default();
        assert!(!run.contains("${{"), "step `{}` interpolates an expression into its script: {run}", string(&s["id"]));
        let shell = s["shell"].as_str().unwrap_or_default();
        assert!(
            shell.contains("-u BASH_ENV") && shell.contains("pipefail"),
            "step `{}` shell is not hardened",
            string(&s["id"])
        );
    }
}

fn escape_cell(s: &str) -> String {
    s.trim().replace('|', "\\|").replace('\n', " ")
}

fn code_cell(s: &str) -> String {
    if s.is_empty() { String::new() } else { format!("`{s}`") }
}

/// The markdown table README.md must contain under `heading`, rendered from action.yml.
fn expected_tables(action: &Value) -> (String, String) {
    let mut ins = String::from("| Input | Description | Default |\n|---|---|---|\n");
    for (name, description, default) in inputs(action) {
        ins.push_str(&format!("| `{name}` | {} | {} |\n", escape_cell(&description), code_cell(&default)));
    }
    let mut outs = String::from("| Output | Description |\n|---|---|\n");
    for (name, description, _) in outputs(action) {
        outs.push_str(&format!("| `{name}` | {} |\n", escape_cell(&description)));
    }
    (ins, outs)
}

/// The first table after `heading` in README.md.
fn readme_table(readme: &str, heading: &str) -> String {
    let after = readme.split_once(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("README has no `{heading}`")).1;
    after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn readme_tables_match_action_yml() {
    let (inputs, outputs) = expected_tables(&action());
    let readme = read("README.md");
    assert_eq!(readme_table(&readme, "## Inputs"), inputs, "README's inputs table is stale; it should read:\n{inputs}");
    assert_eq!(
        readme_table(&readme, "## Outputs"),
        outputs,
        "README's outputs table is stale; it should read:\n{outputs}"
    );
}

#[test]
fn third_party_actions_are_pinned_by_commit() {
    for file in [".github/workflows/ci.yml", ".github/workflows/release.yml", "examples/sisyphus.yml"] {
        let text = read(file);
        for line in text.lines().map(str::trim) {
            let Some(uses) = line.strip_prefix("uses:").or_else(|| line.strip_prefix("- uses:")) else { continue };
            let uses = uses.split('#').next().unwrap().trim();
            if uses.starts_with("OWNER/sisyphus-action@") || uses.starts_with("./") {
                continue; // the action itself, which users pin in their own repository
            }
            let (_, reference) = uses.split_once('@').unwrap_or_else(|| panic!("{file}: `{uses}` has no ref"));
            assert!(
                reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit()),
                "{file}: `{uses}` is not pinned by a full commit SHA"
            );
            assert!(line.contains("# v"), "{file}: `{uses}` lacks a `# vX.Y.Z` comment naming the tag");
        }
    }
}

#[test]
fn the_example_workflow_queues_per_thread_and_prefilters_on_the_phrase() {
    let wf = yaml("examples/sisyphus.yml");
    let job = &wf["jobs"]["sisyphus"];
    let condition = job["if"].as_str().unwrap();
    assert!(condition.contains(&format!("'{}'", sisyphus_action::config::DEFAULT_TRIGGER_PHRASE)));
    assert!(condition.contains(&format!("'{}'", sisyphus_action::config::DEFAULT_TRIGGER_LABEL)));
    assert_eq!(job["concurrency"]["cancel-in-progress"].as_bool(), Some(false));
    assert!(job["timeout-minutes"].as_u64().is_some_and(|m| m > sisyphus_action::config::DEFAULT_TIMEOUT_MINUTES));
    for scope in ["contents", "issues", "pull-requests"] {
        assert_eq!(job["permissions"][scope].as_str(), Some("write"), "permission {scope}");
    }
    // `on:` parses as the key "on" in YAML 1.2 (serde_yaml_ng), not as `true`.
    let on = &wf["on"];
    for event in ["issue_comment", "pull_request_review_comment", "pull_request_review", "issues", "workflow_dispatch"]
    {
        assert!(on.get(event).is_some(), "example does not trigger on {event}");
    }
    for input in ["prompt", "issue-number"] {
        assert!(on["workflow_dispatch"]["inputs"].get(input).is_some(), "dispatch input {input}");
    }
}

/// Every activity type GitHub sends for the events the example subscribes to (GitHub's
/// "Events that trigger workflows"), so the check below covers the ones the binary ignores too.
const ACTIVITY_TYPES: &[(&str, &str)] = &[
    ("issue_comment", "created edited deleted"),
    ("pull_request_review_comment", "created edited deleted"),
    ("pull_request_review", "submitted edited dismissed"),
    (
        "issues",
        "opened edited deleted transferred pinned unpinned closed reopened assigned unassigned labeled unlabeled \
         locked unlocked milestoned demilestoned",
    ),
];

/// Whether the binary acts on `event` with `action` (src/event.rs): an action it never acts on
/// is a skip before any field is read, so a payload with only the common fields tells.
fn acts_on(event: &str, action: &str) -> bool {
    use sisyphus_action::event::{Loaded, parse_event};
    let payload = serde_json::json!({
        "action": action, "repository": {"full_name": "o/r"}, "sender": {"login": "u"}
    });
    !matches!(parse_event(event, &payload.to_string()), Ok(Loaded::Skip(_)))
}

#[test]
fn the_example_workflow_subscribes_to_exactly_what_the_binary_acts_on() {
    let wf = yaml("examples/sisyphus.yml");
    let condition = wf["jobs"]["sisyphus"]["if"].as_str().unwrap();
    for (event, all) in ACTIVITY_TYPES {
        let Value::Sequence(types) = &wf["on"][*event]["types"] else {
            panic!("the example lists no types for {event}")
        };
        let types: Vec<String> = types.iter().map(string).collect();
        for action in all.split_whitespace() {
            let acted = acts_on(event, action);
            assert_eq!(
                types.contains(&action.to_string()),
                acted,
                "{event}: the binary {} `{action}`, but the example {} it",
                if acted { "acts on" } else { "ignores" },
                if acted { "does not subscribe to" } else { "subscribes to" }
            );
            // `issues` has several acting types; the job's pre-filter must let each through.
            if *event == "issues" && acted {
                assert!(
                    condition.contains(&format!("github.event.action == '{action}'")),
                    "the example's `if:` never lets `issues` `{action}` through"
                );
            }
        }
    }
    // The assignment trigger is assigning the bot's own login.
    assert!(
        condition.contains(&format!("github.event.assignee.login == '{}'", sisyphus_action::config::DEFAULT_BOT_LOGIN))
    );
}

#[test]
fn the_example_workflow_pins_the_action_by_commit() {
    let text = read("examples/sisyphus.yml");
    let pins: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- uses: OWNER/sisyphus-action@"))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default())
        .collect();
    assert!(!pins.is_empty(), "the example never uses OWNER/sisyphus-action");
    for pin in pins {
        assert!(
            pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
            "the example pins the action by `{pin}`, not by a full commit SHA as the README says"
        );
    }
}

#[test]
fn stop_commands_have_their_own_job_group_and_the_only_actions_write() {
    let wf = yaml("examples/sisyphus.yml");
    let (work, stop) = (&wf["jobs"]["sisyphus"], &wf["jobs"]["stop"]);
    let stops = "contains(fromJSON('[\"@sisyphus-dev-ai stop\", \"@sisyphus-dev-ai cancel\"";
    let work_if = work["if"].as_str().unwrap();
    assert!(work_if.contains(&format!("!{stops}")), "the work job leaves stop commands alone: {work_if}");
    let stop_if = stop["if"].as_str().unwrap();
    assert!(stop_if.contains(stops) && !stop_if.contains(&format!("!{stops}")), "{stop_if}");
    assert!(stop_if.contains("github.event.sender.login != 'sisyphus-dev-ai'"), "{stop_if}");
    // A stop must not queue behind the run it stops.
    let group = |job: &Value| job["concurrency"]["group"].as_str().unwrap().to_owned();
    assert_ne!(group(work), group(stop));
    assert!(group(stop).starts_with("sisyphus-stop-"), "{}", group(stop));
    assert_eq!(stop["permissions"]["actions"].as_str(), Some("write"));
    assert!(work["permissions"].get("actions").is_none(), "only the stop job may cancel runs");
}

#[test]
fn scripts_the_action_runs_exist_and_are_executable() {
    use std::os::unix::fs::PermissionsExt as _;
    let action = action();
    let Value::Sequence(steps) = &action["runs"]["steps"] else { unreachable!() };
    let mut seen = 0;
    for s in steps {
        let run = s["run"].as_str().unwrap_or_default();
        if run.contains("$GITHUB_ACTION_PATH/") {
            // `-p`: exported shell functions from the job (e.g. a poisoned `sha256sum`) are not imported.
            assert!(run.starts_with("bash -p \""), "script step runs without `bash -p`: {run}");
        }
        for script in run.split("$GITHUB_ACTION_PATH/").skip(1).map(|rest| rest.split('"').next().unwrap()) {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
            let mode = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{script}: {e}")).permissions().mode();
            assert!(mode & 0o111 != 0, "{script} is not executable");
            seen += 1;
        }
    }
    assert_eq!(seen, 2, "the install and build steps each run a script");
}

#[test]
fn readme_shows_the_example_workflow_and_quickstart_files_that_exist() {
    let readme = read("README.md");
    let example = read("examples/sisyphus.yml");
    assert!(
        readme.contains(&format!("```yaml\n{}```", example)),
        "README's workflow differs from examples/sisyphus.yml"
    );
    let quickstart = readme.split_once("## Quickstart").unwrap().1.split_once("```sh\n").unwrap().1;
    let commands: Vec<&str> = quickstart.split_once("```").unwrap().0.lines().collect();
    assert_eq!(commands.len(), 2, "the quickstart is exactly two commands: {commands:?}");
    let payload = commands[0].split_whitespace().skip_while(|w| *w != "--event-path").nth(1).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&read(payload)).unwrap();
    assert!(payload["comment"]["body"].as_str().unwrap().starts_with(sisyphus_action::config::DEFAULT_TRIGGER_PHRASE));
    assert_eq!(commands[1], "scripts/test");

    // The first command works as pasted: its variables, then `cargo run --release --` and the
    // binary's arguments, run here on the binary cargo built for this test.
    let words: Vec<&str> = commands[0].split_whitespace().collect();
    let vars: Vec<(&str, &str)> = words.iter().map_while(|w| w.split_once('=')).collect();
    let rest = &words[vars.len()..];
    assert_eq!(&rest[..4], ["cargo", "run", "--release", "--"], "{rest:?}");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sisyphus-action"));
    cmd.args(&rest[4..]).current_dir(env!("CARGO_MANIFEST_DIR")).env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default()).envs(vars);
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "the quickstart's first command failed:\n{text}");
    assert!(text.contains("Preflight: passed"), "{text}");
}
