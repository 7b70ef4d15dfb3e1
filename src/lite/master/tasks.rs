//! Task updates: status updates from agents (forwarded to frameworks, resent by the agent
//! until acknowledged), ACKNOWLEDGE, KILL and RECONCILE.

use super::MasterShared;
use super::model::MasterCore;
use crate::lite::protocol::{
    AcknowledgeUpdate, KillTask, ShutdownFramework, StatusUpdate, ToAgent,
};
use crate::mesos::ids::{AgentId, FrameworkId, TaskId};
use crate::mesos::scheduler::{Acknowledge, Event, Kill, ReconcileTask};
use crate::mesos::task::{TaskState, TaskStatus, reason, source};
use base64::Engine;
use std::sync::Arc;

/// Why the master could not take a status update from an agent.
pub enum UpdateRefused {
    /// The agent is not registered here (e.g. the master restarted): it must re-register.
    UnknownAgent,
}

/// An ACKNOWLEDGE whose uuid is not one (16 bytes, base64): its 400's body, as Mesos's.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a valid UUID")]
pub(super) struct InvalidUuid(String);

impl MasterShared {
    pub(super) fn status_update(
        self: &Arc<Self>,
        update: StatusUpdate,
    ) -> Result<(), UpdateRefused> {
        let mut core = self.core();
        let Some(agent) = core.agents.get(&update.agent_id) else {
            return Err(UpdateRefused::UnknownAgent);
        };
        if core.is_completed_framework(&update.framework_id) {
            // The framework is gone: tell the agent to stop its tasks; drop the update.
            agent.send(ToAgent::ShutdownFramework(ShutdownFramework {
                framework_id: update.framework_id.clone(),
            }));
            return Ok(());
        }
        let Some(framework) = core.frameworks.get_mut(&update.framework_id) else {
            tracing::warn!(
                "ignoring status update for unknown framework {}",
                update.framework_id
            );
            return Ok(());
        };
        let task_id = update.status.task_id.clone();
        // Only the agent a task is on speaks for it (Mesos looks tasks up per agent): another
        // agent's update is about a stale copy there, e.g. one the master told it to kill.
        let on_agent = |t: &super::model::Task| t.agent_id() == &update.agent_id;
        if framework
            .unreachable_tasks
            .get(&task_id)
            .is_some_and(on_agent)
            && let Some(task) = framework.unreachable_tasks.remove(&task_id)
        {
            // The agent came back: the task is known again.
            framework.tasks.insert(task_id.clone(), task);
        }
        let Some(task) = framework.tasks.get_mut(&task_id).filter(|t| on_agent(t)) else {
            // Mesos forwards it anyway (`Master::statusUpdate`): the framework acknowledges it
            // and the agent stops resending it, e.g. after the master completed the task
            // while an acknowledgement to the agent was lost.
            tracing::warn!("status update for unknown task {task_id}: forwarded only");
            framework.send(&Event::update(update.status));
            return Ok(());
        };
        let was_terminal = task.state.is_terminal();
        // As Mesos's `Master::updateTask`: a terminal state is final (not even another terminal
        // state replaces it); the status is still recorded and forwarded, to be acknowledged.
        let latest = if was_terminal {
            task.state
        } else {
            update.latest_state
        };
        self.record_status(task, update.status.clone(), latest);
        let became_terminal = !was_terminal && latest.is_terminal();
        framework.send(&Event::update(update.status));
        if became_terminal {
            core.count_terminal(latest);
            // Resources are free as soon as the task is terminal, before the acknowledgement.
            self.allocate(&mut core);
        }
        Ok(())
    }

    pub(super) fn acknowledge(
        self: &Arc<Self>,
        framework_id: &FrameworkId,
        ack: Acknowledge,
    ) -> Result<(), InvalidUuid> {
        let uuid_ok = base64::engine::general_purpose::STANDARD
            .decode(&ack.uuid)
            .is_ok_and(|b| b.len() == 16);
        if !uuid_ok {
            return Err(InvalidUuid(ack.uuid));
        }
        let mut core = self.core();
        if let Some(agent) = core.agents.get(&ack.agent_id) {
            agent.send(ToAgent::Acknowledge(AcknowledgeUpdate {
                framework_id: framework_id.clone(),
                task_id: ack.task_id.clone(),
                uuid: ack.uuid.clone(),
            }));
        }
        let max_completed = self.config.max_completed_tasks_per_framework;
        if let Some(framework) = core.frameworks.get_mut(framework_id)
            && let Some(task) = framework.tasks.get(&ack.task_id)
            && task.status_update_uuid.as_deref() == Some(ack.uuid.as_str())
            && task.status_update_state.is_some_and(TaskState::is_terminal)
            && let Some(task) = framework.tasks.remove(&ack.task_id)
        {
            framework.push_completed(task, max_completed);
        }
        Ok(())
    }

