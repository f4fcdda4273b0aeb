//! The lifecycle of one acted-on event: acknowledge → context → prompt → runtime → containment
//! → publish → finish, with the install (`install`) running from the acknowledgement until the
//! runtime needs it. Containment (the binary is a child subreaper) ends everything the agent
//! started before the token is used; checkout's credentials come back only after publishing.
//! Finishing (reaction swap, label removal, the reply) always happens: on success, error,
//! timeout and cancellation (SIGINT/SIGTERM from the runner).
//!
//! Every GitHub write here is best-effort once the work has started: a failed 👀 must not stop
//! the work, and a failed 👍 must not hide a pushed branch. Such failures are warnings.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cancel::{Cancel, CancelReason};
use crate::config::Config;
use crate::context::{self, Thread};
use crate::event::Trigger;
use crate::exit::Conclusion;
use crate::gha::{self, Gha};
use crate::github::reactions::{Content, Reaction, Target};
use crate::github::types::CommentKind;
use crate::github::{Client, GithubError, RetryPolicy};
use crate::isolation::process;
use crate::live_comment;
use crate::marker::MARKER;
use crate::plan::{self, Plan};
use crate::progress;
use crate::prompt::{self, PromptInput};
use crate::publish::{self, Prepared, PublishInput, Published};
use crate::report::{self, Failure, FailureKind, Footer, Stage};
use crate::runtime::{self, AgentRequest, AgentStatus, Outcome, Teardown};
use crate::sanitize::Sanitized;

/// How long we wait for a runtime to stop after cancellation before finishing without it.
/// The runner kills us ~7.5 s after its SIGTERM; finishing on GitHub needs part of that.
const STOP_WAIT: Duration = Duration::from_secs(5);
/// SIGTERM → SIGKILL grace, and the bound, for ending what the agent left behind.
const CONTAIN_GRACE: Duration = Duration::from_secs(2);
const CONTAIN_LIMIT: Duration = Duration::from_secs(15);
/// The same once cancelled: the runner's SIGKILL is near.
const CANCEL_GRACE: Duration = Duration::from_millis(500);
const CANCEL_LIMIT: Duration = Duration::from_secs(2);

/// What the run came to, whatever happened.
#[derive(Default)]
struct Ending {
    outcome: Option<Outcome>,
    published: Option<Published>,
    failure: Option<Failure>,
}

impl Ending {
    fn failed(failure: Failure) -> Self {
        Self { failure: Some(failure), ..Self::default() }
    }

    fn conclusion(&self) -> Conclusion {
        self.failure.as_ref().map_or(Conclusion::Success, Failure::conclusion)
    }
}

