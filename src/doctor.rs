//! `sisyphus-action doctor`: is this setup going to work? The preflight (every input, the
//! provider's key, the template, the work tree and its remote), then what needs the network:
//! the token can read the repository and may write to it, the default branch and its
//! protection, whether GitHub Actions may open pull requests, the workflow files that use this
//! action against our trigger phrase, label and bot login, and (`--check-model`, opt-in: it
//! costs a request) one tiny request to the model's provider. Printed as a checklist, each
//! failure with its fix. Nothing is written anywhere: every request is a read, but the model's.
//!
//! Exit 0 when every check passes (warnings allowed), 1 when one fails, 2 for a usage error
//! (no repository to check, flags that do not parse).

use std::path::Path;
use std::process::ExitCode;

use http::header::HeaderMap;
use serde_json::{Value, json};

use crate::cli::RunArgs;
use crate::config::{Config, ManualRequest};
use crate::exit::{self, UsageError};
use crate::gha::{self, Gha};
use crate::github::{Client, GithubError};
use crate::preflight::{self, InputError};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Could not be told, or does not matter for this setup: not a failure.
    Warn,
    Fail,
    /// Not run, because an earlier check failed or it does not apply.
    Skip,
}

impl Status {
    fn mark(self) -> &'static str {
        match self {
            Self::Pass => "[pass]",
            Self::Warn => "[warn]",
            Self::Fail => "[FAIL]",
            Self::Skip => "[skip]",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do, for a failure or a warning.
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Self {
        Self { name: name.to_owned(), status, detail: detail.into(), fix }
    }
    fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Pass, detail, None)
    }
    fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail, Some(fix.into()))
    }
    fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, detail, Some(fix.into()))
    }
    fn skip(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, detail, None)
    }
}

/// The whole doctor: checks, prints, exit code.
pub fn main(args: &RunArgs, check_model: bool) -> ExitCode {
    let gha = Gha::new(args.env.actions.as_deref().is_some_and(|v| v.trim() == "true"));
    let mut checks = Vec::new();
    let config = match Config::from_args(args) {
        Ok(config) => Some(config),
        Err(e) => match e.downcast_ref::<InputError>() {
            Some(input) => {
                checks.push(Check::fail("inputs", input.to_string(), input_fix(input)));
                None
            }
            None => {
                crate::preflight::annotate(&gha, &e, &[]);
                return ExitCode::from(exit::USAGE);
            }
        },
    };
    let Some(mut config) = config else {
        print(&gha, None, &checks);
        return ExitCode::from(exit::FAILURE);
    };
    for secret in config.secrets() {
        gha.mask(&secret);
    }
    crate::log::init(config.github.actions, &config.log);
    if config.github.repository.is_empty() {
        let e = anyhow::Error::new(UsageError(
            "doctor needs the repository to check: pass `--repo owner/name` (in Actions, `GITHUB_REPOSITORY` says)"
                .into(),
        ));
        crate::preflight::annotate(&gha, &e, &config.secrets());
        return ExitCode::from(exit::USAGE);
    }
    // Outside Actions this directory stands for the repository (its workflow files are read
    // here): the preflight checks its remote as it does for a local run.
    if !config.github.actions && config.manual.is_none() {
        let remote = args.remote.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
        config.manual = Some(ManualRequest { remote, ..ManualRequest::default() });
    }
    checks.extend(run_checks(&config, check_model));
    print(&gha, Some(&config), &checks);
    let failed = checks.iter().any(|c| c.status == Status::Fail);
    ExitCode::from(if failed { exit::FAILURE } else { exit::SUCCESS })
}

