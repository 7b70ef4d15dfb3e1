//! Tasks: `TaskInfo` as frameworks send it, `TaskState` and `TaskStatus` as the cluster reports it.

use super::container::{ContainerInfo, ContainerStatus};
use super::discovery::DiscoveryInfo;
use super::health_check::HealthCheck;
use super::ids::{AgentId, ExecutorId, TaskId};
use super::lenient::{null_as_default, repeated};
use super::resources::Resource;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskState {
    #[serde(rename = "TASK_STAGING")]
    Staging,
    #[serde(rename = "TASK_STARTING")]
    Starting,
    #[serde(rename = "TASK_RUNNING")]
    Running,
    #[serde(rename = "TASK_KILLING")]
    Killing,
    #[serde(rename = "TASK_FINISHED")]
    Finished,
    #[serde(rename = "TASK_FAILED")]
    Failed,
    #[serde(rename = "TASK_KILLED")]
    Killed,
    #[serde(rename = "TASK_ERROR")]
    Error,
    #[serde(rename = "TASK_LOST")]
    Lost,
    #[serde(rename = "TASK_DROPPED")]
    Dropped,
    #[serde(rename = "TASK_UNREACHABLE")]
    Unreachable,
    #[serde(rename = "TASK_GONE")]
    Gone,
    #[serde(rename = "TASK_GONE_BY_OPERATOR")]
    GoneByOperator,
    #[serde(rename = "TASK_UNKNOWN")]
    Unknown,
}

impl TaskState {
    pub const ALL: [TaskState; 14] = [
        TaskState::Staging,
        TaskState::Starting,
        TaskState::Running,
        TaskState::Killing,
        TaskState::Finished,
        TaskState::Failed,
        TaskState::Killed,
        TaskState::Error,
        TaskState::Lost,
        TaskState::Dropped,
        TaskState::Unreachable,
        TaskState::Gone,
        TaskState::GoneByOperator,
        TaskState::Unknown,
    ];

