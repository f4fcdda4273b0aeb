//! `scripts/install-binary.sh` against a stand-in release host on 127.0.0.1: which asset it
//! picks, that only the committed checksum is trusted, when it falls back to a source build,
//! and that a tool-cache entry is reused without any request only when the binary's own hash
//! matches the committed one (nothing in the writable cache is believed).

use crate::support::release_host;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use release_host::ReleaseHost;

const VERSION: &str = "9.9.9";
const X64: &str = "x86_64-unknown-linux-musl";
const ARM64: &str = "aarch64-unknown-linux-musl";

fn asset_name(triple: &str) -> String {
    format!("sisyphus-action-{VERSION}-{triple}.tar.gz")
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// One test's world: a scratch dir with the tool cache, `$GITHUB_OUTPUT`, the committed
/// checksum file, and release archives whose fake binary leaves a trace when executed.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let world = Self { dir: tempfile::tempdir().unwrap() };
        for sub in ["cache", "temp", "assets"] {
            std::fs::create_dir_all(world.path(sub)).unwrap();
        }
        std::fs::write(world.checksums(), "# repository: example/sisyphus-action\n").unwrap();
        world
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn checksums(&self) -> PathBuf {
        self.path("checksums.txt")
    }

    /// File the fake binary touches when it runs: its existence means "something was executed".
    fn ran_marker(&self) -> PathBuf {
        self.path("binary-was-executed")
    }

    /// A release archive for `triple` whose binary prints `triple`; returns its bytes.
    fn archive(&self, triple: &str, flavour: &str) -> Vec<u8> {
        let stage = self.path(&format!("assets/{triple}-{flavour}"));
        std::fs::create_dir_all(&stage).unwrap();
        let bin = stage.join("sisyphus-action");
        let script = format!("#!/bin/sh\ntouch '{}'\necho '{triple} {flavour}'\n", self.ran_marker().display());
        std::fs::write(&bin, script).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tarball = self.path(&format!("assets/{triple}-{flavour}.tar.gz"));
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&stage)
            .arg("sisyphus-action")
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(tarball).unwrap()
    }

    /// Appends the sha256 of `bytes` (an archive for `triple`) and of the binary inside it to
    /// the committed checksum file, as `scripts/update-checksums.sh` writes them.
    fn commit_checksum(&self, triple: &str, bytes: &[u8]) {
        self.commit_archive_checksum(triple, bytes);
        let tmp = self.path("assets/hash-me");
        std::fs::write(&tmp, bytes).unwrap();
        let out = Command::new("tar").arg("-xzOf").arg(&tmp).arg("sisyphus-action").output().unwrap();
        assert!(out.status.success());
        std::fs::write(&tmp, out.stdout).unwrap();
        self.commit_line(&format!(
            "{}  {}/sisyphus-action",
            sha256(&tmp),
            asset_name(triple).trim_end_matches(".tar.gz")
        ));
    }

    /// Only the archive's sha256, as checksum files from before the binary's was recorded.
    fn commit_archive_checksum(&self, triple: &str, bytes: &[u8]) {
        let tmp = self.path("assets/hash-me");
        std::fs::write(&tmp, bytes).unwrap();
        self.commit_line(&format!("{}  {}", sha256(&tmp), asset_name(triple)));
    }

    fn commit_line(&self, line: &str) {
        let mut text = std::fs::read_to_string(self.checksums()).unwrap();
        text.push_str(line);
        text.push('\n');
        std::fs::write(self.checksums(), text).unwrap();
    }

    /// Runs the script as the action does, with nothing from the outer environment.
    fn install(&self, host: &ReleaseHost, os: &str, arch: &str, extra: &[(&str, &str)]) -> Run {
        let output_file = self.path("github-output");
        let _ = std::fs::remove_file(&output_file);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-binary.sh");
        // `bash -p`, as action.yml runs it.
        let mut cmd = Command::new("bash");
        cmd.arg("-p")
            .arg(script)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TOOL_CACHE", self.path("cache"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("GITHUB_OUTPUT", &output_file)
            .env("SISYPHUS_VERSION", VERSION)
            .env("SISYPHUS_CHECKSUMS", self.checksums())
            .env("SISYPHUS_RELEASE_BASE_URL", format!("{}/download/v{VERSION}", host.base()));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        let outputs = std::fs::read_to_string(&output_file).unwrap_or_default();
        Run { output, outputs }
    }

    fn cached_binary(&self, triple: &str) -> PathBuf {
        self.path(&format!("cache/sisyphus-action/{VERSION}/{triple}/sisyphus-action"))
    }

    /// The `path` output is a private copy of the cached binary under RUNNER_TEMP (what was
    /// hashed is what runs), not the shared tool cache's file.
    fn assert_private_copy(&self, run: &Run, triple: &str) -> PathBuf {
        let path = PathBuf::from(run.get("path").expect("a path output"));
        assert!(path.starts_with(self.path("temp")), "{} is not under RUNNER_TEMP", path.display());
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "the copy's directory is private");
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(self.cached_binary(triple)).unwrap());
        path
    }
}

