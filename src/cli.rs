//! The command line: every action input is a flag *and* an `INPUT_<NAME>` variable.
//!
//! The composite action maps its inputs to `INPUT_*` variables, and an unset input arrives as
//! an empty string. So every input is read here as a raw optional string and `config.rs`
//! decides, once, what an empty value means (always: the default). Nothing below `Config`
//! re-checks an input.
//!
//! What the runner itself tells us (`GITHUB_*`, `RUNNER_*`, the provider keys' fallbacks) and the
//! test knobs (`SISYPHUS_*`) come in the same way, as the hidden `ActionsEnv`: clap is the one
//! reader of our environment, so `Config::from_args(&RunArgs::default())` reads nothing from
//! the machine. The reads that stay below `main` are not configuration: the allow-listed
//! environment handed to children (`runtime::process::agent_env`, the Codex and OpenCode
//! environments, `HOME` for oh-my-opencode's config, `PATH`/`HOME` for `preflight`'s and
//! `publish::git`'s git, `publish::credentials`' `HOME`), the variable a user's Codex provider
//! names as its key (`preflight`'s `env_key` check, a name only known at run time), and `TZ`
//! for the prompt's local time (`prompt.rs`).

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "sisyphus-action", version, about = "Turn an @mention on GitHub into finished work.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole lifecycle for one GitHub event (the action's entry point).
    Run(Box<RunArgs>),
    /// Check the setup without acting: the preflight, then the token, the repository's
    /// settings and the workflow files against GitHub; prints a checklist with a fix for each
    /// failure. Exit 0 when all pass, 1 when something fails, 2 for a usage error.
    Doctor(Box<DoctorArgs>),
}

/// `doctor`: every `run` input (they are what is checked), plus what only doctor does.
#[derive(Debug, Default, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Also send the smallest possible request to the model's provider, to prove the key and
    /// the model work (costs one tiny request).
    #[arg(long)]
    pub check_model: bool,
}

/// Raw inputs. Each `Option<String>` may be `Some("")`, which means "use the default".
#[derive(Debug, Default, Args)]
#[allow(clippy::struct_field_names)]
pub struct RunArgs {
    // ----- event and repository -----
    /// Event name (default: $GITHUB_EVENT_NAME). Replays a saved payload with --event-path.
    #[arg(long, env = "GITHUB_EVENT_NAME", hide_env_values = true)]
    pub event_name: Option<String>,
    /// Path of the event payload (default: $GITHUB_EVENT_PATH).
    #[arg(long, env = "GITHUB_EVENT_PATH", hide_env_values = true)]
    pub event_path: Option<String>,
    /// Repository `owner/name` (default: $GITHUB_REPOSITORY). With --issue/--prompt, runs without a payload.
    #[arg(long, env = "GITHUB_REPOSITORY", hide_env_values = true)]
    pub repo: Option<String>,
    /// Issue or pull request number to work on, for a run outside Actions (no payload needed).
    #[arg(long)]
    pub issue: Option<String>,
    /// The request itself, for a run outside Actions (like a workflow_dispatch `prompt`).
    #[arg(long)]
    pub prompt: Option<String>,

    // ----- trigger and gate -----
    /// Phrase that summons the bot [default: @sisyphus-dev-ai].
    #[arg(long, env = "INPUT_TRIGGER_PHRASE")]
    pub trigger_phrase: Option<String>,
    /// Label that triggers a run when added to an issue [default: sisyphus].
    #[arg(long, env = "INPUT_TRIGGER_LABEL")]
    pub trigger_label: Option<String>,
    /// Comma-separated author associations allowed to trigger [default: OWNER,MEMBER,COLLABORATOR].
    #[arg(long, env = "INPUT_ALLOWED_ASSOCIATIONS")]
    pub allowed_associations: Option<String>,
    /// Login of the bot account; its own comments never trigger [default: sisyphus-dev-ai].
    #[arg(long, env = "INPUT_BOT_LOGIN")]
    pub bot_login: Option<String>,
    /// Comma-separated bot logins allowed to trigger (bots are ignored otherwise) [default: none].
    #[arg(long, env = "INPUT_ALLOWED_BOTS")]
    pub allowed_bots: Option<String>,
    /// Label shown on the thread while working [default: "sisyphus: working"].
    #[arg(long, env = "INPUT_LABEL")]
    pub label: Option<String>,

