//! Keeps the credentials `actions/checkout` persisted out of the agent's reach while it runs.
//!
//! With `persist-credentials: true` (checkout's default) the token sits where the agent's shell
//! can read it: checkout v4/v5 write `http.<server>/.extraheader` into `.git/config`; v6 writes
//! the header into `$RUNNER_TEMP/git-credentials-<uuid>.config` and points `includeIf.gitdir:…
//! .path` entries at it (submodule configs too). `hide` removes the header entries and the
//! includes of such files, and takes the files away; `Hidden::restore` puts everything back
//! after the agent, for later workflow steps that use checkout's credentials. Our own push
//! does not need them: it passes the token per command (see `git.rs`).
//!
//! Restoring writes only into the very file that was there when the credentials were hidden:
//! opened without following symlinks, with the device and inode recorded at hide time; a
//! stashed credentials file is recreated only where nothing stands (`O_EXCL`). If the agent
//! replaced either (a symlink into the work tree, a new file), nothing is restored and
//! `restore` says so: nothing is ever written through a symlink.
//!
//! What is taken away is held in memory only — a copy on disk would be one more place for the
//! agent to find. Values are never passed to a command line or logged: they are written back
//! as config text.
//!
//! What it deliberately does not do: isolate the agent. It runs as the same user; a token in
//! the environment, the global git config or another directory is not ours to hide.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::git::Git;

/// Config keys that carry a header (checkout v4/v5 and anyone else's).
const HEADER_KEYS: &str = r"^http\.(.+\.)?extraheader$";
/// Config keys that include another file (checkout v6 points them at its credentials file).
const INCLUDE_KEYS: &str = r"^include(if\..+)?\.path$";
/// Submodules nest their git dirs under `modules/`; a bound keeps an odd layout from looping.
const MAX_DEPTH: usize = 8;

/// What `hide` took away; put back by `restore`, or on drop as a fallback.
pub struct Hidden {
    git: Git,
    configs: Vec<Edited>,
    files: Vec<Stashed>,
}

/// A config file we removed entries from.
struct Edited {
    path: PathBuf,
    /// The file as it was, and as we left it: when nobody changed it in between, restoring
    /// is writing `before` back, byte for byte.
    before: Vec<u8>,
    after: Vec<u8>,
    /// `(key, value)` in file order, for when it was changed after all.
    removed: Vec<(String, String)>,
    /// Device and inode of the file as we left it: restoring writes into that file only.
    id: (u64, u64),
}

/// A credentials file an include pointed at.
struct Stashed {
    path: PathBuf,
    content: Vec<u8>,
    mode: u32,
}

/// Removes persisted credentials from the work tree's git config(s). An error means they are
/// (or may be) still there: the agent must not start. What was removed before the error is
/// put back.
pub fn hide(workdir: &Path) -> Result<Hidden> {
    let mut hidden = Hidden { git: Git::new(workdir), configs: Vec::new(), files: Vec::new() };
    let Some(git_dir) = git_dir(&hidden.git, workdir)? else { return Ok(hidden) };
    let mut configs = vec![git_dir.join("config")];
    submodule_configs(&git_dir.join("modules"), 0, &mut configs);
    for config in configs.iter().filter(|c| c.is_file()) {
        hidden.hide_in(config).with_context(|| format!("could not hide git credentials in `{}`", config.display()))?;
    }
    Ok(hidden)
}

impl Hidden {
    /// How many config entries were removed.
    pub fn count(&self) -> usize {
        self.configs.iter().map(|c| c.removed.len()).sum()
    }

    /// Puts everything back.
    pub fn restore(mut self) -> Result<()> {
        self.put_back()
    }

    /// Leaves everything out, for good: when a process the agent started survived, it would
    /// read restored credentials from `.git/config` (checkout's post step removes them anyway).
    /// What was held is dropped from memory, not written anywhere.
    pub fn discard(mut self) {
        self.files.clear();
        self.configs.clear();
    }

