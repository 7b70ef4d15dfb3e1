//! A driver executor's end of the agent: the events the agent sends every executor, as the
//! v0 messages Mesos's executor drivers read (libmesos's, mesos-go's api/v0), over a
//! libprocess link to the executor. (v1 executors get the same events as RecordIO records;
//! see `executor_api::EventStream`.)

use super::ExecutorKey;
use crate::libprocess::{Link, Upid};
use crate::mesos::encoding::{self, Encoding, WireMessage};
use crate::mesos::executor::{Event, EventType};
use crate::mesos::framework::FrameworkInfo;
use crate::mesos::ids::AgentId;
use crate::mesos::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, FrameworkToExecutorMessage,
    KillTaskMessage, RunTaskMessage, ShutdownExecutorMessage, StatusUpdateAcknowledgementMessage,
};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// The agent's link to one executor driver.
pub struct ExecutorDriverLink {
    link: Link,
    key: ExecutorKey,
    /// Whether the executor re-registered (ExecutorReregisteredMessage instead of
    /// ExecutorRegisteredMessage).
    reregistered: bool,
    /// Learnt from the SUBSCRIBED event: RunTaskMessage carries the framework, and every
    /// message the agent's id, which v1 executor events leave out.
    registration: Mutex<Option<(FrameworkInfo, AgentId)>>,
}

impl ExecutorDriverLink {
    pub fn open(
        agent: Upid,
        executor: Upid,
        key: ExecutorKey,
        reregistered: bool,
        stopped: CancellationToken,
    ) -> ExecutorDriverLink {
        ExecutorDriverLink {
            link: Link::open(agent, executor, stopped),
            key,
            reregistered,
            registration: Mutex::new(None),
        }
    }

    pub fn pid(&self) -> &Upid {
        self.link.peer()
    }

    /// Fires when the executor is found gone.
    pub fn exited(&self) -> CancellationToken {
        self.link.exited()
    }

    fn post<M: WireMessage>(&self, message: &M) {
        match encoding::encode(Encoding::Protobuf, message) {
            Ok(bytes) => self.link.send(M::PROTO_NAME, bytes),
            Err(e) => tracing::error!("cannot encode {}: {e}", M::PROTO_NAME),
        }
    }

    fn registration(&self) -> Option<(FrameworkInfo, AgentId)> {
        self.registration
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Sends `event` as the message an executor driver reads. HEARTBEAT and ERROR have no
    /// driver message (Mesos sends none); LAUNCH_GROUP needs the v1 API.
    pub fn send(&self, event: &Event) {
        let (framework_id, executor_id) = self.key.clone();
        if event.kind == EventType::Subscribed {
            let Some(subscribed) = &event.subscribed else {
                return;
            };
            let agent_id = subscribed
                .agent_info
                .id
                .clone()
                .unwrap_or_else(|| AgentId::new(""));
            *self
                .registration
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                Some((subscribed.framework_info.clone(), agent_id.clone()));
            if self.reregistered {
                self.post(&ExecutorReregisteredMessage {
                    slave_id: agent_id,
                    slave_info: subscribed.agent_info.clone(),
                });
            } else {
                self.post(&ExecutorRegisteredMessage {
                    executor_info: subscribed.executor_info.clone(),
                    framework_id,
                    framework_info: subscribed.framework_info.clone(),
                    slave_id: agent_id,
                    slave_info: subscribed.agent_info.clone(),
                });
            }
            return;
        }
        if event.kind == EventType::Shutdown {
            self.post(&ShutdownExecutorMessage {
                executor_id: Some(executor_id),
                framework_id: Some(framework_id),
            });
            return;
        }
        let Some((framework, agent_id)) = self.registration() else {
            tracing::warn!(
                "not sending {:?} to executor {executor_id}: it has not registered",
                event.kind
            );
            return;
        };
        match event.kind {
            EventType::Launch => {
                if let Some(launch) = &event.launch {
                    self.post(&RunTaskMessage {
                        framework_id: Some(framework_id),
                        framework,
                        pid: None,
                        task: launch.task.clone(),
                    });
                }
            }
            EventType::Kill => {
                if let Some(kill) = &event.kill {
                    self.post(&KillTaskMessage {
                        framework_id,
                        task_id: kill.task_id.clone(),
                        kill_policy: kill.kill_policy.clone(),
                    });
                }
            }
            EventType::Acknowledged => {
                if let Some(ack) = &event.acknowledged {
                    self.post(&StatusUpdateAcknowledgementMessage {
                        slave_id: agent_id,
                        framework_id,
                        task_id: ack.task_id.clone(),
                        uuid: ack.uuid.clone(),
                    });
                }
            }
            EventType::Message => {
                if let Some(message) = &event.message {
                    self.post(&FrameworkToExecutorMessage {
                        slave_id: agent_id,
                        framework_id,
                        executor_id,
                        data: message.data.clone(),
                    });
                }
            }
            EventType::Subscribed
            | EventType::Shutdown
            | EventType::LaunchGroup
            | EventType::Error
            | EventType::Heartbeat
            | EventType::Unknown => {}
        }
    }
}
