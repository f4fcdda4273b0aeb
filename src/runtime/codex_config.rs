//! The Codex CLI's `config.toml` (in a private `CODEX_HOME`) and environment, computed by us.
//!
//! Config: the model, one provider we define from the inputs (`openai-base-url`, else the
//! public endpoint; the Responses API is the only wire protocol the CLI still speaks), the
//! workspace-write sandbox with `/tmp` and `$TMPDIR` *not* writable (the work tree and nothing
//! else), then the user's `codex-config` (TOML or JSON) merged on top, then the headless rule
//! the user cannot switch off: no approval is ever asked (nobody is there to give it).
//! Environment: the agent's allow-list (`process::agent_env`) plus `CODEX_HOME` and the one
//! key variable the provider's `env_key` names (the CLI reads no other key).
//!
//! Only values here; running the CLI is `codex.rs`'s job.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value, json};

use super::opencode_config::deep_merge;
use super::process;
use crate::config::{AgentConfig, CodexSettings};

/// The provider we define in the generated config.
pub const PROVIDER: &str = "sisyphus";
/// The variable our provider's key is passed in (the CLI ignores `OPENAI_API_KEY` itself).
pub const KEY_VAR: &str = "OPENAI_API_KEY";
const PUBLIC_BASE_URL: &str = "https://api.openai.com/v1";

/// `openai/gpt-5-codex` → `gpt-5-codex`; a bare id stays as it is.
pub fn model_id(model: &str) -> &str {
    model.split_once('/').map_or(model, |(_, id)| id)
}

/// `CODEX_HOME` under the run's scratch dir.
pub fn home(scratch: &Path) -> PathBuf {
    scratch.join("codex").join("home")
}

/// Our config, before the user's.
fn ours(config: &AgentConfig) -> Value {
    let base_url = config.openai_base_url.as_deref().unwrap_or(PUBLIC_BASE_URL);
    json!({
        "model": model_id(&config.model),
        "model_provider": PROVIDER,
        "approval_policy": "never",
        "sandbox_mode": "workspace-write",
        // The agent installs packages and runs tests like OpenCode's does: the network stays on.
        "sandbox_workspace_write": {"network_access": true, "exclude_slash_tmp": true, "exclude_tmpdir_env_var": true},
        "check_for_update_on_startup": false,
        // The plan tool is what makes todo lists (`todo_list` items) come out of the stream.
        "tools": {"update_plan": {"enabled": true}},
        // The shell snapshot runs a login shell (the runner's `.bashrc`) in a session of its own
        // at start-up, which a stop of the CLI's process group would leave behind.
        "features": {"shell_snapshot": false},
        "model_providers": {PROVIDER: {
            "name": "sisyphus",
            "base_url": base_url,
            "env_key": KEY_VAR,
            "wire_api": "responses",
        }},
    })
}

/// Whether a `codex-config` value is the config itself (JSON, or TOML: it has a `=` or a table
/// header) rather than a file's path.
pub fn is_inline(input: &str) -> bool {
    let trimmed = input.trim();
    trimmed.starts_with('{') || trimmed.starts_with('[') || trimmed.contains('=') || trimmed.contains('\n')
}

/// The user's `codex-config`: inline JSON (starts with `{`), inline TOML, or a path (relative
/// to the work tree) of a `.json` or `.toml` file.
pub fn user_config(input: &str, workdir: &Path) -> Result<Value> {
    let trimmed = input.trim();
    let (text, origin) = if is_inline(trimmed) {
        (trimmed.to_owned(), "inline `codex-config`".to_owned())
    } else {
        let path = workdir.join(trimmed);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `codex-config` file `{}`", path.display()))?;
        (text, format!("`codex-config` file `{}`", path.display()))
    };
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).with_context(|| format!("{origin} is not valid JSON"))?
    } else {
        let doc: toml_edit::DocumentMut = text.parse().with_context(|| format!("{origin} is not valid TOML"))?;
        table_to_json(doc.as_table())
    };
    if !value.is_object() {
        bail!("{origin} must be a table (a JSON object)");
    }
    Ok(value)
}

