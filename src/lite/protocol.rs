//! The master↔agent protocol. Real Mesos uses libprocess messages; mmrun uses plain HTTP/JSON,
//! documented in docs/protocol.md. Agents call the master's `/api/mmrun/v1/agent/*`; the master
//! calls each agent's `/api/mmrun/v1/*`. The messages mirror Mesos's own
//! (RegisterSlaveMessage, RunTaskMessage, KillTaskMessage, StatusUpdateMessage, …).

use crate::mesos::attributes::Attribute;
use crate::mesos::executor::ExecutorInfo;
use crate::mesos::framework::{FrameworkInfo, MasterInfo};
use crate::mesos::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use crate::mesos::resources::Resource;
use crate::mesos::task::{KillPolicy, TaskInfo, TaskState, TaskStatus};
use serde::{Deserialize, Serialize};

pub const REGISTER_PATH: &str = "/api/mmrun/v1/agent/register";
pub const UNREGISTER_PATH: &str = "/api/mmrun/v1/agent/unregister";
pub const STATUS_UPDATE_PATH: &str = "/api/mmrun/v1/agent/status_update";
/// Many agents' updates in one request: what a host of simulated agents sends.
pub const STATUS_UPDATES_PATH: &str = "/api/mmrun/v1/agent/status_updates";
pub const EXECUTOR_MESSAGE_PATH: &str = "/api/mmrun/v1/agent/executor_message";
pub const EXITED_EXECUTOR_PATH: &str = "/api/mmrun/v1/agent/exited_executor";

pub const PING_PATH: &str = "/api/mmrun/v1/ping";
/// One ping for every agent of a host of simulated agents (`PingBatch`), at the host's root.
pub const PING_BATCH_PATH: &str = "/api/mmrun/v1/ping_batch";

/// The libprocess process id of an agent alone in its process, as Mesos's.
pub const SOLE_AGENT_PROCESS: &str = "slave(1)";

fn sole_agent_process() -> String {
    SOLE_AGENT_PROCESS.into()
}

/// Where the master reaches an agent's side of this protocol: an agent alone in its process
/// serves it at its root; simulated agents, which share a host process and its listener
/// (`slave(1)`, `slave(2)`, … as Mesos's in-process test agents are named), each under their
/// process id.
pub fn agent_api_base(ip: &str, port: u16, process: &str, simulated: bool) -> String {
    if simulated {
        format!("http://{ip}:{port}/{process}")
    } else {
        format!("http://{ip}:{port}")
    }
}

pub const RUN_TASK_PATH: &str = "/api/mmrun/v1/run_task";
pub const KILL_TASK_PATH: &str = "/api/mmrun/v1/kill_task";
pub const ACKNOWLEDGE_PATH: &str = "/api/mmrun/v1/acknowledge";
pub const SHUTDOWN_FRAMEWORK_PATH: &str = "/api/mmrun/v1/shutdown_framework";
pub const FRAMEWORK_MESSAGE_PATH: &str = "/api/mmrun/v1/framework_message";
pub const SHUTDOWN_EXECUTOR_PATH: &str = "/api/mmrun/v1/shutdown_executor";

/// A task the agent is running, reported when it re-registers so the master can rebuild its view.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportedTask {
    pub framework_id: FrameworkId,
    pub task: TaskInfo,
    pub state: TaskState,
    pub statuses: Vec<TaskStatus>,
}

/// A custom executor the agent is running, reported when it re-registers (Mesos's
/// `ReregisterSlaveMessage.executor_infos`): the master counts its resources again.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportedExecutor {
    pub framework_id: FrameworkId,
    pub info: ExecutorInfo,
}

/// Agent → master: register (no `agent_id`) or re-register (with the id the agent was given).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegisterAgent {
    pub agent_id: Option<AgentId>,
    pub hostname: String,
    pub ip: String,
    pub port: u16,
    /// The agent's libprocess process id: `slave(1)`, or another when agents share a process
    /// (its pid is `<process>@ip:port`).
    #[serde(default = "sole_agent_process")]
    pub process: String,
    /// A simulated agent: the master pings it with the rest of its host (`PingBatch`).
    #[serde(default)]
    pub simulated: bool,
    pub resources: Vec<Resource>,
    pub attributes: Vec<Attribute>,
    pub version: String,
    #[serde(default)]
    pub frameworks: Vec<FrameworkInfo>,
    #[serde(default)]
    pub tasks: Vec<ReportedTask>,
    #[serde(default)]
    pub executors: Vec<ReportedExecutor>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentRegistered {
    pub agent_id: AgentId,
    pub master_info: MasterInfo,
    /// The agent considers the master gone when no ping came for `ping_timeout × max_pings`.
    pub ping_timeout_secs: f64,
    pub max_ping_timeouts: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnregisterAgent {
    pub agent_id: AgentId,
}

/// Agent → master: one status update. `latest_state` is the newest state the agent knows,
/// which may be ahead of `status` while earlier updates wait for acknowledgement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub status: TaskStatus,
    pub latest_state: TaskState,
}

