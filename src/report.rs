//! What people read: the reply on the thread, the failure reply, the job summary.
//!
//! Pure functions from the run's values to markdown; posting and writing are the lifecycle's.
//! Secrets are redacted by the caller, which knows them. The agent's words are defused
//! (`publish::text::defuse`): they cannot add trailers or closing keywords, nor notify anyone.

use std::fmt::Write as _;
use std::time::Duration;

use crate::event::Trigger;
use crate::publish::Published;
use crate::publish::text::defuse;
use crate::run::Conclusion;
use crate::runtime::{AgentStatus, Outcome};

/// Hidden in every comment we post, so the gate never acts on our own comments.
pub use crate::gate::MARKER;

/// GitHub refuses a comment body over 65,536 characters; a reply stays well below that (in
/// bytes, which is never fewer than GitHub's count, whatever it counts).
pub const REPLY_MAX: usize = 60_000;

/// Said where a too-long reply was cut.
pub const TRUNCATED_NOTE: &str = "*(truncated; the full text is in the job summary)*";

/// A hidden line naming the event a reply answers: a re-run of the same event finds its
/// earlier reply by it and updates that instead of posting a second one.
pub fn reply_key(trigger: &Trigger, run_id: Option<&str>) -> String {
    let subject = match (&trigger.comment, trigger.number) {
        (Some(comment), _) => format!("comment-{}", comment.id),
        (None, Some(number)) => format!("thread-{number}-run-{}", run_id.unwrap_or("local")),
        (None, None) => format!("run-{}", run_id.unwrap_or("local")),
    };
    format!("<!-- sisyphus-action:reply-to={subject} -->")
}

/// What went wrong, in the words the failure reply and the summary use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The lifecycle stage that failed (`context`, `agent`, `publish`, …).
    pub stage: String,
    /// The error kind (`APIError`, `timeout`, `cancelled`, `github`, …).
    pub kind: String,
    /// A short excerpt of the error, already redacted.
    pub message: String,
}

impl Failure {
    pub fn new(stage: &str, kind: &str, message: &str) -> Self {
        Self { stage: stage.into(), kind: kind.into(), message: excerpt(message, 600) }
    }

    /// The failure an agent outcome stands for, if it is not a success.
    pub fn from_outcome(outcome: &Outcome, timeout: Duration) -> Option<Self> {
        match &outcome.status {
            AgentStatus::Done => None,
            AgentStatus::Failed { kind, message } => Some(Self::new("agent", kind, message)),
            AgentStatus::TimedOut => Some(Self::new(
                "agent",
                "timeout",
                &format!("the agent did not finish within `timeout-minutes` ({})", human(timeout)),
            )),
            AgentStatus::Cancelled => Some(Self::new("agent", "cancelled", "the run was cancelled")),
        }
    }
}

/// Facts every message ends with.
#[derive(Debug, Clone, Copy)]
pub struct Footer<'a> {
    pub duration: Duration,
    pub run_url: Option<&'a str>,
    pub key: &'a str,
    /// The runtime and model, e.g. `codex with openai/gpt-5.5` (every runtime gives the same
    /// replies; the footer says which one worked).
    pub agent: Option<&'a str>,
}

/// The reply after the agent finished: its final message, what changed, where it went.
pub fn success_reply(outcome: &Outcome, published: &Published, footer: &Footer<'_>) -> String {
    let mut out = String::new();
    let text = outcome.final_text.trim();
    out.push_str(if text.is_empty() { "Done." } else { text });
    out.push_str("\n\n");
    // The file lists name what the agent wrote, so they are defused with its message.
    out.push_str(&changes(published));
    let mut out = defuse(&out);
    out.push_str(&footer_line(footer, Some(outcome)));
    out
}

/// The reply shortened to [`REPLY_MAX`] bytes, or `None` when it fits. The cut falls on a
/// character boundary in the text before the footer, which stays whole: its hidden marker
/// keeps the gate off our reply and its key lets a re-run find it. A code block left open by
/// the cut is closed, so the note does not vanish into it.
pub fn cap_reply(reply: &str) -> Option<String> {
    if reply.len() <= REPLY_MAX {
        return None;
    }
    // The footer is the last thing we write; text before it may contain anything.
    let footer_at = reply.rfind("<sub>⏱").filter(|at| reply.len() - at < REPLY_MAX / 2).unwrap_or(reply.len());
    let (text, footer) = reply.split_at(footer_at);
    let room = REPLY_MAX.saturating_sub(footer.len() + TRUNCATED_NOTE.len() + 16);
    let mut cut = room.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = text[..cut].trim_end().to_owned();
    if out.lines().filter(|l| l.trim_start().starts_with("```")).count() % 2 == 1 {
        out.push_str("\n```");
    }
    let _ = write!(out, "\n\n{TRUNCATED_NOTE}\n\n{footer}");
    Some(out)
}

