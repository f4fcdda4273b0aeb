//! The agent's processes: the one place that knows how to start them (`agent_command`: a given
//! environment only, in a process group of their own), how to stop a group (SIGTERM, grace,
//! SIGKILL) and how to end everything the agent left behind once its turn is over.
//!
//! Why a module of its own: the agent (OpenCode or a `command` CLI) is untrusted. It runs shell
//! commands as our user, and a command can leave its process group (`setsid`, OpenCode runs
//! every bash-tool command `detached`), fork twice or ignore SIGTERM. Stopping a process group
//! is therefore only the polite first step; containment is: our process is a child subreaper
//! (`become_subreaper`, called by the binary before any agent starts), so every orphan comes
//! back to us, and `end_descendants` ends every descendant of our process — frozen first so
//! that none can fork while we kill — until `/proc` shows none is left. Publishing (which uses
//! the token) starts only after that.
//!
//! What environment those processes get is `env.rs`'s.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

/// `program` as every process of the agent's (and npm installing it) starts: `env` is its whole
/// environment (nothing of ours is inherited, the token least of all), its stdin reads nothing
/// (an open pipe would make a CLI wait for input), and it leads a process group of its own, so
/// that `stop_group` reaches whatever it starts. Callers add arguments, a directory, pipes (or
/// another stdin); where tokio is needed, `tokio::process::Command::from` takes it as it is.
pub fn agent_command<K, V>(program: impl AsRef<OsStr>, env: impl IntoIterator<Item = (K, V)>) -> Command
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.env_clear().envs(env).stdin(Stdio::null()).process_group(0);
    command
}

