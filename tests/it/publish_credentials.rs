//! Checkout's persisted credentials, hidden from the agent and put back after it: real git in
//! temp dirs, config shaped as `actions/checkout` v4/v5 (header in `.git/config`) and v6
//! (`includeIf` of a credentials file in `RUNNER_TEMP`, submodules included).

use crate::support::git_repo;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use git_repo::{Repos, git, git_cmd};
use sisyphus_action::isolation::credentials::hide;

/// `base64("x-access-token:ghs_credsTestToken4242")`, as checkout writes it.
const BASIC: &str = "eC1hY2Nlc3MtdG9rZW46Z2hzX2NyZWRzVGVzdFRva2VuNDI0Mg==";
const KEY: &str = "http.https://github.com/.extraheader";

fn header() -> String {
    format!("AUTHORIZATION: basic {BASIC}")
}

/// What `git config --get-regexp` prints in `dir` (includes followed), empty when nothing.
fn config_matching(dir: &Path, pattern: &str) -> String {
    let out = git_cmd(dir, &["config", "--get-regexp", pattern]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dirs` whose bytes contain the encoded token.
fn files_with_token(dirs: &[&Path]) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(&path, found);
            } else if fs::read(&path).unwrap().windows(BASIC.len()).any(|w| w == BASIC.as_bytes()) {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for dir in dirs {
        walk(dir, &mut found);
    }
    found
}

/// checkout v6: a credentials file in `runner_temp`, included by the work tree's config (host,
/// worktrees and container paths) and by a submodule's config.
struct V6 {
    repos: Repos,
    runner_temp: PathBuf,
    creds: PathBuf,
    submodule_config: PathBuf,
}

impl V6 {
    fn new() -> Self {
        let repos = Repos::new("main");
        let runner_temp = repos.root.path().join("runner_temp");
        fs::create_dir_all(&runner_temp).unwrap();
        let creds = runner_temp.join("git-credentials-0b1c2d3e.config");
        fs::write(&creds, format!("[http \"https://github.com/\"]\n\textraheader = {}\n", header())).unwrap();
        fs::set_permissions(&creds, fs::Permissions::from_mode(0o600)).unwrap();
        let git_dir = repos.work.join(".git");
        let creds_path = creds.to_str().unwrap();
        git(&repos.work, &["config", &format!("includeIf.gitdir:{}.path", git_dir.display()), creds_path]);
        git(&repos.work, &["config", &format!("includeIf.gitdir:{}/worktrees/*.path", git_dir.display()), creds_path]);
        let container = "/github/runner_temp/git-credentials-0b1c2d3e.config";
        git(&repos.work, &["config", "includeIf.gitdir:/github/workspace/.git.path", container]);
        // A submodule's git dir, as `git submodule update` lays it out.
        let module = git_dir.join("modules/libs/sub");
        fs::create_dir_all(&module).unwrap();
        fs::write(module.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        let submodule_config = module.join("config");
        fs::write(&submodule_config, "[core]\n\tbare = false\n").unwrap();
        let key = format!("includeIf.gitdir:{}.path", module.display());
        git(&repos.work, &["config", "--file", submodule_config.to_str().unwrap(), &key, creds_path]);
        Self { repos, runner_temp, creds, submodule_config }
    }

    fn config(&self) -> PathBuf {
        self.repos.work.join(".git/config")
    }
}

#[test]
fn v4_header_is_hidden_while_the_agent_runs_and_put_back_after() {
    let repos = Repos::new("main");
    git(&repos.work, &["config", "--local", KEY, &header()]);
    let config = repos.work.join(".git/config");
    let before = fs::read(&config).unwrap();

    let hidden = hide(&repos.work).unwrap();
    assert_eq!(hidden.count(), 1);
    assert_eq!(config_matching(&repos.work, "extraheader"), "");
    assert_eq!(files_with_token(&[repos.root.path()]), Vec::<PathBuf>::new());
    // Other config is untouched.
    assert!(config_matching(&repos.work, "remote.origin.url").contains("repo.git"));

    hidden.restore().unwrap();
    assert_eq!(git(&repos.work, &["config", "--get-all", KEY]), header());
    assert_eq!(fs::read(&config).unwrap(), before, "restored byte for byte");
}

#[test]
fn config_the_agent_changed_keeps_its_changes_and_gets_every_header_back_in_order() {
    let repos = Repos::new("main");
    git(&repos.work, &["config", "--local", "--add", KEY, &header()]);
    git(&repos.work, &["config", "--local", "--add", KEY, "X-Second: \"quoted\" \\ value"]);
    git(&repos.work, &["config", "--local", "--add", "http.extraheader", "X-Any: host"]);

    let hidden = hide(&repos.work).unwrap();
    assert_eq!(hidden.count(), 3);
    assert_eq!(config_matching(&repos.work, "extraheader"), "");
    // Edited in place (same file): its changes stay, ours are added back.
    let mut file = fs::OpenOptions::new().append(true).open(repos.work.join(".git/config")).unwrap();
    std::io::Write::write_all(&mut file, b"[agent]\n\tnote = changed while hidden\n").unwrap();
    hidden.restore().unwrap();

    assert_eq!(git(&repos.work, &["config", "--get-all", KEY]), format!("{}\nX-Second: \"quoted\" \\ value", header()));
    assert_eq!(git(&repos.work, &["config", "--get-all", "http.extraheader"]), "X-Any: host");
    assert_eq!(git(&repos.work, &["config", "agent.note"]), "changed while hidden");
}

#[test]
fn v6_credentials_file_and_its_includes_are_taken_away_and_put_back() {
    let v6 = V6::new();
    let (config_before, submodule_before) = (fs::read(v6.config()).unwrap(), fs::read(&v6.submodule_config).unwrap());
    let creds_before = fs::read(&v6.creds).unwrap();
    assert!(config_matching(&v6.repos.work, "extraheader").contains(BASIC), "the fixture leaks as checkout's does");

    let hidden = hide(&v6.repos.work).unwrap();
    // Host + worktrees include in the work tree, one in the submodule; not the container path.
    assert_eq!(hidden.count(), 3);
    assert!(!v6.creds.exists(), "the credentials file is still in place");
    assert_eq!(config_matching(&v6.repos.work, "extraheader"), "");
    let includes = config_matching(&v6.repos.work, "^includeif");
    assert_eq!(
        includes.trim(),
        "includeif.gitdir:/github/workspace/.git.path /github/runner_temp/git-credentials-0b1c2d3e.config"
    );
    let submodule = git(&v6.repos.work, &["config", "--file", v6.submodule_config.to_str().unwrap(), "--list"]);
    assert!(!submodule.contains("includeif"), "{submodule}");
    assert_eq!(files_with_token(&[v6.repos.root.path()]), Vec::<PathBuf>::new());

    hidden.restore().unwrap();
    assert_eq!(fs::read(&v6.creds).unwrap(), creds_before);
    assert_eq!(fs::metadata(&v6.creds).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::read(v6.config()).unwrap(), config_before);
    assert_eq!(fs::read(&v6.submodule_config).unwrap(), submodule_before);
    assert!(config_matching(&v6.repos.work, "extraheader").contains(BASIC));
    assert!(v6.runner_temp.join("git-credentials-0b1c2d3e.config").is_file());
}

#[test]
fn without_credentials_nothing_changes() {
    let repos = Repos::new("main");
    // An include of a file without a header is somebody's config, not a credential.
    let other = repos.root.path().join("other.config");
    fs::write(&other, "[user]\n\tname = Someone\n").unwrap();
    git(&repos.work, &["config", "include.path", other.to_str().unwrap()]);
    let config = repos.work.join(".git/config");
    let before = fs::read(&config).unwrap();

    let hidden = hide(&repos.work).unwrap();
    assert_eq!(hidden.count(), 0);
    assert_eq!(fs::read(&config).unwrap(), before);
    assert!(other.is_file());
    hidden.restore().unwrap();
    assert_eq!(fs::read(&config).unwrap(), before);

    // Not a repository at all: nothing to hide, no error.
    let plain = tempfile::tempdir().unwrap();
    assert_eq!(hide(plain.path()).unwrap().count(), 0);
}

#[test]
fn dropping_without_restore_puts_everything_back() {
    let v6 = V6::new();
    git(&v6.repos.work, &["config", "--local", KEY, &header()]);
    let config_before = fs::read(v6.config()).unwrap();

    // The harness panics while the credentials are hidden (as an early return would leave them).
    let work = v6.repos.work.clone();
    let creds = v6.creds.clone();
    let crashed = std::panic::catch_unwind(move || {
        let _hidden = hide(&work).unwrap();
        assert!(!creds.exists());
        assert_eq!(config_matching(&work, "extraheader"), "");
        panic!("the agent's thread failed");
    });
    assert!(crashed.is_err());
    assert_eq!(fs::read(v6.config()).unwrap(), config_before);
    assert!(v6.creds.is_file());
    assert_eq!(config_matching(&v6.repos.work, "extraheader").matches(BASIC).count(), 2);
}

/// When a process the agent started survives, the credentials stay out for good: nothing is
/// written back, now or when the value would have dropped.
#[test]
fn discarded_credentials_stay_out_of_every_file() {
    let v6 = V6::new();
    git(&v6.repos.work, &["config", "--local", KEY, &header()]);

    let hidden = hide(&v6.repos.work).unwrap();
    assert_eq!(hidden.count(), 4);
    hidden.discard();
    assert!(!v6.creds.exists(), "the credentials file came back");
    assert_eq!(config_matching(&v6.repos.work, "extraheader"), "");
    assert_eq!(files_with_token(&[v6.repos.root.path()]), Vec::<PathBuf>::new());
}

#[test]
fn a_config_replaced_while_hidden_gets_nothing_back() {
    let repos = Repos::new("main");
    git(&repos.work, &["config", "--local", KEY, &header()]);
    let hidden = hide(&repos.work).unwrap();
    // `git config` writes a new file (lock file + rename): not the file we left.
    git(&repos.work, &["config", "--local", "agent.note", "replaced"]);
    let err = hidden.restore().unwrap_err();
    assert!(format!("{err:#}").contains("replaced"), "{err:#}");
    assert_eq!(config_matching(&repos.work, "extraheader"), "", "nothing restored into a new file");
    assert_eq!(files_with_token(&[repos.root.path()]), Vec::<PathBuf>::new());
}

#[test]
fn nothing_is_written_through_a_symlinked_config() {
    let repos = Repos::new("main");
    git(&repos.work, &["config", "--local", KEY, &header()]);
    let config = repos.work.join(".git/config");
    let hidden = hide(&repos.work).unwrap();
    // The agent makes `.git/config` a link into the work tree, hoping the header is written
    // there and committed.
    let planted = repos.work.join("config.txt");
    fs::copy(&config, &planted).unwrap();
    fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink(&planted, &config).unwrap();
    assert!(hidden.restore().is_err(), "a replaced config is reported");
    assert_eq!(files_with_token(&[repos.root.path()]), Vec::<PathBuf>::new(), "the header went nowhere");
}

#[test]
fn a_credentials_file_replaced_by_a_symlink_is_not_written_through() {
    let v6 = V6::new();
    let hidden = hide(&v6.repos.work).unwrap();
    assert!(!v6.creds.exists());
    let planted = v6.repos.work.join("creds.txt");
    fs::write(&planted, "").unwrap();
    std::os::unix::fs::symlink(&planted, &v6.creds).unwrap();
    assert!(hidden.restore().is_err());
    assert_eq!(fs::read(&planted).unwrap(), b"", "nothing written through the link");
}
