//! The legacy JSON endpoints' shapes (`/master/state`, `/master/slaves`, `/master/frameworks`,
//! `/master/tasks`, the agent's `/state`), reference section 5. The master writes these and
//! clients (the scenario runner, tools, dashboards) read the very same types.

use super::container::{ContainerInfo, ContainerStatus};
use super::discovery::DiscoveryInfo;
use super::lenient::repeated;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A resources object: `{"cpus":n,"gpus":n,"mem":n,"disk":n,"ports":"[…]"}`.
pub type ResourcesObject = Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderInfo {
    pub id: String,
    pub pid: String,
    pub port: u16,
    pub hostname: String,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterState {
    pub version: String,
    pub build_date: String,
    pub build_time: f64,
    pub build_user: String,
    pub start_time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elected_time: Option<f64>,
    pub id: String,
    pub pid: String,
    pub hostname: String,
    pub capabilities: Vec<String>,
    pub activated_slaves: f64,
    pub deactivated_slaves: f64,
    pub unreachable_slaves: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_info: Option<LeaderInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default)]
    pub flags: BTreeMap<String, String>,
    pub slaves: Vec<StateAgent>,
    pub recovered_slaves: Vec<Value>,
    pub frameworks: Vec<StateFramework>,
    pub completed_frameworks: Vec<StateFramework>,
    pub orphan_tasks: Vec<Value>,
    pub unregistered_frameworks: Vec<Value>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateAgent {
    pub id: String,
    pub hostname: String,
    pub port: u16,
    #[serde(default)]
    pub attributes: Value,
    pub pid: String,
    pub registered_time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reregistered_time: Option<f64>,
    pub resources: ResourcesObject,
    pub used_resources: ResourcesObject,
    pub offered_resources: ResourcesObject,
    pub unreserved_resources: ResourcesObject,
    #[serde(default)]
    pub reserved_resources: Value,
    pub active: bool,
    #[serde(default)]
    pub deactivated: bool,
    pub version: String,
    pub capabilities: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegacyLabel {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateFramework {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    pub used_resources: ResourcesObject,
    pub offered_resources: ResourcesObject,
    pub resources: ResourcesObject,
    pub capabilities: Vec<String>,
    pub hostname: String,
    pub webui_url: String,
    pub active: bool,
    pub connected: bool,
    pub recovered: bool,
    pub user: String,
    pub failover_timeout: f64,
    pub checkpoint: bool,
    pub registered_time: f64,
    pub unregistered_time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reregistered_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Frameworks without MULTI_ROLE have `role`; those with it have `roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    pub tasks: Vec<StateTask>,
    pub unreachable_tasks: Vec<StateTask>,
    pub completed_tasks: Vec<StateTask>,
    pub offers: Vec<StateOffer>,
    pub executors: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<LegacyLabel>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateTaskStatus {
    pub state: String,
    pub timestamp: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_status: Option<ContainerStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
}

impl From<&super::task::TaskStatus> for StateTaskStatus {
    /// The legacy rendering of a status: state and time only (no reason or source here).
    fn from(s: &super::task::TaskStatus) -> StateTaskStatus {
        StateTaskStatus {
            state: s.state.name().into(),
            timestamp: s.timestamp.unwrap_or(0.0),
            container_status: s.container_status.clone(),
            healthy: s.healthy,
        }
    }
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateTask {
    pub id: String,
    pub name: String,
    pub framework_id: String,
    /// `""` for command tasks.
    pub executor_id: String,
    pub slave_id: String,
    pub state: String,
    pub resources: ResourcesObject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub statuses: Vec<StateTaskStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<LegacyLabel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoveryInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateOffer {
    pub id: String,
    pub framework_id: String,
    pub allocation_info: Value,
    pub slave_id: String,
    pub resources: ResourcesObject,
}

/// `/master/slaves`. (`slaves` is required, so the lists' leniency is per field here.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentsList {
    pub slaves: Vec<StateAgent>,
    #[serde(default, deserialize_with = "repeated")]
    pub recovered_slaves: Vec<Value>,
}

/// `/master/frameworks`. (`frameworks` is required, so the lists' leniency is per field here.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworksList {
    pub frameworks: Vec<StateFramework>,
    #[serde(default, deserialize_with = "repeated")]
    pub completed_frameworks: Vec<StateFramework>,
    #[serde(default, deserialize_with = "repeated")]
    pub unregistered_frameworks: Vec<Value>,
}

/// `/master/tasks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TasksList {
    pub tasks: Vec<StateTask>,
}

/// `/version`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: String,
    pub build_date: String,
    pub build_time: f64,
    pub build_user: String,
}

/// The agent's `/state` (also `/slave(1)/state`).
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub version: String,
    pub build_date: String,
    pub build_time: f64,
    pub build_user: String,
    pub start_time: f64,
    pub id: String,
    pub pid: String,
    pub hostname: String,
    pub capabilities: Vec<String>,
    pub resources: ResourcesObject,
    #[serde(default)]
    pub reserved_resources: Value,
    pub unreserved_resources: ResourcesObject,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default)]
    pub master_hostname: String,
    #[serde(default)]
    pub flags: BTreeMap<String, String>,
    pub frameworks: Vec<AgentFramework>,
    pub completed_frameworks: Vec<AgentFramework>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentFramework {
    pub id: String,
    pub name: String,
    pub user: String,
    pub failover_timeout: f64,
    pub checkpoint: bool,
    pub hostname: String,
    pub role: String,
    pub executors: Vec<AgentExecutor>,
    pub completed_executors: Vec<AgentExecutor>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentExecutor {
    pub id: String,
    pub name: String,
    pub source: String,
    pub container: String,
    pub directory: String,
    pub resources: ResourcesObject,
    /// Custom executors with resources: the role they were allocated to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `ExecutorInfo.type`, when the framework set it.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub tasks: Vec<StateTask>,
    pub queued_tasks: Vec<StateTask>,
    pub completed_tasks: Vec<StateTask>,
}
