//! The GitHub client against the fake GitHub over real HTTP: headers, typed errors, retries
//! for every injected fault, GraphQL errors inside HTTP 200, and the small helpers.

use crate::support::fake_github;

use std::time::{Duration, Instant};

use fake_github::{FakeGithub, Fault, FaultKind, Subject};
use http::Method;
use serde_json::json;
use sisyphus_action::config::GithubEnv;
use sisyphus_action::github::reactions::{Content, Target};
use sisyphus_action::github::types::{CommentKind, Repo};
use sisyphus_action::github::{Client, GithubError, RetryPolicy};

const TOKEN: &str = "ghs_faketoken0123456789";

fn repo() -> Repo {
    Repo { owner: "octo".into(), name: "repo".into() }
}

fn client(gh: &FakeGithub) -> Client {
    let env = GithubEnv { api_url: gh.api_url(), graphql_url: gh.graphql_url(), ..GithubEnv::default() };
    Client::new(&env, TOKEN).unwrap().with_retry(RetryPolicy {
        max_retries: 4,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(50),
        budget: Duration::from_secs(10),
    })
}

fn seeded() -> FakeGithub {
    let gh = FakeGithub::start();
    gh.expect_token(TOKEN);
    gh.seed_issue("octo/repo", 7, "Flaky test", "it flakes", false);
    gh.seed_comment("octo/repo", 7, 1001, "@sisyphus-dev-ai fix it", "alice");
    gh
}

#[tokio::test]
async fn sends_the_headers_github_expects() {
    let gh = seeded();
    client(&gh).rest(Method::GET, "/repos/octo/repo/issues/7", None).await.unwrap();
    let request = &gh.requests()[0];
    assert_eq!(request.headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(request.headers["accept"], "application/vnd.github+json");
    assert_eq!(request.headers["x-github-api-version"], "2022-11-28");
    // octocrab appends its own `octocrab` User-Agent after ours; ours comes first.
    assert!(request.headers["user-agent"].starts_with("sisyphus-action/0."), "{:?}", request.headers);
    assert!(gh.violations().is_empty(), "{:?}", gh.violations());
}

#[tokio::test]
async fn api_url_with_a_path_prefix_is_kept() {
    // GitHub Enterprise: https://host/api/v3 — the prefix must survive (the fake 404s it, and
    // records the violation, which proves the prefix was sent).
    let gh = seeded();
    let env = GithubEnv { api_url: format!("{}/api/v3/", gh.api_url()), ..GithubEnv::default() };
    let client = Client::new(&env, TOKEN).unwrap();
    let err = client.rest(Method::GET, "/repos/octo/repo/issues/7", None).await.unwrap_err();
    assert!(matches!(err, GithubError::NotFound(_)), "{err}");
    assert_eq!(gh.request_lines(), vec!["GET /api/v3/repos/octo/repo/issues/7"]);
}

#[tokio::test]
async fn typed_errors() {
    let gh = seeded();
    let c = client(&gh);
    let err = c.rest(Method::GET, "/repos/octo/repo/issues/99", None).await.unwrap_err();
    assert!(matches!(err, GithubError::NotFound(_)), "{err}");
    let body = json!({"name": "bug"});
    c.rest(Method::POST, "/repos/octo/repo/labels", Some(&body)).await.unwrap();
    let err = c.rest(Method::POST, "/repos/octo/repo/labels", Some(&body)).await.unwrap_err();
    assert!(matches!(err, GithubError::AlreadyExists(_)), "{err}");
    gh.forbid_pull_creation();
    let pr = json!({"head": "x", "base": "main", "title": "t"});
    let err = c.rest(Method::POST, "/repos/octo/repo/pulls", Some(&pr)).await.unwrap_err();
    assert!(matches!(err, GithubError::Forbidden(ref m) if m.contains("not permitted")), "{err}");
    // The token is never part of an error.
    assert!(!format!("{err} {err:?} {c:?}").contains(TOKEN));
}

#[tokio::test]
async fn wrong_token_is_forbidden_not_retried() {
    let gh = seeded();
    let env = GithubEnv { api_url: gh.api_url(), ..GithubEnv::default() };
    let err = Client::new(&env, "ghs_other_token").unwrap().rest(Method::GET, "/user", None).await.unwrap_err();
    assert!(matches!(err, GithubError::Forbidden(_)), "{err}");
    assert_eq!(gh.requests().len(), 1);
}

async fn survives(kind: FaultKind, times: usize) -> FakeGithub {
    let gh = seeded();
    gh.fault(Fault::on("POST", "/reactions").kind(kind.clone()).times(times));
    let reaction = client(&gh).add_reaction(&repo(), Target::IssueComment(1001), Content::Eyes).await;
    let reaction = reaction.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    assert!(reaction.created);
    assert_eq!(gh.reactions_on_comment(1001), vec!["eyes"], "{kind:?}");
    let posts = gh.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, times + 1, "{kind:?}");
    gh
}