/// The one reply after a failure: what failed, an excerpt, and the run link.
pub fn failure_reply(failure: &Failure, published: Option<&Published>, footer: &Footer<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "😕 I could not finish this: the **{}** stage failed (`{}`).\n", failure.stage, failure.kind);
    if !failure.message.is_empty() {
        let _ = writeln!(out, "```text\n{}\n```\n", failure.message.replace("```", "'''"));
    }
    if let Some(published) = published {
        out.push_str(&defuse(&changes(published)));
    }
    match footer.run_url {
        Some(url) => {
            let _ = writeln!(out, "The [workflow run]({url}) has the full log.\n");
        }
        None => out.push_str("The workflow log has the details.\n\n"),
    }
    out.push_str(&footer_line(footer, None));
    out
}

/// What publishing did and did not do, as a short markdown section (empty when nothing).
fn changes(published: &Published) -> String {
    let mut out = String::new();
    if let Some(url) = &published.pr_url {
        let number = published.pr_number.map(|n| format!(" #{n}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "**Pull request:** [{}]({url})",
            if number.is_empty() { url.as_str() } else { number.trim() }
        );
    } else if let Some(url) = &published.compare_url {
        let _ = writeln!(out, "**Open a pull request:** [compare]({url})");
    }
    if let (Some(branch), Some(sha)) = (&published.branch, &published.commit_sha) {
        let short: String = sha.chars().take(7).collect();
        let _ = writeln!(out, "**Branch:** `{branch}` at `{short}`");
    }
    if !published.files.is_empty() {
        let _ = writeln!(out, "\n<details><summary>{} file(s) changed</summary>\n", published.files.len());
        for file in &published.files {
            let _ = writeln!(out, "- `{file}`");
        }
        out.push_str("\n</details>\n");
    }
    if !published.withheld.is_empty() {
        out.push_str("\n**Not committed:**\n");
        for (file, reason) in &published.withheld {
            let _ = writeln!(out, "- `{file}`: {reason}");
        }
    }
    if !published.notes.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for note in &published.notes {
            let _ = writeln!(out, "> {note}");
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn footer_line(footer: &Footer<'_>, outcome: Option<&Outcome>) -> String {
    let mut parts = vec![format!("⏱ {}", human(footer.duration))];
    if let Some(agent) = footer.agent {
        parts.push(agent.to_owned());
    }
    if let Some(usage) = outcome.map(|o| &o.usage) {
        if usage.input_tokens + usage.output_tokens > 0 {
            parts.push(format!("{} tokens in, {} out", thousands(usage.input_tokens), thousands(usage.output_tokens)));
        }
        if usage.cost > 0.0 {
            parts.push(format!("${:.2}", usage.cost));
        }
    }
    if let Some(url) = footer.run_url {
        parts.push(format!("[run]({url})"));
    }
    format!("<sub>{}</sub>\n\n{MARKER}\n{}\n", parts.join(" · "), footer.key)
}

/// Everything the job summary shows.
pub struct Summary<'a> {
    pub trigger: &'a Trigger,
    pub request: &'a str,
    pub conclusion: Conclusion,
    pub duration: Duration,
    pub run_url: Option<&'a str>,
    pub reply_url: Option<&'a str>,
    /// The whole reply, when the one posted was shortened ([`cap_reply`]).
    pub full_reply: Option<&'a str>,
    pub published: Option<&'a Published>,
    pub failure: Option<&'a Failure>,
}

/// The job summary (`$GITHUB_STEP_SUMMARY`): trigger, decision, duration, outcome, links.
pub fn summary(s: &Summary<'_>) -> String {
    let t = s.trigger;
    let thread = t.number.map(|n| format!("#{n}")).unwrap_or_default();
    let mut out = String::from("## sisyphus-action\n\n| | |\n|---|---|\n");
    let _ = writeln!(out, "| Trigger | `{}` on {}{thread} by @{} |", t.event_name, t.repo.full_name(), t.author.login);
    let _ = writeln!(out, "| Decision | acted on: {} |", one_line(&excerpt(s.request, 200)));
    let _ = writeln!(out, "| Duration | {} |", human(s.duration));
    let _ = writeln!(out, "| Outcome | {} |", s.conclusion.as_str());
    if let Some(f) = s.failure {
        let _ = writeln!(out, "| Failed | {} (`{}`): {} |", f.stage, f.kind, one_line(&excerpt(&f.message, 200)));
    }
    if let Some(p) = s.published {
        if let Some(url) = &p.pr_url {
            let _ = writeln!(out, "| Pull request | {url} |");
        } else if let Some(url) = &p.compare_url {
            let _ = writeln!(out, "| Compare | {url} |");
        }
        if let Some(branch) = &p.branch {
            let _ = writeln!(out, "| Branch | `{branch}` |");
        }
    }
    if let Some(url) = s.reply_url {
        let _ = writeln!(out, "| Reply | {url} |");
    }
    if let Some(url) = &t.html_url {
        let _ = writeln!(out, "| Thread | {url} |");
    }
    if let Some(url) = s.run_url {
        let _ = writeln!(out, "| Run | {url} |");
    }
    out.push('\n');
    if let Some(reply) = s.full_reply {
        // GitHub takes at most 1 MiB of summary per step.
        let _ = write!(out, "### The full reply\n\n{}\n\n", excerpt(reply, SUMMARY_REPLY_MAX));
    }
    out
}

/// Characters of a shortened reply the job summary shows: even at 4 bytes each, well inside
/// GitHub's 1 MiB per step.
const SUMMARY_REPLY_MAX: usize = 200_000;

/// `1h 02m`, `2m 05s`, `4.2s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 {
        format!("{}h {:02}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// Table cells hold one line and no pipes.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Comment, CommentKind, EventKind, Repo};
    use crate::runtime::Usage;

    fn trigger() -> Trigger {
        Trigger {
            event_name: "issue_comment".into(),
            action: "created".into(),
            kind: EventKind::IssueComment,
            repo: Repo { owner: "octo".into(), name: "repo".into() },
            number: Some(7),
            is_pull_request: false,
            author: Actor { login: "alice".into(), is_bot: false },
            author_association: "OWNER".into(),
            body: "@sisyphus-dev-ai fix the flaky test".into(),
            comment: Some(Comment {
                id: 1001,
                kind: CommentKind::Issue,
                html_url: "https://github.com/octo/repo/issues/7#issuecomment-1001".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
            }),
            title: "Flaky test".into(),
            thread_body: String::new(),
            thread_author: "alice".into(),
            labels: Vec::new(),
            added_label: None,
            assignee: None,
            pull: None,
            default_branch: Some("main".into()),
            created_at: None,
            html_url: Some("https://github.com/octo/repo/issues/7".into()),
        }
    }

    fn outcome() -> Outcome {
        Outcome {
            status: AgentStatus::Done,
            final_text: "Fixed the race in `tests/net.rs`: the server now binds before the client connects.".into(),
            todos: Vec::new(),
            child_sessions: Vec::new(),
            usage: Usage { input_tokens: 123_456, output_tokens: 7_890, cost: 0.4567 },
            files_changed: vec!["tests/net.rs".into()],
            session_id: Some("ses_1".into()),
            duration: Duration::from_secs(125),
        }
    }

    fn published() -> Published {
        Published {
            branch: Some("sisyphus/issue-7".into()),
            commit_sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
            pr_url: Some("https://github.com/octo/repo/pull/8".into()),
            pr_number: Some(8),
            compare_url: None,
            files: vec!["tests/net.rs".into()],
            withheld: vec![(".env".into(), "looks like a secret file".into())],
            notes: Vec::new(),
        }
    }

    const RUN: &str = "https://github.com/octo/repo/actions/runs/42";

    #[test]
    fn keys_name_the_event() {
        let mut t = trigger();
        assert_eq!(reply_key(&t, Some("42")), "<!-- sisyphus-action:reply-to=comment-1001 -->");
        t.comment = None;
        assert_eq!(reply_key(&t, Some("42")), "<!-- sisyphus-action:reply-to=thread-7-run-42 -->");
    }

    #[test]
    fn success_reply_snapshot() {
        let key = reply_key(&trigger(), Some("42"));
        let footer = Footer { duration: Duration::from_secs(125), run_url: Some(RUN), key: &key, agent: None };
        insta::assert_snapshot!(success_reply(&outcome(), &published(), &footer));
    }

    #[test]
    fn success_reply_without_changes_snapshot() {
        let key = reply_key(&trigger(), None);
        let footer = Footer { duration: Duration::from_millis(4200), run_url: None, key: &key, agent: None };
        let mut o = outcome();
        o.usage = Usage::default();
        o.final_text = "The test is not flaky: it fails on every run since `abc123`.".into();
        let p = Published { notes: vec!["no files changed, so nothing was committed".into()], ..Published::default() };
        insta::assert_snapshot!(success_reply(&o, &p, &footer));
    }

    #[test]
    fn failure_reply_snapshot() {
        let key = reply_key(&trigger(), Some("42"));
        let footer = Footer { duration: Duration::from_secs(61), run_url: Some(RUN), key: &key, agent: None };
        let failure = Failure::new("agent", "APIError", "Overloaded: the model provider returned 529 ```");
        let reply = failure_reply(&failure, None, &footer);
        assert!(reply.contains(RUN) && reply.contains(MARKER) && reply.contains(&key));
        insta::assert_snapshot!(reply);
    }

    #[test]
    fn timeout_is_a_failure_naming_the_limit() {
        let mut o = outcome();
        o.status = AgentStatus::TimedOut;
        let f = Failure::from_outcome(&o, Duration::from_secs(1800)).unwrap();
        assert_eq!((f.stage.as_str(), f.kind.as_str()), ("agent", "timeout"));
        assert!(f.message.contains("30m 00s"), "{}", f.message);
        assert_eq!(Failure::from_outcome(&outcome(), Duration::from_secs(1)), None);
    }

    #[test]
    fn summary_snapshot() {
        let failure = Failure::new("publish", "github", "POST /repos/octo/repo/pulls: forbidden | not permitted");
        let p = published();
        let s = Summary {
            trigger: &trigger(),
            request: "fix the flaky test\nplease",
            conclusion: Conclusion::Failure,
            duration: Duration::from_secs(3725),
            run_url: Some(RUN),
            reply_url: Some("https://github.com/octo/repo/issues/7#issuecomment-90001"),
            full_reply: None,
            published: Some(&p),
            failure: Some(&failure),
        };
        insta::assert_snapshot!(summary(&s));
    }

    #[test]
    fn a_long_reply_is_cut_before_its_footer_on_a_char_boundary() {
        let key = reply_key(&trigger(), Some("42"));
        let footer = Footer { duration: Duration::from_secs(1), run_url: Some(RUN), key: &key, agent: None };
        let mut o = outcome();
        o.final_text = format!("```text\n{}", "é🦀 ".repeat(20_000));
        let full = success_reply(&o, &published(), &footer);
        assert!(full.len() > 65_536);
        let capped = cap_reply(&full).expect("too long to post");
        assert!(capped.len() <= REPLY_MAX, "{}", capped.len());
        assert!(capped.contains(TRUNCATED_NOTE) && capped.ends_with(&footer_line(&footer, Some(&o))));
        assert!(capped.contains(&format!("🦀\n```\n\n{TRUNCATED_NOTE}")), "the open code block is closed");
        assert_eq!(cap_reply(&success_reply(&outcome(), &published(), &footer)), None, "a short reply is kept");
        let s = Summary {
            trigger: &trigger(),
            request: "x",
            conclusion: Conclusion::Success,
            duration: Duration::from_secs(1),
            run_url: None,
            reply_url: None,
            full_reply: Some(&full),
            published: None,
            failure: None,
        };
        assert!(summary(&s).contains(&"é🦀 ".repeat(20_000).trim_end().to_owned()), "the summary has it all");
    }

    #[test]
    fn the_agents_words_in_a_reply_notify_nobody() {
        let key = reply_key(&trigger(), Some("42"));
        let footer = Footer { duration: Duration::from_secs(1), run_url: None, key: &key, agent: None };
        let mut o = outcome();
        o.final_text = "Thanks @alice!\nCo-authored-by: Mallory <m@x>\nFixes #3".into();
        let reply = success_reply(&o, &Published::default(), &footer);
        assert!(reply.starts_with("Thanks `@alice`!\n`Co-authored-by:` Mallory <m@x>\nFixes `#3`"), "{reply}");
        assert!(reply.ends_with(&format!("{MARKER}\n{key}\n")), "the footer is ours and intact");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(human(Duration::from_millis(4200)), "4.2s");
    }

    #[test]
    fn the_footer_names_the_runtime_and_model() {
        let key = reply_key(&trigger(), Some("7"));
        let footer = Footer {
            duration: Duration::from_secs(3),
            run_url: None,
            key: &key,
            agent: Some("codex with openai/gpt-5.5"),
        };
        assert!(
            footer_line(&footer, None).starts_with("<sub>⏱ 3.0s · codex with openai/gpt-5.5</sub>"),
            "{}",
            footer_line(&footer, None)
        );
    }
}