    pub(super) fn kill(self: &Arc<Self>, framework_id: &FrameworkId, kill: Kill) {
        let mut core = self.core();
        let target = core
            .frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(&kill.task_id))
            .map(|t| t.agent_id().clone());
        match target.and_then(|agent_id| core.agents.get(&agent_id)) {
            Some(agent) => agent.send(ToAgent::KillTask(KillTask {
                framework_id: framework_id.clone(),
                task_id: kill.task_id,
                kill_policy: kill.kill_policy,
            })),
            None => {
                // Mesos answers a kill for a task it does not know (or whose agent is gone)
                // with the task's reconciled state.
                let task = ReconcileTask {
                    task_id: kill.task_id,
                    agent_id: kill.agent_id,
                };
                self.reconcile_explicit(&mut core, framework_id, &[task]);
            }
        }
    }

    pub(super) fn reconcile(
        self: &Arc<Self>,
        framework_id: &FrameworkId,
        tasks: Vec<ReconcileTask>,
    ) {
        let mut core = self.core();
        if tasks.is_empty() {
            let Some(framework) = core.frameworks.get(framework_id) else {
                return;
            };
            let partition_aware = framework.is_partition_aware();
            let mut statuses = Vec::new();
            for task in framework.tasks.values() {
                statuses.push(reconciled(&task.info.task_id, task.agent_id(), task.state));
            }
            for task in framework.unreachable_tasks.values() {
                let state = if partition_aware {
                    TaskState::Unreachable
                } else {
                    TaskState::Lost
                };
                statuses.push(reconciled(&task.info.task_id, task.agent_id(), state));
            }
            for status in statuses {
                framework.send(&Event::update(status));
            }
        } else {
            self.reconcile_explicit(&mut core, framework_id, &tasks);
        }
    }

    fn reconcile_explicit(
        &self,
        core: &mut MasterCore,
        framework_id: &FrameworkId,
        tasks: &[ReconcileTask],
    ) {
        let Some(framework) = core.frameworks.get(framework_id) else {
            return;
        };
        let partition_aware = framework.is_partition_aware();
        let pick = |aware: TaskState| {
            if partition_aware {
                aware
            } else {
                TaskState::Lost
            }
        };
        for wanted in tasks {
            let status = if let Some(task) = framework.tasks.get(&wanted.task_id) {
                reconciled(&task.info.task_id, task.agent_id(), task.state)
            } else if let Some(task) = framework.unreachable_tasks.get(&wanted.task_id) {
                reconciled(
                    &task.info.task_id,
                    task.agent_id(),
                    pick(TaskState::Unreachable),
                )
            } else {
                let state = match &wanted.agent_id {
                    Some(a) if core.agents.contains_key(a) => pick(TaskState::Gone),
                    Some(a) if core.unreachable_agents.contains_key(a) => {
                        pick(TaskState::Unreachable)
                    }
                    _ => pick(TaskState::Unknown),
                };
                let mut status = TaskStatus::new(wanted.task_id.clone(), state);
                status.source = Some(source::MASTER.into());
                status.reason = Some(reason::RECONCILIATION.into());
                status.message = Some("Reconciliation: Task is unknown".into());
                status.agent_id = wanted.agent_id.clone();
                status
            };
            framework.send(&Event::update(status));
        }
    }
}

/// A reconciliation answer: the latest known state, from the master, with nothing to ack.
fn reconciled(task_id: &TaskId, agent_id: &AgentId, state: TaskState) -> TaskStatus {
    let mut status = TaskStatus::new(task_id.clone(), state);
    status.source = Some(source::MASTER.into());
    status.reason = Some(reason::RECONCILIATION.into());
    status.message = Some("Reconciliation: Latest task state".into());
    status.agent_id = Some(agent_id.clone());
    status
}
