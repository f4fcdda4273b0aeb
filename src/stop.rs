//! `@sisyphus-dev-ai stop` (or `cancel`): cancels the run working on the thread, never starts
//! an agent. The gate has already checked the author, as for any request.
//!
//! The run is found through the live progress comment's hidden run id (`progress::run_marker`),
//! not by scanning the repository's runs: the newest comment of ours on the thread that still
//! carries one names the run at work (the final reply drops it). "Ours" is a comment by a bot
//! account or by `bot-login`, with our marker: the run id is never read from a person's comment.
//! The cancel goes through the Actions API (`actions: write`); on 202 the stop comment gets 👍
//! and GitHub signals the run, which finishes as any cancelled run does (`lifecycle`), and
//! names who stopped it from the thread (`stopped_by`). Otherwise a short reply says that
//! nothing is running. A run still waiting for its first plan (no comment yet) cannot be found
//! this way: the reply says so rather than guessing.

use anyhow::Result;
use serde_json::Value;

use crate::config::Config;
use crate::event::Trigger;
use crate::exit::Conclusion;
use crate::gha::Gha;
use crate::github::comments::Posted;
use crate::github::reactions::{Content, Target};
use crate::github::types::{CommentKind, Repo};
use crate::github::{Client, GithubError};
use crate::marker::MARKER;
use crate::{mention, progress, report};

pub async fn run(config: &Config, trigger: &Trigger, gha: &Gha) -> Result<Conclusion> {
    let Some(token) = config.token.as_deref() else {
        anyhow::bail!(crate::exit::UsageError(
            "no GitHub token: set the `github-token` input (or `GITHUB_TOKEN`) to stop a run".into()
        ));
    };
    let (Some(number), Some(comment)) = (trigger.number, trigger.comment()) else {
        anyhow::bail!("a stop request must be a comment on an issue or pull request");
    };
    let client = Client::new(&config.github, token)?;
    let repo = &trigger.repo;
    let review = comment.kind == CommentKind::Review;
    let own = config.github.run_id.as_deref();
    let live = live_run(&client, config, repo, number, review || trigger.is_pull_request()).await?;
    if let Some(run_id) = live.filter(|id| Some(id.as_str()) != own) {
        match client.cancel_run(repo, &run_id).await {
            Ok(true) => {
                gha.notice(&format!("asked GitHub to cancel run {run_id}, which works on #{number}"));
                let target = if review { Target::ReviewComment(comment.id) } else { Target::IssueComment(comment.id) };
                if let Err(e) = client.add_reaction(repo, target, Content::ThumbsUp).await {
                    gha.warning(&format!("cannot add 👍 to the stop request: {e}"));
                }
                return Ok(Conclusion::Success);
            }
            Ok(false) => tracing::info!("run {run_id} has already finished"),
            Err(e) => {
                gha.error(&format!("cannot cancel run {run_id}: {e}"));
                let text = format!(
                    "😕 I could not stop the run working on this thread (`{}`). It can be cancelled from the Actions tab.",
                    e.to_string().replace('`', "'")
                );
                answer(&client, trigger, number, &text).await;
                return Ok(Conclusion::Failure);
            }
        }
    }
    // The working label at the time of the request: a run has started but shows no progress yet.
    let starting = trigger.thread.labels.iter().any(|l| l.eq_ignore_ascii_case(&config.label));
    let text = if starting {
        gha.notice("a run is starting on this thread but has not posted its progress comment yet");
        "A run is starting here but has not posted its progress yet, so I cannot tell which one to stop. \
         Try again in a minute, or cancel it from the Actions tab."
    } else {
        gha.notice("nothing to stop: no run of ours is working on this thread");
        "Nothing is running here, so there is nothing to stop."
    };
    answer(&client, trigger, number, text).await;
    Ok(Conclusion::Success)
}

/// The short reply to a stop request, under it for a review comment.
async fn answer(client: &Client, trigger: &Trigger, number: u64, text: &str) {
    let key = report::reply_key(trigger, None);
    let body = format!("{text}\n\n{}\n{key}\n", MARKER);
    let review = trigger.comment().filter(|c| c.kind == CommentKind::Review);
    let posted = match review {
        Some(c) => client.reply_to_review_comment(&trigger.repo, number, c.id, &body).await,
        None => client.create_issue_comment(&trigger.repo, number, &body).await,
    };
    if let Err(e) = posted {
        tracing::warn!("cannot reply to the stop request: {e}");
    }
}

/// Comment JSON written by us: a bot account or `bot-login`, with our marker.
fn ours(comment: &Value, config: &Config) -> bool {
    let login = comment.pointer("/user/login").and_then(Value::as_str).unwrap_or_default();
    let bot = comment.pointer("/user/type").and_then(Value::as_str) == Some("Bot")
        || login.trim_end_matches("[bot]").eq_ignore_ascii_case(config.bot_login.trim_end_matches("[bot]"));
    bot && body(comment).contains(MARKER)
}

fn body(comment: &Value) -> &str {
    comment.get("body").and_then(Value::as_str).unwrap_or_default()
}

fn id(comment: &Value) -> u64 {
    comment.get("id").and_then(Value::as_u64).unwrap_or_default()
}

/// The thread's comments, conversation and (on a pull request) review comments.
async fn thread_comments(client: &Client, repo: &Repo, number: u64, pull: bool) -> Result<Vec<Value>, GithubError> {
    let base = format!("/repos/{}/{}", repo.owner, repo.name);
    let mut all = client.rest_list(&format!("{base}/issues/{number}/comments"), 10).await?;
    if pull {
        all.extend(client.rest_list(&format!("{base}/pulls/{number}/comments"), 10).await?);
    }
    Ok(all)
}

/// The run id on the newest live progress comment of ours on the thread.
async fn live_run(client: &Client, config: &Config, repo: &Repo, number: u64, pull: bool) -> Result<Option<String>> {
    let comments = thread_comments(client, repo, number, pull).await?;
    let newest = comments
        .iter()
        .filter(|c| ours(c, config))
        .filter_map(|c| progress::run_id_of(body(c)).map(|run| (id(c), run)))
        .max_by_key(|(id, _)| *id);
    Ok(newest.map(|(_, run)| run))
}

/// Who stopped this run from the thread: the author of the newest stop request after the live
/// comment (an allowed author's, as the gate would take it). `None` when the run was cancelled
/// some other way (the Actions tab), or the thread cannot be read.
pub async fn stopped_by(client: &Client, config: &Config, trigger: &Trigger, live: &Posted) -> Option<String> {
    let number = trigger.number?;
    let comments = match thread_comments(client, &trigger.repo, number, live.kind == CommentKind::Review).await {
        Ok(comments) => comments,
        Err(e) => {
            tracing::warn!("cannot read the thread to see who stopped the run: {e}");
            return None;
        }
    };
    let allowed = |c: &Value| {
        let association = c.get("author_association").and_then(Value::as_str).unwrap_or_default();
        config.allowed_associations.iter().any(|a| a.eq_ignore_ascii_case(association))
    };
    comments
        .iter()
        .filter(|c| id(c) > live.id && !body(c).contains(MARKER) && allowed(c))
        .filter(|c| mention::find(body(c), &config.trigger_phrase).is_some_and(|m| mention::is_stop(&m.request)))
        .max_by_key(|c| id(c))
        .and_then(|c| c.pointer("/user/login").and_then(Value::as_str))
        .map(str::to_owned)
}