/// The merged config, as JSON (tests and `env` read it; `to_toml` writes it).
/// `untrusted_tree` (a fork's head): the tree's `AGENTS.md` files are not read — they are the
/// fork author's instructions, not the repository's (the tree's `.codex/` never loads: our
/// fresh `CODEX_HOME` trusts no project).
pub fn build(config: &AgentConfig, codex: &CodexSettings, workdir: &Path, untrusted_tree: bool) -> Result<Value> {
    let mut out = ours(config);
    if let Some(input) = &codex.config {
        deep_merge(&mut out, user_config(input, workdir)?);
    }
    out["approval_policy"] = json!("never");
    if untrusted_tree {
        out["project_doc_max_bytes"] = json!(0);
    }
    Ok(out)
}

/// The variable the chosen provider's `env_key` names, if any.
pub fn key_var(config: &Value) -> Option<String> {
    let provider = config.get("model_provider")?.as_str()?;
    config.get("model_providers")?.get(provider)?.get("env_key")?.as_str().map(str::to_owned)
}

/// The CLI's environment: the allow-list, `CODEX_HOME`, and the provider's key variable (our
/// `openai-api-key` for `OPENAI_API_KEY`, else the variable from our environment — never one
/// that is forbidden, like the GitHub token).
pub fn env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    config: &Value,
    agent: &AgentConfig,
    codex_home: &Path,
) -> BTreeMap<OsString, OsString> {
    let parent: Vec<(OsString, OsString)> = parent.into_iter().collect();
    let mut env = process::agent_env(parent.iter().cloned());
    env.insert("CODEX_HOME".into(), codex_home.into());
    if let Some(var) = key_var(config).filter(|v| !process::forbidden(v)) {
        let ours = (var == KEY_VAR).then(|| agent.openai_api_key.clone()).flatten();
        let value =
            ours.map(OsString::from).or_else(|| parent.iter().find(|(k, _)| *k == *var).map(|(_, v)| v.clone()));
        if let Some(value) = value {
            env.insert(var.into(), value);
        }
    }
    env
}

/// JSON → the TOML text the CLI reads. Objects are tables; `null`s were removed by the merge.
pub fn to_toml(config: &Value) -> Result<String> {
    let Value::Object(map) = config else { bail!("the codex config is not a table") };
    let mut doc = toml_edit::DocumentMut::new();
    for (key, value) in map {
        if let Some(item) = json_to_item(value) {
            doc.insert(key, item);
        }
    }
    Ok(doc.to_string())
}

fn json_to_item(value: &Value) -> Option<toml_edit::Item> {
    match value {
        Value::Object(map) => {
            let mut table = toml_edit::Table::new();
            for (k, v) in map {
                if let Some(item) = json_to_item(v) {
                    table.insert(k, item);
                }
            }
            Some(toml_edit::Item::Table(table))
        }
        other => json_to_value(other).map(toml_edit::Item::Value),
    }
}

fn json_to_value(value: &Value) -> Option<toml_edit::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64()?.into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => toml_edit::Value::Array(items.iter().filter_map(json_to_value).collect()),
        Value::Object(map) => {
            let mut table = toml_edit::InlineTable::new();
            for (k, v) in map {
                if let Some(v) = json_to_value(v) {
                    table.insert(k, v);
                }
            }
            toml_edit::Value::InlineTable(table)
        }
    })
}

fn table_to_json(table: &toml_edit::Table) -> Value {
    Value::Object(table.iter().map(|(k, item)| (k.to_owned(), item_to_json(item))).collect())
}

fn item_to_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => value_to_json(v),
        toml_edit::Item::Table(t) => table_to_json(t),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(a.iter().map(table_to_json).collect()),
    }
}

