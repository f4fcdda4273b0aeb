//! A local run (`run --repo O/N --issue N` outside Actions) never touches the person's checkout:
//! the agent works in a temporary clone, and only what it changed is committed. Driven through
//! the real binary against the fake GitHub (which serves the repository over git's HTTP), with
//! the `command` runtime as the agent. Also the remote checks of the preflight: a directory
//! whose remote is not `--repo` (or, in Actions, a work tree that is not checkout's clone of
//! `GITHUB_REPOSITORY`) is refused before anything reaches GitHub.

use crate::support::actions::{self, Ran, Run};
use crate::support::fake_github;
use crate::support::fixtures;
use crate::support::git_repo;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_github::FakeGithub;
use git_repo::{Repos, git};

const REPO: &str = "octo/local";
const TOKEN: &str = "ghp_localRunToken0123456789";
/// The agent: changes one line of one file, in whatever directory it is started in.
const AGENT: &str = "sed -i 's/41/42/' src/lib.rs && echo Bumped the answer.";

struct Scene {
    gh: FakeGithub,
    repos: Repos,
}

impl Scene {
    /// Issue #1 on the fake; the person's clone of `REPO` (from the fake's git server).
    fn new() -> Self {
        let gh = FakeGithub::start();
        gh.expect_token(TOKEN);
        gh.seed_issue(REPO, 1, "The answer is off by one", "It should be 42.", false);
        let repos = Repos::served("main", REPO, |bare| {
            gh.seed_git_repo(REPO, bare);
            format!("{}/{REPO}", gh.server_url())
        });
        std::fs::create_dir_all(repos.root.path().join("tmp")).unwrap();
        Self { gh, repos }
    }

    /// `sisyphus-action run --repo <repo> --issue 1 …` in the checkout, as a person types it:
    /// no `GITHUB_*` but the URLs of the fake and the token.
    fn local_run(&self, repo: &str, extra: &[&str]) -> Ran {
        Run::new(self.repos.root.path())
            .args(["run", "--repo", repo, "--issue", "1", "--prompt", "fix the answer"])
            .args(extra)
            .env("TMPDIR", self.repos.root.path().join("tmp"))
            .env_from(&self.gh)
            .env("GITHUB_TOKEN", TOKEN)
            .input("runtime", "command")
            .input("agent-command", AGENT)
            .cwd(&self.repos.work)
            .limit(Duration::from_secs(120))
            .finish()
    }

