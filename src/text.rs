//! Small text helpers every writer shares: excerpts, one-line text, durations and counts as
//! people read them. A leaf: pure functions of their arguments, importing nothing from the
//! crate. What the text may contain (sanitising, defusing, redacting) is not decided here.

use std::time::Duration;

/// `text` trimmed, and at most `max` characters *including* the `…` that marks a cut. The cut
/// falls between words, never inside one: callers redact secrets after shortening, and a
/// secret cut in two would no longer be recognised, so its first part would be published.
/// (A first word longer than `max` leaves only the `…`.)
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    if text[cut.len()..].starts_with(|c: char| !c.is_whitespace()) {
        // Mid-word: drop the word's first part too.
        cut.truncate(cut.trim_end_matches(|c: char| !c.is_whitespace()).len());
    }
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// [`excerpt`] of [`one_line`]: for log lines, progress notes and error details.
pub fn excerpt_line(text: &str, max: usize) -> String {
    excerpt(&one_line(text), max)
}

/// Every run of whitespace (newlines included) as one space, trimmed.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

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

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_has_at_most_max_chars_with_its_ellipsis() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("  padded  ", 6), "padded");
        assert_eq!(excerpt("héllo wörld", 8), "héllo…");
        assert_eq!(excerpt("héllo wörld", 11), "héllo wörld");
        assert_eq!(excerpt_line("héllo\n  world", 8), "héllo…");
        assert_eq!(excerpt_line("héllo\n  world again", 12), "héllo world…");
        assert_eq!(excerpt("unbroken", 4), "…", "never inside a word");
        let text = "word ".repeat(100);
        for max in 1..text.len() {
            let cut = excerpt(&text, max);
            assert!(cut.chars().count() <= max, "{max}: {cut}");
        }
    }

    #[test]
    fn an_excerpt_never_cuts_a_secret_in_two() {
        let token = "ghs_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let text = format!("{} {token} and more", "a".repeat(20));
        for max in 22..text.len() {
            let cut = excerpt(&text, max);
            assert!(cut.contains(token) || !cut.contains("ghs_"), "max {max}: {cut}");
        }
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(human(Duration::from_millis(4200)), "4.2s");
        assert_eq!(human(Duration::from_secs(125)), "2m 05s");
        assert_eq!(human(Duration::from_secs(3725)), "1h 02m");
    }
}
