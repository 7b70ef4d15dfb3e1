//! The master's operator event stream (`mesos.v1.master.Event`): what a `SUBSCRIBE` to
//! `POST /api/v1` receives, RecordIO-framed — the cluster's state once, then each change.

use super::framework::FrameworkInfo;
use super::ids::{AgentId, FrameworkId};
use super::operator::{Agent, Framework, GetState, Task};
use super::task::{TaskState, TaskStatus};
use serde::{Deserialize, Serialize};

/// One event, `{"type":"TASK_ADDED","task_added":{…}}`. Payloads are boxed so that a
/// heartbeat does not take the room of a whole task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorEvent {
    Subscribed {
        subscribed: Box<Subscribed>,
    },
    TaskAdded {
        task_added: Box<TaskAdded>,
    },
    TaskUpdated {
        task_updated: Box<TaskUpdated>,
    },
    AgentAdded {
        agent_added: Box<AgentAdded>,
    },
    AgentRemoved {
        agent_removed: AgentRemoved,
    },
    FrameworkAdded {
        framework_added: Box<FrameworkAdded>,
    },
    FrameworkUpdated {
        framework_updated: Box<FrameworkUpdated>,
    },
    FrameworkRemoved {
        framework_removed: Box<FrameworkRemoved>,
    },
    Heartbeat,
}

/// The first event: the whole state, as GET_STATE answers it; changes follow as events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub get_state: GetState,
    pub heartbeat_interval_seconds: f64,
}

/// A task became known: launched, or reported by a re-registering agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskAdded {
    pub task: Task,
}

/// A task's state changed: `status` is the update that changed it, `state` its latest state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskUpdated {
    pub framework_id: FrameworkId,
    pub status: TaskStatus,
    pub state: TaskState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentAdded {
    pub agent: Agent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentRemoved {
    pub agent_id: AgentId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkAdded {
    pub framework: Framework,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkUpdated {
    pub framework: Framework,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkRemoved {
    pub framework_info: FrameworkInfo,
}
