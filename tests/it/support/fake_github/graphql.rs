//! `POST /graphql`: the thread the context query asks for, from the state.

use serde_json::{Value, json};

use super::routes::Answer;
use super::state::State;

/// The thread as a GraphQL answer, unless a test set a canned one. Generous with field names:
/// whichever shape the context query asks for, the data it needs is there.
pub(super) fn graphql(s: &State, body: &Value) -> Answer {
    if let Some(canned) = &s.graphql {
        return (200, Vec::new(), canned.clone());
    }
    let number = body.pointer("/variables/number").and_then(Value::as_u64);
    let issue = s.issues.iter().find(|i| Some(i.number) == number);
    let Some(issue) = issue else {
        return (
            200,
            Vec::new(),
            json!({ "data": { "repository": { "issueOrPullRequest": null } },
                "errors": [{ "type": "NOT_FOUND", "message": "Could not resolve to an issue or pull request" }] }),
        );
    };
    let comments: Vec<Value> = s
        .comments
        .iter()
        .filter(|c| !c.review && c.repo == issue.repo && c.number == issue.number)
        .map(|c| {
            json!({ "author": { "login": c.user }, "body": c.body, "createdAt": "2026-01-01T00:00:00Z",
            "lastEditedAt": null, "databaseId": c.id, "isMinimized": false })
        })
        .collect();
    let node = json!({
        "__typename": if issue.is_pr { "PullRequest" } else { "Issue" },
        "number": issue.number, "title": issue.title, "body": issue.body, "author": { "login": issue.user },
        "labels": { "nodes": issue.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>() },
        "comments": { "nodes": comments, "pageInfo": { "hasNextPage": false } },
    });
    (
        200,
        Vec::new(),
        json!({ "data": { "repository": {
            "defaultBranchRef": { "name": s.default_branch },
            "issueOrPullRequest": node.clone(),
            "issue": if issue.is_pr { Value::Null } else { node.clone() },
            "pullRequest": if issue.is_pr { node } else { Value::Null },
        } } }),
    )
}
