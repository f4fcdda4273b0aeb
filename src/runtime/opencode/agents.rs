//! Which OpenCode agent the `agent` input names, judged against the server's own list
//! (`GET /agent`) before the prompt is sent. Pure.
//!
//! Why: OpenCode answers an unknown agent with a `session.error` ("Agent not found") and no
//! idle after it, so a typo used to cost the whole `timeout-minutes`; and plugin agents carry
//! display names (`Sisyphus - ultraworker`) that nobody types exactly.

use anyhow::{Result, bail};
use serde_json::Value;

/// One agent of `GET /agent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub name: String,
    /// `primary`, `subagent` or `all`.
    pub mode: String,
    pub hidden: bool,
}

/// `GET /agent`'s answer; entries without a name are skipped.
pub fn parse(list: &Value) -> Vec<Agent> {
    let Some(items) = list.as_array() else { return Vec::new() };
    items
        .iter()
        .filter_map(|a| {
            let name = a.get("name")?.as_str()?.to_owned();
            let mode = a.get("mode").and_then(Value::as_str).unwrap_or("all").to_owned();
            let hidden = a.get("hidden").and_then(Value::as_bool).unwrap_or(false);
            Some(Agent { name, mode, hidden })
        })
        .collect()
}

/// The agent `wanted` names: the exact name; else the one whose name matches ignoring case,
/// or whose key (the name before ` - `, as oh-my-opencode's config keys it: `sisyphus` for
/// `Sisyphus - ultraworker`) does; else the one name it is a prefix of (ignoring case); else
/// an error listing the agents a prompt can use.
pub fn resolve<'a>(wanted: &str, agents: &'a [Agent]) -> Result<&'a Agent> {
    let wanted = wanted.trim();
    if let Some(agent) = agents.iter().find(|a| a.name == wanted) {
        return Ok(agent);
    }
    let lower = wanted.to_lowercase();
    let key = |a: &Agent| a.name.split(" - ").next().unwrap_or(&a.name).trim().to_lowercase();
    let loose: Vec<&Agent> = agents.iter().filter(|a| a.name.to_lowercase() == lower || key(a) == lower).collect();
    if let [agent] = loose.as_slice() {
        return Ok(agent);
    }
    let prefixed: Vec<&Agent> = agents.iter().filter(|a| a.name.to_lowercase().starts_with(&lower)).collect();
    match (loose.as_slice(), prefixed.as_slice()) {
        ([], [agent]) => Ok(agent),
        ([], []) => bail!("OpenCode has no agent `{wanted}`; the agents are: {}", listing(agents)),
        (many, _) if !many.is_empty() => bail!("the agent `{wanted}` is ambiguous: {}", names(many)),
        (_, many) => bail!("the agent `{wanted}` is ambiguous: {}", names(many)),
    }
}

/// Whether the Sisyphus agent (oh-my-opencode's) is in the list.
pub fn has_sisyphus(agents: &[Agent]) -> bool {
    agents.iter().any(|a| a.name.split(" - ").next().is_some_and(|k| k.trim().eq_ignore_ascii_case("sisyphus")))
}

fn names(agents: &[&Agent]) -> String {
    agents.iter().map(|a| format!("`{}`", a.name)).collect::<Vec<_>>().join(", ")
}

/// The agents a prompt can use (primary or all, not hidden) first, then the subagents.
fn listing(agents: &[Agent]) -> String {
    let usable: Vec<&Agent> = agents.iter().filter(|a| !a.hidden && a.mode != "subagent").collect();
    let others: Vec<&Agent> = agents.iter().filter(|a| !a.hidden && a.mode == "subagent").collect();
    match (usable.is_empty(), others.is_empty()) {
        (_, true) => names(&usable),
        (true, false) => format!("(subagents only) {}", names(&others)),
        (false, false) => format!("{} (subagents: {})", names(&usable), names(&others)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn omo() -> Vec<Agent> {
        parse(&json!([
            {"name": "build", "mode": "subagent", "hidden": true},
            {"name": "plan", "mode": "subagent", "hidden": true},
            {"name": "Sisyphus - ultraworker", "mode": "primary"},
            {"name": "Hephaestus - Deep Agent", "mode": "primary"},
            {"name": "Prometheus - Plan Builder", "mode": "primary"},
            {"name": "Sisyphus-Junior", "mode": "subagent"},
            {"name": "explore", "mode": "subagent"},
            {"name": "no name here"},
            {"mode": "primary"}
        ]))
    }

    #[test]
    fn names_resolve_exactly_then_by_key_then_by_unique_prefix() {
        let agents = omo();
        let name = |w: &str| resolve(w, &agents).map(|a| a.name.clone()).map_err(|e| e.to_string());
        assert_eq!(name("Sisyphus - ultraworker").unwrap(), "Sisyphus - ultraworker");
        assert_eq!(name("sisyphus").unwrap(), "Sisyphus - ultraworker", "the config key");
        assert_eq!(name("SISYPHUS - ULTRAWORKER").unwrap(), "Sisyphus - ultraworker");
        assert_eq!(name("sisyphus-junior").unwrap(), "Sisyphus-Junior");
        assert_eq!(name("heph").unwrap(), "Hephaestus - Deep Agent", "a unique prefix");
        assert_eq!(name("Explore").unwrap(), "explore");
        let err = name("p").unwrap_err();
        assert!(err.contains("ambiguous") && err.contains("`plan`") && err.contains("`Prometheus"), "{err}");
        let err = name("sisyphu").unwrap_err();
        assert!(err.contains("ambiguous"), "{err}");
        let err = name("oracle").unwrap_err();
        assert!(err.contains("no agent `oracle`") && err.contains("`Sisyphus - ultraworker`"), "{err}");
        assert!(err.contains("subagents: `Sisyphus-Junior`, `explore`") && !err.contains("`build`"), "{err}");
    }

    #[test]
    fn the_sisyphus_agent_is_recognised_by_its_key() {
        assert!(has_sisyphus(&omo()));
        let plain = parse(&json!([{"name": "build", "mode": "primary"}, {"name": "Sisyphus-Junior"}]));
        assert!(!has_sisyphus(&plain));
    }
}