pub async fn run(config: &Config, trigger: Trigger, request: Sanitized, gha: &Gha) -> Result<Conclusion> {
    let started = Instant::now();
    let Some(token) = config.token.as_deref() else {
        anyhow::bail!(crate::exit::UsageError(
            "no GitHub token: set the `github-token` input (or `GITHUB_TOKEN`) to act on events".into()
        ));
    };
    let mut client = Client::new(&config.github, token)?;
    let cancel = Cancel::new();
    let signals = watch_signals(&cancel)?;

    let eyes = {
        let _group = gha.group("acknowledge");
        acknowledge(&client, config, &trigger, gha).await
    };
    let live = start_progress(config, &trigger, eyes.as_ref(), started, token, gha);
    let progress = live.as_ref().map(|l| l.sender.clone());
    // What the run needs (OpenCode) installs from here on, while the work gathers the context.
    let install = crate::install::start(config);
    let mut ending = work(&client, config, &trigger, &request, gha, &cancel, Alongside { progress, install }).await;
    let live = match live {
        Some(live) => {
            let cancelled = cancel.is_cancelled();
            live.finish(if cancelled { live_comment::CANCELLED_FINISH_WAIT } else { live_comment::FINISH_WAIT }).await
        }
        None => live_comment::Ended::default(),
    };
    if cancel.is_cancelled() {
        // The runner will kill us soon: finish with short retries rather than not at all.
        client = client.with_retry(RetryPolicy::hurried());
    }
    if cancel.reason() == Some(CancelReason::Signal)
        && let (Some(failure), Some(comment)) = (ending.failure.as_mut(), live.comment.as_ref())
        && let Some(who) = crate::stop::stopped_by(&client, config, &trigger, comment).await
    {
        failure.message = format!("stopped by @{who} from the thread; nothing was pushed");
    }
    let conclusion = ending.conclusion();
    let finished = {
        let _group = gha.group("finish");
        finish(&client, config, &trigger, eyes.as_ref(), (&ending, &live), started, gha).await
    };
    let reply_url = finished.reply_url;
    signals.abort();

    let summary = report::summary(&report::Summary {
        trigger: &trigger,
        request: &request,
        conclusion,
        duration: started.elapsed(),
        run_url: config.github.run_url().as_deref(),
        reply_url: reply_url.as_deref(),
        full_reply: finished.full_reply.as_deref(),
        published: ending.published.as_ref(),
        failure: ending.failure.as_ref(),
    });
    let todos = ending.outcome.as_ref().map(|o| o.todos.clone()).filter(|t| !t.is_empty()).unwrap_or(live.todos);
    let summary = summary + &progress::summary_section(&todos);
    gha::append_summary(config.github.step_summary.as_deref(), &gha::redact(&summary, &config.secrets()))?;
    write_outputs(config, &ending, reply_url.as_deref())?;
    Ok(conclusion)
}

/// The live progress comment's task, when the thread gets one (`progress: comment`, replies
/// allowed, an issue or pull request to post on).
fn start_progress(
    config: &Config,
    trigger: &Trigger,
    eyes: Option<&Reaction>,
    started: Instant,
    token: &str,
    gha: &Gha,
) -> Option<live_comment::Live> {
    let number = trigger.number.filter(|_| config.progress.comment)?;
    let key = report::reply_key(trigger, config.github.run_id.as_deref());
    let run = config.github.run_id.as_deref().map(progress::run_marker).unwrap_or_default();
    let review_comment = trigger.comment().filter(|c| c.kind == CommentKind::Review).map(|c| c.id);
    let target = live_comment::Target {
        repo: trigger.repo.clone(),
        number,
        review_comment,
        run_url: config.github.run_url(),
        phrase: config.trigger_phrase.clone(),
        markers: format!("{}\n{key}\n{run}", MARKER),
        key,
        login: eyes.map(|e| e.user.clone()).filter(|l| !l.is_empty()),
        first_attempt: config.github.first_attempt(),
        started,
        delay: config.progress.delay,
        interval: config.progress.interval,
        secrets: config.secrets(),
    };
    match Client::new(&config.github, token) {
        Ok(client) => Some(live_comment::start(client, target)),
        Err(e) => {
            gha.warning(&format!("no progress comment: {e:#}"));
            None
        }
    }
}

/// SIGINT and SIGTERM (the runner cancelling the job) become one cancellation.
fn watch_signals(cancel: &Cancel) -> Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered before any work starts, so an early signal is never the default "die now".
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let cancel = cancel.clone();
    Ok(tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::warn!("{name} received: stopping the agent, then finishing on GitHub");
        cancel.cancel(CancelReason::Signal);
    }))
}

/// Where the 👀 and the verdict go: the triggering comment, else the issue itself.
fn reaction_target(trigger: &Trigger) -> Option<Target> {
    match (trigger.comment(), trigger.number) {
        (Some(c), _) if c.kind == CommentKind::Review => Some(Target::ReviewComment(c.id)),
        (Some(c), _) => Some(Target::IssueComment(c.id)),
        (None, Some(number)) => Some(Target::Issue(number)),
        (None, None) => None,
    }
}