struct Run {
    output: Output,
    /// What the script wrote to `$GITHUB_OUTPUT`.
    outputs: String,
}

impl Run {
    fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn get(&self, key: &str) -> Option<String> {
        self.outputs.lines().find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_owned))
    }

    fn assert_ok(&self) {
        assert_eq!(self.code(), 0, "install failed: {}", self.stderr());
    }
}

fn host_with(files: &[(&str, Vec<u8>)]) -> ReleaseHost {
    let map: HashMap<String, Vec<u8>> = files
        .iter()
        .map(|(triple, bytes)| (format!("/download/v{VERSION}/{}", asset_name(triple)), bytes.clone()))
        .collect();
    ReleaseHost::start(map)
}

#[test]
fn picks_the_asset_for_the_runner_os_and_arch() {
    let world = World::new();
    let (x64, arm) = (world.archive(X64, "release"), world.archive(ARM64, "release"));
    world.commit_checksum(X64, &x64);
    world.commit_checksum(ARM64, &arm);
    let host = host_with(&[(X64, x64), (ARM64, arm)]);

    for (arch, triple) in [("X64", X64), ("ARM64", ARM64)] {
        let run = world.install(&host, "Linux", arch, &[]);
        run.assert_ok();
        let path = world.assert_private_copy(&run, triple);
        // The installed file is the one from this triple's archive.
        let printed = Command::new(&path).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), format!("{triple} release"));
    }
    assert_eq!(
        host.requests(),
        vec![
            format!("/download/v{VERSION}/{}", asset_name(X64)),
            format!("/download/v{VERSION}/{}", asset_name(ARM64)),
        ]
    );
}

#[test]
fn a_matching_checksum_installs_into_the_tool_cache() {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_checksum(X64, &x64);
    let host = host_with(&[(X64, x64)]);

    let run = world.install(&host, "Linux", "X64", &[]);
    run.assert_ok();
    assert_eq!(run.get("source").as_deref(), Some("download"));
    assert_eq!(run.get("fallback"), None);
    let bin = world.cached_binary(X64);
    assert_eq!(std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777, 0o755);
    world.assert_private_copy(&run, X64);
    // Installing must not run the binary.
    assert!(!world.ran_marker().exists(), "the install script executed the binary");
    // Nothing but the private copy is left behind in the temp dir.
    assert_eq!(std::fs::read_dir(world.path("temp")).unwrap().count(), 1);
}

