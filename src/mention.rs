//! Markdown-aware mention parsing: a mention inside code or a quote is not a request.
//!
//! The body is parsed as CommonMark (pulldown-cmark) and only plain prose is searched: fenced
//! and indented code, inline code, block quotes (nested too), link and image text, autolinks
//! and raw HTML (which includes HTML comments) are all skipped. Pure: no I/O, no config.

use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag, TagEnd, utils::TextMergeWithOffset};

/// A mention found in prose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// Byte range of the phrase in the original body.
    pub span: Range<usize>,
    /// What the person asked for: the text after the mention or, when nothing follows it, the
    /// whole body without the mention. Trimmed; may be empty (a bare mention).
    pub request: String,
}

/// The first mention of `phrase` (e.g. `@sisyphus-dev-ai`) in `body`'s prose, if any.
/// Case-insensitive; `@sisyphus-dev-ai2` or `@sisyphus-dev-ai-x` do not mention `@sisyphus-dev-ai`.
pub fn find(body: &str, phrase: &str) -> Option<Mention> {
    if phrase.is_empty() {
        return None;
    }
    // Everything nested in one of these is not prose addressed to us.
    let mut hidden_depth = 0usize;
    for (event, range) in TextMergeWithOffset::new(Parser::new(body).into_offset_iter()) {
        match event {
            Event::Start(Tag::BlockQuote(_) | Tag::Link { .. } | Tag::Image { .. } | Tag::CodeBlock(_)) => {
                hidden_depth += 1;
            }
            Event::End(TagEnd::BlockQuote(_) | TagEnd::Link | TagEnd::Image | TagEnd::CodeBlock) => {
                hidden_depth = hidden_depth.saturating_sub(1);
            }
            Event::Text(text) if hidden_depth == 0 && find_word(&text, phrase).is_some() => {
                return Some(locate(body, range, phrase));
            }
            _ => {}
        }
    }
    None
}

/// Whether a request is the `stop` command: just `stop` or `cancel` (any case, with sentence
/// punctuation), nothing else. `stop using unwrap in net.rs` is work, not a command.
pub fn is_stop(request: &str) -> bool {
    let word = request.trim().trim_end_matches(['.', '!']).trim();
    word.eq_ignore_ascii_case("stop") || word.eq_ignore_ascii_case("cancel")
}

/// Turns a mention seen in a text event into its place in the raw body. The event's text can
/// differ from the source (escapes, entities), so the phrase is looked up again in the source
/// slice; if escaping hides it there, the start of the slice stands in.
fn locate(body: &str, range: Range<usize>, phrase: &str) -> Mention {
    let slice = &body[range.clone()];
    let start = range.start + find_word(slice, phrase).unwrap_or(0);
    let end = (start + phrase.len()).min(body.len());
    // Punctuation right after the mention belongs to it: `@bot, fix it` asks to "fix it".
    let after = body.get(end..).unwrap_or_default().trim_start_matches([',', ':', '.', '!', '?', ')', ';']);
    let request = if after.trim().is_empty() {
        format!("{}{after}", &body[..start]).trim().to_owned()
    } else {
        after.trim().to_owned()
    };
    Mention { span: start..end, request }
}

/// Byte offset of the first whole-word, ASCII-case-insensitive occurrence of `phrase`.
fn find_word(text: &str, phrase: &str) -> Option<usize> {
    let (hay, needle) = (text.as_bytes(), phrase.as_bytes());
    (0..hay.len().checked_sub(needle.len())? + 1).find(|&i| {
        text.is_char_boundary(i)
            && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
            && boundary_before(&text[..i])
            && boundary_after(&text[i + needle.len()..])
    })
}

/// `foo@sisyphus-dev-ai` (an e-mail address) or `x/@…` is not a mention.
fn boundary_before(before: &str) -> bool {
    before.chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || "-_./@".contains(c)))
}

/// A longer handle (`@sisyphus-dev-ai2`, `-x`, `_x`, `/team`) is someone else; sentence
/// punctuation (`,` `.` `:` `!` `?` `)`) is not, unless a word continues right after it.
fn boundary_after(after: &str) -> bool {
    let mut chars = after.chars();
    match chars.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || "-_/@[".contains(c) => false,
        Some('.') => chars.next().is_none_or(|c| !c.is_alphanumeric()),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "@sisyphus-dev-ai";

    #[test]
    fn request_is_the_text_after_the_mention() {
        assert_eq!(find("@sisyphus-dev-ai fix the test", P).unwrap().request, "fix the test");
        assert_eq!(find("hey @Sisyphus-Dev-AI, fix it\nplease", P).unwrap().request, "fix it\nplease");
        assert_eq!(find("please fix this @sisyphus-dev-ai", P).unwrap().request, "please fix this");
        assert_eq!(find("@sisyphus-dev-ai", P).unwrap().request, "");
    }

    #[test]
    fn stop_is_the_whole_request() {
        for request in ["stop", "Stop!", " cancel. ", "STOP"] {
            assert!(is_stop(request), "{request}");
        }
        for request in ["stop using unwrap", "please stop", "", "stopp", "cancel the PR"] {
            assert!(!is_stop(request), "{request}");
        }
        assert!(is_stop(&find("@sisyphus-dev-ai stop", P).unwrap().request));
        assert!(is_stop(&find("@sisyphus-dev-ai, cancel!", P).unwrap().request));
    }

    #[test]
    fn span_points_into_the_raw_body() {
        let body = "a *b* \\* @sisyphus-dev-ai go";
        let m = find(body, P).unwrap();
        assert_eq!(&body[m.span], P);
    }

    #[test]
    fn text_split_by_markdown_does_not_make_a_false_mention() {
        // `_` and `*` split pulldown-cmark text events; merged text still sees the longer handle.
        assert!(find("@sisyphus-dev-ai_bot do it", P).is_none());
        assert!(find("@sisyphus-dev-ai[bot] do it", P).is_none());
    }

    #[test]
    fn hidden_places_do_not_count() {
        for body in [
            "<!-- @sisyphus-dev-ai do it -->",
            "[@sisyphus-dev-ai](https://example.com)",
            "<https://x.test/@sisyphus-dev-ai>",
            "![@sisyphus-dev-ai](a.png)",
            "> > @sisyphus-dev-ai nested",
            "mail me@sisyphus-dev-ai",
        ] {
            assert_eq!(find(body, P), None, "{body}");
        }
    }
}
