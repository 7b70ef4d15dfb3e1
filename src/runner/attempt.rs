//! One attempt at one scenario, with the runner's own timeout.
//!
//! The executor is trusted to stop when its token is cancelled, but not relied on: the runner
//! times the attempt itself, cancels the token on expiry (or when the run is cancelled), waits a
//! grace period for the executor to tear its cluster down, and then abandons the attempt. The
//! executor runs in its own task, so a panic in it is an attempt result, not a crashed run.

use super::scenario::{Attempt, Executor, Outcome, RunContext, Scenario};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Time limits for one attempt.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub timeout: Duration,
    /// How long a cancelled executor may take to return before it is abandoned.
    pub grace: Duration,
}

/// Why the runner stopped waiting for the executor's own answer.
enum Stop {
    TimedOut,
    Cancelled,
}

/// Runs attempt `number` of `scenario`. Cancelling `run_cancel` cancels the attempt too.
pub(super) async fn run_attempt(
    executor: &Arc<dyn Executor>,
    scenario: &Scenario,
    number: u32,
    limits: Limits,
    run_cancel: &CancellationToken,
) -> Attempt {
    if run_cancel.is_cancelled() {
        return Attempt::bare(Outcome::Cancelled, Duration::ZERO);
    }
    let started = Instant::now();
    let cancel = run_cancel.child_token();
    let ctx = RunContext {
        cancel: cancel.clone(),
        attempt: number,
        timeout: limits.timeout,
    };
    let mut task = tokio::spawn(executor.run(scenario.clone(), ctx));

    let stop = tokio::select! {
        joined = &mut task => return with_duration(from_join(joined), started),
        _ = tokio::time::sleep(limits.timeout) => Stop::TimedOut,
        _ = run_cancel.cancelled() => Stop::Cancelled,
    };
    cancel.cancel();
    let late = wait_or_abandon(task, limits.grace).await;
    let attempt = match stop {
        Stop::TimedOut => timed_out(late, limits),
        Stop::Cancelled => cancelled(late),
    };
    with_duration(attempt, started)
}

/// What the executor did after being cancelled.
enum Late {
    Returned(Attempt),
    Panicked(String),
    Abandoned,
}

async fn wait_or_abandon(mut task: JoinHandle<Attempt>, grace: Duration) -> Late {
    match tokio::time::timeout(grace, &mut task).await {
        Ok(Ok(attempt)) => Late::Returned(attempt),
        Ok(Err(e)) => Late::Panicked(panic_message(e)),
        Err(_) => {
            // Dropping the future at its next await runs its Drop-based cleanup, which is the
            // best that can be done for an executor that ignores cancellation.
            task.abort();
            Late::Abandoned
        }
    }
}

fn timed_out(late: Late, limits: Limits) -> Attempt {
    let headline = format!("timed out after {}", seconds(limits.timeout));
    match late {
        // The executor knows which step was waiting: its account is the better one.
        Late::Returned(
            attempt @ Attempt {
                outcome: Outcome::TimedOut(_),
                ..
            },
        ) => attempt,
        Late::Returned(attempt) => {
            let reason = match attempt.outcome.reason() {
                Some(said) => format!("{headline}; when stopped, the scenario reported:\n{said}"),
                None => headline,
            };
            Attempt {
                outcome: Outcome::TimedOut(reason),
                ..attempt
            }
        }
        Late::Panicked(message) => Attempt::bare(
            Outcome::TimedOut(format!(
                "{headline}; while stopping, the executor panicked (a bug in mmrun): {message}"
            )),
            Duration::ZERO,
        ),
        Late::Abandoned => Attempt::bare(
            Outcome::TimedOut(format!(
                "{headline}; the scenario did not stop within {} of being cancelled \
                 and was abandoned",
                seconds(limits.grace)
            )),
            Duration::ZERO,
        ),
    }
}

fn cancelled(late: Late) -> Attempt {
    match late {
        // It finished anyway: a pass is a pass. Anything else is most likely the cancellation
        // breaking the scenario, which must not be reported as the scenario's failure.
        Late::Returned(attempt) if attempt.outcome == Outcome::Passed => attempt,
        Late::Returned(attempt) => Attempt {
            outcome: Outcome::Cancelled,
            ..attempt
        },
        Late::Panicked(_) | Late::Abandoned => Attempt::bare(Outcome::Cancelled, Duration::ZERO),
    }
}

fn from_join(joined: Result<Attempt, JoinError>) -> Attempt {
    joined.unwrap_or_else(|e| {
        Attempt::bare(
            Outcome::EnvironmentError(format!(
                "the scenario executor panicked (a bug in mmrun): {}",
                panic_message(e)
            )),
            Duration::ZERO,
        )
    })
}

