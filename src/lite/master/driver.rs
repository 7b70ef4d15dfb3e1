//! A driver framework's end of the master: the events the master sends every framework, as
//! the v0 messages Mesos's scheduler drivers read, over a libprocess link to the scheduler.
//! (The v1 API gets the same events as RecordIO records; see `model::EventStream`.)

use crate::libprocess::{Link, Upid};
use crate::mesos::encoding::{self, Encoding, WireMessage};
use crate::mesos::framework::MasterInfo;
use crate::mesos::ids::{AgentId, FrameworkId};
use crate::mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage,
    FrameworkRegisteredMessage, FrameworkReregisteredMessage, LostSlaveMessage,
    RescindResourceOfferMessage, ResourceOffersMessage, StatusUpdate, StatusUpdateMessage,
};
use crate::mesos::scheduler::{Event, EventType, Offer};
use crate::mesos::task::now_seconds;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio_util::sync::CancellationToken;

/// Every agent's pid by id, for the status updates a driver must acknowledge (their `pid`
/// names the agent). Written when agents register; read while sending.
#[derive(Default)]
pub struct AgentPids(RwLock<BTreeMap<AgentId, String>>);

impl AgentPids {
    pub fn set(&self, id: &AgentId, pid: String) {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id.clone(), pid);
    }

    fn get(&self, id: &AgentId) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
            .cloned()
    }
}

/// The master's link to one scheduler driver.
pub struct DriverLink {
    link: Link,
    /// Known once registered: v0 updates and messages name their framework, v1 events do not.
    framework_id: Mutex<Option<FrameworkId>>,
    agent_pids: Arc<AgentPids>,
}

impl DriverLink {
    pub fn open(
        master: Upid,
        scheduler: Upid,
        stopped: CancellationToken,
        agent_pids: Arc<AgentPids>,
    ) -> DriverLink {
        DriverLink {
            link: Link::open(master, scheduler, stopped),
            framework_id: Mutex::new(None),
            agent_pids,
        }
    }

    pub fn pid(&self) -> &Upid {
        self.link.peer()
    }

    /// Fires when the scheduler is found gone (Mesos's `exited`).
    pub fn exited(&self) -> CancellationToken {
        self.link.exited()
    }

    fn post<M: WireMessage>(&self, message: &M) {
        match encoding::encode(Encoding::Protobuf, message) {
            Ok(bytes) => self.link.send(M::PROTO_NAME, bytes),
            Err(e) => tracing::error!("cannot encode {}: {e}", M::PROTO_NAME),
        }
    }

    fn framework_id(&self) -> Option<FrameworkId> {
        self.framework_id
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// FrameworkRegisteredMessage (a new framework, or a failover) or
    /// FrameworkReregisteredMessage (the same scheduler again, or after a master failover).
    pub fn registered(&self, framework_id: FrameworkId, master_info: MasterInfo, again: bool) {
        *self
            .framework_id
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(framework_id.clone());
        if again {
            self.post(&FrameworkReregisteredMessage {
                framework_id,
                master_info,
            });
        } else {
            self.post(&FrameworkRegisteredMessage {
                framework_id,
                master_info,
            });
        }
    }

    /// Sends `event` as the message a driver reads. Events drivers have no message for
    /// (heartbeats, inverse offers, operation updates) are not sent, as Mesos sends none.
    pub fn send(&self, event: &Event) {
        match event.kind {
            EventType::Offers => {
                let offers = event.offers.clone().map(|o| o.offers).unwrap_or_default();
                let pids = offers.iter().map(agent_pid_of_offer).collect();
                self.post(&ResourceOffersMessage { offers, pids });
            }
            EventType::Rescind => {
                if let Some(rescind) = &event.rescind {
                    self.post(&RescindResourceOfferMessage {
                        offer_id: rescind.offer_id.clone(),
                    });
                }
            }
            EventType::Update => self.send_update(event),
            EventType::Message => {
                if let (Some(message), Some(framework_id)) = (&event.message, self.framework_id()) {
                    self.post(&ExecutorToFrameworkMessage {
                        slave_id: message.agent_id.clone(),
                        framework_id,
                        executor_id: message.executor_id.clone(),
                        data: message.data.clone(),
                    });
                }
            }
            EventType::Failure => {
                let Some(failure) = &event.failure else {
                    return;
                };
                match (&failure.agent_id, &failure.executor_id, self.framework_id()) {
                    (Some(agent), Some(executor), Some(framework_id)) => {
                        self.post(&ExitedExecutorMessage {
                            slave_id: agent.clone(),
                            framework_id,
                            executor_id: executor.clone(),
                            status: failure.status.unwrap_or(0),
                        })
                    }
                    (Some(agent), None, _) => self.post(&LostSlaveMessage {
                        slave_id: agent.clone(),
                    }),
                    _ => {}
                }
            }
            EventType::Error => {
                if let Some(error) = &event.error {
                    self.post(&FrameworkErrorMessage {
                        message: error.message.clone(),
                    });
                }
            }
            EventType::Subscribed => {
                if let Some(subscribed) = &event.subscribed {
                    let info = subscribed.master_info.clone();
                    if let Some(info) = info {
                        self.registered(subscribed.framework_id.clone(), info, false);
                    }
                }
            }
            EventType::Heartbeat
            | EventType::InverseOffers
            | EventType::RescindInverseOffer
            | EventType::UpdateOperationStatus
            | EventType::Unknown => {}
        }
    }

    /// A StatusUpdateMessage. Updates from an agent carry a uuid and the agent's pid, which
    /// makes the driver acknowledge them; those the master makes itself (reconciliation,
    /// refused tasks) carry neither, as in Mesos, and are not acknowledged.
    fn send_update(&self, event: &Event) {
        let (Some(update), Some(framework_id)) = (&event.update, self.framework_id()) else {
            return;
        };
        let status = update.status.clone();
        let pid = status
            .uuid
            .as_ref()
            .and(status.agent_id.as_ref())
            .and_then(|agent| self.agent_pids.get(agent));
        self.post(&StatusUpdateMessage {
            update: StatusUpdate {
                framework_id,
                executor_id: status.executor_id.clone(),
                slave_id: status.agent_id.clone(),
                timestamp: status.timestamp.unwrap_or_else(now_seconds),
                uuid: status.uuid.clone(),
                latest_state: None,
                status,
            },
            pid,
        });
    }
}

/// `slave(1)@ip:port` from the offer's agent URL (every offer mmrun makes has one).
fn agent_pid_of_offer(offer: &Offer) -> String {
    match &offer.url {
        Some(url) => format!(
            "{}@{}:{}",
            url.path.trim_start_matches('/'),
            url.address.ip,
            url.address.port
        ),
        None => String::new(),
    }
}
