//! An agent leaving the master: disconnected (deactivated at once), unreachable (missed
//! pings; it may come back) or removed for good (unregistered, or replaced at its address),
//! and what becomes of its tasks in each case.

use super::MasterShared;
use super::model::MasterCore;
use crate::mesos::ids::AgentId;
use crate::mesos::scheduler::Event;
use crate::mesos::task::{TaskState, TaskStatus, TimeInfo, now_seconds, reason, source};
use std::sync::Arc;

impl MasterShared {
    /// The agent's socket broke (its process is gone): deactivate it at once and rescind its
    /// offers; tasks of frameworks that do not checkpoint are lost (Mesos's `Master::exited`).
    pub(super) fn agent_disconnected(self: &Arc<Self>, id: &AgentId) {
        let mut core = self.core();
        let Some(agent) = core.agents.get_mut(id) else {
            return;
        };
        if !agent.connected {
            return;
        }
        agent.connected = false;
        agent.active = false;
        let message = format!("Agent {} disconnected", agent.hostname);
        tracing::info!("agent {id} disconnected; deactivated");
        self.remove_offers_where(&mut core, true, |o| &o.agent_id == id);
        let lost: Vec<_> = core
            .frameworks
            .values()
            .filter(|f| !f.info.checkpoint)
            .flat_map(|f| {
                f.tasks
                    .values()
                    .filter(|t| t.agent_id() == id && !t.state.is_terminal())
                    .map(|t| (f.id.clone(), t.info.task_id.clone()))
            })
            .collect();
        for (fw_id, task_id) in lost {
            let status = self.send_master_update(
                &mut core,
                &fw_id,
                &task_id,
                Some(id),
                TaskState::Lost,
                reason::AGENT_DISCONNECTED,
                &message,
            );
            if let Some(f) = core.frameworks.get_mut(&fw_id)
                && let Some(mut task) = f.tasks.remove(&task_id)
            {
                self.record_status(&mut task, status, TaskState::Lost);
                f.push_completed(task, self.config.max_completed_tasks_per_framework);
            }
        }
        self.allocate(&mut core);
    }

    /// The agent missed `max_agent_ping_timeouts` pings: it is unreachable. Its tasks become
    /// TASK_UNREACHABLE (partition-aware frameworks) or TASK_LOST and move to
    /// `unreachable_tasks`; every connected framework gets FAILURE.
    pub(super) fn agent_unreachable(self: &Arc<Self>, id: &AgentId) {
        let mut core = self.core();
        let Some(agent) = core.agents.remove(id) else {
            return;
        };
        self.remove_offers_where(&mut core, true, |o| &o.agent_id == id);
        let now = now_seconds();
        core.unreachable_agents.insert(id.clone(), now);
        core.filters.retain(|f| &f.agent_id != id);
        tracing::warn!(
            "agent {id} ({}) missed its pings; marked unreachable",
            agent.hostname
        );
        self.remove_agent_tasks(
            &mut core,
            id,
            true,
            reason::AGENT_REMOVED,
            "health check timed out",
        );
        let failure = Event::agent_failure(id.clone());
        for f in core.frameworks.values().filter(|f| f.connected) {
            f.send(&failure);
        }
        self.publish_agent_removed(id);
        self.allocate(&mut core);
    }

    /// The agent shut down gracefully and said goodbye.
    pub(super) fn unregister_agent(self: &Arc<Self>, id: &AgentId) -> bool {
        let mut core = self.core();
        if !self.remove_agent(&mut core, id, "agent unregistered") {
            return false;
        }
        tracing::info!("agent {id} unregistered");
        self.allocate(&mut core);
        true
    }

    /// Removes an agent for good (not unreachable): its offers are rescinded, its tasks end
    /// (TASK_GONE or TASK_LOST, `REASON_AGENT_REMOVED`) and every connected framework gets
    /// FAILURE. The caller runs the allocator.
    pub(super) fn remove_agent(
        self: &Arc<Self>,
        core: &mut MasterCore,
        id: &AgentId,
        why: &str,
    ) -> bool {
        let Some(agent) = core.agents.remove(id) else {
            return false;
        };
        self.remove_offers_where(core, true, |o| &o.agent_id == id);
        core.filters.retain(|f| &f.agent_id != id);
        let message = format!("Agent {} removed: {why}", agent.hostname);
        self.remove_agent_tasks(core, id, false, reason::AGENT_REMOVED, &message);
        let failure = Event::agent_failure(id.clone());
        for f in core.frameworks.values().filter(|f| f.connected) {
            f.send(&failure);
        }
        self.publish_agent_removed(id);
        true
    }

    /// Ends every task on a removed agent. `unreachable`: the agent may come back, so tasks go
    /// to `unreachable_tasks` (TASK_UNREACHABLE or TASK_LOST); otherwise they are gone for good
    /// (TASK_GONE or TASK_LOST) and complete.
    fn remove_agent_tasks(
        self: &Arc<Self>,
        core: &mut MasterCore,
        agent_id: &AgentId,
        unreachable: bool,
        why: &str,
        message: &str,
    ) {
        let now = now_seconds();
        let affected: Vec<_> = core
            .frameworks
            .values()
            .flat_map(|f| {
                f.tasks
                    .values()
                    .filter(|t| t.agent_id() == agent_id)
                    .map(|t| (f.id.clone(), t.info.task_id.clone(), f.is_partition_aware()))
            })
            .collect();
        for (fw_id, task_id, partition_aware) in affected {
            let Some(framework) = core.frameworks.get_mut(&fw_id) else {
                continue;
            };
            let Some(mut task) = framework.tasks.remove(&task_id) else {
                continue;
            };
            if task.state.is_terminal() {
                // The agent reported the end (as `latest_state`) but the update itself is still
                // queued behind unacknowledged ones on an agent that is now gone: tell the
                // framework here, or it would never learn how its task ended.
                if !task.status_update_state.is_some_and(TaskState::is_terminal) {
                    let mut status = TaskStatus::new(task_id.clone(), task.state);
                    status.source = Some(source::MASTER.into());
                    status.reason = Some(why.into());
                    status.message = Some(format!(
                        "{message}; the agent had reported the task {} before",
                        task.state
                    ));
                    status.agent_id = Some(agent_id.clone());
                    framework.send(&Event::update(status.clone()));
                    let state = task.state;
                    self.record_status(&mut task, status, state);
                }
                framework.push_completed(task, self.config.max_completed_tasks_per_framework);
                continue;
            }
            let state = match (partition_aware, unreachable) {
                (true, true) => TaskState::Unreachable,
                (true, false) => TaskState::Gone,
                (false, _) => TaskState::Lost,
            };
            let mut status = TaskStatus::new(task_id.clone(), state);
            status.source = Some(source::MASTER.into());
            status.reason = Some(why.into());
            status.message = Some(message.into());
            status.agent_id = Some(agent_id.clone());
            if unreachable {
                status.unreachable_time = Some(TimeInfo::from_seconds(now));
            }
            framework.send(&Event::update(status.clone()));
            self.record_status(&mut task, status, state);
            if unreachable {
                framework.unreachable_tasks.insert(task_id, task);
            } else {
                framework.push_completed(task, self.config.max_completed_tasks_per_framework);
            }
            core.count_terminal(state);
        }
    }
}
