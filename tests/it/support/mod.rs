//! What the integration tests stand on: fakes of GitHub and of the models, real git repositories,
//! and harnesses for the binary and the agents.

/// The one harness for the binary: `Run::new(dir).event(…).input(…).spawn()`.
pub mod actions;
/// What the real agents' tests share: pinned binaries, a work tree, the request, no process left.
pub mod agent;
/// The attacker's listener and the planted programs of tests/it/attacks.rs.
pub mod attacker;
/// The real Codex CLI for the runtime tests.
pub mod codex;
/// The scenario world: the fake GitHub, a served checkout and the fake model around one run.
pub mod e2e;
/// A stateful fake GitHub (REST, GraphQL, git over smart HTTP) on 127.0.0.1.
pub mod fake_github;
/// A scripted OpenAI-compatible chat model on 127.0.0.1.
pub mod fake_llm;
/// A scripted OpenAI Responses API on 127.0.0.1 (for Codex).
pub mod fake_responses;
/// Payload builders, fixture files and the seeded Hello-World world.
pub mod fixtures;
/// Real git repositories in temp dirs, cloned the way `actions/checkout` does.
pub mod git_repo;
/// A GraphQL endpoint answering with fixed JSON.
pub mod graphql_fake;
/// The one HTTP server under the fakes.
pub mod http;
/// The real `opencode serve` for the runtime tests, with a cap on how many run at once.
pub mod opencode;
/// Inputs for the publish suites.
pub mod publish_inputs;
/// A stand-in release host for the install script.
pub mod release_host;
