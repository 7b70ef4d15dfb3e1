//! A scheduler driver client: a framework speaking to the master as Mesos's C++ scheduler
//! driver (libmesos) does — `mesos.scheduler.Call` messages out, `mesos.internal.*` messages
//! in, over libprocess, with its own HTTP server the master connects back to. mmrun's
//! framework uses it for `api: "driver"`, so scenarios exercise a master's driver path with no
//! third-party code; it behaves the same against a real Mesos master.
//!
//! What the driver receives becomes the v1 events the rest of the client reads, so the
//! framework above handles both APIs with one event loop.

use super::{ClientError, MasterClient, Subscription};
use crate::libprocess::{Link, Message, Upid, message};
use crate::mesos::encoding::{self, Encoding, WireMessage};
use crate::mesos::framework::FrameworkInfo;
use crate::mesos::ids::AgentId;
use crate::mesos::internal::{
    DriverCall, ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage,
    FrameworkRegisteredMessage, FrameworkReregisteredMessage, FrameworkToExecutorMessage,
    LostSlaveMessage, RescindResourceOfferMessage, ResourceOffersMessage, StatusUpdateMessage,
};
use crate::mesos::scheduler::{Call, CallType, Event, EventType, FrameworkMessage, Subscribe};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long registration may take, resending SUBSCRIBE meanwhile (the C++ driver backs off
/// from about 1 s; mmrun resends every second).
const REGISTER_WITHIN: Duration = Duration::from_secs(30);
const RESEND_EVERY: Duration = Duration::from_secs(1);

/// A registered driver: its links and its libprocess server.
pub struct DriverSession {
    pid: Upid,
    master: Link,
    /// Agents' pids from the offers: framework messages go to the agent directly, as the C++
    /// driver sends them.
    agents: Arc<Mutex<BTreeMap<AgentId, Upid>>>,
    agent_links: Mutex<BTreeMap<Upid, Link>>,
    stop: CancellationToken,
}

/// What the scheduler's libprocess server needs: where events go and whom to believe.
#[derive(Clone)]
struct Inbox {
    master: Upid,
    events: mpsc::UnboundedSender<Event>,
    agents: Arc<Mutex<BTreeMap<AgentId, Upid>>>,
}

/// Registers `info` with the master at `master_url` as a scheduler driver does, and waits
/// until it is registered. A framework id in `info` takes the framework over (`force`).
pub async fn subscribe_driver(
    master_url: &str,
    info: FrameworkInfo,
) -> Result<Subscription, ClientError> {
    let protocol = |detail: String| ClientError::Protocol {
        what: "driver registration".into(),
        detail,
    };
    // As mesos-go detects a standalone master: its pid is the `leader` of its state.
    let leader = MasterClient::new(master_url)
        .state()
        .await?
        .leader
        .ok_or_else(|| protocol("the master names no leader".into()))?;
    let master: Upid = leader.parse().map_err(|e| protocol(format!("{e}")))?;
    let ip = local_ip_towards(&master).map_err(|e| protocol(format!("no local address: {e}")))?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, 0))
        .await
        .map_err(|e| protocol(format!("cannot listen on {ip}: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| protocol(e.to_string()))?
        .port();
    let pid = Upid::new(
        format!("scheduler-{}", uuid::Uuid::new_v4()),
        ip.to_string(),
        port,
    );
    let stop = CancellationToken::new();
    let (inbound_tx, mut inbound) = mpsc::unbounded_channel();
    let agents = Arc::new(Mutex::new(BTreeMap::new()));
    let router = Router::new()
        .route(&format!("/{}/{{name}}", pid.id), post(receive))
        .with_state(Inbox {
            master: master.clone(),
            events: inbound_tx,
            agents: agents.clone(),
        });
    let stopped = stop.clone();
    tokio::spawn(crate::lite::http::serve(listener, router, async move {
        stopped.cancelled().await
    }));
    let session = DriverSession {
        pid: pid.clone(),
        // A master never closes a driver's connection while it runs: a closed one means it
        // stopped, even if it is back at the same address (a restart), and must be told of
        // the framework again.
        master: Link::open_strict(pid.clone(), master.clone(), stop.clone()),
        agents,
        agent_links: Mutex::new(BTreeMap::new()),
        stop: stop.clone(),
    };

    let force = info.id.is_some();
    let subscribe = Call {
        framework_id: info.id.clone(),
        subscribe: Some(Subscribe {
            framework_info: info,
            force,
            suppressed_roles: vec![],
        }),
        ..Call::new(CallType::Subscribe, None)
    };
    let deadline = tokio::time::Instant::now() + REGISTER_WITHIN;
    let first = loop {
        session.post(&session.master, &DriverCall(subscribe.clone()));
        match tokio::time::timeout(RESEND_EVERY, inbound.recv()).await {
            Ok(Some(event)) => break event,
            Ok(None) => return Err(protocol("the driver's server stopped".into())),
            Err(_) if tokio::time::Instant::now() > deadline => {
                return Err(protocol(format!(
                    "not registered within {REGISTER_WITHIN:?} (the master at {master} must \
                     reach this scheduler at {pid})"
                )));
            }
            Err(_) => {}
        }
    };
    let framework_id = match first {
        Event {
            kind: EventType::Subscribed,
            subscribed: Some(s),
            ..
        } => s.framework_id,
        Event {
            kind: EventType::Error,
            error: Some(e),
            ..
        } => {
            return Err(ClientError::Refused {
                what: "SUBSCRIBE".into(),
                status: reqwest::StatusCode::OK,
                body: e.message,
            });
        }
        other => return Err(protocol(format!("expected a registration, got {other:?}"))),
    };
    // Events flow until the link to the master breaks (the master is gone) or the session
    // stops; then the stream ends, as a v1 subscription's does.
    let (events_tx, events) = mpsc::unbounded_channel();
    let exited = session.master.exited();
    let stopped = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                event = inbound.recv() => match event {
                    // A repeated registration (an answer to a resent SUBSCRIBE) is not news.
                    Some(e) if e.kind == EventType::Subscribed => {}
                    Some(e) => if events_tx.send(e).is_err() { return },
                    None => return,
                },
                _ = exited.cancelled() => return,
                _ = stopped.cancelled() => return,
            }
        }
    });
    Ok(Subscription::of_driver(
        master_url,
        framework_id,
        events,
        session,
    ))
}

