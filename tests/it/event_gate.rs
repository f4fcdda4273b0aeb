//! GitHub's published payloads (and a few derived ones) replayed through the real binary in
//! dry-run mode: the decision, the reason and the `$GITHUB_OUTPUT` values for each. Then the
//! gate alone against a table of adversarial comments, and bad invocations.

use crate::support::{actions, fixtures};

use actions::{replay, run};
use fixtures::{fixture, ready, ready_for};
use sisyphus_action::cli::RunArgs;
use sisyphus_action::config::Config;
use sisyphus_action::event::{self, Trigger};
use sisyphus_action::gate::{self, Decision};
use sisyphus_action::marker::MARKER;

/// The derived octokit fixtures summon `@agent`, not our default phrase.
const AGENT: (&str, &str) = ("INPUT_TRIGGER_PHRASE", "@agent");

type Env<'a> = &'a [(&'a str, &'a str)];

const KEY: (&str, &str) = ("ANTHROPIC_API_KEY", "sk-ant-gate-test");

#[test]
fn payloads_that_act() {
    // (event, fixture, extra env, what the dry run must say)
    let cases: &[(&str, &str, Env, &[&str])] = &[
        (
            "issue_comment",
            "issue_comment.created.mention.json",
            &[],
            &[
                "Decision: act on Codertocat/Hello-World#1: @Codertocat (OWNER) mentioned `@sisyphus-dev-ai`",
                "Request: fix the typo in README.md, please",
                "- Type: issue",
                "react 👀 to the comment https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400",
            ],
        ),
        (
            "issue_comment",
            "issue_comment.created.on-pull-request.mention.json",
            &[],
            &["act on Codertocat/Hello-World#2", "Request: please rebase this onto master.", "- Type: pr"],
        ),
        ("issue_comment", "derived.issue_comment.created.on-pull-request.json", &[AGENT], &["- Type: pr"]),
        (
            "pull_request_review_comment",
            "pull_request_review_comment.created.mention.json",
            &[],
            &["Request: use more emoji on this line", "Pull request branches: `changes` → `master`\n"],
        ),
        (
            "pull_request_review_comment",
            "pull_request_review_comment.created.from-fork.mention.json",
            &[],
            &["`changes` → `master` (from the fork `forker-user/Hello-World`)"],
        ),
        (
            "pull_request_review",
            "pull_request_review.submitted.mention.json",
            &[],
            &["Request: add a test for the new heading", "react 👀 to Codertocat/Hello-World#2"],
        ),
        ("issues", "issues.opened.mention.json", &[], &["Request: fix the spelling"]),
        ("issues", "issues.labeled.trigger-label.json", &[], &["@Codertocat added the label `sisyphus`"]),
        ("issues", "issues.assigned.bot.json", &[], &["assigned the issue to `sisyphus-dev-ai`"]),
        (
            "workflow_dispatch",
            "workflow_dispatch.prompt.json",
            &[],
            &[
                "act on octo-org/octo-repo#1: a workflow_dispatch by @Codertocat",
                "Request: update the changelog for 1.2",
            ],
        ),
        (
            "issue_comment",
            "derived.issue_comment.created.author-association-none.json",
            &[AGENT, ("INPUT_ALLOWED_ASSOCIATIONS", "owner, none")],
            &["(NONE) mentioned `@agent`"],
        ),
    ];
    let (_dir, work) = ready();
    for (event, file, env, expect) in cases {
        let mut env = env.to_vec();
        env.extend([("GITHUB_WORKSPACE", work.as_str()), KEY]);
        let r = replay(event, file, &env);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        assert_eq!(r.output("triggered"), "true", "{file}");
        assert_eq!(r.output("skip-reason"), "", "{file}");
        assert_eq!(r.output("conclusion"), "success", "{file}");
        for needle in *expect {
            assert!(r.stdout.contains(needle), "{file}: `{needle}` not in:\n{}", r.stdout);
        }
        assert!(r.stdout.contains("Context: from the event payload only (no token)"), "{file}");
    }
}

