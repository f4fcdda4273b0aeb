//! oh-my-opencode's config for the Sisyphus preset: computed here (pure), written where
//! 4.19.4 reads its user config (`$HOME/.omo/omo.jsonc`) for the run only, and put back as it
//! was afterwards (`Written`'s drop).
//!
//! Why `$HOME`: the plugin has no environment variable or OpenCode option for its config
//! path; a project file would be the repository's (and migrated or deleted by the plugin).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use super::config::deep_merge;
use crate::config::AgentConfig;

/// What a headless run in Actions means (the action commits, pushes and replies; the final
/// message is the reply), appended to the prompt we send (`with_rules`).
pub const HEADLESS_RULES: &str = "\
<github-actions-run>
You run headless in GitHub Actions, for the sisyphus-action. Nobody can answer a question: never ask, decide and proceed.
Do not use `gh` or the GitHub API, and do not run `git commit`, `git push` or open pull requests: the action commits, pushes and replies for you.
Your final message is posted as the reply on the thread: end with a short summary of what you changed and why, and of anything left undone.
Finish your todos, and wait for the background tasks you started, before you end your turn.
</github-actions-run>";

/// The user message for the Sisyphus agent: the prompt, then our rules.
///
/// Why in the message and not the plugin's `agents.sisyphus.prompt_append`: 4.19.4 bakes
/// `prompt_append` into the agent that `GET /agent` lists, yet the system prompt the model
/// receives did not carry it (a real run with the fake model, tests/sisyphus.rs). The message
/// is the one route the plugin does not rebuild.
pub fn with_rules(prompt: &str) -> String {
    format!("{prompt}\n\n{HEADLESS_RULES}")
}

/// How long a root idle with todos pending must stay idle before a Sisyphus run counts as
/// done (`Limits::quiet`; 4 s elsewhere). The plugin re-prompts such a session only after its
/// idle handler has read the todos and messages back through the API and then counted down
/// 2 s; on a loaded machine that took 4.1 s (`tests/fixtures/opencode/omo-todo-continuation.jsonl`),
/// past the 4 s that ended the run before the plugin resumed it.
pub const QUIET: Duration = Duration::from_secs(10);

/// A smaller model of the same provider for the explore and librarian agents (as the seed's
/// `--claude=max20` set them up); other providers keep the run's model.
pub fn small_model(model: &str) -> String {
    match model.split_once('/') {
        Some(("anthropic", _)) => "anthropic/claude-haiku-4-5".to_owned(),
        _ => model.to_owned(),
    }
}

/// The plugin's config for this run: ours, then the user's `omo-config` merged on top.
pub fn build(agent: &AgentConfig, untrusted_tree: bool, workdir: &Path) -> Result<Value> {
    let mut sisyphus = json!({"model": agent.model});
    if let Some(variant) = &agent.variant {
        sisyphus["variant"] = json!(variant);
    }
    let helper = json!({"model": small_model(&agent.model)});
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let timeout = ms(agent.timeout);
    // 4.19.4 checks the whole file against its layer schema and, if any key is unknown there,
    // loads none of it (silently: a fork's hooks then ran with `claude_code` "off"). The
    // plugin's own settings go in the `[opencode]` block; only the shared ones at the top.
    let mut opencode = json!({
        "telemetry": false,
        "auto_update": false,
        // Ultrawork on, as the workflow we replace ran it (more agents, more tokens).
        "default_mode": {"ultrawork": true, "goal": false},
        // Background tasks give up before the run's own deadline (each at the plugin's minimum).
        "background_task": {
            "staleTimeoutMs": (timeout / 2).max(60_000),
            "messageStalenessTimeoutMs": (timeout / 2).max(60_000),
            "taskTtlMs": (timeout * 3 / 4).max(300_000),
        },
    });
    if untrusted_tree {
        // A fork's tree: its Claude-Code hooks, MCP servers, commands, agents and plugins are its author's.
        opencode["claude_code"] = json!({
            "mcp": false, "commands": false, "skills": false, "agents": false, "hooks": false, "plugins": false
        });
    }
    let mut out = json!({
        "codegraph": {"enabled": false, "auto_provision": false, "daemon": false},
        "agents": {"sisyphus": sisyphus, "explore": helper.clone(), "librarian": helper},
        "[opencode]": opencode,
    });
    if let Some(user) = &agent.omo_config {
        deep_merge(&mut out, user_config(user, workdir)?);
    }
    Ok(out)
}

/// The user's `omo-config`: inline JSON (starts with `{`) or a path to a JSON file.
pub fn user_config(input: &str, workdir: &Path) -> Result<Value> {
    let trimmed = input.trim();
    let text = if trimmed.starts_with('{') {
        trimmed.to_owned()
    } else {
        let path = workdir.join(trimmed);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read `omo-config` file `{}`", path.display()))?
    };
    let value: Value = serde_json::from_str(&text).context("`omo-config` is not valid JSON")?;
    let Some(object) = value.as_object() else { bail!("`omo-config` must be a JSON object") };
    // The plugin would drop the whole merged file, ours included, without a word.
    if let Some(key) = object.keys().find(|k| !LAYER_KEYS.contains(&k.as_str())) {
        bail!(
            "`omo-config` has the top-level key `{key}`, which oh-my-opencode {} does not know (it would ignore the \
             whole config): the plugin's own settings go in the `[opencode]` block; known keys: {}",
            crate::config::DEFAULT_OMO_VERSION,
            LAYER_KEYS.join(", ")
        );
    }
    Ok(value)
}

