//! Custom executors (`TaskInfo.executor`), run as Mesos's agent runs them (`src/slave/slave.cpp`):
//! one per (framework, executor id); launched in its sandbox
//! `<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<eid>/runs/<container>` with the
//! environment of Mesos's `executorEnvironment`, in its own process group; its tasks wait until
//! it subscribes on `/api/v1/executor` (then LAUNCH), and are killed through it (KILL). An
//! executor that does not subscribe within `--executor_registration_timeout` is killed; one
//! that ends leaves its unfinished tasks TASK_FAILED; SHUTDOWN gives it its grace period before
//! the agent kills it. Its `CommandInfo.uris` are fetched into the sandbox first (`fetcher`).
//! The HTTP side is `executor_api.rs`.
//!
//! - `process`: an executor as a process group on the agent's host;
//! - `container`: one whose `ExecutorInfo.container` is DOCKER, as a sibling container
//!   (Docker containerizer; the container itself is `docker_tasks/executor.rs`);
//! - `environment`: what both are told (`executorEnvironment`).

use super::fetcher;
use super::updates::complete_task;
use super::{
    AgentShared, CustomExecutor, ExecutorKey, ExecutorState, RunningTask, TaskKey, Termination,
};
use crate::process::kill_group;
mod container;
mod environment;
mod process;

use crate::flags::format_duration;
use crate::lite::protocol::{
    EXECUTOR_MESSAGE_PATH, EXITED_EXECUTOR_PATH, ExecutorToFramework, ExitedExecutor, RunTask,
};
use crate::mesos::executor::{Event, ExecutorInfo};
use crate::mesos::framework::capability;
use crate::mesos::ids::{ContainerId, FrameworkId, TaskId};
use crate::mesos::task::{KillPolicy, TaskState, TaskStatus, reason, source};
use std::collections::btree_map;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Mesos keeps this many completed executors per framework (`max_completed_executors_per_framework`).
const MAX_COMPLETED_EXECUTORS: usize = 150;

/// An update the agent itself produces for a task of a custom executor.
fn agent_status(task_id: &TaskId, state: TaskState, why: &str, message: &str) -> TaskStatus {
    let mut s = TaskStatus::new(task_id.clone(), state);
    s.source = Some(source::AGENT.into());
    s.reason = Some(why.into());
    s.message = Some(message.into());
    s
}

