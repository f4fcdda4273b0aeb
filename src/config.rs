//! Raw arguments → one validated `Config`. All defaults and all input validation live here.
//!
//! A pure function of the arguments: the environment reaches it only through clap
//! (`cli::ActionsEnv`). The two fallbacks that are not variables, the current directory for
//! the work tree and the system's temporary directory for `RUNNER_TEMP`, only apply to a run
//! outside Actions.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::preflight::{self, InputError};

pub const DEFAULT_TRIGGER_PHRASE: &str = "@sisyphus-dev-ai";
pub const DEFAULT_TRIGGER_LABEL: &str = "sisyphus";
pub const DEFAULT_ASSOCIATIONS: &str = "OWNER,MEMBER,COLLABORATOR";
pub const DEFAULT_BOT_LOGIN: &str = "sisyphus-dev-ai";
pub const DEFAULT_LABEL: &str = "sisyphus: working";
pub const DEFAULT_MODEL: &str = "anthropic/claude-opus-4-5";
pub const DEFAULT_OPENCODE_VERSION: &str = "1.18.33";
pub const DEFAULT_CODEX_VERSION: &str = "0.169.0";
/// oh-my-opencode for `agent-preset: sisyphus`: exact and pinned, never an implicit latest.
pub const DEFAULT_OMO_VERSION: &str = "4.19.4";
pub const DEFAULT_TIMEOUT_MINUTES: u64 = 30;
pub const DEFAULT_BRANCH_PREFIX: &str = "sisyphus/";

/// Which agent runs the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeKind {
    /// A real `opencode serve`, driven over HTTP.
    OpenCode,
    /// Any CLI agent: a shell command that reads the prompt from `$SISYPHUS_PROMPT_FILE`.
    Command(String),
    /// The Codex CLI, `codex exec --json`.
    Codex(CodexSettings),
}

/// The `codex-*` inputs: only the Codex runtime reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexSettings {
    pub version: String,
    pub path: Option<PathBuf>,
    /// Inline TOML or JSON, or a file path; merged over our `config.toml` by the runtime.
    pub config: Option<String>,
}

impl RuntimeKind {
    /// The `runtime` input's value (reply footers and logs name it).
    pub fn name(&self) -> &'static str {
        match self {
            RuntimeKind::OpenCode => "opencode",
            RuntimeKind::Command(_) => "command",
            RuntimeKind::Codex(_) => "codex",
        }
    }
}

/// A ready-made agent setup (`agent-preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// oh-my-opencode's Sisyphus agent, installed at `oh-my-opencode-version` and loaded by path.
    Sisyphus,
}

/// What GitHub Actions (or the person replaying an event) tells us about the run.
#[derive(Debug, Clone, Default)]
pub struct GithubEnv {
    pub api_url: String,
    pub graphql_url: String,
    pub server_url: String,
    /// `owner/name`; may be empty until the payload is read.
    pub repository: String,
    pub workspace: PathBuf,
    pub run_id: Option<String>,
    /// `GITHUB_RUN_ATTEMPT`: 1 for a run's first attempt, 2+ for "Re-run jobs".
    pub run_attempt: Option<u32>,
    pub output: Option<PathBuf>,
    pub step_summary: Option<PathBuf>,
    pub runner_temp: PathBuf,
    /// `RUNNER_TOOL_CACHE`: where installed tools are kept (`None`: under `runner_temp`).
    pub tool_cache: Option<PathBuf>,
    /// True inside GitHub Actions: workflow commands instead of plain logs.
    pub actions: bool,
    /// `SISYPHUS_RETRY_BASE_MS`: the GitHub client's first backoff, when a test shortens it.
    pub retry_base: Option<Duration>,
}

