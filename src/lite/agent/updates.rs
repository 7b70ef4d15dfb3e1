//! The agent's status update manager: each task's updates are queued, the head is sent to the
//! master and resent every `status_update_retry` until the framework acknowledges it, then the
//! next goes out. This is what makes "updates with a uuid are resent until acknowledged" true.

use super::to_master::ToMasterError;
use super::{AgentCore, AgentShared, PendingUpdate, TaskKey};
use crate::lite::protocol::{STATUS_UPDATE_PATH, StatusUpdate};
use crate::mesos::ids::ExecutorId;
use crate::mesos::task::{TaskState, TaskStatus, source};
use base64::Engine;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl AgentShared {
    /// Records a new state for a task and queues its update for the master.
    pub(super) fn send_update(&self, key: &TaskKey, mut status: TaskStatus) {
        // A stopped agent says nothing more: after a crash-like stop no update may reach the
        // master, or it would learn of kills the "crash" itself caused.
        if self.stopped.is_cancelled() {
            return;
        }
        {
            let mut core = self.core();
            // A custom executor's update keeps the uuid it chose: that is what the framework
            // acknowledges (and what the executor resends until the agent acknowledges it).
            status.uuid.get_or_insert_with(|| {
                base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
            });
            status.source.get_or_insert_with(|| source::EXECUTOR.into());
            // The task's own agent id, not the agent's registration state: the master may send
            // a task before this agent has read the answer to its registration, and an update
            // without an agent id cannot be acknowledged.
            status.agent_id = core
                .tasks
                .get(key)
                .map(|t| t.info.agent_id.clone())
                .or_else(|| core.agent_id.clone());
            // A command task's executor has the task's id, as Mesos's command executor.
            status.executor_id = Some(
                core.tasks
                    .get(key)
                    .and_then(|t| t.executor.clone())
                    .or_else(|| status.executor_id.take())
                    .unwrap_or_else(|| ExecutorId::new(key.1.value.clone())),
            );
            if let Some(task) = core.tasks.get_mut(key) {
                task.state = status.state;
                task.statuses.push(status.clone());
            }
            if core.shut_down.contains(&key.0) {
                // The framework was shut down here: nobody will acknowledge the update (Mesos
                // drops updates for a terminating framework too). A terminal task is done.
                if status.state.is_terminal() {
                    complete_task(&mut core, key);
                }
                return;
            }
            core.updates
                .entry(key.clone())
                .or_default()
                .push_back(PendingUpdate {
                    status,
                    sent_at: None,
                });
        }
        self.updates_changed.notify_one();
    }

    /// The framework acknowledged `uuid`: drop it and let the next update of the task go.
    pub(super) fn acknowledged(&self, key: &TaskKey, uuid: &str) {
        {
            let mut core = self.core();
            let Some(queue) = core.updates.get_mut(key) else {
                return;
            };
            let Some(acked) = queue.pop_front_if(|u| u.status.uuid.as_deref() == Some(uuid)) else {
                tracing::debug!(
                    "ignoring acknowledgement {uuid} for task {}: not the pending update",
                    key.1
                );
                return;
            };
            if queue.is_empty() {
                core.updates.remove(key);
                if acked.status.state.is_terminal() {
                    // Mesos cleans a task up once its terminal update is acknowledged.
                    complete_task(&mut core, key);
                }
            }
        }
        self.updates_changed.notify_one();
    }

    /// The latest state of a task, which the master records even while older updates wait.
    fn latest_state(&self, key: &TaskKey) -> Option<TaskState> {
        let core = self.core();
        core.tasks.get(key).map(|t| t.state).or_else(|| {
            core.completed
                .iter()
                .rev()
                .find(|t| (&t.framework_id, &t.info.task_id) == (&key.0, &key.1))
                .map(|t| t.state)
        })
    }
}

/// Moves a task to the completed ones (the last 1000 are kept).
pub(super) fn complete_task(core: &mut AgentCore, key: &TaskKey) {
    if let Some(task) = core.tasks.remove(key) {
        core.completed.push_back(task);
        while core.completed.len() > 1000 {
            core.completed.pop_front();
        }
    }
}

/// Sends due updates whenever something changes, and on the retry schedule.
pub async fn run(agent: Arc<AgentShared>) {
    loop {
        // A paused agent sends nothing; its due updates go out once it is thawed.
        agent.faults.thawed(&agent.stopped).await;
        if agent.stopped.is_cancelled() {
            return;
        }
        send_due(&agent).await;
        let retry = agent.config.status_update_retry;
        tokio::select! {
            _ = agent.updates_changed.notified() => {}
            _ = tokio::time::sleep(retry.min(Duration::from_secs(1))) => {}
            _ = agent.stopped.cancelled() => return,
        }
    }
}

async fn send_due(agent: &Arc<AgentShared>) {
    let due: Vec<(TaskKey, TaskStatus)> = {
        let core = agent.core();
        if !core.registered {
            return;
        }
        let retry = agent.config.status_update_retry;
        core.updates
            .iter()
            .filter_map(|(key, q)| q.front().map(|head| (key, head)))
            .filter(|(_, head)| head.sent_at.is_none_or(|t| t.elapsed() >= retry))
            .map(|(key, head)| (key.clone(), head.status.clone()))
            .collect()
    };
    for (key, status) in due {
        if agent.stopped.is_cancelled() {
            return;
        }
        let Some(agent_id) = agent.core().agent_id.clone() else {
            return;
        };
        let latest_state = agent.latest_state(&key).unwrap_or(status.state);
        let uuid = status.uuid.clone();
        let message = StatusUpdate {
            agent_id,
            framework_id: key.0.clone(),
            status,
            latest_state,
        };
        // A disconnected agent's attempt fails like any network error: retried at the next
        // interval, so updates of tasks that changed during a partition arrive after it.
        let sent = agent
            .post_to_master(&agent.http, STATUS_UPDATE_PATH, &message, None)
            .await;
        if matches!(sent, Err(ToMasterError::NoLeader)) {
            // Sent to nobody: due again as soon as a master leads.
            return;
        }
        {
            let mut core = agent.core();
            if let Some(head) = core.updates.get_mut(&key).and_then(|q| q.front_mut())
                && head.status.uuid == uuid
            {
                head.sent_at = Some(Instant::now());
            }
        }
        match sent {
            Ok(r) if r.status() == reqwest::StatusCode::CONFLICT => {
                tracing::info!("master does not know this agent; registering again");
                agent.reregister.notify_one();
                return;
            }
            Ok(r) if !r.status().is_success() => {
                tracing::warn!(
                    "master refused status update for task {}: {}",
                    key.1,
                    r.status()
                )
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("status update for task {} not delivered: {e}", key.1),
        }
    }
}

/// Waits up to `limit` for every pending update to be acknowledged (graceful stop).
pub async fn flush(agent: &Arc<AgentShared>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if agent.core().updates.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