/// Every check, in checklist order.
pub fn run_checks(config: &Config, check_model: bool) -> Vec<Check> {
    let mut checks = vec![match preflight::check(config) {
        Ok(()) => Check::pass("preflight", preflight::summary(config)),
        Err(e) => Check::fail("preflight", e.to_string(), input_fix(&e)),
    }];
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            checks.push(Check::fail("network", format!("cannot start the async runtime: {e}"), "run it again"));
            return checks;
        }
    };
    runtime.block_on(async {
        checks.extend(github_checks(config).await);
        checks.extend(workflow_checks(config, &config.github.workspace.join(".github/workflows")));
        if check_model {
            checks.push(model_check(config).await);
        }
    });
    checks
}

fn input_fix(e: &InputError) -> String {
    match e.input.as_str() {
        "work tree" => "run doctor in a clone of the repository (in Actions: after actions/checkout)".into(),
        flag if flag.starts_with("--") => format!("pass a valid `{flag}` (see `sisyphus-action doctor --help`)"),
        input => format!("give the `{input}` input a valid value (see the README's inputs table)"),
    }
}

/// The checks that ask GitHub: what the token can see and do, and the repository's settings.
async fn github_checks(config: &Config) -> Vec<Check> {
    let repo = &config.github.repository;
    let Some(token) = config.token.as_deref() else {
        return vec![Check::fail(
            "token",
            "no GitHub token: nothing can be checked against GitHub",
            "set `GITHUB_TOKEN` (or pass `--github-token`); in a workflow the `github-token` input defaults to the job's token",
        )];
    };
    let client = match Client::new(&config.github, token) {
        Ok(client) => client,
        Err(e) => return vec![Check::fail("token", format!("{e:#}"), "use the token exactly as GitHub issued it")],
    };
    let (body, headers) = match client.get_with_headers(&format!("/repos/{repo}")).await {
        Ok(found) => found,
        Err(e) => return vec![repository_failure(repo, &e)],
    };
    let default_branch = body.get("default_branch").and_then(Value::as_str).unwrap_or("main").to_owned();
    let mut checks =
        vec![Check::pass("repository", format!("the token can read `{repo}` (default branch `{default_branch}`)"))];
    checks.push(permissions_check(config, &body, &headers));
    checks.push(branch_check(&client, repo, &default_branch).await);
    checks.push(pull_request_check(&client, config, token).await);
    checks
}

fn repository_failure(repo: &str, e: &GithubError) -> Check {
    match e {
        GithubError::NotFound(_) => Check::fail(
            "repository",
            format!("`{repo}` is not visible with this token (404)"),
            "check `--repo` (or `GITHUB_REPOSITORY`), and that the token may read the repository (a fine-grained \
             token must list it; an App must be installed on it)",
        ),
        GithubError::Forbidden(message) => Check::fail(
            "repository",
            format!("GitHub refused the token: {message}"),
            "use a token that is valid and not expired (`GITHUB_TOKEN`, or the `github-token` input)",
        ),
        other => Check::fail(
            "repository",
            format!("cannot read `{repo}`: {other}"),
            "check `GITHUB_API_URL` and the network, then run doctor again",
        ),
    }
}

