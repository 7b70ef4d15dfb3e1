//! The v1 operator API (`POST /api/v1`), reference section 4: the calls mmrun answers and the
//! response payloads, `{"type":"GET_X","get_x":{…}}`.

use super::attributes::Attribute;
use super::container::ContainerInfo;
use super::framework::{Capability, FrameworkInfo, MasterInfo};
use super::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use super::lenient::repeated;
use super::resources::Resource;
use super::scheduler::Offer;
use super::task::{Labels, TaskState, TaskStatus, TimeInfo};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorCallType {
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
    GetAgents,
    GetFrameworks,
    GetExecutors,
    GetOperations,
    GetTasks,
    GetRoles,
    GetWeights,
    UpdateWeights,
    GetMaster,
    Subscribe,
    ReserveResources,
    UnreserveResources,
    CreateVolumes,
    DestroyVolumes,
    GrowVolume,
    ShrinkVolume,
    GetMaintenanceStatus,
    GetMaintenanceSchedule,
    UpdateMaintenanceSchedule,
    StartMaintenance,
    StopMaintenance,
    GetQuota,
    UpdateQuota,
    SetQuota,
    RemoveQuota,
    Teardown,
    MarkAgentGone,
    DrainAgent,
    DeactivateAgent,
    ReactivateAgent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorCall {
    #[serde(rename = "type")]
    pub kind: OperatorCallType,
    #[serde(flatten)]
    pub payload: serde_json::Map<String, Value>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub hostname: String,
    pub port: u16,
    pub resources: Vec<Resource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<AgentId>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub agent_info: AgentInfo,
    pub active: bool,
    pub version: String,
    pub pid: String,
    pub registered_time: TimeInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reregistered_time: Option<TimeInfo>,
    pub total_resources: Vec<Resource>,
    pub allocated_resources: Vec<Resource>,
    pub offered_resources: Vec<Resource>,
    pub capabilities: Vec<Capability>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetAgents {
    pub agents: Vec<Agent>,
    pub recovered_agents: Vec<AgentInfo>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Framework {
    pub framework_info: FrameworkInfo,
    pub active: bool,
    pub connected: bool,
    pub recovered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_time: Option<TimeInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unregistered_time: Option<TimeInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<Offer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allocated_resources: Vec<Resource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offered_resources: Vec<Resource>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetFrameworks {
    pub frameworks: Vec<Framework>,
    pub completed_frameworks: Vec<Framework>,
}

/// A task as the v1 operator API describes it.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub task_id: TaskId,
    pub framework_id: FrameworkId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    pub agent_id: AgentId,
    pub state: TaskState,
    pub resources: Vec<Resource>,
    pub statuses: Vec<TaskStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_update_state: Option<TaskState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_update_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetTasks {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreachable_tasks: Vec<Task>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub completed_tasks: Vec<Task>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetMaster {
    pub master_info: MasterInfo,
    pub start_time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elected_time: Option<f64>,
}

/// GET_EXECUTORS: the executors of the frameworks the master knows, each with its agent.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetExecutors {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub executors: Vec<Executor>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Executor {
    pub executor_info: super::executor::ExecutorInfo,
    pub agent_id: AgentId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetState {
    pub get_tasks: GetTasks,
    pub get_executors: GetExecutors,
    pub get_frameworks: GetFrameworks,
    pub get_agents: GetAgents,
}

/// GET_HEALTH: mmrun's master answers only while it serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetHealth {
    pub healthy: bool,
}

/// GET_VERSION.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetVersion {
    pub version_info: super::state::VersionInfo,
}

/// One `--flag` as the master was started with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub name: String,
    pub value: String,
}

/// GET_FLAGS.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetFlags {
    pub flags: Vec<Flag>,
}

/// One metric, as `/metrics/snapshot` has it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

/// GET_METRICS.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GetMetrics {
    pub metrics: Vec<Metric>,
}

/// An operator API answer, `{"type":"GET_X","get_x":{…}}` (`mesos.v1.master.Response`): one
/// variant per call mmrun's master answers, written straight to JSON or protobuf (no
/// intermediate JSON tree: GET_STATE of ten thousand agents is megabytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorResponse {
    GetHealth { get_health: GetHealth },
    GetFlags { get_flags: GetFlags },
    GetVersion { get_version: GetVersion },
    GetMetrics { get_metrics: GetMetrics },
    GetState { get_state: Box<GetState> },
    GetAgents { get_agents: GetAgents },
    GetFrameworks { get_frameworks: GetFrameworks },
    GetExecutors { get_executors: GetExecutors },
    GetTasks { get_tasks: GetTasks },
    GetMaster { get_master: GetMaster },
}