fn value_to_json(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => json!(s.value()),
        toml_edit::Value::Integer(i) => json!(i.value()),
        toml_edit::Value::Float(f) => json!(f.value()),
        toml_edit::Value::Boolean(b) => json!(b.value()),
        toml_edit::Value::Datetime(d) => json!(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.to_owned(), value_to_json(v))).collect::<Map<_, _>>())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::RuntimeKind;

    fn settings(config: Option<&str>) -> CodexSettings {
        CodexSettings { version: String::new(), path: None, config: config.map(str::to_owned) }
    }

    /// An agent config for runtime `codex` (the driver's tests use it too).
    pub(crate) fn agent() -> AgentConfig {
        AgentConfig {
            runtime: RuntimeKind::Codex(settings(None)),
            model: "openai/gpt-5-codex".into(),
            variant: None,
            agent: None,
            plugins: Vec::new(),
            opencode_config: None,
            opencode_path: None,
            opencode_version: String::new(),
            timeout: std::time::Duration::from_secs(60),
            anthropic_api_key: None,
            anthropic_base_url: None,
            openai_api_key: Some("sk-ours".into()),
            openai_base_url: Some("http://127.0.0.1:9/v1".into()),
            ..AgentConfig::for_tests()
        }
    }

    #[test]
    fn our_config_names_the_model_the_provider_and_the_sandbox() {
        let config = build(&agent(), &settings(None), Path::new("/w"), false).unwrap();
        let text = to_toml(&config).unwrap();
        assert!(text.contains("model = \"gpt-5-codex\""), "{text}");
        assert!(text.contains("[model_providers.sisyphus]"), "{text}");
        assert!(text.contains("base_url = \"http://127.0.0.1:9/v1\""), "{text}");
        assert!(text.contains("wire_api = \"responses\""), "{text}");
        assert!(text.contains("exclude_slash_tmp = true"), "{text}");
        // What we write, the CLI's TOML parser reads back the same.
        assert_eq!(table_to_json(text.parse::<toml_edit::DocumentMut>().unwrap().as_table()), config);
    }

    #[test]
    fn the_users_toml_or_json_merges_over_ours_but_approvals_stay_off() {
        let toml = "approval_policy = \"on-request\"\n[model_providers.sisyphus]\nrequest_max_retries = 1\n";
        let config = build(&agent(), &settings(Some(toml)), Path::new("/w"), false).unwrap();
        assert_eq!(config["model_providers"]["sisyphus"]["request_max_retries"], 1);
        assert_eq!(config["model_providers"]["sisyphus"]["wire_api"], "responses");
        assert_eq!(config["approval_policy"], "never");
        let json = r#"{"model_provider": "azure", "model_providers": {"azure": {"env_key": "AZURE_OPENAI_API_KEY"}}}"#;
        let config = build(&agent(), &settings(Some(json)), Path::new("/w"), false).unwrap();
        assert_eq!(key_var(&config).as_deref(), Some("AZURE_OPENAI_API_KEY"));
        assert!(user_config("[oops", Path::new("/w")).is_err());
        assert!(user_config("missing.toml", Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn the_environment_has_the_providers_key_and_no_token() {
        let parent = [
            ("PATH", "/bin"),
            ("GITHUB_TOKEN", "ghp"),
            ("INPUT_OPENAI_API_KEY", "sk-in"),
            ("AZURE_OPENAI_API_KEY", "az"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let ours = build(&agent(), &settings(None), Path::new("/w"), false).unwrap();
        let env = env(parent.clone(), &ours, &agent(), Path::new("/s/codex/home"));
        let keys: Vec<&str> = env.keys().filter_map(|k| k.to_str()).collect();
        assert_eq!(keys, ["AZURE_OPENAI_API_KEY", "CODEX_HOME", "OPENAI_API_KEY", "PATH"]);
        assert_eq!(env[&OsString::from("OPENAI_API_KEY")], "sk-ours");
        let sneaky = json!({"model_provider": "x", "model_providers": {"x": {"env_key": "GITHUB_TOKEN"}}});
        let env = super::env(parent, &sneaky, &agent(), Path::new("/h"));
        assert!(!env.contains_key(&OsString::from("GITHUB_TOKEN")));
    }
}
