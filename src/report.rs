//! What people read: the reply on the thread, the failure reply, the job summary.
//!
//! Pure functions from the run's values to markdown; posting and writing are the lifecycle's.
//! Secrets are redacted by the caller, which knows them. The agent's words are defused
//! (`publish::message::defuse`): they cannot add trailers or closing keywords, nor notify anyone.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::DEFAULT_MODEL;
use crate::event::Trigger;
use crate::exit::Conclusion;
use crate::marker::MARKER;
use crate::publish::Published;
use crate::publish::message::defuse;
use crate::runtime::opencode::events::{ErrorClass, classify};
use crate::runtime::{AgentStatus, Outcome, Todo};
use crate::text::{excerpt, excerpt_line, human, one_line, thousands};

/// GitHub refuses a comment body over 65,536 characters; a reply stays well below that (in
/// bytes, which is never fewer than GitHub's count, whatever it counts).
pub const REPLY_MAX: usize = 60_000;

/// Said where a too-long reply was cut.
pub const TRUNCATED_NOTE: &str = "*(truncated; the full text is in the job summary)*";

/// A hidden line naming the event a reply answers: a re-run of the same event finds its
/// earlier reply by it and updates that instead of posting a second one.
pub fn reply_key(trigger: &Trigger, run_id: Option<&str>) -> String {
    let subject = match (trigger.comment(), trigger.number) {
        (Some(comment), _) => format!("comment-{}", comment.id),
        (None, Some(number)) => format!("thread-{number}-run-{}", run_id.unwrap_or("local")),
        (None, None) => format!("run-{}", run_id.unwrap_or("local")),
    };
    format!("<!-- sisyphus-action:reply-to={subject} -->")
}

/// The lifecycle stage a failure happened in, as the failure reply names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Context,
    Prepare,
    Prompt,
    Install,
    Agent,
    Containment,
    Publish,
    Cancel,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Context => "context",
            Self::Prepare => "prepare",
            Self::Prompt => "prompt",
            Self::Install => "install",
            Self::Agent => "agent",
            Self::Containment => "containment",
            Self::Publish => "publish",
            Self::Cancel => "cancel",
        })
    }
}

/// What kind of failure it was. The conclusion branches on it ([`Failure::conclusion`]); the
/// reply shows its `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// `timeout-minutes` ran out.
    Timeout,
    /// The runner cancelled the job, or someone stopped the run from the thread.
    Cancelled,
    /// A GitHub error, by its variant ([`GithubError::kind`](crate::github::GithubError::kind)).
    Github(&'static str),
    /// The agent's own error kind (`APIError`, `ProviderAuthError`, …), as its runtime names it.
    Agent(String),
    /// Processes the agent started outlived containment.
    Survivors,
    /// Anything else.
    Error,
}

impl FailureKind {
    /// The kind of a stage's error: the GitHub error in its chain, else [`FailureKind::Error`].
    pub fn of(error: &anyhow::Error) -> Self {
        match error.chain().find_map(|e| e.downcast_ref::<crate::github::GithubError>()) {
            Some(github) => Self::Github(github.kind()),
            None => Self::Error,
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::Github(kind) => kind,
            Self::Agent(kind) => kind,
            Self::Survivors => "survivors",
            Self::Error => "error",
        })
    }
}

/// What went wrong, in the words the failure reply and the summary use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The lifecycle stage that failed.
    pub stage: Stage,
    pub kind: FailureKind,
    /// A short excerpt of the error, already redacted.
    pub message: String,
    /// What to change, in the words of this action's inputs, when the error is one we know.
    pub advice: Option<String>,
}

impl Failure {
    pub fn new(stage: Stage, kind: FailureKind, message: &str) -> Self {
        Self { stage, kind, message: excerpt(message, 600), advice: None }
    }

    /// A timeout or a cancellation ends the run as cancelled (exit 130); anything else failed.
    pub fn conclusion(&self) -> Conclusion {
        match self.kind {
            FailureKind::Timeout | FailureKind::Cancelled => Conclusion::Cancelled,
            _ => Conclusion::Failure,
        }
    }