/// What a run needs: reactions, labels and replies (`issues`/`pull-requests: write`), a push
/// (`contents: write`) and a pull request (`pull-requests: write`). A user's token shows its
/// account's access in the repository's `permissions`; a classic token its scopes in
/// `x-oauth-scopes`; a GITHUB_TOKEN or App token neither (the workflow check reads the job's
/// `permissions:` instead).
pub fn permissions_check(config: &Config, repo: &Value, headers: &HeaderMap) -> Check {
    const NAME: &str = "permissions";
    let grant = "contents: write, issues: write, pull-requests: write";
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(scopes) = header("x-oauth-scopes") {
        let scopes: Vec<&str> = scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let private = repo.get("private").and_then(Value::as_bool).unwrap_or(true);
        let enough = scopes.contains(&"repo") || (!private && scopes.contains(&"public_repo"));
        if !enough {
            return Check::fail(
                NAME,
                format!("the classic token's scopes are `{}`, which cannot write to the repository", scopes.join(", ")),
                "create the token with the `repo` scope (`public_repo` is enough for a public repository)",
            );
        }
        if config.publish.allow_workflow_changes && !scopes.contains(&"workflow") {
            return Check::fail(
                NAME,
                "`allow-workflow-changes` is on, but the token lacks the `workflow` scope",
                "add the `workflow` scope to the token, or turn `allow-workflow-changes` off",
            );
        }
    }
    match repo.pointer("/permissions/push").and_then(Value::as_bool) {
        Some(true) => Check::pass(NAME, format!("the token may write to the repository ({grant})")),
        Some(false) => {
            let role = ["maintain", "triage", "pull"]
                .into_iter()
                .find(|r| repo.pointer(&format!("/permissions/{r}")).and_then(Value::as_bool) == Some(true))
                .unwrap_or("no");
            Check::fail(
                NAME,
                format!("the token's account has `{role}` access, but a run needs write access ({grant})"),
                "give the account write access to the repository, or use a token of one that has it",
            )
        }
        None if header("x-oauth-scopes").is_some() => Check::pass(NAME, "the classic token has the `repo` scope"),
        None => Check::warn(
            NAME,
            "GitHub does not say what this token may do (a GITHUB_TOKEN or an App token)",
            format!("grant the job `permissions:` {grant} (the workflow check reads them)"),
        ),
    }
}

async fn branch_check(client: &Client, repo: &str, branch: &str) -> Check {
    const NAME: &str = "default branch";
    let path = format!("/repos/{repo}/branches/{}", crate::github::encode_segment(branch));
    match client.rest(http::Method::GET, &path, None).await {
        Ok(found) if found.get("protected").and_then(Value::as_bool) == Some(true) => Check::pass(
            NAME,
            format!("`{branch}` exists and is protected (fine: the action never pushes to it, it opens pull requests)"),
        ),
        Ok(_) => Check::pass(
            NAME,
            format!("`{branch}` exists and is not protected (the action never pushes to it; protecting it is wise)"),
        ),
        Err(GithubError::NotFound(_)) => Check::fail(
            NAME,
            format!("`{branch}` does not exist: the repository has no commits to branch from"),
            format!("push a first commit to `{branch}`"),
        ),
        Err(e) => {
            Check::warn(NAME, format!("cannot read `{branch}`: {e}"), "check the token's access to the repository")
        }
    }
}

/// "Allow GitHub Actions to create and approve pull requests": without it, a GITHUB_TOKEN's
/// pull request is refused (a push still works, and the reply links to open one by hand).
async fn pull_request_check(client: &Client, config: &Config, token: &str) -> Check {
    const NAME: &str = "pull requests";
    if !config.publish.allow_pr || !config.publish.allow_push {
        return Check::skip(NAME, "the run opens no pull request (`allow-pr` or `allow-push` is off)");
    }
    let setting = "Settings → Actions → General → Workflow permissions → \"Allow GitHub Actions to create and \
                   approve pull requests\"";
    // Installation tokens start with `ghs_`: the job's GITHUB_TOKEN (in Actions) or an App's.
    let job_token = config.github.actions && token.starts_with("ghs_");
    let path = format!("/repos/{}/actions/permissions/workflow", config.github.repository);
    match client.rest(http::Method::GET, &path, None).await {
        Ok(found) => match found.get("can_approve_pull_request_reviews").and_then(Value::as_bool) {
            Some(true) => Check::pass(NAME, "GitHub Actions may create pull requests in this repository"),
            Some(false) if job_token => Check::fail(
                NAME,
                "GitHub Actions may not create pull requests in this repository, so the job's token cannot open one",
                format!("turn on {setting}, or pass a bot account's token as `github-token`"),
            ),
            _ => Check::warn(
                NAME,
                "GitHub Actions may not create pull requests here; that only stops the job's own GITHUB_TOKEN",
                format!("when the workflow uses the job's token, turn on {setting}"),
            ),
        },
        Err(e) => Check::warn(
            NAME,
            format!("cannot read the Actions setting ({e}); reading it needs admin rights"),
            format!("check {setting} by hand"),
        ),
    }
}

