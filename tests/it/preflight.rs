//! The preflight through the real binary: every input, each kind of bad value, and the
//! checks that need several inputs or the machine (the provider's key, the user's OpenCode
//! config, the OpenCode binary, the prompt template, the branch prefix, the work tree), and
//! payloads that are not the event they claim. Each bad case is a *real* run (not a dry run)
//! pointed at the fake GitHub: it must exit 2 with an `::error title=input …::` annotation,
//! never panic, and send GitHub nothing at all. Then property tests: arbitrary strings in every
//! input and every payload field the gate reads never panic and end in a usage error at worst.

use crate::support::fake_github;
use crate::support::git_repo;
use crate::support::{actions, fixtures};

use actions::{Ran, run};
use fake_github::FakeGithub;
use fixtures::fixture;
use git_repo::Repos;

const TOKEN: &str = "ghs_preflighttoken";
const KEY: &str = "sk-ant-preflightkey";

/// A scenario: the fake GitHub, a real checkout, and the env of a real run in Actions on a
/// mention that passes the gate. The agent is the `command` runtime running `true`, so a bad
/// input that slipped through would get to 👀 (a request) at once, not hang on a model.
struct Scene {
    gh: FakeGithub,
    repos: Repos,
    payload: String,
}

impl Scene {
    fn new() -> Self {
        let payload = fixture("events/issue_comment.created.mention.json").to_str().unwrap().to_owned();
        Self { gh: FakeGithub::start(), repos: Repos::for_repo("master", "Codertocat/Hello-World"), payload }
    }

