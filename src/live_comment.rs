//! The live progress comment's side effects: one task, fed by the runtime's progress notes
//! through a channel, that creates the comment and edits it when `progress::Throttle` says so.
//! It never blocks the agent (sending a note is a queue push); a failed or slow write is a
//! warning, and the next write carries the latest state. A comment someone deleted is not
//! edited again: the final reply is posted anew. Posting the final reply over the comment is
//! the lifecycle's (`Live::finish` hands over what the task knows).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::github::comments::Posted;
use crate::github::types::{CommentKind, Repo};
use crate::github::{Client, GithubError, RetryPolicy};
use crate::progress::{self, Frame, Note, State, Step, Throttle};
use crate::runtime::Todo;

/// How long `finish` waits for a write in flight before giving up on it; once cancelled, the
/// runner's kill is near and the reply matters more.
pub const FINISH_WAIT: Duration = Duration::from_secs(5);
pub const CANCELLED_FINISH_WAIT: Duration = Duration::from_secs(1);

/// Where the comment goes and what frames it.
#[derive(Debug, Clone)]
pub struct Target {
    pub repo: Repo,
    pub number: u64,
    /// The review comment a review-comment trigger is answered under (as the reply is).
    pub review_comment: Option<u64>,
    pub run_url: Option<String>,
    pub phrase: String,
    /// Hidden lines: our marker, the reply key, the run id.
    pub markers: String,
    /// The reply key: a re-run continues the comment an earlier attempt left.
    pub key: String,
    /// Our login, when known (from the 👀): only a comment of ours may be continued.
    pub login: Option<String>,
    pub first_attempt: bool,
    /// When the run started (the elapsed time shown).
    pub started: Instant,
    pub delay: Duration,
    pub interval: Duration,
    /// Redacted from every body.
    pub secrets: Vec<String>,
}

/// What the task leaves for the final reply.
#[derive(Debug, Clone, Default)]
pub struct Ended {
    /// The live comment, when it exists: the reply replaces its body.
    pub comment: Option<Posted>,
    /// The last todo list the agent published.
    pub todos: Vec<Todo>,
    /// A create was in flight when the task was stopped: a comment may exist we do not know of.
    pub unknown: bool,
    /// Successful edits (not counting the create).
    pub edits: usize,
}

/// The running task.
pub struct Live {
    pub sender: progress::Sender,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Mutex<Ended>>,
}

/// Starts the task. `client` is its own, with short retries: a live edit is never worth the
/// 90-second budget a reply gets.
pub fn start(client: Client, target: Target) -> Live {
    let base = client.retry();
    let client = client.with_retry(RetryPolicy { max_retries: 1, budget: Duration::from_secs(10), ..base });
    let (sender, rx) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel();
    let shared = Arc::new(Mutex::new(Ended::default()));
    let task = tokio::spawn(run(client, target, rx, stopped, shared.clone()));
    Live { sender, stop, task, shared }
}

impl Live {
    /// Stops the task (waiting briefly for a write in flight) and returns what it knows.
    pub async fn finish(self, wait: Duration) -> Ended {
        let Live { sender, stop, mut task, shared } = self;
        drop(sender);
        let _ = stop.send(());
        if tokio::time::timeout(wait, &mut task).await.is_err() {
            tracing::warn!("the progress comment's last write did not finish within {wait:?}");
            task.abort();
        }
        lock(&shared).clone()
    }
}

fn lock(shared: &Mutex<Ended>) -> std::sync::MutexGuard<'_, Ended> {
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn run(
    client: Client,
    target: Target,
    mut rx: mpsc::UnboundedReceiver<Note>,
    mut stopped: oneshot::Receiver<()>,
    shared: Arc<Mutex<Ended>>,
) {
    let mut throttle = Throttle::with_limits(target.started, target.delay, target.interval, progress::MAX_EDITS);
    let mut state = State::default();
    let mut open = true;
    let frame = Frame { run_url: target.run_url.as_deref(), phrase: &target.phrase, markers: &target.markers };
    loop {
        let fingerprint = progress::render(&state, &frame, None);
        let now = Instant::now();
        let wake = match throttle.step(now, &fingerprint, state.has_plan()) {
            Step::Create | Step::Edit => {
                let body = crate::gha::redact(
                    &progress::render(&state, &frame, Some(target.started.elapsed())),
                    &target.secrets,
                );
                write(&client, &target, &shared, &mut throttle, now, fingerprint, &body).await;
                continue;
            }
            Step::WaitUntil(at) => Some(at),
            Step::Idle => None,
        };
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake.unwrap_or(now)));
        tokio::select! {
            biased;
            _ = &mut stopped => return,
            note = rx.recv(), if open => match note {
                Some(note) => {
                    state.apply(note);
                    // Coalesced: whatever queued meanwhile, only the latest state is shown.
                    while let Ok(note) = rx.try_recv() {
                        state.apply(note);
                    }
                    lock(&shared).todos = state.todos.clone();
                }
                None => open = false,
            },
            () = sleep, if wake.is_some() => {}
        }
    }
}

async fn write(
    client: &Client,
    target: &Target,
    shared: &Mutex<Ended>,
    throttle: &mut Throttle,
    now: Instant,
    fingerprint: String,
    body: &str,
) {
    let existing = lock(shared).comment.clone();
    let written = match existing {
        Some(comment) => client.update_comment(&target.repo, &comment, body).await,
        None => {
            lock(shared).unknown = true;
            let created = create(client, target, body).await;
            lock(shared).unknown = false;
            created
        }
    };
    match written {
        Ok(posted) => {
            let mut shared = lock(shared);
            if shared.comment.is_some() {
                shared.edits += 1;
            }
            shared.comment = Some(posted);
            throttle.sent(now, fingerprint);
        }
        Err(GithubError::NotFound(e)) if lock(shared).comment.is_some() => {
            tracing::warn!("the progress comment is gone ({e}); the reply will be posted anew");
            lock(shared).comment = None;
            throttle.gone();
        }
        Err(e) => {
            tracing::warn!("cannot update the progress comment: {e}");
            throttle.failed(now);
        }
    }
}

/// A new comment where the reply goes, or (in a re-run) the earlier attempt's, continued.
async fn create(client: &Client, target: &Target, body: &str) -> Result<Posted, GithubError> {
    let repo = &target.repo;
    if let Some(login) = target.login.as_deref().filter(|_| !target.first_attempt) {
        let kind = if target.review_comment.is_some() { CommentKind::Review } else { CommentKind::Issue };
        if let Some(earlier) = client.find_comment(repo, target.number, &target.key, login, kind).await? {
            return client.update_comment(repo, &earlier, body).await;
        }
    }
    match target.review_comment {
        Some(id) => client.reply_to_review_comment(repo, target.number, id, body).await,
        None => client.create_issue_comment(repo, target.number, body).await,
    }
}
