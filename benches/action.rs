//! The action as users feel it from its first step (run by `scripts/bench`; the figures are in
//! ARCHITECTURE.md's "Performance" section):
//!
//! * **step start → 👀**: `action.yml`'s steps run in order as the runner runs them
//!   (`action/runner.rs`) for a mention, with cold caches: a fresh `HOME` (so npm's cache is
//!   empty) and a tool cache holding at most our binary. The install step gets the binary from the
//!   tool cache (target ≤ 1.5 s) or downloads it from a stand-in release host on 127.0.0.1
//!   (`support::release_host`, target ≤ 3 s); the binary then installs OpenCode from the real npm
//!   registry after its 👀 and the fake model gives a quick answer.
//! * **skipped event**: step start → exit for a comment that does not mention the bot, and what
//!   it installed: the tool cache is listed before and after, and `npm` on `PATH` is a shim that
//!   records every call before it runs the real one (target: nothing installed, no npm).
//! * **plugin start**: the binary's launch → the agent's first model request, for
//!   `agent-preset: sisyphus` (oh-my-opencode from a warm tool cache: installed, config dir seeded
//!   by the binary) against plain OpenCode, in pairs (target: warm Sisyphus ≤ 1 s over plain).
//!   `BENCH_COLD_PLUGIN=1` adds the first run with an empty tool cache and npm cache (it downloads
//!   OpenCode and the plugin, ~478 MB).
//!
//! The action runs from a copy of its files (`action.yml`, `scripts/`, `Cargo.toml`) whose
//! `dist/checksums.txt` lists an archive of the measured binary (`SISYPHUS_BIN`), since the
//! committed one lists no release yet; the job's environment points the install script at the
//! release host (`SISYPHUS_RELEASE_BASE_URL`). GitHub is the fake one (`support::fake_github`).
//!
//! `BENCH_ACTION_RUNS` (default 3) runs of each install path (each downloads OpenCode from
//! npm), `BENCH_RUNS` (default 5) of the skipped event and of each plugin pair;
//! `BENCH_OMO_CACHE` names the warm tool cache (default `SISYPHUS_TOOL_CACHE`, else
//! `.tools/tool-cache`). Under `cargo test` (no `--bench` flag) it does nothing.

// The integration tests' support, whole (this bench uses a part of it).
#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;
use support::{e2e, opencode, release_host};

#[path = "common/figure.rs"]
mod figure;
#[path = "action/runner.rs"]
mod runner;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{COMMENT, ISSUE, REPO, Scenario, TOKEN, issue_comment};
use figure::{Figure, HEADER, env_or};
use release_host::ReleaseHost;
use sisyphus_action::config::{DEFAULT_OMO_VERSION, DEFAULT_OPENCODE_VERSION};
use sisyphus_action::install;