    fn base(&self) -> Vec<(String, String)> {
        [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "issue_comment"),
            ("GITHUB_EVENT_PATH", self.payload.as_str()),
            ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
            ("GITHUB_API_URL", &self.gh.api_url()),
            ("GITHUB_GRAPHQL_URL", &self.gh.graphql_url()),
            ("GITHUB_WORKSPACE", self.repos.work.to_str().unwrap()),
            ("GITHUB_TOKEN", TOKEN),
            ("ANTHROPIC_API_KEY", KEY),
            ("INPUT_RUNTIME", "command"),
            ("INPUT_AGENT_COMMAND", "true"),
            ("SISYPHUS_RETRY_BASE_MS", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// A real run with `base()` changed by `env` (an empty value removes a variable) and `args`
    /// after `run`.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let mut all = self.base();
        for (k, v) in env {
            all.retain(|(name, _)| name != k);
            if !v.is_empty() || k.starts_with("INPUT_") {
                all.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        let env: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut argv = vec!["run"];
        argv.extend_from_slice(args);
        run(&argv, &env)
    }

    /// Exit 2, the annotation names `input`, no panic, and not one request reached GitHub.
    fn assert_refused(&self, r: &Ran, input: &str, what: &str) {
        let title = match input {
            flag if flag.starts_with("--") => format!("flag {flag}"),
            "work tree" => "work tree".to_owned(),
            input => format!("input {input}"),
        };
        let annotation = format!("::error title={title}::");
        assert!(!r.stderr.contains("panicked") && !r.stdout.contains("panicked"), "{what}: panic: {}", r.stderr);
        assert_eq!(r.code, 2, "{what}: exit {}\nstdout: {}\nstderr: {}", r.code, r.stdout, r.stderr);
        assert!(r.stdout.contains(&annotation), "{what}: no `{annotation}` in:\n{}\n{}", r.stdout, r.stderr);
        assert_eq!(self.gh.request_lines(), Vec::<String>::new(), "{what}: GitHub was contacted");
    }
}

fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.to_ascii_uppercase().replace('-', "_"))
}

/// Bad values for one input beyond the ones every input gets (garbage, huge), with a text the
/// message must contain ("" for any).
fn specific(input: &str) -> Vec<(String, &'static str)> {
    let v = |cases: &[(&str, &'static str)]| cases.iter().map(|(a, b)| ((*a).to_owned(), *b)).collect();
    match input {
        "timeout-minutes" => v(&[
            ("soon", "between 1 and 360"),
            ("0", "between 1 and 360"),
            ("1e-9", "between 1 and 360"),
            ("-5", "between 1 and 360"),
            ("361", "between 1 and 360"),
            ("1e300", "between 1 and 360"),
            ("NaN", "between 1 and 360"),
            ("inf", "between 1 and 360"),
            ("-inf", "between 1 and 360"),
        ]),
        "allowed-associations" => v(&[("MEMBRE", "did you mean `MEMBER`?"), (",", "no association")]),
        "runtime" => v(&[("opencod", "did you mean `opencode`?"), ("docker", "`opencode` or `command`")]),
        "progress" => v(&[("coment", "did you mean `comment`?"), ("true", "`comment` or `off`")]),
        "progress-delay" => v(&[("-1", "between 0 and 3600"), ("soon", "seconds"), ("1e9", "between 0 and 3600")]),
        "trigger-phrase" => v(&[("two words", "one word")]),
        "trigger-label" | "label" => v(&[(&"x".repeat(51), "at most 50")]),
        "bot-login" => v(&[("not a login", "GitHub login")]),
        "allowed-bots" => v(&[("renovate, bad bot", "`bad bot`")]),
        "model" => v(&[("nonsense", "provider/model"), ("/x", "provider/model"), ("x/", "provider/model")]),
        "variant" => v(&[("very high", "one word")]),
        "plugins" => v(&[("a b", "npm package")]),
        "opencode-version" => v(&[("latest", "1.18.33"), ("1.2", "1.18.33")]),
        "anthropic-base-url" | "openai-base-url" => v(&[("ftp://x", "http(s) URL"), ("not a url", "http(s) URL")]),
        "anthropic-api-key" | "openai-api-key" | "github-token" => v(&[("SECRETVALUE with a space", "whitespace")]),
        "branch-prefix" => v(&[("has space/", "git refuses"), ("a..b/", "git refuses"), ("-x/", "git refuses")]),
        "git-user-name" => v(&[("A <b>", "`<`")]),
        "git-user-email" => v(&[("nobody", "email address")]),
        "opencode-config" => v(&[("{not json", "not valid JSON"), ("{\"a\": 1} trailing", "not valid JSON")]),
        "opencode-path" => v(&[("/nonexistent/opencode", "cannot be used")]),
        "codex-version" => v(&[("latest", "such as"), ("0.169", "such as")]),
        "codex-config" => v(&[("[oops", "not valid TOML"), ("{not json", "not valid JSON")]),
        "agent-preset" => v(&[("sisyphos", "did you mean `sisyphus`?")]),
        "oh-my-opencode-version" => v(&[("latest", "1.18.33")]),
        "omo-config" => v(&[
            ("{not json", "not valid JSON"),
            ("/nonexistent/omo.jsonc", "cannot read"),
            (r#"{"telemetry": false}"#, "top-level key `telemetry`"),
        ]),
        "prompt-template" => v(&[("/nonexistent/prompt.hbs", "cannot read the prompt template")]),
        "dry-run"
        | "co-author"
        | "allow-push"
        | "allow-pr"
        | "allow-comments"
        | "draft-pr"
        | "allow-fork-push"
        | "allow-workflow-changes" => v(&[("maybe", "true or false"), ("ture", "did you mean `true`?")]),
        _ => Vec::new(),
    }
}

/// A valid, non-default value for each input (the dry run with it must pass).
fn valid(input: &str) -> &'static str {
    match input {
        "trigger-phrase" => "@agent",
        "trigger-label" => "agent",
        "allowed-associations" => "owner, member, none",
        "bot-login" => "my-bot[bot]",
        "allowed-bots" => "renovate,*",
        "label" => "bot: busy",
        "github-token" => "ghs_anothertoken",
        "dry-run" => "yes",
        "prompt-template" => "prompt.hbs",
        "runtime" => "opencode",
        "agent-command" => "echo hi",
        "model" => "anthropic/claude-sonnet-4-5",
        "variant" => "high",
        "agent" => "Sisyphus - ultraworker",
        "plugins" => "oh-my-opencode@1.2.3, @scope/other",
        "opencode-config" => r#"{"share": "auto"}"#,
        "opencode-path" => "/bin/sh",
        "opencode-version" => "1.19.0-beta.1",
        "codex-version" => "0.170.0",
        "codex-path" => "/bin/sh",
        "codex-config" => "model_reasoning_effort = \"high\"",
        "timeout-minutes" => "45.5",
        "anthropic-api-key" => "sk-ant-another",
        "anthropic-base-url" => "https://proxy.example/v1",
        "openai-api-key" => "sk-another",
        "openai-base-url" => "http://127.0.0.1:9/v1",
        "branch-prefix" => "bot/work-",
        "git-user-name" => "Bot Person",
        "git-user-email" => "bot@example.com",
        "progress" => "off",
        "progress-delay" => "2.5",
        "agent-preset" => "sisyphus",
        "oh-my-opencode-version" => "4.19.4",
        "omo-config" => r#"{"[opencode]": {"telemetry": false}}"#,
        _ => "false",
    }
}

/// Every `INPUT_*` input: empty and valid pass; garbage, huge and each invalid kind of value
/// are refused before anything reaches GitHub.
#[test]
fn every_input_refuses_each_kind_of_bad_value() {
    let scene = Scene::new();
    let huge = "a".repeat(100_000);
    let names: Vec<&str> =
        sisyphus_action::preflight::input_names().into_iter().filter(|n| !n.starts_with("--")).collect();
    assert!(names.len() >= 30, "{names:?}");
    for input in &names {
        let var = env_name(input);
        let mut bad: Vec<(String, &str)> = vec![("x\u{1}y".to_owned(), ""), (huge.clone(), "")];
        bad.extend(specific(input));
        for (value, needle) in &bad {
            let what = format!("{input}={}", value.chars().take(30).collect::<String>());
            let r = scene.run(&[], &[(var.as_str(), value.as_str())]);
            scene.assert_refused(&r, input, &what);
            assert!(r.stdout.contains(needle), "{what}: `{needle}` not in:\n{}", r.stdout);
            if input.ends_with("-key") || *input == "github-token" {
                assert!(!r.stdout.contains("SECRETVALUE") && !r.stderr.contains("SECRETVALUE"), "{what}: echoed");
            }
        }
    }
}

#[test]
fn every_input_accepts_empty_and_valid_values() {
    let scene = Scene::new();
    std::fs::write(scene.repos.work.join("prompt.hbs"), "Work on {{repo}}: {{request}}\n").unwrap();
    let names: Vec<&str> =
        sisyphus_action::preflight::input_names().into_iter().filter(|n| !n.starts_with("--")).collect();
    for input in names {
        let var = env_name(input);
        let mut value = valid(input).to_owned();
        if input == "prompt-template" {
            value = scene.repos.work.join("prompt.hbs").to_str().unwrap().to_owned();
        }
        for value in ["", value.as_str()] {
            // The trigger phrase changes what the fixture's comment must say: keep it mentioned.
            let phrase = if input == "trigger-phrase" && !value.is_empty() { value } else { "@sisyphus-dev-ai" };
            let r = scene.run(
                &["--dry-run"],
                &[(var.as_str(), value), ("INPUT_TRIGGER_PHRASE", phrase), ("INPUT_RUNTIME", ""), ("GITHUB_TOKEN", "")],
            );
            if input == "trigger-phrase" && phrase != "@sisyphus-dev-ai" {
                // The comment does not mention `@agent`: a skip, but no error.
                assert_eq!((r.code, r.output("triggered")), (0, "false"), "{input}={value}: {}", r.stdout);
                continue;
            }
            assert_eq!(r.code, 0, "{input}={value:?}: {}\n{}", r.stdout, r.stderr);
            assert_eq!(r.output("triggered"), "true", "{input}={value:?}");
        }
    }
}

/// The flags of a local run: `--repo`, `--issue`, `--prompt`.
#[test]
fn local_run_flags_are_checked() {
    let scene = Scene::new();
    let huge = "p".repeat(100_000);
    let cases: &[(&[&str], &str)] = &[
        (&["--repo", "noslash", "--issue", "1"], "--repo"),
        (&["--repo", "o/n", "--issue", "0"], "--issue"),
        (&["--repo", "o/n", "--issue", "seven"], "--issue"),
        (&["--repo", "o/n", "--issue", "NaN"], "--issue"),
        (&["--repo", "o/n", "--issue", "99999999999999999999999"], "--issue"),
        (&["--repo", "o/n", "--prompt", &huge], "--prompt"),
        (&["--repo", "o/n", "--prompt", "x\u{1}y"], "--prompt"),
    ];
    for (args, input) in cases {
        let r = scene.run(args, &[]);
        scene.assert_refused(&r, input, &format!("{:?}", &args[..args.len().min(4)]));
    }
}

/// The checks that need several inputs or the machine, each through a real run.
#[test]
fn cross_input_and_machine_checks_refuse_before_any_write() {
    let scene = Scene::new();
    let not_git = tempfile::tempdir().unwrap();
    let array = scene.repos.work.join("array.json");
    std::fs::write(&array, "[1, 2]").unwrap();
    let pull_only = scene.repos.work.join("pull-only.hbs");
    std::fs::write(&pull_only, "{{request}}{{#if pull}} on {{pull.no_such_field}}{{/if}}\n").unwrap();
    let issue_only = scene.repos.work.join("issue-only.hbs");
    std::fs::write(&issue_only, "{{request}} on {{pull.head_ref}}\n").unwrap();
    let readme = scene.repos.work.join("README.md");
    let opencode = [("INPUT_RUNTIME", ""), ("INPUT_AGENT_COMMAND", "")];
    // (env changes, the input the annotation names, what the message says)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        // The default model with no Anthropic key anywhere.
        (vec![("ANTHROPIC_API_KEY", "")], "anthropic-api-key", "add the `ANTHROPIC_API_KEY` secret"),
        (vec![("INPUT_MODEL", "openai/gpt-5")], "openai-api-key", "`OPENAI_API_KEY`"),
        (vec![("INPUT_MODEL", "openai-compatible/glm")], "openai-base-url", "OpenAI-compatible"),
        (vec![("INPUT_MODEL", "antropic/claude-opus-4-5")], "model", "did you mean `anthropic`?"),
        (vec![("INPUT_MODEL", "google/gemini-2.5-pro")], "model", "`GOOGLE_GENERATIVE_AI_API_KEY`"),
        (vec![("INPUT_VARIANT", "hihg")], "variant", "did you mean `high`?"),
        (vec![("INPUT_OPENCODE_CONFIG", "{not json")], "opencode-config", "not valid JSON"),
        (vec![("INPUT_OPENCODE_CONFIG", array.to_str().unwrap())], "opencode-config", "must be a JSON object"),
        (vec![("INPUT_OPENCODE_CONFIG", "missing.json")], "opencode-config", "cannot read"),
        (vec![("INPUT_OPENCODE_PATH", "/nonexistent/opencode")], "opencode-path", "cannot be used"),
        (vec![("INPUT_OPENCODE_PATH", readme.to_str().unwrap())], "opencode-path", "not an executable"),
        (vec![("INPUT_BRANCH_PREFIX", "has space/")], "branch-prefix", "git refuses"),
        (vec![("INPUT_PROMPT_TEMPLATE", pull_only.to_str().unwrap())], "prompt-template", "for a pull request"),
        (vec![("INPUT_PROMPT_TEMPLATE", issue_only.to_str().unwrap())], "prompt-template", "for an issue"),
        (vec![("GITHUB_WORKSPACE", not_git.path().to_str().unwrap())], "work tree", "not a git work tree"),
    ];
    for (env, input, needle) in cases {
        let mut env = env.clone();
        if !matches!(input, "branch-prefix" | "prompt-template" | "work tree") {
            env.extend(opencode);
        }
        let r = scene.run(&[], &env);
        scene.assert_refused(&r, input, &format!("{env:?}"));
        assert!(r.stdout.contains(needle), "{env:?}: `{needle}` not in:\n{}", r.stdout);
        // The dry run refuses the same configuration: a clean dry run means a sound config.
        let dry = scene.run(&["--dry-run"], &env);
        scene.assert_refused(&dry, input, &format!("dry run {env:?}"));
    }
}

/// A provider the user's `opencode-config` defines needs none of our keys; the same model
/// without the definition is refused.
#[test]
fn a_provider_defined_in_opencode_config_needs_no_key() {
    let scene = Scene::new();
    let config = r#"{"provider": {"myproxy": {"npm": "@ai-sdk/openai-compatible", "options": {"baseURL": "http://127.0.0.1:9"}}}}"#;
    let env = [("INPUT_RUNTIME", ""), ("ANTHROPIC_API_KEY", ""), ("INPUT_MODEL", "myproxy/some-model")];
    let r = scene.run(&["--dry-run"], &env);
    scene.assert_refused(&r, "model", "undefined provider");
    let mut env = env.to_vec();
    env.push(("INPUT_OPENCODE_CONFIG", config));
    let r = scene.run(&["--dry-run"], &env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // A variant the user defines for an Anthropic model is accepted.
    let variants = r#"{"provider": {"anthropic": {"models": {"claude-opus-4-5": {"variants": {"low": {}}}}}}}"#;
    let r = scene
        .run(&["--dry-run"], &[("INPUT_RUNTIME", ""), ("INPUT_VARIANT", "low"), ("INPUT_OPENCODE_CONFIG", variants)]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // A command agent brings its own credentials: no key is asked for.
    let r = scene.run(&["--dry-run"], &[("ANTHROPIC_API_KEY", "")]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// Payloads that are not the event they claim: exit 2 naming the field; an unknown event is
/// still a skip whatever its payload.
#[test]
fn payloads_are_checked_for_the_event_they_claim() {
    let scene = Scene::new();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let comment = std::fs::read_to_string(&scene.payload).unwrap();
    let (array, null, empty) = (write("array.json", "[]"), write("null.json", "null"), write("empty.json", "{}"));
    let mut mistyped: serde_json::Value = serde_json::from_str(&comment).unwrap();
    mistyped["comment"]["id"] = "492700400".into();
    let mistyped = write("mistyped.json", &mistyped.to_string());
    let cases: &[(&str, &str, &str)] = &[
        ("issue_comment", &array, "must be a JSON object, got an array"),
        ("issue_comment", &null, "must be a JSON object, got null"),
        ("issue_comment", &empty, "needs `repository`"),
        ("issues", &empty, "needs `repository`"),
        ("workflow_dispatch", &array, "must be a JSON object"),
        ("pull_request_review", &null, "must be a JSON object"),
        ("pull_request_review_comment", &scene.payload, "needs `pull_request`"),
        ("issue_comment", &mistyped, "needs `comment.id` (a positive integer), but it is a string"),
    ];
    for (event, path, needle) in cases {
        for args in [&[][..], &["--dry-run"][..]] {
            let r = scene.run(args, &[("GITHUB_EVENT_NAME", event), ("GITHUB_EVENT_PATH", path)]);
            assert_eq!(r.code, 2, "{event} {path} {args:?}: {}\n{}", r.stdout, r.stderr);
            assert!(r.stdout.contains(needle), "{event} {path}: `{needle}` not in {}", r.stdout);
            assert!(r.stdout.contains("::error::"), "{event}: no annotation in {}", r.stdout);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
            assert_eq!(scene.gh.request_lines(), Vec::<String>::new(), "{event} {path}: GitHub was contacted");
        }
    }
    let r = scene.run(&[], &[("GITHUB_EVENT_NAME", "star"), ("GITHUB_EVENT_PATH", &array)]);
    assert_eq!((r.code, r.output("triggered")), (0, "false"), "{}", r.stderr);
    assert!(r.stdout.contains("::notice::skipping: event `star`"), "the skip is a notice: {}", r.stdout);
}

/// The gate's fields of an `issue_comment` payload, by JSON pointer.
const GATE_FIELDS: &[&str] = &[
    "/action",
    "/repository/full_name",
    "/repository/default_branch",
    "/sender/login",
    "/issue/number",
    "/issue/title",
    "/issue/body",
    "/issue/user/login",
    "/issue/labels",
    "/issue/pull_request",
    "/comment/id",
    "/comment/body",
    "/comment/user/login",
    "/comment/user/type",
    "/comment/author_association",
    "/comment/created_at",
    "/comment/html_url",
];

fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    prop_oneof![
        ".{0,40}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::Value::from(true)),
    ]
}

fn is_usage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<sisyphus_action::exit::UsageError>() || c.is::<sisyphus_action::preflight::InputError>())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any string in any input: no panic; either a config or an input error naming that input,
    /// and then the preflight ends in a pass or a usage error.
    #[test]
    fn arbitrary_inputs_never_panic(
        index in 0usize..64,
        value in r"(\PC|[\u{0}-\u{1f} ./@:,{}\[\]-]|1e300|NaN|-0|0x10){0,60}",
    ) {
        use clap::Parser as _;
        let names = sisyphus_action::preflight::input_names();
        let name = names[index % names.len()];
        let flag = format!("{}={value}", if name.starts_with("--") { name.to_owned() } else { format!("--{name}") });
        let cli = sisyphus_action::cli::Cli::try_parse_from(["sisyphus-action", "run", flag.as_str()]);
        let Ok(cli) = cli else { return Ok(()) };
        let sisyphus_action::cli::Command::Run(args) = cli.command else { return Ok(()) };
        match sisyphus_action::config::Config::from_args(&args) {
            Ok(config) => {
                if let Err(e) = sisyphus_action::preflight::check_with(&config, &|_| None) {
                    proptest::prop_assert!(!e.input.is_empty(), "{e}");
                }
            }
            Err(e) => {
                let input = e.downcast_ref::<sisyphus_action::preflight::InputError>();
                proptest::prop_assert!(input.is_some(), "{name}: {e:#}");
            }
        }
    }

    /// Any value in any field the gate reads: no panic, and a trigger, a skip or a usage error.
    #[test]
    fn arbitrary_payload_fields_never_panic(index in 0usize..64, value in json_value()) {
        let text = std::fs::read_to_string(fixture("events/issue_comment.created.mention.json")).unwrap();
        let mut payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        let field = GATE_FIELDS[index % GATE_FIELDS.len()];
        if let Some(slot) = payload.pointer_mut(field) {
            *slot = value;
        }
        let config = sisyphus_action::config::Config::from_args(&sisyphus_action::cli::RunArgs::default()).unwrap();
        for event in ["issue_comment", "pull_request_review_comment", "issues"] {
            match sisyphus_action::event::parse_event(event, &payload.to_string()) {
                Ok(sisyphus_action::event::Loaded::Trigger(t)) => {
                    let _ = sisyphus_action::gate::decide(&t, &config);
                }
                Ok(sisyphus_action::event::Loaded::Skip(_)) => {}
                Err(e) => proptest::prop_assert!(is_usage(&e), "{field}: {e:#}"),
            }
        }
    }
}

/// The same property through the real binary, a few cases: exit 0 or 2, nothing sent to GitHub.
#[test]
fn arbitrary_payload_fields_through_the_binary_exit_0_or_2() {
    use proptest::strategy::{Strategy as _, ValueTree as _};
    let scene = Scene::new();
    let text = std::fs::read_to_string(&scene.payload).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for i in 0..24 {
        let value = json_value().new_tree(&mut runner).unwrap().current();
        let mut payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        let field = GATE_FIELDS[i % GATE_FIELDS.len()];
        if let Some(slot) = payload.pointer_mut(field) {
            *slot = value.clone();
        }
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, payload.to_string()).unwrap();
        let r = scene.run(&["--dry-run"], &[("GITHUB_EVENT_PATH", path.to_str().unwrap()), ("GITHUB_TOKEN", "")]);
        assert!(matches!(r.code, 0 | 2), "{field}={value}: exit {}: {}", r.code, r.stderr);
        assert!(!r.stderr.contains("panicked"), "{field}={value}: {}", r.stderr);
    }
    assert_eq!(scene.gh.request_lines(), Vec::<String>::new());
}

/// `runtime: codex` needs the key its provider's `env_key` names: ours (`openai-api-key`), or
/// the variable a `codex-config` provider names.
#[test]
fn the_codex_runtime_needs_its_providers_key() {
    let scene = Scene::new();
    let codex = [("INPUT_RUNTIME", "codex"), ("INPUT_MODEL", "openai/gpt-5.5")];
    let r = scene.run(&[], &codex);
    scene.assert_refused(&r, "openai-api-key", "codex without a key");
    assert!(r.stdout.contains("runtime `codex`"), "{}", r.stdout);

    let own = r#"{"model_provider": "corp", "model_providers": {"corp": {"base_url": "http://127.0.0.1:9/v1", "env_key": "CORP_LLM_KEY"}}}"#;
    let r = scene.run(&[], &[codex[0], codex[1], ("INPUT_CODEX_CONFIG", own)]);
    scene.assert_refused(&r, "codex-config", "a provider whose key is not set");
    assert!(r.stdout.contains("`CORP_LLM_KEY` is not set"), "{}", r.stdout);

    for extra in [("INPUT_OPENAI_API_KEY", "sk-codex"), ("CORP_LLM_KEY", "k")] {
        let config = if extra.0 == "CORP_LLM_KEY" { own } else { "" };
        let r = scene.run(&["--dry-run"], &[codex[0], codex[1], extra, ("INPUT_CODEX_CONFIG", config)]);
        assert_eq!(r.code, 0, "{extra:?}: {}\n{}", r.stdout, r.stderr);
    }
}
