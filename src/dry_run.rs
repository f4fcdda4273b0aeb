//! `--dry-run`: decide, gather (payload-only without a token), render, and print what a real
//! run would do. No writes to GitHub, no agent, no git.
//!
//! With a token the context comes from the API (reads only); without one, or when the API
//! cannot be reached, from the payload, and the output says which.

use std::fmt::Write as _;

use anyhow::Result;

use crate::config::{Config, RuntimeKind};
use crate::context::{self, Thread};
use crate::event::{Subject, Trigger};
use crate::exit::Conclusion;
use crate::gha::Gha;
use crate::plan::{self, Plan};
use crate::sanitize::Sanitized;

pub async fn run(config: &Config, trigger: &Trigger, request: &Sanitized, gha: &Gha) -> Result<Conclusion> {
    let thread = gather(config, trigger, gha).await;
    let plan = plan::plan(trigger, &thread, config);
    let workdir = config.github.workspace.as_path();
    let prompt = crate::prompt::render(&crate::prompt::PromptInput {
        config,
        trigger,
        thread: &thread,
        request,
        publishing: &plan.describe(),
        workdir,
    })?;
    let report = report(config, trigger, request, &thread, &plan, &prompt);
    // The prompt echoes untrusted text: it must not be able to issue workflow commands.
    let _guard = gha.stop_commands();
    print!("{report}");
    Ok(Conclusion::Success)
}

async fn gather(config: &Config, trigger: &Trigger, gha: &Gha) -> Thread {
    let Some(token) = config.token.as_deref() else { return context::from_payload(trigger) };
    let fetched = match crate::github::Client::new(&config.github, token) {
        Ok(client) => context::gather(Some(&client), trigger).await,
        Err(e) => Err(e),
    };
    fetched.unwrap_or_else(|e| {
        gha.warning(&format!("dry run: {e:#}; falling back to the payload"));
        context::from_payload(trigger)
    })
}

/// Everything the dry run prints, as one text (tests read it from stdout).
pub fn report(config: &Config, trigger: &Trigger, request: &str, thread: &Thread, plan: &Plan, prompt: &str) -> String {
    let target = thread_ref(thread);
    let mut out = String::new();
    let _ = writeln!(out, "sisyphus-action dry run: nothing is written to GitHub and no agent runs.\n");
    let _ = writeln!(out, "Decision: act on {target}: {}", why(config, trigger));
    let _ = writeln!(out, "Request: {}", if request.is_empty() { "(none: a bare mention)" } else { request });
    // Only a passed preflight gets here: say so, so a clean dry run reads as a sound config.
    let _ = writeln!(out, "Preflight: passed ({})", crate::preflight::summary(config));
    let source = if thread.from_payload_only { "the event payload only (no token)" } else { "the GitHub API" };
    let _ = writeln!(
        out,
        "Context: from {source}; {} comment(s), {} changed file(s), {} review(s)",
        thread.comments.len(),
        thread.pull.as_ref().map_or(0, |p| p.files.len()),
        thread.pull.as_ref().map_or(0, |p| p.reviews.len()),
    );
    let _ = writeln!(out, "\nA real run would:");
    for (i, step) in side_effects(config, trigger, thread, plan).iter().enumerate() {
        let _ = writeln!(out, "  {}. {step}", i + 1);
    }
    let _ = writeln!(out, "\nPrompt:\n----- prompt -----\n{prompt}\n----- end of prompt -----");
    out
}

fn thread_ref(thread: &Thread) -> String {
    match thread.number {
        Some(n) => format!("{}#{n}", thread.repo),
        None => thread.repo.clone(),
    }
}

/// Why the gate let this through, in one line.
fn why(config: &Config, trigger: &Trigger) -> String {
    let who = &trigger.author.login;
    match &trigger.subject {
        Subject::Dispatch { .. } if who.is_empty() => "a manual run from the command line".into(),
        Subject::Dispatch { .. } => format!("a workflow_dispatch by @{who}"),
        Subject::IssueLabeled { .. } => format!("@{who} added the label `{}`", config.trigger_label),
        Subject::IssueAssigned { .. } => format!("@{who} assigned the issue to `{}`", config.bot_login),
        Subject::Comment(_) | Subject::Review(_) | Subject::IssueOpened { .. } => format!(
            "@{who} ({}) mentioned `{}` in `{}` ({})",
            trigger.association().unwrap_or_default(),
            config.trigger_phrase,
            trigger.event_name(),
            trigger.subject.action()
        ),
    }
}

/// The side effects of a real run, in order.
fn side_effects(config: &Config, trigger: &Trigger, thread: &Thread, plan: &Plan) -> Vec<String> {
    let target = thread_ref(thread);
    let mut steps = Vec::new();
    match trigger.comment() {
        Some(c) => steps.push(format!("react 👀 to the comment {}", c.html_url)),
        None if thread.number.is_some() => steps.push(format!("react 👀 to {target}")),
        None => {}
    }
    if thread.number.is_some() {
        steps.push(format!("add the label `{}` to {target}", config.label));
    }
    steps.push(format!("prepare the work tree `{}`: {}", config.github.workspace.display(), plan_line(plan)));
    let agent = match &config.agent.runtime {
        RuntimeKind::OpenCode => format!("OpenCode {} with `{}`", config.agent.opencode_version, config.agent.model),
        RuntimeKind::Command(cmd) => format!("the command `{cmd}`"),
        RuntimeKind::Codex(codex) => format!("Codex {} with `{}`", codex.version, config.agent.model),
    };
    steps
        .push(format!("run the agent ({agent}) for at most {} minute(s)", config.agent.timeout.as_secs().div_ceil(60)));
    let p = &config.publish;
    match plan {
        Plan::ReadOnly { reason } => steps.push(format!("push nothing: {reason}")),
        Plan::NewBranch { branch, base } => {
            steps.push(push_line(p.allow_push, branch));
            if p.allow_push && p.allow_pr {
                let draft = if p.draft_pr { "a draft" } else { "a" };
                steps.push(format!("open {draft} pull request `{branch}` → `{base}`"));
            } else {
                steps.push("open no pull request (`allow-pr` or `allow-push` is off)".into());
            }
        }
        Plan::PullHead { branch, .. } => steps.push(push_line(p.allow_push, branch)),
        Plan::ForkHead { repo, branch, .. } => steps.push(push_line(p.allow_push, &format!("{repo}:{branch}"))),
    }
    if p.allow_comments && thread.number.is_some() {
        steps.push(format!("reply on {target} with the summary"));
    }
    if thread.number.is_some() {
        steps.push(format!("finish: swap 👀 for 👍 (or 😕 on failure) and remove the label `{}`", config.label));
    }
    steps
}

fn plan_line(plan: &Plan) -> String {
    match plan {
        Plan::NewBranch { branch, base } => format!("new branch `{branch}` from `{base}`"),
        Plan::PullHead { branch, .. } => format!("the pull request's branch `{branch}`"),
        Plan::ForkHead { repo, branch, .. } => format!("the fork's branch `{branch}` of `{repo}`"),
        Plan::ReadOnly { .. } => "stay read-only".into(),
    }
}

fn push_line(allow_push: bool, branch: &str) -> String {
    if allow_push {
        format!("commit the changes and push `{branch}` (guarded)")
    } else {
        format!("commit nothing to `{branch}`: `allow-push` is off")
    }
}
