//! What a scenario asks to run, and what became of it.

use crate::mesos::ids::{AgentId, TaskId};
use crate::mesos::resources::{Resource, Resources};
use crate::mesos::scheduler::Offer;
use crate::mesos::task::{
    CommandInfo, Environment, EnvironmentVariable, TaskInfo, TaskState, TaskStatus,
};
use std::collections::BTreeMap;

/// A task a scenario wants launched.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    pub name: String,
    pub cmd: String,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub env: BTreeMap<String, String>,
    /// A container image (Docker backend); `None` runs a plain command task.
    pub image: Option<String>,
}

impl TaskRequest {
    pub fn resources(&self) -> Resources {
        let mut r = vec![
            Resource::scalar("cpus", self.cpus),
            Resource::scalar("mem", self.mem),
        ];
        if self.disk > 0.0 {
            r.push(Resource::scalar("disk", self.disk));
        }
        Resources::new(r)
    }

    pub fn to_task_info(&self, id: TaskId, offer: &Offer) -> TaskInfo {
        let environment = (!self.env.is_empty()).then(|| Environment {
            variables: self
                .env
                .iter()
                .map(|(name, value)| EnvironmentVariable {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        });
        TaskInfo {
            name: self.name.clone(),
            task_id: id,
            agent_id: offer.agent_id.clone(),
            resources: self.resources().into_vec(),
            executor: None,
            command: Some(CommandInfo {
                value: Some(self.cmd.clone()),
                shell: true,
                arguments: vec![],
                environment,
                uris: vec![],
                user: None,
            }),
            container: self.image.as_ref().map(|image| {
                serde_json::json!({"type": "DOCKER", "docker": {"image": image, "network": "HOST"}})
            }),
            health_check: None,
            kill_policy: None,
            labels: None,
            discovery: None,
            data: None,
        }
    }
}

/// A launched task and every status the framework received for it.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub name: String,
    pub id: TaskId,
    pub agent_id: Option<AgentId>,
    pub statuses: Vec<TaskStatus>,
}

impl TaskRecord {
    pub fn state(&self) -> Option<TaskState> {
        self.statuses.last().map(|s| s.state)
    }

    /// The states in order, without repeats of the same state (reconciliation answers).
    pub fn history(&self) -> Vec<TaskState> {
        let mut out: Vec<TaskState> = Vec::new();
        for s in &self.statuses {
            if out.last() != Some(&s.state) {
                out.push(s.state);
            }
        }
        out
    }

    pub fn describe(&self) -> String {
        let history: Vec<&str> = self.history().iter().map(|s| s.name()).collect();
        let last = self.statuses.last();
        let detail = last
            .and_then(|s| s.message.clone())
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        format!(
            "task '{}' is {}{detail}; history: [{}]",
            self.name,
            self.state().map_or("not yet launched", |s| s.name()),
            history.join(", ")
        )
    }
}