/// 👀 and the working label, before anything slow. Returns our 👀 for later removal.
async fn acknowledge(client: &Client, config: &Config, trigger: &Trigger, gha: &Gha) -> Option<Reaction> {
    let repo = &trigger.repo;
    let eyes = match reaction_target(trigger) {
        Some(target) => warn_on(gha, "cannot add 👀", client.add_reaction(repo, target, Content::Eyes).await),
        None => None,
    };
    if let Some(number) = trigger.number {
        let labelled = match client.ensure_label(repo, &config.label).await {
            Ok(()) => client.add_labels(repo, number, &[&config.label]).await,
            Err(e) => Err(e),
        };
        warn_on(gha, &format!("cannot add the `{}` label", config.label), labelled);
    }
    eyes
}

/// What runs next to the work from the acknowledgement on: the live comment's feed and the
/// install of what the agent needs.
struct Alongside {
    progress: Option<progress::Sender>,
    install: crate::install::Pending,
}

/// context → prompt → runtime → publish. Never fails: every failure is part of the ending.
async fn work(
    client: &Client,
    config: &Config,
    trigger: &Trigger,
    request: &Sanitized,
    gha: &Gha,
    cancel: &Cancel,
    alongside: Alongside,
) -> Ending {
    let Alongside { progress, install } = alongside;
    let secrets = config.secrets();
    let fail = |stage: Stage, e: &anyhow::Error| stage_failed(gha, &secrets, stage, e);

    let thread: Thread = {
        let _group = gha.group("context");
        match until_cancelled(cancel, context::gather(Some(client), trigger)).await {
            Some(Ok(thread)) => thread,
            Some(Err(e)) => return fail(Stage::Context, &e),
            None => return cancelled(),
        }
    };
    let plan: Plan = plan::plan(trigger, &thread, config);
    // A local run works in a private clone, never in the person's own checkout.
    let local = match publish::local_clone(config, &plan, &thread) {
        Ok(local) => local,
        Err(e) => return fail(Stage::Prepare, &e),
    };
    let config = local.as_ref().map_or(config, publish::LocalClone::config);
    let workdir = &config.github.workspace;
    let prompt_and_prepared = {
        let _group = gha.group("prompt");
        let prepared = match publish::prepare(&plan, workdir, config) {
            Ok(prepared) => prepared,
            Err(e) => return fail(Stage::Prepare, &e),
        };
        let publishing = plan.describe();
        let input = PromptInput { config, trigger, thread: &thread, request, publishing: &publishing, workdir };
        match prompt::render(&input) {
            Ok(prompt) => (prompt, prepared),
            Err(e) => return fail(Stage::Prompt, &e),
        }
    };
    let (prompt, prepared) = prompt_and_prepared;
    let installed = match until_cancelled(cancel, install.finish()).await {
        Some(Ok(installed)) => installed,
        Some(Err(e)) => return fail(Stage::Install, &e),
        None => return cancelled(),
    };
    let untrusted_tree = untrusted_tree(&plan, &thread);
    let hidden = match crate::isolation::credentials::hide(workdir) {
        Ok(hidden) => hidden,
        Err(e) => return fail(Stage::Agent, &e.context("could not hide checkout's credentials")),
    };
    tracing::info!("hid {} persisted git credential entries from the agent", hidden.count());
    let agent = Agent { prompt, untrusted_tree, progress, installed };
    let at = At { client, config, trigger, request, gha, cancel };
    let (ending, contained) = agent_then_publish(&at, (&plan, &prepared), &thread, agent).await;
    // Checkout's credentials come back last: after publishing, and only once nothing the agent
    // started is alive (a survivor would read them from `.git/config`).
    if contained {
        if let Err(e) = hidden.restore() {
            gha.warning(&format!("{e:#}"));
        }
    } else {
        hidden.discard();
        gha.warning("checkout's persisted credentials were not restored: a process the agent started is still running");
    }
    if let Err(e) = publish::unexclude_agent_state(&prepared) {
        tracing::warn!("could not take the agent-state exclusion out of the work tree: {e:#}");
    }
    if let Some(local) = local {
        local.finish(&plan, ending.published.as_ref(), gha);
    }
    ending
}

