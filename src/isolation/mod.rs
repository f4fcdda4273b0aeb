//! What the agent can see, in one folder: the README's "The agent never gets the token" and
//! "Nothing the agent started is alive when the token is used", as code.
//!
//! - `env`: the one allow-listed environment of everything that runs the agent's code, and the
//!   shorter list our own git commands get.
//! - `process`: how an agent process starts (own process group), how a group stops, and
//!   containment: ending every descendant before the token is used.
//! - `credentials`: checkout's persisted credentials, hidden from the work tree while the agent
//!   runs and put back only after publishing.
//! - `hide_from_same_user` (here): our own process is non-dumpable.
//!
//! What it deliberately does not do: run the agent (that is `runtime`) or use the token (that is
//! `publish`, through `git`).

pub mod credentials;
pub mod env;
pub mod process;

/// The agent's tools run as our user, and `/proc/<our pid>/environ` holds the GitHub token (the
/// action passes it to us in the environment). A non-dumpable process's `/proc` entries belong
/// to root, so nothing the agent runs can read our environment or memory. Children start
/// dumpable again after `exec`, which is fine: their environment is built without the token.
pub fn hide_from_same_user() {
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        eprintln!("warning: cannot make the process non-dumpable ({e}); same-user processes may read its environment");
    }
}
