//! Custom executors, as the master sees them: framework messages in both directions (scheduler
//! MESSAGE → agent → executor; executor MESSAGE → agent → scheduler MESSAGE event), the
//! scheduler's SHUTDOWN call, and executors ending (Mesos's `ExitedExecutorMessage`). Which
//! executors run where is recorded on each agent when their first task launches.

use super::MasterShared;
use crate::lite::protocol::{
    ExecutorToFramework, ExitedExecutor, FrameworkToExecutor, ShutdownExecutor, ToAgent,
};
use crate::mesos::ids::FrameworkId;
use crate::mesos::scheduler::{Event, FrameworkMessage, Shutdown};
use std::sync::Arc;

impl MasterShared {
    /// A scheduler's MESSAGE: relayed to the agent, which hands it to the executor. Like Mesos,
    /// no delivery guarantee: dropped (and logged) when the agent is unknown or disconnected.
    pub(super) fn framework_message(&self, framework_id: &FrameworkId, message: FrameworkMessage) {
        let core = self.core();
        match core.agents.get(&message.agent_id) {
            Some(agent) if agent.connected => {
                agent.send(ToAgent::FrameworkMessage(FrameworkToExecutor {
                    framework_id: framework_id.clone(),
                    executor_id: message.executor_id,
                    data: message.data,
                }))
            }
            Some(_) => tracing::warn!(
                "dropping message of framework {framework_id} for executor {}: agent {} is disconnected",
                message.executor_id,
                message.agent_id
            ),
            None => tracing::warn!(
                "dropping message of framework {framework_id} for executor {}: agent {} is not registered",
                message.executor_id,
                message.agent_id
            ),
        }
    }

    /// A scheduler's SHUTDOWN: the agent sends the executor SHUTDOWN, then kills it.
    pub(super) fn shutdown_executor(&self, framework_id: &FrameworkId, shutdown: Shutdown) {
        let core = self.core();
        match core.agents.get(&shutdown.agent_id) {
            Some(agent) if agent.connected => {
                agent.send(ToAgent::ShutdownExecutor(ShutdownExecutor {
                    framework_id: framework_id.clone(),
                    executor_id: shutdown.executor_id,
                }))
            }
            _ => tracing::warn!(
                "cannot shut down executor {} of framework {framework_id}: agent {} is not connected",
                shutdown.executor_id,
                shutdown.agent_id
            ),
        }
    }

    /// An executor's MESSAGE, relayed by its agent: the scheduler gets a MESSAGE event.
    pub(super) fn executor_message(&self, message: ExecutorToFramework) {
        let core = self.core();
        match core.frameworks.get(&message.framework_id) {
            Some(framework) if framework.connected => {
                framework.send(&Event::message(FrameworkMessage {
                    agent_id: message.agent_id,
                    executor_id: message.executor_id,
                    data: message.data,
                }))
            }
            _ => tracing::warn!(
                "dropping message from executor {} for framework {}: not connected",
                message.executor_id,
                message.framework_id
            ),
        }
    }

    /// An executor ended: forget it, so its resources are free again.
    pub(super) fn exited_executor(self: &Arc<Self>, exited: ExitedExecutor) {
        let mut core = self.core();
        let key = (exited.framework_id.clone(), exited.executor_id.clone());
        let removed = core
            .agents
            .get_mut(&exited.agent_id)
            .and_then(|a| a.executors.remove(&key));
        if removed.is_some() {
            tracing::info!(
                "executor {} of framework {} on agent {} exited with status {}",
                exited.executor_id,
                exited.framework_id,
                exited.agent_id,
                exited.status
            );
            self.allocate(&mut core);
        }
    }
}
