//! The pre-push guard: which changed files must not be committed, and why. Pure: it looks at
//! paths and at the added lines of a diff; `publish` does the unstaging.
//!
//! Reasons never quote the matched text: a reason goes into the reply, and the reply must not
//! carry the secret it is warning about. Matching is by hand (prefix + alphabet + length), which
//! is all these token formats need, and keeps false positives down by requiring a word
//! boundary before the prefix.

/// Template files that are meant to be committed; their content is still scanned.
const ENV_TEMPLATES: &[&str] = &[".env.example", ".env.sample", ".env.template", ".env.dist"];

/// Why a path must not be committed at all, judging by its name.
pub fn path_reason(path: &str) -> Option<String> {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let name = components.last().copied().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let reason = |what: &str| Some(format!("{what}: credential files are never committed"));
    if lower.starts_with(".env") && !ENV_TEMPLATES.contains(&lower.as_str()) {
        return reason("an environment file");
    }
    if [".pem", ".key", ".p12", ".pfx"].iter().any(|ext| lower.ends_with(ext)) {
        return reason("a key or certificate file");
    }
    if ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"].iter().any(|p| lower.starts_with(p)) {
        return reason("an SSH key");
    }
    if lower.starts_with("gha-creds-") && lower.ends_with(".json") {
        return reason("a Google Cloud credentials file written by `google-github-actions/auth`");
    }
    if lower.contains("credentials") && lower.ends_with(".json") {
        return reason("a credentials file");
    }
    if [".netrc", ".git-credentials"].contains(&lower.as_str()) {
        return reason("a stored credentials file");
    }
    if let Some(state) = opencode_state(&components) {
        return Some(format!("{state}: the agent's own configuration and state are never committed"));
    }
    None
}

/// OpenCode's project config dir, or its XDG data/state/config/cache dirs left in the work tree.
fn opencode_state(components: &[&str]) -> Option<&'static str> {
    let dirs = &components[..components.len().saturating_sub(1)];
    if dirs.contains(&".opencode") {
        return Some("OpenCode configuration (`.opencode/`)");
    }
    let xdg = dirs
        .windows(2)
        .any(|w| matches!(w[0], "share" | "state" | ".config" | ".cache" | ".local") && w[1] == "opencode");
    xdg.then_some("OpenCode state left in the work tree")
}

/// Why a path is held back because the token cannot push it. GitHub refuses a push that
/// touches `.github/workflows/` unless the token has the `workflows` permission, which a
/// `GITHUB_TOKEN` never has; the whole push would fail, so these files are held back instead.
pub fn workflow_reason(path: &str) -> Option<String> {
    path.starts_with(".github/workflows/").then(|| {
        "a workflow file: the token cannot push changes under `.github/workflows/` (a `GITHUB_TOKEN` never can; \
         set `allow-workflow-changes` with a token that has the `workflows` permission)"
            .to_owned()
    })
}

/// Why a file's added lines must not be committed: a token pattern or one of our own secrets.
/// `diff` is the file's unified diff; only added lines (`+`, not `+++`) are scanned.
pub fn diff_reason(diff: &str, secrets: &[String]) -> Option<String> {
    diff.lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .find_map(|line| line_reason(&line[1..], secrets))
        .map(|what| format!("the change adds {what}"))
}

/// What kind of secret a line holds, if any.
pub fn line_reason(line: &str, secrets: &[String]) -> Option<&'static str> {
    if secrets.iter().any(|s| s.len() >= 8 && line.contains(s.as_str())) {
        return Some("the value of one of this run's secrets");
    }
    if line.contains("-----BEGIN ") && line.contains("PRIVATE KEY-----") {
        return Some("a private key");
    }
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    let alnum_underscore = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let key_chars = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let upper_digit = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    for prefix in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"] {
        if has_token(line, prefix, alnum, 36) {
            return Some("a GitHub token");
        }
    }
    if has_token(line, "github_pat_", alnum_underscore, 22) {
        return Some("a GitHub token");
    }
    if has_token(line, "sk-ant-", key_chars, 20) {
        return Some("an Anthropic API key");
    }
    if has_token(line, "sk-", key_chars, 20) {
        return Some("an OpenAI API key");
    }
    for prefix in ["AKIA", "ASIA"] {
        if has_token(line, prefix, upper_digit, 16) {
            return Some("an AWS access key");
        }
    }
    None
}

/// `prefix` at a word boundary, followed by at least `min` characters of `alphabet`.
fn has_token(line: &str, prefix: &str, alphabet: impl Fn(u8) -> bool, min: usize) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(at) = line[from..].find(prefix).map(|i| i + from) {
        let boundary = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b'-'));
        let run = bytes[at + prefix.len()..].iter().take_while(|&&c| alphabet(c)).count();
        if boundary && run >= min {
            return true;
        }
        from = at + prefix.len();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_files_are_refused_by_name() {
        for path in [
            ".env",
            "app/.env.local",
            "certs/server.pem",
            "id_rsa",
            "home/id_ed25519.pub",
            "gha-creds-1a2b3c.json",
            "config/gcp-credentials.json",
            ".opencode/agent/evil.md",
            ".local/share/opencode/auth.json",
        ] {
            assert!(path_reason(path).is_some(), "{path} should be refused");
        }
        for path in [".env.example", "src/env.rs", "README.md", "docs/credentials.md", "opencode/README.md"] {
            assert_eq!(path_reason(path), None, "{path} should pass");
        }
    }

    #[test]
    fn workflows_are_held_back() {
        assert!(workflow_reason(".github/workflows/ci.yml").is_some());
        assert_eq!(workflow_reason(".github/dependabot.yml"), None);
    }

    #[test]
    fn token_patterns_are_found_at_word_boundaries_only() {
        // Built at run time so this file never holds anything that looks like a real token.
        let gh = format!("ghp_{}", "a1B2".repeat(9));
        let pat = format!("github_pat_{}", "x_Y9".repeat(6));
        let ant = format!("sk-ant-api03-{}", "k".repeat(30));
        let oai = format!("sk-proj-{}", "Z9".repeat(12));
        let aws = format!("AKIA{}", "ABCD2345".repeat(2));
        let key = format!("-----BEGIN OPENSSH {} KEY-----", "PRIVATE");
        let cases = [
            (format!("token = \"{gh}\""), "a GitHub token"),
            (pat, "a GitHub token"),
            (format!("KEY={ant}"), "an Anthropic API key"),
            (oai, "an OpenAI API key"),
            (format!("aws_access_key_id={aws}"), "an AWS access key"),
            (key, "a private key"),
        ];
        for (line, kind) in &cases {
            assert_eq!(line_reason(line, &[]), Some(*kind), "{line}");
        }
        for line in [
            "let task_id = \"ghp_short\";",
            "desk-abcdefghijklmnopqrstuvwxyz",
            "the AKIA prefix marks AWS keys",
            "ghp_ followed by nothing",
        ] {
            assert_eq!(line_reason(line, &[]), None, "{line}");
        }
    }

    #[test]
    fn our_own_secret_values_are_found_and_never_quoted() {
        let secret = "plain-looking-secret-42".to_owned();
        let diff = format!("--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+value: {secret}\n");
        let reason = diff_reason(&diff, std::slice::from_ref(&secret)).unwrap();
        assert!(reason.contains("secrets"), "{reason}");
        assert!(!reason.contains(&secret));
        // Removed lines are not scanned: deleting a leaked token is welcome.
        let removal = format!("--- a/x\n+++ b/x\n@@ -1 +0,0 @@\n-value: {secret}\n");
        assert_eq!(diff_reason(&removal, &[secret]), None);
    }
}
