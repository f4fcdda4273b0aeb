//! The push: exactly our commit id, to the planned branch, at an explicit URL, never with
//! force, no hooks, no tags; and only counted when `git push` reports exactly that ref moved.
//! A refusal by the server (protected branch, workflow scope, a branch that moved on) is a note
//! in plain words; any other failure is an error.
//!
//! What it does not do: decide the branch (`crate::plan`), or retry.

use anyhow::{Context as _, Result, bail};

use super::room::Room;

/// How a push ended, when it did not fail.
pub(super) enum Push {
    Pushed,
    /// The server refused it; the note says so in plain words.
    Refused(String),
}

/// Pushes `sha` to `branch`.
pub(super) fn push(room: &Room, sha: &str, branch: &str) -> Result<Push> {
    let refspec = format!("{sha}:refs/heads/{branch}");
    let push = room.git.try_remote(&["push", "--porcelain", "--no-verify", "--no-follow-tags", &room.url, &refspec])?;
    if !push.success {
        let refusal = push_refusal(&push.stderr, &push.stdout, branch)
            .with_context(|| format!("`git push` to `{branch}` failed: {}", push.stderr.trim()))?;
        return Ok(Push::Refused(format!("The commit {} was not pushed: {refusal}.", &sha[..sha.len().min(12)])));
    }
    confirm_push(&push.stdout, sha, branch)?;
    Ok(Push::Pushed)
}

/// `git push --porcelain` prints one line per ref; exactly ours must have moved, to our commit,
/// as a fast-forward or a new branch.
fn confirm_push(stdout: &str, sha: &str, branch: &str) -> Result<()> {
    let want = format!("{sha}:refs/heads/{branch}");
    let refs: Vec<&str> = stdout.lines().filter(|l| l.contains('\t')).collect();
    let ok = match refs.as_slice() {
        [line] => {
            let mut fields = line.split('\t');
            let flag = fields.next().unwrap_or_default();
            matches!(flag, " " | "*" | "=") && fields.next() == Some(want.as_str())
        }
        _ => false,
    };
    if !ok {
        bail!("`git push` did not report exactly `{want}` as pushed: {}", stdout.trim());
    }
    Ok(())
}

/// Why the server refused a push, in plain words; `None` for failures that are errors.
fn push_refusal(stderr: &str, stdout: &str, branch: &str) -> Option<String> {
    let all = format!("{stderr}\n{stdout}").to_ascii_lowercase();
    if all.contains("protected branch") || all.contains("gh006") || all.contains("gh013") {
        return Some(format!("GitHub refused the push because `{branch}` is a protected branch"));
    }
    if all.contains("workflow") && (all.contains("permission") || all.contains("scope")) {
        return Some("GitHub refused the push because the token may not change `.github/workflows/`".into());
    }
    if all.contains("non-fast-forward") || all.contains("fetch first") || all.contains("[rejected]") {
        return Some(format!("`{branch}` moved on the remote meanwhile, and the action never force-pushes"));
    }
    if all.contains("pre-receive hook declined") || all.contains("[remote rejected]") {
        return Some(format!("the remote refused the push to `{branch}`"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::confirm_push;

    #[test]
    fn a_push_counts_only_when_exactly_our_ref_moved_to_our_commit() {
        let sha = "a".repeat(40);
        let ours = format!("{sha}:refs/heads/b");
        let report = |lines: &[String]| format!("To /srv/o/r.git\n{}\nDone\n", lines.join("\n"));
        assert!(confirm_push(&report(&[format!("*\t{ours}\t[new branch]")]), &sha, "b").is_ok());
        assert!(confirm_push(&report(&[format!(" \t{ours}\t1111111..{}", &sha[..7])]), &sha, "b").is_ok());
        // Forced, another ref as well, another commit, or nothing at all: not ours.
        assert!(confirm_push(&report(&[format!("+\t{ours}\t(forced update)")]), &sha, "b").is_err());
        let tag = "*\trefs/tags/v1:refs/tags/v1\t[new tag]".to_owned();
        assert!(confirm_push(&report(&[format!("*\t{ours}\t[new branch]"), tag]), &sha, "b").is_err());
        let other = format!("{}:refs/heads/b", "b".repeat(40));
        assert!(confirm_push(&report(&[format!("*\t{other}\t[new branch]")]), &sha, "b").is_err());
        assert!(confirm_push("Everything up-to-date\n", &sha, "b").is_err());
    }
}
