//! The v1 scheduler API: `Call`s frameworks POST to `/api/v1/scheduler` and the `Event`s the
//! master streams back. The envelope is `{"type":"T","<t>":{…}}` in both directions.

use super::attributes::Attribute;
use super::framework::{FrameworkInfo, MasterInfo};
use super::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use super::lenient::repeated;
use super::resources::{AllocationInfo, Resource};
use super::task::{KillPolicy, TaskInfo, TaskStatus};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallType {
    Unknown,
    Subscribe,
    Teardown,
    Accept,
    Decline,
    AcceptInverseOffers,
    DeclineInverseOffers,
    Revive,
    Kill,
    Shutdown,
    Acknowledge,
    AcknowledgeOperationStatus,
    Reconcile,
    ReconcileOperations,
    Message,
    Request,
    Suppress,
    UpdateFramework,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    #[serde(rename = "type")]
    pub kind: CallType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<Accept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline: Option<Decline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revive: Option<Roles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress: Option<Roles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<Shutdown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<Acknowledge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<Reconcile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<FrameworkMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_framework: Option<UpdateFramework>,
}

impl Call {
    /// A call with only its type and framework id set; fill the payload with struct update.
    pub fn new(kind: CallType, framework_id: Option<FrameworkId>) -> Call {
        Call {
            kind,
            framework_id,
            subscribe: None,
            accept: None,
            decline: None,
            revive: None,
            suppress: None,
            kill: None,
            shutdown: None,
            acknowledge: None,
            reconcile: None,
            message: None,
            request: None,
            update_framework: None,
        }
    }
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    pub framework_info: FrameworkInfo,
    /// Only in the driver's `mesos.scheduler.Call` (field 2 there; the v1 Call has no such
    /// field): take over a framework id another scheduler holds, i.e. fail over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed_roles: Vec<String>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateFramework {
    pub framework_info: FrameworkInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed_roles: Vec<String>,
}

/// The REQUEST call's body (`Call.Request`): resources the framework would like offered.
/// Mesos's allocator ignores it, and so does mmrun's master.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct RequestCall {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<ResourceRequest>,
}

/// `mesos.v1.Request`: resources wanted, on one agent or any.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ResourceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_seconds: Option<f64>,
}

impl Filters {
    /// Mesos's default when a framework sends no filter: 5 seconds.
    pub const DEFAULT_REFUSE_SECONDS: f64 = 5.0;

