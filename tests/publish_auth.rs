//! How the token reaches the server: one `Authorization` header, ours, sent only to the GitHub
//! server — also when `actions/checkout` already persisted its own header in `.git/config`
//! (the "Duplicate header: Authorization" failure of a peer). A tiny HTTP server on 127.0.0.1
//! records the headers of git's smart-HTTP requests and answers 404, so git stops there.

#[path = "support/git_repo.rs"]
mod git_repo;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
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

/// Headers of every request, one `Vec` per request. The server stops by itself after `limit`.
fn serve(limit: Duration) -> (String, Arc<Mutex<Vec<Vec<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut reader = BufReader::new(&stream);
            let mut headers = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim_end() != "" {
                headers.push(line.trim_end().to_owned());
                line.clear();
            }
            record.lock().unwrap().push(headers);
            let _ = (&stream).write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, seen)
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
    let (server, seen) = serve(Duration::from_secs(20));
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
    let (server, seen) = serve(Duration::from_secs(20));
    let work = checkout(&server);
    let err = publish::prepare(&new_branch(), work.path(), &config("http://127.0.0.1:9")).unwrap_err();
    assert!(format!("{err:#}").contains("could not fetch the base branch"), "{err:#}");
    // git waits for the listener's answer, which is recorded before it is sent.
    assert_eq!(seen.lock().unwrap().clone(), Vec::<Vec<String>>::new(), "origin was contacted");
}
