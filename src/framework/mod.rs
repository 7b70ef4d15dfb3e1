//! mmrun itself as a Mesos framework. It subscribes through the v1 scheduler API, launches
//! the tasks a scenario asks for on offers that fit, declines the rest, acknowledges every
//! update and keeps each task's history. It is a real framework: it behaves the same against a
//! real Mesos master.
//!
//! Offer handling: while tasks wait, unusable offers are declined for a short while so freed or
//! new resources come back quickly; with nothing waiting they are declined for an hour, and a
//! new request REVIVEs.

mod events;
mod leader;
mod options;
mod planner;
mod task;

pub use leader::MasterFinder;
pub use options::{FrameworkApi, FrameworkOptions};
pub use task::{Claim, ExecutorRequest, TaskNetwork, TaskRecord, TaskRequest};

use crate::client::{ClientError, Subscription, subscribe_driver, subscribe_with};
use crate::mesos::framework::FrameworkInfo;
use crate::mesos::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use crate::mesos::scheduler::{
    Acknowledge, Call, CallType, Event, EventType, FrameworkMessage, Kill, Reconcile, Roles,
};
use crate::mesos::task::{TaskState, TaskStatus, reason as task_reason, source as task_source};
use base64::Engine;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// How long the framework keeps trying to subscribe again after losing its master (a master
/// restart, a leader failover) before it gives up and refuses further calls.
const RESUBSCRIBE_WITHIN: Duration = Duration::from_secs(30);

/// What Mesos's master said of a task killed before it was sent to an agent.
const KILLED_BEFORE_DELIVERY: &str = "Killed before delivery to the agent";

#[derive(Default)]
struct State {
    pending: Vec<(TaskId, TaskRequest)>,
    tasks: BTreeMap<TaskId, TaskRecord>,
    next_task: u64,
    /// Set when the master ends the subscription (ERROR, teardown, stream closed).
    ended: Option<String>,
    torn_down: bool,
    lost_agents: Vec<AgentId>,
    /// The custom executor of each task that has one.
    executors: BTreeMap<TaskId, String>,
    /// MESSAGE events from this framework's executors, in arrival order.
    messages: Vec<ExecutorMessage>,
    /// Subscriptions after the first (after a master restart or a failover).
    resubscriptions: u64,
    /// Offers received so far, and how many there were when each pending task was queued:
    /// whether a waiting task has seen any offer at all.
    offers_received: u64,
    queued_at_offer: BTreeMap<TaskId, u64>,
    /// Why each pending task did not fit the last offer from each agent (one line each).
    misfits: BTreeMap<TaskId, BTreeMap<String, String>>,
}

/// A message one of the framework's executors sent it (`data` decoded from base64; invalid
/// UTF-8 is replaced).
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorMessage {
    pub executor_id: ExecutorId,
    pub agent_id: AgentId,
    pub data: String,
}

struct Shared {
    options: FrameworkOptions,
    framework_id: FrameworkId,
    calls: mpsc::UnboundedSender<Call>,
    state: Mutex<State>,
    changed: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A subscribed framework. Cloning gives another handle to the same framework.
#[derive(Clone)]
pub struct Framework {
    shared: Arc<Shared>,
    stop: CancellationToken,
}

/// Why a call on a framework was refused.
#[derive(Debug, thiserror::Error)]
pub enum FrameworkError {
    #[error(
        "framework '{framework}' already has a task named '{name}'{state}: names identify tasks in scripts (await_task, kill), so give each task its own name"
    )]
    DuplicateTask {
        framework: String,
        name: String,
        /// ` (TASK_RUNNING)`, or empty for a task not yet launched or queued in the same call.
        state: String,
    },
    #[error("framework '{framework}' has no task named '{name}'")]
    NoSuchTask { framework: String, name: String },
    #[error(
        "framework '{framework}' {why}, so it cannot {action} (the master would never see the call); submit a new framework to go on"
    )]
    Ended {
        framework: String,
        action: &'static str,
        why: String,
    },
    #[error(
        "task '{task}' of framework '{framework}' has no executor of its own (give it one with executor: #{{ id, cmd }})"
    )]
    NoExecutor { framework: String, task: String },
    #[error("framework '{framework}' has no task or executor named '{target}'")]
    NoSuchTarget { framework: String, target: String },
    #[error("the executor of '{target}' is not launched yet (no agent); await its task first")]
    ExecutorNotLaunched { target: String },
}

#[derive(Debug, thiserror::Error)]
pub enum AwaitError {
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    WrongTerminalState(String),
    #[error("{0}")]
    Unknown(String),
    #[error("cancelled")]
    Cancelled,
}

