//! The runner against a fake executor whose behaviour is named by the scenario:
//! `pass-1.rhai` passes, `fail-2.rhai` fails, `hang-…` waits for cancellation, and so on.
//! Time is paused (tokio's test clock), so timeouts of minutes take no real time.

use super::*;
use crate::exit_codes;
use futures::FutureExt;
use futures::future::BoxFuture;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How long every fake attempt works before doing what its name says, so that attempts overlap.
const WORK: Duration = Duration::from_millis(100);

#[derive(Default)]
struct FakeExecutor {
    running: AtomicUsize,
    max_running: AtomicUsize,
    started: AtomicUsize,
}

/// Decrements the running count however the attempt ends, including being abandoned.
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FakeExecutor {
    async fn attempt(&self, scenario: Scenario, ctx: RunContext) -> Attempt {
        self.started.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let _running = Running(&self.running);
        tokio::time::sleep(WORK).await;

        let behaviour = scenario.name.split('-').next().unwrap_or_default();
        let outcome = match behaviour {
            "pass" => Outcome::Passed,
            "fail" => Outcome::Failed(format!("{}: expected 3 tasks, got 2", scenario.name)),
            "flaky" if ctx.attempt == 1 => Outcome::Failed("lost a race".into()),
            "flaky" => Outcome::Passed,
            "script" => Outcome::ScriptError("unknown function 'frobnicate'".into()),
            "env" => Outcome::EnvironmentError("cannot reach Docker".into()),
            "hang" => {
                ctx.cancel.cancelled().await;
                Outcome::Cancelled
            }
            "stubborn" => std::future::pending().await,
            other => panic!("no fake behaviour named {other}"),
        };
        Attempt {
            outcome,
            duration: Duration::ZERO,
            output: vec![format!("{} attempt {}", scenario.name, ctx.attempt)],
            artifacts: vec![],
            timeline: Default::default(),
        }
    }
}

/// Lets one shared fake be both the executor and the thing the test inspects afterwards.
struct Shared(Arc<FakeExecutor>);

impl Executor for Shared {
    fn run(&self, scenario: Scenario, ctx: RunContext) -> BoxFuture<'static, Attempt> {
        let fake = self.0.clone();
        async move { fake.attempt(scenario, ctx).await }.boxed()
    }
}

#[derive(Default)]
struct Recorder(Vec<RunEvent>);

impl EventSink for Recorder {
    fn event(&mut self, event: &RunEvent) {
        self.0.push(event.clone());
    }
}

impl Recorder {
    fn finished(&self) -> Vec<(String, Status, usize)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                RunEvent::ScenarioFinished(r) => {
                    Some((r.scenario.name.clone(), r.status, r.attempts.len()))
                }
                _ => None,
            })
            .collect()
    }

    fn finished_status(&self, name: &str) -> Status {
        self.finished()
            .into_iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} did not finish"))
            .1
    }

    fn skipped(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|e| match e {
                RunEvent::ScenarioSkipped { scenario, .. } => Some(scenario.name.clone()),
                _ => None,
            })
            .collect()
    }
}

fn scenarios(names: &[&str]) -> Vec<Scenario> {
    names
        .iter()
        .map(|n| Scenario::from_path(PathBuf::from(n)))
        .collect()
}

fn options(jobs: usize) -> RunOptions {
    RunOptions {
        jobs,
        timeout: Duration::from_secs(60),
        retries: 0,
        fail_fast: false,
        grace: Duration::from_secs(10),
    }
}

struct Outcomes {
    summary: RunSummary,
    events: Recorder,
    fake: Arc<FakeExecutor>,
}

async fn run_with(names: &[&str], options: RunOptions, interrupt: CancellationToken) -> Outcomes {
    let fake = Arc::new(FakeExecutor::default());
    let mut events = Recorder::default();
    let summary = run(
        scenarios(names),
        Arc::new(Shared(fake.clone())),
        options,
        &mut events,
        interrupt,
    )
    .await;
    Outcomes {
        summary,
        events,
        fake,
    }
}

#[tokio::test(start_paused = true)]
async fn jobs_limit_how_many_scenarios_run_at_once() {
    let names = [
        "pass-1", "pass-2", "pass-3", "pass-4", "pass-5", "pass-6", "pass-7",
    ];
    for jobs in [1, 3] {
        let run = run_with(&names, options(jobs), CancellationToken::new()).await;
        assert_eq!(run.fake.max_running.load(Ordering::SeqCst), jobs);
        assert_eq!(run.fake.started.load(Ordering::SeqCst), names.len());
        assert_eq!(run.summary.passed, names.len());
        assert_eq!(run.summary.exit_code(), exit_codes::OK);
    }
}