impl AgentShared {
    /// A task for a custom executor: handed to the running executor (LAUNCH), queued for one
    /// that has not subscribed yet, or the executor is launched first.
    pub(super) fn run_executor_task(self: &Arc<Self>, run: RunTask, info: ExecutorInfo) {
        let key: TaskKey = (run.framework_id.clone(), run.task.task_id.clone());
        let executor_key: ExecutorKey = (run.framework_id.clone(), info.executor_id.clone());
        let mut launch_now = false;
        let mut refused: Option<TaskStatus> = None;
        let mut start: Option<(ContainerId, mpsc::UnboundedReceiver<()>)> = None;
        {
            let mut core = self.core();
            if core.tasks.contains_key(&key) {
                tracing::warn!(
                    "task {} of {} is already here; ignoring the duplicate",
                    key.1,
                    key.0
                );
                return;
            }
            core.frameworks
                .insert(run.framework_id.clone(), run.framework_info.clone());
            core.shut_down.remove(&run.framework_id);
            let executor = match core.executors.get_mut(&executor_key) {
                Some(executor) => executor,
                None => {
                    let container_id = ContainerId::new(uuid::Uuid::new_v4().to_string());
                    let (destroy, destroy_rx) = mpsc::unbounded_channel();
                    let sandbox = self
                        .config
                        .work_dir
                        .join("slaves")
                        .join(&run.task.agent_id.value)
                        .join("frameworks")
                        .join(&run.framework_id.value)
                        .join("executors")
                        .join(&info.executor_id.value)
                        .join("runs")
                        .join(&container_id.value);
                    start = Some((container_id.clone(), destroy_rx));
                    core.executors
                        .entry(executor_key.clone())
                        .or_insert(CustomExecutor {
                            framework_id: run.framework_id.clone(),
                            info: info.clone(),
                            container_id,
                            sandbox,
                            state: ExecutorState::Registering,
                            pid: None,
                            stream: None,
                            queued: vec![],
                            ever_sent_task: false,
                            pending_termination: None,
                            destroy,
                            container: None,
                        })
                }
            };
            match executor.state {
                ExecutorState::Registering => executor.queued.push(key.1.clone()),
                ExecutorState::Running => launch_now = true,
                ExecutorState::Terminating | ExecutorState::Terminated => {
                    // As Mesos's `Slave::__run`: too late for this executor.
                    let partition_aware = run
                        .framework_info
                        .has_capability(capability::PARTITION_AWARE);
                    let state = if partition_aware {
                        TaskState::Dropped
                    } else {
                        TaskState::Lost
                    };
                    refused = Some(agent_status(
                        &key.1,
                        state,
                        reason::EXECUTOR_TERMINATED,
                        "Executor terminating",
                    ));
                }
            }
            let (container_id, sandbox) = (executor.container_id.clone(), executor.sandbox.clone());
            let (kill, _) = mpsc::unbounded_channel();
            core.tasks.insert(
                key.clone(),
                RunningTask {
                    framework_id: run.framework_id.clone(),
                    info: run.task.clone(),
                    state: TaskState::Staging,
                    statuses: vec![],
                    container_id,
                    sandbox,
                    pid: None,
                    container: None,
                    kill,
                    executor: Some(info.executor_id.clone()),
                },
            );
            // The executor found (or created) above, still under the same lock.
            if launch_now && let Some(executor) = core.executors.get_mut(&executor_key) {
                executor.ever_sent_task = true;
                if let Some(stream) = &executor.stream {
                    stream.send(&Event::launch(run.task.clone()));
                }
            }
        }
        if let Some(status) = refused {
            self.send_update(&key, status);
        }
        if let Some((container_id, destroy_rx)) = start {
            let agent = self.clone();
            crate::node_log::spawn(async move {
                supervise(agent, executor_key, container_id, destroy_rx).await
            });
        }
    }

    /// A KILL for a task of a custom executor: a queued task ends here (TASK_KILLED, as
    /// Mesos's agent does), a launched one gets a KILL event to its executor. False when the
    /// task is not a custom executor's.
    pub(super) fn kill_executor_task(&self, key: &TaskKey, policy: Option<KillPolicy>) -> bool {
        let killed_here = {
            let mut core = self.core();
            let Some(executor_id) = core.tasks.get(key).and_then(|t| t.executor.clone()) else {
                return false;
            };
            if core.tasks[key].state.is_terminal() {
                return true;
            }
            let Some(executor) = core.executors.get_mut(&(key.0.clone(), executor_id)) else {
                return true;
            };
            if let Some(at) = executor.queued.iter().position(|t| t == &key.1) {
                executor.queued.remove(at);
                true
            } else {
                match (executor.state, &executor.stream) {
                    (ExecutorState::Running, Some(stream)) => {
                        stream.send(&Event::kill(key.1.clone(), policy));
                    }
                    (state, _) => {
                        tracing::warn!("ignoring kill of task {}: its executor is {state:?}", key.1)
                    }
                }
                false
            }
        };
        if killed_here {
            self.send_update(
                key,
                agent_status(
                    &key.1,
                    TaskState::Killed,
                    reason::TASK_KILLED_DURING_LAUNCH,
                    "Killed before delivery to the executor",
                ),
            );
        }
        true
    }

