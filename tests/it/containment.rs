//! Containment, end to end: an agent that leaves processes behind — a new session (`setsid`),
//! a double fork, a `nohup` child, all ignoring SIGTERM and scanning every readable
//! `/proc/*/environ` and `cmdline` for the token — through the binary with the `command`
//! runtime and with the real `opencode serve` (a bash tool call, which OpenCode runs in a
//! detached session of its own). After the binary exits none of them may be alive, the scans
//! must not hold the token (raw or as the `x-access-token:` basic header), and the run still
//! published.
//!
//! The binary runs as `nobody`, as the agent would on a runner: root reads every process's
//! environment, so as root the scan would prove nothing. Everything `nobody` needs (the binary,
//! the payload, the repositories) is inside the test's own temp dir, so the test does not
//! depend on where the repository was cloned. Without root the tests skip.

use crate::support::e2e;
use crate::support::opencode;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::*;
use opencode::{Slot, opencode_bin};

/// base64 of `x-access-token:<TOKEN>`: the header git sends (and checkout persists).
const BASIC: &str = "eC1hY2Nlc3MtdG9rZW46Z2hzX2UyZVNjZW5hcmlvVG9rZW4wMTIzNDU2Nzg5";

/// The unprivileged user the binary (and so its agent) runs as.
const NOBODY: &str = "65534";

/// Watchers the agent leaves behind, by the name each writes its pid under.
const WATCHERS: [&str; 3] = ["setsid", "double", "nohup"];

/// One watcher: records its pid, ignores SIGTERM and SIGHUP, and keeps scanning what it can
/// read of every process, appending anything that looks like a credential.
const SCAN: &str = r#"name=$1; D=$(dirname "$0")
trap '' TERM HUP
echo $$ > "$D/$name.pid"
while :; do
  grep -a -h -o -i -e 'authorization: basic [A-Za-z0-9+/=]*' -e 'ghs_[A-Za-z0-9]*' -e 'x-access-token[^[:cntrl:]]*' \
    /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null >> "$D/scan.$name"
  echo pass > "$D/alive.$name"
  sleep 0.02
done
"#;

/// Starts the three watchers, detached in three ways, and waits (bounded) for each one's first
/// whole scan: on a loaded machine one pass over every process takes seconds, and a watcher
/// ended before its first pass would prove nothing (and fail `assert_contained`).
fn launcher(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"D={d}
setsid sh "$D/scan.sh" setsid </dev/null >/dev/null 2>&1 &
( sh "$D/scan.sh" double </dev/null >/dev/null 2>&1 & )
nohup sh "$D/scan.sh" nohup </dev/null >/dev/null 2>&1 &
i=0
while [ $i -lt 1200 ] && ! {{ [ -s "$D/alive.setsid" ] && [ -s "$D/alive.double" ] && [ -s "$D/alive.nohup" ]; }}; do
  sleep 0.05; i=$((i+1))
done
"#
    )
}

/// One scenario at a time: a watcher of one test would otherwise read the token from another
/// test's authenticated git (all run as `nobody` with the same token). On a runner, one job
/// runs at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn write_exec(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Whether `nobody` can run `path` where it is.
fn nobody_can_run(path: &Path) -> bool {
    Command::new("setpriv")
        .args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), "--clear-groups", "--", "test", "-x"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// `run` as `nobody`, with the binary copied into the scenario's own temp dir, which `nobody`
/// then owns.
fn as_nobody(sc: &Scenario, mut run: Run) -> Run {
    run.as_user(NOBODY, &sc.path("bin/sisyphus-action"));
    let chowned = Command::new("chown").args(["-R", &format!("{NOBODY}:{NOBODY}")]).arg(sc.repos.root.path()).status();
    assert!(chowned.unwrap().success());
    run
}

/// Runs the binary as `nobody`, then gives the temp dir back to us (git refuses to read a
/// repository another user owns).
fn run_as_nobody(sc: &Scenario, inner: Run) -> Ran {
    let run = as_nobody(sc, inner).finish();
    let chowned = Command::new("chown").args(["-R", "0:0"]).arg(sc.repos.root.path()).status();
    assert!(chowned.unwrap().success());
    run
}

/// The attack's files: the watcher script, in a dir of its own outside the work tree.
fn attack_dir(sc: &Scenario) -> PathBuf {
    let dir = sc.path("attack");
    write_exec(&dir.join("scan.sh"), SCAN);
    dir
}

