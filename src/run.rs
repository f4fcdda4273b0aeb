//! The front door: arguments → config → trigger → decision → preflight, then the dry run or
//! the lifecycle. Exit codes are decided here and only here: every input or payload error is
//! a usage error (exit 2), annotated with the input's name in Actions; a skip is a notice.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::event::{self, Loaded};
use crate::exit::{self, Conclusion, UsageError};
use crate::gate::{self, Decision};
use crate::gha::{self, Gha};
use crate::preflight::{self, InputError};
use crate::sanitize::sanitize;

pub fn main() -> ExitCode {
    crate::isolation::hide_from_same_user();
    // Every orphan the agent leaves is re-parented to us, so containment can end it before
    // the token is used (`lifecycle::contain`). Without it, containment is skipped: say so.
    if let Err(e) = crate::isolation::process::become_subreaper() {
        eprintln!("warning: cannot become a child subreaper ({e}): processes the agent detaches may outlive it");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::SUCCESS });
        }
    };
    let args = match cli.command {
        Command::Run(args) => args,
        Command::Doctor(doctor) => return crate::doctor::main(&doctor.run, doctor.check_model),
    };
    // `doctor: true` runs the checklist instead of the lifecycle (a bad value is the
    // preflight's to report, below).
    if crate::config::parse_bool("doctor", args.doctor.as_ref(), false).unwrap_or(false) {
        return crate::doctor::main(&args, false);
    }
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            // No config yet, so no masks either: input errors never quote a secret's value.
            let gha = Gha::new(args.env.actions.as_deref().is_some_and(|v| v.trim() == "true"));
            preflight::annotate(&gha, &e, &[]);
            return ExitCode::from(exit::USAGE);
        }
    };
    let gha = Gha::new(config.github.actions);
    // Masks go out before the first log line, so no later line can show a secret.
    for secret in config.secrets() {
        gha.mask(&secret);
    }
    crate::log::init(config.github.actions, &config.log);

    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            gha.error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(run(&config, &gha)) {
        Ok(conclusion) => {
            let _ = gha::set_output(config.github.output.as_deref(), "conclusion", conclusion.as_str());
            ExitCode::from(conclusion.exit_code())
        }
        Err(e) => {
            let usage = e.chain().any(|c| c.is::<UsageError>() || c.is::<InputError>());
            if usage {
                preflight::annotate(&gha, &e, &config.secrets());
            } else {
                gha.error(&gha::redact(&format!("{e:#}"), &config.secrets()));
            }
            if !usage {
                let _ = gha::set_output(config.github.output.as_deref(), "conclusion", Conclusion::Failure.as_str());
            }
            ExitCode::from(if usage { exit::USAGE } else { exit::FAILURE })
        }
    }
}

async fn run(config: &Config, gha: &Gha) -> Result<Conclusion> {
    let output = config.github.output.as_deref();
    let trigger = match event::load(config)? {
        Loaded::Trigger(trigger) => *trigger,
        Loaded::Skip(reason) => return skip(config, gha, &reason),
    };
    // Sanitised once, here: everything after (the prompt, the commit subject, the PR title, the
    // summary) takes the `Sanitized` request.
    let request = match gate::decide(&trigger, config) {
        Decision::Act { request } => sanitize(&request),
        Decision::Skip { reason } => return skip(config, gha, &reason),
    };
    // `stop`/`cancel` ends the run at work on the thread; it never starts an agent, so it
    // needs no model key and skips the preflight.
    if trigger.comment().is_some() && trigger.number.is_some() && crate::mention::is_stop(&request) {
        gha::set_output(output, "triggered", "true")?;
        gha::set_output(output, "skip-reason", "")?;
        if config.dry_run {
            gha.notice("dry run: would stop the run working on this thread");
            return Ok(Conclusion::Success);
        }
        return crate::stop::run(config, &trigger, gha).await;
    }
    // Before the first output and the first write: a bad configuration fails here, privately,
    // and a dry run that passes means a real run would get past it too.
    preflight::check(config)?;
    let config = &preflight::pin_file_inputs(config)?;
    gha::set_output(output, "triggered", "true")?;
    gha::set_output(output, "skip-reason", "")?;
    if config.dry_run {
        return crate::dry_run::run(config, &trigger, &request, gha).await;
    }
    if config.manual.is_some() {
        // Said before the first write: the person may expect the bot's name on what follows.
        tracing::info!(
            "a local run: the reactions, the `{}` label, the reply and the pull request on {} appear under the \
             GitHub account that owns the token, not as `{}`; commits are authored as `{}`",
            config.label,
            trigger.repo.full_name(),
            config.bot_login,
            config.publish.git_user_name
        );
    }
    crate::lifecycle::run(config, trigger, request, gha).await
}

/// The skip path: no network, no agent, exit 0. The reason is a notice on the run's page.
fn skip(config: &Config, gha: &Gha, reason: &str) -> Result<Conclusion> {
    gha.notice(&format!("skipping: {reason}"));
    let output = config.github.output.as_deref();
    gha::set_output(output, "triggered", "false")?;
    gha::set_output(output, "skip-reason", reason)?;
    Ok(Conclusion::Skipped)
}
