//! Installing what a run needs — OpenCode or the Codex CLI — once the run is acknowledged (👀
//! and the label), into the runner's tool cache, concurrently with gathering the context and
//! rendering the prompt. A skipped event and `--dry-run` never reach this stage, so they
//! install nothing.
//!
//! Why here and not in `action.yml`: an npm install takes seconds and hundreds of MB; before
//! the binary ran, every mention waited for it before its 👀, and every skipped event paid it.
//!
//! What is installed: only the one platform package that holds the binary, with
//! `--ignore-scripts`. OpenCode's (`opencode-linux-x64`, …): the `opencode-ai` wrapper's
//! postinstall only copies that binary, and its optional dependencies would fetch a second
//! build (the baseline one) too. Codex's (`@openai/codex@<version>-linux-x64`, …): the
//! `@openai/codex` wrapper is a Node script that only finds and `exec`s the native binary in it,
//! so running that binary directly also needs no Node at run time.
//! Where: `<tool cache>/<tool>/<version>/<package>/`, with a `<package>.complete` file next to
//! it once the install finished; that file is the record the run trusts, so a reused install
//! costs no `opencode --version` (the runtime checks the version off the critical path).
//! npm runs with the agent's allow-listed environment (`isolation::env::agent_env`): no token, but
//! the runner's proxy, CA and `npm_config_*` settings.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::config::{AgentConfig, Config, RuntimeKind};
use crate::isolation::env;

/// A stalled registry must not hold the run until `timeout-minutes`.
const INSTALL_LIMIT: Duration = Duration::from_secs(600);

/// glibc's dynamic loaders: where one exists, OpenCode's glibc builds run.
const GLIBC_LOADERS: &[&str] = &[
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/ld-linux-aarch64.so.1",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
];

/// The runner's libc and CPU, which pick OpenCode's platform package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux` or `darwin`.
    pub os: &'static str,
    /// Rust's name: `x86_64`, `aarch64`.
    pub arch: &'static str,
    /// The runner's libc is musl (Alpine): OpenCode's glibc builds do not start there.
    pub musl: bool,
    /// The CPU has AVX2; without it only the `-baseline` build runs.
    pub avx2: bool,
}

impl Platform {
    /// This machine.
    pub fn current() -> Self {
        // A glibc system may have musl installed too (a Rust musl toolchain does): only a
        // system without glibc's loader counts as musl.
        let glibc = GLIBC_LOADERS.iter().any(|p| Path::new(p).exists());
        let musl = !glibc
            && std::fs::read_dir("/lib")
                .map(|dir| dir.flatten().any(|e| e.file_name().to_string_lossy().starts_with("ld-musl-")))
                .unwrap_or(false);
        let avx2 = std::fs::read_to_string("/proc/cpuinfo")
            .map(|info| {
                info.lines().filter(|l| l.starts_with("flags")).any(|l| l.split_whitespace().any(|f| f == "avx2"))
            })
            // macOS has no /proc; its x64 builds are picked by the same rule, and Apple's
            // Intel machines that run Actions all have AVX2.
            .unwrap_or(cfg!(target_os = "macos"));
        let os = if cfg!(target_os = "macos") { "darwin" } else { "linux" };
        Self { os, arch: std::env::consts::ARCH, musl, avx2 }
    }

    /// The Codex platform package's npm version suffix and the Rust target its binary is in
    /// (Codex's Linux builds are static musl ones: they run on any libc).
    pub fn codex(&self) -> Result<(&'static str, &'static str)> {
        Ok(match (self.os, self.arch) {
            ("linux", "x86_64") => ("linux-x64", "x86_64-unknown-linux-musl"),
            ("linux", "aarch64") => ("linux-arm64", "aarch64-unknown-linux-musl"),
            ("darwin", "x86_64") => ("darwin-x64", "x86_64-apple-darwin"),
            ("darwin", "aarch64") => ("darwin-arm64", "aarch64-apple-darwin"),
            (os, arch) => bail!("Codex has no build for `{os}` on `{arch}`; set `codex-path` to one you built"),
        })
    }