/// Issue #1 with the mentioning comment, for a `command` agent; `None` (skip) without root.
fn command_scenario() -> Option<(Scenario, PathBuf)> {
    if !is_root() {
        eprintln!("SKIPPED: needs root to switch to an unprivileged user");
        return None;
    }
    // The OpenCode path is never used by the `command` runtime.
    let sc = Scenario::new(PathBuf::from("/nonexistent/opencode"));
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai fix it", "Codertocat");
    let dir = attack_dir(&sc);
    Some((sc, dir))
}

/// The binary's command with `script` as the `command` runtime's agent.
fn command_agent(sc: &Scenario, dir: &Path, script: &str) -> Run {
    let agent = dir.join("agent.sh");
    write_exec(&agent, script);
    let mut inner =
        sc.command("issue_comment", &issue_comment("@sisyphus-dev-ai fix it", "Codertocat", "OWNER", false));
    inner.env("INPUT_RUNTIME", "command").env("INPUT_AGENT_COMMAND", format!("sh {}", agent.display()));
    // No OpenCode here: the preflight refuses an explicit `opencode-path` that does not exist.
    inner.env_remove("INPUT_OPENCODE_PATH");
    inner
}

/// After the run: each watcher ran (its pid and a scan pass are on disk), none is alive, and
/// no scan holds the token in any form.
fn assert_contained(dir: &Path, run: &Ran) {
    assert_eq!(TOKEN, "ghs_e2eScenarioToken0123456789", "update BASIC with the token");
    let basic = BASIC;
    for name in WATCHERS {
        let pid = std::fs::read_to_string(dir.join(format!("{name}.pid")))
            .unwrap_or_else(|_| panic!("the {name} watcher never started\n{}", run.logs()));
        let pid = pid.trim();
        assert!(dir.join(format!("alive.{name}")).exists(), "the {name} watcher never scanned");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = !stat.is_empty() && !stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if alive {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
        assert!(!alive, "the {name} watcher ({pid}) outlived the run: {stat}\n{}", run.logs());
        let scan = std::fs::read_to_string(dir.join(format!("scan.{name}"))).unwrap_or_default();
        assert!(!scan.contains(TOKEN) && !scan.contains(basic), "the {name} watcher read the token:\n{scan}");
    }
}

#[test]
fn command_runtime_survivors_are_ended_before_publishing() {
    let _serial = one_at_a_time();
    let Some((sc, dir)) = command_scenario() else { return };
    let script = format!("{}echo fixed > fixed.txt\necho\necho Started the watchers.\n", launcher(&dir));
    let run = run_as_nobody(&sc, command_agent(&sc, &dir, &script));
    assert_eq!(run.code, 0, "{}", run.logs());
    assert_contained(&dir, &run);
    assert!(
        run.logs().contains("ended ") && run.logs().contains("process(es) the agent left running"),
        "{}",
        run.logs()
    );
    let pulls = sc.gh.pulls();
    assert_eq!(pulls.len(), 1, "the run did not publish:\n{}", run.logs());
    let branch = pulls[0].head.split_once(':').map_or(pulls[0].head.clone(), |(_, b)| b.to_owned());
    assert_eq!(sc.repos.remote_file(&branch, "fixed.txt").as_deref(), Some("fixed\n"));
    sc.assert_hygiene(&run);
}

#[test]
fn opencode_detached_bash_survivors_are_ended_before_publishing() {
    if !is_root() {
        eprintln!("SKIPPED: needs root to switch to an unprivileged user");
        return;
    }
    let Some(bin) = opencode_bin() else { return };
    let _slot = Slot::take();
    let _serial = one_at_a_time();
    let sc = Scenario::new(bin.clone());
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, "@sisyphus-dev-ai SCENARIO=envcheck", "Codertocat");
    let dir = attack_dir(&sc);
    // The fake model's `envcheck` script has the bash tool run `env > env.txt`: `env` on the
    // agent's PATH is this shim, which leaves the watchers behind and then runs the real one.
    let real_env = which::which("env").unwrap();
    let shim = dir.join("shim/env");
    write_exec(&shim, &format!("#!/bin/sh\n{}exec {} \"$@\"\n", launcher(&dir), real_env.display()));
    let mut inner =
        sc.command("issue_comment", &issue_comment("@sisyphus-dev-ai SCENARIO=envcheck", "Codertocat", "OWNER", false));
    let path = format!("{}:{}", shim.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    inner.env("PATH", path);
    if !nobody_can_run(&bin) {
        let copy = sc.path("bin/opencode");
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&bin, &copy).unwrap();
        inner.env("INPUT_OPENCODE_PATH", &copy);
    }
    let run = run_as_nobody(&sc, inner);
    assert_eq!(run.code, 0, "{}", run.logs());
    assert_contained(&dir, &run);
    // `env.txt` holds the model key, so the guard withholds it: the run publishes nothing and
    // says so in its reply.
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{}", run.logs());
    assert!(replies[0].body.contains("FAKE-ENV-DONE") && replies[0].body.contains("env.txt"), "{}", replies[0].body);
    sc.assert_hygiene(&run);
}