/// The pid of a child we started, as a `Pid` (its process group id too, when it was started
/// with `process_group(0)`).
pub fn pid_of(child: &Child) -> Pid {
    // Linux pids fit a pid_t; `u32` is only std's portable type for them.
    Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

/// SIGTERM to `child`'s process group, SIGKILL to the group after `grace` (or at once once the
/// leader has exited: whatever else is in the group goes with it), then reaps the leader.
/// Idempotent.
///
/// The SIGKILL also reaches every descendant of the leader outside its group: OpenCode starts
/// its bash commands `detached` (a session of their own), and one caught between its fork and
/// its exec still carries the server's command line and environment, so it would outlive the
/// server it belongs to. They are found while the leader still lives (frozen first: a stopped
/// leader cannot fork, a dead one leaves orphans no walk from it finds), and we return only once
/// each is gone (bounded by `KILL_WAIT`), so a caller that checks `/proc` next sees none.
pub fn stop_group(child: &mut Child, grace: Duration) {
    let group = pid_of(child);
    // The tree as it was before we signalled anything, should the leader exit in its grace.
    let mut tree = started(descendants(group).iter().map(|p| p.pid));
    if matches!(child.try_wait(), Ok(None)) {
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        // Only a shutdown path: the leader gives no event to block on besides its exit.
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if matches!(child.try_wait(), Ok(None)) {
        signal(group.as_raw(), Signal::SIGSTOP);
        tree.extend(started(freeze(group, &mut BTreeSet::new())));
    }
    let _ = killpg(group, Signal::SIGKILL);
    for (&pid, &start) in &tree {
        // The start time tells a pid that was reused since from the process we saw.
        if start_time(pid) == Some(start) {
            signal(pid, Signal::SIGKILL);
        }
    }
    let _ = child.wait();
    let until = Instant::now() + KILL_WAIT;
    // A killed process is gone once it is a zombie (its parent, or init, reaps it).
    while tree.iter().any(|(&pid, &start)| start_time(pid) == Some(start) && read_proc(pid).is_some_and(|p| !p.dead()))
        && Instant::now() < until
    {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How long `stop_group` waits for SIGKILLed descendants to die: only a loaded machine
/// takes more than milliseconds.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// Each pid with its start time (`/proc/<pid>/stat` field 22), skipping those already gone.
fn started(pids: impl IntoIterator<Item = i32>) -> BTreeMap<i32, u64> {
    pids.into_iter().filter_map(|pid| Some((pid, start_time(pid)?))).collect()
}

/// When `pid` started (clock ticks since boot): with the pid, it names one process.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    // Fields from the 3rd (state) on; the start time is the 22nd.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Makes our process a child subreaper: from now on every orphaned descendant (a `setsid`
/// daemon, a double fork, OpenCode's detached bash commands) is re-parented to us instead of
/// to init, so `end_descendants` can find it. Only the binary calls this: tests run runtimes
/// in-process, in parallel, and must not adopt each other's orphans.
pub fn become_subreaper() -> nix::Result<()> {
    nix::sys::prctl::set_child_subreaper(true)
}

/// Whether our process is a child subreaper (so that walking our descendants finds them all).
pub fn is_subreaper() -> bool {
    nix::sys::prctl::get_child_subreaper().unwrap_or(false)
}

/// One process from `/proc/<pid>/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
    /// `R`, `S`, `D`, `T`, `Z`, …
    pub state: char,
}

impl ProcInfo {
    fn dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// `pid (comm) S ppid …` → the fields we use. `comm` may hold spaces and parentheses: it ends
/// at the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcInfo> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_owned();
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(ProcInfo { pid, ppid, comm, state })
}

fn read_proc(pid: i32) -> Option<ProcInfo> {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(parse_stat)
}

fn all_processes() -> Vec<ProcInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter_map(read_proc)
        .collect()
}

/// Every descendant of `root` (not `root` itself), zombies included, from one walk of `/proc`.
pub fn descendants(root: Pid) -> Vec<ProcInfo> {
    let mut children: HashMap<i32, Vec<ProcInfo>> = HashMap::new();
    for p in all_processes() {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut queue = vec![root.as_raw()];
    while let Some(parent) = queue.pop() {
        for child in children.remove(&parent).unwrap_or_default() {
            queue.push(child.pid);
            out.push(child);
        }
    }
    out
}

/// Live (non-zombie) descendants of `root`.
fn alive(root: Pid) -> Vec<ProcInfo> {
    descendants(root).into_iter().filter(|p| !p.dead()).collect()
}

/// Reaps the zombies that are `root`'s own children, each by its pid: never `waitpid(-1)`, so
/// the exit status of a child someone else still waits on is never taken from them.
fn reap_zombies(root: Pid) {
    for p in descendants(root) {
        if p.ppid == root.as_raw() && p.dead() {
            let _ = waitpid(Pid::from_raw(p.pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// Descendants that could not be ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survivors {
    pub processes: Vec<ProcInfo>,
    /// Pids we were not allowed to signal (another user's, e.g. root through `sudo`).
    pub denied: Vec<i32>,
}

impl std::fmt::Display for Survivors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<String> = self.processes.iter().take(10).map(|p| format!("{} ({})", p.pid, p.comm)).collect();
        write!(f, "{} process(es) the agent started are still running: {}", self.processes.len(), list.join(", "))?;
        if !self.denied.is_empty() {
            write!(f, "; we may not signal {} of them (another user's, e.g. root through sudo)", self.denied.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Survivors {}

/// Signals `pid`; `false` when we may not (EPERM). A process that is already gone is fine.
fn signal(pid: i32, sig: Signal) -> bool {
    !matches!(kill(Pid::from_raw(pid), sig), Err(Errno::EPERM))
}

/// Stops (SIGSTOP) every live descendant of `root`, re-walking until a walk finds none we
/// have not stopped: a stopped process cannot fork, so the tree stops growing. Returns them.
fn freeze(root: Pid, denied: &mut BTreeSet<i32>) -> Vec<i32> {
    let mut stopped = BTreeSet::new();
    // Bounded: a fork bomb outrunning us ends up in the next round of the caller's loop.
    for _ in 0..64 {
        let fresh: Vec<i32> = alive(root).into_iter().map(|p| p.pid).filter(|p| !stopped.contains(p)).collect();
        if fresh.is_empty() {
            break;
        }
        for pid in fresh {
            if !signal(pid, Signal::SIGSTOP) {
                denied.insert(pid);
            }
            stopped.insert(pid);
        }
    }
    stopped.into_iter().collect()
}

/// Waits (at most `within`) until `root` has no live descendant; reaps as they die.
fn wait_gone(root: Pid, within: Duration) -> bool {
    let until = Instant::now() + within;
    loop {
        reap_zombies(root);
        if alive(root).is_empty() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        // Dying processes give no event we could wait on (they are not all our children).
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ends every descendant of `root`: all of them get SIGTERM at once (frozen first, so that a
/// parent's death cannot orphan a child before it was signalled) and `grace` to exit; then,
/// until `limit` is over, freeze whatever is left (and whatever it forked meanwhile) and
/// SIGKILL it. Returns how many processes were found, or the survivors when `/proc` still
/// shows one after `limit` (or at once when the only ones left are ones we may not signal).
///
/// `root` is our own pid in the binary (a subreaper, so orphans are still descendants).
pub fn end_descendants(root: Pid, grace: Duration, limit: Duration) -> Result<usize, Survivors> {
    let started = Instant::now();
    reap_zombies(root);
    let mut denied = BTreeSet::new();
    let first = freeze(root, &mut denied);
    if first.is_empty() {
        return Ok(0);
    }
    for &pid in &first {
        signal(pid, Signal::SIGTERM);
    }
    for &pid in &first {
        signal(pid, Signal::SIGCONT);
    }
    let mut seen: BTreeSet<i32> = first.into_iter().collect();
    if wait_gone(root, grace.min(limit)) {
        return Ok(seen.len());
    }
    loop {
        let frozen = freeze(root, &mut denied);
        for &pid in &frozen {
            if !signal(pid, Signal::SIGKILL) {
                denied.insert(pid);
            }
        }
        seen.extend(frozen);
        let left = limit.saturating_sub(started.elapsed());
        if wait_gone(root, left.min(Duration::from_millis(500))) {
            return Ok(seen.len());
        }
        let survivors = alive(root);
        let only_denied = survivors.iter().all(|p| denied.contains(&p.pid));
        if started.elapsed() >= limit || only_denied {
            let denied = survivors.iter().map(|p| p.pid).filter(|p| denied.contains(p)).collect();
            // Leave them running rather than stopped: a frozen process we cannot kill would
            // hang whatever waits on it.
            for p in &survivors {
                signal(p.pid, Signal::SIGCONT);
            }
            return Err(Survivors { processes: survivors, denied });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let p = parse_stat("4242 (a (weird) name) S 17 4242 4242 0 -1").unwrap();
        assert_eq!(p, ProcInfo { pid: 4242, ppid: 17, comm: "a (weird) name".into(), state: 'S' });
        assert!(parse_stat("garbage").is_none());
    }

    /// The agent's processes get the environment they are given and nothing of ours (the test
    /// runner's `HOME` and `CARGO_*` stay behind), and lead a process group of their own.
    #[test]
    fn an_agent_command_sees_only_its_env_and_leads_its_own_group() {
        let env = [("ONLY", "given"), ("PATH", "/usr/bin:/bin")];
        let out = agent_command("/bin/sh", env)
            .args(["-c", "echo \"$$ $(cut -d' ' -f5 /proc/$$/stat)\"; env"])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let (pid, group) = lines.next().and_then(|l| l.split_once(' ')).unwrap();
        assert_eq!(pid, group, "not the leader of its own process group: {text}");
        let names: Vec<&str> = lines.filter_map(|l| l.split_once('=').map(|(k, _)| k)).collect();
        assert!(names.contains(&"ONLY") && names.contains(&"PATH"), "{text}");
        // What a shell sets by itself is all it may add.
        assert!(names.iter().all(|n| ["ONLY", "PATH", "PWD", "SHLVL", "_", "OLDPWD"].contains(n)), "{text}");
    }

    /// Runs `end_descendants_inner` in a child test process, which becomes a subreaper and
    /// then ends its own descendants: doing either here would touch other tests' children.
    #[test]
    fn the_kill_loop_ends_a_tree_that_escapes_and_keeps_forking() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["--exact", "isolation::process::tests::end_descendants_inner", "--ignored", "--nocapture"])
            .args(["--test-threads=1"])
            .env("SISYPHUS_KILL_LOOP_TEST", "1")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
    }

    #[test]
    #[ignore = "run by the_kill_loop_ends_a_tree_that_escapes_and_keeps_forking in a process of its own"]
    fn end_descendants_inner() {
        assert_eq!(std::env::var("SISYPHUS_KILL_LOOP_TEST").as_deref(), Ok("1"));
        become_subreaper().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        // A new session that ignores SIGTERM, a double fork, and a loop that keeps forking
        // children as fast as it can (bounded, not to exhaust pids); each records its pid.
        let script = format!(
            r#"
            setsid sh -c 'trap "" TERM; echo $$ >> {p}; while :; do sleep 1; done' &
            ( ( trap "" TERM; echo $(exec sh -c 'echo $PPID') >> {p}; exec sleep 300 ) & ) &
            sh -c 'echo $$ >> {p}; i=0; while [ $i -lt 2000 ]; do sleep 300 & echo $! >> {p}; i=$((i+1)); done' &
            echo ready >> {p}
            "#,
            p = pids.display()
        );
        // No pipe of ours: a survivor holding one would hang the outer test instead of failing it.
        let mut starter = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        starter.wait().unwrap();
        let me = Pid::from_raw(std::process::id() as i32);
        // Wait (bounded) until the forking loop has forked a few times.
        let until = Instant::now() + Duration::from_secs(30);
        while std::fs::read_to_string(&pids).unwrap_or_default().lines().count() < 8 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(me).is_empty(), "nothing to end");
        let ended = end_descendants(me, Duration::from_millis(300), Duration::from_secs(20)).unwrap();
        assert!(ended >= 4, "{ended}");
        assert_eq!(alive(me), Vec::new());
        for line in std::fs::read_to_string(&pids).unwrap().lines() {
            if let Ok(pid) = line.trim().parse::<i32>() {
                let state = read_proc(pid).map(|p| p.state);
                assert!(state.is_none_or(|s| s == 'Z'), "{pid} is still alive ({state:?})");
            }
        }
    }

    /// A child that left the leader's group (as OpenCode's detached bash commands do) dies
    /// with the leader, and is gone when `stop_group` returns (no parent of ours reaps it
    /// here: not being a subreaper, its zombie goes to init).
    #[test]
    fn stopping_a_group_ends_its_detached_children() {
        use std::io::BufRead as _;
        use std::os::unix::process::CommandExt as _;
        let mut leader = std::process::Command::new("sh")
            .args(["-c", "trap '' TERM; setsid sleep 300 & echo $!; exec sleep 300"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            // Nothing of the test harness's: a survivor must fail the test, not hang its output.
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(leader.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let detached: i32 = line.trim().parse().unwrap();
        // Until it has really left the group (setsid runs after the fork).
        let until = Instant::now() + Duration::from_secs(30);
        while std::fs::read_to_string(format!("/proc/{detached}/comm")).unwrap_or_default().trim() != "sleep"
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let session = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(3).map(str::to_owned)))
        };
        assert_ne!(session(detached), session(pid_of(&leader).as_raw()), "the child did not leave the session");
        stop_group(&mut leader, Duration::from_millis(200));
        let state = read_proc(detached).map(|p| p.state);
        if state.is_some_and(|s| s != 'Z') {
            let _ = kill(Pid::from_raw(detached), Signal::SIGKILL);
            panic!("the detached child {detached} outlived its leader ({state:?})");
        }
    }
}
