//! The pre-push guard: which changed files must not be committed, and why. Pure: it looks at
//! paths and at the exact bytes of staged blobs; `publish` does the unstaging.
//!
//! Reasons never quote the matched text: a reason goes into the reply, and the reply must not
//! carry the secret it is warning about. What a secret looks like is `secrets`' business alone.

use std::collections::HashSet;

use crate::secrets;

/// What agent tooling leaves in the work tree, as `.git/info/exclude` patterns: oh-my-opencode's
/// run state (`.omo/`), plans and notes (`.sisyphus/`), code-graph indexes (`.codegraph`), and
/// OpenCode's XDG state should it land in the tree. Never published, never even staged.
pub const AGENT_STATE_EXCLUDES: &[&str] = &[
    ".omo/",
    ".sisyphus/",
    ".codegraph",
    ".codegraph/",
    ".local/share/opencode/",
    ".local/state/opencode/",
    ".cache/opencode/",
];

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

/// Whether `path` is agent tooling's state (see `AGENT_STATE_EXCLUDES`): any change to it, a
/// tracked one included, is dropped silently — it is no work of the model's and no news.
pub fn agent_state(path: &str) -> bool {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let dirs = &components[..components.len().saturating_sub(1)];
    let state_dir = dirs.iter().any(|c| matches!(*c, ".omo" | ".sisyphus" | ".codegraph"));
    state_dir || components.last() == Some(&".codegraph") || opencode_state(&components).is_some_and(|s| s == XDG_STATE)
}

/// Whether deleting the tracked `path` is restored instead of published: the agent's own
/// configuration (`.opencode/`, e.g. a committed `oh-my-opencode.json` the plugin migrates away
/// at startup) and its state. The model never needs to delete them for the work asked of it,
/// and a run never changes the agent configuration of the next one.
pub fn restore_deletion(path: &str) -> bool {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    agent_state(path) || opencode_state(&components).is_some()
}

const XDG_STATE: &str = "OpenCode state left in the work tree";

/// OpenCode's project config dir, or its XDG data/state/config/cache dirs left in the work tree.
fn opencode_state(components: &[&str]) -> Option<&'static str> {
    let dirs = &components[..components.len().saturating_sub(1)];
    if dirs.contains(&".opencode") {
        return Some("OpenCode configuration (`.opencode/`)");
    }
    let xdg = dirs
        .windows(2)
        .any(|w| matches!(w[0], "share" | "state" | ".config" | ".cache" | ".local") && w[1] == "opencode");
    xdg.then_some(XDG_STATE)
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

/// Why a file's new content must not be committed: an added line holds a secret shape or one
/// of this run's secrets (raw or encoded; see `secrets`). `old` and `new` are the exact blob
/// bytes (no textconv, no filter). A line counts as added when the old content does not have
/// it: removing a leaked token is welcome, and a line that was already there is not news.
pub fn content_reason(old: &[u8], new: &[u8], known: &secrets::Known) -> Option<String> {
    let old = String::from_utf8_lossy(old);
    let before: HashSet<&str> = old.lines().collect();
    let new = String::from_utf8_lossy(new);
    new.lines()
        .filter(|line| !before.contains(line))
        .find_map(|line| secrets::first(line, known))
        .map(|kind| format!("the change adds {}", kind.describe()))
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
    fn agent_state_is_told_apart_from_agent_configuration() {
        for path in [
            ".omo/run-continuation/ses_1.json",
            ".sisyphus/plans/fix.md",
            ".codegraph",
            ".codegraph/index.db",
            "sub/.omo/x.json",
            ".local/share/opencode/storage/x.json",
        ] {
            assert!(agent_state(path), "{path} is agent state");
            assert!(restore_deletion(path), "{path}: a deletion is restored");
        }
        for path in ["README.md", "src/omo.rs", "docs/sisyphus.md", ".opencode/oh-my-opencode.json"] {
            assert!(!agent_state(path), "{path} is not agent state");
        }
        assert!(restore_deletion(".opencode/oh-my-opencode.json"));
        assert!(restore_deletion(".opencode/agent/reviewer.md"));
        assert!(!restore_deletion("src/lib.rs"));
        assert!(!restore_deletion(".env"));
    }

    #[test]
    fn workflows_are_held_back() {
        assert!(workflow_reason(".github/workflows/ci.yml").is_some());
        assert_eq!(workflow_reason(".github/dependabot.yml"), None);
    }

    #[test]
    fn added_lines_with_secrets_are_refused_and_never_quoted() {
        // Built at run time so this file never holds anything that looks like a real token.
        let gh = format!("ghp_{}", "a1B2".repeat(9));
        let none = secrets::Known::default();
        let reason = content_reason(b"a\n", format!("a\ntoken = \"{gh}\"\n").as_bytes(), &none).unwrap();
        assert_eq!(reason, "the change adds a GitHub token");
        let secret = "plain-looking-secret-42";
        let known = secrets::Known::new(&[secret]);
        let reason = content_reason(b"", format!("value: {secret}\n").as_bytes(), &known).unwrap();
        assert!(reason.contains("secrets") && !reason.contains(secret), "{reason}");
        // Removed or untouched lines are not news: deleting a leaked token is welcome.
        let before = format!("x\nvalue: {secret}\n");
        assert_eq!(content_reason(before.as_bytes(), b"x\n", &known), None);
        assert_eq!(content_reason(before.as_bytes(), format!("{before}y\n").as_bytes(), &known), None);
    }
}
