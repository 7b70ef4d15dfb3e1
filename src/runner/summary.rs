//! The tally of a run and the exit code it maps to.

use super::result::{ScenarioResult, Status};
use crate::exit_codes;
use std::time::Duration;

/// Why a run stopped before running everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// `--fail-fast` and a scenario finished with a failure.
    FailFast,
    /// Ctrl-C (or SIGTERM).
    Interrupt,
}

/// Counts of a finished run. `passed` includes `flaky`; `skipped` scenarios never started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Scenarios selected for the run.
    pub total: usize,
    pub passed: usize,
    pub flaky: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub script_errors: usize,
    pub environment_errors: usize,
    pub cancelled: usize,
    pub skipped: usize,
    /// Of `skipped`, those that skipped themselves (`requires_docker()`); the rest were never
    /// started because the run stopped early.
    pub skipped_by_scenario: usize,
    pub elapsed: Duration,
    /// Why the run stopped early, if it did (the first reason, when both happened).
    pub stopped_early: Option<CancelReason>,
    /// Ctrl-C was pressed, even if the run was already stopping because of `--fail-fast`.
    pub interrupted: bool,
}

impl RunSummary {
    pub fn new(total: usize) -> RunSummary {
        RunSummary {
            total,
            ..RunSummary::default()
        }
    }

    pub fn record(&mut self, result: &ScenarioResult) {
        match result.status {
            Status::Pass => self.passed += 1,
            Status::Flaky => {
                self.passed += 1;
                self.flaky += 1;
            }
            Status::Fail => self.failed += 1,
            Status::Timeout => self.timed_out += 1,
            Status::ScriptError => self.script_errors += 1,
            Status::EnvError => self.environment_errors += 1,
            Status::Cancelled => self.cancelled += 1,
            Status::Skip => {
                self.skipped += 1;
                self.skipped_by_scenario += 1;
            }
        }
    }

    /// Scenarios that were started (including those cancelled while running).
    pub fn run(&self) -> usize {
        self.total - self.skipped
    }

    /// Scenarios that made the run fail.
    pub fn failures(&self) -> usize {
        self.failed + self.timed_out + self.script_errors + self.environment_errors
    }

    /// The process exit code, as documented in `exit_codes`: an interrupt wins, then the most
    /// fundamental problem: an unusable environment (3) says more than a broken script (2),
    /// which says more than a failing scenario (1). Flaky passes are passes.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            exit_codes::INTERRUPTED
        } else if self.environment_errors > 0 {
            exit_codes::ENVIRONMENT
        } else if self.script_errors > 0 {
            exit_codes::USAGE
        } else if self.failed + self.timed_out > 0 {
            exit_codes::SCENARIO_FAILED
        } else {
            exit_codes::OK
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(edit: impl FnOnce(&mut RunSummary)) -> RunSummary {
        let mut summary = RunSummary::new(10);
        edit(&mut summary);
        summary
    }

    #[test]
    fn all_passed_or_flaky_is_ok() {
        assert_eq!(summary(|s| s.passed = 10).exit_code(), exit_codes::OK);
        let flaky = summary(|s| {
            s.passed = 10;
            s.flaky = 3;
        });
        assert_eq!(flaky.exit_code(), exit_codes::OK);
    }

    #[test]
    fn failures_and_timeouts_are_scenario_failures() {
        assert_eq!(summary(|s| s.failed = 1).exit_code(), 1);
        assert_eq!(summary(|s| s.timed_out = 1).exit_code(), 1);
    }

    #[test]
    fn environment_beats_script_beats_failure() {
        let all = summary(|s| {
            s.failed = 1;
            s.script_errors = 1;
            s.environment_errors = 1;
        });
        assert_eq!(all.exit_code(), exit_codes::ENVIRONMENT);
        let script_and_fail = summary(|s| {
            s.failed = 1;
            s.timed_out = 1;
            s.script_errors = 1;
        });
        assert_eq!(script_and_fail.exit_code(), exit_codes::USAGE);
    }

    #[test]
    fn interrupt_beats_everything() {
        let interrupted = summary(|s| {
            s.environment_errors = 1;
            s.interrupted = true;
        });
        assert_eq!(interrupted.exit_code(), exit_codes::INTERRUPTED);
    }

    #[test]
    fn fail_fast_without_interrupt_reports_the_failure() {
        let stopped = summary(|s| {
            s.failed = 1;
            s.cancelled = 2;
            s.skipped = 7;
            s.stopped_early = Some(CancelReason::FailFast);
        });
        assert_eq!(stopped.exit_code(), exit_codes::SCENARIO_FAILED);
        assert_eq!(stopped.run(), 3);
    }
}