/// The workflow files that use this action, read as text (the binary carries no YAML parser):
/// their job-level `if:` pre-filter must look for our phrase and label and skip our bot, and
/// the job must be granted the permissions a run needs. A `with:` value in the file wins over
/// this run's input, since it is what the workflow's runs will use.
pub fn workflow_checks(config: &Config, dir: &Path) -> Vec<Check> {
    const NAME: &str = "workflow";
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    let mut checks = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        if !uses_this_action(&text) {
            continue;
        }
        let file = path.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        checks.extend(workflow_file(config, &file, &text));
    }
    if checks.is_empty() {
        checks.push(Check::warn(
            NAME,
            format!("no workflow under `{}` uses sisyphus-action", dir.display()),
            "copy `examples/sisyphus.yml` to `.github/workflows/sisyphus.yml` (see the README)",
        ));
    }
    checks
}

fn uses_this_action(text: &str) -> bool {
    text.lines().map(str::trim).any(|l| {
        let l = l.trim_start_matches("- ");
        l.starts_with("uses:") && l.contains("sisyphus-action")
    })
}

/// The checks of one workflow file.
fn workflow_file(config: &Config, file: &str, text: &str) -> Vec<Check> {
    let name = format!("workflow {file}");
    let phrase = with_value(text, "trigger-phrase").unwrap_or_else(|| config.trigger_phrase.clone());
    let label = with_value(text, "trigger-label").unwrap_or_else(|| config.trigger_label.clone());
    let bot = with_value(text, "bot-login").unwrap_or_else(|| config.bot_login.clone());
    let mut checks = Vec::new();
    let found = |needle: &str| quoted_after(text, needle);
    let compare = |what: &str, found: Vec<String>, ours: &str, input: &str| {
        let differs: Vec<String> = found.iter().filter(|f| !f.eq_ignore_ascii_case(ours)).cloned().collect();
        if differs.is_empty() {
            return None;
        }
        Some(Check::fail(
            &name,
            format!("the job's `if:` {what} `{}`, but `{input}` is `{ours}`", differs.join("`, `")),
            format!("make them the same: change the `if:` to `{ours}`, or set `{input}: {}`", differs[0]),
        ))
    };
    let mut problems = Vec::new();
    problems.extend(compare("looks for the phrase", found("contains("), &phrase, "trigger-phrase"));
    problems.extend(compare("looks for the label", found("github.event.label.name =="), &label, "trigger-label"));
    problems.extend(compare("skips events of", found("github.event.sender.login !="), &bot, "bot-login"));
    let missing: Vec<&str> = ["contents: write", "issues: write", "pull-requests: write"]
        .into_iter()
        .filter(|grant| !text.contains(grant))
        .collect();
    if !missing.is_empty() && !text.contains("write-all") {
        problems.push(Check::fail(
            &name,
            format!(
                "the job is not granted `{}`, so the run cannot react, reply, push or open a PR",
                missing.join("`, `")
            ),
            "add to the job: `permissions: {contents: write, issues: write, pull-requests: write}`",
        ));
    }
    if problems.is_empty() {
        checks.push(Check::pass(
            &name,
            format!(
                "uses this action; its `if:` agrees with `{phrase}`, `{label}` and `{bot}`, and it grants what a run needs"
            ),
        ));
    }
    checks.extend(problems);
    checks
}

