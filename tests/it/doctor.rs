//! `sisyphus-action doctor` through the real binary, against the fake GitHub: every check's
//! pass path and fail path with its fix text, the exit codes (0 all pass, 1 a check fails,
//! 2 a usage error), and that doctor only ever reads from GitHub. `--check-model` against a
//! small fake provider (Anthropic messages and OpenAI-compatible chat completions).

use crate::support::fake_github;
use crate::support::{actions, fixtures};

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actions::{Ran, run};
use fake_github::{FakeGithub, Fault, FaultKind};
use fixtures::ready_for;
use serde_json::json;

const REPO: &str = "octo/doc";
const TOKEN: &str = "ghp_doctorToken0123456789";
const KEY: &str = "sk-ant-doctorKey0123";
const WORKFLOW: &str = include_str!("../../examples/sisyphus.yml");

/// The fake GitHub as a well set-up repository would answer, and a clone of it with the
/// example workflow.
struct Scene {
    gh: FakeGithub,
    _dir: tempfile::TempDir,
    work: String,
}

impl Scene {
    fn new() -> Self {
        let gh = FakeGithub::start();
        gh.expect_token(TOKEN);
        gh.set_repo_permissions(
            json!({ "admin": false, "maintain": false, "push": true, "triage": true, "pull": true }),
        );
        gh.seed_branch(REPO, "main", true);
        gh.set_actions_can_create_pulls(true);
        let (dir, work) = ready_for(REPO);
        let scene = Self { gh, _dir: dir, work };
        scene.workflow("sisyphus.yml", WORKFLOW);
        scene
    }

    fn workflow(&self, name: &str, text: &str) {
        let dir = std::path::Path::new(&self.work).join(".github/workflows");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn env(&self) -> Vec<(String, String)> {
        [
            ("GITHUB_API_URL", self.gh.api_url()),
            ("GITHUB_GRAPHQL_URL", self.gh.graphql_url()),
            ("GITHUB_WORKSPACE", self.work.clone()),
            ("GITHUB_TOKEN", TOKEN.to_owned()),
            ("ANTHROPIC_API_KEY", KEY.to_owned()),
            ("SISYPHUS_RETRY_BASE_MS", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// `doctor --repo octo/doc <args>`, with `env` changed by `changes` (an empty value removes).
    fn doctor(&self, args: &[&str], changes: &[(&str, &str)]) -> Ran {
        let mut env = self.env();
        for (k, v) in changes {
            env.retain(|(name, _)| name != k);
            if !v.is_empty() {
                env.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut argv = vec!["doctor", "--repo", REPO];
        argv.extend_from_slice(args);
        let r = run(&argv, &env);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN), "the token was shown");
        // Doctor reads; it never writes to GitHub.
        let writes: Vec<String> = self.gh.request_lines().into_iter().filter(|l| !l.starts_with("GET ")).collect();
        assert_eq!(writes, Vec::<String>::new());
        assert_eq!(self.gh.violations(), Vec::<String>::new());
        r
    }
}

/// `[mark] name: …` is in the checklist, and (for a failure or warning) the fix that follows
/// it contains `fix`.
fn assert_line(r: &Ran, mark: &str, name: &str, detail: &str, fix: Option<&str>) {
    let lines: Vec<&str> = r.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(&format!("{mark} {name}:")) && l.contains(detail))
        .unwrap_or_else(|| panic!("no `{mark} {name}: …{detail}…` in:\n{}\n{}", r.stdout, r.stderr));
    if let Some(fix) = fix {
        let next = lines.get(at + 1).copied().unwrap_or_default();
        assert!(next.trim_start().starts_with("fix:") && next.contains(fix), "no fix `{fix}` after:\n{}", r.stdout);
    }
}

#[test]
fn a_good_setup_passes_every_check() {
    let sc = Scene::new();
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_line(&r, "[pass]", "preflight", "every input", None);
    assert_line(&r, "[pass]", "repository", "can read `octo/doc` (default branch `main`)", None);
    assert_line(&r, "[pass]", "permissions", "may write", None);
    assert_line(&r, "[pass]", "default branch", "`main` exists and is protected", None);
    assert_line(&r, "[pass]", "pull requests", "may create pull requests", None);
    assert_line(
        &r,
        "[pass]",
        "workflow sisyphus.yml",
        "agrees with `@sisyphus-dev-ai`, `sisyphus` and `sisyphus-dev-ai`",
        None,
    );
    assert!(r.stdout.contains("0 failed"), "{}", r.stdout);
}

#[test]
fn token_and_repository_failures_name_their_fix() {
    let sc = Scene::new();
    let r = sc.doctor(&[], &[("GITHUB_TOKEN", "")]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "token", "no GitHub token", Some("set `GITHUB_TOKEN`"));

    let r = sc.doctor(&[], &[("GITHUB_TOKEN", "ghp_someOtherToken")]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "repository", "GitHub refused the token", Some("not expired"));

    sc.gh.fault(Fault::on("GET", "/repos/octo/doc").kind(FaultKind::Status(404)));
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "repository", "not visible with this token (404)", Some("check `--repo`"));
}

#[test]
fn permissions_come_from_the_account_or_the_classic_scopes() {
    let sc = Scene::new();
    sc.gh.set_repo_permissions(json!({ "admin": false, "push": false, "triage": true, "pull": true }));
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "permissions", "has `triage` access", Some("give the account write access"));

    sc.gh.set_oauth_scopes("read:org, gist");
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "permissions", "scopes are `read:org, gist`", Some("the `repo` scope"));

