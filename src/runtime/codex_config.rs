//! The Codex CLI's `config.toml` (in a private `CODEX_HOME`) and environment, computed by us.
//!
//! Config: the model, one provider we define from the inputs (`openai-base-url`, else the
//! public endpoint; the Responses API is the only wire protocol the CLI still speaks), the
//! workspace-write sandbox with `/tmp` and `$TMPDIR` *not* writable (the work tree and nothing
//! else), then the user's `codex-config` (TOML or JSON) merged on top, then the headless rule
//! the user cannot switch off: no approval is ever asked (nobody is there to give it).
//! Environment: the agent's allow-list (`isolation::env::agent_env`) plus `CODEX_HOME` and the one
//! key variable the provider's `env_key` names (the CLI reads no other key).
//!
//! Only values here; running the CLI is `codex.rs`'s job.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value, json};

use super::opencode::config::deep_merge;
use crate::config::{AgentConfig, CodexSettings};
use crate::isolation::env::{agent_env, forbidden};

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
        let table: toml::Table = toml::from_str(&text).with_context(|| format!("{origin} is not valid TOML"))?;
        table_to_json(table)
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
    let key = key_var(config).filter(|v| !forbidden(v)).and_then(|var| {
        let ours = (var == KEY_VAR).then(|| agent.openai_api_key.clone()).flatten();
        let value =
            ours.map(OsString::from).or_else(|| parent.iter().find(|(k, _)| *k == *var).map(|(_, v)| v.clone()))?;
        Some((var.into(), value))
    });
    agent_env(parent.iter().cloned(), [("CODEX_HOME".into(), codex_home.into())].into_iter().chain(key))
}

/// JSON → the TOML text the CLI reads. Objects are tables; `null`s were removed by the merge
/// (and are skipped here). Written by hand: the config is small and its shape ours, and a TOML
/// writer crate cost the binary more than this.
pub fn to_toml(config: &Value) -> Result<String> {
    let Value::Object(map) = config else { bail!("the codex config is not a table") };
    let mut out = String::new();
    write_table(&mut out, &[], map);
    Ok(out)
}

/// Scalars and arrays of `map` as `key = value` lines, then each sub-table under its own
/// `[a.b]` header (so a value never lands in the wrong table).
fn write_table(out: &mut String, path: &[String], map: &Map<String, Value>) {
    let (tables, values): (Vec<_>, Vec<_>) = map.iter().partition(|(_, v)| v.is_object());
    if !path.is_empty() && (!values.is_empty() || tables.is_empty()) {
        out.push_str(&format!("\n[{}]\n", path.iter().map(|k| key(k)).collect::<Vec<_>>().join(".")));
    }
    for (k, v) in values {
        if let Some(v) = inline(v) {
            out.push_str(&format!("{} = {v}\n", key(k)));
        }
    }
    for (k, v) in tables {
        if let Value::Object(sub) = v {
            let mut path = path.to_vec();
            path.push(k.clone());
            write_table(out, &path, sub);
        }
    }
}

/// A bare key when TOML allows one, else a quoted one.
fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_owned()
    } else {
        quote(k)
    }
}

/// A TOML basic string: JSON's escapes are TOML's, except that TOML has no `\/` (serde_json
/// never writes it) — so JSON's string encoding is a valid TOML string.
fn quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// A value on one line: arrays and inline tables nest; `null` has no TOML form.
fn inline(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            // TOML floats need a fraction or exponent: `1.0`, not `1`.
            None => format!("{:?}", n.as_f64()?),
        },
        Value::String(s) => quote(s),
        Value::Array(items) => format!("[{}]", items.iter().filter_map(inline).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter().filter_map(|(k, v)| Some(format!("{} = {}", key(k), inline(v)?))).collect::<Vec<_>>().join(", ")
        ),
    })
}

/// A parsed TOML table as JSON (datetimes become their text).
fn table_to_json(table: toml::Table) -> Value {
    Value::Object(table.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => json!(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => json!(b),
        toml::Value::Datetime(d) => json!(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => table_to_json(t),
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
            timeout: std::time::Duration::from_secs(60),
            openai_api_key: Some("sk-ours".into()),
            openai_base_url: Some("http://127.0.0.1:9/v1".into()),
            ..AgentConfig::default()
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
        assert_eq!(table_to_json(toml::from_str(&text).unwrap()), config);
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