/// The longest one step (or one plugin run) may take: an npm install of OpenCode on a loaded
/// machine included.
const STEP_LIMIT: Duration = Duration::from_secs(600);

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    assert!(out.status.success(), "sha256sum failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

/// The measured binary as a release: an archive on a stand-in release host, and a copy of the
/// action whose committed checksums list it.
struct Release {
    _dir: tempfile::TempDir,
    action_path: PathBuf,
    host: ReleaseHost,
    version: String,
    triple: &'static str,
    binary: PathBuf,
}

impl Release {
    fn new(binary: &Path) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().expect("a temp dir");
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
        // The first `version = "…"`, as install-binary.sh reads it.
        let version = manifest
            .lines()
            .find_map(|l| l.strip_prefix("version = \"")?.split('"').next())
            .expect("a package version")
            .to_owned();
        let triple = match std::env::consts::ARCH {
            "aarch64" => "aarch64-unknown-linux-musl",
            _ => "x86_64-unknown-linux-musl",
        };
        let asset = format!("sisyphus-action-{version}-{triple}.tar.gz");
        let stage = dir.path().join("stage");
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::copy(binary, stage.join("sisyphus-action")).expect("copy the binary");
        let tarball = dir.path().join(&asset);
        let tar = Command::new("tar").arg("-czf").arg(&tarball).arg("-C").arg(&stage).arg("sisyphus-action").status();
        assert!(tar.is_ok_and(|s| s.success()), "tar failed");

        let action_path = dir.path().join("action");
        std::fs::create_dir_all(action_path.join("scripts")).unwrap();
        std::fs::create_dir_all(action_path.join("dist")).unwrap();
        for file in ["action.yml", "Cargo.toml", "scripts/install-binary.sh", "scripts/build-from-source.sh"] {
            std::fs::copy(root.join(file), action_path.join(file)).unwrap_or_else(|e| panic!("copy {file}: {e}"));
        }
        let checksums = format!(
            "# repository: example/sisyphus-action\n{}  {asset}\n{}  {}/sisyphus-action\n",
            sha256(&tarball),
            sha256(&stage.join("sisyphus-action")),
            asset.trim_end_matches(".tar.gz")
        );
        std::fs::write(action_path.join("dist/checksums.txt"), checksums).unwrap();
        let bytes = std::fs::read(&tarball).unwrap();
        let host = ReleaseHost::start(HashMap::from([(format!("/download/v{version}/{asset}"), bytes)]));
        Self { _dir: dir, action_path, host, version, triple, binary: binary.to_owned() }
    }

    /// Puts the binary where an earlier job's install step left it.
    fn seed_cache(&self, cache: &Path) {
        let dir = cache.join("sisyphus-action").join(&self.version).join(self.triple);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&self.binary, dir.join("sisyphus-action")).unwrap();
        std::fs::set_permissions(dir.join("sisyphus-action"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The job around `cmd` (the scenario's run of the binary): its environment without the
    /// `INPUT_*`, which become the `with:` inputs (all but `opencode-path`: OpenCode comes from
    /// npm), a tool cache, the release host, and the npm shim first on `PATH`.
    fn job(&self, sc: &Scenario, cmd: &Command, cache: &Path) -> runner::Job {
        let mut env = BTreeMap::new();
        let mut with = BTreeMap::new();
        for (key, value) in cmd.get_envs() {
            let (key, value) = (key.to_string_lossy().into_owned(), value.unwrap_or_default().to_owned());
            match key.strip_prefix("INPUT_") {
                Some("OPENCODE_PATH") => {}
                Some(name) => {
                    with.insert(name.to_ascii_lowercase().replace('_', "-"), value.to_string_lossy().into_owned());
                }
                None => {
                    env.insert(OsString::from(key), value);
                }
            }
        }
        env.extend(runner_env());
        let path = env.get(&OsString::from("PATH")).cloned().unwrap_or_default();
        let shim = npm_shim(sc);
        env.insert("PATH".into(), format!("{}:{}", shim.display(), path.to_string_lossy()).into());
        env.insert("RUNNER_TOOL_CACHE".into(), cache.into());
        env.insert("RUNNER_OS".into(), "Linux".into());
        let arch = if self.triple.starts_with("aarch64") { "ARM64" } else { "X64" };
        env.insert("RUNNER_ARCH".into(), arch.into());
        let base = format!("{}/download/v{}", self.host.base(), self.version);
        env.insert("SISYPHUS_RELEASE_BASE_URL".into(), base.into());
        runner::Job { env, with, token: TOKEN.into(), action_path: self.action_path.clone(), step_limit: STEP_LIMIT }
    }
}

/// What the runner's own environment gives every job: the proxy, its CA, npm's settings (but
/// not npm's cache, which stays in the scenario's fresh `HOME`: cold).
fn runner_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(key, _)| {
            let upper = key.to_string_lossy().to_ascii_uppercase();
            let proxy = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"].contains(&upper.as_str());
            let ca = ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"].contains(&upper.as_str());
            proxy || ca || (upper.starts_with("NPM_CONFIG_") && upper != "NPM_CONFIG_CACHE")
        })
        .collect()
}

/// A directory with an `npm` that appends its arguments to the scenario's `npm-calls`, then
/// runs the real npm.
fn npm_shim(sc: &Scenario) -> PathBuf {
    let real = which::which("npm").expect("the bench needs npm on PATH");
    let dir = sc.path("npm-shim");
    std::fs::create_dir_all(&dir).unwrap();
    let script =
        format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n", sc.path("npm-calls").display(), real.display());
    std::fs::write(dir.join("npm"), script).unwrap();
    std::fs::set_permissions(dir.join("npm"), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn npm_calls(sc: &Scenario) -> Vec<String> {
    sc.file("npm-calls").lines().map(str::to_owned).collect()
}

/// Every file and link under `dir` (relative), with its size.
fn listing(dir: &Path) -> BTreeSet<(String, u64)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<(String, u64)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path).display().to_string();
                out.insert((rel, entry.metadata().map(|m| m.len()).unwrap_or(0)));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The mention, run through action.yml's steps; the binary comes from the tool cache when
/// `cached`, else from the release host.
fn mention_through_action(action: &runner::Action, rel: &Release, opencode: &Path, cached: bool) -> Mention {
    let sc = Scenario::new(opencode.to_owned());
    let body = "@sisyphus-dev-ai SCENARIO=quick please fix the spelling";
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, body, "Codertocat");
    let cmd = sc.command("issue_comment", &issue_comment(body, "Codertocat", "OWNER", false)).command();
    let cache = sc.path("tool-cache");
    if cached {
        rel.seed_cache(&cache);
    }
    let ran = action.run(&rel.job(&sc, &cmd, &cache)).unwrap_or_else(|e| panic!("the action did not run: {e}"));
    assert!(ran.succeeded(), "a step failed:\n{}", ran.logs());
    assert_eq!(ran.outputs.get("triggered").map(String::as_str), Some("true"), "{}", ran.logs());
    let install = ran.step("install").expect("the install step");
    let source = if cached { "cache" } else { "download" };
    assert_eq!(install.outputs.get("source").map(String::as_str), Some(source), "{}", ran.logs());
    let eyes = sc
        .gh
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/reactions") && r.body["content"] == "eyes")
        .unwrap_or_else(|| panic!("no 👀:\n{}", ran.logs()));
    let npm = npm_calls(&sc);
    assert!(
        npm.iter().any(|c| c.contains("opencode-")),
        "OpenCode was not installed from npm: {npm:?}\n{}",
        ran.logs()
    );
    Mention {
        eyes: ms(eyes.at.duration_since(ran.started)),
        install: ms(install.ended.duration_since(install.started)),
        total: ms(ran.ended.duration_since(ran.started)),
        conclusion: ran.outputs.get("conclusion").cloned().unwrap_or_default(),
    }
}

struct Mention {
    eyes: f64,
    install: f64,
    total: f64,
    conclusion: String,
}

/// A comment that does not mention the bot, through action.yml's steps: how long, and what
/// changed in the tool cache and how often npm ran.
fn skipped_through_action(action: &runner::Action, rel: &Release, opencode: &Path, cached: bool) -> Skipped {
    let sc = Scenario::new(opencode.to_owned());
    let cmd = sc
        .command("issue_comment", &issue_comment("Thanks, looks good to me.", "Codertocat", "OWNER", false))
        .command();
    let cache = sc.path("tool-cache");
    std::fs::create_dir_all(&cache).unwrap();
    if cached {
        rel.seed_cache(&cache);
    }
    let before = listing(&cache);
    let ran = action.run(&rel.job(&sc, &cmd, &cache)).unwrap_or_else(|e| panic!("the action did not run: {e}"));
    assert!(ran.succeeded(), "a step failed:\n{}", ran.logs());
    assert_eq!(ran.outputs.get("triggered").map(String::as_str), Some("false"), "{}", ran.logs());
    let after = listing(&cache);
    Skipped {
        elapsed: ms(ran.ended.duration_since(ran.started)),
        changed: before.symmetric_difference(&after).map(|(path, size)| format!("{path} ({size} bytes)")).collect(),
        npm: npm_calls(&sc).len(),
        api_calls: sc.gh.requests().len(),
    }
}

struct Skipped {
    elapsed: f64,
    /// Tool-cache files added, removed or resized.
    changed: Vec<String>,
    npm: usize,
    api_calls: usize,
}

/// The warm tool cache: oh-my-opencode and OpenCode's plugin dependency installed (by the
/// binary's own installer; nothing to do when they are there already).
fn warm_cache() -> Result<PathBuf, String> {
    let cache = std::env::var_os("BENCH_OMO_CACHE")
        .or_else(|| std::env::var_os("SISYPHUS_TOOL_CACHE"))
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/tool-cache"), PathBuf::from);
    let env = sisyphus_action::isolation::env::agent_env(std::env::vars_os(), []);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let omo = install::oh_my_opencode(&cache, DEFAULT_OMO_VERSION);
        install::npm_install(&omo, "oh-my-opencode", &env).await?;
        let sdk = install::plugin_sdk(&cache, DEFAULT_OPENCODE_VERSION);
        install::npm_install(&sdk, "@opencode-ai/plugin", &env).await
    })
    .map_err(|e| format!("{e:#}"))?;
    Ok(cache)
}

