//! The master as Mesos's scheduler drivers reach it: libprocess messages to the `master`
//! process, `POST /master/<message name>`. Both forms drivers use are read — the
//! `mesos.internal.*` messages (mesos-go's api/v0, old libmesos) and the `mesos.scheduler.Call`
//! the C++/Java/Python driver has sent since Mesos 0.24 — and carried out by the same code as
//! the v1 API's calls. Answers go back over a link to the scheduler (`driver::DriverLink`).

use super::MasterShared;
use super::driver::DriverLink;
use super::model::{EventSink, EventStream};
use super::scheduler_api::apply;
use super::scheduler_call::SchedulerCall;
use crate::libprocess::{Message, Upid, message};
use crate::mesos::encoding::{self, Encoding, WireMessage};
use crate::mesos::framework::FrameworkInfo;
use crate::mesos::ids::FrameworkId;
use crate::mesos::internal::{
    DeactivateFrameworkMessage, DriverCall, FrameworkToExecutorMessage, KillTaskMessage,
    LaunchTasksMessage, ReconcileTasksMessage, RegisterFrameworkMessage,
    ReregisterFrameworkMessage, ResourceRequestMessage, ReviveOffersMessage,
    StatusUpdateAcknowledgementMessage, UnregisterFrameworkMessage,
};
use crate::mesos::scheduler::Event;
use crate::mesos::scheduler::{
    Accept, Acknowledge, Call, CallType, Decline, FrameworkMessage, Kill, Launch, Operation,
    Reconcile, ReconcileTask, RequestCall, Roles,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::sync::Arc;

pub fn routes() -> Router<Arc<MasterShared>> {
    // Any method: a request that is not a POSTed message is an unknown endpoint (404), as
    // libprocess answers, not a 405 for a route that only looks like one.
    Router::new().route("/master/{name}", any(receive))
}

/// 202 for every message to the master process, as libprocess answers once the process
/// exists; what the master makes of it (even nothing) is not the sender's business.
async fn receive(
    State(master): State<Arc<MasterShared>>,
    method: Method,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        let refusal = message::Refusal::NotAMessage;
        return (refusal.status(), refusal.to_string()).into_response();
    }
    let message = match message::read(&name, &headers, body) {
        Ok(message) => message,
        Err(refusal) => return (refusal.status(), refusal.to_string()).into_response(),
    };
    if !matches!(master.leadership(), super::Leadership::Leading) {
        tracing::info!(
            "dropping {} from {}: not the leading master",
            message.name,
            message.from
        );
        return StatusCode::ACCEPTED.into_response();
    }
    master.receive(message);
    StatusCode::ACCEPTED.into_response()
}

fn decode<M: WireMessage>(message: &Message) -> Option<M> {
    match encoding::decode::<M>(Encoding::Protobuf, &message.body) {
        Ok(decoded) => Some(decoded),
        Err(e) => {
            tracing::warn!(
                "dropping malformed {} from {}: {e}",
                message.name,
                message.from
            );
            None
        }
    }
}

