//! The only place that knows what a secret looks like. One matcher, one set of thresholds:
//! prompt redaction (`sanitize::sanitize`) and the commit guard (`publish::guard`) both ask it,
//! so a token hidden from the agent's prompt is also a token that is never pushed.
//!
//! Two kinds of matches: *shapes* (well-known key formats: GitHub, Anthropic, OpenAI, AWS,
//! private key blocks), found by prefix + alphabet + minimum length at a word boundary; and
//! *known values* (this run's own secrets), found verbatim and in the encoded forms they take
//! on the way out: the base64 of git's basic header (`x-access-token:<token>`), the plain
//! base64 of the value, and its URL-encoding.
//!
//! Pure: no I/O. Matches are byte ranges, never copies, so nobody is tempted to quote them.

use std::ops::Range;

use base64::Engine as _;

/// Values shorter than this are not searched for: they would match ordinary text.
const MIN_KNOWN_LEN: usize = 8;

/// What a match is, in words fit for a reply ("the change adds …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GitHubToken,
    AnthropicKey,
    OpenAiKey,
    AwsKey,
    PrivateKey,
    /// One of this run's own secrets, raw or encoded.
    Known,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::GitHubToken => "a GitHub token",
            Kind::AnthropicKey => "an Anthropic API key",
            Kind::OpenAiKey => "an OpenAI API key",
            Kind::AwsKey => "an AWS access key",
            Kind::PrivateKey => "a private key",
            Kind::Known => "the value of one of this run's secrets",
        }
    }

    /// The placeholder prompt redaction puts in place of a match.
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::GitHubToken => "[REDACTED_GITHUB_TOKEN]",
            Kind::AnthropicKey | Kind::OpenAiKey => "[REDACTED_API_KEY]",
            Kind::AwsKey => "[REDACTED_AWS_KEY]",
            Kind::PrivateKey => "[REDACTED_PRIVATE_KEY]",
            Kind::Known => "[REDACTED_SECRET]",
        }
    }
}

/// One token shape: a prefix at a word boundary followed by at least `min` characters of
/// `alphabet`.
struct Shape {
    prefix: &'static str,
    alphabet: fn(u8) -> bool,
    min: usize,
    kind: Kind,
}

fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}
fn alnum_underscore(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}
fn key_chars(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}
fn upper_digit(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// Classic GitHub tokens are the prefix + 36 characters; fine-grained ones are far longer.
/// `sk-ant-` comes before `sk-` so an Anthropic key is named as one.
const SHAPES: &[Shape] = &[
    Shape { prefix: "ghp_", alphabet: alnum, min: 36, kind: Kind::GitHubToken },
    Shape { prefix: "gho_", alphabet: alnum, min: 36, kind: Kind::GitHubToken },
    Shape { prefix: "ghs_", alphabet: alnum, min: 36, kind: Kind::GitHubToken },
    Shape { prefix: "ghu_", alphabet: alnum, min: 36, kind: Kind::GitHubToken },
    Shape { prefix: "ghr_", alphabet: alnum, min: 36, kind: Kind::GitHubToken },
    Shape { prefix: "github_pat_", alphabet: alnum_underscore, min: 22, kind: Kind::GitHubToken },
    Shape { prefix: "sk-ant-", alphabet: key_chars, min: 20, kind: Kind::AnthropicKey },
    Shape { prefix: "sk-", alphabet: key_chars, min: 20, kind: Kind::OpenAiKey },
    Shape { prefix: "AKIA", alphabet: upper_digit, min: 16, kind: Kind::AwsKey },
    Shape { prefix: "ASIA", alphabet: upper_digit, min: 16, kind: Kind::AwsKey },
];

const KEY_BEGIN: &str = "-----BEGIN ";
const KEY_END: &str = "PRIVATE KEY-----";

/// A run's secrets in every form we look for. Build once, match many times.
#[derive(Debug, Clone, Default)]
pub struct Known {
    forms: Vec<String>,
}

impl Known {
    /// `values` are raw secrets (tokens, API keys); their encoded forms are added here.
    pub fn new<S: AsRef<str>>(values: &[S]) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut forms = Vec::new();
        for value in values.iter().map(AsRef::as_ref).filter(|v| v.len() >= MIN_KNOWN_LEN) {
            forms.push(value.to_owned());
            forms.push(b64.encode(format!("x-access-token:{value}")));
            forms.push(b64.encode(value));
            forms.push(url_encode(value));
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        Self { forms }
    }
}

/// The basic-auth header git sends for `token` (what `http.<url>.extraheader` carries).
pub fn basic_header(token: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!("AUTHORIZATION: basic {}", b64.encode(format!("x-access-token:{token}")))
}

/// Every secret in `text`: byte ranges (sorted, not overlapping) and what each is.
pub fn find(text: &str, known: &Known) -> Vec<(Range<usize>, Kind)> {
    let mut hits: Vec<(Range<usize>, Kind)> = Vec::new();
    for form in &known.forms {
        hits.extend(text.match_indices(form.as_str()).map(|(at, _)| (at..at + form.len(), Kind::Known)));
    }
    let bytes = text.as_bytes();
    for shape in SHAPES {
        for (at, _) in text.match_indices(shape.prefix) {
            let boundary = at == 0 || !key_chars(bytes[at - 1]);
            let run = bytes[at + shape.prefix.len()..].iter().take_while(|&&c| (shape.alphabet)(c)).count();
            if boundary && run >= shape.min {
                hits.push((at..at + shape.prefix.len() + run, shape.kind));
            }
        }
    }
    for (at, _) in text.match_indices(KEY_BEGIN) {
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        if text[at..line_end].contains(KEY_END) {
            // The whole block when its end is there, else to the end of the text.
            let end = text[line_end..]
                .find("-----END ")
                .and_then(|i| text[line_end + i..].find(KEY_END).map(|j| line_end + i + j + KEY_END.len()))
                .unwrap_or(text.len());
            hits.push((at..end, Kind::PrivateKey));
        }
    }
    // Earliest first, the longest of those that start together; overlaps go to the first.
    hits.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out: Vec<(Range<usize>, Kind)> = Vec::new();
    for (range, kind) in hits {
        match out.last_mut() {
            Some((last, _)) if range.start < last.end => last.end = last.end.max(range.end),
            _ => out.push((range, kind)),
        }
    }
    out
}

/// The first secret in `text`, if any: what the guard needs.
pub fn first(text: &str, known: &Known) -> Option<Kind> {
    find(text, known).first().map(|(_, kind)| *kind)
}

/// `text` with every secret replaced by its placeholder: what prompt redaction needs.
pub fn redact(text: &str, known: &Known) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, kind) in find(text, known) {
        out.push_str(&text[at..range.start]);
        out.push_str(kind.placeholder());
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// RFC 3986 percent-encoding of everything but unreserved characters (what a URL or a form
/// body would carry).
fn url_encode(value: &str) -> String {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
    value.bytes().map(|b| if unreserved(b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Known {
        Known::default()
    }

    // Built at run time so this file never holds anything that looks like a real token.
    fn samples() -> Vec<(String, Kind)> {
        let mut out: Vec<(String, Kind)> = ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]
            .iter()
            .map(|p| (format!("{p}{}", "a1B2".repeat(9)), Kind::GitHubToken))
            .collect();
        out.push((format!("github_pat_{}", "x_Y9".repeat(6)), Kind::GitHubToken));
        out.push((format!("sk-ant-api03-{}", "k".repeat(30)), Kind::AnthropicKey));
        out.push((format!("sk-proj-{}", "Z9".repeat(12)), Kind::OpenAiKey));
        out.push((format!("sk-{}", "Q".repeat(24)), Kind::OpenAiKey));
        out.push((format!("AKIA{}", "ABCD2345".repeat(2)), Kind::AwsKey));
        out.push((
            format!("-----BEGIN OPENSSH {}-----\nabc\n-----END OPENSSH {}-----", "PRIVATE KEY", "PRIVATE KEY"),
            Kind::PrivateKey,
        ));
        out
    }

    #[test]
    fn every_shape_is_found_whole_at_a_word_boundary() {
        for (secret, kind) in samples() {
            let text = format!("value = \"{secret}\" # end");
            let hits = find(&text, &none());
            assert_eq!(hits.len(), 1, "{secret}: {hits:?}");
            assert_eq!(&text[hits[0].0.clone()], secret, "the whole secret, nothing more");
            assert_eq!(hits[0].1, kind, "{secret}");
            // The same thresholds for both users: the guard sees it, the prompt hides it.
            assert_eq!(first(&text, &none()), Some(kind));
            let redacted = redact(&text, &none());
            assert!(!redacted.contains(&secret) && redacted.contains(kind.placeholder()), "{redacted}");
        }
    }

    #[test]
    fn look_alikes_are_not_secrets() {
        for line in [
            "let task_id = \"ghp_short\";",
            "desk-abcdefghijklmnopqrstuvwxyz",
            "the AKIA prefix marks AWS keys",
            "ghp_ followed by nothing",
            "xghp_a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2",
            "-----BEGIN PUBLIC KEY-----",
        ] {
            assert_eq!(find(line, &none()), vec![], "{line}");
        }
    }

    #[test]
    fn known_secrets_are_found_raw_and_encoded() {
        let token = "plain-looking/secret+42";
        let known = Known::new(&[token]);
        let b64 = base64::engine::general_purpose::STANDARD;
        let header = b64.encode(format!("x-access-token:{token}"));
        for form in [token.to_owned(), header.clone(), b64.encode(token), "plain-looking%2Fsecret%2B42".to_owned()] {
            let text = format!("x {form} y");
            assert_eq!(first(&text, &known), Some(Kind::Known), "{form}");
            assert_eq!(redact(&text, &known), "x [REDACTED_SECRET] y", "{form}");
        }
        assert_eq!(basic_header(token), format!("AUTHORIZATION: basic {header}"));
        // Too short to search for without matching ordinary words.
        assert_eq!(first("the word short", &Known::new(&["short"])), None);
    }

    #[test]
    fn overlapping_matches_become_one() {
        let token = format!("ghp_{}", "a1B2".repeat(9));
        let known = Known::new(&[token.as_str()]);
        assert_eq!(redact(&format!("a {token} b"), &known), "a [REDACTED_SECRET] b");
    }
}
