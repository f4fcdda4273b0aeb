//! Publishing the agent's work: branch, commit, guarded push, pull request.
