//! All attempts at one scenario: retries of failures and timeouts, until one passes or the
//! retries are used up. Script and environment errors are never retried: they are deterministic,
//! and retrying would only multiply the time to the same answer.

use super::attempt::{Limits, run_attempt};
use super::events::RunEvent;
use super::result::ScenarioResult;
use super::scenario::{Executor, Outcome, Scenario};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    pub retries: u32,
    pub limits: Limits,
}

/// Runs `scenario` until it passes or fails for good, announcing each failed attempt on `events`.
pub(super) async fn run_scenario(
    executor: Arc<dyn Executor>,
    scenario: Scenario,
    policy: RetryPolicy,
    run_cancel: CancellationToken,
    events: UnboundedSender<RunEvent>,
) -> ScenarioResult {
    let mut attempts = Vec::new();
    for number in 1..=policy.retries.saturating_add(1) {
        let attempt = run_attempt(&executor, &scenario, number, policy.limits, &run_cancel).await;
        let retryable = matches!(attempt.outcome, Outcome::Failed(_) | Outcome::TimedOut(_));
        let will_retry = retryable && number <= policy.retries && !run_cancel.is_cancelled();
        if attempt.outcome.reason().is_some() {
            // The receiver lives as long as the run; a send can only fail if the run was dropped.
            let _ = events.send(RunEvent::AttemptFailed {
                scenario: scenario.clone(),
                attempt: number,
                outcome: attempt.outcome.clone(),
                duration: attempt.duration,
                will_retry,
            });
        }
        attempts.push(attempt);
        if !will_retry {
            break;
        }
    }
    ScenarioResult::new(scenario, attempts)
}
