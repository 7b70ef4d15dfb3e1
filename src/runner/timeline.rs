//! What happened during one attempt, in time: the script's own steps (faults it injected,
//! awaits, log lines, snapshots) and what the cluster did meanwhile (agents, frameworks, task
//! states, leader changes). Recorded by the executor, carried in [`Attempt::timeline`] to the
//! reporters; the HTML report draws it. Plain data: the runner never looks inside.
//!
//! [`Attempt::timeline`]: super::Attempt::timeline

use std::time::Duration;

/// Every event of one attempt, in the order recorded; times are from the attempt's start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub events: Vec<TimelineEvent>,
    /// Cluster events left out once the recorder's cap was reached (huge clusters).
    pub dropped: usize,
    /// How often the observer read the master's state, and how long that took in all: what the
    /// timeline cost the scenario.
    pub polls: u32,
    pub poll_time: Duration,
}

impl Timeline {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The time of the last thing recorded (an await's end counts).
    pub fn end(&self) -> Duration {
        self.events
            .iter()
            .map(|e| match &e.kind {
                EventKind::Await { ended, .. } => (*ended).max(e.at),
                _ => e.at,
            })
            .max()
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEvent {
    /// Since the attempt started.
    pub at: Duration,
    pub kind: EventKind,
}

/// How a script's await ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwaitEnd {
    Ok,
    /// Failed: timed out, or the awaited thing can no longer happen.
    Failed,
    /// Still waiting when the scenario ended (cancelled, or the runner's timeout).
    Unfinished,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A fault the script injected or lifted, e.g. `agent-3.disconnect()`; `count` > 1 when the
    /// script did the same to several nodes at once (a rack's agents), `target` the first.
    Fault {
        target: String,
        action: String,
        count: u32,
    },
    /// A script step that waited (`await_task`, `wait_until`, …), from `at` to `ended`.
    Await {
        what: String,
        ended: Duration,
        end: AwaitEnd,
    },
    /// A `log()` (or `print`) line.
    Log(String),
    /// `snapshot(name, …)`, and whether it matched.
    Snapshot {
        name: String,
        matched: bool,
    },
    /// An agent appeared in the master's state (`agent` is its ordinal name when known).
    AgentAdded {
        agent: String,
    },
    /// An agent left the master's state, or was deactivated/reactivated (`active`).
    AgentGone {
        agent: String,
    },
    AgentActive {
        agent: String,
        active: bool,
    },
    /// A framework appeared, changed activity, or was removed (`state`: `active`,
    /// `inactive`, `removed`).
    Framework {
        framework: String,
        state: String,
    },
    /// A task reached `state` (`TASK_RUNNING`, …) on `agent`, for `framework`.
    Task {
        /// The task's id (unique within its framework) and name.
        id: String,
        task: String,
        framework: String,
        agent: String,
        state: String,
    },
    /// The leading master changed (`leader`: its address, or `none`).
    Leader {
        leader: String,
    },
}