#[tokio::test]
async fn retries_server_errors() {
    survives(FaultKind::Status(500), 1).await;
    survives(FaultKind::Status(502), 3).await;
}

#[tokio::test]
async fn retries_connection_resets() {
    survives(FaultKind::Reset, 2).await;
}

#[tokio::test]
async fn honours_retry_after() {
    let started = Instant::now();
    survives(FaultKind::TooManyRequests { retry_after: 1 }, 1).await;
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
}

#[tokio::test]
async fn retries_secondary_rate_limits() {
    survives(FaultKind::SecondaryRateLimit { retry_after: None }, 2).await;
    survives(FaultKind::SecondaryRateLimit { retry_after: Some(0) }, 1).await;
    survives(FaultKind::PrimaryRateLimit { reset_in: 0 }, 1).await;
}

#[tokio::test]
async fn slow_responses_are_waited_for() {
    let gh = seeded();
    gh.fault(Fault::on("POST", "/reactions").kind(FaultKind::Slow(300)));
    let started = Instant::now();
    client(&gh).add_reaction(&repo(), Target::IssueComment(1001), Content::Eyes).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(gh.requests().len(), 1, "a slow answer is not a failure");
    assert_eq!(gh.reactions_on_comment(1001), vec!["eyes"]);
}

#[tokio::test]
async fn retries_are_bounded() {
    let gh = seeded();
    gh.fault(Fault::on("POST", "/reactions").kind(FaultKind::Status(502)).times(100));
    let err = client(&gh).add_reaction(&repo(), Target::IssueComment(1001), Content::Eyes).await.unwrap_err();
    assert!(matches!(err, GithubError::Http { status: 502, .. }), "{err}");
    assert_eq!(gh.requests().len(), 5, "one attempt and four retries");
}

