//! Finding scenarios and running them, each against its own fresh cluster, emitting events.
//!
//! ```text
//!  discover ──► select ──► run ─┬─ at most `jobs` scenario tasks ── retry ── attempt ── Executor
//!  (paths)     (filter,         │        (each attempt: child cancel token, timeout, grace)
//!               shard)          └─► RunEvent stream ──► EventSink (reporters: terminal, JUnit, …)
//! ```
//!
//! The runner owns scheduling, timeouts, retries, `--fail-fast` and Ctrl-C; the [`Executor`]
//! owns what one attempt does. Scenarios share nothing but the executor, so one cannot affect
//! another except by taking a slot.

mod attempt;
pub mod discover;
mod events;
mod result;
mod retry;
pub mod scenario;
pub mod select;
mod summary;
pub mod timeline;

pub use discover::{DEFAULT_SCENARIO_DIR, DiscoverError, discover};
pub use events::{EventSink, RunEvent};
pub use result::{ScenarioResult, Status};
pub use scenario::{Attempt, Executor, Outcome, RunContext, Scenario};
pub use select::{Filter, SelectError, Shard, select};
pub use summary::{CancelReason, RunSummary};
pub use timeline::{AwaitEnd, EventKind, Timeline, TimelineEvent};

use attempt::Limits;
use retry::{RetryPolicy, run_scenario};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Per-scenario timeout when none is given: a cluster start plus a typical scenario, with room.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a cancelled scenario may take to tear its cluster down before it is abandoned.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Scenarios running at once; 0 is treated as 1.
    pub jobs: usize,
    /// Limit for each attempt of a scenario.
    pub timeout: Duration,
    /// Extra attempts for a scenario that failed or timed out.
    pub retries: u32,
    /// Stop at the first scenario that finally fails: cancel the running ones, skip the rest.
    pub fail_fast: bool,
    /// See [`DEFAULT_GRACE`].
    pub grace: Duration,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: DEFAULT_TIMEOUT,
            retries: 0,
            fail_fast: false,
            grace: DEFAULT_GRACE,
        }
    }
}

/// Runs `scenarios` (in the given order, at most `options.jobs` at once), reporting every event
/// to `sink`. Cancelling `interrupt` (Ctrl-C) cancels the running scenarios and skips the rest.
pub async fn run(
    scenarios: Vec<Scenario>,
    executor: Arc<dyn Executor>,
    options: RunOptions,
    sink: &mut dyn EventSink,
    interrupt: CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let jobs = options.jobs.max(1);
    let policy = RetryPolicy {
        retries: options.retries,
        limits: Limits {
            timeout: options.timeout,
            grace: options.grace,
        },
    };
    let mut summary = RunSummary::new(scenarios.len());
    sink.event(&RunEvent::RunStarted {
        total: scenarios.len(),
        jobs,
    });

    // Parent of every attempt's token: cancelling it stops the whole run.
    let run_cancel = CancellationToken::new();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut pending: VecDeque<Scenario> = scenarios.into();
    let mut running = JoinSet::new();

    loop {
        if interrupt.is_cancelled() && !summary.interrupted {
            stop(
                CancelReason::Interrupt,
                &mut summary,
                &run_cancel,
                running.len(),
                sink,
            );
        }
        while running.len() < jobs && !run_cancel.is_cancelled() {
            let Some(scenario) = pending.pop_front() else {
                break;
            };
            sink.event(&RunEvent::ScenarioStarted {
                scenario: scenario.clone(),
            });
            running.spawn(run_scenario(
                executor.clone(),
                scenario,
                policy,
                run_cancel.clone(),
                events_tx.clone(),
            ));
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = interrupt.cancelled(), if !summary.interrupted => {
                stop(CancelReason::Interrupt, &mut summary, &run_cancel, running.len(), sink);
            }
            Some(event) = events.recv() => sink.event(&event),
            Some(joined) = running.join_next() => {
                // A scenario's attempt events were sent before it returned: report them first.
                while let Ok(event) = events.try_recv() {
                    sink.event(&event);
                }
                let result = joined.unwrap_or_else(|e| {
                    // Executor panics are caught per attempt, so this is a bug in the runner
                    // itself: make it loud rather than miscount.
                    std::panic::resume_unwind(e.into_panic())
                });
                summary.record(&result);
                let failed = result.status.is_failure();
                sink.event(&RunEvent::ScenarioFinished(result));
                if failed && options.fail_fast {
                    stop(CancelReason::FailFast, &mut summary, &run_cancel, running.len(), sink);
                }
            }
        }
    }

    if let Some(reason) = summary.stopped_early {
        for scenario in pending.drain(..) {
            summary.skipped += 1;
            sink.event(&RunEvent::ScenarioSkipped { scenario, reason });
        }
    }
    summary.elapsed = started.elapsed();
    sink.event(&RunEvent::RunFinished(summary.clone()));
    summary
}

/// Cancels the run for `reason`: running attempts see their tokens cancelled, nothing new starts.
fn stop(
    reason: CancelReason,
    summary: &mut RunSummary,
    run_cancel: &CancellationToken,
    running: usize,
    sink: &mut dyn EventSink,
) {
    let first_of_its_kind = match reason {
        CancelReason::Interrupt => !std::mem::replace(&mut summary.interrupted, true),
        CancelReason::FailFast => summary.stopped_early.is_none(),
    };
    if !first_of_its_kind {
        return;
    }
    summary.stopped_early.get_or_insert(reason);
    run_cancel.cancel();
    sink.event(&RunEvent::RunCancelling { reason, running });
}

#[cfg(test)]
mod tests;
