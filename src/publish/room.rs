//! The clean room: a private repository our process creates (mode 0700 under `RUNNER_TEMP`)
//! for every git command that carries the token. Nothing in it was written by the agent: its
//! config is the few lines written here, its objects come from the server, and the agent's work
//! enters only as file contents, staged with the work tree named explicitly. No filter,
//! textconv or diff driver is configured, so none can run, whatever `.gitattributes` says; the
//! work tree's `.git` is never read.
//!
//! What it deliberately does not do: judge the staged files. `publish` asks the guard.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::config::Config;
use crate::git::Git;

/// The remote name inside the clean room: the promisor remote blob-less fetches need.
const REMOTE: &str = "origin";

pub struct Room {
    /// Removed (with the index and every object) when the room is dropped.
    dir: tempfile::TempDir,
    /// Commands in the room, with the token for the server.
    pub git: Git,
    /// The repository on the server: `{GITHUB_SERVER_URL}/{owner}/{name}.git`.
    pub url: String,
}

/// One changed path between two trees (`git diff-index`/`diff-tree --raw`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub old_mode: String,
    pub new_mode: String,
    pub old_oid: String,
    pub new_oid: String,
}

impl Change {
    pub fn deleted(&self) -> bool {
        self.new_mode == "000000"
    }
    pub fn added(&self) -> bool {
        self.old_mode == "000000"
    }
}

impl Room {
    /// A fresh room for `repo` (`owner/name`) on the configured server.
    pub fn new(config: &Config, repo: &str) -> Result<Self> {
        // The name ends up in a URL: nothing but `owner/name` may.
        if !crate::config::valid_repo(repo) {
            bail!("`{repo}` is not a repository name (`owner/name`)");
        }
        let server = config.github.server_url.trim_end_matches('/');
        let url = format!("{server}/{repo}.git");
        let dir = private_dir(&config.github.runner_temp, "sisyphus-publish-", "the clean room")?;
        let home = dir.path().join("home");
        fs::create_dir(&home).context("could not create the clean room's home")?;
        let git_dir = dir.path().join("repo.git");
        let mut git = Git::bare(&git_dir, &home).for_server(server);
        if let Some(token) = &config.token {
            git = git.with_token(server, token);
        }
        Git::bare(&git_dir, &home)
            .run(&["init", "--quiet", "--bare"])
            .context("could not create the clean room's repository")?;
        for (key, value) in [
            ("core.repositoryformatversion", "1"),
            ("extensions.partialClone", REMOTE),
            (&format!("remote.{REMOTE}.url"), url.as_str()),
            (&format!("remote.{REMOTE}.promisor"), "true"),
            (&format!("remote.{REMOTE}.partialclonefilter"), "blob:none"),
        ] {
            git.run(&["config", key, value]).context("could not configure the clean room")?;
        }
        Ok(Self { dir, git, url })
    }

