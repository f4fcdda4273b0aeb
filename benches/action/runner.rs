//! A small stand-in for the GitHub runner's composite-action executor, so the bench can time the
//! action from its first step's start as users feel it (no runner is available here).
//!
//! What it does, as the runner does for `runs.using: composite`: reads `action.yml`, resolves the
//! inputs (the given `with:` values, else the defaults, which may be expressions), and runs each
//! step in order: `if:` evaluated (default `success()`), `${{ … }}` substituted in `run:` and in
//! the step's `env:`, the script written to a file under `RUNNER_TEMP` and run with the step's
//! `shell:` (`bash` and `sh` expand as the runner expands them; a custom shell line has `{0}`
//! replaced by the file), in `GITHUB_WORKSPACE`, with the job's environment plus the step's.
//! Each step gets its own `GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_STATE` and
//! `GITHUB_STEP_SUMMARY` files; after it, its outputs become `steps.<id>.outputs.*`, its `GITHUB_ENV`
//! lines join the environment of later steps and its `GITHUB_PATH` lines go in front of `PATH`.
//! At the end the action's `outputs:` are evaluated.
//!
//! What it does not do: `uses:` steps, `working-directory`, `continue-on-error`, `timeout-minutes`,
//! workflow commands on stdout (`::set-output::`, masking), and expression functions other than
//! the status ones (`success()`, `always()`, `failure()`, `cancelled()`). Anything it does not
//! know is an error, not a guess. Values are strings (or `true`/`false`/`null` literals); `==`
//! compares as the runner compares strings, ignoring case.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_yaml_ng::Value as Yaml;

/// One `run:` step of the action.
#[derive(Debug, Clone)]
struct Step {
    id: String,
    condition: Option<String>,
    shell: String,
    run: String,
    env: Vec<(String, String)>,
}

/// `action.yml`, as far as a composite action's steps need it.
#[derive(Debug, Clone)]
pub struct Action {
    /// Input names with their defaults (unexpanded).
    inputs: BTreeMap<String, String>,
    /// Output names with their `value:` expressions.
    outputs: BTreeMap<String, String>,
    steps: Vec<Step>,
}

/// What one step did.
#[derive(Debug)]
pub struct StepRun {
    pub id: String,
    /// `None`: its `if:` was false, it did not run.
    pub status: Option<ExitStatus>,
    pub started: Instant,
    pub ended: Instant,
    pub outputs: BTreeMap<String, String>,
    /// Its stdout and stderr, as the runner's log shows them.
    pub log: String,
}

/// One run of the whole action.
#[derive(Debug)]
pub struct Ran {
    /// When the first step was started (its `if:` evaluated, its process spawned).
    pub started: Instant,
    pub ended: Instant,
    pub steps: Vec<StepRun>,
    /// The action's `outputs:`.
    pub outputs: BTreeMap<String, String>,
}

impl Ran {
    pub fn step(&self, id: &str) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Every step's log, in order, headed by its id (for failure messages).
    pub fn logs(&self) -> String {
        self.steps.iter().map(|s| format!("--- step `{}` ({:?})\n{}", s.id, s.status, s.log)).collect()
    }

    /// Every step that ran succeeded.
    pub fn succeeded(&self) -> bool {
        self.steps.iter().all(|s| s.status.is_none_or(|st| st.success()))
    }
}

/// What the runner knows about the job: its environment (`GITHUB_*`, `RUNNER_*`, `PATH`, …,
/// no `INPUT_*`: a composite action's inputs reach its steps only through `${{ inputs.* }}`),
/// the `with:` inputs, the token, and where the action is checked out.
pub struct Job {
    pub env: BTreeMap<OsString, OsString>,
    pub with: BTreeMap<String, String>,
    pub token: String,
    pub action_path: PathBuf,
    /// The longest any one step may take.
    pub step_limit: Duration,
}