/// Launches the binary for a quick mention and returns the time to the agent's first model
/// request (one with tools: the turn, not the title), after the run finished successfully.
fn launch_to_first_turn(sc: &Scenario, mut cmd: Command, what: &str) -> f64 {
    let log = std::fs::File::create(sc.path("binary.log")).unwrap();
    cmd.stdout(log.try_clone().unwrap()).stderr(log);
    let launched = Instant::now();
    let mut child = cmd.spawn().expect("the binary starts");
    let mut first = None;
    let status = loop {
        if first.is_none() && sc.llm.requests.lock().unwrap().iter().any(|r| r.tools) {
            first = Some(launched.elapsed());
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if launched.elapsed() > STEP_LIMIT {
            let _ = child.kill();
            panic!("{what}: the binary did not finish within {STEP_LIMIT:?}\n{}", sc.file("binary.log"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{what}: the run failed\n{}", sc.file("binary.log"));
    let first = first.unwrap_or_else(|| panic!("{what}: the model was never asked to work\n{}", sc.file("binary.log")));
    ms(first)
}

fn quick_mention(sc: &Scenario) -> Command {
    let body = "@sisyphus-dev-ai SCENARIO=quick answer briefly";
    sc.gh.seed_comment(REPO, ISSUE, COMMENT, body, "Codertocat");
    sc.command("issue_comment", &issue_comment(body, "Codertocat", "OWNER", false)).command()
}

fn sisyphus(cmd: &mut Command, cache: &Path) {
    cmd.env("INPUT_AGENT_PRESET", "sisyphus").env("RUNNER_TOOL_CACHE", cache).env("INPUT_TIMEOUT_MINUTES", "5");
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runs = env_or("BENCH_RUNS", 5) as usize;
    let action_runs = env_or("BENCH_ACTION_RUNS", 3) as usize;
    let Some(opencode) = opencode::opencode_bin() else { panic!("the benchmark needs OpenCode (OPENCODE_BIN)") };
    let bin = support::actions::binary();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let action = runner::Action::load(&root.join("action.yml")).unwrap_or_else(|e| panic!("{e}"));
    let rel = Release::new(&bin);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("binary: {}\nopencode: {}", bin.display(), opencode.display());
    println!(
        "machine: {cpus} CPUs, load average at the start: {}\n",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );

    let mut eyes_cached = Figure::new("action step start → 👀, binary in the tool cache", "ms", "≤ 1500 ms");
    let mut install_cached = Figure::new("  of which: the install step (cache hit)", "ms", "");
    let mut total_cached = Figure::new("  step start → exit (OpenCode from npm, quick answer)", "ms", "");
    let mut eyes_download = Figure::new("action step start → 👀, binary downloaded", "ms", "≤ 3000 ms");
    let mut install_download = Figure::new("  of which: the install step (download)", "ms", "");
    let mut total_download = Figure::new("  step start → exit (OpenCode from npm, quick answer)", "ms", "");
    for i in 0..action_runs {
        for cached in [true, false] {
            let m = mention_through_action(&action, &rel, &opencode, cached);
            let (eyes, install, total) = if cached {
                (&mut eyes_cached, &mut install_cached, &mut total_cached)
            } else {
                (&mut eyes_download, &mut install_download, &mut total_download)
            };
            eyes.values.push(m.eyes);
            install.values.push(m.install);
            total.values.push(m.total);
            let how = if cached { "cached" } else { "downloaded" };
            eprintln!(
                "mention {}/{action_runs} ({how}): 👀 at {:.0} ms, install step {:.0} ms, exit at {:.1} s ({})",
                i + 1,
                m.eyes,
                m.install,
                m.total / 1e3,
                m.conclusion
            );
        }
    }

    let mut skip = Figure::new("action step start → exit, skipped event", "ms", "");
    let mut skip_changed = Figure::new("  tool-cache files added or changed", "", "0");
    let mut skip_npm = Figure::new("  npm runs", "", "0");
    let mut skip_api = Figure::new("  GitHub API calls", "", "0");
    for i in 0..runs {
        let s = skipped_through_action(&action, &rel, &opencode, true);
        if !s.changed.is_empty() {
            eprintln!("the skipped event changed the tool cache: {:?}", s.changed);
        }
        skip.values.push(s.elapsed);
        skip_changed.values.push(s.changed.len() as f64);
        skip_npm.values.push(s.npm as f64);
        skip_api.values.push(s.api_calls as f64);
        eprintln!("skipped {}/{runs}: {:.0} ms", i + 1, s.elapsed);
    }
    // Without the binary cached, the install step is all a skipped event installs.
    let uncached = skipped_through_action(&action, &rel, &opencode, false);

    let mut plain = Figure::new("launch → first model request, plain OpenCode", "ms", "");
    let mut warm = Figure::new("launch → first model request, Sisyphus (warm plugin)", "ms", "");
    let mut over = Figure::new("  warm Sisyphus over plain OpenCode (paired)", "ms", "≤ 1000 ms");
    let mut cold = Figure::new("launch → first model request, Sisyphus, first run (empty caches)", "ms", "");
    match warm_cache() {
        Err(e) => eprintln!("not measured: the plugin start (cannot install oh-my-opencode: {e})"),
        Ok(cache) => {
            for i in 0..runs {
                let sc = Scenario::new(opencode.clone());
                let p = launch_to_first_turn(&sc, quick_mention(&sc), "plain OpenCode");
                let sc = Scenario::new(opencode.clone());
                let mut cmd = quick_mention(&sc);
                sisyphus(&mut cmd, &cache);
                let s = launch_to_first_turn(&sc, cmd, "Sisyphus");
                plain.values.push(p);
                warm.values.push(s);
                over.values.push(s - p);
                eprintln!("plugin pair {}/{runs}: plain {p:.0} ms, Sisyphus {s:.0} ms", i + 1);
            }
        }
    }
    if env_or("BENCH_COLD_PLUGIN", 0) == 1 {
        let sc = Scenario::new(opencode.clone());
        let mut cmd = quick_mention(&sc);
        sisyphus(&mut cmd, &sc.path("tool-cache"));
        cmd.env_remove("INPUT_OPENCODE_PATH").envs(runner_env());
        let c = launch_to_first_turn(&sc, cmd, "Sisyphus, cold");
        cold.values.push(c);
        eprintln!("cold Sisyphus: {:.1} s", c / 1e3);
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}\n", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    println!("{HEADER}");
    println!("{}", eyes_cached.judged(|m| m <= 1500.0));
    println!("{}", install_cached.row());
    println!("{}", total_cached.row());
    println!("{}", eyes_download.judged(|m| m <= 3000.0));
    println!("{}", install_download.row());
    println!("{}", total_download.row());
    println!("{}", skip.row());
    for f in [&skip_changed, &skip_npm, &skip_api] {
        println!("{}", f.judged(|m| m == 0.0));
    }
    println!("{}", plain.row());
    println!("{}", warm.row());
    println!("{}", over.judged(|m| m <= 1000.0));
    if !cold.values.is_empty() {
        println!("{}", cold.row());
    }
    println!("\nWhat a skipped event with the binary not cached added to the tool cache ({} npm runs):", uncached.npm);
    for file in &uncached.changed {
        println!("  {file}");
    }
}