#[test]
fn a_checksum_mismatch_is_refused_and_nothing_is_executed() {
    let world = World::new();
    let committed = world.archive(X64, "release");
    world.commit_checksum(X64, &committed);
    // The host serves a different archive under the same name.
    let host = host_with(&[(X64, world.archive(X64, "tampered"))]);

    let run = world.install(&host, "Linux", "X64", &[]);
    assert_eq!(run.code(), 1, "a mismatch must fail the step");
    let stderr = run.stderr();
    assert!(stderr.contains("checksum mismatch"), "unclear error: {stderr}");
    assert!(stderr.contains(&asset_name(X64)), "error does not name the asset: {stderr}");
    assert!(stderr.contains("refusing"), "error does not say it refused: {stderr}");
    assert_eq!(run.get("path"), None);
    assert_eq!(run.get("fallback"), None, "a tampered release must not silently fall back");
    assert!(!world.cached_binary(X64).exists(), "the tampered binary was installed");
    assert!(!world.ran_marker().exists(), "the tampered binary was executed");
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn a_missing_asset_falls_back_to_a_source_build() {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_checksum(X64, &x64);
    let host = host_with(&[]);

    let run = world.install(&host, "Linux", "X64", &[]);
    run.assert_ok();
    let reason = run.get("fallback").expect("a fallback output");
    assert!(reason.contains("not found") && reason.contains(&asset_name(X64)), "{reason}");
    assert_eq!(run.get("path"), None, "action.yml builds from source only when `path` is empty");
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn an_unknown_platform_falls_back_without_any_request() {
    let world = World::new();
    let host = host_with(&[]);
    for (os, arch) in [("Windows", "X64"), ("macOS", "ARM64"), ("Linux", "ARM")] {
        let run = world.install(&host, os, arch, &[]);
        run.assert_ok();
        assert_eq!(run.get("fallback"), Some(format!("no prebuilt binary for {os}/{arch}")));
        assert_eq!(run.get("path"), None);
    }
    assert_eq!(host.requests(), Vec::<String>::new());
}

#[test]
fn without_a_committed_checksum_nothing_is_downloaded() {
    let world = World::new();
    // The host has the asset, but this checkout has no checksum for it (e.g. an unreleased commit).
    let host = host_with(&[(X64, world.archive(X64, "release"))]);
    let run = world.install(&host, "Linux", "X64", &[]);
    run.assert_ok();
    assert!(run.get("fallback").unwrap().contains("no committed checksum"));
    assert_eq!(host.requests(), Vec::<String>::new());
}

#[test]
fn build_from_source_skips_the_download() {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_checksum(X64, &x64);
    let host = host_with(&[(X64, x64)]);

    let run = world.install(&host, "Linux", "X64", &[("SISYPHUS_BUILD_FROM_SOURCE", "true")]);
    run.assert_ok();
    assert_eq!(run.get("fallback").as_deref(), Some("build-from-source is true"));
    assert_eq!(host.requests(), Vec::<String>::new());

    let bad = world.install(&host, "Linux", "X64", &[("SISYPHUS_BUILD_FROM_SOURCE", "maybe")]);
    assert_eq!(bad.code(), 1);
    assert!(bad.stderr().contains("build-from-source"), "{}", bad.stderr());
}

#[test]
fn a_cached_binary_is_reused_without_a_download() {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_checksum(X64, &x64);
    let first_host = host_with(&[(X64, x64)]);
    world.install(&first_host, "Linux", "X64", &[]).assert_ok();
    assert_eq!(first_host.requests().len(), 1);

    // A host with nothing on it: the second install must not even ask.
    let empty_host = host_with(&[]);
    let run = world.install(&empty_host, "Linux", "X64", &[]);
    run.assert_ok();
    assert_eq!(run.get("source").as_deref(), Some("cache"));
    world.assert_private_copy(&run, X64);
    assert_eq!(empty_host.requests(), Vec::<String>::new());
}

/// A world whose committed checksums (archive and binary) name the one x86_64 release the
/// host serves.
fn one_release() -> (World, ReleaseHost) {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_checksum(X64, &x64);
    let host = host_with(&[(X64, x64)]);
    (world, host)
}

#[test]
fn the_binary_that_runs_is_the_copy_that_was_verified() {
    let (world, host) = one_release();
    for expected_source in ["download", "cache"] {
        let run = world.install(&host, "Linux", "X64", &[]);
        run.assert_ok();
        assert_eq!(run.get("source").as_deref(), Some(expected_source));
        let path = world.assert_private_copy(&run, X64);
        // Replaced in the shared cache after the check, before the run step executes it.
        std::fs::write(world.cached_binary(X64), "#!/bin/sh\necho swapped\n").unwrap();
        let printed = Command::new(&path).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), format!("{X64} release"));
        // Put the release binary back for the cache round.
        std::fs::copy(&path, world.cached_binary(X64)).unwrap();
        std::fs::set_permissions(world.cached_binary(X64), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn an_altered_cache_entry_is_replaced_not_trusted() {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_checksum(X64, &x64);
    let host = host_with(&[(X64, x64)]);
    world.install(&host, "Linux", "X64", &[]).assert_ok();

    let bin = world.cached_binary(X64);
    std::fs::write(&bin, "#!/bin/sh\necho altered\n").unwrap();
    let run = world.install(&host, "Linux", "X64", &[]);
    run.assert_ok();
    assert_eq!(run.get("source").as_deref(), Some("download"));
    assert_eq!(host.requests().len(), 2);
    let printed = Command::new(&bin).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), format!("{X64} release"));
}

/// The attack on a self-hosted runner: an earlier job's agent replaces the cached binary and
/// rewrites the marker an earlier version of the script trusted (archive hash, binary hash).
fn tamper_with_the_cache(world: &World) {
    let bin = world.cached_binary(X64);
    let evil = format!("#!/bin/sh\ntouch '{}'\necho tampered\n", world.ran_marker().display());
    std::fs::write(&bin, evil).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let archive_hash = std::fs::read_to_string(world.checksums())
        .unwrap()
        .lines()
        .find(|l| l.ends_with(&asset_name(X64)))
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap();
    let marker = world.path(&format!("cache/sisyphus-action/{VERSION}/{X64}.complete"));
    std::fs::write(marker, format!("{archive_hash} {}\n", sha256(&bin))).unwrap();
}

/// Installs, tampers with the cache, installs again: the second install must download and
/// verify the release again, run nothing, and put the release binary back.
fn reinstall_over_a_tampered_cache(binary_hash_committed: bool) -> Run {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    if binary_hash_committed {
        world.commit_checksum(X64, &x64);
    } else {
        world.commit_archive_checksum(X64, &x64);
    }
    let host = host_with(&[(X64, x64)]);
    world.install(&host, "Linux", "X64", &[]).assert_ok();
    tamper_with_the_cache(&world);

    let run = world.install(&host, "Linux", "X64", &[]);
    run.assert_ok();
    assert_eq!(run.get("source").as_deref(), Some("download"), "{}", run.stderr());
    assert_eq!(host.requests().len(), 2);
    assert!(!world.ran_marker().exists(), "the install script executed a binary");
    let printed = Command::new(world.cached_binary(X64)).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), format!("{X64} release"), "the release binary is back");
    run
}

