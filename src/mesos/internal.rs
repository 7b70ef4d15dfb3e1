//! The libprocess messages of Mesos's scheduler and executor drivers (`mesos.internal.*`,
//! schema in `proto/mesos/internal/messages.proto`), and the driver's `mesos.scheduler.Call`.
//!
//! Fields keep Mesos's v0 names (`slave_id`); the nested types are the v1 types mmrun already
//! defines, whose protobuf encoding is the same as their v0 twins'. The C++ driver's
//! `mesos.scheduler.Call` is read into the v1 [`Call`](super::scheduler::Call): every payload
//! matches, and the one extra field, `subscribe.force`, is carried by
//! [`Subscribe::force`](super::scheduler::Subscribe::force).

use super::encoding::WireMessage;
use super::executor::ExecutorInfo;
use super::framework::{FrameworkInfo, MasterInfo};
use super::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use super::lenient::repeated;
use super::operator::AgentInfo;
use super::scheduler::{Call, Filters, Offer, ResourceRequest};
use super::task::{KillPolicy, TaskInfo, TaskState, TaskStatus};
use serde::{Deserialize, Serialize};

/// Declares a message struct and its protobuf name under `mesos.internal`.
macro_rules! internal_message {
    ($(#[$meta:meta])* $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name { $($body)* }

        impl WireMessage for $name {
            const PROTO_NAME: &'static str = concat!("mesos.internal.", stringify!($name));
        }
    };
}

/// A task status on its way between executor, agent, master and scheduler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub framework_id: FrameworkId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slave_id: Option<AgentId>,
    pub status: TaskStatus,
    pub timestamp: f64,
    /// Base64 in JSON, as every `bytes` field; deprecated by Mesos in favour of `status.uuid`,
    /// and still what the drivers set and read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_state: Option<TaskState>,
}

internal_message!(RegisterFrameworkMessage {
    pub framework: FrameworkInfo,
});

internal_message!(ReregisterFrameworkMessage {
    pub framework: FrameworkInfo,
    #[serde(default)]
    pub failover: bool,
});

internal_message!(FrameworkRegisteredMessage {
    pub framework_id: FrameworkId,
    pub master_info: MasterInfo,
});

internal_message!(FrameworkReregisteredMessage {
    pub framework_id: FrameworkId,
    pub master_info: MasterInfo,
});

internal_message!(UnregisterFrameworkMessage {
    pub framework_id: FrameworkId,
});

internal_message!(DeactivateFrameworkMessage {
    pub framework_id: FrameworkId,
});

internal_message!(
    /// Resource requests: no allocator reads them (Mesos's does not either); carried into
    /// the v1 REQUEST call the master handles.
    ResourceRequestMessage {
        pub framework_id: FrameworkId,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub requests: Vec<ResourceRequest>,
    }
);

internal_message!(
    /// Offers with, for each, the pid of the agent it is on (`pids[i]` for `offers[i]`).
    ResourceOffersMessage {
        pub offers: Vec<Offer>,
        pub pids: Vec<String>,
    }
);

internal_message!(LaunchTasksMessage {
    pub framework_id: FrameworkId,
    pub tasks: Vec<TaskInfo>,
    #[serde(default)]
    pub filters: Filters,
    pub offer_ids: Vec<OfferId>,
});

internal_message!(RescindResourceOfferMessage {
    pub offer_id: OfferId,
});

internal_message!(ReviveOffersMessage {
    pub framework_id: FrameworkId,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
});

internal_message!(RunTaskMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    pub framework: FrameworkInfo,
    /// The scheduler's pid; empty for an HTTP scheduler (the agent then routes the executor's
    /// messages through the master).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    pub task: TaskInfo,
});

internal_message!(KillTaskMessage {
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
});

internal_message!(
    /// An update with, when it must be acknowledged, the pid the acknowledgement is meant for
    /// (the agent's; drivers only check that it is set).
    StatusUpdateMessage {
        pub update: StatusUpdate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pid: Option<String>,
    }
);

internal_message!(StatusUpdateAcknowledgementMessage {
    pub slave_id: AgentId,
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    /// Base64 in JSON.
    pub uuid: String,
});

internal_message!(LostSlaveMessage {
    pub slave_id: AgentId,
});

internal_message!(ReconcileTasksMessage {
    pub framework_id: FrameworkId,
    pub statuses: Vec<TaskStatus>,
});

internal_message!(FrameworkErrorMessage {
    pub message: String,
});

internal_message!(ExecutorToFrameworkMessage {
    pub slave_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    /// Base64 in JSON.
    pub data: String,
});

internal_message!(FrameworkToExecutorMessage {
    pub slave_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    /// Base64 in JSON.
    pub data: String,
});

internal_message!(ExitedExecutorMessage {
    pub slave_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub status: i32,
});

internal_message!(ShutdownExecutorMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
});

internal_message!(RegisterExecutorMessage {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
});

internal_message!(ExecutorRegisteredMessage {
    pub executor_info: ExecutorInfo,
    pub framework_id: FrameworkId,
    pub framework_info: FrameworkInfo,
    pub slave_id: AgentId,
    pub slave_info: AgentInfo,
});

internal_message!(ExecutorReregisteredMessage {
    pub slave_id: AgentId,
    pub slave_info: AgentInfo,
});

internal_message!(ReconnectExecutorMessage {
    pub slave_id: AgentId,
});

internal_message!(ReregisterExecutorMessage {
    pub executor_id: ExecutorId,
    pub framework_id: FrameworkId,
    pub tasks: Vec<TaskInfo>,
    pub updates: Vec<StatusUpdate>,
});

/// The C++ driver's `mesos.scheduler.Call`, read as the v1 call it mirrors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DriverCall(pub Call);

impl WireMessage for DriverCall {
    const PROTO_NAME: &'static str = "mesos.scheduler.Call";
}