/// The top-level keys of 4.19.4's config layer (`OmoConfigLayerSchema`, strict): a file with
/// any other key is loaded not at all.
const LAYER_KEYS: [&str; 13] = [
    "$schema",
    "categories",
    "agents",
    "codegraph",
    "task",
    "teams",
    "models",
    "[opencode]",
    "[senpi]",
    "[codex]",
    "profiles",
    "_migrations",
    "legacy_migrations",
];

/// Our config in place of the user's for as long as this lives.
#[derive(Debug)]
pub struct Written {
    dir: PathBuf,
    /// What was in `omo.jsonc` before (`None`: no file).
    before: Option<Vec<u8>>,
    /// The directory's entries before, so that files the plugin added (migration backups)
    /// are removed afterwards; `None`: we created the directory.
    entries: Option<Vec<std::ffi::OsString>>,
}

/// Writes `config` as `<home>/.omo/omo.jsonc`.
pub fn write(home: &Path, config: &Value) -> Result<Written> {
    let dir = home.join(".omo");
    let path = dir.join("omo.jsonc");
    let entries = std::fs::read_dir(&dir).ok().map(|d| d.flatten().map(|e| e.file_name()).collect());
    let before = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let written = Written { dir, before, entries };
    std::fs::write(&path, format!("{config:#}\n")).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(written)
}

impl Drop for Written {
    fn drop(&mut self) {
        let path = self.dir.join("omo.jsonc");
        let restored = match &self.before {
            Some(bytes) => std::fs::write(&path, bytes),
            None => std::fs::remove_file(&path)
                .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }),
        };
        if let Err(e) = restored {
            tracing::warn!("could not restore `{}`: {e}", path.display());
        }
        match &self.entries {
            None => {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            Some(before) => {
                let Ok(now) = std::fs::read_dir(&self.dir) else { return };
                for entry in now.flatten() {
                    let name = entry.file_name();
                    let ours = name.to_string_lossy().starts_with("omo.") || name.to_string_lossy().contains(".bak");
                    if ours && !before.contains(&name) {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;

    fn agent() -> AgentConfig {
        AgentConfig { variant: Some("high".into()), preset: Some(Preset::Sisyphus), ..AgentConfig::default() }
    }

    #[test]
    fn the_config_sets_models_rules_and_bounds_and_takes_the_users_on_top() {
        let workdir = Path::new("/nonexistent");
        let config = build(&agent(), false, workdir).unwrap();
        assert_eq!(config["agents"]["sisyphus"]["model"], "anthropic/claude-opus-4-5");
        assert_eq!(config["agents"]["sisyphus"]["variant"], "high");
        assert_eq!(config["agents"]["explore"]["model"], "anthropic/claude-haiku-4-5");
        assert!(config["agents"]["sisyphus"].get("prompt_append").is_none(), "the rules go in the message");
        assert!(with_rules("fix it").starts_with("fix it\n") && with_rules("x").contains("never ask"));
        let plugin = &config["[opencode]"];
        assert_eq!(plugin["telemetry"], false);
        assert_eq!(plugin["auto_update"], false);
        assert_eq!(config["codegraph"]["enabled"], false);
        assert_eq!(plugin["default_mode"]["ultrawork"], true);
        assert!(plugin["background_task"]["taskTtlMs"].as_u64().unwrap() < 30 * 60 * 1000);
        assert!(plugin.get("claude_code").is_none());
        assert_eq!(build(&agent(), true, workdir).unwrap()["[opencode]"]["claude_code"]["hooks"], false);
        // Only the keys 4.19.4's layer schema knows are at the top (any other: the file is ignored).
        for key in config.as_object().unwrap().keys() {
            assert!(["agents", "codegraph", "[opencode]"].contains(&key.as_str()), "{key}");
        }
        for key in config["codegraph"].as_object().unwrap().keys() {
            assert!(["enabled", "auto_provision", "daemon", "telemetry"].contains(&key.as_str()), "{key}");
        }

        let mut mine = agent();
        mine.omo_config =
            Some(r#"{"codegraph": {"enabled": true}, "[opencode]": {"default_mode": {"ultrawork": false}}}"#.into());
        let config = build(&mine, false, workdir).unwrap();
        assert_eq!(config["codegraph"]["enabled"], true);
        assert_eq!(config["codegraph"]["daemon"], false, "merged, not replaced");
        assert_eq!(config["[opencode]"]["default_mode"]["ultrawork"], false);
        mine.omo_config = Some("[1]".into());
        assert!(build(&mine, false, workdir).is_err());
        // The old layout (the plugin's settings at the top) is refused, not silently dropped.
        let err = user_config(r#"{"agents": {}, "telemetry": false}"#, workdir).unwrap_err().to_string();
        assert!(err.contains("`telemetry`") && err.contains("[opencode]"), "{err}");
    }

    #[test]
    fn the_users_file_is_put_back_and_the_plugins_backups_removed() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".omo");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("omo.jsonc"), "// mine\n{}\n").unwrap();
        std::fs::write(dir.join("state.json"), "{}").unwrap();
        let written = write(home.path(), &json!({"telemetry": false})).unwrap();
        assert!(std::fs::read_to_string(dir.join("omo.jsonc")).unwrap().contains("telemetry"));
        std::fs::write(dir.join("omo.jsonc.bak.1"), "backup").unwrap();
        std::fs::write(dir.join("run-state.json"), "{}").unwrap();
        drop(written);
        assert_eq!(std::fs::read_to_string(dir.join("omo.jsonc")).unwrap(), "// mine\n{}\n");
        assert!(!dir.join("omo.jsonc.bak.1").exists());
        assert!(dir.join("state.json").exists() && dir.join("run-state.json").exists());

        // Without a config of the user's, the whole directory was ours.
        let empty = tempfile::tempdir().unwrap();
        drop(write(empty.path(), &json!({})).unwrap());
        assert!(!empty.path().join(".omo").exists());
    }
}
