//! The integration tests: one binary (`cargo test --test integration`), a module per feature, so
//! the crate is linked once. Filter by module: `cargo test --test integration scenarios::`.
//! Suites that need the real agents read `OPENCODE_BIN` / `CODEX_BIN` (set by `scripts/test`).

mod support;

// The action's interface and packaging.
/// action.yml against the binary's inputs, the README's table and the example workflows.
mod action_yml;
/// `scripts/install-binary.sh` against a stand-in release host.
mod install_script;

// The front: the command line, payloads, the gate and the preflight.
/// `run --help` and a whole dry run, snapshotted.
mod cli;
/// `sisyphus-action doctor` against the fake GitHub.
mod doctor;
/// GitHub's published payloads through the real binary: who and what is acted on.
mod event_gate;
/// Every input and each kind of bad value, refused before any write.
mod preflight;

// The stages, through the library.
/// The thread's context: the query against GitHub's schema and the parse of its answers.
mod context;
/// The GitHub client: headers, typed errors, retries and rate limits.
mod github_client;
/// The lifecycle with the `command` runtime: acknowledge, work, finish.
mod lifecycle;
/// The prompt as the agent reads it.
mod prompt;

// The agent runtimes.
/// Recorded Codex streams through the event mapping.
mod codex_replay;
/// Installing the agent after the acknowledgement.
mod install;
/// The real Codex CLI against the fake Responses API.
mod runtime_codex;
/// The real `opencode serve` against the fake model.
mod runtime_opencode;
/// Recorded OpenCode streams through the completion machine.
mod runtime_replay;
/// The Sisyphus preset with the real pinned oh-my-opencode.
mod sisyphus;

// Publishing, against real git.
/// A local run in a private clone, never touching the person's checkout.
mod local_run;
/// How the token reaches the git server, and only it.
mod publish_auth;
/// The agent rewriting the work tree between prepare and publish.
mod publish_cleanroom;
/// Checkout's persisted credentials, hidden from the agent and restored.
mod publish_credentials;
/// Commit and push to a local bare repository.
mod publish_git;
/// The pull request side, against the fake GitHub.
mod publish_pr;

// End to end: the binary as the action runs it.
/// The agent as an attacker: nothing leaks, only the checked commit is pushed.
mod attacks;
/// The binary with the `command` runtime and the fake GitHub.
mod binary;
/// Processes the agent leaves behind are gone before the token is used.
mod containment;
/// The issue → PR path with the real Codex CLI.
mod e2e_codex;
/// The fake GitHub's git server the attack tests stand on.
mod git_server;
/// The live progress comment and the `stop` command.
mod progress_e2e;
/// The whole lifecycle with the real OpenCode, issue to pull request.
mod scenarios;