    /// Sends SHUTDOWN to a running or registering executor; it is killed after its grace
    /// period (`ExecutorInfo.shutdown_grace_period`, else `--executor_shutdown_grace_period`).
    pub(super) fn shutdown_executor(self: &Arc<Self>, key: &ExecutorKey) {
        let mut core = self.core();
        let Some(executor) = core.executors.get_mut(key) else {
            return;
        };
        if !matches!(
            executor.state,
            ExecutorState::Registering | ExecutorState::Running
        ) {
            return;
        }
        tracing::info!("shutting down executor {} of framework {}", key.1, key.0);
        executor.state = ExecutorState::Terminating;
        if let Some(stream) = &executor.stream {
            stream.send(&Event::shutdown());
        }
        let grace = self.executor_grace(executor);
        let destroy = executor.destroy.clone();
        crate::node_log::spawn(async move {
            tokio::time::sleep(grace).await;
            // Ignored if the executor has ended by then (its receiver is gone).
            let _ = destroy.send(());
        });
    }

    pub(super) fn shutdown_framework_executors(self: &Arc<Self>, framework_id: &FrameworkId) {
        let keys: Vec<ExecutorKey> = self
            .core()
            .executors
            .keys()
            .filter(|k| &k.0 == framework_id)
            .cloned()
            .collect();
        for key in keys {
            self.shutdown_executor(&key);
        }
    }

    fn executor_grace(&self, executor: &CustomExecutor) -> Duration {
        executor
            .info
            .shutdown_grace_period
            .as_ref()
            .map(|g| Duration::from_nanos(g.nanoseconds.max(0) as u64))
            .unwrap_or(self.config.executor_shutdown_grace_period)
    }

    /// A scheduler's message for an executor: delivered only to a subscribed executor, as in
    /// Mesos (no queueing, no guarantee).
    pub(super) fn framework_message(&self, key: &ExecutorKey, data: String) {
        let core = self.core();
        match core.executors.get(key) {
            Some(CustomExecutor {
                state: ExecutorState::Running,
                stream: Some(stream),
                ..
            }) => stream.send(&Event::message(data)),
            Some(e) => tracing::warn!(
                "dropping message for executor {} of {}: it is {:?}",
                key.1,
                key.0,
                e.state
            ),
            None => tracing::warn!(
                "dropping message for executor {} of {}: no such executor here",
                key.1,
                key.0
            ),
        }
    }

    /// Returns once the executors' messages sent so far have reached the master (or failed),
    /// waiting at most `within`.
    pub(super) async fn messages_delivered(&self, within: Duration) {
        let mut in_flight = self.messages_in_flight.subscribe();
        let _ = tokio::time::timeout(within, in_flight.wait_for(|n| *n == 0)).await;
    }

    /// An executor's MESSAGE call: relayed to the master for its scheduler (best effort).
    pub(super) fn executor_message(self: &Arc<Self>, key: &ExecutorKey, data: String) {
        let Some(agent_id) = self.core().agent_id.clone() else {
            return;
        };
        if self.core().shut_down.contains(&key.0) {
            tracing::warn!(
                "ignoring message from executor {}: framework is terminating",
                key.1
            );
            return;
        }
        let message = ExecutorToFramework {
            agent_id,
            framework_id: key.0.clone(),
            executor_id: key.1.clone(),
            data,
        };
        self.forward_to_master(EXECUTOR_MESSAGE_PATH, message);
    }

