//! An executor driver client: an executor speaking to its agent as Mesos's executor drivers
//! (libmesos, mesos-go's api/v0) do — it registers with the agent named by `MESOS_SLAVE_PID`,
//! runs a libprocess server of its own (at `LIBPROCESS_IP`, as the agent sets it) for the
//! agent's messages, and sends its updates and messages over a link. mmrun's example executor
//! uses it with `--driver`.
//!
//! What the agent sends becomes the v1 executor events, and what the executor sends is given
//! as v1 executor calls, so an executor handles both APIs with one event loop.

use crate::libprocess::{Link, Message, Upid, message};
use crate::mesos::encoding::{self, Encoding, WireMessage};
use crate::mesos::executor::{Call, CallType, Event};
use crate::mesos::ids::{AgentId, ExecutorId, FrameworkId};
use crate::mesos::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, ExecutorToFrameworkMessage,
    FrameworkToExecutorMessage, KillTaskMessage, RegisterExecutorMessage, RunTaskMessage,
    ShutdownExecutorMessage, StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use crate::mesos::task::now_seconds;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::net::{IpAddr, SocketAddr};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorDriverError {
    #[error("{0} is not set: an executor driver must be started by a Mesos agent")]
    Missing(&'static str),
    #[error("{name} is not valid: {why}")]
    Invalid { name: &'static str, why: String },
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A running executor driver.
pub struct ExecutorDriver {
    pub pid: Upid,
    agent: Link,
    agent_id: AgentId,
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    stop: CancellationToken,
}

fn var(name: &'static str) -> Result<String, ExecutorDriverError> {
    std::env::var(name).map_err(|_| ExecutorDriverError::Missing(name))
}

/// Starts the driver from the agent's `MESOS_*` environment and registers with the agent;
/// returns it and the events the agent sends (the first is SUBSCRIBED once registered).
pub async fn start_executor_driver()
-> Result<(ExecutorDriver, mpsc::UnboundedReceiver<Event>), ExecutorDriverError> {
    let agent: Upid =
        var("MESOS_SLAVE_PID")?
            .parse()
            .map_err(
                |e: crate::libprocess::upid::UpidError| ExecutorDriverError::Invalid {
                    name: "MESOS_SLAVE_PID",
                    why: e.to_string(),
                },
            )?;
    let framework_id = FrameworkId::new(var("MESOS_FRAMEWORK_ID")?);
    let executor_id = ExecutorId::new(var("MESOS_EXECUTOR_ID")?);
    let agent_id = AgentId::new(var("MESOS_SLAVE_ID")?);
    // As libprocess: bind LIBPROCESS_IP (the agent sets it to an address it can reach), any
    // port unless LIBPROCESS_PORT names one.
    let ip: IpAddr = std::env::var("LIBPROCESS_IP")
        .ok()
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let port: u16 = std::env::var("LIBPROCESS_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let address = SocketAddr::new(ip, port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ExecutorDriverError::Listen { address, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ExecutorDriverError::Listen { address, source })?;
    let advertised = std::env::var("LIBPROCESS_ADVERTISE_IP").unwrap_or_else(|_| ip.to_string());
    let pid = Upid::new("executor(1)", advertised, bound.port());
    let stop = CancellationToken::new();
    let (events_tx, events) = mpsc::unbounded_channel();
    let router = Router::new()
        .route("/executor(1)/{name}", post(receive))
        .with_state(Inbox {
            agent: agent.clone(),
            events: events_tx,
        });
    let stopped = stop.clone();
    tokio::spawn(crate::lite::http::serve(listener, router, async move {
        stopped.cancelled().await
    }));
    let driver = ExecutorDriver {
        agent: Link::open_strict(pid.clone(), agent, stop.clone()),
        pid,
        agent_id,
        framework_id: framework_id.clone(),
        executor_id: executor_id.clone(),
        stop,
    };
    driver.post(&RegisterExecutorMessage {
        framework_id,
        executor_id,
    });
    Ok((driver, events))
}

impl ExecutorDriver {
    fn post<M: WireMessage>(&self, message: &M) {
        match encoding::encode(Encoding::Protobuf, message) {
            Ok(bytes) => self.agent.send(M::PROTO_NAME, bytes),
            Err(e) => tracing::error!("cannot encode {}: {e}", M::PROTO_NAME),
        }
    }

    /// Fires when the agent is gone (its connection closed).
    pub fn agent_gone(&self) -> CancellationToken {
        self.agent.exited()
    }

    /// Sends a v1 call's driver twin: UPDATE as StatusUpdateMessage (the uuid in the update,
    /// where drivers put it), MESSAGE as ExecutorToFrameworkMessage. Returns once the agent
    /// has taken it.
    pub async fn send(&self, call: Call) -> bool {
        let (name, bytes) = match call.kind {
            Some(CallType::Update) => {
                let Some(update) = call.update else {
                    return false;
                };
                let status = update.status;
                let message = StatusUpdateMessage {
                    update: StatusUpdate {
                        framework_id: self.framework_id.clone(),
                        executor_id: Some(self.executor_id.clone()),
                        slave_id: Some(self.agent_id.clone()),
                        timestamp: status.timestamp.unwrap_or_else(now_seconds),
                        uuid: status.uuid.clone(),
                        latest_state: None,
                        status,
                    },
                    pid: Some(self.pid.to_string()),
                };
                (
                    StatusUpdateMessage::PROTO_NAME,
                    encoding::encode(Encoding::Protobuf, &message),
                )
            }
            Some(CallType::Message) => {
                let Some(message) = call.message else {
                    return false;
                };
                let message = ExecutorToFrameworkMessage {
                    slave_id: self.agent_id.clone(),
                    framework_id: self.framework_id.clone(),
                    executor_id: self.executor_id.clone(),
                    data: message.data,
                };
                (
                    ExecutorToFrameworkMessage::PROTO_NAME,
                    encoding::encode(Encoding::Protobuf, &message),
                )
            }
            // SUBSCRIBE is the registration; HEARTBEAT has no driver message.
            _ => return true,
        };
        match bytes {
            Ok(bytes) => self.agent.send_and_wait(name, bytes).await,
            Err(e) => {
                tracing::error!("cannot encode {name}: {e}");
                false
            }
        }
    }
}

impl Drop for ExecutorDriver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[derive(Clone)]
struct Inbox {
    agent: Upid,
    events: mpsc::UnboundedSender<Event>,
}

async fn receive(
    State(inbox): State<Inbox>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let message = match message::read(&name, &headers, body) {
        Ok(message) => message,
        Err(refusal) => return refusal.status(),
    };
    if message.from != inbox.agent {
        tracing::warn!(
            "executor driver: dropping {name} from {}: not its agent",
            message.from
        );
        return StatusCode::ACCEPTED;
    }
    if let Some(event) = translate(&message) {
        let _ = inbox.events.send(event);
    }
    StatusCode::ACCEPTED
}

fn decode<M: WireMessage>(message: &Message) -> Option<M> {
    encoding::decode::<M>(Encoding::Protobuf, &message.body)
        .map_err(|e| tracing::warn!("executor driver: malformed {}: {e}", message.name))
        .ok()
}

/// An agent's message as the v1 executor event it stands for.
fn translate(message: &Message) -> Option<Event> {
    use crate::mesos::executor::Subscribed;
    match message.name.as_str() {
        ExecutorRegisteredMessage::PROTO_NAME => {
            decode::<ExecutorRegisteredMessage>(message).map(|m| {
                Event::subscribed(Subscribed {
                    executor_info: m.executor_info,
                    framework_info: m.framework_info,
                    agent_info: m.slave_info,
                    container_id: None,
                })
            })
        }
        // A re-registration changes nothing an executor reads from v1 events.
        ExecutorReregisteredMessage::PROTO_NAME => {
            decode::<ExecutorReregisteredMessage>(message).map(|_| Event::heartbeat())
        }
        RunTaskMessage::PROTO_NAME => {
            decode::<RunTaskMessage>(message).map(|m| Event::launch(m.task))
        }
        KillTaskMessage::PROTO_NAME => {
            decode::<KillTaskMessage>(message).map(|m| Event::kill(m.task_id, m.kill_policy))
        }
        StatusUpdateAcknowledgementMessage::PROTO_NAME => {
            decode::<StatusUpdateAcknowledgementMessage>(message)
                .map(|m| Event::acknowledged(m.task_id, m.uuid))
        }
        FrameworkToExecutorMessage::PROTO_NAME => {
            decode::<FrameworkToExecutorMessage>(message).map(|m| Event::message(m.data))
        }
        ShutdownExecutorMessage::PROTO_NAME => Some(Event::shutdown()),
        other => {
            tracing::debug!("executor driver: ignoring {other}");
            None
        }
    }
}