#[test]
fn payloads_that_skip() {
    let cases: &[(&str, &str, Env, &str)] = &[
        ("issue_comment", "issue_comment.created.payload.json", &[], "`@sisyphus-dev-ai` is not mentioned"),
        ("issue_comment", "ghes-35.issue_comment.created.json", &[], "`@sisyphus-dev-ai` is not mentioned"),
        ("issue_comment", "issue_comment.edited.payload.json", &[], "`issue_comment` with action `edited` never"),
        ("issue_comment", "issue_comment.deleted.payload.json", &[], "action `deleted` never triggers"),
        ("issue_comment", "issue_comment.created.marker.json", &[], "carries sisyphus-action's own marker"),
        (
            "issue_comment",
            "derived.issue_comment.created.by-github-actions-bot.json",
            &[AGENT],
            "the author `github-actions[bot]` is a bot and not listed in `allowed-bots`",
        ),
        (
            "issue_comment",
            "derived.issue_comment.created.by-github-actions-bot.json",
            &[AGENT, ("INPUT_ALLOWED_BOTS", "github-actions")],
            "the author `github-actions[bot]` is `NONE`, not one of `OWNER,MEMBER,COLLABORATOR`",
        ),
        (
            "issue_comment",
            "derived.issue_comment.created.author-association-none.json",
            &[AGENT],
            "the author `Codertocat` is `NONE`, not one of `OWNER,MEMBER,COLLABORATOR`",
        ),
        (
            "issue_comment",
            "issue_comment.created.mention.json",
            &[("INPUT_BOT_LOGIN", "codertocat")],
            "the author `Codertocat` is the bot itself",
        ),
        ("pull_request_review_comment", "pull_request_review_comment.created.payload.json", &[], "is not mentioned"),
        (
            "pull_request_review_comment",
            "derived.pull_request_review_comment.created.from-fork.json",
            &[],
            "is not mentioned",
        ),
        ("pull_request_review_comment", "ghes-35.pull_request_review_comment.created.json", &[], "is not mentioned"),
        ("pull_request_review_comment", "pull_request_review_comment.edited.payload.json", &[], "action `edited`"),
        ("pull_request_review_comment", "pull_request_review_comment.deleted.payload.json", &[], "action `deleted`"),
        ("pull_request_review", "pull_request_review.submitted.payload.json", &[], "the review has no text"),
        ("pull_request_review", "pull_request_review.dismissed.payload.json", &[], "action `dismissed` never"),
        ("issues", "issues.opened.payload.json", &[], "is not mentioned"),
        ("issues", "issues.opened.with-empty-body.payload.json", &[], "the issue has no text"),
        ("issues", "issues.edited.payload.json", &[], "action `edited`"),
        ("issues", "issues.milestoned.payload.json", &[], "action `milestoned`"),
        ("issues", "issues.unlabeled.payload.json", &[], "action `unlabeled`"),
        ("issues", "issues.labeled.payload.json", &[], "the label `bug` is not the trigger label `sisyphus`"),
        ("issues", "issues.assigned.payload.json", &[], "assigned to `Codertocat`, not to `sisyphus-dev-ai`"),
        ("workflow_dispatch", "workflow_dispatch.payload.json", &[], "neither a `prompt` nor an `issue-number`"),
        ("push", "issues.opened.payload.json", &[], "event `push` is not one sisyphus-action acts on"),
    ];
    for (event, file, env, reason) in cases {
        let r = replay(event, file, env);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        assert_eq!(r.output("triggered"), "false", "{file}");
        assert!(r.output("skip-reason").contains(reason), "{file}: `{}` lacks `{reason}`", r.output("skip-reason"));
        assert_eq!(r.output("conclusion"), "skipped", "{file}");
        assert!(!r.stdout.contains("Prompt"), "{file}: a skip renders nothing");
    }
}

fn config(env: &[(&str, &str)]) -> Config {
    let mut args = RunArgs::default();
    for (k, v) in env {
        let v = Some((*v).to_owned());
        match *k {
            "phrase" => args.trigger_phrase = v,
            "bots" => args.allowed_bots = v,
            _ => unreachable!(),
        }
    }
    Config::from_args(&args).unwrap()
}

