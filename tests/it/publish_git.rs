//! Publishing against real git: a working clone whose `origin` is a local bare repository.
//! Each test plans, prepares, lets a stand-in "agent" edit files, publishes, and then looks at
//! what the bare repository received.

use crate::support::git_repo;

use crate::support::publish_inputs;

use git_repo::{Repos, git};
use publish_inputs::{TOKEN, issue, outcome};
use sisyphus_action::config::Config;
use sisyphus_action::context::{PullContext, Thread, from_payload};
use sisyphus_action::event::{PullInfo, Subject, Trigger};
use sisyphus_action::plan::{self, Plan};
use sisyphus_action::publish::{self, Prepared, PublishInput, Published};
use sisyphus_action::sanitize::sanitize;

fn config(repos: &Repos) -> Config {
    publish_inputs::config(&repos.server())
}

/// An `issue_comment` on a PR: the payload has no branch, the context stage fills it in.
fn pull_thread(number: u64, info: PullInfo) -> (Trigger, Thread) {
    let mut trigger = issue(number, "Improve the answer");
    trigger.thread.is_pull_request = true;
    let mut thread = from_payload(&trigger);
    thread.pull = Some(PullContext { info, files: vec![], reviews: vec![] });
    (trigger, thread)
}

fn pull_info(head_ref: &str, head_repo: &str, is_fork: bool) -> PullInfo {
    PullInfo {
        head_ref: head_ref.into(),
        head_sha: String::new(),
        base_ref: "main".into(),
        head_repo: Some(head_repo.into()),
        is_fork,
        maintainer_can_modify: true,
        draft: false,
    }
}

/// One run: the repositories, the inputs, and the plan made from them.
struct Setup {
    repos: Repos,
    config: Config,
    trigger: Trigger,
    thread: Thread,
    plan: Plan,
    /// What the last `prepare` returned.
    prepared: std::cell::RefCell<Prepared>,
}

impl Setup {
    fn new(repos: Repos, config: Config, trigger: Trigger, thread: Thread) -> Self {
        let plan = plan::plan(&trigger, &thread, &config);
        Self { repos, config, trigger, thread, plan, prepared: Default::default() }
    }

    /// An issue thread on a fresh origin, default config.
    fn issue(number: u64, title: &str) -> Self {
        let repos = Repos::new("main");
        let config = config(&repos);
        let trigger = issue(number, title);
        let thread = from_payload(&trigger);
        Self::new(repos, config, trigger, thread)
    }

    /// A PR thread on `repos`, default config.
    fn pull(repos: Repos, number: u64, info: PullInfo) -> Self {
        let config = config(&repos);
        let (trigger, thread) = pull_thread(number, info);
        Self::new(repos, config, trigger, thread)
    }

    fn prepare(&self) {
        *self.prepared.borrow_mut() = publish::prepare(&self.plan, &self.repos.work, &self.config).unwrap();
    }

    fn publish(&self) -> Published {
        self.try_publish().unwrap()
    }

    fn try_publish(&self) -> anyhow::Result<Published> {
        self.publish_plan(&self.plan)
    }