    sc.gh.set_oauth_scopes("repo");
    let r = sc.doctor(&["--allow-workflow-changes", "true"], &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "permissions", "lacks the `workflow` scope", Some("add the `workflow` scope"));

    // A GITHUB_TOKEN or App token: GitHub says nothing, which is a warning, not a failure.
    let plain = Scene::new();
    plain.gh.set_repo_permissions(serde_json::Value::Null);
    let r = plain.doctor(&[], &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_line(&r, "[warn]", "permissions", "does not say", Some("pull-requests: write"));
}

#[test]
fn default_branch_and_pull_request_setting() {
    let sc = Scene::new();
    let r = {
        let fresh = Scene::new();
        fresh.gh.set_default_branch("trunk");
        fresh.doctor(&[], &[])
    };
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "default branch", "`trunk` does not exist", Some("push a first commit to `trunk`"));

    // The job's own token (`ghs_…` in Actions) cannot open a PR when the setting is off.
    sc.gh.set_actions_can_create_pulls(false);
    let actions = [("GITHUB_ACTIONS", "true"), ("GITHUB_TOKEN", "ghs_jobToken0123")];
    let job = Scene::new();
    job.gh.expect_token("ghs_jobToken0123");
    job.gh.set_actions_can_create_pulls(false);
    let r = job.doctor(&[], &actions);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "pull requests", "may not create pull requests", Some("Allow GitHub Actions to create"));
    assert!(r.stdout.contains("::error title=doctor%3A pull requests::"), "an annotation in Actions:\n{}", r.stdout);
    // Another token is not stopped by the setting: a warning.
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_line(&r, "[warn]", "pull requests", "only stops the job's own GITHUB_TOKEN", Some("turn on"));
    let r = sc.doctor(&["--allow-pr", "false"], &[]);
    assert_line(&r, "[skip]", "pull requests", "opens no pull request", None);
}

#[test]
fn the_pull_request_setting_unreadable_without_admin_rights_is_a_warning() {
    let sc = Scene::new();
    let gh = FakeGithub::start();
    gh.expect_token(TOKEN);
    gh.seed_branch(REPO, "main", false);
    let sc = Scene { gh, ..sc };
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_line(&r, "[pass]", "default branch", "is not protected", None);
    assert_line(&r, "[warn]", "pull requests", "needs admin rights", Some("by hand"));
}

#[test]
fn workflow_files_are_checked_against_our_phrase_label_and_bot() {
    let sc = Scene::new();
    let other = WORKFLOW.replace("'@sisyphus-dev-ai'", "'@helper-bot'");
    sc.workflow("sisyphus.yml", &other);
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(
        &r,
        "[FAIL]",
        "workflow sisyphus.yml",
        "looks for the phrase `@helper-bot`, but `trigger-phrase` is `@sisyphus-dev-ai`",
        Some("set `trigger-phrase: @helper-bot`"),
    );
    // The same phrase given to the step (`with:`) is what its runs use: it agrees.
    let with = other.replace("anthropic-api-key:", "trigger-phrase: '@helper-bot'\n          anthropic-api-key:");
    sc.workflow("sisyphus.yml", &with);
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    let label = WORKFLOW.replace("label.name == 'sisyphus'", "label.name == 'ai'");
    sc.workflow("sisyphus.yml", &label);
    let r = sc.doctor(&[], &[]);
    assert_line(&r, "[FAIL]", "workflow sisyphus.yml", "looks for the label `ai`", Some("`trigger-label: ai`"));

    let bot = WORKFLOW.replace("sender.login != 'sisyphus-dev-ai'", "sender.login != 'old-bot'");
    sc.workflow("sisyphus.yml", &bot);
    let r = sc.doctor(&[], &[]);
    assert_line(&r, "[FAIL]", "workflow sisyphus.yml", "skips events of `old-bot`", Some("`bot-login: old-bot`"));

    let read_only = WORKFLOW.replace("      issues: write\n", "");
    sc.workflow("sisyphus.yml", &read_only);
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "workflow sisyphus.yml", "not granted `issues: write`", Some("permissions:"));

    std::fs::remove_file(std::path::Path::new(&sc.work).join(".github/workflows/sisyphus.yml")).unwrap();
    sc.workflow("ci.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n");
    let r = sc.doctor(&[], &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_line(&r, "[warn]", "workflow", "no workflow under", Some("examples/sisyphus.yml"));
}

