//! Trigger + Config → act or skip. Pure: no I/O, so the skip path costs nothing.
//!
//! The checks run from the cheapest and most certain to the most specific, and the first
//! failing one gives the reason humans see (`skip-reason` output, logs).

use crate::config::Config;
use crate::event::{Subject, Trigger};
use crate::marker::MARKER;
use crate::mention;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Act on `request`: the text after the mention (the whole body when there is none).
    Act { request: String },
    /// Do nothing; the reason is shown to humans.
    Skip { reason: String },
}

fn skip(reason: impl Into<String>) -> Decision {
    Decision::Skip { reason: reason.into() }
}

pub fn decide(trigger: &Trigger, config: &Config) -> Decision {
    if let Subject::Dispatch { prompt } = &trigger.subject {
        return dispatch(prompt, trigger.number);
    }
    let author = &trigger.author.login;
    if trigger.text().contains(MARKER) {
        return skip("the text carries sisyphus-action's own marker (it wrote it)");
    }
    if same_account(author, &config.bot_login) {
        return skip(format!("the author `{author}` is the bot itself"));
    }
    if trigger.author.is_bot && !bot_allowed(author, &config.allowed_bots) {
        return skip(format!("the author `{author}` is a bot and not listed in `allowed-bots`"));
    }
    // `labeled`/`assigned` are done by someone with triage rights: the payload has no
    // association for the sender, and the permission to label already says enough.
    if let Some(association) = trigger.association()
        && !config.allowed_associations.iter().any(|a| a.eq_ignore_ascii_case(association))
    {
        let association = if association.is_empty() { "none" } else { association };
        return skip(format!(
            "the author `{author}` is `{association}`, not one of `{}`",
            config.allowed_associations.join(",")
        ));
    }
    match &trigger.subject {
        Subject::IssueLabeled { label } => labeled(trigger, label, config),
        Subject::IssueAssigned { assignee } => assigned(trigger, assignee, config),
        _ => mentioned(trigger, config),
    }
}

fn dispatch(prompt: &str, number: Option<u64>) -> Decision {
    let prompt = prompt.trim();
    match (prompt.is_empty(), number) {
        (false, _) => Decision::Act { request: prompt.to_owned() },
        (true, Some(n)) => Decision::Act { request: format!("Work on #{n} as its thread describes.") },
        (true, None) => skip("the dispatch has neither a `prompt` nor an `issue-number`"),
    }
}

fn mentioned(trigger: &Trigger, config: &Config) -> Decision {
    let text = trigger.text();
    if text.trim().is_empty() {
        return skip(format!(
            "the {} has no text, so no mention of `{}`",
            what(&trigger.subject),
            config.trigger_phrase
        ));
    }
    match mention::find(text, &config.trigger_phrase) {
        Some(m) => Decision::Act { request: m.request },
        None => skip(format!("`{}` is not mentioned outside code, quotes and links", config.trigger_phrase)),
    }
}

fn labeled(trigger: &Trigger, label: &str, config: &Config) -> Decision {
    if label.eq_ignore_ascii_case(&config.trigger_label) {
        Decision::Act { request: issue_request(trigger) }
    } else {
        skip(format!("the label `{label}` is not the trigger label `{}`", config.trigger_label))
    }
}

fn assigned(trigger: &Trigger, who: &str, config: &Config) -> Decision {
    if who.eq_ignore_ascii_case(&config.bot_login) {
        Decision::Act { request: issue_request(trigger) }
    } else {
        skip(format!("the issue was assigned to `{who}`, not to `{}`", config.bot_login))
    }
}

fn what(subject: &Subject) -> &'static str {
    match subject {
        Subject::Comment(c) if c.kind == crate::github::types::CommentKind::Review => "review comment",
        Subject::Comment(_) => "comment",
        Subject::Review(_) => "review",
        Subject::IssueOpened { .. } | Subject::IssueLabeled { .. } | Subject::IssueAssigned { .. } => "issue",
        Subject::Dispatch { .. } => "dispatch",
    }
}

/// Labelling or assigning the bot asks for what the issue itself asks for.
fn issue_request(trigger: &Trigger) -> String {
    let body = trigger.thread.body.trim();
    if body.is_empty() { trigger.thread.title.trim().to_owned() } else { body.to_owned() }
}

/// `allowed-bots` may list `renovate` or `renovate[bot]`; `*` allows every bot.
fn bot_allowed(login: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a == "*" || same_account(a, login))
}

/// Logins compare case-insensitively, and a GitHub App's `name[bot]` is `name`.
fn same_account(a: &str, b: &str) -> bool {
    a.trim_end_matches("[bot]").eq_ignore_ascii_case(b.trim_end_matches("[bot]"))
}