    /// Mesos's `protobuf::isTerminalState`. TASK_LOST is terminal, though the task may come back.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Error
                | TaskState::Lost
                | TaskState::Dropped
                | TaskState::Gone
                | TaskState::GoneByOperator
        )
    }

    /// The wire name, e.g. `TASK_RUNNING`.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Lost => "TASK_LOST",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Gone => "TASK_GONE",
            TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
            TaskState::Unknown => "TASK_UNKNOWN",
        }
    }

    pub fn from_name(name: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The metric suffix, e.g. `running` for `master/tasks_running`.
    pub fn metric_name(self) -> String {
        self.name().trim_start_matches("TASK_").to_lowercase()
    }

    /// Whether a task may move from `self` to `next` in the lives Mesos's executors and master
    /// produce. Not enforced: like Mesos's `Master::updateTask`, mmrun's master records and
    /// forwards every update and only keeps a terminal state from changing.
    pub fn can_become(self, next: TaskState) -> bool {
        use TaskState::*;
        if self == next {
            // Repeated non-terminal states (e.g. health changes while RUNNING) are allowed.
            return !self.is_terminal();
        }
        match self {
            Staging => true,
            Starting => next != Staging,
            Running => !matches!(next, Staging | Starting),
            Killing => !matches!(next, Staging | Starting | Running),
            // An unreachable agent may come back: its tasks return to their real state.
            Unreachable | Lost => matches!(next, Running | Killing) || next.is_terminal(),
            _ => false,
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an update came from.
pub mod source {
    pub const MASTER: &str = "SOURCE_MASTER";
    pub const AGENT: &str = "SOURCE_AGENT";
    pub const EXECUTOR: &str = "SOURCE_EXECUTOR";
}

/// The v1 reason names mmrun produces.
pub mod reason {
    pub const AGENT_DISCONNECTED: &str = "REASON_AGENT_DISCONNECTED";
    pub const AGENT_REMOVED: &str = "REASON_AGENT_REMOVED";
    pub const AGENT_RESTARTED: &str = "REASON_AGENT_RESTARTED";
    pub const RECONCILIATION: &str = "REASON_RECONCILIATION";
    pub const FRAMEWORK_REMOVED: &str = "REASON_FRAMEWORK_REMOVED";
    pub const TASK_INVALID: &str = "REASON_TASK_INVALID";
    pub const TASK_UNKNOWN: &str = "REASON_TASK_UNKNOWN";
    pub const INVALID_OFFERS: &str = "REASON_INVALID_OFFERS";
    pub const COMMAND_EXECUTOR_FAILED: &str = "REASON_COMMAND_EXECUTOR_FAILED";
    pub const EXECUTOR_TERMINATED: &str = "REASON_EXECUTOR_TERMINATED";
    pub const CONTAINER_LAUNCH_FAILED: &str = "REASON_CONTAINER_LAUNCH_FAILED";
    pub const CONTAINER_LIMITATION_MEMORY: &str = "REASON_CONTAINER_LIMITATION_MEMORY";
    pub const TASK_KILLED_DURING_LAUNCH: &str = "REASON_TASK_KILLED_DURING_LAUNCH";
    pub const EXECUTOR_REGISTRATION_TIMEOUT: &str = "REASON_EXECUTOR_REGISTRATION_TIMEOUT";
    pub const TASK_HEALTH_CHECK_STATUS_UPDATED: &str = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED";
    pub const TASK_CHECK_STATUS_UPDATED: &str = "REASON_TASK_CHECK_STATUS_UPDATED";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeInfo {
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub nanoseconds: i64,
}

impl TimeInfo {
    pub fn from_seconds(seconds: f64) -> TimeInfo {
        TimeInfo {
            nanoseconds: (seconds * 1e9) as i64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub task_id: TaskId,
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// Base64 of 16 UUID bytes; present only on updates that must be acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_status: Option<ContainerStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable_time: Option<TimeInfo>,
}

impl TaskStatus {
    pub fn new(task_id: TaskId, state: TaskState) -> TaskStatus {
        TaskStatus {
            task_id,
            state,
            message: None,
            source: None,
            reason: None,
            data: None,
            agent_id: None,
            executor_id: None,
            timestamp: Some(now_seconds()),
            uuid: None,
            healthy: None,
            container_status: None,
            unreachable_time: None,
        }
    }
}

/// Seconds since the epoch, as Mesos writes `TaskStatus.timestamp`.
pub fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Environment {
    pub variables: Vec<EnvironmentVariable>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default = "yes")]
    pub shell: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<CommandUri>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `CommandInfo.URI`: a file the agent fetches into the sandbox before the command starts
/// (Mesos's fetcher, docs/fetcher.md). `cache` is accepted and ignored: mmrun has no fetcher
/// cache, every URI is downloaded afresh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandUri {
    pub value: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub executable: bool,
    #[serde(default = "yes", deserialize_with = "null_as_yes")]
    pub extract: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
}

impl CommandUri {
    /// A URI with Mesos's defaults: not executable, extracted, not cached.
    pub fn new(value: impl Into<String>) -> CommandUri {
        CommandUri {
            value: value.into(),
            executable: false,
            extract: true,
            cache: false,
            output_file: None,
        }
    }
}

/// `extract` defaults to true, also when a client writes `null` for it.
fn null_as_yes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DurationInfo {
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub nanoseconds: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KillPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<DurationInfo>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Label {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Labels {
    pub labels: Vec<Label>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub name: String,
    pub task_id: TaskId,
    pub agent_id: AgentId,
    pub resources: Vec<Resource>,
    /// A task for an executor of the framework's own (see `executor.rs`); `command` is then unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<super::executor::ExecutorInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// Passed through by the master; the agent acts on what it supports (DOCKER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoveryInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::TaskState::*;
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for s in TaskState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<TaskState>(&json).unwrap(), s);
            assert_eq!(TaskState::from_name(s.name()), Some(s));
        }
        assert_eq!(Running.metric_name(), "running");
    }

    #[test]
    fn state_machine_follows_mesos() {
        // The command task life.
        for (a, b) in [
            (Staging, Starting),
            (Starting, Running),
            (Running, Finished),
            (Running, Failed),
            (Running, Killing),
            (Killing, Killed),
            (Staging, Killed),
            (Running, Lost),
            (Running, Unreachable),
            (Unreachable, Running),
            (Lost, Running),
        ] {
            assert!(a.can_become(b), "{a} -> {b} should be allowed");
        }
        for (a, b) in [
            (Finished, Running),
            (Killed, Killed),
            (Running, Starting),
            (Running, Staging),
            (Failed, Finished),
            (Killing, Running),
        ] {
            assert!(!a.can_become(b), "{a} -> {b} should be refused");
        }
        assert!(Running.can_become(Running));
        let terminal: Vec<_> = TaskState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                Finished,
                Failed,
                Killed,
                Error,
                Lost,
                Dropped,
                Gone,
                GoneByOperator
            ]
        );
    }

    #[test]
    fn command_info_defaults_shell_true_and_accepts_nulls() {
        let c: CommandInfo =
            serde_json::from_str(r#"{"value":"echo hi","arguments":null,"uris":null}"#).unwrap();
        assert!(c.shell);
        assert!(c.arguments.is_empty());
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"value":"echo hi","shell":true}"#
        );
    }

    #[test]
    fn command_uris_decode_with_mesos_defaults() {
        let c: CommandInfo = serde_json::from_str(
            r#"{"value":"ls","uris":[
                {"value":"http://h/a.tgz"},
                {"value":"/x/run.sh","executable":true,"extract":null,"cache":true,
                 "output_file":"bin/run","unknown":1}]}"#,
        )
        .unwrap();
        assert_eq!(c.uris[0], CommandUri::new("http://h/a.tgz"));
        let second = &c.uris[1];
        assert!(second.executable && second.extract && second.cache);
        assert_eq!(second.output_file.as_deref(), Some("bin/run"));
        let back: CommandInfo = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<CommandUri>(r#"{"executable":true}"#).is_err());
    }
}
