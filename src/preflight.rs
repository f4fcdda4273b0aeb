//! The preflight: everything that can be known about the inputs without the network or the
//! agent, checked before anything is written to GitHub. Shared by a real run and `--dry-run`,
//! so a clean dry run means the configuration is fine.
//!
//! Two stages. [`inputs`] checks each raw input on its own (a table: name → value → rule),
//! before `Config` exists, so a typo like `allowed-associations: MEMBRE` fails loudly instead
//! of quietly skipping every mention. [`check`] checks what needs several inputs or the
//! machine: the provider's key, the user's OpenCode config, the OpenCode binary, the prompt
//! template and the work tree. It runs once the gate has decided to act, so the skip path
//! stays free.
//!
//! Every failure is an [`InputError`] naming the input: exit 2, and an `::error title=input …::`
//! annotation in Actions.

use std::path::Path;

use serde_json::Value;

use crate::cli::RunArgs;
use crate::config::{Config, RuntimeKind};

/// The agent may work for at least a minute and at most a GitHub-hosted job's whole life.
pub const TIMEOUT_MINUTES: std::ops::RangeInclusive<f64> = 1.0..=360.0;
/// Tests of the timeout path (and only they, with `SISYPHUS_SHORT_TIMEOUTS=1`) may go below a
/// minute, down to this floor.
const SHORT_TIMEOUT_FLOOR: f64 = 0.001;

/// Every association GitHub reports (`author_association`).
pub const ASSOCIATIONS: &[&str] =
    &["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE"];
const RUNTIMES: &[&str] = &["opencode", "command", "codex"];
const PROGRESS_MODES: &[&str] = &["comment", "off"];
const PRESETS: &[&str] = &["sisyphus"];
const BOOLS: &[&str] = &["true", "false"];

/// A bad input: which one, and what is wrong with it. The message never repeats a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The input's name as `action.yml` spells it (`timeout-minutes`), or a flag (`--issue`).
    pub input: String,
    pub message: String,
}

impl InputError {
    pub fn new(input: &str, message: impl Into<String>) -> Self {
        Self { input: input.to_owned(), message: message.into() }
    }

    /// The annotation's title: `input timeout-minutes`, `flag --issue`, or the thing checked
    /// (`work tree`).
    pub fn title(&self) -> String {
        match self.input.as_str() {
            flag if flag.starts_with("--") => format!("flag {flag}"),
            other if other.contains(' ') => other.to_owned(),
            input => format!("input {input}"),
        }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.input.as_str() {
            thing if thing.contains(' ') => write!(f, "the {thing} {}", self.message),
            flag if flag.starts_with("--") => write!(f, "`{flag}` {}", self.message),
            input => write!(f, "input `{input}` {}", self.message),
        }
    }
}

impl std::error::Error for InputError {}

type Rule = fn(&str) -> Result<(), String>;

/// What is wrong with one value, or nothing. A rule sees only a given (trimmed, non-empty)
/// value: an empty one always means the default.
fn table(args: &RunArgs) -> Vec<(&'static str, Option<&String>, Rule)> {
    vec![
        ("--repo", args.repo.as_ref(), repo),
        ("--issue", args.issue.as_ref(), issue_number),
        ("--prompt", args.prompt.as_ref(), |v| text(v, 65_536)),
        ("trigger-phrase", args.trigger_phrase.as_ref(), trigger_phrase),
        ("trigger-label", args.trigger_label.as_ref(), label),
        ("allowed-associations", args.allowed_associations.as_ref(), associations),
        ("bot-login", args.bot_login.as_ref(), login),
        ("allowed-bots", args.allowed_bots.as_ref(), bots),
        ("label", args.label.as_ref(), label),
        ("github-token", args.github_token.as_ref(), secret),
        ("dry-run", args.dry_run.as_ref(), boolean),
        ("prompt-template", args.prompt_template.as_ref(), path),
        ("runtime", args.runtime.as_ref(), |v| one_of(v, RUNTIMES)),
        ("agent-command", args.agent_command.as_ref(), |v| text(v, 10_000)),
        ("model", args.model.as_ref(), model),
        ("variant", args.variant.as_ref(), word),
        ("agent", args.agent.as_ref(), |v| line(v, 200)),
        ("plugins", args.plugins.as_ref(), plugins),
        ("opencode-config", args.opencode_config.as_ref(), |v| text(v, 1_000_000)),
        ("opencode-path", args.opencode_path.as_ref(), path),
        ("opencode-version", args.opencode_version.as_ref(), version),
        (
            "timeout-minutes",
            args.timeout_minutes.as_ref(),
            if short_timeouts(args) { short_timeout } else { timeout_minutes },
        ),
        ("anthropic-api-key", args.anthropic_api_key.as_ref(), secret),
        ("anthropic-base-url", args.anthropic_base_url.as_ref(), base_url),
        ("openai-api-key", args.openai_api_key.as_ref(), secret),
        ("openai-base-url", args.openai_base_url.as_ref(), base_url),
        ("codex-version", args.codex_version.as_ref(), version),
        ("codex-path", args.codex_path.as_ref(), path),
        ("codex-config", args.codex_config.as_ref(), codex_config),
        ("branch-prefix", args.branch_prefix.as_ref(), branch_prefix),
        ("git-user-name", args.git_user_name.as_ref(), git_user_name),
        ("git-user-email", args.git_user_email.as_ref(), git_user_email),
        ("co-author", args.co_author.as_ref(), boolean),
        ("allow-push", args.allow_push.as_ref(), boolean),
        ("allow-pr", args.allow_pr.as_ref(), boolean),
        ("allow-comments", args.allow_comments.as_ref(), boolean),
        ("draft-pr", args.draft_pr.as_ref(), boolean),
        ("allow-fork-push", args.allow_fork_push.as_ref(), boolean),
        ("allow-workflow-changes", args.allow_workflow_changes.as_ref(), boolean),
        ("--remote", args.remote.as_ref(), word),
        ("doctor", args.doctor.as_ref(), boolean),
        ("progress", args.progress.as_ref(), |v| one_of(v, PROGRESS_MODES)),
        ("progress-delay", args.progress_delay.as_ref(), progress_delay),
        ("agent-preset", args.agent_preset.as_ref(), |v| one_of(v, PRESETS)),
        ("oh-my-opencode-version", args.oh_my_opencode_version.as_ref(), version),
        ("omo-config", args.omo_config.as_ref(), |v| text(v, 1_000_000)),
    ]
}