    // ----- GitHub -----
    /// Token for the GitHub API and for pushing (default: $GITHUB_TOKEN).
    #[arg(long, env = "INPUT_GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,
    /// Decide, gather and render, then print what would happen: no writes, no agent [default: false].
    #[arg(long, env = "INPUT_DRY_RUN", num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: Option<String>,

    // ----- prompt -----
    /// Handlebars template file replacing the built-in prompt.
    #[arg(long, env = "INPUT_PROMPT_TEMPLATE")]
    pub prompt_template: Option<String>,

    // ----- agent runtime -----
    /// Agent runtime: `opencode`, `codex` (the Codex CLI), or `command` to run `agent-command` [default: opencode].
    #[arg(long, env = "INPUT_RUNTIME")]
    pub runtime: Option<String>,
    /// Shell command run as the agent when runtime is `command` (prompt in $SISYPHUS_PROMPT_FILE).
    #[arg(long, env = "INPUT_AGENT_COMMAND")]
    pub agent_command: Option<String>,
    /// Model as provider/model [default: anthropic/claude-opus-4-5].
    #[arg(long, env = "INPUT_MODEL")]
    pub model: Option<String>,
    /// Model variant (thinking budget), e.g. `high`.
    #[arg(long, env = "INPUT_VARIANT")]
    pub variant: Option<String>,
    /// OpenCode agent name, e.g. `Sisyphus - ultraworker` with the oh-my-opencode plugin.
    #[arg(long, env = "INPUT_AGENT")]
    pub agent: Option<String>,
    /// Comma-separated OpenCode plugins, e.g. `oh-my-opencode`.
    #[arg(long, env = "INPUT_PLUGINS")]
    pub plugins: Option<String>,
    /// Extra OpenCode config: inline JSON or a file path, deep-merged over ours.
    #[arg(long, env = "INPUT_OPENCODE_CONFIG")]
    pub opencode_config: Option<String>,
    /// Path of the `opencode` binary (default: installs `opencode-version` into the tool cache).
    #[arg(long, env = "INPUT_OPENCODE_PATH")]
    pub opencode_path: Option<String>,
    /// OpenCode version the action installs and expects [default: 1.18.33].
    #[arg(long, env = "INPUT_OPENCODE_VERSION")]
    pub opencode_version: Option<String>,
    /// Minutes the agent may work before it is aborted, from 1 to 360 [default: 30].
    #[arg(long, env = "INPUT_TIMEOUT_MINUTES")]
    pub timeout_minutes: Option<String>,
    /// Anthropic API key (default: $ANTHROPIC_API_KEY).
    #[arg(long, env = "INPUT_ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<String>,
    /// Anthropic base URL (default: $ANTHROPIC_BASE_URL).
    #[arg(long, env = "INPUT_ANTHROPIC_BASE_URL")]
    pub anthropic_base_url: Option<String>,
    /// API key of an OpenAI-compatible provider (default: $OPENAI_API_KEY).
    #[arg(long, env = "INPUT_OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// Base URL of an OpenAI-compatible provider (default: $OPENAI_BASE_URL).
    #[arg(long, env = "INPUT_OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,
    /// Codex CLI version the action installs and expects, for runtime `codex` [default: 0.169.0].
    #[arg(long, env = "INPUT_CODEX_VERSION")]
    pub codex_version: Option<String>,
    /// Path of the `codex` binary, for runtime `codex` (default: `codex-version` installed into the tool cache).
    #[arg(long, env = "INPUT_CODEX_PATH")]
    pub codex_path: Option<String>,
    /// Extra Codex config: inline TOML or JSON, or a file path, merged over ours.
    #[arg(long, env = "INPUT_CODEX_CONFIG")]
    pub codex_config: Option<String>,

