//! The pull request side of publishing, against the fake GitHub over real HTTP and a real
//! git origin: a new branch gets one PR with the right base, head and body; a re-run updates it
//! instead of opening another; a refusal falls back to a compare link with the branch pushed.

use crate::support::fake_github;
use crate::support::git_repo;
use crate::support::publish_inputs;

use fake_github::FakeGithub;
use git_repo::Repos;
use publish_inputs::{TOKEN, outcome};
use sisyphus_action::config::Config;
use sisyphus_action::context::from_payload;
use sisyphus_action::event::Trigger;
use sisyphus_action::github::Client;
use sisyphus_action::plan;
use sisyphus_action::publish::{self, PublishInput, Published};
use sisyphus_action::sanitize::sanitize;

const REPO: &str = "owner/repo";

struct World {
    repos: Repos,
    gh: FakeGithub,
    config: Config,
    trigger: Trigger,
}

impl World {
    /// Issue #5 on the fake GitHub and a fresh git origin.
    fn new() -> Self {
        let repos = Repos::new("main");
        let gh = FakeGithub::start();
        gh.seed_issue(REPO, 5, "The answer is off by one", "It says 41.", false);
        gh.expect_token(TOKEN);
        let mut config = publish_inputs::config(&repos.server());
        config.github.api_url = gh.api_url();
        config.github.graphql_url = gh.graphql_url();
        let mut trigger = publish_inputs::issue(5, "The answer is off by one");
        trigger.thread.body = "It says 41.".into();
        Self { repos, gh, config, trigger }
    }

    /// Plans, prepares, writes `files` as the agent would, publishes with a real client.
    fn run(&self, request: &str, files: &[(&str, &str)]) -> Published {
        let thread = from_payload(&self.trigger);
        let plan = plan::plan(&self.trigger, &thread, &self.config);
        let prepared = publish::prepare(&plan, &self.repos.work, &self.config).unwrap();
        for (path, content) in files {
            self.repos.write(path, content);
        }
        let outcome = outcome("Changed the answer to 42.");
        let input = PublishInput {
            config: &self.config,
            trigger: &self.trigger,
            thread: &thread,
            request: &sanitize(request),
            outcome: &outcome,
            workdir: &self.repos.work,
            prepared: &prepared,
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let client = Client::new(&self.config.github, TOKEN).unwrap();
            publish::publish(Some(&client), &plan, &input).await.unwrap()
        })
    }
}

const BRANCH: &str = "sisyphus/issue-5-the-answer-is-off-by-one";
const FIXED: &str = "pub fn answer() -> u32 {\n    42\n}\n";

#[test]
fn a_new_branch_gets_a_pr_with_the_right_base_head_and_body() {
    let mut world = World::new();
    world.config.publish.draft_pr = true;
    let published = world.run("fix the answer", &[("src/lib.rs", FIXED)]);

    let pulls = world.gh.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let pr = &pulls[0];
    assert_eq!(pr.head, format!("owner:{BRANCH}"));
    assert_eq!(pr.base, "main");
    assert_eq!(pr.title, "Fix the answer");
    assert!(pr.draft);
    for part in [
        "Changed the answer to 42.",
        "- [x] fix the answer",
        "- `src/lib.rs`",
        "Closes #5",
        "actions/runs/4242",
        "<!-- sisyphus-action -->",
    ] {
        assert!(pr.body.contains(part), "PR body lacks {part:?}:\n{}", pr.body);
    }
    assert_eq!(published.pr_number, Some(pr.number));
    assert_eq!(published.pr_url.as_deref(), Some(format!("https://github.com/{REPO}/pull/{}", pr.number).as_str()));
    assert_eq!(published.compare_url, None);
    assert_eq!(published.branch.as_deref(), Some(BRANCH));
    assert!(world.gh.violations().is_empty(), "{:?}", world.gh.violations());
    assert!(!pr.body.contains(TOKEN));
}

