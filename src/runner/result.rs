//! How one scenario ended, after any retries: its status and every attempt.

use super::scenario::{Attempt, Outcome, Scenario};
use std::time::Duration;

/// A scenario's final status, after any retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pass,
    /// Passed after failing at least once; counts as passed.
    Flaky,
    Fail,
    Timeout,
    ScriptError,
    EnvError,
    Cancelled,
    /// Skipped by the scenario itself: not run, not failed.
    Skip,
}

impl Status {
    /// Whether this status makes the run fail (and triggers `--fail-fast`).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Fail | Status::Timeout | Status::ScriptError | Status::EnvError
        )
    }

    /// The status of a scenario whose last attempt ended with `outcome` after `attempts` tries.
    pub fn from_final_outcome(outcome: &Outcome, attempts: usize) -> Status {
        match outcome {
            Outcome::Passed if attempts > 1 => Status::Flaky,
            Outcome::Passed => Status::Pass,
            Outcome::Failed(_) => Status::Fail,
            Outcome::TimedOut(_) => Status::Timeout,
            Outcome::ScriptError(_) => Status::ScriptError,
            Outcome::EnvironmentError(_) => Status::EnvError,
            Outcome::Cancelled => Status::Cancelled,
            Outcome::Skipped(_) => Status::Skip,
        }
    }
}

/// Everything known about a finished scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub status: Status,
    /// Every attempt in order, the last one decisive. Never empty.
    pub attempts: Vec<Attempt>,
    /// All attempts together.
    pub duration: Duration,
}

impl ScenarioResult {
    pub fn new(scenario: Scenario, attempts: Vec<Attempt>) -> ScenarioResult {
        let duration = attempts.iter().map(|a| a.duration).sum();
        let mut result = ScenarioResult {
            scenario,
            status: Status::Pass,
            attempts,
            duration,
        };
        result.status =
            Status::from_final_outcome(&result.last_attempt().outcome, result.attempts.len());
        result
    }

    /// The decisive attempt.
    pub fn last_attempt(&self) -> &Attempt {
        // The runner makes a result only after an attempt has run (`retry::run_scenario`
        // runs at least one), and reporters only read results.
        self.attempts
            .last()
            .expect("a finished scenario has an attempt")
    }

    /// The full reason of the final failure; `None` when it passed or was cancelled.
    pub fn reason(&self) -> Option<&str> {
        self.attempts.last().and_then(|a| a.outcome.reason())
    }

    /// The attempts that failed before the decisive one (the flaky failures of a flaky pass).
    pub fn earlier_attempts(&self) -> &[Attempt] {
        &self.attempts[..self.attempts.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn attempt(outcome: Outcome, millis: u64) -> Attempt {
        Attempt::bare(outcome, Duration::from_millis(millis))
    }

    #[test]
    fn a_pass_after_a_failure_is_flaky() {
        let result = ScenarioResult::new(
            Scenario::from_path(PathBuf::from("a.rhai")),
            vec![
                attempt(Outcome::Failed("boom".into()), 100),
                attempt(Outcome::Passed, 50),
            ],
        );
        assert_eq!(result.status, Status::Flaky);
        assert_eq!(result.duration, Duration::from_millis(150));
        assert_eq!(result.reason(), None);
        assert_eq!(result.earlier_attempts().len(), 1);
        assert!(!result.status.is_failure());
    }

    #[test]
    fn the_last_attempt_decides() {
        let result = ScenarioResult::new(
            Scenario::from_path(PathBuf::from("a.rhai")),
            vec![
                attempt(Outcome::Failed("first".into()), 1),
                attempt(Outcome::TimedOut("second".into()), 1),
            ],
        );
        assert_eq!(result.status, Status::Timeout);
        assert_eq!(result.reason(), Some("second"));
        assert!(result.status.is_failure());
    }
}