    /// The failure an agent outcome stands for, if it is not a success.
    /// `model` (`provider/model`) is the one the run used: the advice names it.
    pub fn from_outcome(outcome: &Outcome, model: &str, timeout: Duration) -> Option<Self> {
        match &outcome.status {
            AgentStatus::Done => None,
            AgentStatus::Failed { kind, message } => {
                let mut failure =
                    Self::new(Stage::Agent, FailureKind::Agent(kind.clone()), &without_foreign_advice(message));
                failure.advice = advice(kind, message, model);
                Some(failure)
            }
            AgentStatus::TimedOut => Some(Self::new(
                Stage::Agent,
                FailureKind::Timeout,
                &format!("the agent did not finish within `timeout-minutes` ({})", human(timeout)),
            )),
            AgentStatus::Cancelled => Some(Self::new(Stage::Agent, FailureKind::Cancelled, "the run was cancelled")),
        }
    }
}

/// What to do about a known error, naming our inputs (`model`, `anthropic-api-key`, …), never
/// the parameters of the libraries underneath: OpenCode's key error says "pass it using the
/// 'apiKey' parameter", which a user of this action has no way to do.
pub fn advice(kind: &str, message: &str, model: &str) -> Option<String> {
    let class = ErrorClass::from_kind(kind).or_else(|| classify(kind, message))?;
    let (provider, id) = model.split_once('/').unwrap_or((model, ""));
    let (secret, input) = match provider {
        "anthropic" => ("ANTHROPIC_API_KEY", Some("anthropic-api-key")),
        "openai" => ("OPENAI_API_KEY", Some("openai-api-key")),
        crate::runtime::opencode::config::OPENAI_COMPATIBLE => ("the endpoint's key", Some("openai-api-key")),
        _ => ("the provider's key", None),
    };
    Some(match (class, input) {
        (ErrorClass::Auth, Some(input)) if secret.starts_with("the ") => format!(
            "the provider `{provider}` did not accept the key: add {secret} as a repository secret and pass it as `{input}`"
        ),
        (ErrorClass::Auth, Some(input)) => format!(
            "the provider `{provider}` did not accept the key (or got none): add the `{secret}` secret and pass it as `{input}`, e.g. `{input}: ${{{{ secrets.{secret} }}}}`"
        ),
        (ErrorClass::Auth, None) => format!(
            "the provider `{provider}` did not accept the key (or got none): give the step the provider's key variable from a secret (`env:`), or define the provider and its key in `opencode-config`"
        ),
        (ErrorClass::UnknownModel, _) => {
            let example = match provider {
                "anthropic" | "" => DEFAULT_MODEL.to_owned(),
                "openai" => "openai/gpt-5".to_owned(),
                other => format!("{other}/<model id as {other} names it>"),
            };
            format!(
                "the model `{id}` is not known to provider `{provider}`: set the `model` input to one it serves; valid ids look like `{example}`"
            )
        }
        (ErrorClass::Connection, _) => {
            let base = match provider {
                "anthropic" => "`anthropic-base-url`",
                "openai" | crate::runtime::opencode::config::OPENAI_COMPATIBLE => "`openai-base-url`",
                _ => "the provider's `baseURL` in `opencode-config`",
            };
            format!(
                "the provider `{provider}` could not be reached: check {base} (leave it empty for the provider's own address) and that the runner can reach it (proxy settings)"
            )
        }
    })
}