/// The names of every input the table checks, in order (tests iterate over them).
pub fn input_names() -> Vec<&'static str> {
    table(&RunArgs::default()).into_iter().map(|(name, _, _)| name).collect()
}

/// Checks every raw input on its own; the first bad one is the error.
pub fn inputs(args: &RunArgs) -> Result<(), InputError> {
    for (name, value, rule) in table(args) {
        let Some(value) = value.map(|v| v.trim()).filter(|v| !v.is_empty()) else { continue };
        rule(value).map_err(|message| InputError::new(name, message))?;
    }
    Ok(())
}

/// `got `…``, cut so a huge value cannot flood the log.
fn got(value: &str) -> String {
    format!("got `{}`", cut(value))
}

/// An error from elsewhere that may quote a whole value (a path made of the input): at most
/// 500 characters, so a huge input cannot flood the log.
fn brief(text: &str) -> String {
    if text.chars().count() <= 500 {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(500).collect::<String>())
    }
}

/// A value as an error quotes it: at most 80 characters, control characters escaped.
fn cut(value: &str) -> String {
    let short: String = value.chars().take(80).collect();
    let more = if short.len() < value.len() { "…" } else { "" };
    format!("{}{more}", short.escape_debug())
}

fn too_long(value: &str, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n > max { Err(format!("must be at most {max} characters, got {n}")) } else { Ok(()) }
}

/// Free text: bounded, and no control characters but newlines and tabs.
fn text(value: &str, max: usize) -> Result<(), String> {
    too_long(value, max)?;
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// One line of text.
fn line(value: &str, max: usize) -> Result<(), String> {
    too_long(value, max)?;
    if value.chars().any(char::is_control) {
        return Err(format!("must be one line without control characters, {}", got(value)));
    }
    Ok(())
}

/// One token: no whitespace.
fn word(value: &str) -> Result<(), String> {
    line(value, 100)?;
    if value.chars().any(char::is_whitespace) {
        return Err(format!("must be one word, {}", got(value)));
    }
    Ok(())
}

fn repo(value: &str) -> Result<(), String> {
    if crate::config::valid_repo(value) {
        Ok(())
    } else {
        Err(format!("must be of the form owner/name, {}", got(value)))
    }
}

fn issue_number(value: &str) -> Result<(), String> {
    match value.trim_start_matches('#').parse::<u64>() {
        Ok(n) if (1..=u64::from(u32::MAX)).contains(&n) => Ok(()),
        _ => Err(format!("must be an issue or pull request number (1 or more), {}", got(value))),
    }
}

fn trigger_phrase(value: &str) -> Result<(), String> {
    word(value)
}

/// A GitHub label name: at most 50 characters, one line.
fn label(value: &str) -> Result<(), String> {
    line(value, 50)
}

/// A GitHub login (letters, digits, single hyphens, at most 39), or an App's `name[bot]`.
fn login(value: &str) -> Result<(), String> {
    let name = value.strip_suffix("[bot]").unwrap_or(value);
    let ok = !name.is_empty()
        && name.len() <= 39
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-');
    if ok { Ok(()) } else { Err(format!("must be a GitHub login, {}", got(value))) }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn bots(value: &str) -> Result<(), String> {
    list(value).filter(|b| *b != "*").try_for_each(|b| login(b).map_err(|e| format!("lists `{}`, which {e}", cut(b))))
}

fn associations(value: &str) -> Result<(), String> {
    if list(value).next().is_none() {
        return Err("lists no association".into());
    }
    for a in list(value) {
        let upper = a.to_ascii_uppercase();
        if !ASSOCIATIONS.contains(&upper.as_str()) {
            return Err(format!(
                "lists `{}`, which is not an author association{}",
                cut(a),
                did_you_mean(&upper, ASSOCIATIONS)
            ));
        }
    }
    Ok(())
}

fn one_of(value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let all = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" or ");
    Err(format!("must be {all}, {}{}", got(value), did_you_mean(value, allowed)))
}

fn boolean(value: &str) -> Result<(), String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "false" | "0" | "no" | "off" => Ok(()),
        lower => Err(format!("must be true or false, {}{}", got(value), did_you_mean(lower, BOOLS))),
    }
}