#[test]
fn a_tampered_cached_binary_with_a_forged_marker_is_never_run() {
    let run = reinstall_over_a_tampered_cache(true);
    assert!(run.stderr().contains("does not match the committed checksum"), "{}", run.stderr());
}

#[test]
fn without_a_committed_binary_hash_the_cache_is_not_trusted() {
    // The archive is downloaded and verified again, every time.
    let run = reinstall_over_a_tampered_cache(false);
    assert!(run.stderr().contains("is not trusted"), "{}", run.stderr());
}

#[test]
fn an_archive_whose_binary_does_not_match_its_committed_hash_is_refused() {
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_archive_checksum(X64, &x64);
    let other = world.path("assets/other");
    std::fs::write(&other, "#!/bin/sh\necho other\n").unwrap();
    world.commit_line(&format!("{}  sisyphus-action-{VERSION}-{X64}/sisyphus-action", sha256(&other)));
    let host = host_with(&[(X64, x64)]);

    let run = world.install(&host, "Linux", "X64", &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("checksum mismatch") && run.stderr().contains("refusing"), "{}", run.stderr());
    assert_eq!(run.get("path"), None);
    assert!(!world.cached_binary(X64).exists() && !world.ran_marker().exists());
}

#[test]
fn the_default_release_url_comes_from_the_committed_repository() {
    // No SISYPHUS_RELEASE_BASE_URL: the URL is built from GITHUB_SERVER_URL and the checksum
    // file's `# repository:` line, as on a real runner.
    let world = World::new();
    let x64 = world.archive(X64, "release");
    world.commit_checksum(X64, &x64);
    let host = ReleaseHost::start(HashMap::from([(
        format!("/example/sisyphus-action/releases/download/v{VERSION}/{}", asset_name(X64)),
        x64,
    )]));
    let run =
        world.install(&host, "Linux", "X64", &[("SISYPHUS_RELEASE_BASE_URL", ""), ("GITHUB_SERVER_URL", host.base())]);
    run.assert_ok();
    assert_eq!(run.get("source").as_deref(), Some("download"), "{}", run.stderr());
}