fn text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Action {
    pub fn load(path: &Path) -> Result<Self, String> {
        let raw = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let yaml: Yaml = serde_yaml_ng::from_str(&raw).map_err(|e| format!("`{}` is not YAML: {e}", path.display()))?;
        if yaml["runs"]["using"].as_str() != Some("composite") {
            return Err("action.yml is not a composite action".into());
        }
        let map = |v: &Yaml, key: &str| -> BTreeMap<String, String> {
            v.as_mapping()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((text(k)?, v.get(key).and_then(text).unwrap_or_default())))
                .collect()
        };
        let inputs = map(&yaml["inputs"], "default");
        let outputs = map(&yaml["outputs"], "value");
        let Some(steps) = yaml["runs"]["steps"].as_sequence() else { return Err("action.yml has no steps".into()) };
        let steps = steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let id = s.get("id").and_then(text).unwrap_or_else(|| format!("__step{i}"));
                if s.get("uses").is_some() {
                    return Err(format!("step `{id}`: `uses:` steps are not supported"));
                }
                let run = s.get("run").and_then(text).ok_or_else(|| format!("step `{id}` has no `run:`"))?;
                // A composite action's `run:` step must name its shell.
                let shell = s.get("shell").and_then(text).ok_or_else(|| format!("step `{id}` has no `shell:`"))?;
                let env = s
                    .get("env")
                    .and_then(Yaml::as_mapping)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| Ok((text(k).ok_or("an env name")?, text(v).unwrap_or_default())))
                    .collect::<Result<Vec<_>, String>>()?;
                Ok(Step { id, condition: s.get("if").and_then(text), shell, run, env })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self { inputs, outputs, steps })
    }

    /// Runs the steps in order, as the runner would for `uses: ./` with `job.with`.
    pub fn run(&self, job: &Job) -> Result<Ran, String> {
        for name in job.with.keys() {
            if !self.inputs.contains_key(name) {
                return Err(format!("`with:` names `{name}`, which action.yml does not declare"));
            }
        }
        let temp =
            job.env.get(&OsString::from("RUNNER_TEMP")).map(PathBuf::from).ok_or("the job has no RUNNER_TEMP")?;
        let files = temp.join("_runner_file_commands");
        std::fs::create_dir_all(&files).map_err(|e| format!("cannot create `{}`: {e}", files.display()))?;
        let workspace = job.env.get(&OsString::from("GITHUB_WORKSPACE")).map(PathBuf::from).unwrap_or(temp.clone());
        let mut env = job.env.clone();
        let mut state = State { job, action: self, env: BTreeMap::new(), steps: BTreeMap::new(), failed: false };
        let started = Instant::now();
        let mut runs = Vec::new();
        for (n, step) in self.steps.iter().enumerate() {
            state.env = env.clone();
            let step_started = Instant::now();
            let condition = step.condition.as_deref().unwrap_or("success()");
            let wanted = eval(strip_braces(condition), &state)
                .map_err(|e| format!("step `{}`: `if: {condition}`: {e}", step.id))?
                .truthy();
            // A condition without a status function means `success() && (…)`.
            let has_status_fn =
                ["success()", "always()", "failure()", "cancelled()"].iter().any(|f| condition.contains(f));
            if !wanted || (state.failed && !has_status_fn) {
                let now = Instant::now();
                let skipped = StepRun {
                    id: step.id.clone(),
                    status: None,
                    started: now,
                    ended: now,
                    outputs: BTreeMap::new(),
                    log: String::new(),
                };
                state.steps.insert(step.id.clone(), (BTreeMap::new(), "skipped"));
                runs.push(skipped);
                continue;
            }
            let script = substitute(&step.run, &state).map_err(|e| format!("step `{}`: `run:`: {e}", step.id))?;
            let mut step_env = env.clone();
            for (name, value) in &step.env {
                let value = substitute(value, &state).map_err(|e| format!("step `{}`: env `{name}`: {e}", step.id))?;
                step_env.insert(name.into(), value.into());
            }
            let file = |kind: &str| files.join(format!("{kind}_{n}_{}", std::process::id()));
            let (output, env_file, path_file) = (file("set_output"), file("set_env"), file("add_path"));
            for (name, path) in [
                ("GITHUB_OUTPUT", &output),
                ("GITHUB_ENV", &env_file),
                ("GITHUB_PATH", &path_file),
                ("GITHUB_STATE", &file("save_state")),
                ("GITHUB_STEP_SUMMARY", &file("step_summary")),
            ] {
                File::create(path).map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
                step_env.insert(name.into(), path.into());
            }
            step_env.insert("GITHUB_ACTION_PATH".into(), job.action_path.clone().into());
            step_env.insert("GITHUB_ACTION".into(), step.id.clone().into());
            let script_path = temp.join(format!("{}_{n}_{}.sh", step.id, std::process::id()));
            std::fs::write(&script_path, &script)
                .map_err(|e| format!("cannot write `{}`: {e}", script_path.display()))?;
            let argv = shell_argv(&step.shell, &script_path)?;
            let log_path = temp.join(format!("{}_{n}_{}.log", step.id, std::process::id()));
            let log = File::create(&log_path).map_err(|e| format!("cannot create `{}`: {e}", log_path.display()))?;
            let log2 = log.try_clone().map_err(|e| format!("cannot share the step log: {e}"))?;
            let child = Command::new(&argv[0])
                .args(&argv[1..])
                .env_clear()
                .envs(&step_env)
                .current_dir(&workspace)
                .stdin(Stdio::null())
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(log2))
                .spawn()
                .map_err(|e| format!("step `{}`: cannot start `{}`: {e}", step.id, argv[0]))?;
            let status = wait_limited(child, job.step_limit).map_err(|e| format!("step `{}`: {e}", step.id))?;
            let ended = Instant::now();
            // The last value of a name wins.
            let outputs: BTreeMap<String, String> = parse_file_command(&read(&output)?)?.into_iter().collect();
            for (name, value) in parse_file_command(&read(&env_file)?)? {
                env.insert(name.into(), value.into());
            }
            let added: Vec<String> = read(&path_file)?.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
            if !added.is_empty() {
                let old = env.get(&OsString::from("PATH")).cloned().unwrap_or_default();
                let mut parts: Vec<PathBuf> = added.iter().rev().map(PathBuf::from).collect();
                parts.extend(std::env::split_paths(&old));
                let joined = std::env::join_paths(parts).map_err(|e| format!("a GITHUB_PATH entry: {e}"))?;
                env.insert("PATH".into(), joined);
            }
            let outcome = if status.success() { "success" } else { "failure" };
            state.failed |= !status.success();
            state.steps.insert(step.id.clone(), (outputs.clone(), outcome));
            let log = read(&log_path)?;
            runs.push(StepRun {
                id: step.id.clone(),
                status: Some(status),
                started: step_started,
                ended,
                outputs,
                log,
            });
        }
        state.env = env;
        let outputs = self
            .outputs
            .iter()
            .map(|(name, value)| Ok((name.clone(), substitute(value, &state)?)))
            .collect::<Result<BTreeMap<_, _>, String>>()?;
        Ok(Ran { started, ended: Instant::now(), steps: runs, outputs })
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