/// Secrets are never echoed, not even in part.
fn secret(value: &str) -> Result<(), String> {
    if value.len() > 10_000 {
        return Err("is longer than any real key or token (more than 10000 bytes)".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters (a key or token never does; check the secret)".into());
    }
    Ok(())
}

fn path(value: &str) -> Result<(), String> {
    line(value, 4096)
}

/// Inline TOML or JSON must parse; anything else is a path (read later, from the work tree).
fn codex_config(value: &str) -> Result<(), String> {
    if crate::runtime::codex_config::is_inline(value) {
        text(value, 1_000_000)?;
        crate::runtime::codex_config::user_config(value, Path::new("."))
            .map(|_| ())
            .map_err(|e| format!("is unusable: {}", brief(&format!("{e:#}"))))
    } else {
        path(value)
    }
}

fn model(value: &str) -> Result<(), String> {
    line(value, 200)?;
    match value.split_once('/') {
        Some((p, m)) if !p.is_empty() && !m.is_empty() && !value.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(format!("must be provider/model, such as `anthropic/claude-opus-4-5`, {}", got(value))),
    }
}

fn plugins(value: &str) -> Result<(), String> {
    // npm package specs: `name`, `@scope/name`, `name@1.2.3`; 214 is npm's limit for a name.
    list(value).try_for_each(|p| {
        if p.len() > 214 + 64 || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err(format!("lists `{}`, which is not an npm package", cut(p)))
        } else {
            Ok(())
        }
    })
}

/// `1.18.33`, optionally with a pre-release (`1.19.0-beta.1`).
fn version(value: &str) -> Result<(), String> {
    let core = value.split_once('-').map_or(value, |(c, _)| c);
    let ok = value.len() <= 64
        && core.split('.').count() == 3
        && core.split('.').all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && value.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c));
    if ok { Ok(()) } else { Err(format!("must be a version such as `1.18.33`, {}", got(value))) }
}

/// `SISYPHUS_SHORT_TIMEOUTS=1`: the timeout tests' seconds are allowed.
fn short_timeouts(args: &RunArgs) -> bool {
    args.env.short_timeouts.as_deref().is_some_and(|v| v.trim() == "1")
}

fn timeout_minutes(value: &str) -> Result<(), String> {
    minutes_from(value, *TIMEOUT_MINUTES.start())
}

fn short_timeout(value: &str) -> Result<(), String> {
    minutes_from(value, SHORT_TIMEOUT_FLOOR)
}

fn minutes_from(value: &str, floor: f64) -> Result<(), String> {
    let (lo, hi) = (*TIMEOUT_MINUTES.start(), *TIMEOUT_MINUTES.end());
    match value.parse::<f64>() {
        Ok(m) if m.is_finite() && (floor..=hi).contains(&m) => Ok(()),
        Ok(m) if m.is_finite() => Err(format!("must be between {lo} and {hi} minutes, {}", got(value))),
        _ => Err(format!("must be a number of minutes between {lo} and {hi}, {}", got(value))),
    }
}

fn progress_delay(value: &str) -> Result<(), String> {
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=3600.0).contains(&s) => Ok(()),
        _ => Err(format!("must be a number of seconds between 0 and 3600, {}", got(value))),
    }
}