    /// The npm package that holds OpenCode's binary for this platform.
    pub fn package(&self) -> Result<String> {
        let arch = match self.arch {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            other => bail!("OpenCode has no build for the `{other}` CPU; set `opencode-path` to one you built"),
        };
        let baseline = if arch == "x64" && !self.avx2 { "-baseline" } else { "" };
        let musl = if self.os == "linux" && self.musl { "-musl" } else { "" };
        Ok(format!("opencode-{}-{arch}{baseline}{musl}", self.os))
    }
}

/// One npm package installed in the tool cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The tool cache's root (`RUNNER_TOOL_CACHE`).
    pub cache: PathBuf,
    /// The tool's folder in the cache: `opencode`, `oh-my-opencode`, `opencode-plugin`.
    pub tool: String,
    pub version: String,
    /// The npm package, e.g. `opencode-linux-x64`.
    pub package: String,
    /// The executable inside the package (empty for a library package).
    pub bin: PathBuf,
}

impl Target {
    /// OpenCode's platform package.
    pub fn opencode(cache: &Path, version: &str, package: &str) -> Self {
        let (tool, bin) = ("opencode".into(), PathBuf::from("bin/opencode"));
        Self { cache: cache.to_owned(), tool, version: version.into(), package: package.into(), bin }
    }

    /// Codex's platform package: `@openai/codex` at `<version>-<platform>` (npm publishes each
    /// platform's binary as a version of the one package).
    pub fn codex(cache: &Path, version: &str, platform: &Platform) -> Result<Self> {
        let (suffix, triple) = platform.codex()?;
        let bin = Path::new("vendor").join(triple).join("bin").join("codex");
        let (tool, package) = ("codex".into(), "@openai/codex".into());
        Ok(Self { cache: cache.to_owned(), tool, version: format!("{version}-{suffix}"), package, bin })
    }

    /// `<cache>/<tool>/<version>/<package>`: the npm prefix.
    pub fn dir(&self) -> PathBuf {
        self.cache.join(&self.tool).join(&self.version).join(self.package.replace('/', "+"))
    }

    /// The record of a finished install, next to it (as `@actions/tool-cache` keeps `<arch>.complete`).
    pub fn record(&self) -> PathBuf {
        self.cache.join(&self.tool).join(&self.version).join(format!("{}.complete", self.package.replace('/', "+")))
    }

    /// The installed package's own directory.
    pub fn module(&self) -> PathBuf {
        self.dir().join("node_modules").join(&self.package)
    }

    /// The tool's binary in its package.
    pub fn binary(&self) -> PathBuf {
        self.module().join(&self.bin)
    }

    /// The tool's name and version in messages, e.g. `Codex 0.169.0-linux-x64 (npm `…`)`.
    fn what(&self) -> String {
        let name = match self.tool.as_str() {
            "opencode" => "OpenCode",
            "codex" => "Codex",
            other => other,
        };
        format!("{name} {} (npm `{}`)", self.version, self.spec())
    }

    /// The input that names a binary instead, for the messages of a failed install.
    fn path_input(&self) -> Option<&'static str> {
        match self.tool.as_str() {
            "opencode" => Some("opencode-path"),
            "codex" => Some("codex-path"),
            _ => None,
        }
    }

    /// `<package>@<version>`: what npm installs and what the record holds.
    pub fn spec(&self) -> String {
        format!("{}@{}", self.package, self.version)
    }

    /// Installed, and recorded as exactly this version.
    fn installed(&self) -> bool {
        let recorded = std::fs::read_to_string(self.record()).is_ok_and(|r| r.trim() == self.spec());
        recorded && self.module().is_dir()
    }
}

/// What a run does about its runtime's binary (OpenCode's or Codex's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The `command` runtime: nothing to install.
    NotNeeded,
    /// `opencode-path` (or `codex-path`) names the binary: nothing is installed.
    Given(PathBuf),
    /// The exact version is in the tool cache already.
    Reuse(PathBuf),
    Install(Target),
}

/// Decides from the inputs and what the tool cache holds. Reads only the cache's record.
pub fn decide(agent: &AgentConfig, cache: &Path, platform: &Platform) -> Result<Decision> {
    let target = match &agent.runtime {
        RuntimeKind::Command(_) => return Ok(Decision::NotNeeded),
        RuntimeKind::OpenCode => match &agent.opencode_path {
            Some(path) => return Ok(Decision::Given(path.clone())),
            None => Target::opencode(cache, &agent.opencode_version, &platform.package()?),
        },
        RuntimeKind::Codex(codex) => match &codex.path {
            Some(path) => return Ok(Decision::Given(path.clone())),
            None => Target::codex(cache, &codex.version, platform)?,
        },
    };
    let reuse = target.installed() && target.binary().is_file();
    Ok(if reuse { Decision::Reuse(target.binary()) } else { Decision::Install(target) })
}

