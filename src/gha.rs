//! Workflow commands (`::add-mask::`, groups, annotations, `::stop-commands::`), step outputs
//! and the job summary. Outside GitHub Actions (no `GITHUB_ACTIONS=true`) the same calls
//! produce plain human-readable lines instead, so a local run reads like a log, not like
//! runner protocol.
//!
//! Workflow commands go to stdout (the runner reads them there); plain logs go to stderr.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

/// Escapes a command's data part (`%`, CR, LF), as `@actions/core` does.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command property (data escapes plus `:` and `,`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// 128 random bits as hex: heredoc delimiters, `stop-commands` tokens, server passwords.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // No entropy source (exotic sandbox): fall back to time and pid, still unguessable enough
        // for a delimiter that must only not collide with a value we wrote ourselves.
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes.copy_from_slice(&(seed ^ u128::from(std::process::id()).rotate_left(64)).to_le_bytes());
    }
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Where workflow output goes. Cheap to copy around; holds no file handles.
#[derive(Debug, Clone, Default)]
pub struct Gha {
    /// Inside GitHub Actions: emit workflow commands.
    pub actions: bool,
}

impl Gha {
    pub fn new(actions: bool) -> Self {
        Self { actions }
    }

    fn command(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Masks `secret` in all later log lines. Call before the first log line.
    pub fn mask(&self, secret: &str) {
        if self.actions && !secret.is_empty() {
            for line in secret.lines().filter(|l| !l.trim().is_empty()) {
                self.command(&format!("::add-mask::{}", escape_data(line)));
            }
        }
    }

    /// Opens a collapsible log group, closed when the guard drops.
    pub fn group(&self, title: &str) -> Group {
        if self.actions {
            self.command(&format!("::group::{}", escape_data(title)));
        } else {
            eprintln!("== {title}");
        }
        Group { actions: self.actions }
    }

    pub fn error(&self, message: &str) {
        if self.actions {
            self.command(&format!("::error::{}", escape_data(message)));
        } else {
            eprintln!("error: {message}");
        }
    }

    /// An error annotation with a title (`input timeout-minutes`), so the run's summary page
    /// says which input is wrong.
    pub fn error_titled(&self, title: &str, message: &str) {
        if self.actions {
            self.command(&format!("::error title={}::{}", escape_property(title), escape_data(message)));
        } else {
            eprintln!("error: {message}");
        }
    }

    /// A notice annotation: shown on the run's page (a skip reason), not a failure.
    pub fn notice(&self, message: &str) {
        if self.actions {
            self.command(&format!("::notice::{}", escape_data(message)));
        } else {
            eprintln!("notice: {message}");
        }
    }

    pub fn warning(&self, message: &str) {
        if self.actions {
            self.command(&format!("::warning::{}", escape_data(message)));
        } else {
            eprintln!("warning: {message}");
        }
    }

    /// Stops the runner from interpreting workflow commands until the guard drops, so text
    /// we echo from the model (untrusted, prompt-injectable) cannot issue any.
    pub fn stop_commands(&self) -> StopCommands {
        let token = random_token();
        if self.actions {
            self.command(&format!("::stop-commands::{token}"));
        }
        StopCommands { actions: self.actions, token }
    }
}

pub struct Group {
    actions: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.actions {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "::endgroup::");
            let _ = out.flush();
        }
    }
}

pub struct StopCommands {
    actions: bool,
    token: String,
}

impl Drop for StopCommands {
    fn drop(&mut self) {
        if self.actions {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "::{}::", self.token);
            let _ = out.flush();
        }
    }
}

/// Appends `name` to `$GITHUB_OUTPUT` with a random heredoc delimiter: a value can never end
/// the block early, whatever it contains (a fixed `EOF` can be forged by a comment).
pub fn set_output(path: Option<&Path>, name: &str, value: &str) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut delimiter = format!("ghadelimiter_{}", random_token());
    while value.contains(&delimiter) {
        delimiter = format!("ghadelimiter_{}", random_token());
    }
    append(path, &format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
        .with_context(|| format!("cannot write output `{name}` to `{}`", path.display()))
}

/// Appends markdown to `$GITHUB_STEP_SUMMARY`.
pub fn append_summary(path: Option<&Path>, markdown: &str) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    append(path, markdown).with_context(|| format!("cannot write the job summary to `{}`", path.display()))
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// Replaces every known secret in `text` with `***` (replies and summaries we post).
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets.iter().filter(|s| s.len() >= 4).fold(text.to_owned(), |acc, s| acc.replace(s.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_actions_core() {
        assert_eq!(escape_data("a%b\r\nc"), "a%25b%0D%0Ac");
        assert_eq!(escape_property("x:y,z\n"), "x%3Ay%2Cz%0A");
    }

    #[test]
    fn output_uses_unforgeable_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        set_output(Some(&path), "skip-reason", "line1\nEOF\nline3").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        let delimiter = first.strip_prefix("skip-reason<<").unwrap();
        assert!(delimiter.starts_with("ghadelimiter_") && delimiter.len() > 20, "{delimiter}");
        assert_eq!(text, format!("skip-reason<<{delimiter}\nline1\nEOF\nline3\n{delimiter}\n"));
    }

    #[test]
    fn redacts_every_secret() {
        let s = vec!["ghp_secretvalue".to_owned(), "sk-ant-123456".to_owned()];
        assert_eq!(redact("a ghp_secretvalue b sk-ant-123456", &s), "a *** b ***");
    }

    #[test]
    fn tokens_are_random() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 32);
    }
}
