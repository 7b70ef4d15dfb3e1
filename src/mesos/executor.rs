//! The v1 executor API (`include/mesos/v1/executor/executor.proto`): `ExecutorInfo` as
//! frameworks put it in a `TaskInfo`, the `Call`s executors POST to the agent's
//! `/api/v1/executor` and the `Event`s the agent streams back. Same envelope as the scheduler
//! API: `{"type":"T","<t>":{…}}`; `bytes` fields (message data, status uuids) are base64.

use super::container::ContainerInfo;
use super::discovery::DiscoveryInfo;
use super::framework::FrameworkInfo;
use super::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use super::lenient::repeated;
use super::operator::AgentInfo;
use super::resources::Resource;
use super::task::{CommandInfo, DurationInfo, KillPolicy, Labels, TaskInfo, TaskStatus};
use serde::{Deserialize, Serialize};

/// `ExecutorInfo.type`. DEFAULT is Mesos's own default executor (task groups), which mmrun's
/// agent does not carry; CUSTOM (or unset, for old frameworks) runs `command`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutorType {
    Unknown,
    Default,
    Custom,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ExecutorType>,
    pub executor_id: ExecutorId,
    /// Filled in by the master when the framework leaves it out, as Mesos's master does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// As `TaskInfo.container`: passed through; the agent acts on what it supports (DOCKER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoveryInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<DurationInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

impl ExecutorInfo {
    /// A CUSTOM executor running `command` with `sh -c`, for clients (mmrun's own framework).
    pub fn custom(executor_id: impl Into<String>, command: CommandInfo) -> ExecutorInfo {
        ExecutorInfo {
            kind: Some(ExecutorType::Custom),
            executor_id: ExecutorId::new(executor_id),
            framework_id: None,
            command: Some(command),
            container: None,
            resources: vec![],
            name: None,
            source: None,
            data: None,
            discovery: None,
            shutdown_grace_period: None,
            labels: None,
        }
    }

    /// `container.type == "DOCKER"`.
    pub fn is_docker(&self) -> bool {
        self.container
            .as_ref()
            .is_some_and(ContainerInfo::is_docker)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallType {
    Unknown,
    Subscribe,
    Update,
    Message,
    Heartbeat,
}

/// An executor's call. `executor_id` and `framework_id` are required in the proto; they are
/// optional here so their absence gets Mesos's own message rather than a serde one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CallType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Subscribe {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unacknowledged_tasks: Vec<TaskInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unacknowledged_updates: Vec<Update>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub status: TaskStatus,
}

/// Raw bytes, base64 in JSON (both directions, and in the scheduler API's MESSAGE too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub data: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    Subscribed,
    Launch,
    LaunchGroup,
    Kill,
    Acknowledged,
    Message,
    Error,
    Shutdown,
    Heartbeat,
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed: Option<Subscribed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledged>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorMessage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub executor_info: ExecutorInfo,
    pub framework_info: FrameworkInfo,
    pub agent_info: AgentInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<ContainerId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    pub task: TaskInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kill {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub task_id: TaskId,
    pub uuid: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub message: String,
}

impl Event {
    fn bare(kind: EventType) -> Event {
        Event {
            kind,
            subscribed: None,
            launch: None,
            kill: None,
            acknowledged: None,
            message: None,
            error: None,
        }
    }

    pub fn subscribed(subscribed: Subscribed) -> Event {
        Event {
            subscribed: Some(subscribed),
            ..Event::bare(EventType::Subscribed)
        }
    }

    pub fn launch(task: TaskInfo) -> Event {
        Event {
            launch: Some(Launch { task }),
            ..Event::bare(EventType::Launch)
        }
    }

    pub fn kill(task_id: TaskId, kill_policy: Option<KillPolicy>) -> Event {
        Event {
            kill: Some(Kill {
                task_id,
                kill_policy,
            }),
            ..Event::bare(EventType::Kill)
        }
    }

    pub fn acknowledged(task_id: TaskId, uuid: String) -> Event {
        Event {
            acknowledged: Some(Acknowledged { task_id, uuid }),
            ..Event::bare(EventType::Acknowledged)
        }
    }

    pub fn message(data: String) -> Event {
        Event {
            message: Some(Message { data }),
            ..Event::bare(EventType::Message)
        }
    }

    pub fn error(message: impl Into<String>) -> Event {
        Event {
            error: Some(ErrorMessage {
                message: message.into(),
            }),
            ..Event::bare(EventType::Error)
        }
    }

    pub fn shutdown() -> Event {
        Event::bare(EventType::Shutdown)
    }

    pub fn heartbeat() -> Event {
        Event::bare(EventType::Heartbeat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_info_is_read_leniently_and_written_compactly() {
        let info: ExecutorInfo = serde_json::from_str(
            r#"{"executor_id":{"value":"e"},"command":{"value":"./run","uris":null},
                "resources":null,"type":"CUSTOM","something_new":1}"#,
        )
        .unwrap();
        assert_eq!(info.kind, Some(ExecutorType::Custom));
        assert!(info.resources.is_empty());
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"type":"CUSTOM","executor_id":{"value":"e"},"command":{"value":"./run","shell":true}}"#
        );
    }

    #[test]
    fn calls_parse_as_pymesos_sends_them() {
        let call: Call = serde_json::from_str(
            r#"{"type":"SUBSCRIBE","framework_id":{"value":"f"},"executor_id":{"value":"e"},
                "subscribe":{"unacknowledged_tasks":[],"unacknowledged_updates":[]}}"#,
        )
        .unwrap();
        assert_eq!(call.kind, Some(CallType::Subscribe));
        let update: Call = serde_json::from_str(
            r#"{"type":"UPDATE","framework_id":{"value":"f"},"executor_id":{"value":"e"},
                "update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING",
                "timestamp":1700000000,"uuid":"AAAAAAAAAAAAAAAAAAAAAA==","source":"SOURCE_EXECUTOR"}}}"#,
        )
        .unwrap();
        assert_eq!(
            update.update.unwrap().status.uuid.as_deref(),
            Some("AAAAAAAAAAAAAAAAAAAAAA==")
        );
    }

    #[test]
    fn events_use_the_lower_cased_type_as_payload_key() {
        assert_eq!(
            serde_json::to_string(&Event::message("aGk=".into())).unwrap(),
            r#"{"type":"MESSAGE","message":{"data":"aGk="}}"#
        );
        assert_eq!(
            serde_json::to_string(&Event::shutdown()).unwrap(),
            r#"{"type":"SHUTDOWN"}"#
        );
    }
}
