//! Hand-built stage values for publish tests: the config, an issue trigger, the agent's outcome.

use std::path::Path;
use std::time::Duration;

use sisyphus_action::cli::RunArgs;
use sisyphus_action::config::Config;
use sisyphus_action::event::{Actor, Comment, PayloadThread, Subject, Trigger};
use sisyphus_action::github::types::CommentKind;
use sisyphus_action::github::types::Repo;
use sisyphus_action::runtime::{AgentStatus, Outcome, Todo, Usage};

/// Never a real token; long enough to be redacted and searched for.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// Defaults, our token, run 4242 of `owner/repo`; `server` stands in for `GITHUB_SERVER_URL`
/// (a directory, so `{server}/{owner/name}.git` is a local bare repository).
pub fn config(server: &Path) -> Config {
    let mut config = Config::from_args(&RunArgs::default()).unwrap();
    config.token = Some(TOKEN.into());
    config.github.server_url = server.to_string_lossy().into_owned();
    config.github.repository = "owner/repo".into();
    config.github.run_id = Some("4242".into());
    config
}

/// `@sisyphus-dev-ai fix the answer` by `octocat` on issue `number` of `owner/repo`.
pub fn issue(number: u64, title: &str) -> Trigger {
    Trigger {
        repo: Repo { owner: "owner".into(), name: "repo".into() },
        number: Some(number),
        author: Actor { login: "octocat".into(), is_bot: false },
        html_url: None,
        created_at: None,
        subject: Subject::Comment(Comment {
            id: 1,
            kind: CommentKind::Issue,
            html_url: String::new(),
            created_at: String::new(),
            body: "@sisyphus-dev-ai fix the answer".into(),
            association: "OWNER".into(),
        }),
        thread: PayloadThread {
            title: title.into(),
            body: "The answer is wrong.".into(),
            author: "octocat".into(),
            default_branch: Some("main".into()),
            ..PayloadThread::default()
        },
    }
}

/// A finished turn with `text` as the agent's final message and one completed todo.
pub fn outcome(text: &str) -> Outcome {
    Outcome {
        status: AgentStatus::Done,
        final_text: text.into(),
        todos: vec![Todo { content: "fix the answer".into(), status: "completed".into() }],
        child_sessions: vec![],
        usage: Usage::default(),
        files_changed: vec![],
        session_id: None,
        duration: Duration::from_secs(3),
    }
}