impl MasterShared {
    /// Dispatches one driver message by its name. Unknown names are dropped, as a libprocess
    /// process drops messages it installed no handler for.
    fn receive(self: &Arc<Self>, message: Message) {
        let from = message.from.clone();
        let call = match message.name.as_str() {
            DriverCall::PROTO_NAME => decode::<DriverCall>(&message).map(|c| c.0),
            RegisterFrameworkMessage::PROTO_NAME => {
                if let Some(m) = decode::<RegisterFrameworkMessage>(&message) {
                    self.register_driver(from, m.framework, false, vec![], true);
                }
                return;
            }
            ReregisterFrameworkMessage::PROTO_NAME => {
                if let Some(m) = decode::<ReregisterFrameworkMessage>(&message) {
                    self.register_driver(from, m.framework, m.failover, vec![], false);
                }
                return;
            }
            UnregisterFrameworkMessage::PROTO_NAME => {
                decode::<UnregisterFrameworkMessage>(&message)
                    .map(|m| Call::new(CallType::Teardown, Some(m.framework_id)))
            }
            DeactivateFrameworkMessage::PROTO_NAME => {
                if let Some(m) = decode::<DeactivateFrameworkMessage>(&message)
                    && self.sent_by_scheduler(&m.framework_id, &from, &message.name)
                {
                    self.deactivate(&m.framework_id);
                }
                return;
            }
            LaunchTasksMessage::PROTO_NAME => decode::<LaunchTasksMessage>(&message).map(launch),
            KillTaskMessage::PROTO_NAME => decode::<KillTaskMessage>(&message).map(|m| Call {
                kill: Some(Kill {
                    task_id: m.task_id,
                    agent_id: None,
                    kill_policy: m.kill_policy,
                }),
                ..Call::new(CallType::Kill, Some(m.framework_id))
            }),
            ResourceRequestMessage::PROTO_NAME => {
                decode::<ResourceRequestMessage>(&message).map(|m| Call {
                    request: Some(RequestCall {
                        requests: m.requests,
                    }),
                    ..Call::new(CallType::Request, Some(m.framework_id))
                })
            }
            ReviveOffersMessage::PROTO_NAME => {
                decode::<ReviveOffersMessage>(&message).map(|m| Call {
                    revive: Some(Roles {
                        roles: m.roles,
                        role: None,
                    }),
                    ..Call::new(CallType::Revive, Some(m.framework_id))
                })
            }
            StatusUpdateAcknowledgementMessage::PROTO_NAME => {
                decode::<StatusUpdateAcknowledgementMessage>(&message).map(|m| Call {
                    acknowledge: Some(Acknowledge {
                        agent_id: m.slave_id,
                        task_id: m.task_id,
                        uuid: m.uuid,
                    }),
                    ..Call::new(CallType::Acknowledge, Some(m.framework_id))
                })
            }
            ReconcileTasksMessage::PROTO_NAME => {
                decode::<ReconcileTasksMessage>(&message).map(|m| Call {
                    reconcile: Some(Reconcile {
                        tasks: m
                            .statuses
                            .into_iter()
                            .map(|s| ReconcileTask {
                                task_id: s.task_id,
                                agent_id: s.agent_id,
                            })
                            .collect(),
                    }),
                    ..Call::new(CallType::Reconcile, Some(m.framework_id))
                })
            }
            FrameworkToExecutorMessage::PROTO_NAME => {
                decode::<FrameworkToExecutorMessage>(&message).map(|m| Call {
                    message: Some(FrameworkMessage {
                        agent_id: m.slave_id,
                        executor_id: m.executor_id,
                        data: m.data,
                    }),
                    ..Call::new(CallType::Message, Some(m.framework_id))
                })
            }
            other => {
                tracing::debug!("dropping {other} from {from}: the master has no handler for it");
                return;
            }
        };
        if let Some(call) = call {
            self.driver_call(from, call);
        }
    }

    /// A call from a driver: SUBSCRIBE registers it; anything else must come from the pid the
    /// framework is registered at (Mesos drops the rest).
    fn driver_call(self: &Arc<Self>, from: Upid, call: Call) {
        if call.kind == CallType::Subscribe {
            match call.subscribe {
                Some(s) => {
                    self.register_driver(from, s.framework_info, s.force, s.suppressed_roles, false)
                }
                None => tracing::warn!("dropping SUBSCRIBE from {from}: no 'subscribe'"),
            }
            return;
        }
        let Some(framework_id) = call.framework_id.clone() else {
            tracing::warn!("dropping {:?} from {from}: no framework_id", call.kind);
            return;
        };
        if !self.sent_by_scheduler(&framework_id, &from, &format!("{:?}", call.kind)) {
            return;
        }
        let kind = call.kind;
        if let Err(e) =
            SchedulerCall::validate(call).and_then(|call| apply(self, &framework_id, call))
        {
            tracing::warn!(
                "{kind:?} from {from} for framework {framework_id} refused: {}",
                e.message
            );
        }
    }

