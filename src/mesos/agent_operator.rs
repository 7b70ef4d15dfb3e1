//! The agent's v1 operator API (`POST /api/v1` on an agent; Mesos's `mesos.v1.agent.Call` and
//! `Response`): the calls mmrun's agent reads and the payloads of its answers,
//! `{"type":"GET_X","get_x":{…}}`. The master's operator API is `operator`.

use super::container::ContainerStatus;
use super::executor::ExecutorInfo;
use super::framework::FrameworkInfo;
use super::ids::{ContainerId, ExecutorId, FrameworkId};
use super::lenient::{repeated, u64_or_string};
use super::operator::{AgentInfo, Task};
use super::task::TimeInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgentCallType {
    Unknown,
    GetHealth,
    GetFlags,
    GetVersion,
    GetMetrics,
    GetLoggingLevel,
    SetLoggingLevel,
    ListFiles,
    ReadFile,
    GetState,
    GetContainers,
    GetFrameworks,
    GetExecutors,
    GetOperations,
    GetTasks,
    GetAgent,
    GetResourceProviders,
    LaunchNestedContainer,
    WaitNestedContainer,
    KillNestedContainer,
    RemoveNestedContainer,
    LaunchNestedContainerSession,
    AttachContainerInput,
    AttachContainerOutput,
    LaunchContainer,
    WaitContainer,
    KillContainer,
    RemoveContainer,
    AddResourceProviderConfig,
    UpdateResourceProviderConfig,
    RemoveResourceProviderConfig,
    MarkResourceProviderGone,
    PruneImages,
}

/// A call to an agent: its type and, flattened, the payload its type names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentCall {
    #[serde(rename = "type")]
    pub kind: AgentCallType,
    #[serde(flatten)]
    pub payload: serde_json::Map<String, Value>,
}

/// `list_files`: a directory to list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListFiles {
    pub path: String,
}

/// `read_file`: up to `length` bytes of `path` from `offset`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadFile {
    pub path: String,
    #[serde(deserialize_with = "u64_or_string")]
    pub offset: u64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_u64"
    )]
    pub length: Option<u64>,
}

fn optional_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    u64_or_string(d).map(Some)
}

/// An entry of LIST_FILES, as `ls -l` sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub nlink: i32,
    pub size: u64,
    pub mtime: TimeInfo,
    pub mode: u32,
    pub uid: String,
    pub gid: String,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListFilesAnswer {
    pub file_infos: Vec<FileInfo>,
}

/// READ_FILE's answer: the file's size and the bytes read (base64 in JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadFileAnswer {
    pub size: u64,
    pub data: String,
}

/// The agent's tasks by where they are in their life (Mesos's `Response.GetTasks`).
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetTasks {
    /// Waiting for their executor to be launched (mmrun launches at once: always empty).
    pub pending_tasks: Vec<Task>,
    /// Waiting for their executor to subscribe.
    pub queued_tasks: Vec<Task>,
    pub launched_tasks: Vec<Task>,
    /// Ended, their last update not yet acknowledged.
    pub terminated_tasks: Vec<Task>,
    pub completed_tasks: Vec<Task>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Executor {
    pub executor_info: ExecutorInfo,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetExecutors {
    pub executors: Vec<Executor>,
    pub completed_executors: Vec<Executor>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Framework {
    pub framework_info: FrameworkInfo,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetFrameworks {
    pub frameworks: Vec<Framework>,
    pub completed_frameworks: Vec<Framework>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetState {
    pub get_tasks: GetTasks,
    pub get_executors: GetExecutors,
    pub get_frameworks: GetFrameworks,
}

/// A running executor's container (a command task's, or a custom executor's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub executor_name: String,
    pub container_id: ContainerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_status: Option<ContainerStatus>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetContainers {
    pub containers: Vec<Container>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetAgent {
    pub agent_info: AgentInfo,
}

/// An agent operator answer, `{"type":"GET_X","get_x":{…}}`, as the agent builds it: JSON that
/// `encoding` turns into a `mesos.v1.agent.Response` when protobuf is asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentResponse(pub Value);