/// The master's answer to `STATUS_UPDATES_PATH`: the agents it does not know (their updates
/// are refused; they register again), as a 409 says to one agent.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StatusUpdatesAnswer {
    pub unknown_agents: Vec<AgentId>,
}

/// Agent → master: an executor's MESSAGE call, for its framework (Mesos's
/// `ExecutorToFrameworkMessage`). `data` is base64, as on the v1 APIs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecutorToFramework {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub data: String,
}

/// Agent → master: a custom executor ended (Mesos's `ExitedExecutorMessage`); the master
/// forgets it and its resources. `status` is the wait status, -1 when unknown.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExitedExecutor {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub status: i32,
}

/// Master → agent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ping {
    pub master_id: String,
    pub connected: bool,
    /// The agent the master means: a new agent process listening where a crashed one did must
    /// not answer for it (it answers a ping for another id with a non-2xx status, a miss).
    pub agent_id: AgentId,
}

/// Master → a host of simulated agents: one ping for each of its agents the master pings
/// (`Ping` for each, without the repeated master id).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PingBatch {
    pub master_id: String,
    /// The agents the master holds connected.
    pub connected: Vec<AgentId>,
    /// The agents the master saw disconnect: they register again.
    pub disconnected: Vec<AgentId>,
}

/// The host's answer: the agents that answered (the others missed this ping) and those the
/// host does not run (their process is gone, as a refused connection says of a real agent).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PingBatchAnswer {
    pub answered: Vec<AgentId>,
    pub gone: Vec<AgentId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunTask {
    pub framework_id: FrameworkId,
    pub framework_info: FrameworkInfo,
    pub task: TaskInfo,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KillTask {
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    pub kill_policy: Option<KillPolicy>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AcknowledgeUpdate {
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    pub uuid: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShutdownFramework {
    pub framework_id: FrameworkId,
}

/// Master → agent: a scheduler's MESSAGE for one of its executors (Mesos's
/// `FrameworkToExecutorMessage`). `data` is base64.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FrameworkToExecutor {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub data: String,
}

/// Master → agent: a scheduler's SHUTDOWN call for one executor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShutdownExecutor {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
}

/// Everything the master sends an agent, delivered in order by one queue per agent.
// Messages are few and short-lived in a queue; boxing RunTask would only add noise at every use.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum ToAgent {
    RunTask(RunTask),
    KillTask(KillTask),
    Acknowledge(AcknowledgeUpdate),
    ShutdownFramework(ShutdownFramework),
    FrameworkMessage(FrameworkToExecutor),
    ShutdownExecutor(ShutdownExecutor),
}

impl ToAgent {
    pub fn path(&self) -> &'static str {
        match self {
            ToAgent::RunTask(_) => RUN_TASK_PATH,
            ToAgent::KillTask(_) => KILL_TASK_PATH,
            ToAgent::Acknowledge(_) => ACKNOWLEDGE_PATH,
            ToAgent::ShutdownFramework(_) => SHUTDOWN_FRAMEWORK_PATH,
            ToAgent::FrameworkMessage(_) => FRAMEWORK_MESSAGE_PATH,
            ToAgent::ShutdownExecutor(_) => SHUTDOWN_EXECUTOR_PATH,
        }
    }

    pub fn body(&self) -> serde_json::Result<Vec<u8>> {
        match self {
            ToAgent::RunTask(m) => serde_json::to_vec(m),
            ToAgent::KillTask(m) => serde_json::to_vec(m),
            ToAgent::Acknowledge(m) => serde_json::to_vec(m),
            ToAgent::ShutdownFramework(m) => serde_json::to_vec(m),
            ToAgent::FrameworkMessage(m) => serde_json::to_vec(m),
            ToAgent::ShutdownExecutor(m) => serde_json::to_vec(m),
        }
    }
}
