//! The agent as Mesos's executor drivers reach it: libprocess messages to the `slave(1)`
//! process, `POST /slave(1)/<message name>` — an executor's registration, its status updates
//! and messages, and the framework messages a scheduler driver sends straight to the agent
//! whose pid came with the offer. They are carried out by the same code as the v1 executor
//! API's calls; answers go back over a link (`executor_driver::ExecutorDriverLink`).

use super::executor_api::EventStream;
use super::executor_driver::ExecutorDriverLink;
use super::{AgentShared, ExecutorKey, ExecutorState};
use crate::libprocess::{Message, Upid, message};
use crate::mesos::encoding::{self, Encoding, WireMessage};
use crate::mesos::executor::{Subscribe, Update};
use crate::mesos::internal::{
    ExecutorToFrameworkMessage, FrameworkToExecutorMessage, RegisterExecutorMessage,
    ReregisterExecutorMessage, StatusUpdate, StatusUpdateMessage,
};
use crate::mesos::task::TaskState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::sync::Arc;
use std::time::Duration;

/// How long an update waits for the executor's earlier messages to reach the master.
const MESSAGE_ORDER_WAIT: Duration = Duration::from_secs(2);

pub fn routes() -> Router<Arc<AgentShared>> {
    // Any method: a request that is not a POSTed message is an unknown endpoint (404), as
    // libprocess answers, not a 405 for a route that only looks like one.
    Router::new().route("/slave(1)/{name}", any(receive))
}

async fn receive(
    State(agent): State<Arc<AgentShared>>,
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
    // Handled before the answer: a peer sends its messages on one connection, one after the
    // other, so they are handled in the order sent (an update may wait, at most
    // MESSAGE_ORDER_WAIT, for the executor's earlier messages to reach the master).
    agent.receive(message).await;
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

/// A v0 update as the v1 executor API's UPDATE carries it: the uuid in the status.
fn update_status(update: StatusUpdate) -> Update {
    let mut status = update.status;
    if update.uuid.is_some() {
        status.uuid = update.uuid;
    }
    Update { status }
}

impl AgentShared {
    async fn receive(self: &Arc<Self>, message: Message) {
        let from = message.from.clone();
        match message.name.as_str() {
            RegisterExecutorMessage::PROTO_NAME => {
                if let Some(m) = decode::<RegisterExecutorMessage>(&message) {
                    let key = (m.framework_id, m.executor_id);
                    self.register_executor_driver(from, key, Subscribe::default(), false);
                }
            }
            ReregisterExecutorMessage::PROTO_NAME => {
                if let Some(m) = decode::<ReregisterExecutorMessage>(&message) {
                    let key = (m.framework_id, m.executor_id);
                    let subscribe = Subscribe {
                        unacknowledged_tasks: m.tasks,
                        unacknowledged_updates: m.updates.into_iter().map(update_status).collect(),
                    };
                    self.register_executor_driver(from, key, subscribe, true);
                }
            }
            StatusUpdateMessage::PROTO_NAME => {
                if let Some(m) = decode::<StatusUpdateMessage>(&message) {
                    self.driver_update(&from, m.update).await;
                }
            }
            ExecutorToFrameworkMessage::PROTO_NAME => {
                if let Some(m) = decode::<ExecutorToFrameworkMessage>(&message) {
                    let key = (m.framework_id, m.executor_id);
                    if self.registered_at(&key, &from, &message.name) {
                        self.executor_message(&key, m.data);
                    }
                }
            }
            // A scheduler driver sends these to the agent its offer came from.
            FrameworkToExecutorMessage::PROTO_NAME => {
                if let Some(m) = decode::<FrameworkToExecutorMessage>(&message) {
                    self.framework_message(&(m.framework_id, m.executor_id), m.data);
                }
            }
            other => {
                tracing::debug!("dropping {other} from {from}: the agent has no handler for it")
            }
        }
    }

    /// Whether the executor `key` is registered from `from`; logs the drop if not.
    fn registered_at(&self, key: &ExecutorKey, from: &Upid, what: &str) -> bool {
        let core = self.core();
        let pid = core
            .executors
            .get(key)
            .and_then(|e| e.stream.as_ref())
            .and_then(|s| s.driver_pid());
        if pid == Some(from) {
            return true;
        }
        tracing::warn!(
            "dropping {what} from {from}: executor {} of framework {} is not registered there",
            key.1,
            key.0
        );
        false
    }

    /// Mesos's `Slave::registerExecutor` / `reregisterExecutor`: the executor is linked and,
    /// unless it is not wanted (unknown, or its framework gone: ShutdownExecutorMessage),
    /// gets its registration and queued tasks.
    fn register_executor_driver(
        self: &Arc<Self>,
        from: Upid,
        key: ExecutorKey,
        subscribe: Subscribe,
        reregistered: bool,
    ) {
        let Ok(agent_pid) = self.pid().parse::<Upid>() else {
            return;
        };
        let link = ExecutorDriverLink::open(
            agent_pid,
            from.clone(),
            key.clone(),
            reregistered,
            self.stopped.child_token(),
        );
        let exited = link.exited();
        let stream = EventStream::driver(link);
        let stream_id = stream.id;
        if !self.core().frameworks.contains_key(&key.0) {
            tracing::warn!(
                "shutting down executor {} at {from}: framework {} is not known here",
                key.1,
                key.0
            );
            stream.send(&crate::mesos::executor::Event::shutdown());
            return;
        }
        if !self.attach_executor(&key, subscribe, stream) {
            return;
        }
        tracing::info!(
            "executor {} of framework {} registered by its driver at {from}",
            key.1,
            key.0
        );
        // A driver executor whose link breaks is gone (Mesos's `exited`): shut it down, so
        // its process ends and its tasks end as an exited executor's do.
        let agent = Arc::downgrade(self);
        let stopped = self.stopped.clone();
        crate::node_log::spawn(async move {
            tokio::select! {
                _ = exited.cancelled() => {}
                _ = stopped.cancelled() => return,
            }
            let Some(agent) = agent.upgrade() else { return };
            let current = agent
                .core()
                .executors
                .get(&key)
                .and_then(|e| e.stream.as_ref())
                .is_some_and(|s| s.id == stream_id);
            if current {
                tracing::warn!(
                    "executor {} of framework {} is unreachable; shutting it down",
                    key.1,
                    key.0
                );
                agent.shutdown_executor(&key);
            }
        });
    }

    /// An executor driver's StatusUpdateMessage: the v1 UPDATE, checked as Mesos's
    /// `Slave::statusUpdate` checks it (a uuid, no TASK_STAGING, a registered executor).
    async fn driver_update(self: &Arc<Self>, from: &Upid, update: StatusUpdate) {
        let Some(executor_id) = update.executor_id.clone() else {
            tracing::warn!("dropping a status update from {from}: no executor_id");
            return;
        };
        let key = (update.framework_id.clone(), executor_id);
        let status = update_status(update).status;
        if status.uuid.is_none() {
            tracing::warn!("dropping a status update from {from} without a uuid");
            return;
        }
        if status.state == TaskState::Staging {
            tracing::warn!(
                "dropping TASK_STAGING from executor {} (not allowed)",
                key.1
            );
            return;
        }
        let running = self
            .core()
            .executors
            .get(&key)
            .is_some_and(|e| e.state != ExecutorState::Registering);
        if !running || !self.registered_at(&key, from, "a status update") {
            return;
        }
        self.messages_delivered(MESSAGE_ORDER_WAIT).await;
        self.executor_update(&key, status);
    }
}
