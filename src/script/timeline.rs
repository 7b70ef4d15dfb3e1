//! The recorder of a scenario's timeline (see [`crate::runner::timeline`]): the bindings record
//! the script's steps — faults, awaits, `log()` lines, snapshots — and the observer
//! ([`super::observer`]) what changed in the clusters between two reads of their state. The
//! script nudges the observer to read at once when it injects a fault or an await ends; after
//! [`MAX_CLUSTER_EVENTS`] cluster events the recorder only counts what it drops.

use crate::runner::timeline::{AwaitEnd, EventKind, Timeline, TimelineEvent};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Cluster events kept per scenario; the rest are counted in [`Timeline::dropped`].
pub const MAX_CLUSTER_EVENTS: usize = 20_000;
/// Script events kept (log lines, awaits, faults).
pub const MAX_SCRIPT_EVENTS: usize = 5_000;
/// The shortest time between two reads of the master's state.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The observer waits this many times as long as its last read took before the next: reading
/// a big cluster's state costs its master and the scenario at most 1/20 of the time.
pub const READ_COST_FACTOR: u32 = 20;
/// Faults of the same kind this close together are one marker (`×500`).
const COALESCE: Duration = Duration::from_millis(500);

pub struct TimelineRecorder {
    started: Instant,
    /// `started` as Unix time in seconds, for the cluster's own timestamps.
    pub(super) started_epoch: f64,
    inner: Mutex<Inner>,
    /// Wakes the observer for an early read.
    nudge: tokio::sync::Notify,
}

#[derive(Default)]
struct Inner {
    timeline: Timeline,
    cluster_events: usize,
    script_events: usize,
    /// The last fault event: its index and when the last fault merged into it happened.
    last_fault: Option<(usize, Duration)>,
}

/// An await in progress; [`TimelineRecorder::end_await`] closes it.
#[derive(Debug, Clone, Copy)]
pub struct AwaitId(Option<usize>);

impl Default for TimelineRecorder {
    fn default() -> Self {
        TimelineRecorder::new()
    }
}

impl TimelineRecorder {
    /// The recorded events; a panic elsewhere while they were held does not lose them.
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn new() -> TimelineRecorder {
        TimelineRecorder {
            started: Instant::now(),
            started_epoch: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            inner: Mutex::default(),
            nudge: tokio::sync::Notify::new(),
        }
    }

    /// Time since the scenario started.
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// The time since the scenario started of a cluster timestamp (Unix seconds), within what
    /// is possible: not before the start, not after now; `now` when there is none.
    pub fn at_epoch(&self, timestamp: f64) -> Duration {
        let now = self.now();
        if timestamp <= 0.0 || !timestamp.is_finite() {
            return now;
        }
        Duration::from_secs_f64((timestamp - self.started_epoch).max(0.0)).min(now)
    }

    /// Asks the observer to read the cluster's state now rather than at its next turn.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Resolves when the script asks for an early read.
    pub(crate) async fn nudged(&self) {
        self.nudge.notified().await;
    }

    fn push_script(&self, inner: &mut Inner, kind: EventKind) -> Option<usize> {
        if inner.script_events >= MAX_SCRIPT_EVENTS {
            inner.timeline.dropped += 1;
            return None;
        }
        inner.script_events += 1;
        inner.timeline.events.push(TimelineEvent {
            at: self.now(),
            kind,
        });
        Some(inner.timeline.events.len() - 1)
    }

    /// `target.action()`, e.g. `("agent-3", "disconnect")`; the same action on several targets
    /// in quick succession is one event counting them.
    pub fn fault(&self, target: &str, action: &str) {
        self.nudge();
        let now = self.now();
        let mut inner = self.inner();
        if let Some((index, last)) = inner.last_fault
            && now.saturating_sub(last) <= COALESCE
            && let Some(TimelineEvent {
                kind:
                    EventKind::Fault {
                        action: previous,
                        count,
                        ..
                    },
                ..
            }) = inner.timeline.events.get_mut(index)
            && previous == action
        {
            *count += 1;
            inner.last_fault = Some((index, now));
            return;
        }
        let kind = EventKind::Fault {
            target: target.to_string(),
            action: action.to_string(),
            count: 1,
        };
        if let Some(index) = self.push_script(&mut inner, kind) {
            inner.last_fault = Some((index, now));
        }
    }

    pub fn log(&self, line: &str) {
        let mut inner = self.inner();
        self.push_script(&mut inner, EventKind::Log(line.to_string()));
    }

    pub fn snapshot(&self, name: &str, matched: bool) {
        let mut inner = self.inner();
        let kind = EventKind::Snapshot {
            name: name.to_string(),
            matched,
        };
        self.push_script(&mut inner, kind);
    }

    /// The script starts waiting for `what` (e.g. `await_task("greet", "TASK_FINISHED")`).
    pub fn start_await(&self, what: String) -> AwaitId {
        let mut inner = self.inner();
        let kind = EventKind::Await {
            what,
            ended: self.now(),
            end: AwaitEnd::Unfinished,
        };
        AwaitId(self.push_script(&mut inner, kind))
    }

    pub fn end_await(&self, id: AwaitId, how: AwaitEnd) {
        self.nudge();
        let Some(index) = id.0 else { return };
        let now = self.now();
        if let Some(TimelineEvent {
            kind: EventKind::Await { ended, end, .. },
            ..
        }) = self.inner().timeline.events.get_mut(index)
        {
            *ended = now;
            *end = how;
        }
    }

    /// A change the observer saw in the cluster, now.
    pub fn cluster(&self, kind: EventKind) {
        self.cluster_at(self.now(), kind);
    }

    /// A change the observer saw in the cluster, which happened `at`.
    pub fn cluster_at(&self, at: Duration, kind: EventKind) {
        let mut inner = self.inner();
        if inner.cluster_events >= MAX_CLUSTER_EVENTS {
            inner.timeline.dropped += 1;
            return;
        }
        inner.cluster_events += 1;
        inner.timeline.events.push(TimelineEvent { at, kind });
    }

    pub(crate) fn polled(&self, took: Duration) {
        let mut inner = self.inner();
        inner.timeline.polls += 1;
        inner.timeline.poll_time += took;
    }

    /// The timeline so far; awaits still open end now, unfinished.
    pub fn take(&self) -> Timeline {
        let now = self.now();
        let mut inner = self.inner();
        let mut timeline = std::mem::take(&mut inner.timeline);
        for event in &mut timeline.events {
            if let EventKind::Await {
                ended,
                end: AwaitEnd::Unfinished,
                ..
            } = &mut event.kind
            {
                *ended = now;
            }
        }
        timeline.events.sort_by_key(|e| e.at);
        timeline
    }
}

#[cfg(test)]
mod tests;