fn wait_limited(mut child: std::process::Child, limit: Duration) -> Result<ExitStatus, String> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("cannot wait: {e}"))? {
            return Ok(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The argv of a step's shell, as the runner expands it.
fn shell_argv(shell: &str, script: &Path) -> Result<Vec<String>, String> {
    let line = match shell {
        "bash" => "bash --noprofile --norc -eo pipefail {0}",
        "sh" => "sh -e {0}",
        other if other.split_whitespace().any(|w| w == "{0}") => other,
        other if !other.contains(' ') => return Err(format!("shell `{other}` is not supported")),
        other => {
            return Ok(other.split_whitespace().map(str::to_owned).chain([script.display().to_string()]).collect());
        }
    };
    let script = script.display().to_string();
    Ok(line.split_whitespace().map(|w| if w == "{0}" { script.clone() } else { w.to_owned() }).collect())
}

/// `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks.
fn parse_file_command(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            loop {
                match lines.next() {
                    Some(l) if l == delimiter => break,
                    Some(l) => value.push(l),
                    None => return Err(format!("`{name}<<{delimiter}` is never closed")),
                }
            }
            out.push((name.to_owned(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            out.push((name.to_owned(), value.to_owned()));
        } else {
            return Err(format!("file command line `{line}` is neither `name=value` nor `name<<delimiter`"));
        }
    }
    Ok(out)
}

// ----- expressions -----

/// What expressions read: the job, the steps so far, the environment.
struct State<'a> {
    job: &'a Job,
    action: &'a Action,
    env: BTreeMap<OsString, OsString>,
    /// Each finished step's outputs and outcome.
    steps: BTreeMap<String, (BTreeMap<String, String>, &'static str)>,
    failed: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Bool(bool),
    Null,
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Bool(b) => *b,
            Val::Null => false,
        }
    }

    fn show(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
            Val::Null => String::new(),
        }
    }
}