fn base_url(value: &str) -> Result<(), String> {
    line(value, 2048)?;
    let ok = value.parse::<http::Uri>().is_ok_and(|u| {
        matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some_and(|a| !a.host().is_empty())
    });
    if ok { Ok(()) } else { Err(format!("must be an http(s) URL, {}", got(value))) }
}

fn git_user_name(value: &str) -> Result<(), String> {
    line(value, 200)?;
    if value.contains(['<', '>']) {
        return Err(format!("must not contain `<` or `>`, {}", got(value)));
    }
    Ok(())
}

fn git_user_email(value: &str) -> Result<(), String> {
    line(value, 254)?;
    let ok = value.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && !value.chars().any(|c| c.is_whitespace() || c == '<' || c == '>');
    if ok { Ok(()) } else { Err(format!("must be an email address, {}", got(value))) }
}

fn branch_prefix(value: &str) -> Result<(), String> {
    too_long(value, 100)?;
    // The prefix is the start of a branch name: check a whole name made with it.
    let name = format!("{value}issue-1");
    match ref_format(&name) {
        Ok(()) => Ok(()),
        Err(why) => Err(format!("makes branch names git refuses ({why}), {}", got(value))),
    }
}

/// `git check-ref-format --branch`, in Rust: the rules of `git help check-ref-format`.
pub fn ref_format(name: &str) -> Result<(), &'static str> {
    if name.starts_with('-') {
        return Err("a branch cannot start with `-`");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err("no leading, trailing or double `/`");
    }
    if name.ends_with('.') {
        return Err("cannot end with `.`");
    }
    if name.contains("..") {
        return Err("no `..`");
    }
    if name.contains("@{") || name == "@" {
        return Err("no `@{`");
    }
    if name.chars().any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c)) {
        return Err("no spaces, control characters or any of `~^:?*[\\`");
    }
    if name.split('/').any(|part| part.starts_with('.') || part.ends_with(".lock")) {
        return Err("no part may start with `.` or end with `.lock`");
    }
    Ok(())
}

