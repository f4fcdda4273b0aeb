//! Real git for publish tests: a local bare `origin` with a seeded default branch, and a working
//! clone of it (from its path, or from a URL that serves it: `Repos::served`), both in one temp dir. Commands run with a cleared environment so the machine's
//! git config and any GITHUB_* variables never leak in.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub struct Repos {
    pub root: TempDir,
    /// The bare repository standing in for GitHub; `origin` of `work`.
    pub origin: PathBuf,
    /// The checked-out work tree the agent edits.
    pub work: PathBuf,
}

/// Runs git in `dir` with a clean environment; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir, args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?} in {} failed: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

pub fn git_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LC_ALL", "C")
        .args(["-c", "user.name=Seeder", "-c", "user.email=seeder@example.com", "-c", "init.defaultBranch=main"])
        .arg("-C")
        .arg(dir)
        .args(args);
    cmd
}

impl Repos {
    /// `origin` with one commit on `default_branch`, cloned into `work`.
    pub fn new(default_branch: &str) -> Self {
        let (root, origin) = seeded_origin(default_branch, "owner/repo");
        let work = root.path().join("work");
        git(root.path(), &["clone", "--quiet", origin.to_str().unwrap(), work.to_str().unwrap()]);
        Self { root, origin, work }
    }

    /// Like `new`, with `origin` at `server/{repo}.git` (a path whose `owner/name` is `repo`, so
    /// the preflight's remote check sees a clone of `repo`).
    pub fn for_repo(default_branch: &str, repo: &str) -> Self {
        let (root, origin) = seeded_origin(default_branch, repo);
        let work = root.path().join("work");
        git(root.path(), &["clone", "--quiet", origin.to_str().unwrap(), work.to_str().unwrap()]);
        Self { root, origin, work }
    }

    /// Like `new`, with `origin` at `server/{repo}.git`, served by `serve` (which returns its
    /// URL, e.g. `$GITHUB_SERVER_URL/owner/name`): `work` is cloned from that URL as
    /// `actions/checkout` does, so its `origin` is the server's URL.
    pub fn served(default_branch: &str, repo: &str, serve: impl FnOnce(&Path) -> String) -> Self {
        let (root, origin) = seeded_origin(default_branch, repo);
        let url = serve(&origin);
        let work = root.path().join("work");
        git(root.path(), &["clone", "--quiet", &url, work.to_str().unwrap()]);
        Self { root, origin, work }
    }

    /// Persists an `AUTHORIZATION` header for `server_url` in the work tree's `.git/config`, as
    /// `actions/checkout` v4 does with `persist-credentials: true` (its default).
    pub fn persist_header(&self, server_url: &str, header: &str) {
        let key = format!("http.{}/.extraheader", server_url.trim_end_matches('/'));
        git(&self.work, &["config", "--local", &key, header]);
    }

    /// `{root}/server`: stands in for `GITHUB_SERVER_URL`, so `{server}/{owner/name}.git` is a path.
    pub fn server(&self) -> PathBuf {
        self.root.path().join("server")
    }

    /// Creates `branch` on origin from `from`, with one commit writing `files`.
    pub fn push_branch(&self, branch: &str, from: &str, files: &[(&str, &str)]) -> String {
        let tmp = self.root.path().join(format!("branch-{}", branch.replace('/', "-")));
        git(
            self.root.path(),
            &["clone", "--quiet", "--branch", from, self.origin.to_str().unwrap(), tmp.to_str().unwrap()],
        );
        for (path, content) in files {
            write(&tmp, path, content);
        }
        git(&tmp, &["add", "--all"]);
        git(&tmp, &["commit", "--quiet", "-m", &format!("work on {branch}")]);
        git(&tmp, &["push", "--quiet", "origin", &format!("HEAD:refs/heads/{branch}")]);
        git(&tmp, &["rev-parse", "HEAD"])
    }

    /// The commit `branch` points at in origin, if it exists.
    pub fn remote_sha(&self, branch: &str) -> Option<String> {
        let out = git_cmd(&self.origin, &["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")])
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Every ref in origin with its commit, one per line.
    pub fn remote_refs(&self) -> String {
        git(&self.origin, &["for-each-ref", "--format=%(refname) %(objectname)"])
    }

    /// A file's content on a branch of origin, if it exists there.
    pub fn remote_file(&self, branch: &str, path: &str) -> Option<String> {
        let out = git_cmd(&self.origin, &["show", &format!("refs/heads/{branch}:{path}")]).output().unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The full message of the tip of `branch` in origin.
    pub fn remote_message(&self, branch: &str) -> String {
        git(&self.origin, &["log", "-1", "--format=%B", &format!("refs/heads/{branch}")])
    }

    pub fn write(&self, path: &str, content: &str) {
        write(&self.work, path, content);
    }

    /// Fails the test if `token` appears in the work tree's git config, its remote URLs, or any
    /// commit message in the work clone or origin.
    pub fn assert_token_absent(&self, token: &str) {
        let config = std::fs::read_to_string(self.work.join(".git/config")).unwrap();
        assert!(!config.contains(token), ".git/config holds the token:\n{config}");
        let remotes = git(&self.work, &["remote", "-v"]);
        assert!(!remotes.contains(token), "a remote URL holds the token: {remotes}");
        for repo in [&self.work, &self.origin] {
            let messages = git(repo, &["log", "--all", "--format=%B"]);
            assert!(!messages.contains(token), "a commit message holds the token");
        }
    }
}

/// A temp dir with a bare `server/{repo}.git` holding one commit on `default_branch`.
fn seeded_origin(default_branch: &str, repo: &str) -> (TempDir, PathBuf) {
    let root = tempfile::tempdir().expect("temp dir");
    let origin = root.path().join(format!("server/{repo}.git"));
    let seed = root.path().join("seed");
    std::fs::create_dir_all(&origin).unwrap();
    std::fs::create_dir_all(&seed).unwrap();
    git(&origin, &["init", "--quiet", "--bare", &format!("--initial-branch={default_branch}")]);
    git(&seed, &["init", "--quiet", &format!("--initial-branch={default_branch}")]);
    std::fs::write(seed.join("README.md"), "# repo\n").unwrap();
    std::fs::create_dir_all(seed.join("src")).unwrap();
    std::fs::write(seed.join("src/lib.rs"), "pub fn answer() -> u32 {\n    41\n}\n").unwrap();
    git(&seed, &["add", "--all"]);
    git(&seed, &["commit", "--quiet", "-m", "seed"]);
    git(&seed, &["push", "--quiet", origin.to_str().unwrap(), &format!("HEAD:refs/heads/{default_branch}")]);
    (root, origin)
}

pub fn write(dir: &Path, path: &str, content: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, content).unwrap();
}