/// The error text without sentences that tell the user to set a library's parameter: such
/// advice names options of OpenCode's provider SDK, not of this action.
fn without_foreign_advice(message: &str) -> String {
    let kept: Vec<&str> = message
        .split_inclusive(". ")
        .filter(|sentence| !(sentence.contains("apiKey") || sentence.contains("'baseURL'")))
        .collect();
    let kept = kept.concat();
    if kept.trim().is_empty() { message.to_owned() } else { kept.trim_end().to_owned() }
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
    out.push_str(&open_todos(&outcome.todos));
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
    if let Some(advice) = &failure.advice {
        let _ = writeln!(out, "**What to do:** {advice}.\n");
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

/// The agent's todos that were neither completed nor cancelled when it stopped (empty when
/// none): the run ended by the quiet period, so the work may be unfinished.
pub fn open_todos(todos: &[Todo]) -> String {
    let open: Vec<&Todo> = todos.iter().filter(|t| t.status != "completed" && t.status != "cancelled").collect();
    if open.is_empty() {
        return String::new();
    }
    let mut out =
        format!("**Unfinished:** {} of {} todos were still open when the agent stopped:\n", open.len(), todos.len());
    for todo in open {
        let _ = writeln!(out, "- [ ] {} ({})", excerpt_line(&todo.content, 200), todo.status);
    }
    out.push('\n');
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
        // Only a cost the runtime reported, and not OpenCode's zero for a model it has no prices for.
        if let Some(cost) = usage.cost.filter(|c| *c > 0.0) {
            parts.push(format!("${cost:.2}"));
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
    let _ =
        writeln!(out, "| Trigger | `{}` on {}{thread} by @{} |", t.event_name(), t.repo.full_name(), t.author.login);
    let _ = writeln!(out, "| Decision | acted on: {} |", cell(&excerpt(s.request, 200)));
    let _ = writeln!(out, "| Duration | {} |", human(s.duration));
    let _ = writeln!(out, "| Outcome | {} |", s.conclusion.as_str());
    if let Some(f) = s.failure {
        let _ = writeln!(out, "| Failed | {} (`{}`): {} |", f.stage, f.kind, cell(&excerpt(&f.message, 200)));
        if let Some(advice) = &f.advice {
            let _ = writeln!(out, "| What to do | {} |", cell(advice));
        }
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

/// Table cells hold one line and no pipes.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Comment, PayloadThread, Subject};
    use crate::github::types::{CommentKind, Repo};
    use crate::runtime::Usage;

    fn trigger() -> Trigger {
        Trigger {
            repo: Repo { owner: "octo".into(), name: "repo".into() },
            number: Some(7),
            author: Actor { login: "alice".into(), is_bot: false },
            html_url: Some("https://github.com/octo/repo/issues/7".into()),
            created_at: None,
            subject: Subject::Comment(Comment {
                id: 1001,
                kind: CommentKind::Issue,
                html_url: "https://github.com/octo/repo/issues/7#issuecomment-1001".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
                body: "@sisyphus-dev-ai fix the flaky test".into(),
                association: "OWNER".into(),
            }),
            thread: PayloadThread {
                title: "Flaky test".into(),
                author: "alice".into(),
                default_branch: Some("main".into()),
                ..PayloadThread::default()
            },
        }
    }

    fn outcome() -> Outcome {
        Outcome {
            status: AgentStatus::Done,
            final_text: "Fixed the race in `tests/net.rs`: the server now binds before the client connects.".into(),
            todos: Vec::new(),
            child_sessions: Vec::new(),
            usage: Usage { input_tokens: 123_456, output_tokens: 7_890, cost: Some(0.4567) },
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
        t.subject = Subject::IssueLabeled { label: "sisyphus".into() };
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
        let failure = Failure::new(
            Stage::Agent,
            FailureKind::Agent("APIError".into()),
            "Overloaded: the model provider returned 529 ```",
        );
        let reply = failure_reply(&failure, None, &footer);
        assert!(reply.contains(RUN) && reply.contains(MARKER) && reply.contains(&key));
        insta::assert_snapshot!(reply);
    }

    #[test]
    fn timeout_is_a_failure_naming_the_limit() {
        let mut o = outcome();
        o.status = AgentStatus::TimedOut;
        let f = Failure::from_outcome(&o, DEFAULT_MODEL, Duration::from_secs(1800)).unwrap();
        assert_eq!((f.stage, &f.kind), (Stage::Agent, &FailureKind::Timeout));
        assert_eq!(f.conclusion(), Conclusion::Cancelled);
        assert!(f.message.contains("30m 00s"), "{}", f.message);
        assert_eq!(Failure::from_outcome(&outcome(), DEFAULT_MODEL, Duration::from_secs(1)), None);
    }

    #[test]
    fn summary_snapshot() {
        let failure = Failure::new(
            Stage::Publish,
            FailureKind::Github("github"),
            "POST /repos/octo/repo/pulls: forbidden | not permitted",
        );
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

    fn failed(kind: &str, message: &str) -> Outcome {
        Outcome { status: AgentStatus::Failed { kind: kind.into(), message: message.into() }, ..outcome() }
    }

    #[test]
    fn a_missing_or_refused_key_names_our_input_not_the_sdks_parameter() {
        let footer = Footer { duration: Duration::from_secs(1), run_url: None, key: "k", agent: None };
        // OpenCode's words when no key reached the Anthropic provider.
        let missing = "Anthropic API key is missing. Pass it using the 'apiKey' parameter or the \
                       ANTHROPIC_API_KEY environment variable.";
        let f = Failure::from_outcome(&failed("UnknownError", missing), DEFAULT_MODEL, Duration::from_secs(1)).unwrap();
        let reply = failure_reply(&f, None, &footer);
        assert!(reply.contains("add the `ANTHROPIC_API_KEY` secret and pass it as `anthropic-api-key`"), "{reply}");
        assert!(!reply.contains("apiKey"), "another tool's parameter reached the reply: {reply}");
        assert!(reply.contains("Anthropic API key is missing."), "{reply}");
        // A 401 from OpenAI, as OpenCode reports it (`HTTP 401: …`).
        let refused = "HTTP 401: Incorrect API key provided: sk-xx***xx.";
        let f = Failure::from_outcome(&failed("APIError", refused), "openai/gpt-5", Duration::from_secs(1)).unwrap();
        assert_eq!(f.message, refused);
        let advice = f.advice.unwrap();
        assert!(advice.contains("`OPENAI_API_KEY` secret and pass it as `openai-api-key`"), "{advice}");
        // A provider we have no input for: its key goes through the environment or the config.
        let advice = advice_for("AuthError", "HTTP 403: forbidden", "groq/llama");
        assert!(advice.contains("`opencode-config`") && !advice.contains("-api-key`"), "{advice}");
    }

    fn advice_for(kind: &str, message: &str, model: &str) -> String {
        advice(kind, message, model).unwrap_or_else(|| panic!("no advice for {kind}: {message}"))
    }

    #[test]
    fn an_unknown_model_or_unreachable_provider_says_which_input_to_change() {
        let a = advice_for("APIError", "HTTP 404: The model `claude-opus-9` does not exist", "anthropic/claude-opus-9");
        assert!(a.contains("the model `claude-opus-9` is not known to provider `anthropic`"), "{a}");
        assert!(a.contains("`model` input") && a.contains("valid ids look like `anthropic/"), "{a}");
        let a = advice_for("UnknownModel", "model_not_found", "groq/nope");
        assert!(a.contains("valid ids look like `groq/"), "{a}");
        let message = "Cannot connect to API: Unable to connect. Is the computer able to access the url?";
        let a = advice_for("ConnectionError", message, "openai/gpt-5");
        assert!(a.contains("`openai-base-url`"), "{a}");
        assert!(advice_for("APIError", message, "anthropic/x").contains("`anthropic-base-url`"));
        // Transient or unknown failures get no advice: the excerpt is all we know.
        assert_eq!(advice("APIError", "HTTP 500: fake upstream exploded", "anthropic/x"), None);
        assert_eq!(advice("APIError", "Overloaded: the model provider returned 529", "anthropic/x"), None);
        let f =
            Failure::from_outcome(&failed("RetryLimit", "HTTP 529: overloaded"), DEFAULT_MODEL, Duration::from_secs(1));
        assert_eq!(f.unwrap().advice, None);
        // The job summary shows the advice too.
        let f = Failure::from_outcome(&failed("ConnectionError", message), "openai/gpt-5", Duration::from_secs(1));
        let s = Summary {
            trigger: &trigger(),
            request: "x",
            conclusion: Conclusion::Failure,
            duration: Duration::from_secs(1),
            run_url: None,
            reply_url: None,
            full_reply: None,
            published: None,
            failure: f.as_ref(),
        };
        assert!(summary(&s).contains("| What to do | the provider `openai` could not be reached"), "{}", summary(&s));
    }

    #[test]
    fn a_reply_says_which_todos_were_left_open() {
        let footer = Footer { duration: Duration::from_secs(1), run_url: None, key: "k", agent: None };
        let mut o = outcome();
        o.todos = vec![
            Todo { content: "Fix the race".into(), status: "completed".into() },
            Todo { content: "Add a test for @bob".into(), status: "pending".into() },
        ];
        let reply = success_reply(&o, &Published::default(), &footer);
        assert!(reply.contains("**Unfinished:** 1 of 2 todos were still open"), "{reply}");
        assert!(reply.contains("- [ ] Add a test for `@bob` (pending)"), "defused: {reply}");
        assert!(!reply.contains("Fix the race"), "{reply}");
        o.todos[1].status = "cancelled".into();
        assert!(!success_reply(&o, &Published::default(), &footer).contains("Unfinished"));
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