    pub fn refuse_seconds(filters: &Option<Filters>) -> f64 {
        filters
            .as_ref()
            .and_then(|f| f.refuse_seconds)
            .unwrap_or(Self::DEFAULT_REFUSE_SECONDS)
    }
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Launch {
    pub task_infos: Vec<TaskInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Accept {
    pub offer_ids: Vec<OfferId>,
    pub operations: Vec<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Decline {
    pub offer_ids: Vec<OfferId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// REVIVE and SUPPRESS: an empty list means every role of the framework. Mesos's prose docs show
/// a single `role`; the protos (what the master parses) say `roles`. Both are read.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Roles {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Read for the docs' spelling, never written: the proto has no such field.
    #[serde(default, skip_serializing)]
    pub role: Option<String>,
}

impl Roles {
    pub fn all(&self) -> Vec<String> {
        let mut roles = self.roles.clone();
        roles.extend(self.role.clone());
        roles
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kill {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acknowledge {
    pub agent_id: AgentId,
    pub task_id: TaskId,
    pub uuid: String,
}

/// The MESSAGE call (scheduler → executor) and the MESSAGE event (executor → scheduler) carry
/// the same three fields. `data` is raw bytes: base64 in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkMessage {
    pub agent_id: AgentId,
    pub executor_id: ExecutorId,
    pub data: String,
}

/// The SHUTDOWN call: stop one of the framework's executors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shutdown {
    pub executor_id: ExecutorId,
    pub agent_id: AgentId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReconcileTask {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Reconcile {
    pub tasks: Vec<ReconcileTask>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    Subscribed,
    Offers,
    InverseOffers,
    Rescind,
    RescindInverseOffer,
    Update,
    UpdateOperationStatus,
    Message,
    Failure,
    Error,
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
    pub offers: Option<Offers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescind: Option<Rescind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<FrameworkMessage>,
}

impl Event {
    fn bare(kind: EventType) -> Event {
        Event {
            kind,
            subscribed: None,
            offers: None,
            rescind: None,
            update: None,
            failure: None,
            error: None,
            message: None,
        }
    }

    pub fn subscribed(framework_id: FrameworkId, heartbeat: f64, master_info: MasterInfo) -> Event {
        Event {
            subscribed: Some(Subscribed {
                framework_id,
                heartbeat_interval_seconds: Some(heartbeat),
                master_info: Some(master_info),
            }),
            ..Event::bare(EventType::Subscribed)
        }
    }

    pub fn heartbeat() -> Event {
        Event::bare(EventType::Heartbeat)
    }

    pub fn offers(offers: Vec<Offer>) -> Event {
        Event {
            offers: Some(Offers { offers }),
            ..Event::bare(EventType::Offers)
        }
    }

    pub fn rescind(offer_id: OfferId) -> Event {
        Event {
            rescind: Some(Rescind { offer_id }),
            ..Event::bare(EventType::Rescind)
        }
    }

    pub fn update(status: TaskStatus) -> Event {
        Event {
            update: Some(Update { status }),
            ..Event::bare(EventType::Update)
        }
    }

    pub fn agent_failure(agent_id: AgentId) -> Event {
        Event {
            failure: Some(Failure {
                agent_id: Some(agent_id),
                executor_id: None,
                status: None,
            }),
            ..Event::bare(EventType::Failure)
        }
    }

    /// An executor that ended, with its exit status (as the agent reports it).
    pub fn executor_failure(agent_id: AgentId, executor_id: ExecutorId, status: i32) -> Event {
        Event {
            failure: Some(Failure {
                agent_id: Some(agent_id),
                executor_id: Some(executor_id),
                status: Some(status),
            }),
            ..Event::bare(EventType::Failure)
        }
    }

    /// An executor's message for its scheduler.
    pub fn message(message: FrameworkMessage) -> Event {
        Event {
            message: Some(message),
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub framework_id: FrameworkId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_info: Option<MasterInfo>,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offers {
    pub offers: Vec<Offer>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rescind {
    pub offer_id: OfferId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub status: TaskStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UrlAddress {
    pub hostname: String,
    pub ip: String,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Url {
    pub scheme: String,
    pub address: UrlAddress,
    pub path: String,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    pub resources: Vec<Resource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub executor_ids: Vec<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_calls_as_real_clients_send_them() {
        // pymesos-style decline-by-accept, with v0 leftovers and nulls.
        let call: Call = serde_json::from_str(
            r#"{"type":"ACCEPT","framework_id":{"value":"f"},"slave_id":{"value":"x"},
                "accept":{"offer_ids":[{"value":"o1"}],"operations":null,"filters":{"refuse_seconds":0.5}}}"#,
        )
        .unwrap();
        let accept = call.accept.unwrap();
        assert!(accept.operations.is_empty());
        assert_eq!(Filters::refuse_seconds(&accept.filters), 0.5);

        let revive: Call = serde_json::from_str(
            r#"{"type":"REVIVE","framework_id":{"value":"f"},"revive":{"role":"web"}}"#,
        )
        .unwrap();
        assert_eq!(revive.revive.unwrap().all(), vec!["web"]);

        assert!(serde_json::from_str::<Call>(r#"{"type":"NOT_A_CALL"}"#).is_err());
    }

    #[test]
    fn events_use_the_lower_cased_type_as_payload_key() {
        let e = Event::error("Framework has been removed");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"ERROR","error":{"message":"Framework has been removed"}}"#
        );
        assert_eq!(
            serde_json::to_string(&Event::heartbeat()).unwrap(),
            r#"{"type":"HEARTBEAT"}"#
        );
        let unknown: Event = serde_json::from_str(r#"{"type":"SOMETHING_NEW"}"#).unwrap();
        assert_eq!(unknown.kind, EventType::Unknown);
    }
}