impl Framework {
    /// Subscribes to the master at `master_url`.
    pub async fn subscribe(
        master_url: &str,
        options: FrameworkOptions,
    ) -> Result<Framework, ClientError> {
        Framework::subscribe_via(MasterFinder::fixed(master_url), options).await
    }

    /// Subscribes to the master `finder` finds, and follows it: when the master goes away or
    /// another leads, the framework subscribes again with its id and reconciles, as Mesos
    /// frameworks do after a failover.
    pub async fn subscribe_via(
        finder: MasterFinder,
        options: FrameworkOptions,
    ) -> Result<Framework, ClientError> {
        let master_url =
            finder
                .leader(RESUBSCRIBE_WITHIN)
                .await
                .ok_or_else(|| ClientError::Protocol {
                    what: "SUBSCRIBE".into(),
                    detail: format!(
                        "no leading master within {RESUBSCRIBE_WITHIN:?} ({})",
                        finder.describe()
                    ),
                })?;
        let subscription = events::connect(&master_url, options.info(), &options).await?;
        let (calls, call_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            options,
            framework_id: subscription.framework_id.clone(),
            calls,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        });
        let stop = CancellationToken::new();
        tokio::spawn(events::drive(
            shared.clone(),
            finder,
            subscription,
            call_rx,
            stop.clone(),
        ));
        Ok(Framework { shared, stop })
    }

    pub fn name(&self) -> &str {
        &self.shared.options.name
    }

    pub fn id(&self) -> &FrameworkId {
        &self.shared.framework_id
    }

    /// Queues tasks; they launch on the first offers that fit. Refused, as a whole, when a name
    /// is taken (names identify tasks in scripts) or the subscription has ended.
    pub fn launch(&self, requests: Vec<TaskRequest>) -> Result<(), FrameworkError> {
        {
            let mut state = self.shared.state();
            self.check_subscribed(&state, "launch tasks")?;
            for (i, request) in requests.iter().enumerate() {
                let taken = state.tasks.values().find(|t| t.name == request.name);
                if taken.is_some() || requests[..i].iter().any(|r| r.name == request.name) {
                    return Err(FrameworkError::DuplicateTask {
                        framework: self.name().to_string(),
                        name: request.name.clone(),
                        state: taken
                            .and_then(TaskRecord::state)
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default(),
                    });
                }
            }
            for request in requests {
                let id = TaskId::new(format!("{}.{}", request.name, state.next_task));
                state.next_task += 1;
                state.tasks.insert(
                    id.clone(),
                    TaskRecord {
                        name: request.name.clone(),
                        id: id.clone(),
                        agent_id: None,
                        statuses: vec![],
                    },
                );
                if let Some(executor) = &request.executor {
                    state.executors.insert(id.clone(), executor.id.clone());
                }
                let seen = state.offers_received;
                state.queued_at_offer.insert(id.clone(), seen);
                state.pending.push((id, request));
            }
        }
        let _ = self.shared.calls.send(Call {
            revive: Some(Roles::default()),
            ..Call::new(CallType::Revive, None)
        });
        Ok(())
    }

    /// Kills the task with this name: asks the master once it was sent to an agent; a task
    /// still queued for an offer ends TASK_KILLED at once, as Mesos's master reports a task
    /// killed before delivery to the agent.
    pub fn kill(&self, name: &str) -> Result<(), FrameworkError> {
        let killed_in_queue = {
            let mut state = self.shared.state();
            self.check_subscribed(&state, "kill a task")?;
            let Some(task) = state.tasks.values().find(|t| t.name == name) else {
                return Err(FrameworkError::NoSuchTask {
                    framework: self.name().to_string(),
                    name: name.to_string(),
                });
            };
            let (task_id, agent_id) = (task.id.clone(), task.agent_id.clone());
            let queued = state.pending.iter().position(|(id, _)| *id == task_id);
            if let Some(index) = queued {
                state.pending.remove(index);
                let mut status = TaskStatus::new(task_id.clone(), TaskState::Killed);
                status.source = Some(task_source::MASTER.into());
                status.reason = Some(task_reason::TASK_KILLED_DURING_LAUNCH.into());
                status.message = Some(KILLED_BEFORE_DELIVERY.into());
                if let Some(task) = state.tasks.get_mut(&task_id) {
                    task.statuses.push(status);
                }
            } else {
                let _ = self.shared.calls.send(Call {
                    kill: Some(Kill {
                        task_id,
                        agent_id,
                        kill_policy: None,
                    }),
                    ..Call::new(CallType::Kill, None)
                });
            }
            queued.is_some()
        };
        if killed_in_queue {
            self.shared.changed.notify_waiters();
        }
        Ok(())
    }

    /// Sends `data` to a custom executor (a MESSAGE call): `target` is a task name (its
    /// executor, on its agent) or an executor id (on the agent of its latest task).
    pub fn message(&self, target: &str, data: &str) -> Result<(), FrameworkError> {
        let (executor_id, agent_id) = {
            let state = self.shared.state();
            let mut by_name: Vec<&TaskRecord> =
                state.tasks.values().filter(|t| t.name == target).collect();
            by_name.sort_by_key(|t| t.id.value.clone());
            let executor_of = |t: &TaskRecord| {
                state
                    .executors
                    .get(&t.id)
                    .map(|e| (ExecutorId::new(e.clone()), t.agent_id.clone()))
            };
            let found = match by_name.last() {
                Some(task) => executor_of(task).ok_or_else(|| FrameworkError::NoExecutor {
                    framework: self.name().to_string(),
                    task: target.to_string(),
                })?,
                // No task of that name: the target names an executor; its latest task says
                // on which agent it runs.
                None => {
                    let task = state
                        .tasks
                        .values()
                        .filter(|t| state.executors.get(&t.id).is_some_and(|e| e == target))
                        .max_by_key(|t| t.id.value.clone())
                        .ok_or_else(|| FrameworkError::NoSuchTarget {
                            framework: self.name().to_string(),
                            target: target.to_string(),
                        })?;
                    (ExecutorId::new(target.to_string()), task.agent_id.clone())
                }
            };
            let (executor_id, agent_id) = found;
            let agent_id = agent_id.ok_or_else(|| FrameworkError::ExecutorNotLaunched {
                target: target.to_string(),
            })?;
            (executor_id, agent_id)
        };
        let _ = self.shared.calls.send(Call {
            message: Some(FrameworkMessage {
                agent_id,
                executor_id,
                data: base64::engine::general_purpose::STANDARD.encode(data),
            }),
            ..Call::new(CallType::Message, None)
        });
        Ok(())
    }

    /// Messages the framework's executors sent it so far.
    pub fn messages(&self) -> Vec<ExecutorMessage> {
        self.shared.state().messages.clone()
    }

    /// Waits until at least `count` executor messages have arrived; returns them all.
    pub async fn await_messages(
        &self,
        count: usize,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Vec<ExecutorMessage>, AwaitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            let messages = self.messages();
            if messages.len() >= count {
                return Ok(messages);
            }
            if let Some(why) = self.ended() {
                return Err(AwaitError::WrongTerminalState(format!(
                    "framework '{}' ended ({why}) after {} of {count} executor messages",
                    self.name(),
                    messages.len()
                )));
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(AwaitError::Timeout(format!(
                        "timed out after {timeout:?} waiting for {count} executor message(s); {} arrived",
                        messages.len()
                    )));
                }
                _ = cancel.cancelled() => return Err(AwaitError::Cancelled),
            }
        }
    }

    /// Sends TEARDOWN: the master kills every task and removes the framework.
    pub fn teardown(&self) -> Result<(), FrameworkError> {
        let mut state = self.shared.state();
        self.check_subscribed(&state, "tear the framework down")?;
        state.torn_down = true;
        let _ = self.shared.calls.send(Call::new(CallType::Teardown, None));
        Ok(())
    }

    /// Calls on a framework whose subscription ended would go nowhere: refuse them.
    fn check_subscribed(&self, state: &State, action: &'static str) -> Result<(), FrameworkError> {
        let why = match (&state.ended, state.torn_down) {
            (Some(why), _) => why.clone(),
            (None, true) => "was torn down".to_string(),
            (None, false) => return Ok(()),
        };
        Err(FrameworkError::Ended {
            framework: self.name().to_string(),
            action,
            why,
        })
    }

    pub fn task(&self, name: &str) -> Option<TaskRecord> {
        let state = self.shared.state();
        let mut matching: Vec<&TaskRecord> =
            state.tasks.values().filter(|t| t.name == name).collect();
        matching.sort_by_key(|t| t.id.value.clone());
        matching.last().map(|t| (*t).clone())
    }

    pub fn tasks(&self) -> Vec<TaskRecord> {
        self.shared.state().tasks.values().cloned().collect()
    }

    /// How many tasks are in `state` now, without copying them: scripts poll this for
    /// frameworks of thousands of tasks.
    pub fn count_in_state(&self, state: TaskState) -> usize {
        self.shared
            .state()
            .tasks
            .values()
            .filter(|t| t.state() == Some(state))
            .count()
    }

    pub fn ended(&self) -> Option<String> {
        self.shared.state().ended.clone()
    }

    /// How many times the framework has subscribed again since its first subscription.
    pub fn resubscriptions(&self) -> u64 {
        self.shared.state().resubscriptions
    }

    /// Waits up to `within` until the framework has subscribed again more than `seen` times,
    /// or has ended; returns whether it is subscribed again.
    pub async fn await_resubscribed(&self, seen: u64, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.changed.notified();
            if self.resubscriptions() > seen {
                return true;
            }
            if self.ended().is_some() {
                return false;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.resubscriptions() > seen;
            }
        }
    }

    /// Waits up to `within` for the subscription to end (after the master went away, the
    /// stream's end arrives a moment later); returns whether it has.
    pub async fn await_end(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.changed.notified();
            if self.ended().is_some() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.ended().is_some();
            }
        }
    }

    /// Waits until the task named `name` reaches `wanted`. Reaching another terminal state
    /// fails at once, not at the timeout.
    pub async fn await_task(
        &self,
        name: &str,
        wanted: TaskState,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<TaskRecord, AwaitError> {
        self.await_task_health(name, wanted, None, timeout, cancel)
            .await
    }

    /// As [`Framework::await_task`], and with `healthy` also until the task's health (its
    /// latest status that reports one) is that.
    pub async fn await_task_health(
        &self,
        name: &str,
        wanted: TaskState,
        healthy: Option<bool>,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<TaskRecord, AwaitError> {
        let wanted_text = match healthy {
            None => wanted.to_string(),
            Some(true) => format!("{wanted} and healthy"),
            Some(false) => format!("{wanted} and unhealthy"),
        };
        let wanted_text = wanted_text.as_str();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(task) = self.task(name) {
                if task.statuses.iter().any(|s| s.state == wanted)
                    && healthy.is_none_or(|h| task.healthy() == Some(h))
                {
                    return Ok(task);
                }
                if let Some(state) = task.state()
                    && state.is_terminal()
                {
                    return Err(AwaitError::WrongTerminalState(format!(
                        "expected task '{name}' to reach {wanted_text}, but it ended {state}: {}",
                        task.describe()
                    )));
                }
            } else if !self.shared.state().tasks.values().any(|t| t.name == name) {
                return Err(AwaitError::Unknown(format!(
                    "framework '{}' has no task named '{name}' (launch it first)",
                    self.name()
                )));
            }
            if let Some(why) = self.ended() {
                let last = self.task(name).map(|t| t.describe()).unwrap_or_default();
                return Err(AwaitError::WrongTerminalState(format!(
                    "framework '{}' {why} before task '{name}' reached {wanted_text}; {last}",
                    self.name()
                )));
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    let last = self.task(name).map(|t| t.describe()).unwrap_or_default();
                    return Err(AwaitError::Timeout(format!(
                        "timed out after {timeout:?} waiting for task '{name}' to reach {wanted_text}; {last}"
                    )));
                }
                _ = cancel.cancelled() => return Err(AwaitError::Cancelled),
            }
        }
    }

    /// Why task `name` has not launched, one line a reason, by agent id: the last offer from
    /// each agent it did not fit, or that no offer has come since it was queued. Empty once
    /// it has launched (or for a task this framework does not have).
    pub fn why(&self, name: &str) -> Vec<(Option<AgentId>, String)> {
        let state = self.shared.state();
        let Some((id, _)) = state.pending.iter().find(|(_, r)| r.name == name) else {
            return vec![];
        };
        let mut reasons: Vec<(Option<AgentId>, String)> = state
            .misfits
            .get(id)
            .map(|by_agent| {
                by_agent
                    .iter()
                    .map(|(agent, why)| (Some(AgentId::new(agent.clone())), why.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let queued_at = state.queued_at_offer.get(id).copied().unwrap_or(0);
        if reasons.is_empty() && state.offers_received == queued_at {
            reasons.push((
                None,
                format!(
                    "no offer has come since it was queued: no agent has free resources for role '{}' (every agent busy, reserved for another role, or none registered)",
                    self.shared.options.role
                ),
            ));
        }
        reasons
    }

    /// Closes the subscription (the framework disconnects; with failover_timeout 0 the master
    /// removes it).
    pub fn disconnect(&self) {
        self.stop.cancel();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.changed.notify_waiters();
    }
}
