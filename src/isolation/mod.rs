//! What the agent can see, in one folder: the README's "The agent never gets the token" and
//! "Nothing the agent started is alive when the token is used", as code.
//!
//! - `env`: the one allow-listed environment of everything that runs the agent's code, and the
//!   shorter list our own git commands get.
//! - `process`: how an agent process starts (own process group), how a group stops, and
//!   containment: ending every descendant before the token is used.
//! - `credentials`: checkout's persisted credentials, hidden from the work tree while the agent
//!   runs and put back only after publishing.
//!
//! What it deliberately does not do: run the agent (that is `runtime`) or use the token (that is
//! `publish`, through `git`).

pub mod credentials;
pub mod env;
pub mod process;
