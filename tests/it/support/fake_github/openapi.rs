//! GitHub's REST operations (`tests/fixtures/github-rest/operations.json`, from its OpenAPI
//! description), and the check of a request against them.

use std::collections::BTreeMap;

use serde_json::Value;

const OPERATIONS: &str = include_str!("../../../fixtures/github-rest/operations.json");

/// One operation: its method, its path template's segments and its body's rules.
#[derive(Debug)]
pub(super) struct Operation {
    method: String,
    segments: Vec<String>,
    required: Vec<String>,
    enums: BTreeMap<String, Vec<String>>,
}

pub(super) fn load_operations() -> Vec<Operation> {
    let spec: Value = serde_json::from_str(OPERATIONS).expect("operations.json");
    spec["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| Operation {
            method: o["method"].as_str().unwrap_or_default().to_owned(),
            segments: split(o["path"].as_str().unwrap_or_default()),
            required: o["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            enums: o["enums"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect(),
                    )
                })
                .collect(),
        })
        .collect()
}

pub(super) fn split(path: &str) -> Vec<String> {
    path.trim_matches('/').split('/').map(str::to_owned).collect()
}

fn matches_template(template: &[String], segments: &[String]) -> bool {
    template.len() == segments.len()
        && template.iter().zip(segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
}

/// Why a request is not one of GitHub's operations, with the status GitHub would answer:
/// 404 for an unknown operation, 422 for a body that breaks its rules.
pub(super) fn check(ops: &[Operation], method: &str, segments: &[String], body: &Value) -> Result<(), (u16, String)> {
    let Some(op) = ops.iter().find(|o| o.method == method && matches_template(&o.segments, segments)) else {
        return Err((404, "not in GitHub's OpenAPI description".into()));
    };
    for field in &op.required {
        if body.get(field).is_none() {
            return Err((422, format!("body lacks required `{field}`")));
        }
    }
    for (field, allowed) in &op.enums {
        if let Some(v) = body.get(field)
            && !v.as_str().is_some_and(|v| allowed.iter().any(|a| a == v))
        {
            return Err((422, format!("`{field}` = {v} is not one of {allowed:?}")));
        }
    }
    Ok(())
}