    /// Sends an executor's message on to the master in the background; the executor's next
    /// update waits for it (see `messages_in_flight`).
    fn forward_to_master<T: serde::Serialize + Send + Sync + 'static>(
        self: &Arc<Self>,
        path: &'static str,
        body: T,
    ) {
        let agent = self.clone();
        let in_flight = InFlight::start(&self.messages_in_flight);
        crate::node_log::spawn(async move {
            let _in_flight = in_flight;
            match agent.post_to_master(&agent.http, path, &body, None).await {
                Err(super::to_master::ToMasterError::NoLeader) => {
                    tracing::warn!("dropped a message for the master: no master leads");
                }
                Err(e) => tracing::debug!("{path} not delivered to the master: {e}"),
                Ok(_) => {}
            }
        });
    }

    /// The executor's process ended (or never started): its unfinished tasks end as Mesos's
    /// `executorTerminated` ends them and the master forgets the executor.
    fn executor_terminated(
        self: &Arc<Self>,
        key: &ExecutorKey,
        container_id: &ContainerId,
        status: i32,
        how: &str,
    ) {
        let (updates, agent_id) = {
            let mut core = self.core();
            // Only the container that ended: a newer one may run under the same key.
            let mut executor = match core.executors.entry(key.clone()) {
                btree_map::Entry::Occupied(entry) if &entry.get().container_id == container_id => {
                    entry.remove()
                }
                _ => return,
            };
            executor.state = ExecutorState::Terminated;
            executor.stream = None; // closes the SUBSCRIBE stream
            tracing::info!("executor {} of framework {} {how}", key.1, key.0);
            let unfinished: Vec<TaskKey> = core
                .tasks
                .iter()
                .filter(|(k, t)| {
                    k.0 == key.0 && t.executor.as_ref() == Some(&key.1) && !t.state.is_terminal()
                })
                .map(|(k, _)| k.clone())
                .collect();
            let mut updates = vec![];
            if core.shut_down.contains(&key.0) {
                // Nobody acknowledges updates of a framework that is gone: its tasks complete
                // with the executor (Mesos keeps them as the executor's terminated tasks).
                for task in &unfinished {
                    complete_task(&mut core, task);
                }
            } else {
                let termination = executor.pending_termination.clone().unwrap_or(Termination {
                    state: TaskState::Failed,
                    reason: reason::EXECUTOR_TERMINATED,
                    message: "Executor terminated".into(),
                });
                for task in unfinished {
                    let status = agent_status(
                        &task.1,
                        termination.state,
                        termination.reason,
                        &termination.message,
                    );
                    updates.push((task, status));
                }
            }
            core.completed_executors.push_back(executor);
            let of_framework = core
                .completed_executors
                .iter()
                .filter(|e| e.framework_id == key.0)
                .count();
            if of_framework > MAX_COMPLETED_EXECUTORS
                && let Some(oldest) = core
                    .completed_executors
                    .iter()
                    .position(|e| e.framework_id == key.0)
            {
                core.completed_executors.remove(oldest);
            }
            (updates, core.agent_id.clone())
        };
        for (task, status) in updates {
            self.send_update(&task, status);
        }
        if let Some(agent_id) = agent_id
            && !self.stopped.is_cancelled()
        {
            let exited = ExitedExecutor {
                agent_id,
                framework_id: key.0.clone(),
                executor_id: key.1.clone(),
                status,
            };
            self.forward_to_master(EXITED_EXECUTOR_PATH, exited);
        }
    }
}

/// Runs one executor from launch to exit.
async fn supervise(
    agent: Arc<AgentShared>,
    key: ExecutorKey,
    container_id: ContainerId,
    mut destroy: mpsc::UnboundedReceiver<()>,
) {
    if !fetch_uris(&agent, &key, &container_id, &mut destroy).await {
        return;
    }
    let in_container = agent
        .core()
        .executors
        .get(&key)
        .is_some_and(|e| e.info.is_docker());
    if in_container {
        return container::supervise(agent, key, container_id, destroy).await;
    }
    process::supervise(agent, key, container_id, destroy).await;
}

/// The executor could not start: its tasks fail with `REASON_CONTAINER_LAUNCH_FAILED`.
fn launch_failed(
    agent: &Arc<AgentShared>,
    key: &ExecutorKey,
    container_id: &ContainerId,
    message: String,
) {
    tracing::warn!("executor {} of {}: {message}", key.1, key.0);
    if let Some(e) = agent.core().executors.get_mut(key) {
        e.pending_termination = Some(Termination {
            state: TaskState::Failed,
            reason: reason::CONTAINER_LAUNCH_FAILED,
            message,
        });
    }
    agent.executor_terminated(key, container_id, -1, "failed to launch");
}