/// ` (did you mean `X`?)` when one allowed value is close enough to be a typo.
pub fn did_you_mean(value: &str, allowed: &[&str]) -> String {
    let value = value.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (distance(&value, &a.to_ascii_lowercase()), a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| format!(" (did you mean `{a}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance, with a swap of two neighbours counted as one edit (`MEMBRE`).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Long values are never typos of a short enumeration; skip the quadratic work.
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Providers OpenCode knows without configuration, and the variables that hold their keys.
/// `anthropic` and `openai` also take our own inputs; `openai-compatible` is defined by us
/// from `openai-base-url`.
const PROVIDER_KEYS: &[(&str, &[&str])] = &[
    ("anthropic", &["ANTHROPIC_API_KEY"]),
    ("openai", &["OPENAI_API_KEY"]),
    ("google", &["GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY"]),
    ("openrouter", &["OPENROUTER_API_KEY"]),
    ("amazon-bedrock", &["AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"]),
    ("azure", &["AZURE_API_KEY"]),
    ("mistral", &["MISTRAL_API_KEY"]),
    ("groq", &["GROQ_API_KEY"]),
    ("deepseek", &["DEEPSEEK_API_KEY"]),
    ("xai", &["XAI_API_KEY"]),
    ("zhipuai", &["ZHIPU_API_KEY"]),
    ("opencode", &["OPENCODE_API_KEY"]),
];

/// What a passed preflight checked, in a few words (the dry run prints it).
pub fn summary(config: &Config) -> String {
    let agent = match &config.agent.runtime {
        RuntimeKind::OpenCode => {
            let provider = config.agent.model.split_once('/').map_or("", |(p, _)| p);
            format!("the `{provider}` provider's key or configuration")
        }
        RuntimeKind::Command(_) => "the `command` agent".to_owned(),
        RuntimeKind::Codex(_) => "the Codex provider's key or configuration".to_owned(),
    };
    format!("every input, {agent}, the prompt for an issue and a pull request, the git work tree")
}

/// The cross-input and machine checks, with the real environment.
/// The file inputs (`prompt-template`, an `opencode-config` path) read now, from the checkout as
/// the run found it: the work tree later moves to the planned branch — a pull request's head,
/// perhaps a fork's — whose author must not be able to rewrite our prompt or OpenCode's config.
pub fn pin_file_inputs(config: &Config) -> Result<Config, InputError> {
    let mut pinned = config.clone();
    if let Some(path) = &config.prompt_template {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new("prompt-template", format!("cannot be read: {e}")))?;
        pinned.prompt_template_text = Some(text);
    }
    if let Some(input) = config.agent.opencode_config.as_deref().filter(|i| !i.trim().starts_with('{')) {
        let value = crate::runtime::opencode::config::user_config(input, &config.github.workspace)
            .map_err(|e| InputError::new("opencode-config", format!("is unusable: {}", brief(&format!("{e:#}")))))?;
        pinned.agent.opencode_config = Some(value.to_string());
    }
    if let RuntimeKind::Codex(codex) = &mut pinned.agent.runtime {
        pin_codex_config(codex, &config.github.workspace)?;
    }
    if let Some(input) = config.agent.omo_config.as_deref().filter(|i| !i.trim().starts_with('{')) {
        let value = crate::runtime::opencode::omo::user_config(input, &config.github.workspace)
            .map_err(|e| InputError::new("omo-config", format!("is unusable: {}", brief(&format!("{e:#}")))))?;
        pinned.agent.omo_config = Some(value.to_string());
    }
    Ok(pinned)
}

pub fn check(config: &Config) -> Result<(), InputError> {
    check_with(config, &|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// The cross-input and machine checks; `env` looks up a variable (tests pass their own).
pub fn check_with(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> Result<(), InputError> {
    let workdir = config.github.workspace.as_path();
    let user =
        match &config.agent.opencode_config {
            Some(input) => Some(crate::runtime::opencode::config::user_config(input, workdir).map_err(|e| {
                InputError::new("opencode-config", format!("is unusable: {}", brief(&format!("{e:#}"))))
            })?),
            None => None,
        };
    if let Some(input) = &config.agent.omo_config {
        crate::runtime::opencode::omo::user_config(input, workdir)
            .map_err(|e| InputError::new("omo-config", format!("is unusable: {}", brief(&format!("{e:#}")))))?;
    }
    if config.agent.runtime == RuntimeKind::OpenCode {
        provider_key(config, user.as_ref(), env)?;
        variant(config, user.as_ref())?;
    }
    if let RuntimeKind::Codex(codex) = &config.agent.runtime {
        codex_checks(config, codex, env)?;
    }
    // Even when a `command` agent runs: a path given explicitly and wrong is a mistake.
    if let Some(path) = &config.agent.opencode_path {
        executable(path).map_err(|e| InputError::new("opencode-path", e))?;
    }
    templates(config)?;
    git_work_tree(workdir)?;
    remote_matches(config)?;
    Ok(())
}

/// A `codex-config` file is read now and kept inline (as JSON), like `opencode-config`.
fn pin_codex_config(codex: &mut crate::config::CodexSettings, workspace: &Path) -> Result<(), InputError> {
    if let Some(input) = codex.config.clone() {
        let value = crate::runtime::codex_config::user_config(&input, workspace)
            .map_err(|e| InputError::new("codex-config", format!("is unusable: {}", brief(&format!("{e:#}")))))?;
        codex.config = Some(value.to_string());
    }
    Ok(())
}

/// Runtime `codex`: its config parses, its binary (when given) is executable, and the
/// provider it will use has its key — ours (`openai-api-key`) or the variable a user-defined
/// provider's `env_key` names.
fn codex_checks(
    config: &Config,
    codex: &crate::config::CodexSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), InputError> {
    use crate::runtime::codex_config;
    if let Some(path) = &codex.path {
        executable(path).map_err(|e| InputError::new("codex-path", e))?;
    }
    let merged = codex_config::build(&config.agent, codex, &config.github.workspace, false)
        .map_err(|e| InputError::new("codex-config", format!("is unusable: {}", brief(&format!("{e:#}")))))?;
    match codex_config::key_var(&merged) {
        Some(var) if var == codex_config::KEY_VAR && config.agent.openai_api_key.is_some() => Ok(()),
        Some(var) if env(&var).is_some() => Ok(()),
        Some(var) if var == codex_config::KEY_VAR => Err(InputError::new(
            "openai-api-key",
            format!(
                "is empty and `OPENAI_API_KEY` is not set, but runtime `codex` with the model `{}` needs it: \
                 add the `OPENAI_API_KEY` secret and pass it as `openai-api-key`",
                config.agent.model
            ),
        )),
        Some(var) => Err(InputError::new(
            "codex-config",
            format!("names `{var}` as its provider's `env_key`, but `{var}` is not set"),
        )),
        // A provider without `env_key` (a local server) needs no key.
        None => Ok(()),
    }
}

/// The model's provider has a key, or the user's `opencode-config` defines the provider.
fn provider_key(config: &Config, user: Option<&Value>, env: &dyn Fn(&str) -> Option<String>) -> Result<(), InputError> {
    let a = &config.agent;
    let Some((provider, _)) = a.model.split_once('/') else {
        return Err(InputError::new("model", format!("must be provider/model, {}", got(&a.model))));
    };
    if user.and_then(|u| u.pointer(&format!("/provider/{}", pointer_key(provider)))).is_some() {
        return Ok(());
    }
    let fail = |input: &str, message: String| Err(InputError::new(input, message));
    match provider {
        "anthropic" if a.anthropic_api_key.is_none() => fail(
            "anthropic-api-key",
            format!(
                "is empty and `ANTHROPIC_API_KEY` is not set, but the model `{}` needs it: add the \
                 `ANTHROPIC_API_KEY` secret and pass it as `anthropic-api-key`",
                a.model
            ),
        ),
        "openai" if a.openai_api_key.is_none() => fail(
            "openai-api-key",
            format!(
                "is empty and `OPENAI_API_KEY` is not set, but the model `{}` needs it: add the \
                 `OPENAI_API_KEY` secret and pass it as `openai-api-key`",
                a.model
            ),
        ),
        crate::runtime::opencode::config::OPENAI_COMPATIBLE if a.openai_base_url.is_none() => fail(
            "openai-base-url",
            format!("is empty, but the model `{}` names the OpenAI-compatible provider, which needs it", a.model),
        ),
        "anthropic" | "openai" | crate::runtime::opencode::config::OPENAI_COMPATIBLE => Ok(()),
        other => match PROVIDER_KEYS.iter().find(|(p, _)| *p == other) {
            Some((_, vars)) if vars.iter().any(|v| env(v).is_some()) => Ok(()),
            Some((_, vars)) => fail(
                "model",
                format!("is `{}`, but none of {} is set for provider `{other}`", a.model, quoted(vars, " or ")),
            ),
            None => {
                let known: Vec<&str> = PROVIDER_KEYS.iter().map(|(p, _)| *p).collect();
                fail(
                    "model",
                    format!(
                        "names the provider `{other}`, which OpenCode does not know without configuration{}; \
                         use one of {} or define it under `provider` in `opencode-config`",
                        did_you_mean(other, &known),
                        quoted(&known, ", ")
                    ),
                )
            }
        },
    }
}

/// A key as one JSON-pointer segment.
fn pointer_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// An Anthropic model's `variant` is one we define (`high`, `max`) or one the user's
/// `opencode-config` defines for that model; other providers' variants are OpenCode's to know.
fn variant(config: &Config, user: Option<&Value>) -> Result<(), InputError> {
    let Some(variant) = config.agent.variant.as_deref() else { return Ok(()) };
    let Some(("anthropic", model_id)) = config.agent.model.split_once('/') else { return Ok(()) };
    let mut defined = vec!["high".to_owned(), "max".to_owned()];
    let path = format!("/provider/anthropic/models/{}/variants", pointer_key(model_id));
    if let Some(Value::Object(more)) = user.and_then(|u| u.pointer(&path)) {
        defined.extend(more.keys().cloned());
    }
    if defined.iter().any(|d| d == variant) {
        return Ok(());
    }
    let names: Vec<&str> = defined.iter().map(String::as_str).collect();
    Err(InputError::new(
        "variant",
        format!(
            "is `{}`, which `{}` does not define{}; use {} or define it in `opencode-config`",
            cut(variant),
            config.agent.model,
            did_you_mean(variant, &names),
            quoted(&names, " or ")
        ),
    ))
}

fn quoted(items: &[&str], sep: &str) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(sep)
}

fn executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| format!("`{}` cannot be used: {e}", path.display()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(format!("`{}` is not an executable file", path.display()));
    }
    Ok(())
}

/// The prompt renders for an issue and for a pull request: a template that uses `pull.*`
/// without `{{#if pull}}` fails here, not on the first pull request someone comments on.
fn templates(config: &Config) -> Result<(), InputError> {
    for (event, payload) in [("issue_comment", SAMPLE_ISSUE), ("pull_request_review_comment", SAMPLE_PULL)] {
        let trigger = crate::event::parse(event, payload)
            .map_err(|e| InputError::new("prompt-template", format!("cannot be tried: {e:#}")))?;
        let thread = crate::context::from_payload(&trigger);
        let input = crate::prompt::PromptInput {
            config,
            trigger: &trigger,
            thread: &thread,
            request: &crate::sanitize::sanitize("fix the typo"),
            publishing: "a new branch",
            workdir: config.github.workspace.as_path(),
        };
        crate::prompt::render(&input).map_err(|e| {
            let kind = if thread.is_pull_request { "a pull request" } else { "an issue" };
            InputError::new("prompt-template", format!("does not render for {kind}: {e:#}"))
        })?;
    }
    Ok(())
}

/// The work tree is a git repository. Asked of git itself, with an empty environment (PATH
/// and HOME only): no token or input can reach it, and no `GIT_DIR` can point it elsewhere.
fn git_work_tree(workdir: &Path) -> Result<(), InputError> {
    let fail = |why: String| {
        InputError::new(
            "work tree",
            format!("`{}` {why}: check out the repository first (actions/checkout)", workdir.display()),
        )
    };
    match plain_git(workdir, &["rev-parse", "--is-inside-work-tree"]).output() {
        Ok(out) if out.status.success() && out.stdout.starts_with(b"true") => Ok(()),
        Ok(out) => {
            // git's own reason (not a repository, dubious ownership, …), first line only.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr.lines().next().map(str::trim).filter(|l| !l.is_empty());
            Err(fail(match reason {
                Some(reason) => format!("is not a git work tree ({})", brief(reason)),
                None => "is not a git work tree".into(),
            }))
        }
        Err(e) => Err(fail(format!("cannot be checked with git ({e})"))),
    }
}

/// The work tree is a clone of the repository we act on, so what the agent sees and what is
/// published belong together. In Actions that is checkout's `origin`
/// (`$GITHUB_SERVER_URL/owner/name`, with or without `.git`, or checkout's ssh form); for a
/// local run it is `--remote` or `origin`, and only its `owner/name` must match (people clone
/// through ssh aliases and mirrors). An event replayed outside Actions is not checked: its
/// payload names some repository, the directory is wherever the person stands.
fn remote_matches(config: &Config) -> Result<(), InputError> {
    let repo = config.github.repository.as_str();
    let local = config.manual.is_some();
    if repo.is_empty() || !(local || config.github.actions) {
        return Ok(());
    }
    let workdir = config.github.workspace.as_path();
    let name = config.manual.as_ref().and_then(|m| m.remote.as_deref()).unwrap_or("origin");
    let dir = workdir.display();
    let how = if local {
        format!("run it in a clone of `{repo}`, or name its remote with `--remote NAME`")
    } else {
        format!("check out `{repo}` with actions/checkout (no `repository:` input) before this step")
    };
    let fail = |message: String| InputError::new("work tree", message);
    let url = git_quiet(workdir, &["config", "--get", &format!("remote.{name}.url")])
        .map_err(|e| fail(format!("`{dir}` cannot be read with git: {e}")))?;
    let Some(url) = url.filter(|u| !u.is_empty()) else {
        return Err(fail(format!("`{dir}` has no remote `{name}` to check against `{repo}`: {how}")));
    };
    let host = (!local).then(|| url_host(&config.github.server_url)).flatten();
    if remote_is(&url, repo, host.as_deref()) {
        return Ok(());
    }
    Err(fail(format!(
        "`{dir}` has the remote `{name}` at `{}`, which is not `{repo}`: {how}",
        cut(&redact_userinfo(&url))
    )))
}

/// Whether a remote URL (`https://host/o/n(.git)`, `ssh://git@host/o/n.git`, `git@host:o/n.git`
/// or a local path) names `repo`; with `host`, it must also be on that host (a local path has
/// none and is judged by its path alone).
pub fn remote_is(url: &str, repo: &str, host: Option<&str>) -> bool {
    let url = url.trim();
    let (remote_host, path) = match url.split_once("://") {
        Some((_, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            (Some(authority.rsplit('@').next().unwrap_or(authority)), path)
        }
        None => match url.split_once(':') {
            // scp-like `user@host:path`; a colon after a slash is part of a local path.
            Some((authority, path)) if !authority.contains('/') => {
                (Some(authority.rsplit('@').next().unwrap_or(authority)), path)
            }
            _ => (None, url),
        },
    };
    let remote_host = remote_host.map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    if let (Some(want), Some(got)) = (host, remote_host.as_deref())
        && !want.eq_ignore_ascii_case(got)
    {
        return false;
    }
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut tail = path.rsplit('/');
    let (Some(name), Some(owner)) = (tail.next(), tail.next()) else { return false };
    let Some((want_owner, want_name)) = repo.split_once('/') else { return false };
    owner.eq_ignore_ascii_case(want_owner) && name.eq_ignore_ascii_case(want_name)
}

/// The host of an http(s) URL, lowercased.
fn url_host(url: &str) -> Option<String> {
    let uri = url.parse::<http::Uri>().ok()?;
    uri.host().map(str::to_ascii_lowercase)
}

/// A remote URL as an error may quote it: without a `user:password@` part.
fn redact_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, path)) if authority.contains('@') => {
                format!("{scheme}://{}/{path}", authority.rsplit('@').next().unwrap_or_default())
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// `git <args>` in `workdir` with an empty environment (PATH and HOME only); its trimmed
/// stdout, `None` when git exits 1 (a `config --get` that found nothing).
fn git_quiet(workdir: &Path, args: &[&str]) -> Result<Option<String>, String> {
    let out = plain_git(workdir, args).output().map_err(|e| e.to_string())?;
    match out.status.code() {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())),
        Some(1) => Ok(None),
        _ => Err(brief(String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("git failed").trim())),
    }
}

/// git with no token, input or `GIT_DIR` of ours in reach, and no fsmonitor whatever the
/// repository's config says; these commands run no hook.
fn plain_git(workdir: &Path, args: &[&str]) -> std::process::Command {
    let mut git = std::process::Command::new("git");
    git.args(["-c", "core.fsmonitor=false"])
        .args(args)
        .current_dir(workdir)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        git.env("PATH", path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        git.env("HOME", home);
    }
    git
}

const SAMPLE_ISSUE: &str = r#"{
  "action": "created",
  "repository": {"full_name": "octo/repo", "default_branch": "main"},
  "sender": {"login": "octocat"},
  "issue": {"number": 1, "title": "A title", "body": "A body", "user": {"login": "octocat"}, "labels": []},
  "comment": {"id": 1, "body": "@sisyphus-dev-ai fix the typo", "user": {"login": "octocat"},
              "author_association": "OWNER", "created_at": "2026-01-01T00:00:00Z", "html_url": "https://github.com/octo/repo/issues/1#issuecomment-1"}
}"#;

