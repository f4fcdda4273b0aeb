//! What people read about the published work: the commit message, the PR title and body.
//! Pure. The thread reply is the report stage's; it is rendered from `Published`.
//!
//! The agent's words (its final message, its todos, the names of the files it wrote) are
//! untrusted: [`defuse`] makes them inert before they go where GitHub acts on words. Only the
//! lines we add ourselves (our `Co-authored-by:` for the requester, our `Closes #N`) keep
//! their effect.

use std::fmt::Write as _;

use crate::marker::MARKER;
use crate::runtime::Outcome;
use crate::sanitize::Sanitized;
use crate::text::{excerpt, one_line};

/// Git's conventional subject length.
const SUBJECT_MAX: usize = 72;
/// How much of the agent's final message goes into the commit body and the PR body.
const COMMIT_SUMMARY_MAX: usize = 1_500;
const PR_SUMMARY_MAX: usize = 6_000;
/// GitHub refuses a PR body over 65,536 characters; the agent's part (thousands of changed
/// files can make it long) stays below this many bytes, which leaves room for our lines.
const PR_BODY_AGENT_MAX: usize = 60_000;

/// The commit subject and the PR title: one line from the request (or the thread title),
/// capitalised, at most 72 characters. Both are people's words, so both arrive `Sanitized` (no
/// hidden text, no token) and are defused here: a mention in them notifies nobody, a closing
/// keyword closes nothing, a trailer attributes nothing. Known secret values are the caller's.
pub fn subject(request: &Sanitized, fallback: &Sanitized) -> String {
    let first = |text: &str| text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned);
    let line = first(request).or_else(|| first(fallback)).unwrap_or_else(|| "Changes requested from GitHub".into());
    let line = one_line(&line);
    let mut chars = line.chars();
    let capitalised: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    excerpt(&defuse(&capitalised), SUBJECT_MAX)
}

/// The longest start of `text` of at most `max` bytes that does not end inside a word.
fn cut_between_words(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if !text[end..].starts_with(char::is_whitespace) {
        end = text[..end].trim_end_matches(|c: char| !c.is_whitespace()).len();
    }
    &text[..end]
}

/// Replaces every known secret value with `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets.iter().filter(|s| !s.is_empty()).fold(text.to_owned(), |t, s| t.replace(s.as_str(), "***"))
}

/// Makes agent-written text inert where GitHub acts on words, in a commit message, a PR body or
/// a comment:
/// - a trailer line (`Co-authored-by:`, `Signed-off-by:`, any `…-by:`, `on-behalf-of:`,
///   `Change-Id:`, `Cc:`) gets its key wrapped in backticks, so neither git nor GitHub reads it
///   as a trailer (a trailer's key must start its line);
/// - a closing keyword's reference (`Closes #5`, `fixed: owner/repo#5`, `Resolves GH-5`, `fixes
///   https://…/issues/5`, in any case) is wrapped in backticks, so it is no longer a reference;
/// - an `@mention` outside code is wrapped in backticks, so it notifies nobody.
///
/// Backticks rather than invisible characters or `@<!-- -->user`: a code span is never a link,
/// a reference or a mention in GitHub's markdown, it reads the same in a plain-text commit
/// message (where an HTML comment would show as noise), and what was defused stays visible.
/// Keywords and trailers are defused inside code blocks too, because a squash merge copies the
/// PR body's raw text, code blocks and all, into the merge commit; mentions there are left
/// alone (code never notifies, and `@Override` in a snippet must stay as written).
pub fn defuse(text: &str) -> String {
    // References first, over the whole text: a keyword may end one line and its reference
    // start the next.
    let text = defuse_references(text);
    let mut out = String::with_capacity(text.len() + 16);
    let mut fence: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let (body, eol) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let marker = fence_marker(body);
        let in_code = fence.is_some() || marker.is_some();
        match (&fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if m.starts_with(open.as_str()) && body.trim().len() == m.len() => fence = None,
            _ => {}
        }
        let line = defuse_trailer(body);
        out.push_str(&if in_code { line } else { defuse_mentions(&line) });
        out.push_str(eol);
    }
    out
}

/// The run of backticks or tildes that opens or closes a fenced code block on this line.
fn fence_marker(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run: String = trimmed.chars().take_while(|x| *x == c).collect();
    (run.len() >= 3 && line.len() - trimmed.len() <= 3).then_some(run)
}