    /// The room's git dir, for a local fetch into the work tree.
    pub fn git_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("repo.git")
    }

    /// The commit the server's `branch` points at, `None` when there is no such branch.
    pub fn tip(&self, branch: &str) -> Result<Option<String>> {
        let name = format!("refs/heads/{branch}");
        let out = self.git.remote(&["ls-remote", "--heads", REMOTE, &name])?;
        // `ls-remote` matches patterns by their tail: only the exact ref counts.
        Ok(out.lines().find_map(|line| {
            let (sha, refname) = line.split_once('\t')?;
            (refname == name).then(|| sha.to_owned())
        }))
    }

    /// Fetches one commit (a full ref name or a commit id) with no history; `blobless` leaves
    /// the file contents on the server until they are read. The commit id.
    pub fn fetch(&self, what: &str, blobless: bool) -> Result<String> {
        let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--depth=1"];
        let plain = args.clone();
        if blobless {
            args.push("--filter=blob:none");
            args.extend([REMOTE, what]);
        } else {
            // By URL, not by the promisor remote's name: git applies the remote's blob-less
            // filter to every fetch from it, and a commit for the work tree needs its files.
            args.extend([self.url.as_str(), what]);
        }
        if let Err(e) = self.git.remote(&args) {
            if !blobless {
                return Err(e);
            }
            // A server that refuses the filter still serves the commit whole.
            tracing::debug!("blob-less fetch refused, fetching whole: {e:#}");
            let mut args = plain;
            args.extend([REMOTE, what]);
            self.git.remote(&args)?;
        }
        self.git.run(&["rev-parse", "--verify", "FETCH_HEAD^{commit}"])
    }

    /// Makes the index `base`'s tree plus the work tree's files as they are now: additions,
    /// changes and deletions alike, `.gitignore` honoured.
    /// Agent state (`guard::AGENT_STATE_EXCLUDES`) is excluded: it is never even staged.
    pub fn stage(&self, work_tree: &Path, base: &str) -> Result<()> {
        super::prepare::exclude_agent_state(&self.git_dir().join("info/exclude"))
            .context("could not exclude agent state in the clean room")?;
        self.git.run(&["read-tree", base]).context("could not read the base tree")?;
        self.git.with_work_tree(work_tree).run(&["add", "--all"]).context("could not stage the work tree's files")?;
        Ok(())
    }

    /// What the index changes against `base`.
    pub fn staged(&self, base: &str) -> Result<Vec<Change>> {
        let raw = self.git.run(&["diff-index", "--cached", "--raw", "-z", "--no-renames", "--abbrev=40", base])?;
        parse_raw(&raw)
    }

    /// What `commit` changes against `base`.
    pub fn committed(&self, base: &str, commit: &str) -> Result<Vec<Change>> {
        let raw = self.git.run(&["diff-tree", "-r", "--raw", "-z", "--no-renames", "--abbrev=40", base, commit])?;
        parse_raw(&raw)
    }

    /// Puts `changes` back as they were in the base: what the guard withheld is not committed.
    pub fn unstage(&self, changes: &[&Change]) -> Result<()> {
        let mut info = String::new();
        for change in changes {
            if change.added() {
                info.push_str(&format!("0 {}\t{}\0", "0".repeat(40), change.path));
            } else {
                info.push_str(&format!("{} {}\t{}\0", change.old_mode, change.old_oid, change.path));
            }
        }
        self.git.run_with_stdin(&["update-index", "-z", "--index-info"], &info)?;
        Ok(())
    }
}

/// A new directory under `parent` only we may enter (mode 0700), removed on drop; `what` names
/// it in errors.
pub fn private_dir(parent: &Path, prefix: &str, what: &str) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .with_context(|| format!("could not create {what} under `{}`", parent.display()))?;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
        .with_context(|| format!("could not make {what} private"))?;
    Ok(dir)
}

/// `:<old mode> <new mode> <old oid> <new oid> <status>\0<path>\0` records.
fn parse_raw(raw: &str) -> Result<Vec<Change>> {
    let mut fields = raw.split('\0');
    let mut out = Vec::new();
    while let Some(meta) = fields.next().filter(|f| !f.is_empty()) {
        let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        let (Some(path), [old_mode, new_mode, old_oid, new_oid, _status]) = (fields.next(), parts.as_slice()) else {
            bail!("unexpected `git diff --raw` output: {meta:?}");
        };
        out.push(Change {
            path: path.to_owned(),
            old_mode: (*old_mode).to_owned(),
            new_mode: (*new_mode).to_owned(),
            old_oid: (*old_oid).to_owned(),
            new_oid: (*new_oid).to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_records_are_parsed_with_literal_paths() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let raw = format!(":000000 100644 {z} {a} A\0:notes.txt\0:100644 000000 {a} {z} D\0dir/x y\0");
        let changes = parse_raw(&raw).unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].path, ":notes.txt");
        assert!(changes[0].added() && !changes[0].deleted());
        assert_eq!(changes[1].path, "dir/x y");
        assert!(changes[1].deleted());
        assert!(parse_raw("").unwrap().is_empty());
    }
}
