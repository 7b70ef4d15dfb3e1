//! `--junit FILE`: a JUnit XML report for CI dashboards, written when the run finishes.
//!
//! One `<testsuite name="mmrun">`, one `<testcase>` per selected scenario (classname: its
//! directory). Failures carry the full reason as the element text, not just a message:
//! kuttl's users complained loudly when it was missing. Flaky passes list their failed attempts
//! as `<flakyFailure>`, scenarios failing after retries theirs as `<rerunFailure>` (nextest's
//! convention), and scenarios that never ran or were cancelled are `<skipped>`.

use super::{ReportError, Reporter};
use crate::runner::{Attempt, CancelReason, Outcome, RunEvent, RunSummary, ScenarioResult, Status};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::io;
use std::path::{Path, PathBuf};

const SUITE_NAME: &str = "mmrun";

pub struct JunitReporter {
    path: PathBuf,
    suite: TestSuite,
    /// Why running scenarios were cancelled, for the message of their `<skipped>`.
    cancel_reason: Option<CancelReason>,
    error: Option<ReportError>,
}

impl JunitReporter {
    /// A reporter that writes `path` (creating its directory) when the run finishes.
    pub fn new(path: impl Into<PathBuf>) -> JunitReporter {
        JunitReporter {
            path: path.into(),
            suite: TestSuite::new(SUITE_NAME),
            cancel_reason: None,
            error: None,
        }
    }

    /// The XML for the scenarios seen so far, closed with `summary`.
    fn xml(&self, summary: &RunSummary) -> Result<String, quick_junit::SerializeError> {
        let mut suite = self.suite.clone();
        suite.set_time(summary.elapsed);
        let mut report = Report::new(SUITE_NAME);
        report.set_time(summary.elapsed);
        report.add_test_suite(suite);
        report.to_string()
    }

    fn write(&self, summary: &RunSummary) -> Result<(), ReportError> {
        let failed = |source| ReportError::Junit {
            path: self.path.clone(),
            source,
        };
        let xml = self.xml(summary).map_err(|e| failed(io::Error::other(e)))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::write(&self.path, xml).map_err(failed)
    }
}

impl Reporter for JunitReporter {
    fn report(&mut self, event: &RunEvent) {
        match event {
            RunEvent::RunCancelling { reason, .. } => {
                self.cancel_reason.get_or_insert(*reason);
            }
            RunEvent::ScenarioFinished(result) => {
                let case = test_case(result, self.cancel_reason);
                self.suite.add_test_case(case);
            }
            RunEvent::ScenarioSkipped { scenario, reason } => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(format!("not run: {}", why_stopped(*reason)));
                let mut case = TestCase::new(scenario.name.as_str(), status);
                case.set_classname(classname(&scenario.path));
                self.suite.add_test_case(case);
            }
            RunEvent::RunFinished(summary) => {
                if let Err(e) = self.write(summary) {
                    self.error = Some(e);
                }
            }
            RunEvent::RunStarted { .. }
            | RunEvent::ScenarioStarted { .. }
            | RunEvent::AttemptFailed { .. } => {}
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        self.error.take().map_or(Ok(()), Err)
    }
}

fn test_case(result: &ScenarioResult, cancel_reason: Option<CancelReason>) -> TestCase {
    let last = result.last_attempt();
    let mut status = match result.status {
        Status::Pass | Status::Flaky => TestCaseStatus::success(),
        Status::Cancelled => {
            let mut status = TestCaseStatus::skipped();
            let why = cancel_reason.map_or("the run was stopped", why_stopped);
            status.set_message(format!("cancelled while running: {why}"));
            status
        }
        Status::Skip => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(last.outcome.reason().unwrap_or_default().to_string());
            status
        }
        Status::Fail | Status::Timeout | Status::ScriptError | Status::EnvError => {
            non_success(&last.outcome)
        }
    };
    // Success statuses serialise these as <flakyFailure>, failures as <rerunFailure>.
    status.add_reruns(result.earlier_attempts().iter().map(rerun));

    let mut case = TestCase::new(result.scenario.name.as_str(), status);
    case.set_classname(classname(&result.scenario.path));
    case.set_time(result.duration);
    if let Some(out) = system_out(last) {
        case.set_system_out(out);
    }
    case
}

fn non_success(outcome: &Outcome) -> TestCaseStatus {
    let (kind, ty) = match outcome {
        Outcome::TimedOut(_) => (NonSuccessKind::Failure, "timeout"),
        Outcome::ScriptError(_) => (NonSuccessKind::Error, "script error"),
        Outcome::EnvironmentError(_) => (NonSuccessKind::Error, "environment error"),
        Outcome::Failed(_) | Outcome::Passed | Outcome::Cancelled | Outcome::Skipped(_) => {
            (NonSuccessKind::Failure, "failure")
        }
    };
    let reason = outcome.reason().unwrap_or_default();
    let mut status = TestCaseStatus::non_success(kind);
    status
        .set_type(ty)
        .set_message(first_line(reason))
        .set_description(reason);
    status
}

fn rerun(attempt: &Attempt) -> TestRerun {
    let kind = match attempt.outcome {
        Outcome::ScriptError(_) | Outcome::EnvironmentError(_) => NonSuccessKind::Error,
        _ => NonSuccessKind::Failure,
    };
    let reason = attempt.outcome.reason().unwrap_or_default();
    let mut rerun = TestRerun::new(kind);
    // Surefire's schema has no text in <flakyFailure>/<rerunFailure>: the details go in
    // <stackTrace>, where readers of those elements look for them.
    rerun
        .set_time(attempt.duration)
        .set_message(first_line(reason))
        .set_stack_trace(reason);
    if let Some(out) = system_out(attempt) {
        rerun.set_system_out(out);
    }
    rerun
}

/// The attempt's log lines, then its artifacts as `[[ATTACHMENT|path]]` lines, the convention
/// Jenkins' and GitLab's JUnit readers use to link files to a test case.
fn system_out(attempt: &Attempt) -> Option<String> {
    let mut lines = attempt.output.clone();
    lines.extend(
        attempt
            .artifacts
            .iter()
            .map(|path| format!("[[ATTACHMENT|{}]]", path.display())),
    );
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// `scripts/net/a.rhai` belongs to `scripts/net`; a scenario in the current directory to `.`.
fn classname(path: &Path) -> String {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_string_lossy().into_owned(),
        _ => ".".into(),
    }
}

fn first_line(reason: &str) -> &str {
    reason.lines().next().unwrap_or_default()
}

fn why_stopped(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::FailFast => "a scenario failed and --fail-fast is set",
        CancelReason::Interrupt => "the run was interrupted",
    }
}

#[cfg(test)]
mod tests;