/// A descendant we may not signal (here a root process, as `sudo` would make one on a hosted
/// runner): nothing is published, the run fails and the reply says why.
#[test]
fn a_survivor_that_cannot_be_ended_stops_publishing() {
    let _serial = one_at_a_time();
    let Some((sc, dir)) = command_scenario() else { return };
    // A set-user-id-root `setpriv`: what the agent runs through it is root through and through.
    let to_root = dir.join("to-root");
    std::fs::copy(which::which("setpriv").unwrap(), &to_root).unwrap();
    let script = format!(
        "{r} --reuid=0 --regid=0 --clear-groups -- sleep 300 </dev/null >/dev/null 2>&1 &\necho $! > {d}/root.pid\n# Until setpriv has made itself root, `nobody` may still end it: wait (bounded) for that.\nfor _ in $(seq 200); do grep -q '^Uid:[[:space:]]*0[[:space:]]' /proc/$!/status 2>/dev/null && break; sleep 0.05; done\necho fixed > fixed.txt\necho\necho Done.\n",
        r = to_root.display(),
        d = dir.display()
    );
    let mut cmd = as_nobody(&sc, command_agent(&sc, &dir, &script));
    // After `as_nobody`'s chown (which clears the set-user-id bit).
    Command::new("chown").args(["0:0"]).arg(&to_root).status().unwrap();
    std::fs::set_permissions(&to_root, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let run = cmd.finish();
    let chowned = Command::new("chown").args(["-R", "0:0"]).arg(sc.repos.root.path()).status();
    assert!(chowned.unwrap().success());
    let root_pid = std::fs::read_to_string(dir.join("root.pid")).unwrap_or_default();
    let root_alive = Path::new(&format!("/proc/{}", root_pid.trim())).exists();
    if root_alive {
        let _ = Command::new("kill").args(["-9", root_pid.trim()]).status();
    }
    assert!(root_alive, "the root process was not started or was ended: {}", run.logs());
    assert_eq!(run.code, 1, "{}", run.logs());
    assert!(sc.gh.pulls().is_empty(), "published with a survivor: {:?}", sc.gh.pulls());
    assert_eq!(sc.refs().len(), 1, "pushed with a survivor: {:?}", sc.refs());
    let replies = sc.replies();
    assert_eq!(replies.len(), 1, "{}", run.logs());
    let reply = &replies[0].body;
    assert!(reply.contains("still running") && reply.contains("nothing was published"), "{reply}");
}

/// Cancelled (the runner's SIGTERM) while the agent works: containment still runs, bounded,
/// before we finish on GitHub.
#[test]
fn cancellation_still_ends_the_survivors() {
    let _serial = one_at_a_time();
    let Some((sc, dir)) = command_scenario() else { return };
    let script = format!("{}echo watching; sleep 300\n", launcher(&dir));
    let mut cmd = as_nobody(&sc, command_agent(&sc, &dir, &script));
    let started = std::time::Instant::now();
    let child = cmd.spawn();
    // `setpriv` execs the binary: this pid is ours to signal.
    let pid = child.id().to_string();
    let all_started = || WATCHERS.iter().all(|n| dir.join(format!("alive.{n}")).exists());
    while !all_started() && started.elapsed() < RUN_LIMIT {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let run = child.wait();
    let chowned = Command::new("chown").args(["-R", "0:0"]).arg(sc.repos.root.path()).status();
    assert!(chowned.unwrap().success());
    assert_eq!(run.code, 130, "{}", run.logs());
    assert_contained(&dir, &run);
    assert!(sc.gh.pulls().is_empty(), "{:?}", sc.gh.pulls());
}