    /// Whether `from` is the scheduler `framework_id` is registered at; logs the drop if not.
    fn sent_by_scheduler(&self, framework_id: &FrameworkId, from: &Upid, what: &str) -> bool {
        let core = self.core();
        let pid = core
            .frameworks
            .get(framework_id)
            .and_then(|f| f.stream.as_ref())
            .and_then(|s| s.driver_pid());
        if pid == Some(from) {
            return true;
        }
        tracing::warn!(
            "dropping {what} for framework {framework_id} from {from}: the framework is not registered at that pid"
        );
        false
    }

    /// Registers (or re-registers) a driver framework: Mesos's `subscribe(from, ...)`.
    /// `first` marks the old RegisterFrameworkMessage, which must not carry an id.
    fn register_driver(
        self: &Arc<Self>,
        from: Upid,
        info: FrameworkInfo,
        force: bool,
        suppressed_roles: Vec<String>,
        first: bool,
    ) {
        // A driver resends its registration until it hears back: a repeat from a pid that is
        // already registered gets the answer again instead of a second framework.
        // A framework keeps its pid while disconnected, so a driver the master lost touch
        // with that registers again is that framework, linked anew.
        let mut info = info;
        let mut force = force;
        if info.id.is_none() {
            let core = self.core();
            if let Some(f) = core
                .frameworks
                .values()
                .find(|f| f.pid.as_ref() == Some(&from))
            {
                if let Some(stream) = &f.stream {
                    tracing::info!("framework {} at {from} registered again", f.id);
                    stream.send_subscribed(f.id.clone(), 0.0, self.info.clone(), false);
                    return;
                }
                // From the driver's side this is a first registration: answered as one.
                info.id = Some(f.id.clone());
                force = true;
            }
        }
        let link = DriverLink::open(
            self.pid.clone(),
            from.clone(),
            self.stopped.child_token(),
            self.agent_pids.clone(),
        );
        if first && info.id.is_some() {
            link.send(&Event::error("Registering with 'id' already set"));
            return;
        }
        let exited = link.exited();
        let stream_id = uuid::Uuid::new_v4().to_string();
        let stream = EventStream {
            id: stream_id.clone(),
            sink: EventSink::Driver(link),
        };
        let Some(framework_id) = self.subscribe(info, suppressed_roles, force, stream) else {
            return;
        };
        tracing::info!("framework {framework_id} registered by the scheduler driver at {from}");
        // The link breaking is the driver's disconnection (Mesos's `exited`).
        let master = Arc::downgrade(self);
        let stopped = self.stopped.clone();
        crate::node_log::spawn(async move {
            tokio::select! {
                _ = exited.cancelled() => {
                    if let Some(master) = master.upgrade() {
                        master.stream_closed(&framework_id, &stream_id);
                    }
                }
                _ = stopped.cancelled() => {}
            }
        });
    }
}

/// LaunchTasksMessage is ACCEPT with one LAUNCH, or DECLINE when it launches nothing.
fn launch(m: LaunchTasksMessage) -> Call {
    if m.tasks.is_empty() {
        return Call {
            decline: Some(Decline {
                offer_ids: m.offer_ids,
                filters: Some(m.filters),
            }),
            ..Call::new(CallType::Decline, Some(m.framework_id))
        };
    }
    Call {
        accept: Some(Accept {
            offer_ids: m.offer_ids,
            operations: vec![Operation {
                kind: "LAUNCH".into(),
                launch: Some(Launch {
                    task_infos: m.tasks,
                }),
            }],
            filters: Some(m.filters),
        }),
        ..Call::new(CallType::Accept, Some(m.framework_id))
    }
}