#[test]
fn the_preflight_is_part_of_the_checklist() {
    let sc = Scene::new();
    let r = sc.doctor(&[], &[("ANTHROPIC_API_KEY", "")]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "preflight", "add the `ANTHROPIC_API_KEY` secret", Some("anthropic-api-key"));

    let r = sc.doctor(&["--timeout-minutes", "1e300"], &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "inputs", "between 1 and 360", Some("`timeout-minutes`"));

    // Run in a clone of another repository: the work tree check fails, with its fix.
    let (_other, elsewhere) = ready_for("someone/else");
    let r = sc.doctor(&[], &[("GITHUB_WORKSPACE", &elsewhere)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "preflight", "which is not `octo/doc`", Some("run doctor in a clone"));
}

#[test]
fn usage_errors_exit_2() {
    let r = run(&["doctor"], &[("GITHUB_TOKEN", TOKEN)]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--repo owner/name"), "{}", r.stderr);
    let r = run(&["doctor", "--no-such-flag"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A provider on 127.0.0.1 answering every request with `status` and `body`; records each
/// request's head and body.
fn provider(status: u16, body: serde_json::Value) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut conn) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // The head, then as much body as content-length says.
            while let Ok(n) = conn.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if rest.len() >= len {
                        break;
                    }
                }
            }
            record.lock().unwrap().push(String::from_utf8_lossy(&buf).to_string());
            let text = body.to_string();
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    (url, seen)
}

#[test]
fn check_model_proves_the_key_and_the_model() {
    let sc = Scene::new();
    // Opt-in: without the flag no request goes to the provider.
    let (url, seen) = provider(200, json!({ "content": [{ "type": "text", "text": "OK" }] }));
    let r = sc.doctor(&[], &[("ANTHROPIC_BASE_URL", &url)]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(seen.lock().unwrap().is_empty(), "the model was asked without --check-model");
    let r = sc.doctor(&["--check-model"], &[("ANTHROPIC_BASE_URL", &url)]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_line(&r, "[pass]", "model", "`anthropic/claude-opus-4-5` answered", None);
    let request = seen.lock().unwrap()[0].clone();
    assert!(request.starts_with("POST /v1/messages "), "{request}");
    assert!(request.to_ascii_lowercase().contains(&format!("x-api-key: {KEY}").to_ascii_lowercase()), "{request}");
    assert!(request.contains(r#""max_tokens":1"#) && request.contains(r#""model":"claude-opus-4-5""#), "{request}");

    let (url, _) = provider(
        401,
        json!({ "type": "error", "error": { "type": "authentication_error", "message": "invalid x-api-key" } }),
    );
    let r = sc.doctor(&["--check-model"], &[("ANTHROPIC_BASE_URL", &url)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(&r, "[FAIL]", "model", "refused the key (401): invalid x-api-key", Some("`anthropic-api-key`"));

    // An OpenAI-compatible provider: chat completions with a bearer key; an unknown model.
    let (url, seen) = provider(404, json!({ "error": { "message": "The model `nope` does not exist" } }));
    let openai = [("OPENAI_API_KEY", "sk-openai-doctor"), ("OPENAI_BASE_URL", url.as_str())];
    let r = sc.doctor(&["--check-model", "--model", "openai-compatible/nope"], &openai);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_line(
        &r,
        "[FAIL]",
        "model",
        "does not know the model `nope`",
        Some("valid ids look like `openai-compatible/…`"),
    );
    let request = seen.lock().unwrap()[0].clone();
    assert!(request.starts_with("POST /v1/chat/completions "), "{request}");
    assert!(request.to_ascii_lowercase().contains("authorization: bearer sk-openai-doctor"), "{request}");
}

/// `doctor: true` makes the action's `run` the checklist: nothing is acted on, even for an
/// event that would trigger a run.
#[test]
fn the_doctor_input_runs_the_checklist_instead_of_the_lifecycle() {
    let sc = Scene::new();
    let payload = fixtures::fixture("events/issue_comment.created.mention.json");
    let mut env = sc.env();
    env.extend(
        [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "issue_comment"),
            ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
            ("GITHUB_REPOSITORY", REPO),
            ("INPUT_DOCTOR", "true"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = run(&["run"], &env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("sisyphus-action doctor: octo/doc"), "{}", r.stdout);
    assert!(r.stdout.contains("[pass] workflow sisyphus.yml"), "{}", r.stdout);
    let lines = sc.gh.request_lines();
    assert!(lines.iter().all(|l| l.starts_with("GET ")), "the event was acted on: {lines:?}");
    assert!(sc.gh.reactions().is_empty());

    // A value that is not a boolean is the preflight's usage error, as for any input.
    let mut bad = env.clone();
    bad.retain(|(k, _)| *k != "INPUT_DOCTOR");
    bad.push(("INPUT_DOCTOR", "ture"));
    let r = run(&["run"], &bad);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("::error title=input doctor::"), "{}", r.stdout);
}