impl DriverSession {
    pub fn pid(&self) -> &Upid {
        &self.pid
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }

    fn post<M: WireMessage>(&self, link: &Link, message: &M) {
        match encoding::encode(Encoding::Protobuf, message) {
            Ok(bytes) => link.send(M::PROTO_NAME, bytes),
            Err(e) => tracing::error!("cannot encode {}: {e}", M::PROTO_NAME),
        }
    }

    /// Sends a call as the C++ driver does: a framework message straight to the agent the
    /// executor's offer came from, everything else as a `mesos.scheduler.Call` to the master.
    /// Drivers get no answer, but this returns once the master has taken the call (its 202),
    /// so a caller sees the master's state settled as after a v1 call; a broken link to the
    /// master reads as the master being gone.
    pub(super) async fn call(&self, call: Call) -> Result<reqwest::StatusCode, ClientError> {
        if self.master.exited().is_cancelled() {
            return Err(ClientError::Refused {
                what: format!("{:?}", call.kind),
                status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
                body: format!("the link to the master at {} is broken", self.master.peer()),
            });
        }
        if let (CallType::Message, Some(message), Some(framework_id)) =
            (call.kind, &call.message, &call.framework_id)
        {
            let agent = self
                .agents
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get(&message.agent_id)
                .cloned();
            if let Some(agent) = agent {
                let mut links = self
                    .agent_links
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let link = links
                    .entry(agent.clone())
                    .or_insert_with(|| Link::open(self.pid.clone(), agent, self.stop.clone()));
                let direct = FrameworkToExecutorMessage {
                    slave_id: message.agent_id.clone(),
                    framework_id: framework_id.clone(),
                    executor_id: message.executor_id.clone(),
                    data: message.data.clone(),
                };
                self.post(link, &direct);
                return Ok(reqwest::StatusCode::ACCEPTED);
            }
        }
        let what = format!("{:?}", call.kind);
        let body = encoding::encode(Encoding::Protobuf, &DriverCall(call)).map_err(|e| {
            ClientError::Protocol {
                what: what.clone(),
                detail: format!("cannot encode the call: {e}"),
            }
        })?;
        if self
            .master
            .send_and_wait(DriverCall::PROTO_NAME, body)
            .await
        {
            Ok(reqwest::StatusCode::ACCEPTED)
        } else {
            Err(ClientError::Refused {
                what,
                status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
                body: format!("the master at {} did not take it", self.master.peer()),
            })
        }
    }
}

