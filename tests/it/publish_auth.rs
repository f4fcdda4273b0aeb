//! How the token reaches the server: one `Authorization` header, ours, sent only to the GitHub
//! server — also when `actions/checkout` already persisted its own header in `.git/config`
//! (the "Duplicate header: Authorization" failure of a peer). A server on 127.0.0.1 (`support::http`)
//! records the headers of git's smart-HTTP requests and answers 404, so git stops there.

use crate::support::{git_repo, http};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use git_repo::git;
use sisyphus_action::cli::RunArgs;
use sisyphus_action::config::Config;
use sisyphus_action::plan::Plan;
use sisyphus_action::publish;

const TOKEN: &str = "test-token-0123456789abcdef";
/// `basic base64("x-access-token:" + TOKEN)`, encoded independently of the crate.
const EXPECTED: &str = "basic eC1hY2Nlc3MtdG9rZW46dGVzdC10b2tlbi0wMTIzNDU2Nzg5YWJjZGVm";
/// What `actions/checkout` would have persisted (a different, older token).
const PERSISTED: &str = "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Y2hlY2tvdXQ=";

/// Headers of every request (`name: value` lines as sent), one `Vec` per request; each gets 404.
fn serve() -> (http::Server, Arc<Mutex<Vec<Vec<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let server = http::serve(move |request| {
        let lines = request.header_lines.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        record.lock().unwrap().push(lines);
        Some(http::Response::new(404, ""))
    });
    (server, seen)
}

fn authorizations(request: &[String]) -> Vec<String> {
    request
        .iter()
        .filter(|h| h.to_ascii_lowercase().starts_with("authorization:"))
        .map(|h| h["authorization:".len()..].trim().to_owned())
        .collect()
}

/// A work tree cloned by `actions/checkout`: origin on the server, its header persisted.
fn checkout(server: &str) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    git(work.path(), &["init", "--quiet"]);
    git(work.path(), &["remote", "add", "origin", &format!("{server}/owner/repo.git")]);
    git(work.path(), &["config", &format!("http.{server}/.extraheader"), PERSISTED]);
    work
}

fn config(server_url: &str) -> Config {
    let mut config = Config::from_args(&RunArgs::default()).unwrap();
    config.token = Some(TOKEN.into());
    config.github.server_url = server_url.into();
    config.github.repository = "owner/repo".into();
    config
}

fn new_branch() -> Plan {
    Plan::NewBranch { branch: "sisyphus/issue-1-x".into(), base: "main".into() }
}

fn wait_for_requests(seen: &Mutex<Vec<Vec<String>>>) -> Vec<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let requests = seen.lock().unwrap().clone();
        if !requests.is_empty() || Instant::now() > deadline {
            return requests;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn our_header_replaces_the_persisted_one_instead_of_duplicating_it() {
    let (host, seen) = serve();
    let server = host.url();
    let work = checkout(&server);

    // The naive way (what the peer did): a second header next to the persisted one.
    let _ = git_repo::git_cmd(
        work.path(),
        &["-c", &format!("http.{server}/.extraheader=AUTHORIZATION: basic x"), "ls-remote", "origin"],
    )
    .output()
    .unwrap();
    let naive = wait_for_requests(&seen);
    assert_eq!(authorizations(&naive[0]).len(), 2, "the server sees duplicates the naive way: {naive:?}");
    seen.lock().unwrap().clear();

    // Ours: prepare fetches the base branch with the token (and fails on the 404).
    let err = publish::prepare(&new_branch(), work.path(), &config(&server)).unwrap_err();
    assert!(format!("{err:#}").contains("could not fetch the base branch `main`"), "{err:#}");
    let requests = wait_for_requests(&seen);
    assert!(!requests.is_empty(), "git never reached the server");
    for request in &requests {
        assert_eq!(authorizations(request), vec![EXPECTED.to_owned()], "exactly our header: {request:?}");
    }
    // The error a human sees names no token.
    assert!(!format!("{err:#}").contains(TOKEN));
    let config_file = std::fs::read_to_string(work.path().join(".git/config")).unwrap();
    assert!(!config_file.contains(TOKEN) && !config_file.contains(EXPECTED), "nothing written to .git/config");
}

#[test]
fn the_work_trees_origin_is_never_contacted() {
    // The work tree's `origin` is not the configured GitHub server: we fetch from the server
    // URL, never from whatever `origin` says, so nothing at all goes there.
    let (host, seen) = serve();
    let server = host.url();
    let work = checkout(&server);
    let err = publish::prepare(&new_branch(), work.path(), &config("http://127.0.0.1:9")).unwrap_err();
    assert!(format!("{err:#}").contains("could not fetch the base branch"), "{err:#}");
    // git waits for the listener's answer, which is recorded before it is sent.
    assert_eq!(seen.lock().unwrap().clone(), Vec::<Vec<String>>::new(), "origin was contacted");
}
