//! The OpenCode server's configuration and environment, built by us — never by editing JSON in
//! shell. Config: the model, provider settings from the inputs, thinking-budget variants, the
//! user's `opencode-config` deep-merged on top, and then the headless safety rules, which the
//! user cannot switch off (nobody is there to answer a prompt). Environment: the agent's
//! allow-list (`isolation::env::agent_env`), so the GitHub token and the action's inputs never reach
//! the agent, plus the server's own settings.
//!
//! This module only computes values; starting the server is `server.rs`'s job.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value, json};

use crate::config::AgentConfig;
use crate::isolation::env;

/// Provider id we give an OpenAI-compatible endpoint from `openai-base-url`.
pub const OPENAI_COMPATIBLE: &str = "openai-compatible";

/// Splits `provider/model` (the model id itself may contain `/`).
pub fn split_model(model: &str) -> Result<(&str, &str)> {
    match model.split_once('/') {
        Some((p, m)) if !p.is_empty() && !m.is_empty() => Ok((p, m)),
        _ => bail!("model `{model}` is not of the form provider/model"),
    }
}

/// JSON Merge Patch (RFC 7386) of `over` into `base`: objects merge key by key, anything else
/// (arrays too) replaces. A `null` in `over` removes the key, so a user can drop one of our defaults.
pub fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                if value.is_null() {
                    base.remove(&key);
                } else {
                    match base.get_mut(&key) {
                        Some(slot) => deep_merge(slot, value),
                        None => {
                            base.insert(key, value);
                        }
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

/// The user's `opencode-config`: inline JSON (starts with `{`) or a path to a JSON file.
pub fn user_config(input: &str, workdir: &Path) -> Result<Value> {
    let trimmed = input.trim();
    let (text, origin) = if trimmed.starts_with('{') {
        (trimmed.to_owned(), "inline `opencode-config`".to_owned())
    } else {
        let path = workdir.join(trimmed);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `opencode-config` file `{}`", path.display()))?;
        (text, format!("`opencode-config` file `{}`", path.display()))
    };
    let value: Value = serde_json::from_str(&text).with_context(|| format!("{origin} is not valid JSON"))?;
    if !value.is_object() {
        bail!("{origin} must be a JSON object");
    }
    Ok(value)
}

/// Thinking-budget variants (select one with the `variant` input), as the workflow we replace
/// defined its `-high` models: Anthropic extended thinking with a 64k token budget.
fn anthropic_variants() -> Value {
    json!({
        "high": {"thinking": {"type": "enabled", "budgetTokens": 64000}},
        "max": {"thinking": {"type": "enabled", "budgetTokens": 120000}},
    })
}

/// The headless rules. `doom_loop` is `allow`: `deny` ends the session with an error on the
/// third identical call, while `allow` lets the model continue — loops are bounded by our step
/// cap and deadline instead, and a retried command is often legitimate (re-running tests).
fn safety() -> Value {
    json!({
        "autoupdate": false,
        "share": "disabled",
        "permission": {"question": "deny", "external_directory": "deny", "doom_loop": "allow"},
    })
}

/// The complete `OPENCODE_CONFIG_CONTENT`.
pub fn build(config: &AgentConfig, workdir: &Path) -> Result<Value> {
    let (provider, model_id) = split_model(&config.model)?;
    let mut out = json!({
        "$schema": "https://opencode.ai/config.json",
        "model": config.model,
        "small_model": config.model,
    });
    let mut providers = Map::new();
    if config.anthropic_api_key.is_some() || config.anthropic_base_url.is_some() {
        let mut options = Map::new();
        if let Some(url) = &config.anthropic_base_url {
            options.insert("baseURL".into(), json!(url));
        }
        if let Some(key) = &config.anthropic_api_key {
            options.insert("apiKey".into(), json!(key));
        }
        providers.insert("anthropic".into(), json!({"options": options}));
    }
    if provider == "anthropic" {
        let entry = providers.entry("anthropic").or_insert_with(|| json!({}));
        deep_merge(entry, json!({"models": {model_id: {"variants": anthropic_variants()}}}));
    }
    if let Some(url) = &config.openai_base_url {
        let key = config.openai_api_key.clone().unwrap_or_default();
        let mut entry = json!({
            "npm": "@ai-sdk/openai-compatible",
            "name": "OpenAI-compatible",
            "options": {"baseURL": url, "apiKey": key},
            "models": {},
        });
        if provider == OPENAI_COMPATIBLE {
            entry["models"][model_id] = json!({"name": model_id, "tool_call": true});
        }
        providers.insert(OPENAI_COMPATIBLE.into(), entry);
    } else if let Some(key) = &config.openai_api_key {
        providers.insert("openai".into(), json!({"options": {"apiKey": key}}));
    }
    if !providers.is_empty() {
        out["provider"] = Value::Object(providers);
    }
    if !config.plugins.is_empty() {
        out["plugin"] = json!(config.plugins);
    }
    if let Some(user) = &config.opencode_config {
        deep_merge(&mut out, user_config(user, workdir)?);
    }
    deep_merge(&mut out, safety());
    Ok(out)
}

/// Private XDG dirs under `scratch`: OpenCode's whole state (DB, snapshots, plugin cache).
pub fn xdg_dirs(scratch: &Path) -> [(&str, PathBuf); 4] {
    let base = scratch.join("opencode");
    [
        ("XDG_CONFIG_HOME", base.join("config")),
        ("XDG_DATA_HOME", base.join("data")),
        ("XDG_CACHE_HOME", base.join("cache")),
        ("XDG_STATE_HOME", base.join("state")),
    ]
}

/// The server's complete environment: the allow-listed part of `parent`, then ours.
/// `untrusted_tree` (a fork's head): the tree's own `opencode.json`, `.opencode/` (agents,
/// commands, plugins, MCP servers), `AGENTS.md`, `CLAUDE.md` and `.claude/skills` are not
/// loaded — they are the fork author's configuration, not the repository's.
pub fn server_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    config_json: &str,
    password: &str,
    scratch: &Path,
    untrusted_tree: bool,
) -> BTreeMap<OsString, OsString> {
    // A caller's OPENCODE_CONFIG / OPENCODE_PERMISSION would override what we decide here.
    let parent = parent.into_iter().filter(|(k, _)| !OVERRIDDEN.iter().any(|o| k == o));
    let ours: [(&str, &str); 8] = [
        ("OPENCODE_CONFIG_CONTENT", config_json),
        ("OPENCODE_SERVER_PASSWORD", password),
        ("OPENCODE_SERVER_USERNAME", "opencode"),
        ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
        ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
        ("OPENCODE_DISABLE_SHARE", "1"),
        ("OPENCODE_DISABLE_LSP_DOWNLOAD", "1"),
        ("OMO_DISABLE_POSTHOG", "1"),
    ];
    let ours = ours.into_iter().map(|(k, v)| (k.into(), v.into()));
    // OpenCode also reads Claude Code's files itself (`.claude/skills`, `CLAUDE.md`).
    let fork = ["OPENCODE_DISABLE_PROJECT_CONFIG", "OPENCODE_DISABLE_CLAUDE_CODE"];
    let project = fork.into_iter().filter(|_| untrusted_tree).map(|k| (k.into(), "1".into()));
    let dirs = xdg_dirs(scratch).into_iter().map(|(k, v)| (k.into(), v.into()));
    env::agent_env(parent, ours.chain(project).chain(dirs))
}

/// What the server would read instead of what we decide: never inherited.
const OVERRIDDEN: [&str; 4] =
    ["OPENCODE_CONFIG", "OPENCODE_PERMISSION", "OPENCODE_DISABLE_PROJECT_CONFIG", "OPENCODE_DISABLE_CLAUDE_CODE"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn agent() -> AgentConfig {
        AgentConfig {
            // Spelled out: the assertions below name its provider and model.
            model: "anthropic/claude-opus-4-5".into(),
            timeout: Duration::from_secs(60),
            anthropic_api_key: Some("sk-ant-x".into()),
            anthropic_base_url: Some("https://proxy.example/v1".into()),
            ..AgentConfig::default()
        }
    }

    #[test]
    fn deep_merge_merges_objects_replaces_the_rest_and_null_removes() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": 2});
        deep_merge(&mut base, json!({"a": {"c": [3], "x": true}, "d": {"y": 1}, "e": null}));
        assert_eq!(base, json!({"a": {"b": 1, "c": [3], "x": true}, "d": {"y": 1}}));
    }

    #[test]
    fn anthropic_config_with_variants_and_safety() {
        let c = build(&agent(), Path::new("/w")).unwrap();
        assert_eq!(c["model"], "anthropic/claude-opus-4-5");
        assert_eq!(c["provider"]["anthropic"]["options"]["baseURL"], "https://proxy.example/v1");
        assert_eq!(c["provider"]["anthropic"]["options"]["apiKey"], "sk-ant-x");
        assert_eq!(
            c["provider"]["anthropic"]["models"]["claude-opus-4-5"]["variants"]["high"]["thinking"]["budgetTokens"],
            64000
        );
        assert_eq!(c["permission"], json!({"question": "deny", "external_directory": "deny", "doom_loop": "allow"}));
        assert_eq!(c["autoupdate"], false);
        assert_eq!(c["share"], "disabled");
    }

    #[test]
    fn user_config_merges_but_cannot_lift_safety() {
        let mut a = agent();
        a.plugins = vec!["oh-my-opencode".into()];
        a.opencode_config = Some(
            r#"{"permission":{"external_directory":"allow","bash":"allow"},"share":"auto","provider":{"anthropic":{"options":{"timeout":5}}}}"#
                .into(),
        );
        let c = build(&a, Path::new("/w")).unwrap();
        assert_eq!(c["permission"]["external_directory"], "deny");
        assert_eq!(c["permission"]["bash"], "allow");
        assert_eq!(c["share"], "disabled");
        assert_eq!(c["provider"]["anthropic"]["options"]["timeout"], 5);
        assert_eq!(c["provider"]["anthropic"]["options"]["apiKey"], "sk-ant-x");
        assert_eq!(c["plugin"], json!(["oh-my-opencode"]));
    }

    #[test]
    fn user_config_from_file_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("oc.json"), r#"{"agent":{"build":{"steps":5}}}"#).unwrap();
        assert_eq!(user_config("oc.json", dir.path()).unwrap()["agent"]["build"]["steps"], 5);
        let err = user_config("{not json", dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("not valid JSON"), "{err:#}");
        assert!(user_config("missing.json", dir.path()).is_err());
        assert!(user_config("[1]", dir.path()).is_err());
    }

    #[test]
    fn openai_compatible_provider() {
        let mut a = agent();
        a.model = "openai-compatible/glm-4.7".into();
        a.anthropic_api_key = None;
        a.anthropic_base_url = None;
        a.openai_base_url = Some("http://127.0.0.1:9/v1".into());
        a.openai_api_key = Some("k".into());
        let c = build(&a, Path::new("/w")).unwrap();
        let p = &c["provider"][OPENAI_COMPATIBLE];
        assert_eq!(p["npm"], "@ai-sdk/openai-compatible");
        assert_eq!(p["options"]["baseURL"], "http://127.0.0.1:9/v1");
        assert_eq!(p["models"]["glm-4.7"]["tool_call"], true);
        assert!(c["provider"].get("anthropic").is_none());
    }

    #[test]
    fn bad_model_is_an_error() {
        let mut a = agent();
        a.model = "claude".into();
        assert!(build(&a, Path::new("/w")).is_err());
    }

    #[test]
    fn env_is_an_allow_list() {
        let parent = [
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("GH_TOKEN", "ghp_y"),
            ("INPUT_GITHUB-TOKEN", "ghp_z"),
            ("ACTIONS_RUNTIME_TOKEN", "t"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"),
            ("ANTHROPIC_API_KEY", "sk"),
            ("OPENCODE_PERMISSION", "{}"),
            ("RANDOM_SECRET", "s"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = server_env(parent.clone(), "{}", "pw", Path::new("/scratch"), false);
        let keys: Vec<&str> = env.keys().filter_map(|k| k.to_str()).collect();
        for bad in ["GITHUB_TOKEN", "GH_TOKEN", "INPUT_GITHUB-TOKEN", "ACTIONS_RUNTIME_TOKEN", "RANDOM_SECRET"] {
            assert!(!keys.contains(&bad), "{bad} leaked: {keys:?}");
        }
        assert!(!keys.contains(&"OPENCODE_PERMISSION"));
        assert!(keys.contains(&"ANTHROPIC_API_KEY") && keys.contains(&"PATH"));
        assert_eq!(env[&OsString::from("XDG_DATA_HOME")], OsString::from("/scratch/opencode/data"));
        assert_eq!(env[&OsString::from("OPENCODE_SERVER_PASSWORD")], OsString::from("pw"));
        assert!(!keys.contains(&"OPENCODE_DISABLE_PROJECT_CONFIG"));
        let fork = server_env(parent, "{}", "pw", Path::new("/scratch"), true);
        assert_eq!(fork[&OsString::from("OPENCODE_DISABLE_PROJECT_CONFIG")], OsString::from("1"));
        assert_eq!(fork[&OsString::from("OPENCODE_DISABLE_CLAUDE_CODE")], OsString::from("1"));
    }
}