    fn publish_plan(&self, plan: &Plan) -> anyhow::Result<Published> {
        let outcome = outcome("Changed the answer to 42.");
        let input = PublishInput {
            config: &self.config,
            trigger: &self.trigger,
            thread: &self.thread,
            request: &sanitize("fix the answer"),
            outcome: &outcome,
            workdir: &self.repos.work,
            prepared: &self.prepared.borrow(),
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(publish::publish(None, plan, &input))
    }
}

const FIXED: &str = "pub fn answer() -> u32 {\n    42\n}\n";

#[test]
fn issue_work_goes_to_a_new_branch_and_the_default_branch_is_untouched() {
    let run = Setup::issue(5, "The answer is off by one!");
    let repos = &run.repos;
    let main_before = repos.remote_sha("main").unwrap();
    let branch = "sisyphus/issue-5-the-answer-is-off-by-one";
    assert_eq!(run.plan, Plan::NewBranch { branch: branch.into(), base: "main".into() });
    run.prepare();
    assert_eq!(git(&repos.work, &["branch", "--show-current"]), branch);

    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    assert_eq!(published.branch.as_deref(), Some(branch));
    assert_eq!(published.files, vec!["src/lib.rs".to_owned()]);
    assert_eq!(published.commit_sha, repos.remote_sha(branch), "the pushed tip is our commit");
    assert_eq!(repos.remote_file(branch, "src/lib.rs").as_deref(), Some(FIXED));
    assert_eq!(repos.remote_sha("main").unwrap(), main_before, "main never moves");

    let message = repos.remote_message(branch);
    assert!(message.starts_with("Fix the answer\n\nChanged the answer to 42.\n"), "{message}");
    assert!(message.contains("Requested in owner/repo#5."), "{message}");
    assert!(message.contains("Co-authored-by: octocat <octocat@users.noreply.github.com>"), "{message}");
    let author = git(&repos.origin, &["log", "-1", "--format=%an <%ae>|%cn", &format!("refs/heads/{branch}")]);
    assert_eq!(author, "sisyphus-dev-ai <sisyphus-dev-ai@users.noreply.github.com>|sisyphus-dev-ai");

    // No client: the PR cannot be opened, the compare link stands in for it.
    assert_eq!(published.pr_url, None);
    let compare = published.compare_url.unwrap();
    assert!(compare.ends_with(&format!("/owner/repo/compare/main...{branch}?expand=1")), "{compare}");
    assert!(published.notes.iter().any(|n| n.contains("no GitHub token")), "{:?}", published.notes);
    repos.assert_token_absent(TOKEN);
}

#[test]
fn a_rerun_continues_the_branch_it_pushed_before() {
    let run = Setup::issue(6, "Answer");
    let repos = &run.repos;
    run.prepare();
    repos.write("src/lib.rs", FIXED);
    let first = run.publish();

    // A fresh checkout of the default branch, as the next workflow run would have (publishing
    // leaves the work tree as the agent left it).
    git(&repos.work, &["checkout", "--quiet", "--force", "main"]);
    git(&repos.work, &["clean", "--quiet", "-fd"]);
    run.prepare();
    assert_eq!(std::fs::read_to_string(repos.work.join("src/lib.rs")).unwrap(), FIXED, "continues the branch");
    repos.write("NOTES.md", "more\n");
    let second = run.publish();
    let parent = git(&repos.origin, &["rev-parse", "refs/heads/sisyphus/issue-6-answer~1"]);
    assert_eq!(Some(parent), first.commit_sha, "the second run builds on the first, no force-push");
    assert_eq!(second.files, vec!["NOTES.md".to_owned()]);
}

#[test]
fn same_repo_pr_commits_land_on_its_head_branch_only() {
    let repos = Repos::new("main");
    let head_before = repos.push_branch("feature/answer", "main", &[("NOTES.md", "wip\n")]);
    let refs_before = repos.remote_refs();
    let run = Setup::pull(repos, 9, pull_info("feature/answer", "owner/repo", false));
    let repos = &run.repos;
    assert_eq!(run.plan, Plan::PullHead { branch: "feature/answer".into(), head_sha: None });
    // issue_comment runs check out the default branch: prepare must fetch the head.
    assert_eq!(git(&repos.work, &["branch", "--show-current"]), "main");
    run.prepare();
    assert_eq!(git(&repos.work, &["rev-parse", "HEAD"]), head_before);

    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    let head_after = repos.remote_sha("feature/answer").unwrap();
    assert_eq!(published.commit_sha.as_deref(), Some(head_after.as_str()));
    assert_eq!(git(&repos.origin, &["rev-parse", &format!("{head_after}~1")]), head_before);
    assert_eq!(repos.remote_file("feature/answer", "NOTES.md").as_deref(), Some("wip\n"));
    // Only the head ref moved.
    let changed: Vec<_> =
        repos.remote_refs().lines().filter(|l| !refs_before.lines().any(|b| b == *l)).map(str::to_owned).collect();
    assert_eq!(changed, vec![format!("refs/heads/feature/answer {head_after}")]);
    assert_eq!(published.pr_number, Some(9));
    assert_eq!(published.compare_url, None, "a PR thread needs no new PR");
    repos.assert_token_absent(TOKEN);
}

#[test]
fn fork_pr_pushes_nothing_and_says_why() {
    let run = Setup::pull(Repos::new("main"), 11, pull_info("patch-1", "stranger/repo", true));
    let repos = &run.repos;
    let refs_before = repos.remote_refs();
    let Plan::ReadOnly { reason } = &run.plan else { panic!("fork PR must be read-only, got {:?}", run.plan) };
    assert!(reason.contains("fork `stranger/repo`"), "{reason}");
    run.prepare();
    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    assert_eq!(repos.remote_refs(), refs_before, "nothing pushed anywhere");
    assert_eq!(published.branch, None);
    assert_eq!(published.commit_sha, None);
    assert!(published.notes.iter().any(|n| n.contains("fork")), "{:?}", published.notes);
    assert!(published.notes.iter().any(|n| n.contains("stays in the runner's work tree")), "{:?}", published.notes);
}

#[test]
fn fork_pr_with_maintainer_edits_allowed_pushes_to_the_fork_only() {
    let repos = Repos::new("main");
    // The fork lives next to origin under the fake server dir: `{server}/stranger/repo.git`.
    let fork = repos.server().join("stranger/repo.git");
    git(repos.root.path(), &["clone", "--quiet", "--bare", repos.origin.to_str().unwrap(), fork.to_str().unwrap()]);
    let refs_before = repos.remote_refs();
    let mut config = config(&repos);
    config.publish.allow_fork_push = true;
    let (trigger, thread) = pull_thread(12, pull_info("main", "stranger/repo", true));
    let run = Setup::new(repos, config, trigger, thread);
    let repos = &run.repos;

    assert_eq!(run.plan, Plan::ForkHead { repo: "stranger/repo".into(), branch: "main".into(), head_sha: None });
    run.prepare();
    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    assert_eq!(repos.remote_refs(), refs_before, "origin untouched");
    let fork_tip = git(&fork, &["rev-parse", "refs/heads/main"]);
    assert_eq!(published.commit_sha.as_deref(), Some(fork_tip.as_str()));
    let local_main = git(&repos.work, &["rev-parse", "refs/heads/main"]);
    assert_eq!(local_main, repos.remote_sha("main").unwrap(), "our own main is never moved");
}

#[test]
fn leftovers_on_the_default_branch_never_reach_it() {
    let run = Setup::issue(13, "Leftovers");
    let repos = &run.repos;
    let main_before = repos.remote_sha("main").unwrap();
    // An earlier workflow step left an edit and a new file in the default branch's work tree.
    repos.write("README.md", "# repo\nedited by a setup step\n");
    repos.write("build.log", "compiled\n");

    run.prepare();
    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    assert_eq!(repos.remote_sha("main").unwrap(), main_before);
    let branch = published.branch.unwrap();
    assert_ne!(branch, "main");
    assert_eq!(repos.remote_file(&branch, "build.log").as_deref(), Some("compiled\n"), "leftovers go to our branch");
}

#[test]
fn an_agent_that_switches_back_to_the_default_branch_still_only_reaches_the_planned_one() {
    let run = Setup::issue(14, "Sneaky");
    let repos = &run.repos;
    let main_before = repos.remote_sha("main").unwrap();
    run.prepare();
    git(&repos.work, &["checkout", "--quiet", "main"]);
    repos.write("src/lib.rs", FIXED);

    // The work tree's branch is the agent's to move; what we push, and where, is not.
    let published = run.try_publish().unwrap();
    assert_eq!(repos.remote_sha("main").unwrap(), main_before);
    assert_eq!(published.branch.as_deref(), Some("sisyphus/issue-14-sneaky"));
    assert_eq!(repos.remote_file("sisyphus/issue-14-sneaky", "src/lib.rs").as_deref(), Some(FIXED));
}

#[test]
fn agent_commits_are_folded_into_one_guarded_commit() {
    let run = Setup::issue(15, "Commits");
    let repos = &run.repos;
    run.prepare();
    // The agent commits a secret and a fix, despite being told not to commit.
    repos.write(".env", "SECRET=1\n");
    repos.write("src/lib.rs", FIXED);
    git(&repos.work, &["add", "--all"]);
    git(&repos.work, &["commit", "--quiet", "-m", "agent commit"]);

    let published = run.publish();
    let branch = published.branch.clone().unwrap();
    assert_eq!(repos.remote_file(&branch, ".env"), None, "the secret never reaches the remote");
    assert_eq!(repos.remote_file(&branch, "src/lib.rs").as_deref(), Some(FIXED));
    let count = git(&repos.origin, &["rev-list", "--count", &format!("refs/heads/main..refs/heads/{branch}")]);
    assert_eq!(count, "1", "the agent's commits are folded into our one commit");
}

#[test]
fn a_pr_whose_head_is_the_default_branch_is_read_only() {
    let run = Setup::pull(Repos::new("main"), 16, pull_info("main", "owner/repo", false));
    let repos = &run.repos;
    let Plan::ReadOnly { reason } = &run.plan else { panic!("{:?}", run.plan) };
    assert!(reason.contains("default branch"), "{reason}");
    // And publish refuses a hand-made plan that targets the default branch.
    let before = repos.remote_refs();
    repos.write("src/lib.rs", FIXED);
    let published = run.publish_plan(&Plan::PullHead { branch: "main".into(), head_sha: None }).unwrap();
    assert_eq!(repos.remote_refs(), before);
    assert!(published.notes.iter().any(|n| n.contains("default branch")), "{:?}", published.notes);
}

#[test]
fn a_protected_branch_refusal_is_reported_not_forced() {
    let repos = Repos::new("main");
    let head_before = repos.push_branch("release", "main", &[("NOTES.md", "release\n")]);
    // GitHub's refusal, as a pre-receive hook prints it.
    let hook = repos.origin.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'remote: error: GH006: Protected branch update failed for refs/heads/release.' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let run = Setup::pull(repos, 17, pull_info("release", "owner/repo", false));
    let repos = &run.repos;
    run.prepare();
    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    assert_eq!(repos.remote_sha("release").unwrap(), head_before);
    assert_eq!(published.branch, None);
    assert_eq!(published.commit_sha, None);
    assert!(published.notes.iter().any(|n| n.contains("protected branch")), "{:?}", published.notes);
}

#[test]
fn secret_files_and_tokens_in_diffs_are_withheld_with_reasons() {
    let run = Setup::issue(18, "Secrets");
    let repos = &run.repos;
    run.prepare();

    let github_token = format!("ghp_{}", "Ab3x".repeat(9));
    repos.write(".env", "API_KEY=abc\n");
    repos.write("gha-creds-1f2e3d.json", "{}\n");
    repos.write("keys/deploy.pem", "not really a key\n");
    repos.write("src/config.rs", &format!("const TOKEN: &str = \"{github_token}\";\n"));
    repos.write("src/leak.txt", &format!("token={TOKEN}\n"));
    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    let branch = published.branch.clone().unwrap();
    assert_eq!(published.files, vec!["src/lib.rs".to_owned()]);
    let withheld: Vec<&str> = published.withheld.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(withheld, [".env", "gha-creds-1f2e3d.json", "keys/deploy.pem", "src/config.rs", "src/leak.txt"]);
    let reason = |p: &str| published.withheld.iter().find(|(f, _)| f == p).unwrap().1.clone();
    assert!(reason("src/config.rs").contains("GitHub token"), "{}", reason("src/config.rs"));
    assert!(reason("src/leak.txt").contains("secrets"), "{}", reason("src/leak.txt"));
    for path in withheld {
        assert_eq!(repos.remote_file(&branch, path), None, "{path} must not be pushed");
    }
    let notes = published.notes.join("\n");
    assert!(notes.contains("5 file(s) were left out"), "{notes}");
    assert!(!notes.contains(&github_token) && !notes.contains(TOKEN), "notes never quote a secret");
    // The withheld files are still in the work tree, uncommitted, for a human to look at.
    assert!(git(&repos.work, &["status", "--porcelain"]).contains(".env"));
    repos.assert_token_absent(TOKEN);
}

#[test]
fn workflow_changes_are_withheld_unless_the_token_may_push_them() {
    for allowed in [false, true] {
        let mut run = Setup::issue(19, "Workflows");
        run.config.publish.allow_workflow_changes = allowed;
        let repos = &run.repos;
        run.prepare();
        repos.write(".github/workflows/ci.yml", "on: push\n");
        repos.write("src/lib.rs", FIXED);
        let published = run.publish();
        let branch = published.branch.clone().unwrap();
        let pushed = repos.remote_file(&branch, ".github/workflows/ci.yml").is_some();
        assert_eq!(pushed, allowed);
        if !allowed {
            let (path, reason) = &published.withheld[0];
            assert_eq!(path, ".github/workflows/ci.yml");
            assert!(reason.contains("workflows"), "{reason}");
        }
    }
}

#[test]
fn no_changes_means_no_commit_and_no_branch() {
    let run = Setup::issue(20, "Nothing");
    let repos = &run.repos;
    let refs_before = repos.remote_refs();
    run.prepare();
    let head = git(&repos.work, &["rev-parse", "HEAD"]);
    let published = run.publish();

    assert_eq!(git(&repos.work, &["rev-parse", "HEAD"]), head, "no commit");
    assert_eq!(repos.remote_refs(), refs_before, "no branch pushed");
    assert_eq!(published.branch, None);
    assert_eq!(published.compare_url, None);
    assert!(published.notes.iter().any(|n| n.contains("no changes")), "{:?}", published.notes);
}

#[test]
fn allow_push_off_plans_read_only() {
    let mut run = Setup::issue(21, "Off");
    run.config.publish.allow_push = false;
    let plan = plan::plan(&run.trigger, &run.thread, &run.config);
    assert_eq!(plan, Plan::ReadOnly { reason: "the `allow-push` input is off".into() });
}

#[test]
fn dispatch_without_a_number_gets_a_task_branch() {
    let mut run = Setup::issue(1, "");
    run.trigger.number = None;
    run.trigger.subject = Subject::Dispatch { prompt: "Update the docs for the new CLI flags".into() };
    let thread = from_payload(&run.trigger);
    let plan = plan::plan(&run.trigger, &thread, &run.config);
    assert_eq!(
        plan,
        Plan::NewBranch { branch: "sisyphus/task-4242-update-the-docs-for-the-new".into(), base: "main".into() }
    );
}

#[test]
fn a_pr_head_is_pinned_to_the_commit_the_context_saw() {
    let repos = Repos::new("main");
    let seen = repos.push_branch("feature/pin", "main", &[("NOTES.md", "reviewed\n")]);
    // Pushed after the trigger (by the PR's author, say): the agent must not work on it.
    let later = repos.root.path().join("later");
    git(
        repos.root.path(),
        &["clone", "--quiet", "--branch", "feature/pin", repos.origin.to_str().unwrap(), later.to_str().unwrap()],
    );
    git_repo::write(&later, "NOTES.md", "swapped after review\n");
    git(&later, &["commit", "--quiet", "-am", "later"]);
    git(&later, &["push", "--quiet", "origin", "HEAD:refs/heads/feature/pin"]);
    let moved = repos.remote_sha("feature/pin").unwrap();

    let mut info = pull_info("feature/pin", "owner/repo", false);
    info.head_sha = seen.clone();
    let run = Setup::pull(repos, 22, info);
    let repos = &run.repos;
    run.prepare();
    assert_eq!(git(&repos.work, &["rev-parse", "HEAD"]), seen, "the work tree is the head the context saw");
    assert_eq!(std::fs::read_to_string(repos.work.join("NOTES.md")).unwrap(), "reviewed\n");

    repos.write("src/lib.rs", FIXED);
    let published = run.publish();
    // Our commit builds on the pinned head, so it cannot replace what was pushed since.
    assert_eq!(repos.remote_sha("feature/pin").unwrap(), moved);
    assert_eq!(published.commit_sha, None);
    assert!(published.notes.iter().any(|n| n.contains("moved on the remote")), "{:?}", published.notes);
}

#[test]
fn agent_state_alone_publishes_nothing_and_says_no_changes() {
    let run = Setup::issue(22, "Only state");
    let repos = &run.repos;
    let refs_before = repos.remote_refs();
    run.prepare();
    repos.write(".omo/run-continuation/ses_1.json", "{\"background-task\":\"active\"}\n");
    repos.write(".sisyphus/plans/fix.md", "# plan\n");
    repos.write(".codegraph/index.db", "graph\n");
    let published = run.publish();

    assert_eq!(repos.remote_refs(), refs_before, "no branch pushed");
    assert_eq!(published.files, Vec::<String>::new());
    assert_eq!(published.withheld, vec![], "agent state is not news, not a withheld file");
    assert!(published.notes.iter().any(|n| n.contains("no changes")), "{:?}", published.notes);
    // The agent's own `git status` does not show it either.
    assert_eq!(git(&repos.work, &["status", "--porcelain", "--untracked-files=all"]), "");
}

#[test]
fn agent_configuration_its_tooling_deleted_is_restored_and_agent_state_left_out() {
    let repos = Repos::new("main");
    repos.push_branch(
        "main",
        "main",
        &[(".opencode/oh-my-opencode.json", "{\"agents\":{}}\n"), (".omo/keep.json", "1\n")],
    );
    let config = config(&repos);
    let trigger = issue(23, "Fix with a committed plugin config");
    let thread = from_payload(&trigger);
    let run = Setup::new(repos, config, trigger, thread);
    let repos = &run.repos;
    git(&repos.work, &["pull", "--quiet", "origin", "main"]);
    run.prepare();
    // What oh-my-opencode does at startup: the committed config is migrated away, its state written.
    std::fs::remove_file(repos.work.join(".opencode/oh-my-opencode.json")).unwrap();
    repos.write(".omo/keep.json", "2\n");
    repos.write(".omo/run-continuation/ses_1.json", "{}\n");
    repos.write("src/lib.rs", FIXED);
    let published = run.publish();

    let branch = published.branch.clone().unwrap();
    assert_eq!(published.files, vec!["src/lib.rs".to_owned()], "only the fix is published");
    assert_eq!(published.withheld, vec![]);
    assert_eq!(repos.remote_file(&branch, ".opencode/oh-my-opencode.json").as_deref(), Some("{\"agents\":{}}\n"));
    assert_eq!(repos.remote_file(&branch, ".omo/keep.json").as_deref(), Some("1\n"), "tracked state untouched");
    assert_eq!(repos.remote_file(&branch, ".omo/run-continuation/ses_1.json"), None);
}