fn strip_braces(expr: &str) -> &str {
    let t = expr.trim();
    t.strip_prefix("${{").and_then(|t| t.strip_suffix("}}")).unwrap_or(t)
}

/// `text` with every `${{ … }}` replaced by its value.
fn substitute(text: &str, state: &State) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let end = after.find("}}").ok_or_else(|| format!("unclosed `${{{{` in `{text}`"))?;
        out.push_str(&eval(&after[..end], state)?.show());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Word(String),
    Or,
    And,
    Eq,
    Ne,
    Not,
    Open,
    Close,
}

fn lex(expr: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match c {
            _ if c.is_whitespace() => i += 1,
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('\''), Some('\'')) => {
                            s.push('\'');
                            i += 2;
                        }
                        (Some('\''), _) => break,
                        (Some(c), _) => {
                            s.push(*c);
                            i += 1;
                        }
                        (None, _) => return Err(format!("unclosed string in `{expr}`")),
                    }
                }
                i += 1;
                toks.push(Tok::Str(s));
            }
            '(' | ')' => {
                toks.push(if c == '(' { Tok::Open } else { Tok::Close });
                i += 1;
            }
            _ if ["||", "&&", "==", "!="].contains(&two.as_str()) => {
                toks.push(match two.as_str() {
                    "||" => Tok::Or,
                    "&&" => Tok::And,
                    "==" => Tok::Eq,
                    _ => Tok::Ne,
                });
                i += 2;
            }
            '!' => {
                toks.push(Tok::Not);
                i += 1;
            }
            _ if c.is_ascii_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_-.".contains(chars[i])) {
                    i += 1;
                }
                toks.push(Tok::Word(chars[start..i].iter().collect()));
            }
            _ => return Err(format!("unsupported `{c}` in `{expr}`")),
        }
    }
    Ok(toks)
}

/// The value of one expression (the inside of `${{ }}`).
fn eval(expr: &str, state: &State) -> Result<Val, String> {
    let toks = lex(expr)?;
    let mut p = Parser { toks: &toks, at: 0, state };
    let v = p.or()?;
    if p.at != toks.len() {
        return Err(format!("unexpected `{:?}` in `{expr}`", toks[p.at]));
    }
    Ok(v)
}

struct Parser<'a, 'b> {
    toks: &'a [Tok],
    at: usize,
    state: &'a State<'b>,
}

impl Parser<'_, '_> {
    fn eat(&mut self, tok: &Tok) -> bool {
        let hit = self.toks.get(self.at) == Some(tok);
        self.at += usize::from(hit);
        hit
    }