/// What every stage of the work sees.
#[derive(Clone, Copy)]
struct At<'a> {
    client: &'a Client,
    config: &'a Config,
    trigger: &'a Trigger,
    request: &'a Sanitized,
    gha: &'a Gha,
    cancel: &'a Cancel,
}

/// What the agent is asked to do, and whether its work tree is trusted.
struct Agent {
    prompt: String,
    untrusted_tree: bool,
    progress: Option<progress::Sender>,
    /// What the install stage found or installed.
    installed: crate::install::Installed,
}

/// A fork's head is its author's tree: its agent configuration must not load.
fn untrusted_tree(plan: &Plan, thread: &Thread) -> bool {
    runtime::untrusted_tree(matches!(plan, Plan::ForkHead { .. }), thread.pull.as_ref().map(|p| &p.info), &thread.repo)
}

/// runtime → containment → publish. Returns the ending and whether containment held (nothing
/// the agent started is alive), whatever else happened.
async fn agent_then_publish(
    at: &At<'_>,
    (plan, prepared): (&Plan, &Prepared),
    thread: &Thread,
    agent: Agent,
) -> (Ending, bool) {
    let At { client, config, trigger, request, gha, cancel } = *at;
    let secrets = config.secrets();
    let fail = |stage: Stage, e: &anyhow::Error| stage_failed(gha, &secrets, stage, e);
    let workdir = &config.github.workspace;
    // OpenCode's state and logs; deleted only after containment, when nothing uses it.
    let scratch = match tempfile::Builder::new().prefix("sisyphus-").tempdir_in(&config.github.runner_temp) {
        Ok(scratch) => scratch,
        Err(e) => return (fail(Stage::Agent, &anyhow::Error::from(e).context("cannot create the scratch dir")), true),
    };
    let agent_started = Instant::now();
    let (ran, teardown) = {
        let _group = gha.group("agent");
        run_agent(config, trigger, agent, scratch, cancel, gha).await
    };
    // The runtime's own processes are stopped (its teardown's first half); what they left
    // behind (a `setsid` daemon, OpenCode's detached bash commands) ends here, before anything
    // uses the token.
    if let Err(survivors) = contain(cancel.is_cancelled()).await {
        let message = gha::redact(&format!("{survivors}; nothing was published"), &secrets);
        gha.error(&format!("containment failed: {message}"));
        let failure = Failure::new(Stage::Containment, FailureKind::Survivors, &message);
        return (Ending { outcome: ran.ok(), published: None, failure: Some(failure) }, false);
    }
    teardown.finish();
    let outcome = match ran {
        Ok(outcome) => outcome,
        Err(e) => return (fail(Stage::Agent, &e), true),
    };
    if let Some(mut failure) = report::Failure::from_outcome(&outcome, &config.agent.model, config.agent.timeout) {
        failure.message = gha::redact(&failure.message, &secrets);
        let advice = failure.advice.as_deref().map(|a| format!("; {a}")).unwrap_or_default();
        gha.error(&format!("the agent did not finish ({}): {}{advice}", failure.kind, failure.message));
        return (Ending { outcome: Some(outcome), published: None, failure: Some(failure) }, true);
    }
    // The benchmark (`scripts/bench`) reads this line: keep its wording. The outcome was ready
    // `outcome.duration` after the agent started; what follows is stopping the server and
    // containing what the agent left.
    let since_outcome = agent_started.elapsed().saturating_sub(outcome.duration);
    tracing::debug!("publish starts {:.1} ms after the agent's outcome was ready", since_outcome.as_secs_f64() * 1e3);
    let published = {
        let _group = gha.group("publish");
        let input =
            PublishInput { config, trigger, thread, request, outcome: &outcome, workdir: workdir.as_path(), prepared };
        match until_cancelled(cancel, publish::publish(Some(client), plan, &input)).await {
            Some(Ok(published)) => published,
            Some(Err(e)) => return (Ending { outcome: Some(outcome), ..fail(Stage::Publish, &e) }, true),
            None => return (Ending { outcome: Some(outcome), ..cancelled() }, true),
        }
    };
    (Ending { outcome: Some(outcome), published: Some(published), failure: None }, true)
}