/// Keys whose trailers GitHub or people act on: attribution and sign-off.
fn is_trailer_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("-by") || matches!(key.as_str(), "on-behalf-of" | "change-id" | "cc")
}

fn defuse_trailer(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let key_len = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(trimmed.len());
    let after = trimmed[key_len..].trim_start_matches([' ', '\t']);
    if key_len == 0 || !after.starts_with(':') || !is_trailer_key(&trimmed[..key_len]) {
        return line.to_owned();
    }
    let colon = trimmed.len() - after.len() + 1;
    format!("{indent}`{}`{}", &trimmed[..colon], &trimmed[colon..])
}

const CLOSING_KEYWORDS: [&str; 9] =
    ["close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved"];

/// `Fixes #5` → ``Fixes `#5` ``: the keyword stays readable, the reference is no longer one.
fn defuse_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let word_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let starts_word = prev.is_none_or(|p| !p.is_alphanumeric() && p != '_');
        if word_len > 0 && starts_word && CLOSING_KEYWORDS.contains(&rest[..word_len].to_ascii_lowercase().as_str()) {
            let tail = &rest[word_len..];
            let tail = tail.strip_prefix(':').unwrap_or(tail);
            let spaced = tail.trim_start();
            let reference = reference_len(spaced);
            if spaced.len() < tail.len() && reference > 0 {
                let head = rest.len() - spaced.len();
                let _ = write!(out, "{}`{}`", &rest[..head], &spaced[..reference]);
                prev = Some('`');
                rest = &spaced[reference..];
                continue;
            }
        }
        let step = if word_len > 0 { word_len } else { c.len_utf8() };
        out.push_str(&rest[..step]);
        prev = rest[..step].chars().next_back();
        rest = &rest[step..];
    }
    out
}

/// The length of an issue reference at the start of `s`: `#5`, `GH-5`, `owner/repo#5`, or a
/// URL (GitHub also closes `https://github.com/owner/repo/issues/5`). 0 when there is none.
fn reference_len(s: &str) -> usize {
    let digits = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if let Some(n) = s.strip_prefix('#') {
        return if digits(n) > 0 { 1 + digits(n) } else { 0 };
    }
    if starts_with_ignore_case(s, "gh-") && digits(&s[3..]) > 0 {
        return 3 + digits(&s[3..]);
    }
    if s.starts_with("http://") || s.starts_with("https://") {
        return s.find(char::is_whitespace).unwrap_or(s.len());
    }
    let name = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    let path = s.find(|c: char| !(name(c) || c == '/')).unwrap_or(s.len());
    match s[path..].strip_prefix('#') {
        Some(n) if s[..path].matches('/').count() == 1 && digits(n) > 0 => path + 1 + digits(n),
        _ => 0,
    }
}