fn comment(body: &str) -> Trigger {
    let payload = std::fs::read_to_string(fixture("events/issue_comment.created.payload.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&payload).unwrap();
    value["comment"]["body"] = body.into();
    event::parse("issue_comment", &value.to_string()).unwrap()
}

#[test]
fn adversarial_comments() {
    let config = config(&[]);
    // (comment, Some(request) when it must act, None when it must not)
    let cases: &[(&str, Option<&str>)] = &[
        ("@sisyphus-dev-ai fix the flaky test", Some("fix the flaky test")),
        ("```\n@sisyphus-dev-ai fix it\n```", None),
        ("~~~sh\n@sisyphus-dev-ai fix it\n~~~", None),
        ("look:\n\n    @sisyphus-dev-ai in an indented block\n", None),
        ("> @sisyphus-dev-ai fix it", None),
        ("> quoted\n> > @sisyphus-dev-ai nested", None),
        ("run `@sisyphus-dev-ai fix` to summon it", None),
        ("@sisyphus-dev-ai2 fix it", None),
        ("@sisyphus-dev-ai-x fix it", None),
        ("@sisyphus-dev-aix fix it", None),
        ("ping me@sisyphus-dev-ai.com", None),
        ("[@sisyphus-dev-ai](https://github.com/sisyphus-dev-ai) wrote this", None),
        ("<!-- @sisyphus-dev-ai fix it -->", None),
        ("@SISYPHUS-DEV-AI Fix It", Some("Fix It")),
        ("can you fix this?\n@sisyphus-dev-ai", Some("can you fix this?")),
        ("@sisyphus-dev-ai, please fix it", Some("please fix it")),
        ("thanks @sisyphus-dev-ai. Now add docs", Some("Now add docs")),
        ("(cc @sisyphus-dev-ai) please look", Some("please look")),
        ("(cc @sisyphus-dev-ai)", Some("(cc")),
        ("what now @sisyphus-dev-ai?", Some("what now")),
        ("@sisyphus-dev-ai: rename `foo`", Some("rename `foo`")),
        ("> @sisyphus-dev-ai quoted\n\n@sisyphus-dev-ai real one", Some("real one")),
        ("```\n@sisyphus-dev-ai no\n```\n@sisyphus-dev-ai yes", Some("yes")),
    ];
    for (body, expected) in cases {
        let decision = gate::decide(&comment(body), &config);
        match (expected, &decision) {
            (Some(request), Decision::Act { request: got }) => assert_eq!(got, request, "{body:?}"),
            (None, Decision::Skip { reason }) => assert!(reason.contains("is not mentioned"), "{body:?}: {reason}"),
            _ => panic!("{body:?}: unexpected {decision:?}"),
        }
    }
    let marked = gate::decide(&comment(&format!("{MARKER}\n@sisyphus-dev-ai done")), &config);
    assert!(matches!(marked, Decision::Skip { ref reason } if reason.contains("marker")), "{marked:?}");
}

#[test]
fn custom_phrase_and_allowed_bots() {
    let c = config(&[("phrase", "/fix")]);
    assert_eq!(gate::decide(&comment("/fix the build"), &c), Decision::Act { request: "the build".into() });
    let mut bot = comment("@sisyphus-dev-ai go");
    bot.author.login = "renovate[bot]".into();
    bot.author.is_bot = true;
    assert!(matches!(gate::decide(&bot, &config(&[])), Decision::Skip { .. }));
    assert!(matches!(gate::decide(&bot, &config(&[("bots", "renovate")])), Decision::Act { .. }));
    assert!(matches!(gate::decide(&bot, &config(&[("bots", "*")])), Decision::Act { .. }));
    // The bot's own App account is the bot itself, even when bots are allowed.
    bot.author.login = "sisyphus-dev-ai[bot]".into();
    let own = gate::decide(&bot, &config(&[("bots", "*")]));
    assert!(matches!(own, Decision::Skip { ref reason } if reason.contains("is the bot itself")), "{own:?}");
}

#[test]
fn bad_input_is_one_clear_line() {
    let payload = fixture("events/issue_comment.created.payload.json");
    let payload = payload.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, "{\"action\": \"created\", ").unwrap();
    let malformed = malformed.to_str().unwrap();
    let mention = fixture("events/issue_comment.created.mention.json");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("GITHUB_EVENT_NAME", "issue_comment")], "`GITHUB_EVENT_PATH` is not set"),
        (&[("GITHUB_EVENT_PATH", payload)], "`GITHUB_EVENT_NAME` is not set"),
        (
            &[("GITHUB_EVENT_NAME", "issue_comment"), ("GITHUB_EVENT_PATH", "/nonexistent/event.json")],
            "cannot read the event payload `/nonexistent/event.json`",
        ),
        (
            &[("GITHUB_EVENT_NAME", "issue_comment"), ("GITHUB_EVENT_PATH", malformed)],
            "malformed.json` is not valid JSON",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "issue_comment"),
                ("GITHUB_EVENT_PATH", payload),
                ("INPUT_TIMEOUT_MINUTES", "soon"),
            ],
            "input `timeout-minutes` must be a number of minutes between 1 and 360, got `soon`",
        ),
        (
            &[("GITHUB_EVENT_NAME", "issue_comment"), ("GITHUB_EVENT_PATH", payload), ("INPUT_DRY_RUN", "maybe")],
            "input `dry-run` must be true or false",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "issue_comment"),
                ("GITHUB_EVENT_PATH", mention.to_str().unwrap()),
                ("INPUT_PROMPT_TEMPLATE", "/nonexistent/prompt.hbs"),
                ("INPUT_DRY_RUN", "true"),
                KEY,
            ],
            "cannot read the prompt template `/nonexistent/prompt.hbs`",
        ),
    ];
    for (env, message) in cases {
        let r = run(&["run"], env);
        assert_eq!(r.code, 2, "{message}: {}", r.stderr);
        let line = r.one_line_error();
        assert!(line.contains(message), "`{line}` lacks `{message}`");
    }
    // An unknown event is not an error: it is a skip.
    let r = run(&["run"], &[("GITHUB_EVENT_NAME", "star"), ("GITHUB_EVENT_PATH", payload)]);
    assert_eq!((r.code, r.output("triggered")), (0, "false"), "{}", r.stderr);
}