fn with_duration(attempt: Attempt, started: Instant) -> Attempt {
    Attempt {
        duration: started.elapsed(),
        ..attempt
    }
}

fn panic_message(error: JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// `120s`, `0.5s`, `1.25s`: short and exact enough for a reason line.
fn seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    /// An executor whose attempts are described by a closure over the context.
    struct Scripted<F>(F);

    impl<F, Fut> Executor for Scripted<F>
    where
        F: Fn(RunContext) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Attempt> + Send + 'static,
    {
        fn run(
            &self,
            _: Scenario,
            ctx: RunContext,
        ) -> futures::future::BoxFuture<'static, Attempt> {
            (self.0)(ctx).boxed()
        }
    }

    fn limits(timeout_ms: u64, grace_ms: u64) -> Limits {
        Limits {
            timeout: Duration::from_millis(timeout_ms),
            grace: Duration::from_millis(grace_ms),
        }
    }

    async fn attempt_with(executor: impl Executor, limits: Limits) -> Attempt {
        let executor: Arc<dyn Executor> = Arc::new(executor);
        let scenario = Scenario::from_path("a.rhai".into());
        run_attempt(&executor, &scenario, 1, limits, &CancellationToken::new()).await
    }

    fn output(line: &str) -> Attempt {
        Attempt {
            outcome: Outcome::Cancelled,
            duration: Duration::ZERO,
            output: vec![line.into()],
            artifacts: vec![],
            timeline: Default::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_cooperative_executor_reports_the_timeout_in_its_own_words() {
        let attempt = attempt_with(
            Scripted(|ctx: RunContext| async move {
                ctx.cancel.cancelled().await;
                Attempt {
                    outcome: Outcome::TimedOut("await_until at a.rhai:3:1 never held".into()),
                    ..output("waiting")
                }
            }),
            limits(1_000, 10_000),
        )
        .await;
        assert_eq!(
            attempt.outcome,
            Outcome::TimedOut("await_until at a.rhai:3:1 never held".into())
        );
        assert_eq!(attempt.output, ["waiting"]);
        assert_eq!(attempt.duration, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_executor_that_says_nothing_gets_the_runners_reason() {
        let attempt = attempt_with(
            Scripted(|ctx: RunContext| async move {
                ctx.cancel.cancelled().await;
                output("torn down")
            }),
            limits(2_500, 10_000),
        )
        .await;
        assert_eq!(
            attempt.outcome,
            Outcome::TimedOut("timed out after 2.5s".into())
        );
        assert_eq!(attempt.output, ["torn down"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_caused_by_the_cancel_is_kept_under_the_timeout() {
        let attempt = attempt_with(
            Scripted(|ctx: RunContext| async move {
                ctx.cancel.cancelled().await;
                Attempt::bare(Outcome::Failed("line 4: cancelled".into()), Duration::ZERO)
            }),
            limits(1_000, 10_000),
        )
        .await;
        assert_eq!(
            attempt.outcome,
            Outcome::TimedOut(
                "timed out after 1s; when stopped, the scenario reported:\nline 4: cancelled"
                    .into()
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_executor_ignoring_cancel_is_abandoned_after_the_grace_period() {
        let attempt = attempt_with(
            Scripted(|_: RunContext| async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Attempt::bare(Outcome::Passed, Duration::ZERO)
            }),
            limits(1_000, 10_000),
        )
        .await;
        assert_eq!(
            attempt.outcome,
            Outcome::TimedOut(
                "timed out after 1s; the scenario did not stop within 10s of being cancelled \
                 and was abandoned"
                    .into()
            )
        );
        assert_eq!(attempt.duration, Duration::from_secs(11));
    }

    #[tokio::test]
    async fn a_panicking_executor_is_an_environment_error_not_a_crash() {
        let attempt = attempt_with(
            Scripted(|_: RunContext| async move { panic!("oops") }),
            limits(10_000, 10_000),
        )
        .await;
        assert_eq!(
            attempt.outcome,
            Outcome::EnvironmentError(
                "the scenario executor panicked (a bug in mmrun): oops".into()
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_runner_measures_the_duration() {
        let attempt = attempt_with(
            Scripted(|_: RunContext| async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Attempt::bare(Outcome::Passed, Duration::from_secs(999))
            }),
            limits(10_000, 10_000),
        )
        .await;
        assert_eq!(attempt.outcome, Outcome::Passed);
        assert_eq!(attempt.duration, Duration::from_millis(300));
    }

    #[test]
    fn seconds_are_short() {
        assert_eq!(seconds(Duration::from_secs(120)), "120s");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5s");
        assert_eq!(seconds(Duration::from_millis(1250)), "1.25s");
        assert_eq!(seconds(Duration::ZERO), "0s");
    }
}