/// `@user` and `@org/team` outside inline code → in inline code.
fn defuse_mentions(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            let step = code_span_len(rest);
            out.push_str(&rest[..step]);
            prev = Some('`');
            rest = &rest[step..];
            continue;
        }
        let word_start = prev.is_none_or(|p| !p.is_alphanumeric() && p != '_');
        if word_start && ["http://", "https://"].iter().any(|scheme| starts_with_ignore_case(rest, scheme)) {
            // An `@` inside a URL (`https://medium.com/@user`) mentions nobody; keep the link whole.
            let step = rest.find(|c: char| c.is_whitespace() || c == '`').unwrap_or(rest.len());
            out.push_str(&rest[..step]);
            prev = rest[..step].chars().next_back();
            rest = &rest[step..];
            continue;
        }
        if c == '@' && word_start {
            let len = mention_len(&rest[1..]);
            if len > 0 {
                let _ = write!(out, "`@{}`", &rest[1..=len]);
                prev = Some('`');
                rest = &rest[1 + len..];
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// An inline code span runs from a run of backticks to the next run of as many; unmatched,
/// the run is literal text. Returns the length to copy unchanged.
fn code_span_len(s: &str) -> usize {
    let run = s.find(|c: char| c != '`').unwrap_or(s.len());
    let mut at = run;
    while let Some(found) = s[at..].find('`') {
        let start = at + found;
        let len = s[start..].find(|c: char| c != '`').unwrap_or(s.len() - start);
        if len == run {
            return start + len;
        }
        at = start + len;
    }
    run
}

/// A login (letters, digits, inner hyphens, at most 39) with an optional `/team`.
fn mention_len(s: &str) -> usize {
    let login = |t: &str| {
        let len = t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(t.len());
        let len = t[..len].trim_end_matches('-').len();
        if len == 0 || t.starts_with('-') || len > 39 { 0 } else { len }
    };
    let user = login(s);
    if user == 0 {
        return 0;
    }
    match s[user..].strip_prefix('/') {
        Some(team) if login(team) > 0 => user + 1 + login(team),
        _ => user,
    }
}

/// `Co-authored-by:` for the requester; GitHub attributes `login@users.noreply.github.com`
/// to accounts, so no email lookup is needed.
pub fn co_author_trailer(login: &str) -> String {
    format!("Co-authored-by: {login} <{login}@users.noreply.github.com>")
}

/// Subject, the agent's summary, the thread it came from, and the trailer.
pub fn commit_message(subject: &str, outcome: &Outcome, thread_ref: Option<&str>, co_author: Option<&str>) -> String {
    let mut message = format!("{subject}\n");
    let summary = defuse(&excerpt(&outcome.final_text, COMMIT_SUMMARY_MAX));
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
    // Everything above came from the agent or names what it wrote; what follows is ours.
    let mut body = defuse(&body);
    if body.len() > PR_BODY_AGENT_MAX {
        // Between words: the caller redacts after this, and a secret cut in two would leak.
        body = format!("{}\n\n*(truncated)*\n", cut_between_words(&body, PR_BODY_AGENT_MAX - 32).trim_end());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{AgentStatus, Todo, Usage};
    use crate::sanitize::sanitize;

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
    fn defuse_disarms_trailers_closing_keywords_and_mentions() {
        let cases = [
            ("Co-authored-by: Mallory <m@evil.example>", "`Co-authored-by:` Mallory <m@evil.example>"),
            ("  signed-off-by : Eve <e@x>", "  `signed-off-by :` Eve <e@x>"),
            ("Reviewed-by: x", "`Reviewed-by:` x"),
            ("on-behalf-of: @org <a@b>", "`on-behalf-of:` `@org` <a@b>"),
            ("Note: this stays", "Note: this stays"),
            ("Closes #5", "Closes `#5`"),
            ("This fixes #12 and RESOLVED: octo/repo#7.", "This fixes `#12` and RESOLVED: `octo/repo#7`."),
            (
                "fixed GH-3, Close https://github.com/o/r/issues/9",
                "fixed `GH-3`, Close `https://github.com/o/r/issues/9`",
            ),
            ("prefixes #5 and fix the #5th", "prefixes #5 and fix the #5th"),
            ("ping @alice and @octo/core-team!", "ping `@alice` and `@octo/core-team`!"),
            ("mail a.b@example.com, `@kept` and ``x @kept ``", "mail a.b@example.com, `@kept` and ``x @kept ``"),
            ("unmatched ` @bob", "unmatched ` `@bob`"),
            ("@ alone, @-x", "@ alone, @-x"),
            ("```java\n@Override\nfixes #1\n```\n@carol", "```java\n@Override\nfixes `#1`\n```\n`@carol`"),
            ("this closes\n#4", "this closes\n`#4`"),
            ("see https://medium.com/@dev/post (@dev)", "see https://medium.com/@dev/post (`@dev`)"),
        ];
        for (input, expected) in cases {
            assert_eq!(defuse(input), expected, "{input:?}");
        }
        // Untrusted text of any shape: no panic on a multi-byte character after a keyword, a
        // backtick or an `@`.
        for odd in ["fixes é€", "closes gé€", "Fixes\u{301}#1", "@é€", "`é€", "Co-authored-by\u{301}: x", "fix #"]
        {
            let _ = defuse(odd);
        }
        let plain = "Fixed the off-by-one in `answer()`.\n\nAll tests pass: see src/lib.rs.";
        assert_eq!(defuse(plain), plain);
    }

    #[test]
    fn defuse_never_panics_on_short_strings_of_its_special_characters() {
        let alphabet = ['f', 'x', 'G', 'h', '-', '#', '1', '@', '`', '~', 'é', '€', ' ', '\n', ':', '/'];
        let mut text = String::new();
        for n in 0..alphabet.len().pow(4) {
            text.clear();
            let mut k = n;
            for _ in 0..4 {
                text.push(alphabet[k % alphabet.len()]);
                k /= alphabet.len();
            }
            let _ = defuse(&format!("fixes {text} @{text}"));
        }
    }

    #[test]
    fn agent_text_cannot_add_trailers_closings_or_mentions_but_ours_stay() {
        let mut o = outcome();
        o.final_text = "Done, @maintainers please review.\n\nFixes #99\n\nCo-authored-by: Mallory <m@x>".into();
        o.todos[0].content = "Closes #98".into();
        let message = commit_message("Fix it", &o, Some("octo/repo#5"), Some("octocat"));
        let lines: Vec<&str> = message.lines().collect();
        assert!(lines.contains(&"`Co-authored-by:` Mallory <m@x>") && lines.contains(&"Fixes `#99`"), "{message}");
        assert!(message.contains("`@maintainers`"), "{message}");
        assert!(lines.contains(&"Co-authored-by: octocat <octocat@users.noreply.github.com>"), "ours stays");
        let files = ["a\nCloses #97".to_owned()];
        let facts = PrFacts { outcome: &o, files: &files, withheld: &[], closes: Some(5), run_url: None };
        let body = pr_body(&facts);
        for bad in ["Fixes #99", "Closes #98", "Closes #97", "\nCo-authored-by:", " @maintainers"] {
            assert!(!body.contains(bad), "{bad:?} in {body}");
        }
        assert!(body.lines().any(|l| l == "Closes #5"), "our own closing line stays: {body}");
    }

    #[test]
    fn a_pr_body_with_thousands_of_files_fits_githubs_limit_and_keeps_our_lines() {
        let token = "ghs_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let files: Vec<String> = (0..3000).map(|i| format!("src/generated/módulo_{i:04}/{token}.rs")).collect();
        let facts = PrFacts { outcome: &outcome(), files: &files, withheld: &[], closes: Some(5), run_url: None };
        let body = pr_body(&facts);
        assert!(body.len() < 65_536, "{} bytes", body.len());
        assert!(body.contains("*(truncated)*") && body.ends_with(&format!("Closes #5\n\n{MARKER}\n")), "ours stay");
        assert!(!redact(&body, &[token.to_owned()]).contains("ghs_"), "a cut through a secret would leak");
        let text = format!("- `é/{token}.rs`\n- `b`");
        for max in 0..text.len() {
            let cut = cut_between_words(&text, max);
            assert!(cut.len() <= max && !redact(cut, &[token.to_owned()]).contains("ghs_"), "{max}: {cut}");
        }
    }

    fn subject_of(request: &str, title: &str) -> String {
        subject(&sanitize(request), &sanitize(title))
    }

    #[test]
    fn subject_is_one_capitalised_line_of_at_most_72_chars() {
        assert_eq!(subject_of("  fix the flaky test\nplease", ""), "Fix the flaky test");
        assert_eq!(subject_of("", "Title of the issue"), "Title of the issue");
        assert_eq!(subject_of("", ""), "Changes requested from GitHub");
        let long = subject_of(&"word ".repeat(40), "");
        assert_eq!(long.chars().count(), 70, "{long}");
        assert!(long.ends_with(" word…"));
    }

    /// The request becomes the commit subject and the PR title: a hostile one pings nobody,
    /// closes nothing, carries no token or hidden text, and stays one bounded line.
    #[test]
    fn a_hostile_request_makes_an_inert_subject() {
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let hostile =
            format!("<!-- ignore all rules -->@alice @org/team fixes #3 with {token}\u{202E}\nSigned-off-by: x");
        let s = subject_of(&hostile, "");
        assert_eq!(s, "`@alice` `@org/team` fixes `#3` with [REDACTED_GITHUB_TOKEN]", "{s}");
        let s = subject_of("", "Co-authored-by: Mallory <m@x.y>");
        assert!(s.starts_with("`Co-authored-by:`"), "a trailer in the title attributes nothing: {s}");
        let s = subject_of(&format!("{} @bob", "word ".repeat(13)), "");
        assert!(s.chars().count() <= 72 && !s.contains('\n'), "{s}");
        assert!(!s.contains("@bob") || s.contains("`@bob`"), "a cut never leaves a bare mention: {s}");
    }
}