    // ----- publish -----
    /// Prefix of branches the bot creates [default: sisyphus/].
    #[arg(long, env = "INPUT_BRANCH_PREFIX")]
    pub branch_prefix: Option<String>,
    /// Commit author name [default: sisyphus-dev-ai].
    #[arg(long, env = "INPUT_GIT_USER_NAME")]
    pub git_user_name: Option<String>,
    /// Commit author email [default: sisyphus-dev-ai@users.noreply.github.com].
    #[arg(long, env = "INPUT_GIT_USER_EMAIL")]
    pub git_user_email: Option<String>,
    /// Add a Co-authored-by trailer for the requester [default: true].
    #[arg(long, env = "INPUT_CO_AUTHOR")]
    pub co_author: Option<String>,
    /// Push commits [default: true].
    #[arg(long, env = "INPUT_ALLOW_PUSH")]
    pub allow_push: Option<String>,
    /// Open or update a pull request [default: true].
    #[arg(long, env = "INPUT_ALLOW_PR")]
    pub allow_pr: Option<String>,
    /// Post replies on the thread [default: true].
    #[arg(long, env = "INPUT_ALLOW_COMMENTS")]
    pub allow_comments: Option<String>,
    /// Open pull requests as drafts [default: false].
    #[arg(long, env = "INPUT_DRAFT_PR")]
    pub draft_pr: Option<String>,
    /// Push to a fork PR's branch when the author allows maintainer edits [default: false].
    #[arg(long, env = "INPUT_ALLOW_FORK_PUSH")]
    pub allow_fork_push: Option<String>,
    /// Push changes under .github/workflows/ (needs a token with the `workflows` permission;
    /// a GITHUB_TOKEN never has it) [default: false].
    #[arg(long, env = "INPUT_ALLOW_WORKFLOW_CHANGES")]
    pub allow_workflow_changes: Option<String>,

    // ----- local runs and doctor -----
    /// The git remote of this directory that is `--repo`, for a local run [default: origin].
    #[arg(long)]
    pub remote: Option<String>,
    /// Run `doctor` (the setup checklist) instead of acting on the event [default: false].
    #[arg(long, env = "INPUT_DOCTOR")]
    pub doctor: Option<String>,
    /// Live progress on the thread: `comment` (one comment, edited as the agent works, that
    /// becomes the reply) or `off`; off when allow-comments is false [default: comment].
    #[arg(long, env = "INPUT_PROGRESS")]
    pub progress: Option<String>,
    /// Seconds to wait for the agent's first plan before the progress comment appears anyway,
    /// from 0 to 3600 [default: 60].
    #[arg(long, env = "INPUT_PROGRESS_DELAY")]
    pub progress_delay: Option<String>,
    // ----- agent presets -----
    /// Ready-made agent setup: `sisyphus` installs oh-my-opencode and runs its Sisyphus agent.
    #[arg(long, env = "INPUT_AGENT_PRESET")]
    pub agent_preset: Option<String>,
    /// oh-my-opencode version the `sisyphus` preset installs (exact) [default: 4.19.4].
    #[arg(long, env = "INPUT_OH_MY_OPENCODE_VERSION")]
    pub oh_my_opencode_version: Option<String>,
    /// oh-my-opencode config for the `sisyphus` preset: inline JSON or a file path, merged over ours.
    #[arg(long, env = "INPUT_OMO_CONFIG")]
    pub omo_config: Option<String>,

    #[command(flatten)]
    pub env: ActionsEnv,
}