#[test]
fn checksums_written_by_the_release_script_are_accepted_by_the_install_script() {
    // scripts/update-checksums.sh is what release.yml runs; its output must be what
    // install-binary.sh trusts, repository line included.
    let world = World::new();
    let out = world.path("release-out");
    std::fs::create_dir_all(&out).unwrap();
    let mut files = HashMap::new();
    for triple in [X64, ARM64] {
        let bytes = world.archive(triple, "release");
        std::fs::write(out.join(asset_name(triple)), &bytes).unwrap();
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("sha256sum '{0}' > '{0}.sha256'", asset_name(triple)))
            .current_dir(&out)
            .status()
            .unwrap();
        assert!(status.success());
        files.insert(format!("/acme/sisyphus-action/releases/download/v{VERSION}/{}", asset_name(triple)), bytes);
    }
    let update = |version: &str| {
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/update-checksums.sh"))
            .args([version, "acme/sisyphus-action"])
            .arg(&out)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SISYPHUS_CHECKSUMS", world.checksums())
            .output()
            .unwrap()
    };
    // A version the archives are not named for is refused, and the file is left alone.
    let before = std::fs::read_to_string(world.checksums()).unwrap();
    let wrong = update("1.0.0");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("is not a sha256 line"));
    assert_eq!(std::fs::read_to_string(world.checksums()).unwrap(), before);

    let right = update(VERSION);
    assert!(right.status.success(), "{}", String::from_utf8_lossy(&right.stderr));
    let text = std::fs::read_to_string(world.checksums()).unwrap();
    assert!(text.contains("# repository: acme/sisyphus-action\n"), "{text}");
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 4, "{text}");
    for triple in [X64, ARM64] {
        let binary = format!("  sisyphus-action-{VERSION}-{triple}/sisyphus-action");
        assert!(text.lines().any(|l| l.ends_with(&binary)), "the binary's own hash is recorded: {text}");
    }

    let host = ReleaseHost::start(files);
    for arch in ["X64", "ARM64"] {
        let run = world.install(
            &host,
            "Linux",
            arch,
            &[("SISYPHUS_RELEASE_BASE_URL", ""), ("GITHUB_SERVER_URL", host.base())],
        );
        run.assert_ok();
        assert_eq!(run.get("source").as_deref(), Some("download"), "{}", run.stderr());
        // And the next job reuses it, verified against the binary hash the release recorded.
        let again = world.install(&host, "Linux", arch, &[("SISYPHUS_RELEASE_BASE_URL", "")]);
        again.assert_ok();
        assert_eq!(again.get("source").as_deref(), Some("cache"), "{}", again.stderr());
    }
    assert_eq!(host.requests().len(), 2);
}
