//! mmrun itself as a Mesos framework. It subscribes through the v1 scheduler API, launches
//! the tasks a scenario asks for on offers that fit, declines the rest, acknowledges every
//! update and keeps each task's history. It is a real framework: it behaves the same against a
//! real Mesos master.
//!
//! Offer handling: while tasks wait, unusable offers are declined for a short while so freed or
//! new resources come back quickly; with nothing waiting they are declined for an hour, and a
//! new request REVIVEs.

mod leader;
mod task;

pub use leader::MasterFinder;
pub use task::{Claim, ExecutorRequest, TaskNetwork, TaskRecord, TaskRequest};

use crate::client::{ClientError, Subscription, subscribe_driver, subscribe_with};
use crate::mesos::encoding::Encoding;
use crate::mesos::framework::{Capability, FrameworkInfo};
use crate::mesos::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos::resources::Resources;
use crate::mesos::scheduler::{
    Accept, Acknowledge, Call, CallType, Decline, Event, EventType, Filters, FrameworkMessage,
    Kill, Launch, Offer, Operation, Reconcile, Roles,
};
use crate::mesos::task::{TaskState, TaskStatus, reason as task_reason, source as task_source};
use base64::Engine;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// How long unusable offers are declined for while tasks wait for resources.
const WAITING_REFUSE_SECONDS: f64 = 0.2;
/// How long offers are declined for when nothing waits (a new request REVIVEs).
const IDLE_REFUSE_SECONDS: f64 = 3600.0;

/// How long the framework keeps trying to subscribe again after losing its master (a master
/// restart, a leader failover) before it gives up and refuses further calls.
const RESUBSCRIBE_WITHIN: Duration = Duration::from_secs(30);

/// What Mesos's master said of a task killed before it was sent to an agent.
const KILLED_BEFORE_DELIVERY: &str = "Killed before delivery to the agent";

#[derive(Clone, Debug)]
pub struct FrameworkOptions {
    pub name: String,
    pub role: String,
    pub partition_aware: bool,
    /// Checkpointing frameworks keep their tasks when an agent's connection breaks; mmrun
    /// checkpoints, as production frameworks do, so agent loss is decided by liveness.
    pub checkpoint: bool,
    pub failover_timeout: f64,
    /// What it speaks on the v1 scheduler API, both ways; JSON unless asked.
    pub encoding: Encoding,
    /// How it talks to the master: the v1 HTTP API, or libprocess as a scheduler driver.
    pub api: FrameworkApi,
}

/// The two ways a Mesos framework talks to its master.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FrameworkApi {
    /// The v1 scheduler API (`POST /api/v1/scheduler`, an event stream).
    #[default]
    Http,
    /// Libprocess messages, as libmesos's scheduler driver (Marathon, Spark, the Java and
    /// Python APIs) speaks.
    Driver,
}

impl FrameworkApi {
    /// `http` or `driver`, as scripts name it.
    pub fn from_name(name: &str) -> Option<FrameworkApi> {
        match name {
            "http" => Some(FrameworkApi::Http),
            "driver" => Some(FrameworkApi::Driver),
            _ => None,
        }
    }
}

impl FrameworkOptions {
    pub fn named(name: &str) -> FrameworkOptions {
        FrameworkOptions {
            name: name.into(),
            role: "*".into(),
            partition_aware: false,
            checkpoint: true,
            failover_timeout: 0.0,
            encoding: Encoding::Json,
            api: FrameworkApi::Http,
        }
    }

