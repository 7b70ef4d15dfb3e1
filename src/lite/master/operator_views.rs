//! Renders the master's registry as the v1 operator payloads (reference section 4): the
//! answers to GET_TASKS, GET_AGENTS, GET_FRAMEWORKS, GET_EXECUTORS and GET_STATE, and the
//! items of the operator event stream. Read-only; the caller holds the registry lock.

use super::model::{Agent, AgentUsage, Framework, MasterCore, Task};
use super::views::AGENT_CAPABILITIES;
use crate::mesos::framework::Capability;
use crate::mesos::operator;
use crate::mesos::scheduler::Offer;
use crate::mesos::task::TimeInfo;

impl MasterCore {
    pub(super) fn v1_task(task: &Task) -> operator::Task {
        operator::Task {
            name: task.info.name.clone(),
            task_id: task.info.task_id.clone(),
            framework_id: task.framework_id.clone(),
            executor_id: task.info.executor.as_ref().map(|e| e.executor_id.clone()),
            agent_id: task.agent_id().clone(),
            state: task.state,
            resources: task.info.resources.clone(),
            statuses: task.statuses.clone(),
            status_update_state: task.status_update_state,
            status_update_uuid: task.status_update_uuid.clone(),
            labels: task.info.labels.clone(),
            container: task.info.container.clone(),
            user: task.user.clone(),
        }
    }

    pub(super) fn get_tasks(&self) -> operator::GetTasks {
        let all = self
            .frameworks
            .values()
            .chain(self.completed_frameworks.iter());
        let mut out = operator::GetTasks::default();
        for f in all {
            out.tasks.extend(f.tasks.values().map(MasterCore::v1_task));
            out.unreachable_tasks
                .extend(f.unreachable_tasks.values().map(MasterCore::v1_task));
            out.completed_tasks
                .extend(f.completed_tasks.iter().map(MasterCore::v1_task));
        }
        out
    }

    /// GET_EXECUTORS: every framework's executors, with the agent each runs on.
    pub(super) fn get_executors(&self) -> operator::GetExecutors {
        operator::GetExecutors {
            executors: self
                .agents
                .values()
                .flat_map(|a| {
                    a.executors.values().map(|e| operator::Executor {
                        executor_info: e.clone(),
                        agent_id: a.id.clone(),
                    })
                })
                .collect(),
        }
    }

    pub(super) fn operator_agent(usage: &AgentUsage, a: &Agent) -> operator::Agent {
        operator::Agent {
            agent_info: operator::AgentInfo {
                hostname: a.hostname.clone(),
                port: a.port,
                resources: a.total.clone().into_vec(),
                attributes: a.attributes.clone(),
                id: Some(a.id.clone()),
            },
            active: a.active,
            version: a.version.clone(),
            pid: a.pid(),
            registered_time: TimeInfo::from_seconds(a.registered_time),
            reregistered_time: a.reregistered_time.map(TimeInfo::from_seconds),
            total_resources: a.total.clone().into_vec(),
            allocated_resources: usage.used_on(&a.id).into_vec(),
            offered_resources: usage.offered_on(&a.id).into_vec(),
            capabilities: AGENT_CAPABILITIES
                .iter()
                .map(|c| Capability {
                    kind: c.to_string(),
                })
                .collect(),
        }
    }

    pub(super) fn get_agents(&self) -> operator::GetAgents {
        let usage = self.usage_per_agent();
        operator::GetAgents {
            agents: self
                .agents
                .values()
                .map(|a| MasterCore::operator_agent(&usage, a))
                .collect(),
            recovered_agents: vec![],
        }
    }

    pub(super) fn operator_framework(&self, f: &Framework) -> operator::Framework {
        operator::Framework {
            framework_info: f.info.clone(),
            active: f.active,
            connected: f.connected,
            recovered: f.recovered,
            registered_time: Some(TimeInfo::from_seconds(f.registered_time)),
            unregistered_time: (f.unregistered_time > 0.0)
                .then(|| TimeInfo::from_seconds(f.unregistered_time)),
            offers: self
                .offers
                .values()
                .filter(|o| o.framework_id == f.id)
                .map(|o| Offer {
                    id: o.id.clone(),
                    framework_id: o.framework_id.clone(),
                    agent_id: o.agent_id.clone(),
                    hostname: self
                        .agents
                        .get(&o.agent_id)
                        .map(|a| a.hostname.clone())
                        .unwrap_or_default(),
                    url: None,
                    resources: o.resources.clone().into_vec(),
                    attributes: vec![],
                    executor_ids: vec![],
                    allocation_info: None,
                })
                .collect(),
            allocated_resources: self.used_by(f).into_vec(),
            offered_resources: self.offered_to(&f.id).into_vec(),
        }
    }

    pub(super) fn get_frameworks(&self) -> operator::GetFrameworks {
        operator::GetFrameworks {
            frameworks: self
                .frameworks
                .values()
                .map(|f| self.operator_framework(f))
                .collect(),
            completed_frameworks: self
                .completed_frameworks
                .iter()
                .map(|f| self.operator_framework(f))
                .collect(),
        }
    }

    pub(super) fn get_state(&self) -> operator::GetState {
        operator::GetState {
            get_tasks: self.get_tasks(),
            get_executors: self.get_executors(),
            get_frameworks: self.get_frameworks(),
            get_agents: self.get_agents(),
        }
    }
}