impl GithubEnv {
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`, when known.
    pub fn run_url(&self) -> Option<String> {
        let id = self.run_id.as_deref()?;
        if self.repository.is_empty() {
            return None;
        }
        Some(format!("{}/{}/actions/runs/{id}", self.server_url.trim_end_matches('/'), self.repository))
    }

    /// The first attempt of a known workflow run: no earlier attempt of this event can have
    /// left a reply or a verdict, so the lookups that find them can be skipped. Unknown
    /// (a local run, a missing variable) counts as not first.
    pub fn first_attempt(&self) -> bool {
        self.run_attempt == Some(1) && self.run_id.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub runtime: RuntimeKind,
    pub model: String,
    pub variant: Option<String>,
    pub agent: Option<String>,
    pub plugins: Vec<String>,
    /// Inline JSON or a file path; merged over our config by the runtime.
    pub opencode_config: Option<String>,
    pub opencode_path: Option<PathBuf>,
    pub opencode_version: String,
    pub timeout: Duration,
    pub anthropic_api_key: Option<String>,
    pub anthropic_base_url: Option<String>,
    pub openai_api_key: Option<String>,
    pub openai_base_url: Option<String>,
    pub preset: Option<Preset>,
    /// oh-my-opencode's version for the Sisyphus preset.
    pub omo_version: String,
    /// The user's oh-my-opencode config (inline JSON or a path), merged over ours.
    pub omo_config: Option<String>,
    /// Inside GitHub Actions: the runtime fences the model's output with `::stop-commands::`.
    pub actions: bool,
}

/// What no input gives: OpenCode at its pinned version on the default model, the default
/// timeout, no keys and no preset, outside Actions. `Config::from_args` with no inputs builds
/// the same (a unit test holds them equal); tests start from it and change what they need.
impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeKind::OpenCode,
            model: DEFAULT_MODEL.into(),
            variant: None,
            agent: None,
            plugins: vec![],
            opencode_config: None,
            opencode_path: None,
            opencode_version: DEFAULT_OPENCODE_VERSION.into(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_MINUTES * 60),
            anthropic_api_key: None,
            anthropic_base_url: None,
            openai_api_key: None,
            openai_base_url: None,
            preset: None,
            omo_version: DEFAULT_OMO_VERSION.into(),
            omo_config: None,
            actions: false,
        }
    }
}

impl AgentConfig {
    /// The Sisyphus preset is on.
    pub fn sisyphus(&self) -> bool {
        self.preset == Some(Preset::Sisyphus)
    }
}

#[derive(Debug, Clone)]
pub struct PublishConfig {
    pub branch_prefix: String,
    pub git_user_name: String,
    pub git_user_email: String,
    pub co_author: bool,
    pub allow_push: bool,
    pub allow_pr: bool,
    pub allow_comments: bool,
    pub draft_pr: bool,
    pub allow_fork_push: bool,
    /// The token may push `.github/workflows/` changes (a PAT or App token with `workflows`).
    pub allow_workflow_changes: bool,
}

/// A local run outside Actions: `--repo OWNER/NAME --issue N --prompt "…"`.
#[derive(Debug, Clone, Default)]
pub struct ManualRequest {
    pub issue: Option<u64>,
    pub prompt: Option<String>,
    /// `--remote NAME`: the remote of this directory that is `--repo` (default `origin`).
    pub remote: Option<String>,
}

/// The live progress comment (`progress`, `progress-delay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressConfig {
    /// `progress: comment` and `allow-comments`.
    pub comment: bool,
    /// How long the comment waits for the agent's first todo list.
    pub delay: Duration,
    /// The spacing of its edits: `progress::INTERVAL`, or `SISYPHUS_PROGRESS_INTERVAL_MS` (tests
    /// use a second or two, so a short scripted run still shows several edits). Never under a
    /// second: GitHub's secondary rate limits want writes at least that far apart.
    pub interval: Duration,
}

pub const DEFAULT_PROGRESS_DELAY_SECS: u64 = 60;

/// How we log (`RUNNER_DEBUG`, `SISYPHUS_LOG`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// The run was re-run with debug logging: `debug` instead of `info` by default.
    pub debug: bool,
    /// A `level,target=level` filter replacing the default.
    pub filter: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub event_name: Option<String>,
    pub event_path: Option<PathBuf>,
    pub manual: Option<ManualRequest>,
    pub trigger_phrase: String,
    pub trigger_label: String,
    pub allowed_associations: Vec<String>,
    pub bot_login: String,
    pub allowed_bots: Vec<String>,
    pub label: String,
    pub token: Option<String>,
    pub dry_run: bool,
    pub prompt_template: Option<PathBuf>,
    /// The prompt template's text, read once before the work tree moves to the planned branch
    /// (`preflight::pin_file_inputs`): a pull request's head must not be able to rewrite it.
    pub prompt_template_text: Option<String>,
    pub agent: AgentConfig,
    pub publish: PublishConfig,
    pub github: GithubEnv,
    pub progress: ProgressConfig,
    pub log: LogConfig,
}

