//! The events a run emits, in order. Reporters (terminal, JUnit, …) are sinks of this one
//! stream and never look at the runner's state, so adding an output format touches no runner code.

use super::result::ScenarioResult;
use super::scenario::{Outcome, Scenario};
use super::summary::{CancelReason, RunSummary};
use std::time::Duration;

/// Where the runner sends its events. The runner knows only this; reporters (in `report`)
/// are event sinks through a blanket impl, so the dependency runs one way: report → runner.
pub trait EventSink: Send {
    /// Handles one event; events arrive in the order the runner emits them.
    fn event(&mut self, event: &RunEvent);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    /// First event. `total` scenarios are selected; at most `jobs` run at once.
    RunStarted { total: usize, jobs: usize },
    /// A scenario's first attempt begins (retries are announced by `AttemptFailed`).
    ScenarioStarted { scenario: Scenario },
    /// An attempt did not pass. With `will_retry`, another attempt follows at once;
    /// without it, a `ScenarioFinished` carrying the same outcome follows.
    AttemptFailed {
        scenario: Scenario,
        /// 1-based attempt number.
        attempt: u32,
        /// Never `Passed` or `Cancelled`.
        outcome: Outcome,
        duration: Duration,
        will_retry: bool,
    },
    /// A scenario reached its final status.
    ScenarioFinished(ScenarioResult),
    /// The run stops early: running scenarios are being cancelled, pending ones will be skipped.
    RunCancelling {
        reason: CancelReason,
        /// Scenarios still running, which will finish as cancelled.
        running: usize,
    },
    /// A scenario that was never started because the run was cancelled first.
    ScenarioSkipped {
        scenario: Scenario,
        reason: CancelReason,
    },
    /// Last event.
    RunFinished(RunSummary),
}