    fn info(&self) -> FrameworkInfo {
        let mut capabilities = vec![Capability {
            kind: "TASK_KILLING_STATE".into(),
        }];
        if self.partition_aware {
            capabilities.push(Capability {
                kind: "PARTITION_AWARE".into(),
            });
        }
        FrameworkInfo {
            user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
            name: self.name.clone(),
            id: None,
            failover_timeout: self.failover_timeout,
            checkpoint: self.checkpoint,
            role: self.role.clone(),
            roles: vec![],
            hostname: None,
            principal: None,
            webui_url: None,
            capabilities,
            labels: None,
        }
    }
}

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
        let subscription = connect(&master_url, options.info(), &options).await?;
        let (calls, call_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            options,
            framework_id: subscription.framework_id.clone(),
            calls,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        });
        let stop = CancellationToken::new();
        tokio::spawn(drive(
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
                None => {
                    let mut tasks: Vec<&TaskRecord> = state
                        .tasks
                        .values()
                        .filter(|t| state.executors.get(&t.id).is_some_and(|e| e == target))
                        .collect();
                    tasks.sort_by_key(|t| t.id.value.clone());
                    let task = tasks.last().ok_or_else(|| FrameworkError::NoSuchTarget {
                        framework: self.name().to_string(),
                        target: target.to_string(),
                    })?;
                    executor_of(task).expect("filtered on it")
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

/// The framework's event loop: events in, calls out, in order. When the master goes away (the
/// stream ends, a call cannot reach it, or ZooKeeper names another leader) it subscribes again.
async fn drive(
    shared: Arc<Shared>,
    finder: MasterFinder,
    mut sub: Subscription,
    mut calls: mpsc::UnboundedReceiver<Call>,
    stop: CancellationToken,
) {
    let mut leader_changes = finder.changes();
    loop {
        let current_master = sub.master().to_string();
        tokio::select! {
            event = sub.events.recv() => match event {
                Some(e) if e.kind == EventType::Update => {
                    // Updates already waiting are handled together (see handle_updates); an
                    // event of another kind met on the way is handled after them, in order.
                    let mut batch = vec![e];
                    let mut after = None;
                    while batch.len() < UPDATES_AT_ONCE {
                        match sub.events.try_recv() {
                            Ok(next) if next.kind == EventType::Update => batch.push(next),
                            Ok(other) => {
                                after = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    handle_updates(&shared, &sub, batch).await;
                    if let Some(other) = after {
                        handle_event(&shared, &sub, other).await;
                    }
                }
                Some(e) => handle_event(&shared, &sub, e).await,
                None => {
                    if shared.state().torn_down {
                        end(&shared, "was torn down".into());
                        return;
                    }
                    match resubscribe(&shared, &finder, &stop).await {
                        Some(new) => sub = new,
                        None => return,
                    }
                }
            },
            call = calls.recv() => {
                let Some(call) = call else { return };
                // A call to a master that vanished (a killed container) can hang until the
                // client's timeout: give up on it as soon as another master leads.
                let sent = tokio::select! {
                    sent = sub.call(call.clone()) => Some(sent),
                    _ = new_leader(&mut leader_changes, &current_master) => None,
                };
                match sent {
                    Some(Ok(_)) => {}
                    Some(Err(e)) if !master_gone(&e) => {
                        tracing::warn!("framework {}: call failed: {e}", shared.options.name);
                    }
                    lost => {
                        if let Some(Err(e)) = lost {
                            tracing::info!("framework {}: {e}; subscribing again", shared.options.name);
                        }
                        match resubscribe(&shared, &finder, &stop).await {
                            Some(new) => sub = new,
                            None => return,
                        }
                        if let Err(e) = sub.call(call).await {
                            tracing::warn!("framework {}: call failed: {e}", shared.options.name);
                        }
                    }
                }
            },
            _ = new_leader(&mut leader_changes, &current_master) => {
                tracing::info!("framework {}: a new master leads; subscribing again", shared.options.name);
                match resubscribe(&shared, &finder, &stop).await {
                    Some(new) => sub = new,
                    None => return,
                }
            },
            _ = stop.cancelled() => {
                end(&shared, "was disconnected".into());
                return;
            }
        }
    }
}

/// Subscribes (or registers, as a driver) over the API the options name.
async fn connect(
    master_url: &str,
    info: FrameworkInfo,
    options: &FrameworkOptions,
) -> Result<Subscription, ClientError> {
    match options.api {
        FrameworkApi::Http => subscribe_with(master_url, info, options.encoding).await,
        FrameworkApi::Driver => subscribe_driver(master_url, info).await,
    }
}

fn end(shared: &Shared, why: String) {
    shared.state().ended.get_or_insert(why);
    shared.changed.notify_waiters();
}

/// Whether a failed call means the master went away (rather than refusing the call).
fn master_gone(e: &ClientError) -> bool {
    match e {
        ClientError::Unreachable { .. } => true,
        ClientError::Refused { status, .. } => matches!(
            status.as_u16(),
            // 403: the master does not know this subscription (a new master); 307/503: not
            // the leader, or no leader yet.
            403 | 307 | 503
        ),
        ClientError::Protocol { .. } => false,
    }
}

/// Resolves once ZooKeeper names a leader other than the subscription's master; never, for a
/// fixed master.
async fn new_leader(
    changes: &mut Option<tokio::sync::watch::Receiver<crate::zookeeper::Leadership>>,
    current_master: &str,
) {
    loop {
        let Some(rx) = changes else {
            return std::future::pending().await;
        };
        if rx.changed().await.is_err() {
            *changes = None;
            continue;
        }
        let leader = rx.borrow_and_update().info().cloned();
        if leader.is_some_and(|info| {
            format!("http://{}:{}", info.address.ip, info.address.port) != current_master
        }) {
            return;
        }
    }
}

/// Subscribes again with the framework's id, then asks for every task's state (implicit
/// reconciliation). Gives up after `RESUBSCRIBE_WITHIN`, or at once when the master refuses
/// the framework (e.g. it was removed after its failover timeout): the framework then ends
/// with the reason, so every later call fails saying so instead of going nowhere.
async fn resubscribe(
    shared: &Arc<Shared>,
    finder: &MasterFinder,
    stop: &CancellationToken,
) -> Option<Subscription> {
    let deadline = tokio::time::Instant::now() + RESUBSCRIBE_WITHIN;
    let mut last_error = "no leading master".to_string();
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if remaining.is_zero() {
            end(
                shared,
                format!(
                    "lost its master and could not subscribe again within {RESUBSCRIBE_WITHIN:?} ({}: {last_error})",
                    finder.describe()
                ),
            );
            return None;
        }
        let attempt = async {
            let url = finder.leader(remaining).await?;
            let mut info = shared.options.info();
            info.id = Some(shared.framework_id.clone());
            Some(connect(&url, info, &shared.options).await)
        };
        let attempt = tokio::select! {
            attempt = attempt => attempt,
            _ = stop.cancelled() => {
                end(shared, "was disconnected".into());
                return None;
            }
        };
        match attempt {
            Some(Ok(sub)) => {
                tracing::info!(
                    "framework {} subscribed again to {}",
                    shared.options.name,
                    sub.master()
                );
                let reconcile = Call {
                    reconcile: Some(Reconcile::default()),
                    ..Call::new(CallType::Reconcile, None)
                };
                if let Err(e) = sub.call(reconcile).await {
                    tracing::warn!("framework {}: reconcile failed: {e}", shared.options.name);
                }
                shared.state().resubscriptions += 1;
                shared.changed.notify_waiters();
                return Some(sub);
            }
            // An ERROR event in place of SUBSCRIBED: the master refuses this framework.
            Some(Err(ClientError::Refused { status, body, .. }))
                if status == reqwest::StatusCode::OK =>
            {
                end(
                    shared,
                    format!("lost its master, and the new one refused it: {body}"),
                );
                return None;
            }
            Some(Err(e)) => last_error = e.to_string(),
            None => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.cancelled() => {
                end(shared, "was disconnected".into());
                return None;
            }
        }
    }
}

async fn handle_event(shared: &Arc<Shared>, sub: &Subscription, event: Event) {
    match event.kind {
        EventType::Offers => {
            let offers = event.offers.map(|o| o.offers).unwrap_or_default();
            // One ACCEPT per agent's offer (Mesos refuses offers of several agents in one),
            // independent of each other: a few in flight at once, so a batch of thousands of
            // offers is not thousands of round trips in a row.
            futures::stream::iter(plan_offers(shared, offers))
                .for_each_concurrent(CALLS_IN_FLIGHT, |call| async move {
                    if let Err(e) = sub.call(call).await {
                        tracing::warn!("framework {}: offer call failed: {e}", shared.options.name);
                    }
                })
                .await;
        }
        EventType::Update => handle_updates(shared, sub, vec![event]).await,
        EventType::Message => {
            let Some(message) = event.message else { return };
            let data = base64::engine::general_purpose::STANDARD
                .decode(&message.data)
                .map(|d| String::from_utf8_lossy(&d).into_owned())
                .unwrap_or(message.data);
            shared.state().messages.push(ExecutorMessage {
                executor_id: message.executor_id,
                agent_id: message.agent_id,
                data,
            });
            shared.changed.notify_waiters();
        }
        EventType::Failure => {
            if let Some(agent) = event.failure.and_then(|f| f.agent_id) {
                shared.state().lost_agents.push(agent);
                shared.changed.notify_waiters();
            }
        }
        EventType::Error => {
            let message = event.error.map(|e| e.message).unwrap_or_default();
            shared.state().ended = Some(format!(
                "lost its master connection (the master sent ERROR: {message})"
            ));
            shared.changed.notify_waiters();
        }
        _ => {}
    }
}

/// Updates waiting together: each task's in order, different tasks' a few at once, so that
/// thousands of updates are not thousands of acknowledgement round trips in a row.
async fn handle_updates(shared: &Arc<Shared>, sub: &Subscription, events: Vec<Event>) {
    let mut per_task: BTreeMap<TaskId, Vec<TaskStatus>> = BTreeMap::new();
    for update in events.into_iter().filter_map(|e| e.update) {
        let status = update.status;
        per_task
            .entry(status.task_id.clone())
            .or_default()
            .push(status);
    }
    futures::stream::iter(per_task.into_values())
        .for_each_concurrent(CALLS_IN_FLIGHT, |statuses| async move {
            for status in statuses {
                handle_update(shared, sub, status).await;
            }
        })
        .await;
}

async fn handle_update(shared: &Arc<Shared>, sub: &Subscription, status: TaskStatus) {
    // Acknowledge first, record after: the master handles ACKNOWLEDGE before answering,
    // so once a script sees a state, the master's view of the task has settled too
    // (a finished task is already among completed tasks), and snapshots are stable.
    if let (Some(uuid), Some(agent_id)) = (status.uuid.clone(), status.agent_id.clone()) {
        let ack = Call {
            acknowledge: Some(Acknowledge {
                agent_id,
                task_id: status.task_id.clone(),
                uuid,
            }),
            ..Call::new(CallType::Acknowledge, None)
        };
        if let Err(e) = sub.call(ack).await {
            tracing::warn!("framework {}: acknowledge failed: {e}", shared.options.name);
        }
    }
    {
        let mut state = shared.state();
        if let Some(task) = state.tasks.get_mut(&status.task_id) {
            if task.agent_id.is_none() {
                task.agent_id = status.agent_id.clone();
            }
            task.statuses.push(status);
        }
    }
    shared.changed.notify_waiters();
}

/// ACCEPT and DECLINE calls of one batch of offers, or acknowledgements of one batch of
/// updates, in flight at once.
const CALLS_IN_FLIGHT: usize = 16;

/// Updates already received that are handled as one batch.
const UPDATES_AT_ONCE: usize = 1024;

/// How many agents' reasons `why` keeps per waiting task: enough to say why, and bounded on
/// a cluster of thousands of agents.
const MISFIT_AGENTS_KEPT: usize = 20;

/// Decides, for one batch of offers, which tasks to launch where and what to decline.
/// Linear in practice: an offer stops being tried once it has less cpus or memory left than
/// the smallest waiting task asks for, and what is still pending is rebuilt once per batch
/// (thousands of tasks on thousands of offers would otherwise cost their product).
fn plan_offers(shared: &Shared, offers: Vec<Offer>) -> Vec<Call> {
    let mut state = shared.state();
    let mut calls = Vec::new();
    let mut declined: Vec<OfferId> = Vec::new();
    let pending = std::mem::take(&mut state.pending);
    let mut taken = vec![false; pending.len()];
    let smallest = |name: &str| {
        pending
            .iter()
            .map(|(_, r)| r.resources().scalar(name))
            .fold(f64::INFINITY, f64::min)
    };
    let (min_cpus, min_mem) = (smallest("cpus"), smallest("mem"));
    let mut first_open = 0;
    for offer in offers {
        state.offers_received += 1;
        let mut available = Resources::new(offer.resources.iter().cloned().map(|mut r| {
            r.allocation_info = None;
            r
        }));
        let mut launch = Vec::new();
        for (i, (id, request)) in pending.iter().enumerate().skip(first_open) {
            if taken[i] {
                continue;
            }
            let exhausted =
                available.scalar("cpus") < min_cpus || available.scalar("mem") < min_mem;
            let claim = if exhausted {
                None
            } else {
                request.claim(&available)
            };
            match claim {
                Some(claim) => {
                    available = available.subtract(&claim.resources);
                    launch.push(request.to_task_info(id.clone(), &offer, &claim));
                    taken[i] = true;
                }
                None => {
                    let reasons = state.misfits.entry(id.clone()).or_default();
                    if reasons.len() < MISFIT_AGENTS_KEPT {
                        let why = request
                            .shortfall(&available)
                            .unwrap_or_else(|| "does not fit".to_string());
                        reasons.insert(offer.agent_id.value.clone(), why);
                    }
                }
            }
            // Nothing waiting fits in what is left: the first task that did not fit says why
            // (above), the others are not tried.
            if exhausted {
                break;
            }
        }
        while first_open < taken.len() && taken[first_open] {
            first_open += 1;
        }
        for info in &launch {
            state.misfits.remove(&info.task_id);
            state.queued_at_offer.remove(&info.task_id);
        }
        if launch.is_empty() {
            declined.push(offer.id.clone());
            continue;
        }
        for info in &launch {
            if let Some(t) = state.tasks.get_mut(&info.task_id) {
                t.agent_id = Some(info.agent_id.clone());
            }
        }
        let refuse = if first_open >= taken.len() {
            IDLE_REFUSE_SECONDS
        } else {
            WAITING_REFUSE_SECONDS
        };
        calls.push(Call {
            accept: Some(Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![Operation {
                    kind: "LAUNCH".into(),
                    launch: Some(Launch { task_infos: launch }),
                }],
                filters: Some(Filters {
                    refuse_seconds: Some(refuse),
                }),
            }),
            ..Call::new(CallType::Accept, None)
        });
    }
    state.pending = pending
        .into_iter()
        .zip(taken)
        .filter(|(_, taken)| !taken)
        .map(|(task, _)| task)
        .collect();
    if !declined.is_empty() {
        let refuse = if state.pending.is_empty() {
            IDLE_REFUSE_SECONDS
        } else {
            WAITING_REFUSE_SECONDS
        };
        calls.push(Call {
            decline: Some(Decline {
                offer_ids: declined,
                filters: Some(Filters {
                    refuse_seconds: Some(refuse),
                }),
            }),
            ..Call::new(CallType::Decline, None)
        });
    }
    calls
}