#[tokio::test]
async fn a_wait_beyond_the_budget_is_not_waited_for() {
    let gh = seeded();
    gh.fault(Fault::on("POST", "/reactions").kind(FaultKind::TooManyRequests { retry_after: 3600 }));
    let started = Instant::now();
    let err = client(&gh).add_reaction(&repo(), Target::IssueComment(1001), Content::Eyes).await.unwrap_err();
    assert!(matches!(err, GithubError::RateLimited(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(gh.requests().len(), 1);
}

#[tokio::test]
async fn graphql_errors_inside_200_are_errors() {
    let gh = seeded();
    gh.set_graphql(json!({"data": null, "errors": [{"message": "Field 'nope' doesn't exist on type 'Issue'"}]}));
    let err = client(&gh).graphql("query { nope }", json!({})).await.unwrap_err();
    assert!(matches!(err, GithubError::GraphQl(ref m) if m.contains("nope")), "{err}");
    gh.set_graphql(json!({"data": {"viewer": {"login": "x"}}}));
    let data = client(&gh).graphql("query { viewer { login } }", json!({})).await.unwrap();
    assert_eq!(data, json!({"viewer": {"login": "x"}}));
    let last = gh.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.path.as_str()), ("POST", "/graphql"));
    assert_eq!(last.body["query"], "query { viewer { login } }");
}

#[tokio::test]
async fn graphql_goes_to_its_own_url() {
    // On GitHub Enterprise the GraphQL endpoint is `/api/graphql`, not `GITHUB_API_URL/graphql`.
    let gh = seeded();
    gh.set_graphql(json!({"data": {}}));
    let env = GithubEnv {
        api_url: format!("{}/api/v3", gh.api_url()),
        graphql_url: gh.graphql_url(),
        ..GithubEnv::default()
    };
    Client::new(&env, TOKEN).unwrap().graphql("query { x }", json!({})).await.unwrap();
    assert_eq!(gh.request_lines(), vec!["POST /graphql"]);
}

#[tokio::test]
async fn reactions_are_idempotent_and_removable() {
    let gh = seeded();
    let c = client(&gh);
    let human = gh.seed_reaction(Subject::IssueComment(1001), "confused", "alice");
    let first = c.add_reaction(&repo(), Target::IssueComment(1001), Content::Eyes).await.unwrap();
    let again = c.add_reaction(&repo(), Target::IssueComment(1001), Content::Eyes).await.unwrap();
    assert_eq!((first.id, first.created, again.created), (again.id, true, false));
    assert_eq!(first.user, "github-actions[bot]");
    c.add_reaction(&repo(), Target::IssueComment(1001), Content::Confused).await.unwrap();
    c.remove_reactions_by(&repo(), Target::IssueComment(1001), Content::Confused, &first.user).await.unwrap();
    c.delete_reaction(&repo(), Target::IssueComment(1001), first.id).await.unwrap();
    c.delete_reaction(&repo(), Target::IssueComment(1001), first.id).await.unwrap();
    let left: Vec<u64> = gh.reactions().iter().map(|r| r.id).collect();
    assert_eq!(left, vec![human], "the human's reaction stays");
    c.add_reaction(&repo(), Target::Issue(7), Content::ThumbsUp).await.unwrap();
    assert_eq!(gh.reactions_on(&Subject::Issue("octo/repo".into(), 7)), vec!["+1"]);
    assert!(gh.violations().is_empty(), "{:?}", gh.violations());
}

#[tokio::test]
async fn labels_tolerate_exists_and_gone() {
    let gh = seeded();
    let c = client(&gh);
    c.ensure_label(&repo(), "sisyphus: working").await.unwrap();
    c.ensure_label(&repo(), "sisyphus: working").await.unwrap();
    let labels = gh.repo_labels("octo/repo");
    assert_eq!(labels.len(), 1);
    assert_eq!(
        (labels[0].color.as_str(), labels[0].description.as_str()),
        ("fcf2e1", "Sisyphus is currently working on this")
    );
    c.add_labels(&repo(), 7, &["sisyphus: working"]).await.unwrap();
    assert_eq!(gh.issue_labels("octo/repo", 7), vec!["sisyphus: working"]);
    c.remove_label(&repo(), 7, "sisyphus: working").await.unwrap();
    c.remove_label(&repo(), 7, "sisyphus: working").await.unwrap();
    assert!(gh.issue_labels("octo/repo", 7).is_empty());
    assert!(gh.request_lines().contains(&"DELETE /repos/octo/repo/issues/7/labels/sisyphus%3A%20working".to_owned()));
    assert!(gh.violations().is_empty(), "{:?}", gh.violations());
}

#[tokio::test]
async fn comments_post_reply_find_and_update() {
    let gh = seeded();
    gh.seed_pull("octo/repo", 8, "octo:feature", "main");
    gh.seed_review_comment("octo/repo", 8, 2001, "@sisyphus-dev-ai rename this", "alice");
    let c = client(&gh);
    let posted = c.create_issue_comment(&repo(), 7, "done <!-- key-1 -->").await.unwrap();
    assert!(posted.html_url.ends_with(&format!("#issuecomment-{}", posted.id)), "{}", posted.html_url);
    // The same key in a later comment by someone else, and a differently cased login: only
    // the comment our account wrote is found.
    gh.seed_comment("octo/repo", 7, 1002, "planted <!-- key-1 -->", "mallory");
    let found =
        c.find_comment(&repo(), 7, "<!-- key-1 -->", "GitHub-Actions[bot]", CommentKind::Issue).await.unwrap().unwrap();
    assert_eq!(found, posted);
    assert_eq!(
        c.find_comment(&repo(), 7, "<!-- key-1 -->", "", CommentKind::Issue).await.unwrap(),
        None,
        "no login, no match"
    );
    assert_eq!(
        c.find_comment(&repo(), 7, "<!-- key-2 -->", "github-actions[bot]", CommentKind::Issue).await.unwrap(),
        None
    );
    c.update_comment(&repo(), &found, "redone <!-- key-1 -->").await.unwrap();
    let reply = c.reply_to_review_comment(&repo(), 8, 2001, "renamed").await.unwrap();
    assert_eq!(reply.kind, CommentKind::Review);
    c.update_comment(&repo(), &reply, "renamed twice").await.unwrap();
    let ours = gh.our_comments();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].body, "redone <!-- key-1 -->");
    assert_eq!((ours[1].in_reply_to, ours[1].body.as_str()), (Some(2001), "renamed twice"));
    assert!(gh.violations().is_empty(), "{:?}", gh.violations());
}

#[tokio::test]
async fn unknown_operations_are_violations() {
    let gh = seeded();
    let err = client(&gh).rest(Method::PUT, "/repos/octo/repo/issues/7/lock", None).await.unwrap_err();
    assert!(matches!(err, GithubError::NotFound(_)));
    assert_eq!(gh.violations(), vec!["PUT /repos/octo/repo/issues/7/lock: not in GitHub's OpenAPI description"]);
    let bad = json!({"content": "thumbs_up"});
    let _ = client(&gh).rest(Method::POST, "/repos/octo/repo/issues/7/reactions", Some(&bad)).await;
    assert_eq!(gh.violations().len(), 2, "{:?}", gh.violations());
}

#[tokio::test]
async fn graphql_rate_limits_inside_200_are_retried() {
    let gh = seeded();
    gh.set_graphql(json!({"data": {"ok": true}}));
    let limited = json!({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for installation"}]});
    gh.fault(Fault::on("POST", "/graphql").kind(FaultKind::Answer(200, limited.clone())));
    assert_eq!(client(&gh).graphql("query { ok }", json!({})).await.unwrap(), json!({"ok": true}));
    assert_eq!(gh.requests().len(), 2);
    gh.fault(Fault::on("POST", "/graphql").kind(FaultKind::Answer(200, limited)).times(100));
    let err = client(&gh).graphql("query { ok }", json!({})).await.unwrap_err();
    assert!(matches!(err, GithubError::RateLimited(ref m) if m.contains("rate limit exceeded")), "{err}");
}
