//! The command line as people read it: `run --help` and a whole dry run, snapshotted so a
//! change to an input or to the wording is a deliberate, reviewed change.

use crate::support::{actions, fixtures};

use actions::run;
use fixtures::{fixture, ready};

const KEY: (&str, &str) = ("ANTHROPIC_API_KEY", "sk-ant-cli-test");

#[test]
fn run_help() {
    let r = run(&["run", "--help"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn dry_run_of_an_issue_comment() {
    let payload = fixture("events/issue_comment.created.mention.json");
    let (_dir, work) = ready();
    let r = run(
        &["run", "--dry-run", "--event-name", "issue_comment", "--event-path", payload.to_str().unwrap()],
        &[("GITHUB_WORKSPACE", &work), KEY],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::with_settings!({filters => vec![
        (regex_escape(&work).as_str(), "/home/runner/work/Hello-World/Hello-World"),
        (r"Platform: .*", "Platform: [platform]"),
        (r"Date: .*", "Date: [date]"),
        (r"Time: .*", "Time: [time]"),
        (r"Timezone: .*", "Timezone: [timezone]"),
    ]}, {
        insta::assert_snapshot!(r.stdout);
    });
}

#[test]
fn dry_run_inside_actions_stops_workflow_commands_around_user_text() {
    let (_dir, work) = ready();
    let payload = fixture("events/issue_comment.created.mention.json");
    let r = run(
        &["run", "--dry-run"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "issue_comment"),
            ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
            ("GITHUB_WORKSPACE", &work),
            KEY,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let start = r.stdout.find("::stop-commands::").expect("stop-commands before the prompt");
    let token = r.stdout[start + 17..].lines().next().unwrap();
    let prompt = r.stdout.find("----- prompt -----").unwrap();
    let resume = r.stdout.rfind(&format!("::{token}::")).expect("commands resumed after the prompt");
    assert!(start < prompt && prompt < resume, "{}", r.stdout);
}

#[test]
fn dry_run_falls_back_to_the_payload_when_the_api_fails() {
    let (_dir, work) = ready();
    let payload = fixture("events/issue_comment.created.mention.json");
    let r = run(
        &["run", "--dry-run"],
        &[
            ("GITHUB_EVENT_NAME", "issue_comment"),
            ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
            ("GITHUB_TOKEN", "ghs_dryruntoken"),
            // Nothing listens on port 1: the query fails at once.
            ("GITHUB_GRAPHQL_URL", "http://127.0.0.1:1/graphql"),
            ("GITHUB_API_URL", "http://127.0.0.1:1"),
            // The client retries transport errors; keep its backoff short.
            ("SISYPHUS_RETRY_BASE_MS", "1"),
            ("GITHUB_WORKSPACE", &work),
            KEY,
        ],
    );
    assert_eq!((r.code, r.output("triggered")), (0, "true"), "{}", r.stderr);
    assert!(r.stderr.contains("falling back to the payload"), "{}", r.stderr);
    assert!(r.stdout.contains("Context: from the event payload only"), "{}", r.stdout);
    assert!(!r.stderr.contains("ghs_dryruntoken") && !r.stdout.contains("ghs_dryruntoken"), "the token leaked");
}

#[test]
fn dry_run_with_a_token_reads_the_thread_from_the_api() {
    let (_dir, work) = ready();
    use crate::support::graphql_fake;
    let answer = std::fs::read_to_string(fixture("graphql/issue.response.json")).unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let fake = graphql_fake::serve(1, move |_| answer.clone());
    let payload = fixture("events/issue_comment.created.mention.json");
    let r = run(
        &["run", "--dry-run"],
        &[
            ("GITHUB_EVENT_NAME", "issue_comment"),
            ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
            ("GITHUB_TOKEN", "ghs_dryruntoken"),
            ("GITHUB_GRAPHQL_URL", &fake.url),
            ("GITHUB_API_URL", &fake.url),
            ("GITHUB_WORKSPACE", &work),
            KEY,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Context: from the GitHub API; 3 comment(s)"), "{}", r.stdout);
    assert!(r.stdout.contains("<comment author=\"octocat\""), "{}", r.stdout);
    assert_eq!(fake.seen.lock().unwrap().len(), 1, "one query");
}

/// A literal path as an insta filter (a regex).
fn regex_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}