/// A value is "given" only when it has non-whitespace content.
fn given(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A millisecond count, when given and a number.
fn millis(value: Option<&String>) -> Option<Duration> {
    given(value).and_then(|v| v.parse::<u64>().ok()).map(Duration::from_millis)
}

fn or_default(value: Option<&String>, default: &str) -> String {
    given(value).unwrap_or_else(|| default.to_owned())
}

fn list(value: Option<&String>, default: &str) -> Vec<String> {
    or_default(value, default).split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Parses a boolean input the way Actions users write them.
pub fn parse_bool(name: &str, value: Option<&String>, default: bool) -> Result<bool, InputError> {
    let Some(v) = given(value) else { return Ok(default) };
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(InputError::new(name, format!("must be true or false, got `{}`", v.escape_debug()))),
    }
}

impl Config {
    /// Validates every input once (the table in `preflight`). Errors here are usage errors
    /// (exit code 2), each an `InputError` naming its input.
    pub fn from_args(args: &RunArgs) -> Result<Self> {
        preflight::inputs(args)?;
        let env = &args.env;
        let actions = given(env.actions.as_ref()).is_some_and(|v| v == "true");
        let github = GithubEnv {
            api_url: or_default(env.api_url.as_ref(), "https://api.github.com"),
            graphql_url: or_default(env.graphql_url.as_ref(), "https://api.github.com/graphql"),
            server_url: or_default(env.server_url.as_ref(), "https://github.com"),
            repository: given(args.repo.as_ref()).unwrap_or_default(),
            workspace: given(env.workspace.as_ref())
                .map(PathBuf::from)
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_else(|| PathBuf::from(".")),
            run_id: given(env.run_id.as_ref()),
            run_attempt: given(env.run_attempt.as_ref()).and_then(|a| a.parse().ok()),
            output: given(env.output.as_ref()).map(PathBuf::from),
            step_summary: given(env.step_summary.as_ref()).map(PathBuf::from),
            runner_temp: given(env.runner_temp.as_ref()).map_or_else(std::env::temp_dir, PathBuf::from),
            tool_cache: given(env.tool_cache.as_ref()).map(PathBuf::from),
            actions,
            retry_base: millis(env.retry_base_ms.as_ref()),
        };
        let issue = given(args.issue.as_ref())
            .map(|n| n.trim_start_matches('#').parse::<u64>())
            .transpose()
            .map_err(|_| InputError::new("--issue", "must be a number"))?;
        let prompt = given(args.prompt.as_ref());
        let remote = given(args.remote.as_ref());
        let manual = (issue.is_some() || prompt.is_some()).then_some(ManualRequest { issue, prompt, remote });

        // In range: the preflight table checked it (finite, 1..=360 minutes).
        let timeout_minutes = match given(args.timeout_minutes.as_ref()) {
            None => DEFAULT_TIMEOUT_MINUTES as f64,
            Some(v) => v.parse::<f64>().map_err(|_| InputError::new("timeout-minutes", "must be a number"))?,
        };

        let runtime = match or_default(args.runtime.as_ref(), "opencode").as_str() {
            "opencode" => RuntimeKind::OpenCode,
            "command" => match given(args.agent_command.as_ref()) {
                Some(cmd) => RuntimeKind::Command(cmd),
                None => return Err(InputError::new("agent-command", "is empty, but `runtime` is `command`").into()),
            },
            "codex" => RuntimeKind::Codex(CodexSettings {
                version: or_default(args.codex_version.as_ref(), DEFAULT_CODEX_VERSION),
                path: given(args.codex_path.as_ref()).map(PathBuf::from),
                config: given(args.codex_config.as_ref()),
            }),
            other => {
                return Err(InputError::new(
                    "runtime",
                    format!("must be `opencode`, `command` or `codex`, got `{other}`"),
                )
                .into());
            }
        };

        let trigger_phrase = or_default(args.trigger_phrase.as_ref(), DEFAULT_TRIGGER_PHRASE);

        Ok(Self {
            event_name: given(args.event_name.as_ref()),
            event_path: given(args.event_path.as_ref()).map(PathBuf::from),
            manual,
            trigger_phrase,
            trigger_label: or_default(args.trigger_label.as_ref(), DEFAULT_TRIGGER_LABEL),
            allowed_associations: list(args.allowed_associations.as_ref(), DEFAULT_ASSOCIATIONS)
                .into_iter()
                .map(|a| a.to_ascii_uppercase())
                .collect(),
            bot_login: or_default(args.bot_login.as_ref(), DEFAULT_BOT_LOGIN),
            allowed_bots: list(args.allowed_bots.as_ref(), ""),
            label: or_default(args.label.as_ref(), DEFAULT_LABEL),
            token: given(args.github_token.as_ref()).or_else(|| given(env.github_token.as_ref())),
            dry_run: parse_bool("dry-run", args.dry_run.as_ref(), false)?,
            prompt_template: given(args.prompt_template.as_ref()).map(PathBuf::from),
            prompt_template_text: None,
            agent: AgentConfig {
                runtime,
                model: or_default(args.model.as_ref(), DEFAULT_MODEL),
                variant: given(args.variant.as_ref()),
                agent: given(args.agent.as_ref()),
                plugins: list(args.plugins.as_ref(), ""),
                opencode_config: given(args.opencode_config.as_ref()),
                opencode_path: given(args.opencode_path.as_ref()).map(PathBuf::from),
                opencode_version: or_default(args.opencode_version.as_ref(), DEFAULT_OPENCODE_VERSION),
                timeout: Duration::from_secs_f64(timeout_minutes * 60.0),
                anthropic_api_key: given(args.anthropic_api_key.as_ref())
                    .or_else(|| given(env.anthropic_api_key.as_ref())),
                anthropic_base_url: given(args.anthropic_base_url.as_ref())
                    .or_else(|| given(env.anthropic_base_url.as_ref())),
                openai_api_key: given(args.openai_api_key.as_ref()).or_else(|| given(env.openai_api_key.as_ref())),
                openai_base_url: given(args.openai_base_url.as_ref()).or_else(|| given(env.openai_base_url.as_ref())),
                preset: given(args.agent_preset.as_ref())
                    .filter(|p| p.eq_ignore_ascii_case("sisyphus"))
                    .map(|_| Preset::Sisyphus),
                omo_version: or_default(args.oh_my_opencode_version.as_ref(), DEFAULT_OMO_VERSION),
                omo_config: given(args.omo_config.as_ref()),
                actions,
            },
            publish: PublishConfig {
                branch_prefix: or_default(args.branch_prefix.as_ref(), DEFAULT_BRANCH_PREFIX),
                git_user_name: or_default(args.git_user_name.as_ref(), DEFAULT_BOT_LOGIN),
                git_user_email: or_default(args.git_user_email.as_ref(), "sisyphus-dev-ai@users.noreply.github.com"),
                co_author: parse_bool("co-author", args.co_author.as_ref(), true)?,
                allow_push: parse_bool("allow-push", args.allow_push.as_ref(), true)?,
                allow_pr: parse_bool("allow-pr", args.allow_pr.as_ref(), true)?,
                allow_comments: parse_bool("allow-comments", args.allow_comments.as_ref(), true)?,
                draft_pr: parse_bool("draft-pr", args.draft_pr.as_ref(), false)?,
                allow_fork_push: parse_bool("allow-fork-push", args.allow_fork_push.as_ref(), false)?,
                allow_workflow_changes: parse_bool(
                    "allow-workflow-changes",
                    args.allow_workflow_changes.as_ref(),
                    false,
                )?,
            },
            github,
            progress: ProgressConfig {
                comment: or_default(args.progress.as_ref(), "comment") == "comment"
                    && parse_bool("allow-comments", args.allow_comments.as_ref(), true)?,
                // In range: the preflight table checked it (finite, 0..=3600 seconds).
                delay: given(args.progress_delay.as_ref())
                    .and_then(|v| v.parse::<f64>().ok())
                    .map_or(Duration::from_secs(DEFAULT_PROGRESS_DELAY_SECS), Duration::from_secs_f64),
                interval: millis(env.progress_interval_ms.as_ref())
                    .map_or(crate::progress::INTERVAL, |ms| ms.max(Duration::from_secs(1))),
            },
            log: LogConfig {
                debug: given(env.runner_debug.as_ref()).is_some_and(|v| v == "1"),
                filter: given(env.log.as_ref()),
            },
        })
    }

    /// Every secret value we know of, for `::add-mask::` and for redaction.
    pub fn secrets(&self) -> Vec<String> {
        [&self.token, &self.agent.anthropic_api_key, &self.agent.openai_api_key]
            .into_iter()
            .flatten()
            .filter(|s| s.len() >= 4)
            .cloned()
            .collect()
    }
}

pub fn valid_repo(repo: &str) -> bool {
    let mut parts = repo.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the runner would set, each to a value no default has.
    const MACHINE: &[(&str, &str)] = &[
        ("GITHUB_API_URL", "https://api.machine.invalid"),
        ("GITHUB_GRAPHQL_URL", "https://api.machine.invalid/graphql"),
        ("GITHUB_SERVER_URL", "https://machine.invalid"),
        ("GITHUB_WORKSPACE", "/machine/work"),
        ("GITHUB_RUN_ID", "77"),
        ("GITHUB_RUN_ATTEMPT", "1"),
        ("GITHUB_OUTPUT", "/machine/output"),
        ("GITHUB_STEP_SUMMARY", "/machine/summary"),
        ("GITHUB_ACTIONS", "true"),
        ("RUNNER_TEMP", "/machine/temp"),
        ("RUNNER_TOOL_CACHE", "/machine/cache"),
        ("RUNNER_DEBUG", "1"),
        ("GITHUB_TOKEN", "ghs_machine"),
        ("ANTHROPIC_API_KEY", "sk-ant-machine"),
        ("ANTHROPIC_BASE_URL", "https://anthropic.machine.invalid"),
        ("OPENAI_API_KEY", "sk-machine"),
        ("OPENAI_BASE_URL", "https://openai.machine.invalid"),
        ("SISYPHUS_LOG", "trace"),
        ("SISYPHUS_RETRY_BASE_MS", "3"),
        ("SISYPHUS_PROGRESS_INTERVAL_MS", "2500"),
        ("SISYPHUS_SHORT_TIMEOUTS", "1"),
    ];

    /// Runs `machine_env_inner` in a child test process with the runner's variables set:
    /// setting them here would leak into every other test of this binary.
    #[test]
    fn default_args_read_nothing_from_the_machine_and_clap_reads_all_of_it() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["--exact", "config::tests::machine_env_inner", "--ignored", "--nocapture"])
            .envs(MACHINE.iter().copied())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
    }

    /// The defaults tests start from are the action's own: a run with no inputs.
    #[test]
    fn agent_config_default_is_a_run_without_inputs() {
        assert_eq!(Config::from_args(&RunArgs::default()).unwrap().agent, AgentConfig::default());
    }

    #[test]
    #[ignore = "run by default_args_read_nothing_from_the_machine_and_clap_reads_all_of_it with the variables set"]
    fn machine_env_inner() {
        use clap::Parser as _;
        assert_eq!(std::env::var("GITHUB_TOKEN").as_deref(), Ok("ghs_machine"), "run by the outer test");
        // `RunArgs::default()` is what tests build configs from: none of the variables count.
        let pure = Config::from_args(&RunArgs::default()).unwrap();
        let github = &pure.github;
        assert_eq!(
            (github.api_url.as_str(), github.graphql_url.as_str(), github.server_url.as_str()),
            ("https://api.github.com", "https://api.github.com/graphql", "https://github.com")
        );
        assert_eq!(github.workspace, std::env::current_dir().unwrap());
        assert_eq!(github.runner_temp, std::env::temp_dir());
        assert!(github.run_id.is_none() && github.run_attempt.is_none() && github.output.is_none());
        assert!(github.step_summary.is_none() && github.tool_cache.is_none() && github.retry_base.is_none());
        assert!(!github.actions && !pure.agent.actions);
        assert!(pure.token.is_none() && pure.agent.anthropic_api_key.is_none() && pure.agent.openai_api_key.is_none());
        assert!(pure.agent.anthropic_base_url.is_none() && pure.agent.openai_base_url.is_none());
        assert_eq!(pure.log, LogConfig::default());
        assert_eq!(pure.progress.interval, crate::progress::INTERVAL);
        let short = RunArgs { timeout_minutes: Some("0.01".into()), ..RunArgs::default() };
        assert!(Config::from_args(&short).is_err(), "short timeouts are only for SISYPHUS_SHORT_TIMEOUTS=1");

        // The binary's arguments read every one of them, through clap.
        let cli = crate::cli::Cli::try_parse_from(["sisyphus-action", "run", "--timeout-minutes", "0.01"]).unwrap();
        let crate::cli::Command::Run(args) = cli.command else { panic!("not `run`") };
        let config = Config::from_args(&args).unwrap();
        let github = &config.github;
        assert_eq!(
            (github.api_url.as_str(), github.graphql_url.as_str(), github.server_url.as_str()),
            ("https://api.machine.invalid", "https://api.machine.invalid/graphql", "https://machine.invalid")
        );
        assert_eq!(
            (github.workspace.to_str(), github.runner_temp.to_str()),
            (Some("/machine/work"), Some("/machine/temp"))
        );
        assert_eq!((github.run_id.as_deref(), github.run_attempt), (Some("77"), Some(1)));
        assert_eq!(github.output.as_deref(), Some(std::path::Path::new("/machine/output")));
        assert_eq!(github.step_summary.as_deref(), Some(std::path::Path::new("/machine/summary")));
        assert_eq!(github.tool_cache.as_deref(), Some(std::path::Path::new("/machine/cache")));
        assert_eq!(github.retry_base, Some(Duration::from_millis(3)));
        assert!(github.actions && config.agent.actions);
        assert_eq!(config.token.as_deref(), Some("ghs_machine"));
        assert_eq!(config.agent.anthropic_api_key.as_deref(), Some("sk-ant-machine"));
        assert_eq!(config.agent.anthropic_base_url.as_deref(), Some("https://anthropic.machine.invalid"));
        assert_eq!(config.agent.openai_api_key.as_deref(), Some("sk-machine"));
        assert_eq!(config.agent.openai_base_url.as_deref(), Some("https://openai.machine.invalid"));
        assert_eq!(config.log, LogConfig { debug: true, filter: Some("trace".into()) });
        assert_eq!(config.progress.interval, Duration::from_millis(2500));
    }
}