    /// `a || b`: the first truthy operand, else the last.
    fn or(&mut self) -> Result<Val, String> {
        let mut v = self.and()?;
        while self.eat(&Tok::Or) {
            let rhs = self.and()?;
            if !v.truthy() {
                v = rhs;
            }
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<Val, String> {
        let mut v = self.cmp()?;
        while self.eat(&Tok::And) {
            let rhs = self.cmp()?;
            if v.truthy() {
                v = rhs;
            }
        }
        Ok(v)
    }

    fn cmp(&mut self) -> Result<Val, String> {
        let lhs = self.unary()?;
        for (tok, want) in [(Tok::Eq, true), (Tok::Ne, false)] {
            if self.eat(&tok) {
                let rhs = self.unary()?;
                return Ok(Val::Bool(lhs.show().eq_ignore_ascii_case(&rhs.show()) == want));
            }
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Val, String> {
        if self.eat(&Tok::Not) {
            return Ok(Val::Bool(!self.unary()?.truthy()));
        }
        match self.toks.get(self.at).cloned() {
            Some(Tok::Open) => {
                self.at += 1;
                let v = self.or()?;
                if !self.eat(&Tok::Close) {
                    return Err("missing `)`".into());
                }
                Ok(v)
            }
            Some(Tok::Str(s)) => {
                self.at += 1;
                Ok(Val::Str(s))
            }
            Some(Tok::Word(w)) => {
                self.at += 1;
                if self.eat(&Tok::Open) {
                    if !self.eat(&Tok::Close) {
                        return Err(format!("`{w}(…)`: only the status functions (no arguments) are supported"));
                    }
                    return self.status_fn(&w);
                }
                self.lookup(&w)
            }
            other => Err(format!("expected a value, found {other:?}")),
        }
    }

    fn status_fn(&self, name: &str) -> Result<Val, String> {
        let failed = self.state.failed;
        Ok(Val::Bool(match name {
            "success" => !failed,
            "always" => true,
            "failure" => failed,
            "cancelled" => false,
            other => return Err(format!("function `{other}()` is not supported")),
        }))
    }

    /// A literal or a context path: `inputs.x`, `github.x`, `steps.<id>.outputs.<name>`,
    /// `steps.<id>.outcome`, `env.X`, `runner.x`.
    fn lookup(&self, word: &str) -> Result<Val, String> {
        let state = self.state;
        match word {
            "true" => return Ok(Val::Bool(true)),
            "false" => return Ok(Val::Bool(false)),
            "null" => return Ok(Val::Null),
            _ => {}
        }
        let env = |name: &str| state.env.get(&OsString::from(name)).map(|v| Val::Str(v.to_string_lossy().into_owned()));
        let parts: Vec<&str> = word.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => {
                let Some(default) = state.action.inputs.get(*name) else {
                    return Err(format!("input `{name}` is not declared in action.yml"));
                };
                match state.job.with.get(*name) {
                    Some(given) => Ok(Val::Str(given.clone())),
                    None => substitute(default, state).map(Val::Str),
                }
            }
            ["github", "token"] => Ok(Val::Str(state.job.token.clone())),
            ["github", "action_path"] => Ok(Val::Str(state.job.action_path.display().to_string())),
            ["github", name] => Ok(env(&format!("GITHUB_{}", name.to_ascii_uppercase())).unwrap_or(Val::Null)),
            ["runner", name] => Ok(env(&format!("RUNNER_{}", name.to_ascii_uppercase())).unwrap_or(Val::Null)),
            ["env", name] => Ok(env(name).unwrap_or(Val::Null)),
            ["steps", id, rest @ ..] => {
                let Some((outputs, outcome)) = state.steps.get(*id) else { return Ok(Val::Null) };
                match rest {
                    ["outputs", name] => Ok(outputs.get(*name).map_or(Val::Null, |v| Val::Str(v.clone()))),
                    ["outcome"] | ["conclusion"] => Ok(Val::Str((*outcome).to_owned())),
                    _ => Err(format!("`{word}` is not supported")),
                }
            }
            _ => Err(format!("`{word}` is not supported (only inputs, github, runner, env and steps)")),
        }
    }
}