/// SIGTERM → grace → SIGKILL for every descendant of our process, until `/proc` shows none.
/// Only the binary is a subreaper (`process::become_subreaper`); elsewhere (the library in
/// tests) our descendants are not all the agent's, and each runtime's own stop is all there is.
async fn contain(cancelled: bool) -> Result<(), process::Survivors> {
    if !process::is_subreaper() {
        tracing::debug!("not a child subreaper: no containment beyond the runtime's own stop");
        return Ok(());
    }
    // The runner kills us ~7.5 s after its SIGTERM: a cancelled run gets a short bound.
    let (grace, limit) = if cancelled { (CANCEL_GRACE, CANCEL_LIMIT) } else { (CONTAIN_GRACE, CONTAIN_LIMIT) };
    let me = nix::unistd::getpid();
    let ended = tokio::task::spawn_blocking(move || process::end_descendants(me, grace, limit)).await;
    match ended {
        Ok(Ok(0)) => Ok(()),
        Ok(Ok(n)) => {
            tracing::info!("ended {n} process(es) the agent left running");
            Ok(())
        }
        Ok(Err(survivors)) => Err(survivors),
        Err(e) => {
            tracing::error!("containment did not run: {e}");
            Err(process::Survivors { processes: Vec::new(), denied: Vec::new() })
        }
    }
}

/// A stage's error as the run's ending: redacted, and shown in the job log.
fn stage_failed(gha: &Gha, secrets: &[String], stage: Stage, e: &anyhow::Error) -> Ending {
    let failure = Failure::new(stage, FailureKind::of(e), &gha::redact(&format!("{e:#}"), secrets));
    gha.error(&format!("{stage} failed ({}): {}", failure.kind, failure.message));
    Ending::failed(failure)
}

fn cancelled() -> Ending {
    Ending::failed(Failure::new(Stage::Cancel, FailureKind::Cancelled, "the run was cancelled"))
}

/// The agent's turn, and what is left to end (the scratch dir, at least; OpenCode's state and
/// logs, deleted once containment is over). The runtime's processes are stopped by then.
async fn run_agent(
    config: &Config,
    trigger: &Trigger,
    agent: Agent,
    scratch: tempfile::TempDir,
    cancel: &Cancel,
    gha: &Gha,
) -> (Result<Outcome>, Teardown) {
    match agent_turn(config, trigger, agent, scratch.path(), cancel, gha).await {
        Ok(runtime::Finished { outcome, teardown }) => (Ok(outcome), teardown.deleting(scratch)),
        Err(e) => (Err(e), Teardown::default().deleting(scratch)),
    }
}

/// The agent runs on a blocking thread; cancellation reaches it through `cancel`, and we wait
/// (bounded) for it to stop; containment (the caller's) ends whatever it left behind.
async fn agent_turn(
    config: &Config,
    trigger: &Trigger,
    agent: Agent,
    scratch: &std::path::Path,
    cancel: &Cancel,
    gha: &Gha,
) -> Result<runtime::Finished> {
    let request = AgentRequest {
        prompt: agent.prompt,
        workdir: config.github.workspace.clone(),
        title: format!("{}#{}", trigger.repo.full_name(), trigger.number.map_or("dispatch".into(), |n| n.to_string())),
        scratch: scratch.to_path_buf(),
        config: agent.installed.apply(&config.agent),
        untrusted_tree: agent.untrusted_tree,
        progress: agent.progress,
        gha: gha.clone(),
    };
    agent.installed.seed(&runtime::seed_dir(scratch))?;
    let runtime = runtime::for_config(&config.agent);
    let agent_cancel = cancel.clone();
    // The agent's output is untrusted: it must not be able to issue workflow commands.
    let _no_commands = gha.stop_commands();
    let mut handle = tokio::task::spawn_blocking(move || {
        let mut finished = runtime.run(&request, &agent_cancel)?;
        // Stopped on the agent's thread, so that the bound on waiting after cancellation
        // (`STOP_WAIT`) covers the server's stop too.
        finished.teardown.stop();
        Ok::<_, anyhow::Error>(finished)
    });
    let joined = tokio::select! {
        joined = &mut handle => joined,
        _ = cancel.cancelled() => match tokio::time::timeout(STOP_WAIT, &mut handle).await {
            Ok(joined) => joined,
            Err(_) => {
                tracing::warn!("the agent did not stop within {STOP_WAIT:?} of cancellation");
                // Its thread still holds the teardown: it ends the server when the run returns.
                return Ok(runtime::Finished::new(Outcome::cancelled()));
            }
        },
    };
    let mut finished = joined.map_err(|e| anyhow::anyhow!("the agent's thread failed: {e}"))??;
    // A cancelled job is cancelled, whatever the runtime managed to report in between.
    if cancel.is_cancelled() && finished.outcome.status == AgentStatus::Done {
        finished.outcome = Outcome::cancelled();
    }
    Ok(finished)
}