    /// A checkout in the middle of someone's work: on their own branch, a modified tracked
    /// file, a staged new file, an untracked file, a stash, a hook and a local config entry.
    fn dirty(&self) {
        let work = &self.repos.work;
        git(work, &["checkout", "--quiet", "-b", "my-work"]);
        self.repos.write("src/lib.rs", "pub fn answer() -> u32 {\n    40 // stashed idea\n}\n");
        git(work, &["stash", "--quiet"]);
        self.repos.write("README.md", "# repo\n\nmy unfinished edit\n");
        self.repos.write("staged.txt", "staged, not committed\n");
        git(work, &["add", "staged.txt"]);
        self.repos.write("notes.txt", "untracked notes\n");
        let hook = work.join(".git/hooks/pre-commit");
        std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
        std::fs::write(&hook, "#!/bin/sh\ntouch \"$HOME/hook-ran\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        git(work, &["config", "--local", "user.name", "The Person"]);
    }
}

/// Every file under `dir`, `.git` included, with its bytes (a symlink as its target).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if meta.is_dir() {
                out.insert(rel.join(""), Vec::new());
                walk(root, &path, out);
            } else if meta.file_type().is_symlink() {
                out.insert(rel, std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes());
            } else {
                use std::os::unix::fs::PermissionsExt as _;
                let mut bytes = std::fs::read(&path).unwrap();
                bytes.extend(format!("\0mode {:o}", meta.permissions().mode()).bytes());
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The paths that differ between two snapshots, for a readable failure.
fn changed(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = before.keys().chain(after.keys()).cloned().collect();
    paths.sort();
    paths.dedup();
    paths.into_iter().filter(|p| before.get(p) != after.get(p)).collect()
}

#[test]
fn a_local_run_leaves_a_dirty_checkout_exactly_as_it_was() {
    let sc = Scene::new();
    sc.dirty();
    let work = &sc.repos.work;
    let stashes = git(work, &["stash", "list"]);
    let status = git(work, &["status", "--porcelain=v1", "--branch"]);
    let before = snapshot(work);

    let out = sc.local_run(REPO, &[]);
    let log = out.logs();
    assert_eq!(out.code, 0, "{log}");
    assert!(
        log.contains("appear under the GitHub account that owns the token"),
        "the run says up front whose name its writes carry:\n{log}"
    );

    // The person's checkout: every byte of it, `.git` (index, HEAD, config, hooks, refs/stash)
    // included; and, said the way git says it, the branch, the index and the stash.
    assert_eq!(changed(&before, &snapshot(work)), Vec::<PathBuf>::new(), "the checkout changed\n{log}");
    assert_eq!(git(work, &["stash", "list"]), stashes);
    assert_eq!(git(work, &["status", "--porcelain=v1", "--branch"]), status);
    assert!(!sc.repos.root.path().join("hook-ran").exists(), "the person's hook ran");

    // What was pushed: one commit on the bot's branch changing exactly the agent's file.
    let branch = sc
        .gh
        .git_refs(REPO)
        .into_iter()
        .find_map(|r| r.split(' ').next().and_then(|r| r.strip_prefix("refs/heads/sisyphus/")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no branch pushed: {:?}\n{log}", sc.gh.git_refs(REPO)));
    let branch = format!("sisyphus/{branch}");
    let origin = &sc.repos.origin;
    let files =
        git(origin, &["diff-tree", "-r", "--name-only", "--no-commit-id", "main", &format!("refs/heads/{branch}")]);
    assert_eq!(files, "src/lib.rs", "the commit holds more than the agent's change");
    assert_eq!(sc.repos.remote_file(&branch, "src/lib.rs").unwrap(), "pub fn answer() -> u32 {\n    42\n}\n");
    assert_eq!(git(origin, &["rev-list", "--count", &format!("main..refs/heads/{branch}")]), "1");
    assert_eq!(sc.gh.pulls().len(), 1, "{:?}", sc.gh.request_lines());
    assert!(sc.gh.violations().is_empty(), "{:?}", sc.gh.violations());

    // The clone was private and temporary: nothing of it is left.
    let left: Vec<_> =
        std::fs::read_dir(sc.repos.root.path().join("tmp")).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.iter().all(|p| !p.to_string_lossy().contains("sisyphus-local-")), "{left:?}");
}

#[test]
fn a_read_only_local_run_gives_the_agent_the_default_branch_and_pushes_nothing() {
    let sc = Scene::new();
    sc.dirty();
    let work = &sc.repos.work;
    let before = snapshot(work);
    let refs = sc.gh.git_refs(REPO);
    let out = sc.local_run(REPO, &["--allow-push", "false"]);
    let log = out.logs();
    // The agent's `sed` needs the default branch's `src/lib.rs` in its work tree.
    assert_eq!(out.code, 0, "{log}");
    assert_eq!(changed(&before, &snapshot(work)), Vec::<PathBuf>::new(), "the checkout changed\n{log}");
    assert_eq!(sc.gh.git_refs(REPO), refs, "a read-only run pushed");
    assert!(sc.gh.pulls().is_empty());
    // The agent's work is nowhere else: its clone is kept, and the log says where.
    let kept: Vec<PathBuf> = std::fs::read_dir(sc.repos.root.path().join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("sisyphus-local-")))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let work = kept[0].join("work");
    assert!(log.contains(&format!("kept at `{}`", work.display())), "{log}");
    assert_eq!(std::fs::read_to_string(work.join("src/lib.rs")).unwrap(), "pub fn answer() -> u32 {\n    42\n}\n");
}

#[test]
fn a_directory_whose_remote_is_not_the_repository_is_refused_before_github_hears_of_it() {
    let sc = Scene::new();
    let before = snapshot(&sc.repos.work);
    // The person's clone came from the fake's git server; nothing after it may.
    let cloned = sc.gh.git_requests().len();
    let out = sc.local_run("octo/other", &[]);
    let log = out.logs();
    assert_eq!(out.code, 2, "{log}");
    assert!(log.contains("which is not `octo/other`") && log.contains("--remote NAME"), "{log}");
    assert_eq!(sc.gh.request_lines(), Vec::<String>::new(), "GitHub was contacted");
    assert_eq!(sc.gh.git_requests().len(), cloned, "the git server was contacted");
    assert_eq!(changed(&before, &snapshot(&sc.repos.work)), Vec::<PathBuf>::new());

    // A remote that does not exist is refused the same way.
    let out = sc.local_run(REPO, &["--remote", "upstream"]);
    assert_eq!(out.code, 2, "{}", out.logs());
    assert!(out.logs().contains("has no remote `upstream`"), "{}", out.logs());
    assert_eq!(sc.gh.request_lines(), Vec::<String>::new());

    // `--remote` names the one that is `--repo` (a fork's clone with `upstream`, say).
    let upstream = "git@github.com:octo/other.git";
    git(&sc.repos.work, &["remote", "add", "upstream", upstream]);
    let out = sc.local_run("octo/other", &["--remote", "upstream", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.logs());
}

/// In Actions the work tree must be checkout's clone of `GITHUB_REPOSITORY`: `origin` at
/// `$GITHUB_SERVER_URL/owner/name`, with or without `.git`.
#[test]
fn in_actions_the_work_tree_must_be_a_clone_of_the_repository() {
    let gh = FakeGithub::start();
    let payload = fixtures::fixture("events/issue_comment.created.mention.json");
    let server = gh.server_url();
    let cases = [
        (format!("{server}/Codertocat/Hello-World"), 0),
        (format!("{server}/codertocat/hello-world.git"), 0),
        (format!("{server}/someone/else"), 2),
        ("https://elsewhere.example/Codertocat/Hello-World".to_owned(), 2),
    ];
    for (url, code) in cases {
        let (_dir, work) = fixtures::ready();
        git(Path::new(&work), &["remote", "add", "origin", &url]);
        let r = actions::run(
            &["run", "--dry-run"],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_EVENT_NAME", "issue_comment"),
                ("GITHUB_EVENT_PATH", payload.to_str().unwrap()),
                ("GITHUB_REPOSITORY", "Codertocat/Hello-World"),
                ("GITHUB_SERVER_URL", &server),
                ("GITHUB_API_URL", &gh.api_url()),
                ("GITHUB_GRAPHQL_URL", &gh.graphql_url()),
                ("GITHUB_WORKSPACE", &work),
                ("ANTHROPIC_API_KEY", "sk-ant-localrun"),
            ],
        );
        assert_eq!(r.code, code, "{url}: {}\n{}", r.stdout, r.stderr);
        if code == 2 {
            assert!(r.stdout.contains("::error title=work tree::"), "{url}: {}", r.stdout);
            assert!(r.stdout.contains("actions/checkout"), "{url}: the fix is named: {}", r.stdout);
        }
    }
    assert_eq!(gh.request_lines(), Vec::<String>::new(), "a dry run without a token asks GitHub nothing");
}