/// `key: value` in the file (a step's `with:`), unquoted.
fn with_value(text: &str, key: &str) -> Option<String> {
    text.lines().map(str::trim).find_map(|l| {
        let value = l.strip_prefix(key)?.strip_prefix(':')?.trim();
        let value = value.split(" #").next().unwrap_or(value).trim().trim_matches(['"', '\'']);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// Every `'…'` string that is the last argument of `needle…)` (`contains(x.body, '@bot')`) or
/// the operand right after it (`login != 'bot'`).
fn quoted_after(text: &str, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(needle) {
        let rest = &text[at + needle.len()..];
        let scope = if needle.ends_with('(') { rest.split(')').next().unwrap_or(rest) } else { rest };
        // `contains(` also tests lists (`contains(fromJSON(…), …association)`): only a body's
        // text is the phrase pre-filter.
        if needle.ends_with('(') && !scope.split(',').next().is_some_and(|first| first.trim().ends_with(".body")) {
            continue;
        }
        let quoted = if needle.ends_with('(') {
            scope.rsplit_once('\'').and_then(|(before, _)| before.rsplit_once('\'')).map(|(_, q)| q)
        } else {
            scope.trim_start().strip_prefix('\'').and_then(|q| q.split_once('\'')).map(|(q, _)| q)
        };
        if let Some(q) = quoted.filter(|q| !q.is_empty()) {
            out.push(q.to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// One tiny request (one token of answer) to the model's provider, with the key and base URL
/// a run would use.
async fn model_check(config: &Config) -> Check {
    const NAME: &str = "model";
    let a = &config.agent;
    let Some((provider, model)) = a.model.split_once('/') else {
        return Check::fail(NAME, format!("`{}` is not provider/model", a.model), "set `model` to provider/model");
    };
    let prompt = json!([{ "role": "user", "content": "Reply with OK." }]);
    let (url, key, body, key_input) = match provider {
        "anthropic" => (
            format!(
                "{}/messages",
                a.anthropic_base_url.as_deref().unwrap_or("https://api.anthropic.com/v1").trim_end_matches('/')
            ),
            a.anthropic_api_key.clone(),
            json!({ "model": model, "max_tokens": 1, "messages": prompt }),
            "anthropic-api-key",
        ),
        "openai" | crate::runtime::opencode::config::OPENAI_COMPATIBLE => {
            let base = a.openai_base_url.as_deref().unwrap_or("https://api.openai.com/v1").trim_end_matches('/');
            (
                format!("{base}/chat/completions"),
                a.openai_api_key.clone(),
                json!({ "model": model, "max_tokens": 1, "messages": prompt }),
                "openai-api-key",
            )
        }
        other => {
            return Check::skip(
                NAME,
                format!("provider `{other}` is not checked (only Anthropic and OpenAI-compatible are)"),
            );
        }
    };
    let Some(key) = key else {
        return Check::fail(
            NAME,
            format!("no key for provider `{provider}`"),
            format!("pass the key as `{key_input}` (or its environment variable)"),
        );
    };
    match post_model(&url, provider, &key, &body).await {
        Ok((status, _)) if (200..300).contains(&status) => {
            Check::pass(NAME, format!("`{}` answered with the given key", a.model))
        }
        Ok((status, message)) => {
            let (detail, fix) = match status {
                401 | 403 => (
                    format!("the provider refused the key ({status}): {message}"),
                    format!("check the key passed as `{key_input}`"),
                ),
                404 => (
                    format!("the provider does not know the model `{model}` or the URL `{url}` ({status}): {message}"),
                    format!(
                        "use a model id the provider lists (valid ids look like `{provider}/…`), and check the base URL input"
                    ),
                ),
                _ => (
                    format!("the provider answered {status}: {message}"),
                    "check `model` and the base URL input".into(),
                ),
            };
            Check::fail(NAME, detail, fix)
        }
        Err(e) => Check::fail(NAME, format!("cannot reach `{url}`: {e}"), "check the base URL input and the network"),
    }
}

/// Status and error message of one POST to a provider. The key goes in a sensitive header.
async fn post_model(url: &str, provider: &str, key: &str, body: &Value) -> Result<(u16, String), String> {
    let octocrab = octocrab::Octocrab::builder().build().map_err(|e| e.to_string())?;
    let mut request =
        http::Request::builder().method(http::Method::POST).uri(url).header("content-type", "application/json");
    let mut secret = if provider == "anthropic" {
        request = request.header("anthropic-version", "2023-06-01");
        http::HeaderValue::from_str(key)
    } else {
        http::HeaderValue::from_str(&format!("Bearer {key}"))
    }
    .map_err(|_| "the key contains characters not allowed in a header".to_owned())?;
    secret.set_sensitive(true);
    request = request.header(if provider == "anthropic" { "x-api-key" } else { "authorization" }, secret);
    let request = request.body(serde_json::to_vec(body).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let response = octocrab.execute(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = octocrab.body_to_string(response).await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message").or_else(|| v.get("message")).and_then(Value::as_str).map(str::to_owned)
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    Ok((status, message))
}

/// The checklist on stdout; in Actions, each failure also as an annotation, and the list in the
/// job summary.
fn print(gha: &Gha, config: Option<&Config>, checks: &[Check]) {
    let secrets = config.map(Config::secrets).unwrap_or_default();
    let repo = config.map_or("", |c| c.github.repository.as_str());
    let mut text =
        format!("sisyphus-action doctor{}\n", if repo.is_empty() { String::new() } else { format!(": {repo}") });
    for check in checks {
        text.push_str(&format!("{} {}: {}\n", check.status.mark(), check.name, check.detail));
        if let Some(fix) = check.fix.as_deref().filter(|_| matches!(check.status, Status::Fail | Status::Warn)) {
            text.push_str(&format!("       fix: {fix}\n"));
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    text.push_str(&format!(
        "{} failed, {} warning(s), {} passed, {} skipped\n",
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Pass),
        count(Status::Skip)
    ));
    let text = gha::redact(&text, &secrets);
    {
        // The details quote repository text (workflow files): no workflow commands in it.
        let _no_commands = gha.stop_commands();
        print!("{text}");
    }
    for check in checks.iter().filter(|c| gha.actions && c.status == Status::Fail) {
        let fix = check.fix.as_deref().unwrap_or_default();
        gha.error_titled(
            &format!("doctor: {}", check.name),
            &gha::redact(&format!("{} — fix: {fix}", check.detail), &secrets),
        );
    }
    if let Some(summary) = config.and_then(|c| c.github.step_summary.as_deref()) {
        let _ = gha::append_summary(Some(summary), &format!("## sisyphus-action doctor\n\n```\n{text}```\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_if_filter_is_read_for_phrases_labels_and_logins() {
        let text = "if: >-\n  github.event.sender.login != 'bot-a' && (\n  contains(github.event.comment.body, '@Bot') ||\n  contains(fromJSON('[\"OWNER\",\"MEMBER\"]'), github.event.comment.author_association) ||\n  contains(github.event.review.body, '@bot') ||\n  github.event.label.name == 'go' )\n";
        assert_eq!(quoted_after(text, "contains("), vec!["@Bot".to_owned(), "@bot".to_owned()]);
        assert_eq!(quoted_after(text, "github.event.label.name =="), vec!["go".to_owned()]);
        assert_eq!(quoted_after(text, "github.event.sender.login !="), vec!["bot-a".to_owned()]);
        assert!(quoted_after("no filter at all", "contains(").is_empty());
    }

    #[test]
    fn step_inputs_and_action_uses_are_found() {
        let text = "steps:\n  - uses: actions/checkout@abc\n  - uses: OWNER/sisyphus-action@0123 # v0.1.0\n    with:\n      trigger-phrase: \"@helper\" # ours\n      bot-login: helper\n";
        assert!(uses_this_action(text));
        assert!(!uses_this_action("steps:\n  - run: echo sisyphus-action\n"));
        assert_eq!(with_value(text, "trigger-phrase").as_deref(), Some("@helper"));
        assert_eq!(with_value(text, "bot-login").as_deref(), Some("helper"));
        assert_eq!(with_value(text, "trigger-label"), None);
    }
}