const SAMPLE_PULL: &str = r#"{
  "action": "created",
  "repository": {"full_name": "octo/repo", "default_branch": "main"},
  "sender": {"login": "octocat"},
  "pull_request": {"number": 2, "title": "A title", "body": "A body", "user": {"login": "octocat"}, "labels": [],
                   "head": {"ref": "feature", "sha": "0123456789abcdef0123456789abcdef01234567", "repo": {"full_name": "octo/repo"}},
                   "base": {"ref": "main", "repo": {"full_name": "octo/repo"}}},
  "comment": {"id": 2, "body": "@sisyphus-dev-ai fix the typo", "user": {"login": "octocat"},
              "author_association": "OWNER", "created_at": "2026-01-01T00:00:00Z", "html_url": "https://github.com/octo/repo/pull/2#discussion_r2"}
}"#;

/// A usage error, once: an `::error::` annotation titled with the input when one is named.
pub fn annotate(gha: &crate::gha::Gha, e: &anyhow::Error, secrets: &[String]) {
    let message = crate::gha::redact(&format!("{e:#}"), secrets);
    match e.chain().find_map(|c| c.downcast_ref::<InputError>()) {
        Some(input) => gha.error_titled(&input.title(), &message),
        None => gha.error(&message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_close_value() {
        assert_eq!(did_you_mean("MEMBRE", ASSOCIATIONS), " (did you mean `MEMBER`?)");
        assert_eq!(did_you_mean("opencod", RUNTIMES), " (did you mean `opencode`?)");
        assert_eq!(did_you_mean("banana", RUNTIMES), "");
    }

    #[test]
    fn remote_urls_name_the_repository() {
        for url in [
            "https://github.com/Octo/Repo",
            "https://github.com/octo/repo.git",
            "https://x-access-token:t@github.com/octo/repo/",
            "git@github.com:octo/repo.git",
            "ssh://git@github.com:22/octo/repo.git",
        ] {
            assert!(remote_is(url, "octo/repo", Some("github.com")), "{url}");
        }
        // A local path has no host: its path alone decides.
        assert!(remote_is("/srv/git/octo/repo.git", "octo/repo", Some("github.com")));
        assert!(remote_is("github-work:octo/repo.git", "octo/repo", None), "an ssh alias, locally");
        for url in ["https://github.com/octo/other", "https://github.com/other/repo", "https://github.com/repo", "repo"]
        {
            assert!(!remote_is(url, "octo/repo", Some("github.com")), "{url}");
        }
        assert!(!remote_is("https://gitlab.com/octo/repo", "octo/repo", Some("github.com")));
        assert_eq!(redact_userinfo("https://user:secret@host/o/r"), "https://host/o/r");
    }

    #[test]
    fn ref_format_follows_git() {
        for good in ["sisyphus/issue-1", "bot/x.y/issue-1", "a-b_c/issue-1"] {
            assert_eq!(ref_format(good), Ok(()), "{good}");
        }
        for bad in [
            "has space/issue-1",
            "-x/issue-1",
            "a..b/issue-1",
            "a//issue-1",
            "/a/issue-1",
            ".a/issue-1",
            "a.lock/issue-1",
            "a@{b/issue-1",
            "a~/issue-1",
            "a\u{7}/issue-1",
            "a:b/issue-1",
        ] {
            assert!(ref_format(bad).is_err(), "{bad:?}");
        }
    }
}
