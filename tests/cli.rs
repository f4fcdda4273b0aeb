//! The command line as people read it: `run --help` and a whole dry run, snapshotted so a
//! change to an input or to the wording is a deliberate, reviewed change.

#[path = "support/core_cli.rs"]
mod core_cli;

use core_cli::{fixture, run};

#[test]
fn run_help() {
    let r = run(&["run", "--help"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn dry_run_of_an_issue_comment() {
    let payload = fixture("events/issue_comment.created.mention.json");
    let r = run(
        &["run", "--dry-run", "--event-name", "issue_comment", "--event-path", payload.to_str().unwrap()],
        &[("GITHUB_WORKSPACE", "/home/runner/work/Hello-World/Hello-World")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::with_settings!({filters => vec![
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
    let payload = fixture("events/issue_comment.created.mention.json");
    let r = run(
        &["run", "--dry-run"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "issue_comment"),
            ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let start = r.stdout.find("::stop-commands::").expect("stop-commands before the prompt");
    let token = r.stdout[start + 17..].lines().next().unwrap();
    let prompt = r.stdout.find("----- prompt -----").unwrap();
    let resume = r.stdout.rfind(&format!("::{token}::")).expect("commands resumed after the prompt");
    assert!(start < prompt && prompt < resume, "{}", r.stdout);
}
