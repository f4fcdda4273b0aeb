//! Trigger + Config → act or skip. Pure: no I/O, so the skip path costs nothing.
//!
//! The checks run from the cheapest and most certain to the most specific, and the first
//! failing one gives the reason humans see (`skip-reason` output, logs).

use crate::config::Config;
use crate::event::{EventKind, Trigger};
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
    if matches!(trigger.action.as_str(), "edited" | "deleted") {
        return skip(format!("`{}` actions never trigger", trigger.action));
    }
    if trigger.kind == EventKind::Dispatch {
        return dispatch(trigger);
    }
    let author = &trigger.author.login;
    if trigger.body.contains(MARKER) {
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
    let label_or_assign = trigger.kind == EventKind::Issue && trigger.action != "opened";
    if !label_or_assign
        && !config.allowed_associations.iter().any(|a| a.eq_ignore_ascii_case(&trigger.author_association))
    {
        let association = if trigger.author_association.is_empty() { "none" } else { &trigger.author_association };
        return skip(format!(
            "the author `{author}` is `{association}`, not one of `{}`",
            config.allowed_associations.join(",")
        ));
    }
    match trigger.action.as_str() {
        "labeled" => labeled(trigger, config),
        "assigned" => assigned(trigger, config),
        _ => mentioned(trigger, config),
    }
}

fn dispatch(trigger: &Trigger) -> Decision {
    let prompt = trigger.body.trim();
    match (prompt.is_empty(), trigger.number) {
        (false, _) => Decision::Act { request: prompt.to_owned() },
        (true, Some(n)) => Decision::Act { request: format!("Work on #{n} as its thread describes.") },
        (true, None) => skip("the dispatch has neither a `prompt` nor an `issue-number`"),
    }
}

fn mentioned(trigger: &Trigger, config: &Config) -> Decision {
    if trigger.body.trim().is_empty() {
        return skip(format!("the {} has no text, so no mention of `{}`", what(trigger.kind), config.trigger_phrase));
    }
    match mention::find(&trigger.body, &config.trigger_phrase) {
        Some(m) => Decision::Act { request: m.request },
        None => skip(format!("`{}` is not mentioned outside code, quotes and links", config.trigger_phrase)),
    }
}

fn labeled(trigger: &Trigger, config: &Config) -> Decision {
    match trigger.added_label.as_deref() {
        Some(label) if label.eq_ignore_ascii_case(&config.trigger_label) => {
            Decision::Act { request: issue_request(trigger) }
        }
        Some(label) => skip(format!("the label `{label}` is not the trigger label `{}`", config.trigger_label)),
        None => skip("the payload does not say which label was added"),
    }
}

fn assigned(trigger: &Trigger, config: &Config) -> Decision {
    match trigger.assignee.as_deref() {
        Some(who) if who.eq_ignore_ascii_case(&config.bot_login) => Decision::Act { request: issue_request(trigger) },
        Some(who) => skip(format!("the issue was assigned to `{who}`, not to `{}`", config.bot_login)),
        None => skip("the payload does not say who was assigned"),
    }
}

fn what(kind: EventKind) -> &'static str {
    match kind {
        EventKind::IssueComment => "comment",
        EventKind::ReviewComment => "review comment",
        EventKind::Review => "review",
        EventKind::Issue => "issue",
        EventKind::Dispatch => "dispatch",
    }
}

/// Labelling or assigning the bot asks for what the issue itself asks for.
fn issue_request(trigger: &Trigger) -> String {
    let body = trigger.thread_body.trim();
    if body.is_empty() { trigger.title.trim().to_owned() } else { body.to_owned() }
}

/// `allowed-bots` may list `renovate` or `renovate[bot]`; `*` allows every bot.
fn bot_allowed(login: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a == "*" || same_account(a, login))
}

/// Logins compare case-insensitively, and a GitHub App's `name[bot]` is `name`.
fn same_account(a: &str, b: &str) -> bool {
    a.trim_end_matches("[bot]").eq_ignore_ascii_case(b.trim_end_matches("[bot]"))
}