    fn hide_in(&mut self, config: &Path) -> Result<()> {
        // Every header, and the includes of a file that holds one (with that file's path).
        let mut remove: Vec<(String, String, Option<PathBuf>)> =
            entries(&self.git, config, HEADER_KEYS)?.into_iter().map(|(k, v)| (k, v, None)).collect();
        for (key, value) in entries(&self.git, config, INCLUDE_KEYS)? {
            let target = include_target(config, &value);
            // An include of a file that is not there (checkout's container path) leaks nothing.
            if self.is_stashed(&target) || fs::read(&target).is_ok_and(|c| has_header(&c)) {
                remove.push((key, value, Some(target)));
            }
        }
        if remove.is_empty() {
            return Ok(());
        }
        let read = || fs::read(config).with_context(|| format!("could not read `{}`", config.display()));
        let before = read()?;
        let removed = remove.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
        // Recorded before anything is removed, so a failure half-way puts back what was.
        let id = file_id(config)?;
        self.configs.push(Edited { path: config.to_path_buf(), after: before.clone(), before, removed, id });
        for (key, value, target) in &remove {
            let file = path_str(config)?;
            let args = match target {
                None => vec!["config", "--file", file, "--unset-all", key],
                Some(_) => vec!["config", "--file", file, "--fixed-value", "--unset-all", key, value],
            };
            let out = self.git.try_run(&args)?;
            // Exit 5 with nothing on stderr: an earlier `--unset-all` took this value already.
            if !out.success && !out.stderr.trim().is_empty() {
                bail!("could not remove `{key}`: {}", out.stderr.trim());
            }
            if let Some(edited) = self.configs.last_mut() {
                // `git config` replaces the file (lock file + rename): a new inode each time.
                edited.after = read()?;
                edited.id = file_id(config)?;
            }
            if let Some(target) = target.as_deref().filter(|t| !self.is_stashed(t)) {
                self.files.push(stash(target)?);
            }
        }
        Ok(())
    }

    fn is_stashed(&self, path: &Path) -> bool {
        self.files.iter().any(|f| f.path == path)
    }

    fn put_back(&mut self) -> Result<()> {
        let mut failed = Vec::new();
        for file in self.files.drain(..) {
            if let Err(e) = unstash(&file) {
                failed.push(format!("`{}`: {e:#}", file.path.display()));
            }
        }
        for config in self.configs.drain(..) {
            if let Err(e) = config.restore() {
                failed.push(format!("`{}`: {e:#}", config.path.display()));
            }
        }
        if !failed.is_empty() {
            bail!("could not restore the persisted git credentials: {}", failed.join("; "));
        }
        Ok(())
    }
}

impl Drop for Hidden {
    fn drop(&mut self) {
        if let Err(e) = self.put_back() {
            tracing::warn!("{e:#}");
        }
    }
}

impl Edited {
    /// Writes back into the very file we left, or nowhere: the agent may have replaced it with
    /// a symlink (into the work tree, say, to get the header committed) or a new file.
    fn restore(&self) -> Result<()> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&self.path)
            .map_err(|e| {
                anyhow::anyhow!("it was replaced or removed while the agent ran ({e}); nothing was restored")
            })?;
        let meta = file.metadata().context("could not inspect it")?;
        if !meta.file_type().is_file() || (meta.dev(), meta.ino()) != self.id {
            bail!("it was replaced while the agent ran; nothing was restored");
        }
        let mut now = Vec::new();
        file.read_to_end(&mut now).context("could not read it")?;
        if now == self.after {
            file.set_len(0).context("could not truncate it")?;
            file.seek(SeekFrom::Start(0)).context("could not rewind it")?;
            return file.write_all(&self.before).context("could not write it back");
        }
        // Changed while the agent ran: keep its changes, add ours at the end. Sections may
        // repeat in git config; values of one key keep their order.
        let mut text = String::new();
        for (key, value) in &self.removed {
            let (section, rest) = key.split_once('.').unwrap_or((key, ""));
            let (subsection, name) = rest.rsplit_once('.').unwrap_or(("", rest));
            let header = if subsection.is_empty() {
                format!("[{section}]")
            } else {
                format!("[{section} \"{}\"]", escape(subsection))
            };
            text.push_str(&format!("{header}\n\t{name} = \"{}\"\n", escape(value)));
        }
        let separator = if now.is_empty() || now.ends_with(b"\n") { "" } else { "\n" };
        file.seek(SeekFrom::End(0)).context("could not seek to its end")?;
        file.write_all(format!("{separator}{text}").as_bytes()).context("could not append to it")
    }
}