/// Every input an unset action input sends (`""`) means "the default".
#[test]
fn empty_inputs_mean_defaults() {
    let empty: Vec<(String, &str)> = [
        "TRIGGER_PHRASE",
        "TRIGGER_LABEL",
        "ALLOWED_ASSOCIATIONS",
        "BOT_LOGIN",
        "ALLOWED_BOTS",
        "LABEL",
        "GITHUB_TOKEN",
        "DRY_RUN",
        "PROMPT_TEMPLATE",
        "RUNTIME",
        "AGENT_COMMAND",
        "MODEL",
        "VARIANT",
        "AGENT",
        "PLUGINS",
        "OPENCODE_CONFIG",
        "OPENCODE_PATH",
        "OPENCODE_VERSION",
        "TIMEOUT_MINUTES",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "BRANCH_PREFIX",
        "GIT_USER_NAME",
        "GIT_USER_EMAIL",
        "CO_AUTHOR",
        "ALLOW_PUSH",
        "ALLOW_PR",
        "ALLOW_COMMENTS",
        "DRAFT_PR",
        "ALLOW_FORK_PUSH",
    ]
    .iter()
    .map(|n| (format!("INPUT_{n}"), ""))
    .collect();
    let mut env: Vec<(&str, &str)> = empty.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let skip_payload = fixture("events/issue_comment.created.payload.json");
    env.extend([("GITHUB_EVENT_NAME", "issue_comment"), ("GITHUB_EVENT_PATH", skip_payload.to_str().unwrap())]);
    let r = run(&["run"], &env);
    assert_eq!((r.code, r.output("triggered")), (0, "false"), "{}", r.stderr);

    let act_payload = fixture("events/issue_comment.created.mention.json");
    *env.last_mut().unwrap() = ("GITHUB_EVENT_PATH", act_payload.to_str().unwrap());
    let (_dir, work) = ready();
    env.extend([("GITHUB_WORKSPACE", work.as_str()), KEY]);
    let r = run(&["run", "--dry-run"], &env);
    assert_eq!((r.code, r.output("triggered")), (0, "true"), "{}", r.stderr);
    assert!(r.stdout.contains("for at most 30 minute(s)"), "default timeout:\n{}", r.stdout);
}

#[test]
fn manual_run_needs_no_payload() {
    let (_dir, work) = ready_for("octo/repo");
    let r = run(
        &["run", "--dry-run", "--repo", "octo/repo", "--issue", "7", "--prompt", "bump the version"],
        &[("GITHUB_WORKSPACE", &work), KEY],
    );
    assert_eq!((r.code, r.output("triggered")), (0, "true"), "{}", r.stderr);
    assert!(r.stdout.contains("act on octo/repo#7: a manual run from the command line"), "{}", r.stdout);
    assert!(r.stdout.contains("Request: bump the version"), "{}", r.stdout);

    let r = run(&["run", "--dry-run", "--prompt", "x"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.one_line_error().contains("needs `--repo owner/name`"));
}

proptest::proptest! {
    /// Any text (markdown-ish noise, unicode, broken HTML) parses without a panic, and a
    /// mention found always points at the phrase in the raw body. (The sanitiser's own
    /// property lives in `src/sanitize.rs`.)
    #[test]
    fn mention_never_panics(body in r"(@sisyphus-dev-ai|[`>*_\[\]()<!\-&#;x0-9 \n]|\PC){0,80}") {
        if let Some(m) = sisyphus_action::mention::find(&body, "@sisyphus-dev-ai") {
            proptest::prop_assert!(body[m.span.clone()].eq_ignore_ascii_case("@sisyphus-dev-ai"));
            proptest::prop_assert_eq!(m.request.trim(), m.request.as_str());
        }
    }
}