/// `--executor_registration_timeout` has passed: an executor still registering is to be
/// killed, its tasks failing with `REASON_EXECUTOR_REGISTRATION_TIMEOUT`. Whether to kill it.
fn registration_timed_out(agent: &AgentShared, key: &ExecutorKey) -> bool {
    let mut core = agent.core();
    let Some(e) = core.executors.get_mut(key) else {
        return false;
    };
    if e.state != ExecutorState::Registering {
        return false;
    }
    let timeout = format_duration(agent.config.executor_registration_timeout);
    tracing::info!(
        "executor {} of framework {} did not register within {timeout}",
        key.1,
        key.0
    );
    e.state = ExecutorState::Terminating;
    e.pending_termination = Some(Termination {
        state: TaskState::Failed,
        reason: reason::EXECUTOR_REGISTRATION_TIMEOUT,
        message: format!("Executor did not register within {timeout}"),
    });
    true
}

/// Fetches the executor's `CommandInfo.uris` into its sandbox before it starts, as Mesos's
/// containerizer does. A failed fetch ends the executor before it runs: its tasks fail with
/// `REASON_CONTAINER_LAUNCH_FAILED` (naming the URI). Returns whether the executor goes on.
async fn fetch_uris(
    agent: &Arc<AgentShared>,
    key: &ExecutorKey,
    container_id: &ContainerId,
    destroy: &mut mpsc::UnboundedReceiver<()>,
) -> bool {
    let Some((uris, sandbox)) = agent.core().executors.get(key).map(|e| {
        let uris = e
            .info
            .command
            .as_ref()
            .map(|c| c.uris.clone())
            .unwrap_or_default();
        (uris, e.sandbox.clone())
    }) else {
        return false;
    };
    if uris.is_empty() {
        return true;
    }
    let failure = tokio::select! {
        fetched = fetcher::fetch_uris(&uris, &sandbox) => match fetched {
            Ok(()) => return true,
            Err(e) => format!(
                "Failed to launch container: Failed to fetch all URIs for container '{container_id}': {}",
                crate::errors::error_chain(&e)
            ),
        },
        // Shut down (or timed out) while fetching: it never ran.
        Some(()) = destroy.recv() => "Executor was shut down while its URIs were fetched".to_string(),
        _ = agent.stopped.cancelled() => return false,
    };
    tracing::warn!("executor {} of {}: {failure}", key.1, key.0);
    if let Some(e) = agent.core().executors.get_mut(key) {
        e.pending_termination.get_or_insert(Termination {
            state: TaskState::Failed,
            reason: reason::CONTAINER_LAUNCH_FAILED,
            message: failure,
        });
    }
    agent.executor_terminated(key, container_id, -1, "failed to launch");
    false
}

/// Graceful agent stop: every executor gets SHUTDOWN and its grace period, then is killed.
/// Returns once all have ended (or a little after the longest grace period).
pub async fn shutdown_all(agent: &Arc<AgentShared>) {
    let (keys, longest) = {
        let core = agent.core();
        let longest = core
            .executors
            .values()
            .map(|e| agent.executor_grace(e))
            .max()
            .unwrap_or_default();
        (core.executors.keys().cloned().collect::<Vec<_>>(), longest)
    };
    if keys.is_empty() {
        return;
    }
    for key in &keys {
        agent.shutdown_executor(key);
    }
    let deadline = tokio::time::Instant::now() + longest + Duration::from_secs(2);
    while tokio::time::Instant::now() < deadline && !agent.core().executors.is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// SIGKILLs every executor's process group at once (crash, drop).
pub fn kill_all_now(agent: &AgentShared) {
    for executor in agent.core().executors.values() {
        kill_group(executor.pid, libc::SIGKILL);
    }
}

/// One message counted in `messages_in_flight` until it is dropped, however its send ended.
struct InFlight(tokio::sync::watch::Sender<usize>);

impl InFlight {
    fn start(counter: &tokio::sync::watch::Sender<usize>) -> InFlight {
        counter.send_modify(|n| *n += 1);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}