/// Device and inode of `path` itself (a symlink is not followed).
fn file_id(path: &Path) -> Result<(u64, u64)> {
    let meta = fs::symlink_metadata(path).with_context(|| format!("could not inspect `{}`", path.display()))?;
    Ok((meta.dev(), meta.ino()))
}

/// The repository's git dir (`.git`), `None` when the work dir is not a repository.
fn git_dir(git: &Git, workdir: &Path) -> Result<Option<PathBuf>> {
    let dot_git = workdir.join(".git");
    // Checked first: git refuses to discover a repository owned by another user, but its
    // config may hold the token all the same.
    if dot_git.is_dir() {
        return Ok(Some(dot_git));
    }
    let out = git.try_run(&["rev-parse", "--git-common-dir"])?;
    Ok(out.success.then(|| workdir.join(out.stdout.trim())))
}

/// `config` files of (nested) submodules' git dirs.
fn submodule_configs(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    if depth > MAX_DEPTH {
        return;
    }
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if path.join("HEAD").is_file() && path.join("config").is_file() {
            out.push(path.join("config"));
            submodule_configs(&path.join("modules"), depth + 1, out);
        } else {
            // A submodule named `a/b` lives in `modules/a/b`.
            submodule_configs(&path, depth + 1, out);
        }
    }
}

/// `(key, value)` of the file's entries whose key matches `pattern`, in file order.
fn entries(git: &Git, config: &Path, pattern: &str) -> Result<Vec<(String, String)>> {
    let out = git.try_run(&["config", "--file", path_str(config)?, "--null", "--get-regexp", pattern])?;
    // Exit 1 with nothing on stderr: no such key.
    if !out.success && !out.stderr.trim().is_empty() {
        bail!("could not read the config: {}", out.stderr.trim());
    }
    Ok(out
        .stdout
        .split('\0')
        .filter_map(|record| record.split_once('\n'))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect())
}

/// Where an include points: relative paths are relative to the including file.
fn include_target(config: &Path, value: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (value.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => config.parent().unwrap_or(Path::new("/")).join(value),
    }
}

fn has_header(content: &[u8]) -> bool {
    content.to_ascii_lowercase().windows(b"extraheader".len()).any(|w| w == b"extraheader")
}

fn stash(path: &Path) -> Result<Stashed> {
    let content = fs::read(path).with_context(|| format!("could not read `{}`", path.display()))?;
    let mode = fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
    fs::remove_file(path).with_context(|| format!("could not remove `{}`", path.display()))?;
    Ok(Stashed { path: path.to_path_buf(), content, mode })
}

/// Recreates a credentials file we took away. `create_new` (`O_EXCL`) never follows a symlink
/// and never reuses a file someone put there meanwhile: then nothing is restored.
fn unstash(file: &Stashed) -> Result<()> {
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .mode(file.mode)
        .open(&file.path)
        .map_err(|e| {
            anyhow::anyhow!("something was put in its place while the agent ran ({e}); nothing was restored")
        })?;
    out.write_all(&file.content)?;
    out.set_permissions(fs::Permissions::from_mode(file.mode))?;
    Ok(())
}

/// A config value or subsection as git config text, inside double quotes.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\t', "\\t")
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().with_context(|| format!("`{}` is not valid UTF-8", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_targets_resolve_like_git() {
        let config = Path::new("/w/.git/config");
        assert_eq!(include_target(config, "/t/git-credentials-1.config"), Path::new("/t/git-credentials-1.config"));
        assert_eq!(include_target(config, "creds.config"), Path::new("/w/.git/creds.config"));
        assert!(has_header(b"[http \"https://github.com/\"]\n\textraHeader = x"));
        assert!(!has_header(b"[user]\n\tname = x"));
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
