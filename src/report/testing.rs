//! Test helpers shared by the reporters' tests: a captured sink and a sample event stream.

use crate::runner::{
    Attempt, CancelReason, Outcome, RunEvent, RunSummary, Scenario, ScenarioResult,
};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A `Write` whose bytes the test can read after handing a clone to a reporter.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn scenario(name: &str) -> Scenario {
    Scenario::from_path(PathBuf::from(name))
}

pub fn attempt(outcome: Outcome, millis: u64, output: &[&str]) -> Attempt {
    Attempt {
        outcome,
        duration: Duration::from_millis(millis),
        output: output.iter().map(|l| l.to_string()).collect(),
        artifacts: vec![],
        timeline: Default::default(),
    }
}

pub const FLAKY_REASON: &str = "expected 2 offers, got 1\n  at scripts/flaky.rhai:7:3";

pub const FAIL_REASON: &str =
    "assertion failed at scripts/net/fail.rhai:3:5: expected 3 tasks, got 2
   3 | assert_eq(tasks.len(), 3);
     |     ^";

pub const TIMEOUT_REASON: &str = "timed out after 120s";

/// A run with a pass, a flaky pass, a failure and a timeout, two at a time.
pub fn sample_run() -> Vec<RunEvent> {
    let pass = scenario("scripts/pass.rhai");
    let flaky = scenario("scripts/flaky.rhai");
    let fail = scenario("scripts/net/fail.rhai");
    let slow = scenario("scripts/slow.rhai");
    let finished = |s: &Scenario, attempts| {
        RunEvent::ScenarioFinished(ScenarioResult::new(s.clone(), attempts))
    };
    vec![
        RunEvent::RunStarted { total: 4, jobs: 2 },
        RunEvent::ScenarioStarted {
            scenario: pass.clone(),
        },
        RunEvent::ScenarioStarted {
            scenario: flaky.clone(),
        },
        finished(
            &pass,
            vec![attempt(Outcome::Passed, 412, &["started", "done"])],
        ),
        RunEvent::ScenarioStarted {
            scenario: fail.clone(),
        },
        RunEvent::AttemptFailed {
            scenario: flaky.clone(),
            attempt: 1,
            outcome: Outcome::Failed(FLAKY_REASON.into()),
            duration: Duration::from_millis(1002),
            will_retry: true,
        },
        RunEvent::AttemptFailed {
            scenario: fail.clone(),
            attempt: 1,
            outcome: Outcome::Failed(FAIL_REASON.into()),
            duration: Duration::from_millis(305),
            will_retry: false,
        },
        finished(
            &fail,
            vec![attempt(
                Outcome::Failed(FAIL_REASON.into()),
                305,
                &["task t1 RUNNING"],
            )],
        ),
        RunEvent::ScenarioStarted {
            scenario: slow.clone(),
        },
        finished(
            &flaky,
            vec![
                attempt(Outcome::Failed(FLAKY_REASON.into()), 1002, &["offer 1"]),
                attempt(Outcome::Passed, 998, &["offer 1", "offer 2"]),
            ],
        ),
        RunEvent::AttemptFailed {
            scenario: slow.clone(),
            attempt: 1,
            outcome: Outcome::TimedOut(TIMEOUT_REASON.into()),
            duration: Duration::from_secs(120),
            will_retry: false,
        },
        finished(
            &slow,
            vec![attempt(
                Outcome::TimedOut(TIMEOUT_REASON.into()),
                120_000,
                &[],
            )],
        ),
        RunEvent::RunFinished(RunSummary {
            total: 4,
            passed: 2,
            flaky: 1,
            failed: 1,
            timed_out: 1,
            elapsed: Duration::from_millis(121_317),
            ..RunSummary::default()
        }),
    ]
}

/// Three scenarios with `--fail-fast`: one fails, one is cancelled, one is skipped.
pub fn fail_fast_run() -> Vec<RunEvent> {
    let fail = scenario("scripts/a.rhai");
    let hang = scenario("scripts/b.rhai");
    let skipped = scenario("scripts/c.rhai");
    vec![
        RunEvent::RunStarted { total: 3, jobs: 2 },
        RunEvent::ScenarioStarted {
            scenario: fail.clone(),
        },
        RunEvent::ScenarioStarted {
            scenario: hang.clone(),
        },
        RunEvent::ScenarioFinished(ScenarioResult::new(
            fail,
            vec![attempt(Outcome::Failed("boom".into()), 100, &[])],
        )),
        RunEvent::RunCancelling {
            reason: CancelReason::FailFast,
            running: 1,
        },
        RunEvent::ScenarioFinished(ScenarioResult::new(
            hang,
            vec![attempt(Outcome::Cancelled, 150, &["waiting"])],
        )),
        RunEvent::ScenarioSkipped {
            scenario: skipped,
            reason: CancelReason::FailFast,
        },
        RunEvent::RunFinished(RunSummary {
            total: 3,
            failed: 1,
            cancelled: 1,
            skipped: 1,
            elapsed: Duration::from_millis(160),
            stopped_early: Some(CancelReason::FailFast),
            ..RunSummary::default()
        }),
    ]
}