/// `None` when cancelled first.
async fn until_cancelled<T>(cancel: &Cancel, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        value = work => Some(value),
        _ = cancel.cancelled() => None,
    }
}

/// What finishing left for the job summary.
#[derive(Default)]
struct Finished {
    reply_url: Option<String>,
    /// The whole reply, when the posted one had to be shortened.
    full_reply: Option<String>,
}

/// Verdict reaction, label removal, reply. Each step runs even when an earlier one failed.
async fn finish(
    client: &Client,
    config: &Config,
    trigger: &Trigger,
    eyes: Option<&Reaction>,
    (ending, live): (&Ending, &live_comment::Ended),
    started: Instant,
    gha: &Gha,
) -> Finished {
    let repo = &trigger.repo;
    // Our login, from the reactions we already create (`GET /user` is forbidden for the
    // workflow's token): only a comment of that account may be taken for our earlier reply.
    let mut login = eyes.map(|e| e.user.clone());
    if let Some(target) = reaction_target(trigger) {
        let success = ending.failure.is_none();
        let first = config.github.first_attempt();
        let ours = verdict(client, trigger, target, eyes, success, first).await;
        login = login.filter(|l| !l.is_empty()).or(warn_on(gha, "cannot set the final reaction", ours));
    }
    if let Some(number) = trigger.number {
        let removed = client.remove_label(repo, number, &config.label).await;
        warn_on(gha, &format!("cannot remove the `{}` label", config.label), removed);
    }
    if !config.publish.allow_comments {
        return Finished::default();
    }
    let key = report::reply_key(trigger, config.github.run_id.as_deref());
    let run_url = config.github.run_url();
    let agent = format!("{} with {}", config.agent.runtime.name(), config.agent.model);
    let footer = Footer { duration: started.elapsed(), run_url: run_url.as_deref(), key: &key, agent: Some(&agent) };
    let body = match (&ending.failure, &ending.outcome) {
        (None, Some(outcome)) => report::success_reply(outcome, &ending.published.clone().unwrap_or_default(), &footer),
        (Some(failure), _) => {
            // What was done so far: the outcome's todos, else the last list the comment showed.
            let todos = ending.outcome.as_ref().map(|o| o.todos.as_slice()).filter(|t| !t.is_empty());
            let reply = report::failure_reply(failure, ending.published.as_ref(), &footer);
            progress::with_checklist(&reply, todos.unwrap_or(&live.todos))
        }
        (None, None) => return Finished::default(),
    };
    // Redacted before it is cut: a cut through a secret would leave its first part unredacted.
    let body = gha::redact(&body, &config.secrets());
    let capped = report::cap_reply(&body);
    let first = config.github.first_attempt();
    let login = login.filter(|l| !l.is_empty());
    let text = capped.as_deref().unwrap_or(&body);
    let posted = reply(client, trigger, (&key, text), login.as_deref(), first, live).await;
    Finished {
        reply_url: warn_on(gha, "cannot post the reply", posted).flatten(),
        full_reply: capped.is_some().then_some(body),
    }
}