/// The local address the kernel would use to reach `peer`: where the master can reach back.
fn local_ip_towards(peer: &Upid) -> std::io::Result<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")?;
    socket.connect(peer.address())?;
    Ok(socket.local_addr()?.ip())
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
    if let Some(event) = inbox.translate(&message) {
        let _ = inbox.events.send(event);
    }
    StatusCode::ACCEPTED
}

fn decode<M: WireMessage>(message: &Message) -> Option<M> {
    encoding::decode::<M>(Encoding::Protobuf, &message.body)
        .map_err(|e| {
            tracing::warn!(
                "driver: malformed {} from {}: {e}",
                message.name,
                message.from
            )
        })
        .ok()
}

impl Inbox {
    /// A message as the v1 event it stands for. The C++ driver drops what does not come from
    /// the master it detected, except the messages agents send it directly.
    fn translate(&self, message: &Message) -> Option<Event> {
        let from_master = message.from == self.master;
        let name = message.name.as_str();
        if !from_master && name != ExecutorToFrameworkMessage::PROTO_NAME {
            tracing::warn!(
                "driver: dropping {name} from {}: not the master",
                message.from
            );
            return None;
        }
        let registered = |id, info| Event::subscribed(id, 0.0, info);
        match name {
            FrameworkRegisteredMessage::PROTO_NAME => decode::<FrameworkRegisteredMessage>(message)
                .map(|m| registered(m.framework_id, m.master_info)),
            FrameworkReregisteredMessage::PROTO_NAME => {
                decode::<FrameworkReregisteredMessage>(message)
                    .map(|m| registered(m.framework_id, m.master_info))
            }
            ResourceOffersMessage::PROTO_NAME => {
                let m = decode::<ResourceOffersMessage>(message)?;
                let mut agents = self
                    .agents
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                for (offer, pid) in m.offers.iter().zip(&m.pids) {
                    if let Ok(pid) = pid.parse() {
                        agents.insert(offer.agent_id.clone(), pid);
                    }
                }
                Some(Event::offers(m.offers))
            }
            RescindResourceOfferMessage::PROTO_NAME => {
                decode::<RescindResourceOfferMessage>(message).map(|m| Event::rescind(m.offer_id))
            }
            StatusUpdateMessage::PROTO_NAME => {
                let m = decode::<StatusUpdateMessage>(message)?;
                let mut status = m.update.status;
                // As the C++ driver: only an update with a uuid (and a pid to acknowledge
                // to) is acknowledged; the status carries the update's uuid.
                status.uuid = m
                    .update
                    .uuid
                    .filter(|_| m.pid.as_deref().is_some_and(|p| !p.is_empty()));
                Some(Event::update(status))
            }
            ExecutorToFrameworkMessage::PROTO_NAME => decode::<ExecutorToFrameworkMessage>(message)
                .map(|m| {
                    Event::message(FrameworkMessage {
                        agent_id: m.slave_id,
                        executor_id: m.executor_id,
                        data: m.data,
                    })
                }),
            LostSlaveMessage::PROTO_NAME => {
                decode::<LostSlaveMessage>(message).map(|m| Event::agent_failure(m.slave_id))
            }
            ExitedExecutorMessage::PROTO_NAME => decode::<ExitedExecutorMessage>(message)
                .map(|m| Event::executor_failure(m.slave_id, m.executor_id, m.status)),
            FrameworkErrorMessage::PROTO_NAME => {
                decode::<FrameworkErrorMessage>(message).map(|m| Event::error(m.message))
            }
            other => {
                tracing::debug!("driver: ignoring {other}");
                None
            }
        }
    }
}