/// The request is anyone's words: as the PR title and the commit subject it pings nobody,
/// closes nothing, shows no hidden text and no secret, and stays one line.
#[test]
fn a_hostile_request_makes_an_inert_pr_title_and_commit_subject() {
    let world = World::new();
    let hostile = format!("@alice closes #9 <!-- obey me --> with {TOKEN}\nCo-authored-by: Mallory <m@x.y>");
    world.run(&hostile, &[("src/lib.rs", FIXED)]);

    let pulls = world.gh.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let title = &pulls[0].title;
    assert_eq!(title, "`@alice` closes `#9` with ***", "{title}");
    let message = world.repos.remote_message(BRANCH);
    let subject = message.lines().next().unwrap_or_default();
    assert_eq!(subject, title, "the commit subject is the PR title:\n{message}");
    assert!(!message.contains("Mallory") && !message.contains(TOKEN), "{message}");
}

#[test]
fn a_rerun_updates_the_existing_pr_instead_of_opening_another() {
    let world = World::new();
    let first = world.run("fix the answer", &[("src/lib.rs", FIXED)]);
    // A fresh checkout of the default branch, as the next workflow run would have.
    git_repo::git(&world.repos.work, &["checkout", "--quiet", "--force", "main"]);
    git_repo::git(&world.repos.work, &["clean", "--quiet", "-fd"]);
    let second = world.run("also document it", &[("NOTES.md", "42 now\n")]);

    let pulls = world.gh.pulls();
    assert_eq!(pulls.len(), 1, "no second PR: {pulls:?}");
    assert_eq!(second.pr_number, first.pr_number);
    assert_eq!(pulls[0].title, "Also document it", "the PR follows the latest request");
    assert!(pulls[0].body.contains("- `NOTES.md`") && pulls[0].body.contains("- `src/lib.rs`"), "{}", pulls[0].body);
    let patches = world.gh.request_lines().iter().filter(|l| l.starts_with("PATCH ")).count();
    assert_eq!(patches, 1, "{:?}", world.gh.request_lines());
    assert!(world.gh.violations().is_empty(), "{:?}", world.gh.violations());
}

#[test]
fn a_refused_pr_falls_back_to_a_compare_link_with_the_branch_pushed() {
    let world = World::new();
    world.gh.forbid_pull_creation();
    let published = world.run("fix the answer", &[("src/lib.rs", FIXED)]);

    assert!(world.gh.pulls().is_empty());
    assert_eq!(published.pr_url, None);
    let compare = published.compare_url.clone().unwrap();
    assert!(compare.ends_with(&format!("/{REPO}/compare/main...{BRANCH}?expand=1")), "{compare}");
    assert_eq!(published.branch.as_deref(), Some(BRANCH));
    assert_eq!(world.repos.remote_file(BRANCH, "src/lib.rs").as_deref(), Some(FIXED), "nothing is lost");
    assert!(published.notes.iter().any(|n| n.contains("does not allow Actions")), "{:?}", published.notes);
}

#[test]
fn allow_pr_off_pushes_but_asks_nothing_of_github() {
    let mut world = World::new();
    world.config.publish.allow_pr = false;
    let published = world.run("fix the answer", &[("src/lib.rs", FIXED)]);
    assert!(world.gh.requests().is_empty(), "{:?}", world.gh.request_lines());
    assert_eq!(published.branch.as_deref(), Some(BRANCH));
    assert!(published.compare_url.is_some());
    assert!(published.notes.iter().any(|n| n.contains("allow-pr")), "{:?}", published.notes);
}

#[test]
fn no_changes_means_no_pr() {
    let world = World::new();
    let published = world.run("fix the answer", &[]);
    assert!(world.gh.requests().is_empty(), "{:?}", world.gh.request_lines());
    assert_eq!(published.pr_url, None);
    assert_eq!(published.compare_url, None);
}
