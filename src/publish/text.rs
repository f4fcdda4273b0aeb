//! What people read about the published work: the commit message, the PR title and body.
//! Pure. The thread reply is the report stage's; it is rendered from `Published`.

use std::fmt::Write as _;

use crate::gate::MARKER;
use crate::runtime::Outcome;

/// Git's conventional subject length.
const SUBJECT_MAX: usize = 72;
/// How much of the agent's final message goes into the commit body and the PR body.
const COMMIT_SUMMARY_MAX: usize = 1_500;
const PR_SUMMARY_MAX: usize = 6_000;

/// One line from the request (or the thread title): capitalised, at most 72 characters.
pub fn subject(request: &str, fallback: &str) -> String {
    let first = |text: &str| text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned);
    let line = first(request).or_else(|| first(fallback)).unwrap_or_else(|| "Changes requested from GitHub".into());
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = line.chars();
    let capitalised: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    excerpt(&capitalised, SUBJECT_MAX)
}

/// At most `max` characters, cut at a character boundary with `…` when shortened.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// Replaces every known secret value with `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets.iter().filter(|s| !s.is_empty()).fold(text.to_owned(), |t, s| t.replace(s.as_str(), "***"))
}

/// `Co-authored-by:` for the requester; GitHub attributes `login@users.noreply.github.com`
/// to accounts, so no email lookup is needed.
pub fn co_author_trailer(login: &str) -> String {
    format!("Co-authored-by: {login} <{login}@users.noreply.github.com>")
}

/// Subject, the agent's summary, the thread it came from, and the trailer.
pub fn commit_message(subject: &str, outcome: &Outcome, thread_ref: Option<&str>, co_author: Option<&str>) -> String {
    let mut message = format!("{subject}\n");
    let summary = excerpt(&outcome.final_text, COMMIT_SUMMARY_MAX);
    if !summary.is_empty() {
        let _ = write!(message, "\n{summary}\n");
    }
    if let Some(r) = thread_ref {
        let _ = write!(message, "\nRequested in {r}.\n");
    }
    if let Some(login) = co_author {
        let _ = write!(message, "\n{}\n", co_author_trailer(login));
    }
    message
}

/// Everything the PR body is made of.
pub struct PrFacts<'a> {
    pub outcome: &'a Outcome,
    pub files: &'a [String],
    pub withheld: &'a [(String, String)],
    /// The issue the PR closes.
    pub closes: Option<u64>,
    pub run_url: Option<String>,
}

pub fn pr_body(facts: &PrFacts<'_>) -> String {
    let mut body = String::new();
    let summary = excerpt(&facts.outcome.final_text, PR_SUMMARY_MAX);
    let _ =
        write!(body, "## Summary\n\n{}\n", if summary.is_empty() { "(the agent left no summary)" } else { &summary });
    if !facts.outcome.todos.is_empty() {
        body.push_str("\n## Todo list\n\n");
        for todo in &facts.outcome.todos {
            let mark = if todo.status == "completed" { "x" } else { " " };
            let note = match todo.status.as_str() {
                "completed" | "pending" => String::new(),
                other => format!(" ({})", other.replace('_', " ")),
            };
            let _ = writeln!(body, "- [{mark}] {}{note}", one_line(&todo.content));
        }
    }
    if !facts.files.is_empty() {
        body.push_str("\n## Files changed\n\n");
        for file in facts.files {
            let _ = writeln!(body, "- `{file}`");
        }
    }
    if !facts.withheld.is_empty() {
        body.push_str("\n## Left out of this PR\n\n");
        for (file, reason) in facts.withheld {
            let _ = writeln!(body, "- `{file}`: {reason}");
        }
    }
    body.push('\n');
    if let Some(n) = facts.closes {
        let _ = writeln!(body, "Closes #{n}");
    }
    if let Some(url) = &facts.run_url {
        let _ = writeln!(body, "Run: {url}");
    }
    let _ = writeln!(body, "\n{MARKER}");
    body
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{AgentStatus, Todo, Usage};

    fn outcome() -> Outcome {
        let todo = |content: &str, status: &str| Todo { content: content.into(), status: status.into() };
        Outcome {
            status: AgentStatus::Done,
            final_text: "Fixed the off-by-one in `answer()` and added a regression test.\n\nAll tests pass.".into(),
            todos: vec![
                todo("Find the off-by-one", "completed"),
                todo("Add a regression\ntest", "completed"),
                todo("Update the changelog", "cancelled"),
            ],
            child_sessions: vec![],
            usage: Usage::default(),
            files_changed: vec![],
            session_id: None,
            duration: std::time::Duration::from_secs(90),
        }
    }

    #[test]
    fn commit_message_reads_well() {
        let message = commit_message("Fix the answer", &outcome(), Some("octo/repo#5"), Some("octocat"));
        insta::assert_snapshot!(message);
    }

    #[test]
    fn pr_body_reads_well() {
        let files = ["src/lib.rs".to_owned(), "tests/answer.rs".to_owned()];
        let withheld = [(".env".to_owned(), "an environment file: credential files are never committed".to_owned())];
        let facts = PrFacts {
            outcome: &outcome(),
            files: &files,
            withheld: &withheld,
            closes: Some(5),
            run_url: Some("https://github.com/octo/repo/actions/runs/42".into()),
        };
        insta::assert_snapshot!(pr_body(&facts));
    }

    #[test]
    fn subject_is_one_capitalised_line_of_at_most_72_chars() {
        assert_eq!(subject("  fix the flaky test\nplease", ""), "Fix the flaky test");
        assert_eq!(subject("", "Title of the issue"), "Title of the issue");
        assert_eq!(subject("", ""), "Changes requested from GitHub");
        let long = subject(&"word ".repeat(40), "");
        assert_eq!(long.chars().count(), 72);
        assert!(long.ends_with('…'));
    }
}
