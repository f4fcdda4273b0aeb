//! What environment a process we start gets: one allow-list for everything that runs the
//! agent's code (OpenCode and its `--version`, Codex, a `command` CLI, the npm install of
//! what they need), and one shorter list for our own git commands.
//!
//! The agent never gets the GitHub token, an action input (`INPUT_*` holds the token) or a
//! runner credential: `forbidden` wins over both lists. `RUNNER_OS`, `RUNNER_ARCH` and
//! `RUNNER_TEMP` pass (tools ask where they run and where temp files go); no other `RUNNER_*`.
//!
//! Git gets less than the agent (`GIT_PASSED`): it needs the network and the CAs, not a home,
//! a locale or a model key; `git.rs` sets those itself. The test below pins the difference.
//!
//! What it deliberately does not do: start processes (`process.rs` and the runtimes do).

use std::collections::BTreeMap;
use std::ffi::OsString;

/// Variables passed by exact name: what a shell, a compiler or a package manager needs.
const PASS_EXACT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TZ",
    "TMPDIR",
    "CI",
    "RUNNER_OS",
    "RUNNER_ARCH",
    "RUNNER_TEMP",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    // Corporate networks: the agent must reach its model through the same proxy and CAs as we do.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    // Memory limits and the like for OpenCode's runtime and the agent's tools.
    "NODE_OPTIONS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    // A model credential on purpose (Bedrock with temporary credentials), despite its name.
    "AWS_SESSION_TOKEN",
];

/// Variables passed by prefix: locale, OpenCode's own settings and the model providers' keys
/// and endpoints.
const PASS_PREFIX: &[&str] = &[
    "LC_",
    "OPENCODE_",
    "ANTHROPIC_",
    "OPENAI_",
    "AWS_",
    "GOOGLE_",
    "GEMINI_",
    "OPENROUTER_",
    "AZURE_",
    "MISTRAL_",
    "GROQ_",
    "DEEPSEEK_",
    "XAI_",
    "ZHIPU_",
    "OLLAMA_",
    // npm's own settings (registry, proxy, CA, cache), for installs and the agent's npm alike;
    // an auth token among them is still refused by `forbidden`.
    "npm_config_",
    "NPM_CONFIG_",
];

/// Never passed, whatever the lists above say: GitHub's and the runner's credentials, the
/// action's inputs (which hold the token), and anything named like a token that is not a
/// model credential listed by exact name.
pub fn forbidden(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let token_like = upper.contains("TOKEN") && !PASS_EXACT.contains(&name);
    upper.starts_with("GITHUB_")
        || upper.starts_with("GH_")
        || upper.starts_with("INPUT_")
        || upper.starts_with("ACTIONS_")
        || (upper.starts_with("RUNNER_") && !PASS_EXACT.contains(&name))
        || token_like
}

/// Whether `name` may reach the agent.
pub fn allowed(name: &str) -> bool {
    !forbidden(name) && (PASS_EXACT.contains(&name) || PASS_PREFIX.iter().any(|p| name.starts_with(p)))
}

/// The agent's complete environment: the allow-listed part of `parent` (our own environment,
/// `std::env::vars_os()`, outside tests), then `extra` on top: what the runtime itself sets
/// (its config, a password, private dirs), which is ours and passes whatever its name. The
/// caller must `env_clear` first, so nothing else is inherited.
pub fn agent_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    extra: impl IntoIterator<Item = (OsString, OsString)>,
) -> BTreeMap<OsString, OsString> {
    let mut env: BTreeMap<OsString, OsString> =
        parent.into_iter().filter(|(k, _)| k.to_str().is_some_and(allowed)).collect();
    env.extend(extra);
    env
}

/// Variables of our own environment a git child of ours may see: how to reach the network,
/// which CAs to trust. Everything else is dropped; `git.rs` adds its own locale, home and
/// config pins. Each is also one the agent gets (the test says so): git sees nothing the
/// agent could not.
pub const GIT_PASSED: &[&str] = &[
    "PATH",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_allow_list_keeps_what_tools_need_and_no_credential() {
        let parent = [
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("LC_ALL", "C.UTF-8"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("no_proxy", "localhost"),
            ("NODE_EXTRA_CA_CERTS", "/ca.pem"),
            ("ANTHROPIC_API_KEY", "sk"),
            ("AWS_SESSION_TOKEN", "aws"),
            ("RUNNER_TEMP", "/t"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("GH_TOKEN", "ghp_y"),
            ("GH_ENTERPRISE_TOKEN", "ghp_e"),
            ("INPUT_GITHUB_TOKEN", "ghp_z"),
            ("INPUT_GITHUB-TOKEN", "ghp_z"),
            ("INPUT_MODEL", "m"),
            ("input_lower", "m"),
            ("ACTIONS_RUNTIME_TOKEN", "t"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "u"),
            ("RUNNER_TRACKING_ID", "r"),
            ("NODE_AUTH_TOKEN", "npm"),
            ("OPENAI_SESSION_TOKEN", "o"),
            ("OPENCODE_GITHUB_TOKEN", "o"),
            ("GITHUB_WORKSPACE", "/w"),
            ("RANDOM_SECRET", "s"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = agent_env(parent, [("OPENCODE_SERVER_PASSWORD".into(), "ours".into())]);
        let keys: Vec<&str> = env.keys().filter_map(|k| k.to_str()).collect();
        assert_eq!(
            keys,
            [
                "ANTHROPIC_API_KEY",
                "AWS_SESSION_TOKEN",
                "HOME",
                "HTTPS_PROXY",
                "LC_ALL",
                "NODE_EXTRA_CA_CERTS",
                "OPENCODE_SERVER_PASSWORD",
                "PATH",
                "RUNNER_TEMP",
                "no_proxy"
            ]
        );
    }

    /// Git gets the network and CA settings and nothing else of ours: no home, no locale, no
    /// model key, no runner variable; and nothing the agent does not get.
    #[test]
    fn git_gets_only_the_network_settings_and_nothing_the_agent_lacks() {
        for name in GIT_PASSED {
            assert!(allowed(name), "{name} reaches git but not the agent");
        }
        let agent_only = ["HOME", "LANG", "LC_ALL", "TMPDIR", "ANTHROPIC_API_KEY", "AWS_SESSION_TOKEN", "RUNNER_TEMP"];
        for name in agent_only {
            assert!(allowed(name) && !GIT_PASSED.contains(&name), "{name}");
        }
    }
}