/// The runner's tool cache (`RUNNER_TOOL_CACHE`), else one under `RUNNER_TEMP` (a local run).
pub fn tool_cache(runner_tool_cache: Option<OsString>, runner_temp: &Path) -> PathBuf {
    runner_tool_cache.filter(|v| !v.is_empty()).map_or_else(|| runner_temp.join("tool-cache"), PathBuf::from)
}

/// Installs a tool's platform package (`Target::opencode`, `Target::codex`); its binary.
pub async fn install(target: &Target, env: &BTreeMap<OsString, OsString>) -> Result<PathBuf> {
    let what = target.what();
    npm_install(target, &what, env).await?;
    let binary = target.binary();
    if !binary.is_file() {
        bail!("could not install {what}: npm finished but `{}` is missing", binary.display());
    }
    Ok(binary)
}

/// Installs `target` with npm (found on the `PATH` of `env`, which is also npm's whole
/// environment) unless it is recorded already, and records it. `what` names it in messages.
/// Safe against a concurrent install of the same target: each installs into its own
/// temporary prefix and the first to finish wins.
pub async fn npm_install(target: &Target, what: &str, env: &BTreeMap<OsString, OsString>) -> Result<PathBuf> {
    if target.installed() {
        return Ok(target.module());
    }
    let path = env.get(&OsString::from("PATH")).cloned().unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let yourself =
        target.path_input().map(|input| format!(", or install it yourself and set `{input}`")).unwrap_or_default();
    let npm = which::which_in("npm", Some(path), cwd).with_context(|| {
        format!("could not install {what}: `npm` is not on PATH; add `actions/setup-node` before this action{yourself}")
    })?;
    let parent = target.dir().parent().map(Path::to_owned).context("the tool cache path has no parent")?;
    std::fs::create_dir_all(&parent).with_context(|| format!("could not create `{}`", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.", target.package.replace('/', "+")))
        .tempdir_in(&parent)
        .with_context(|| format!("could not create a staging dir in `{}`", parent.display()))?;
    tracing::info!("installing {what} into {}", target.dir().display());
    let mut command = crate::isolation::process::agent_command(&npm, env);
    command
        .args(["install", "--no-audit", "--no-fund", "--no-save", "--ignore-scripts", "--loglevel=error", "--prefix"])
        .arg(staging.path())
        .arg(target.spec())
        .current_dir(staging.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut command = tokio::process::Command::from(command);
    // A cancelled run drops this future: npm goes with it (containment ends its children).
    command.kill_on_drop(true);
    let ran = tokio::time::timeout(INSTALL_LIMIT, command.output()).await;
    let out = match ran {
        Ok(out) => out.with_context(|| format!("could not install {what}: cannot run `{}`", npm.display()))?,
        Err(_) => bail!(
            "could not install {what}: npm did not finish within {} min; check that the runner reaches the npm registry",
            INSTALL_LIMIT.as_secs() / 60
        ),
    };
    if !out.status.success() {
        bail!(
            "could not install {what}: `npm install` failed ({}): {}. Check that the runner reaches the npm registry (behind a proxy: HTTPS_PROXY and NODE_EXTRA_CA_CERTS){yourself}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 12)
        );
    }
    let staged = staging.path().join("node_modules").join(&target.package);
    if !staged.is_dir() {
        bail!("could not install {what}: npm finished but `{}` is missing", staged.display());
    }
    let dir = target.dir();
    if !target.installed() {
        // A partial earlier attempt (no record) is replaced; a concurrent winner is kept.
        let _ = std::fs::remove_dir_all(&dir);
        let staging = staging.keep();
        if let Err(e) = std::fs::rename(&staging, &dir) {
            let _ = std::fs::remove_dir_all(&staging);
            if !target.installed() {
                return Err(e).with_context(|| format!("could not move the install into `{}`", dir.display()));
            }
        }
        std::fs::write(target.record(), format!("{}\n", target.spec()))
            .with_context(|| format!("could not record the install in `{}`", target.record().display()))?;
    }
    tracing::info!("installed {what}");
    Ok(target.module())
}

/// The last `lines` non-empty lines of `text`, on one line.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let shown = all[all.len().saturating_sub(lines)..].join(" | ");
    if shown.is_empty() { "npm printed nothing".to_owned() } else { shown }
}

/// What the install stage found or installed for the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    /// The OpenCode binary (`None`: the runtime needs none).
    pub opencode: Option<PathBuf>,
    /// The Codex binary (`None`: the runtime is not `codex`).
    pub codex: Option<PathBuf>,
    /// oh-my-opencode's package directory (the Sisyphus preset), loaded by `file://`.
    pub omo: Option<PathBuf>,
    /// A prefix holding `@opencode-ai/plugin` at the OpenCode version, for `seed`.
    pub config_seed: Option<(PathBuf, String)>,
}

impl Installed {
    /// `agent` as the runtime needs it: the binary, and the plugin by path ahead of the user's.
    pub fn apply(&self, agent: &AgentConfig) -> AgentConfig {
        let mut out = agent.clone();
        if let Some(opencode) = &self.opencode {
            out.opencode_path = Some(opencode.clone());
        }
        if let (Some(codex), RuntimeKind::Codex(settings)) = (&self.codex, &mut out.runtime) {
            settings.path = Some(codex.clone());
        }
        if let Some(omo) = &self.omo {
            out.plugins.retain(|p| p != "oh-my-opencode" && !p.starts_with("oh-my-opencode@"));
            out.plugins.insert(0, format!("file://{}", omo.display()));
        }
        out
    }

    /// Pre-seeds OpenCode's config dir (`$XDG_CONFIG_HOME/opencode`) with its plugin
    /// dependency, which OpenCode otherwise npm-installs there at every start (seconds; a
    /// ~70 s stall without a registry) before any plugin loads.
    pub fn seed(&self, config_dir: &Path) -> Result<()> {
        let Some((prefix, version)) = &self.config_seed else { return Ok(()) };
        std::fs::create_dir_all(config_dir).with_context(|| format!("could not create `{}`", config_dir.display()))?;
        copy_tree(&prefix.join("node_modules"), &config_dir.join("node_modules"))
            .with_context(|| format!("could not seed `{}`", config_dir.display()))?;
        let manifest = serde_json::json!({"dependencies": {"@opencode-ai/plugin": version}});
        std::fs::write(config_dir.join("package.json"), format!("{manifest:#}\n"))
            .with_context(|| format!("could not write `{}/package.json`", config_dir.display()))
    }
}

/// Copies a directory tree (files hard-linked where possible, symlinks as links).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            let _ = std::fs::remove_file(&target);
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if std::fs::hard_link(&source, &target).is_err() {
            // Another filesystem (or the file exists): a copy. Linked otherwise, as the tree
            // (tens of MB) is only read.
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// An install running in the background; `finish` waits for it. Dropping it stops the install.
pub struct Pending {
    task: Option<tokio::task::JoinHandle<Result<Installed>>>,
}

impl Pending {
    /// What the run uses, or why it cannot run.
    pub async fn finish(mut self) -> Result<Installed> {
        let task = self.task.take().context("the install was already awaited")?;
        task.await.map_err(|e| anyhow::anyhow!("the install task failed: {e}"))?
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// For `runtime: codex`, read Codex for OpenCode below (it has no plugins).
///
/// Starts what `config` needs at once, in the background (the caller gathers the context and
/// renders the prompt meanwhile): OpenCode, and with plugins or the Sisyphus preset OpenCode's
/// plugin dependency and oh-my-opencode, all three concurrently. Reads our environment (for
/// npm's, allow-listed).
pub fn start(config: &Config) -> Pending {
    let cache = tool_cache(config.github.tool_cache.clone().map(Into::into), &config.github.runner_temp);
    let decision = decide(&config.agent, &cache, &Platform::current());
    let agent = config.agent.clone();
    let task = tokio::spawn(async move {
        let env = env::agent_env(std::env::vars_os(), []);
        let binary = async {
            match decision? {
                Decision::NotNeeded => Ok(None),
                Decision::Given(path) => Ok(Some(path)),
                Decision::Reuse(path) => {
                    let name = if matches!(agent.runtime, RuntimeKind::Codex(_)) { "Codex" } else { "OpenCode" };
                    tracing::info!("using {name} from the tool cache: {}", path.display());
                    Ok(Some(path))
                }
                Decision::Install(target) => install(&target, &env).await.map(Some),
            }
        };
        let uses_plugins =
            matches!(agent.runtime, RuntimeKind::OpenCode) && (agent.sisyphus() || !agent.plugins.is_empty());
        let seed = async {
            if !uses_plugins {
                return Ok(None);
            }
            let target = plugin_sdk(&cache, &agent.opencode_version);
            let what = format!("OpenCode's plugin dependency (npm `{}`)", target.spec());
            npm_install(&target, &what, &env).await?;
            Ok(Some((target.dir(), agent.opencode_version.clone())))
        };
        let omo = async {
            if !(matches!(agent.runtime, RuntimeKind::OpenCode) && agent.sisyphus()) {
                return Ok(None);
            }
            let target = oh_my_opencode(&cache, &agent.omo_version);
            let what = format!("oh-my-opencode {} (npm `{}`)", agent.omo_version, target.spec());
            npm_install(&target, &what, &env).await.map(Some)
        };
        let (binary, config_seed, omo) = tokio::try_join!(binary, seed, omo)?;
        let (opencode, codex) =
            if matches!(agent.runtime, RuntimeKind::Codex(_)) { (None, binary) } else { (binary, None) };
        Ok(Installed { opencode, codex, omo, config_seed })
    });
    Pending { task: Some(task) }
}

/// `@opencode-ai/plugin` at the OpenCode version: what OpenCode installs into its config dir.
pub fn plugin_sdk(cache: &Path, opencode_version: &str) -> Target {
    let (tool, package) = ("opencode-plugin".into(), "@opencode-ai/plugin".into());
    Target { cache: cache.to_owned(), tool, version: opencode_version.into(), package, bin: PathBuf::new() }
}

/// The pinned oh-my-opencode.
pub fn oh_my_opencode(cache: &Path, version: &str) -> Target {
    let (tool, package) = ("oh-my-opencode".into(), "oh-my-opencode".into());
    Target { cache: cache.to_owned(), tool, version: version.into(), package, bin: PathBuf::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(arch: &'static str, musl: bool, avx2: bool) -> Platform {
        Platform { os: "linux", arch, musl, avx2 }
    }

    #[test]
    fn the_platform_package_follows_cpu_and_libc() {
        assert_eq!(linux("x86_64", false, true).package().unwrap(), "opencode-linux-x64");
        assert_eq!(linux("x86_64", false, false).package().unwrap(), "opencode-linux-x64-baseline");
        assert_eq!(linux("x86_64", true, true).package().unwrap(), "opencode-linux-x64-musl");
        assert_eq!(linux("x86_64", true, false).package().unwrap(), "opencode-linux-x64-baseline-musl");
        assert_eq!(linux("aarch64", false, false).package().unwrap(), "opencode-linux-arm64");
        assert_eq!(linux("aarch64", true, false).package().unwrap(), "opencode-linux-arm64-musl");
        let mac = Platform { os: "darwin", arch: "aarch64", musl: false, avx2: false };
        assert_eq!(mac.package().unwrap(), "opencode-darwin-arm64");
        let err = linux("riscv64", false, false).package().unwrap_err().to_string();
        assert!(err.contains("riscv64") && err.contains("opencode-path"), "{err}");
    }

    fn agent(runtime: RuntimeKind, opencode_path: Option<&str>) -> AgentConfig {
        AgentConfig { runtime, opencode_path: opencode_path.map(PathBuf::from), ..AgentConfig::default() }
    }

    #[test]
    fn installs_only_what_the_run_needs_and_reuses_a_recorded_install() {
        let cache = tempfile::tempdir().unwrap();
        let here = linux("x86_64", false, true);
        let decide = |agent: &AgentConfig| decide(agent, cache.path(), &here).unwrap();
        assert_eq!(decide(&agent(RuntimeKind::Command("true".into()), None)), Decision::NotNeeded);
        let given = agent(RuntimeKind::OpenCode, Some("/opt/opencode"));
        assert_eq!(decide(&given), Decision::Given(PathBuf::from("/opt/opencode")));

        let opencode = agent(RuntimeKind::OpenCode, None);
        let Decision::Install(target) = decide(&opencode) else { panic!("an empty cache installs") };
        assert_eq!(target.dir(), cache.path().join("opencode/1.18.33/opencode-linux-x64"));
        // A binary without the record is an interrupted install: installed again.
        let binary = target.binary();
        std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
        std::fs::write(&binary, "").unwrap();
        assert!(matches!(decide(&opencode), Decision::Install(_)));
        std::fs::write(target.record(), "opencode-linux-x64@1.18.32\n").unwrap();
        assert!(matches!(decide(&opencode), Decision::Install(_)), "another version's record");
        std::fs::write(target.record(), "opencode-linux-x64@1.18.33\n").unwrap();
        assert_eq!(decide(&opencode), Decision::Reuse(binary));
    }

    #[test]
    fn codex_installs_its_platform_package_unless_codex_path_names_one() {
        let cache = tempfile::tempdir().unwrap();
        let here = linux("x86_64", false, true);
        let codex = |path: Option<&str>| {
            let settings =
                crate::config::CodexSettings { version: "0.169.0".into(), path: path.map(PathBuf::from), config: None };
            agent(RuntimeKind::Codex(settings), None)
        };
        let given = decide(&codex(Some("/opt/codex")), cache.path(), &here).unwrap();
        assert_eq!(given, Decision::Given(PathBuf::from("/opt/codex")));
        let Decision::Install(target) = decide(&codex(None), cache.path(), &here).unwrap() else {
            panic!("an empty cache installs")
        };
        assert_eq!(target.spec(), "@openai/codex@0.169.0-linux-x64", "only this platform's package");
        assert_eq!(
            target.binary(),
            cache.path().join("codex/0.169.0-linux-x64/@openai+codex/node_modules/@openai/codex/vendor/x86_64-unknown-linux-musl/bin/codex")
        );
        std::fs::create_dir_all(target.binary().parent().unwrap()).unwrap();
        std::fs::write(target.binary(), "").unwrap();
        std::fs::write(target.record(), format!("{}\n", target.spec())).unwrap();
        assert_eq!(decide(&codex(None), cache.path(), &here).unwrap(), Decision::Reuse(target.binary()));

        // Codex's Linux builds are static: libc does not matter, the CPU does.
        let arm = Platform { os: "linux", arch: "aarch64", musl: true, avx2: false };
        assert_eq!(arm.codex().unwrap(), ("linux-arm64", "aarch64-unknown-linux-musl"));
        let mac = Platform { os: "darwin", arch: "aarch64", musl: false, avx2: false };
        assert_eq!(mac.codex().unwrap(), ("darwin-arm64", "aarch64-apple-darwin"));
        let err = linux("riscv64", false, false).codex().unwrap_err().to_string();
        assert!(err.contains("riscv64") && err.contains("codex-path"), "{err}");
    }

    #[test]
    fn the_installed_codex_becomes_the_runtimes_codex_path() {
        let settings = crate::config::CodexSettings { version: "0.169.0".into(), path: None, config: None };
        let installed = Installed { codex: Some(PathBuf::from("/cache/codex")), ..Installed::default() };
        let applied = installed.apply(&agent(RuntimeKind::Codex(settings), None));
        let RuntimeKind::Codex(settings) = applied.runtime else { panic!("still codex") };
        assert_eq!(settings.path, Some(PathBuf::from("/cache/codex")));
    }

    #[test]
    fn the_tool_cache_is_the_runners_else_one_in_runner_temp() {
        let temp = Path::new("/runner/_temp");
        assert_eq!(tool_cache(Some("/opt/hostedtoolcache".into()), temp), Path::new("/opt/hostedtoolcache"));
        assert_eq!(tool_cache(Some("".into()), temp), Path::new("/runner/_temp/tool-cache"));
        assert_eq!(tool_cache(None, temp), Path::new("/runner/_temp/tool-cache"));
    }

    #[test]
    fn npm_failures_are_shown_by_their_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(tail("  \n", 2), "npm printed nothing");
    }
}
