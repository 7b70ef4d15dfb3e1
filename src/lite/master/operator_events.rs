//! The master's operator event stream: `SUBSCRIBE` on `POST /api/v1` answers with the whole
//! state (SUBSCRIBED), then every change as it happens — TASK_ADDED, TASK_UPDATED,
//! AGENT_ADDED/REMOVED, FRAMEWORK_ADDED/UPDATED/REMOVED — and HEARTBEAT every heartbeat
//! interval, as Mesos's `Master::Subscribers` does.
//!
//! Events are published while the registry lock is held, and a subscriber is added while it is
//! held too, after its SUBSCRIBED snapshot is taken: no change is missed or seen twice. Lock
//! order: the registry, then the subscribers.

use super::MasterShared;
use super::heartbeats;
use super::model::{MasterCore, Task};
use crate::mesos::encoding::{self, Encoding};
use crate::mesos::ids::{AgentId, FrameworkId, TaskId};
use crate::mesos::operator_event::{
    AgentAdded, AgentRemoved, FrameworkAdded, FrameworkRemoved, FrameworkUpdated, OperatorEvent,
    Subscribed, TaskAdded, TaskUpdated,
};
use crate::mesos::task::{TaskState, TaskStatus};
use bytes::Bytes;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::mpsc;

struct Subscriber {
    tx: mpsc::UnboundedSender<Bytes>,
    encoding: Encoding,
}

/// The open operator event streams of one master.
#[derive(Default)]
pub struct OperatorSubscribers {
    list: Mutex<Vec<Subscriber>>,
}

impl OperatorSubscribers {
    fn list(&self) -> MutexGuard<'_, Vec<Subscriber>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends the event `make` builds (if any) to every open stream; builds nothing when none
    /// is open (a cluster of ten thousand agents pays nothing for a stream nobody reads).
    pub fn publish(&self, make: impl FnOnce() -> Option<OperatorEvent>) {
        let mut list = self.list();
        list.retain(|s| !s.tx.is_closed());
        if list.is_empty() {
            return;
        }
        let Some(event) = make() else { return };
        let mut records: [Option<Bytes>; 2] = [None, None];
        for s in list.iter() {
            let slot = &mut records[usize::from(s.encoding == Encoding::Protobuf)];
            if slot.is_none() {
                *slot = record(s.encoding, &event);
            }
            if let Some(bytes) = slot {
                let _ = s.tx.send(bytes.clone());
            }
        }
    }

    fn add(&self, tx: mpsc::UnboundedSender<Bytes>, encoding: Encoding) {
        self.list().push(Subscriber { tx, encoding });
    }
}

/// One RecordIO record of `event` in `encoding`.
fn record(encoding: Encoding, event: &OperatorEvent) -> Option<Bytes> {
    match encoding::encode_record(encoding, event) {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::error!("cannot encode an operator event: {e}");
            None
        }
    }
}

impl MasterShared {
    /// Opens an operator event stream: its first record is SUBSCRIBED with the state now.
    pub(super) fn subscribe_operator(&self, encoding: Encoding) -> mpsc::UnboundedReceiver<Bytes> {
        let (tx, rx) = mpsc::unbounded_channel();
        let heartbeat = self.config.heartbeat_interval;
        {
            let core = self.core();
            let subscribed = OperatorEvent::Subscribed {
                subscribed: Box::new(Subscribed {
                    get_state: core.get_state(),
                    heartbeat_interval_seconds: heartbeat.as_secs_f64(),
                }),
            };
            if let Some(bytes) = record(encoding, &subscribed) {
                let _ = tx.send(bytes);
            }
            self.operator_events.add(tx.clone(), encoding);
        }
        if let Some(beat) = record(encoding, &OperatorEvent::Heartbeat) {
            heartbeats::spawn(tx.downgrade(), beat, heartbeat, self.stopped.child_token());
        }
        rx
    }

    /// TASK_ADDED for a task the registry now holds.
    pub(super) fn publish_task_added(
        &self,
        core: &MasterCore,
        framework_id: &FrameworkId,
        task_id: &TaskId,
    ) {
        self.operator_events.publish(|| {
            let task = core
                .frameworks
                .get(framework_id)
                .and_then(|f| f.tasks.get(task_id).or(f.unreachable_tasks.get(task_id)));
            task.map(|task| OperatorEvent::TaskAdded {
                task_added: Box::new(TaskAdded {
                    task: MasterCore::v1_task(task),
                }),
            })
        });
    }

    /// Records `status` on `task` (`Task::record`, as Mesos's `Master::updateTask`) and tells
    /// subscribers TASK_UPDATED where Mesos does: a new state, or a (health) check's result.
    pub(super) fn record_status(&self, task: &mut Task, status: TaskStatus, latest: TaskState) {
        if task.record(status, latest) {
            self.publish_task_updated(task);
        }
    }

    /// TASK_UPDATED: the task's last status (the update's, whole: Mesos strips `data` from the
    /// statuses its master keeps, not from the event) and its latest state.
    fn publish_task_updated(&self, task: &Task) {
        self.operator_events.publish(|| {
            let status = task.statuses.last()?;
            Some(OperatorEvent::TaskUpdated {
                task_updated: Box::new(TaskUpdated {
                    framework_id: task.framework_id.clone(),
                    status: status.clone(),
                    state: task.state,
                }),
            })
        });
    }

    pub(super) fn publish_agent_added(&self, core: &MasterCore, agent_id: &AgentId) {
        self.operator_events.publish(|| {
            let agent = core.agents.get(agent_id)?;
            Some(OperatorEvent::AgentAdded {
                agent_added: Box::new(AgentAdded {
                    agent: MasterCore::operator_agent(&core.usage_per_agent(), agent),
                }),
            })
        });
    }

    pub(super) fn publish_agent_removed(&self, agent_id: &AgentId) {
        self.operator_events.publish(|| {
            Some(OperatorEvent::AgentRemoved {
                agent_removed: AgentRemoved {
                    agent_id: agent_id.clone(),
                },
            })
        });
    }

    /// FRAMEWORK_ADDED (`added`) or FRAMEWORK_UPDATED for a framework the registry holds.
    pub(super) fn publish_framework(&self, core: &MasterCore, id: &FrameworkId, added: bool) {
        self.operator_events.publish(|| {
            let framework = core.operator_framework(core.frameworks.get(id)?);
            Some(if added {
                OperatorEvent::FrameworkAdded {
                    framework_added: Box::new(FrameworkAdded { framework }),
                }
            } else {
                OperatorEvent::FrameworkUpdated {
                    framework_updated: Box::new(FrameworkUpdated { framework }),
                }
            })
        });
    }

    pub(super) fn publish_framework_removed(&self, info: &crate::mesos::framework::FrameworkInfo) {
        self.operator_events.publish(|| {
            Some(OperatorEvent::FrameworkRemoved {
                framework_removed: Box::new(FrameworkRemoved {
                    framework_info: info.clone(),
                }),
            })
        });
    }
}