/// What the runner (or the person replaying an event) sets in the environment. Hidden from
/// `--help`: these are not inputs, and each flag exists only because clap reads variables
/// through arguments. Raw like the inputs: `config.rs` decides what empty means.
#[derive(Debug, Default, Args)]
#[allow(clippy::struct_field_names)]
pub struct ActionsEnv {
    #[arg(id = "env-github-api-url", long = "env-github-api-url", env = "GITHUB_API_URL", hide = true)]
    pub api_url: Option<String>,
    #[arg(id = "env-github-graphql-url", long = "env-github-graphql-url", env = "GITHUB_GRAPHQL_URL", hide = true)]
    pub graphql_url: Option<String>,
    #[arg(id = "env-github-server-url", long = "env-github-server-url", env = "GITHUB_SERVER_URL", hide = true)]
    pub server_url: Option<String>,
    #[arg(id = "env-github-workspace", long = "env-github-workspace", env = "GITHUB_WORKSPACE", hide = true)]
    pub workspace: Option<String>,
    #[arg(id = "env-github-run-id", long = "env-github-run-id", env = "GITHUB_RUN_ID", hide = true)]
    pub run_id: Option<String>,
    #[arg(id = "env-github-run-attempt", long = "env-github-run-attempt", env = "GITHUB_RUN_ATTEMPT", hide = true)]
    pub run_attempt: Option<String>,
    #[arg(id = "env-github-output", long = "env-github-output", env = "GITHUB_OUTPUT", hide = true)]
    pub output: Option<String>,
    #[arg(id = "env-github-step-summary", long = "env-github-step-summary", env = "GITHUB_STEP_SUMMARY", hide = true)]
    pub step_summary: Option<String>,
    /// `true` inside GitHub Actions: workflow commands instead of plain logs.
    #[arg(id = "env-github-actions", long = "env-github-actions", env = "GITHUB_ACTIONS", hide = true)]
    pub actions: Option<String>,
    #[arg(id = "env-runner-temp", long = "env-runner-temp", env = "RUNNER_TEMP", hide = true)]
    pub runner_temp: Option<String>,
    /// Where installed tools are kept (default: `$RUNNER_TEMP/tool-cache`).
    #[arg(id = "env-runner-tool-cache", long = "env-runner-tool-cache", env = "RUNNER_TOOL_CACHE", hide = true)]
    pub tool_cache: Option<String>,
    /// `1` when the run was re-run with debug logging.
    #[arg(id = "env-runner-debug", long = "env-runner-debug", env = "RUNNER_DEBUG", hide = true)]
    pub runner_debug: Option<String>,

    // ----- fallbacks of inputs (an input, when given, wins) -----
    #[arg(
        id = "env-github-token",
        long = "env-github-token",
        env = "GITHUB_TOKEN",
        hide = true,
        hide_env_values = true
    )]
    pub github_token: Option<String>,
    #[arg(
        id = "env-anthropic-api-key",
        long = "env-anthropic-api-key",
        env = "ANTHROPIC_API_KEY",
        hide = true,
        hide_env_values = true
    )]
    pub anthropic_api_key: Option<String>,
    #[arg(id = "env-anthropic-base-url", long = "env-anthropic-base-url", env = "ANTHROPIC_BASE_URL", hide = true)]
    pub anthropic_base_url: Option<String>,
    #[arg(
        id = "env-openai-api-key",
        long = "env-openai-api-key",
        env = "OPENAI_API_KEY",
        hide = true,
        hide_env_values = true
    )]
    pub openai_api_key: Option<String>,
    #[arg(id = "env-openai-base-url", long = "env-openai-base-url", env = "OPENAI_BASE_URL", hide = true)]
    pub openai_base_url: Option<String>,

    // ----- our own knobs (tests and debugging) -----
    /// Log filter in `level,target=level` syntax (default: `info`, `debug` with `RUNNER_DEBUG`).
    #[arg(id = "env-sisyphus-log", long = "env-sisyphus-log", env = "SISYPHUS_LOG", hide = true)]
    pub log: Option<String>,
    /// First retry backoff of the GitHub client, in milliseconds (tests use a few).
    #[arg(
        id = "env-sisyphus-retry-base-ms",
        long = "env-sisyphus-retry-base-ms",
        env = "SISYPHUS_RETRY_BASE_MS",
        hide = true
    )]
    pub retry_base_ms: Option<String>,
    /// Spacing of the progress comment's edits, in milliseconds (never under a second).
    #[arg(
        id = "env-sisyphus-progress-interval-ms",
        long = "env-sisyphus-progress-interval-ms",
        env = "SISYPHUS_PROGRESS_INTERVAL_MS",
        hide = true
    )]
    pub progress_interval_ms: Option<String>,
    /// `1` allows `timeout-minutes` below one minute (the timeout tests need seconds).
    #[arg(
        id = "env-sisyphus-short-timeouts",
        long = "env-sisyphus-short-timeouts",
        env = "SISYPHUS_SHORT_TIMEOUTS",
        hide = true
    )]
    pub short_timeouts: Option<String>,
}