/// 👀 → 👍 or 😕; returns the login GitHub attributes our reactions to. Also clears a verdict
/// or 👀 an earlier run of this event left behind — except on a comment in a run's first
/// attempt: that comment is new, only this event concerns it, so there is nothing earlier to
/// clear. (An issue itself may carry the verdict of another run, so it is always checked.)
async fn verdict(
    client: &Client,
    trigger: &Trigger,
    target: Target,
    eyes: Option<&Reaction>,
    success: bool,
    first_attempt: bool,
) -> Result<String, GithubError> {
    let repo = &trigger.repo;
    if let Some(eyes) = eyes {
        client.delete_reaction(repo, target, eyes.id).await?;
    }
    let (keep, clear) =
        if success { (Content::ThumbsUp, Content::Confused) } else { (Content::Confused, Content::ThumbsUp) };
    let ours = client.add_reaction(repo, target, keep).await?;
    let fresh_comment = first_attempt && !matches!(target, Target::Issue(_));
    if !fresh_comment {
        client.remove_reactions_by(repo, target, clear, &ours.user).await?;
    }
    if eyes.is_none() {
        client.remove_reactions_by(repo, target, Content::Eyes, &ours.user).await?;
    }
    Ok(ours.user)
}

/// Posts the reply, or updates the one an earlier run of this event posted. The key names the
/// comment or the run id, so in a run's first attempt no earlier reply can carry it. Without
/// our login (no reaction succeeded) no earlier comment can be proven ours: a second reply is
/// better than editing someone else's comment.
///
/// The live progress comment, when there is one, becomes the reply; when someone deleted it,
/// the reply is posted anew.
async fn reply(
    client: &Client,
    trigger: &Trigger,
    (key, body): (&str, &str),
    login: Option<&str>,
    first_attempt: bool,
    live: &live_comment::Ended,
) -> Result<Option<String>, GithubError> {
    let Some(number) = trigger.number else { return Ok(None) };
    let repo = &trigger.repo;
    let review = trigger.comment().filter(|c| c.kind == CommentKind::Review);
    let earlier = match (&live.comment, login) {
        (Some(comment), _) => Some(comment.clone()),
        // A create still in flight when the progress task stopped may have posted it.
        (None, Some(login)) if !first_attempt || live.unknown => {
            let kind = if review.is_some() { CommentKind::Review } else { CommentKind::Issue };
            client.find_comment(repo, number, key, login, kind).await?
        }
        _ => None,
    };
    let updated = match earlier {
        Some(earlier) => match client.update_comment(repo, &earlier, body).await {
            Ok(posted) => Some(posted),
            Err(GithubError::NotFound(_)) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let posted = match (updated, review) {
        (Some(posted), _) => posted,
        (None, Some(comment)) => client.reply_to_review_comment(repo, number, comment.id, body).await?,
        (None, None) => client.create_issue_comment(repo, number, body).await?,
    };
    Ok(Some(posted.html_url))
}

fn write_outputs(config: &Config, ending: &Ending, reply_url: Option<&str>) -> Result<()> {
    let published = ending.published.clone().unwrap_or_default();
    let outputs = [
        ("comment-url", reply_url.unwrap_or_default().to_owned()),
        ("session-id", ending.outcome.as_ref().and_then(|o| o.session_id.clone()).unwrap_or_default()),
        ("branch", published.branch.unwrap_or_default()),
        ("pr-url", published.pr_url.unwrap_or_default()),
        ("pr-number", published.pr_number.map(|n| n.to_string()).unwrap_or_default()),
        ("commit-sha", published.commit_sha.unwrap_or_default()),
    ];
    for (name, value) in outputs {
        gha::set_output(config.github.output.as_deref(), name, &value)?;
    }
    Ok(())
}

fn warn_on<T>(gha: &Gha, what: &str, result: Result<T, GithubError>) -> Option<T> {
    result.map_err(|e| gha.warning(&format!("{what}: {e}"))).ok()
}
