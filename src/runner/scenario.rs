//! The contract between the runner and whatever executes one scenario script.
//!
//! The runner decides *which* scenarios run, *when*, how often and for how long; an [`Executor`]
//! runs exactly one attempt of one scenario against its own fresh cluster and says how it went.
//! Keeping this boundary small lets the runner be tested with fake executors and lets the
//! script engine be written without knowing about concurrency, retries or reporting.

use futures::future::BoxFuture;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One scenario file selected for the run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scenario {
    pub path: PathBuf,
    /// The path as displayed and matched by `--filter`, e.g. `scripts/hello.rhai`.
    pub name: String,
}

impl Scenario {
    /// A scenario whose displayed name is its path as given.
    pub fn from_path(path: PathBuf) -> Scenario {
        let name = path.to_string_lossy().into_owned();
        Scenario { path, name }
    }
}

/// `scripts/agent_lost.rhai` → `scripts_agent_lost`: one flat folder name per scenario: where the
/// executor keeps an attempt's artifacts, and what the HTML report names its sections after.
pub fn artifact_folder(display: &str) -> String {
    let stem = display.strip_suffix(".rhai").unwrap_or(display);
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// How one attempt ended. The strings are the full human-readable reason, possibly multi-line
/// (error with file:line:col, the source line with a caret, the last log lines, a snapshot diff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// An assertion or expectation in the scenario did not hold.
    Failed(String),
    /// The scenario, or one of its waits, ran out of time.
    TimedOut(String),
    /// The script itself is wrong (does not compile, calls an unknown function): retrying cannot help.
    ScriptError(String),
    /// The machine cannot run scenarios (no Docker, a port in use): retrying cannot help either.
    EnvironmentError(String),
    /// Stopped because the run was cancelled (Ctrl-C or `--fail-fast`).
    Cancelled,
    /// The scenario needs what this run lacks (e.g. `requires_docker()` on the embedded
    /// backend) and said so before doing anything.
    Skipped(String),
}

impl Outcome {
    /// The failure reason, `None` for passed and cancelled attempts.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Failed(r)
            | Outcome::TimedOut(r)
            | Outcome::ScriptError(r)
            | Outcome::EnvironmentError(r)
            | Outcome::Skipped(r) => Some(r),
            Outcome::Passed | Outcome::Cancelled => None,
        }
    }
}

/// The result of one attempt at one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub outcome: Outcome,
    /// Wall time of the attempt. The runner overwrites what the executor puts here with the time
    /// it measured itself, so every reporter sees comparable numbers, timeouts included.
    pub duration: Duration,
    /// The scenario's log lines.
    pub output: Vec<String>,
    /// Files the attempt left for the user to look at (logs, state dumps, pending snapshots).
    pub artifacts: Vec<PathBuf>,
    /// What the script and the cluster did, in time (empty for attempts that ran no script).
    pub timeline: super::timeline::Timeline,
}

impl Attempt {
    /// An attempt with no output or artifacts; convenient for outcomes decided by the runner.
    pub fn bare(outcome: Outcome, duration: Duration) -> Attempt {
        Attempt {
            outcome,
            duration,
            output: Vec::new(),
            artifacts: Vec::new(),
            timeline: Default::default(),
        }
    }
}

/// What an executor gets besides the scenario.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Cancelled on timeout, `--fail-fast` or Ctrl-C. The executor must then tear its cluster down
    /// and return promptly; the runner waits a grace period before abandoning the attempt.
    pub cancel: CancellationToken,
    /// 1-based; greater than 1 for retries.
    pub attempt: u32,
    /// The per-scenario timeout the runner enforces, for executors that want to report
    /// a better reason (which step was running) before the runner's own timer fires.
    pub timeout: Duration,
}

/// Runs one attempt of one scenario. Implemented by the Rhai script engine (and by fakes in tests).
pub trait Executor: Send + Sync + 'static {
    fn run(&self, scenario: Scenario, ctx: RunContext) -> BoxFuture<'static, Attempt>;
}