#[tokio::test(start_paused = true)]
async fn scenarios_start_in_order_and_every_one_finishes() {
    let run = run_with(
        &["pass-1", "fail-2", "pass-3"],
        options(1),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(
        run.events.finished(),
        [
            ("pass-1".to_string(), Status::Pass, 1),
            ("fail-2".to_string(), Status::Fail, 1),
            ("pass-3".to_string(), Status::Pass, 1),
        ]
    );
    assert!(matches!(
        run.events.0.first(),
        Some(RunEvent::RunStarted { total: 3, jobs: 1 })
    ));
    assert!(matches!(run.events.0.last(), Some(RunEvent::RunFinished(s)) if *s == run.summary));
    assert_eq!(run.summary.exit_code(), exit_codes::SCENARIO_FAILED);
}

#[tokio::test(start_paused = true)]
async fn a_scenario_past_its_timeout_is_cancelled_and_reported_as_timed_out() {
    let mut opts = options(2);
    opts.timeout = Duration::from_secs(5);
    let run = run_with(&["hang-1", "pass-2"], opts, CancellationToken::new()).await;
    assert_eq!(run.events.finished_status("hang-1"), Status::Timeout);
    assert_eq!(run.events.finished_status("pass-2"), Status::Pass);
    let RunEvent::ScenarioFinished(result) = run
        .events
        .0
        .iter()
        .find(|e| matches!(e, RunEvent::ScenarioFinished(r) if r.scenario.name == "hang-1"))
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(result.reason(), Some("timed out after 5s"));
    assert_eq!(result.duration, Duration::from_secs(5));
    assert_eq!(result.attempts[0].output, ["hang-1 attempt 1"]);
    assert_eq!(run.summary.timed_out, 1);
    assert_eq!(run.summary.exit_code(), exit_codes::SCENARIO_FAILED);
}

#[tokio::test(start_paused = true)]
async fn a_scenario_ignoring_cancellation_is_abandoned_after_the_grace_period() {
    let mut opts = options(1);
    opts.timeout = Duration::from_secs(5);
    let run = run_with(&["stubborn-1", "pass-2"], opts, CancellationToken::new()).await;
    assert_eq!(run.events.finished_status("stubborn-1"), Status::Timeout);
    assert_eq!(run.events.finished_status("pass-2"), Status::Pass);
    assert_eq!(
        run.fake.running.load(Ordering::SeqCst),
        0,
        "abandoned attempt was dropped"
    );
    // 5 s timeout + 10 s grace, then the second scenario's 0.1 s of work.
    assert_eq!(run.summary.elapsed, Duration::from_millis(15_100));
}

#[tokio::test(start_paused = true)]
async fn a_pass_after_a_failure_is_flaky_and_counts_as_passed() {
    let mut opts = options(2);
    opts.retries = 2;
    let run = run_with(&["flaky-1", "pass-2"], opts, CancellationToken::new()).await;
    assert_eq!(
        run.events.finished(),
        [
            ("pass-2".to_string(), Status::Pass, 1),
            ("flaky-1".to_string(), Status::Flaky, 2),
        ]
    );
    let retried: Vec<_> = run
        .events
        .0
        .iter()
        .filter_map(|e| match e {
            RunEvent::AttemptFailed {
                attempt,
                will_retry,
                ..
            } => Some((*attempt, *will_retry)),
            _ => None,
        })
        .collect();
    assert_eq!(retried, [(1, true)]);
    assert_eq!((run.summary.passed, run.summary.flaky), (2, 1));
    assert_eq!(run.summary.exit_code(), exit_codes::OK);
}

#[tokio::test(start_paused = true)]
async fn failures_are_retried_until_the_retries_are_used_up() {
    let mut opts = options(1);
    opts.retries = 2;
    let run = run_with(&["fail-1"], opts, CancellationToken::new()).await;
    assert_eq!(
        run.events.finished(),
        [("fail-1".to_string(), Status::Fail, 3)]
    );
    let will_retry: Vec<bool> = run
        .events
        .0
        .iter()
        .filter_map(|e| match e {
            RunEvent::AttemptFailed { will_retry, .. } => Some(*will_retry),
            _ => None,
        })
        .collect();
    assert_eq!(will_retry, [true, true, false]);
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_too() {
    let mut opts = options(1);
    opts.retries = 1;
    opts.timeout = Duration::from_secs(1);
    let run = run_with(&["hang-1"], opts, CancellationToken::new()).await;
    assert_eq!(
        run.events.finished(),
        [("hang-1".to_string(), Status::Timeout, 2)]
    );
}

#[tokio::test(start_paused = true)]
async fn script_and_environment_errors_are_not_retried() {
    let mut opts = options(2);
    opts.retries = 3;
    let run = run_with(&["script-1", "env-2"], opts, CancellationToken::new()).await;
    assert_eq!(run.events.finished_status("script-1"), Status::ScriptError);
    assert_eq!(run.events.finished_status("env-2"), Status::EnvError);
    assert_eq!(run.fake.started.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn exit_code_prefers_environment_then_script_then_failure() {
    let run = run_with(
        &["fail-1", "script-2", "env-3", "pass-4"],
        options(4),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(run.summary.exit_code(), exit_codes::ENVIRONMENT);
    let run = run_with(
        &["fail-1", "script-2"],
        options(4),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(run.summary.exit_code(), exit_codes::USAGE);
}

#[tokio::test(start_paused = true)]
async fn fail_fast_cancels_running_scenarios_and_skips_the_rest() {
    let mut opts = options(2);
    opts.fail_fast = true;
    let run = run_with(
        &["fail-1", "hang-2", "pass-3", "pass-4"],
        opts,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(
        run.events.finished(),
        [
            ("fail-1".to_string(), Status::Fail, 1),
            ("hang-2".to_string(), Status::Cancelled, 1),
        ]
    );
    assert_eq!(run.events.skipped(), ["pass-3", "pass-4"]);
    assert!(run.events.0.contains(&RunEvent::RunCancelling {
        reason: CancelReason::FailFast,
        running: 1
    }));
    let summary = &run.summary;
    assert_eq!(
        (
            summary.failed,
            summary.cancelled,
            summary.skipped,
            summary.run()
        ),
        (1, 1, 2, 2)
    );
    assert_eq!(summary.stopped_early, Some(CancelReason::FailFast));
    assert_eq!(summary.exit_code(), exit_codes::SCENARIO_FAILED);
}

#[tokio::test(start_paused = true)]
async fn fail_fast_does_not_stop_for_a_flaky_pass() {
    let mut opts = options(1);
    opts.fail_fast = true;
    opts.retries = 1;
    let run = run_with(&["flaky-1", "pass-2"], opts, CancellationToken::new()).await;
    assert_eq!(run.summary.passed, 2);
    assert_eq!(run.summary.stopped_early, None);
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_cancels_everything_and_exits_130() {
    let interrupt = CancellationToken::new();
    let ctrl_c = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ctrl_c.cancel();
    });
    let run = run_with(
        &["pass-1", "hang-2", "hang-3", "pass-4"],
        options(2),
        interrupt,
    )
    .await;
    assert_eq!(
        run.events.finished(),
        [
            ("pass-1".to_string(), Status::Pass, 1),
            ("hang-2".to_string(), Status::Cancelled, 1),
            ("hang-3".to_string(), Status::Cancelled, 1),
        ]
    );
    assert_eq!(run.events.skipped(), ["pass-4"]);
    assert!(run.summary.interrupted);
    assert_eq!(run.summary.stopped_early, Some(CancelReason::Interrupt));
    assert_eq!(run.summary.exit_code(), exit_codes::INTERRUPTED);
    assert_eq!(run.summary.elapsed, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_before_the_start_runs_nothing() {
    let interrupt = CancellationToken::new();
    interrupt.cancel();
    let run = run_with(&["pass-1", "pass-2"], options(2), interrupt).await;
    assert_eq!(run.fake.started.load(Ordering::SeqCst), 0);
    assert_eq!(run.events.skipped(), ["pass-1", "pass-2"]);
    assert_eq!(run.summary.exit_code(), exit_codes::INTERRUPTED);
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_during_a_fail_fast_stop_still_exits_130() {
    let interrupt = CancellationToken::new();
    let ctrl_c = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ctrl_c.cancel();
    });
    let mut opts = options(2);
    opts.fail_fast = true;
    let run = run_with(&["fail-1", "stubborn-2", "pass-3"], opts, interrupt).await;
    assert_eq!(run.summary.stopped_early, Some(CancelReason::FailFast));
    assert!(run.summary.interrupted);
    assert_eq!(run.summary.exit_code(), exit_codes::INTERRUPTED);
}

#[tokio::test(start_paused = true)]
async fn attempt_events_come_before_their_scenario_finishes() {
    let mut opts = options(1);
    opts.retries = 1;
    let run = run_with(&["fail-1"], opts, CancellationToken::new()).await;
    let kinds: Vec<&str> = run
        .events
        .0
        .iter()
        .map(|e| match e {
            RunEvent::RunStarted { .. } => "started",
            RunEvent::ScenarioStarted { .. } => "scenario",
            RunEvent::AttemptFailed { .. } => "attempt failed",
            RunEvent::ScenarioFinished(_) => "finished",
            RunEvent::RunCancelling { .. } => "cancelling",
            RunEvent::ScenarioSkipped { .. } => "skipped",
            RunEvent::RunFinished(_) => "run finished",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "started",
            "scenario",
            "attempt failed",
            "attempt failed",
            "finished",
            "run finished"
        ]
    );
}

#[tokio::test]
async fn an_empty_run_passes() {
    let run = run_with(&[], options(2), CancellationToken::new()).await;
    assert_eq!((run.summary.total, run.summary.run()), (0, 0));
    assert_eq!(run.summary.exit_code(), exit_codes::OK);
}
