//! `POST /api/v1/executor`: the v1 executor API, answered as Mesos's agent answers it
//! (`Http::executor` in `src/slave/http.cpp`): the same checks in the same order and with the
//! same status codes; SUBSCRIBE opens a RecordIO stream of events, the other calls get 202.
//! Bodies in JSON or protobuf (`Content-Type`), the stream in the encoding `Accept` asks for.

use super::executor_call::{ExecutorAction, ExecutorCall};
use super::executor_driver::ExecutorDriverLink;
use super::{AgentShared, ExecutorKey, ExecutorState, TaskKey};
use crate::libprocess::Upid;
use crate::lite::api_error::ApiError;
use crate::lite::call::MesosCall;
use crate::mesos::container::{ContainerStatus, NetworkInfo};
use crate::mesos::encoding::{self, Encoding};
use crate::mesos::executor::{Event, Subscribe, Subscribed};
use crate::mesos::ids::TaskId;
use crate::mesos::operator::AgentInfo;
use crate::mesos::task::{TaskState, TaskStatus, source};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

pub const EXECUTOR_API_PATH: &str = "/api/v1/executor";

/// Mesos's `DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL`.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// Where a subscribed executor's events go: its v1 SUBSCRIBE stream (RecordIO-framed events in
/// the encoding it asked for), or its executor driver (see `executor_driver`).
pub struct EventStream {
    pub id: u64,
    sink: Sink,
}

enum Sink {
    Http {
        tx: mpsc::UnboundedSender<Bytes>,
        encoding: Encoding,
    },
    Driver(Box<ExecutorDriverLink>),
}

impl EventStream {
    pub fn driver(link: ExecutorDriverLink) -> EventStream {
        EventStream {
            id: NEXT_STREAM.fetch_add(1, Ordering::Relaxed),
            sink: Sink::Driver(Box::new(link)),
        }
    }

    pub fn send(&self, event: &Event) {
        match &self.sink {
            Sink::Http { tx, encoding } => match encoding::encode_record(*encoding, event) {
                Ok(record) => {
                    let _ = tx.send(record);
                }
                Err(e) => tracing::error!("cannot encode executor event: {e}"),
            },
            Sink::Driver(link) => link.send(event),
        }
    }

    /// The executor driver's pid, for a driver executor.
    pub fn driver_pid(&self) -> Option<&Upid> {
        match &self.sink {
            Sink::Driver(link) => Some(link.pid()),
            Sink::Http { .. } => None,
        }
    }
}

pub fn routes() -> Router<Arc<AgentShared>> {
    Router::new().route(EXECUTOR_API_PATH, any(executor))
}

/// How long an UPDATE waits for the executor's earlier messages to reach the master.
const MESSAGE_ORDER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

async fn executor(
    State(agent): State<Arc<AgentShared>>,
    request: MesosCall<ExecutorCall>,
) -> Result<Response, ApiError> {
    let ExecutorCall { key, action } = &request.call;
    let mut answer = Encoding::Json;
    match action {
        ExecutorAction::Subscribe(_) => answer = request.answer_encoding()?,
        // Answered before any lookup: executors may heartbeat with placeholder ids.
        ExecutorAction::Heartbeat => return Ok(StatusCode::ACCEPTED.into_response()),
        _ => {}
    }
    {
        let core = agent.core();
        if !core.frameworks.contains_key(&key.0) {
            return Err(ApiError::bad_request("Framework cannot be found"));
        }
        let Some(executor) = core.executors.get(key) else {
            return Err(ApiError::bad_request("Executor cannot be found"));
        };
        if executor.state == ExecutorState::Registering
            && !matches!(action, ExecutorAction::Subscribe(_))
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Executor is not subscribed",
            ));
        }
    }
    let ExecutorCall { key, action } = request.call;
    match action {
        ExecutorAction::Subscribe(call) => Ok(subscribe(&agent, &key, call, answer)),
        ExecutorAction::Update(status) => {
            // After the executor's earlier messages, as Mesos delivers them.
            agent.messages_delivered(MESSAGE_ORDER_WAIT).await;
            agent.executor_update(&key, *status);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        ExecutorAction::Message(data) => {
            agent.executor_message(&key, data);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        ExecutorAction::Unknown => Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, "")),
        // Answered before the lookups above; the same answer here.
        ExecutorAction::Heartbeat => Ok(StatusCode::ACCEPTED.into_response()),
    }
}

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

/// SUBSCRIBE, as Mesos's `Slave::subscribe`: an executor that is being shut down (or whose
/// framework is) gets SHUTDOWN and the stream closes; otherwise it is RUNNING on this stream,
/// gets SUBSCRIBED and then a LAUNCH for every task queued for it.
fn subscribe(
    agent: &Arc<AgentShared>,
    key: &ExecutorKey,
    subscribe: Subscribe,
    encoding: Encoding,
) -> Response {
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
    let stream = EventStream {
        id,
        sink: Sink::Http { tx, encoding },
    };
    if agent.attach_executor(key, subscribe, stream) {
        spawn_heartbeats(Arc::downgrade(agent), key.clone(), id);
    }
    stream_response(agent, key, id, rx, encoding)
}

impl AgentShared {
    /// An executor subscribes (v1 SUBSCRIBE, or a driver's RegisterExecutorMessage or
    /// ReregisterExecutorMessage) on `stream`, as Mesos's `Slave::subscribe` /
    /// `registerExecutor`. Returns whether it is now connected on that stream.
    pub(super) fn attach_executor(
        self: &Arc<Self>,
        key: &ExecutorKey,
        subscribe: Subscribe,
        stream: EventStream,
    ) -> bool {
        let agent = self;
        let mut lost = vec![];
        let mut shutdown_now = false;
        let mut subscribed = false;
        {
            let mut core = agent.core();
            let agent_id = core.agent_id.clone();
            // None when the framework is unknown or being shut down: its executor is not wanted.
            let framework_info = core
                .frameworks
                .get(&key.0)
                .filter(|_| !core.shut_down.contains(&key.0))
                .cloned();
            let tasks_of_executor: Vec<(TaskId, TaskState)> = core
                .tasks
                .iter()
                .filter(|(k, t)| k.0 == key.0 && t.executor.as_ref() == Some(&key.1))
                .map(|(k, t)| (k.1.clone(), t.state))
                .collect();
            let queued_infos: Vec<_> = core
                .executors
                .get(key)
                .map(|e| e.queued.clone())
                .unwrap_or_default()
                .iter()
                .filter_map(|t| core.tasks.get(&(key.0.clone(), t.clone())))
                .map(|t| t.info.clone())
                .collect();
            let Some(executor) = core.executors.get_mut(key) else {
                stream.send(&Event::shutdown());
                return false;
            };
            let wanted = !agent.stopped.is_cancelled()
                && !matches!(
                    executor.state,
                    ExecutorState::Terminating | ExecutorState::Terminated
                );
            let Some(mut framework_info) = framework_info.filter(|_| wanted) else {
                tracing::warn!(
                    "shutting down executor {} of {}: it is not wanted any more",
                    key.1,
                    key.0
                );
                stream.send(&Event::shutdown());
                return false;
            };
            if executor.stream.is_some() {
                tracing::warn!("closing the earlier connection of executor {}", key.1);
            }
            executor.state = ExecutorState::Running;
            // Tasks the executor never heard of although they left the queue: the agent restarted
            // between sending and the executor receiving them (Mesos drops them likewise).
            let known: BTreeSet<&TaskId> = subscribe
                .unacknowledged_tasks
                .iter()
                .map(|t| &t.task_id)
                .collect();
            for (task_id, state) in &tasks_of_executor {
                if *state == TaskState::Staging
                    && !executor.queued.contains(task_id)
                    && !known.contains(task_id)
                {
                    lost.push(task_id.clone());
                }
            }
            if !executor.ever_sent_task && executor.queued.is_empty() {
                // Every task it was started for was killed before it subscribed (MESOS-8411).
                shutdown_now = true;
                executor.stream = Some(stream);
            } else {
                framework_info.id = Some(key.0.clone());
                let (ip, port) = agent.advertised();
                let _ = ip;
                let subscribed_event = Event::subscribed(Subscribed {
                    executor_info: executor.info.clone(),
                    framework_info,
                    agent_info: AgentInfo {
                        hostname: agent.config.address.hostname.clone(),
                        port,
                        resources: agent.config.resources.clone().into_vec(),
                        attributes: agent.config.attributes.clone(),
                        id: agent_id,
                    },
                    container_id: Some(executor.container_id.clone()),
                });
                stream.send(&subscribed_event);
                for task in queued_infos {
                    stream.send(&Event::launch(task));
                    executor.ever_sent_task = true;
                }
                executor.queued.clear();
                executor.stream = Some(stream);
                subscribed = true;
            }
        }
        tracing::info!("executor {} of framework {} subscribed", key.1, key.0);
        if subscribed {
            for update in subscribe.unacknowledged_updates {
                agent.executor_update(key, update.status);
            }
        }
        let partition_aware = agent.core().frameworks.get(&key.0).is_some_and(|f| {
            f.has_capability(crate::mesos::framework::capability::PARTITION_AWARE)
        });
        for task_id in lost {
            let state = if partition_aware {
                TaskState::Dropped
            } else {
                TaskState::Lost
            };
            let mut status = TaskStatus::new(task_id.clone(), state);
            status.source = Some(source::AGENT.into());
            status.reason = Some(crate::mesos::task::reason::AGENT_RESTARTED.into());
            status.message = Some("Task launched during agent restart".into());
            agent.send_update(&(key.0.clone(), task_id), status);
        }
        if shutdown_now {
            agent.shutdown_executor(key);
        }
        !shutdown_now
    }
}

/// HEARTBEAT events while the stream is the executor's current one.
fn spawn_heartbeats(agent: Weak<AgentShared>, key: ExecutorKey, id: u64) {
    crate::node_log::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT_INTERVAL).await;
            let Some(agent) = agent.upgrade() else { return };
            let core = agent.core();
            match core.executors.get(&key).and_then(|e| e.stream.as_ref()) {
                Some(stream) if stream.id == id => stream.send(&Event::heartbeat()),
                _ => return,
            }
        }
    });
}

fn stream_response(
    agent: &Arc<AgentShared>,
    key: &ExecutorKey,
    id: u64,
    rx: mpsc::UnboundedReceiver<Bytes>,
    encoding: Encoding,
) -> Response {
    let guard = StreamGuard {
        agent: Arc::downgrade(agent),
        key: key.clone(),
        id,
    };
    let body = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), (rx, guard)))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.media_type())],
        Body::from_stream(body),
    )
        .into_response()
}

/// Lives as long as the response stream: when the executor disconnects, the agent stops
/// writing to it (the executor stays RUNNING and may subscribe again, as in Mesos).
struct StreamGuard {
    agent: Weak<AgentShared>,
    key: ExecutorKey,
    id: u64,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Some(agent) = self.agent.upgrade()
            && let Some(executor) = agent.core().executors.get_mut(&self.key)
            && executor.stream.as_ref().is_some_and(|s| s.id == self.id)
        {
            tracing::info!("executor {} of {} disconnected", self.key.1, self.key.0);
            executor.stream = None;
        }
    }
}

impl AgentShared {
    /// An executor's UPDATE (or one it resends when subscribing again): queued with the
    /// status update manager like the agent's own updates, under the executor's uuid, then
    /// ACKNOWLEDGED to the executor, as Mesos's agent does once the update is in its manager
    /// (not when the framework acknowledges). A repeat of an update already taken (same uuid),
    /// or one for a task that already ended, is acknowledged and dropped.
    pub(super) fn executor_update(&self, key: &ExecutorKey, mut status: TaskStatus) {
        let task_key: TaskKey = (key.0.clone(), status.task_id.clone());
        let uuid = status.uuid.clone().unwrap_or_default();
        let fresh = {
            let core = self.core();
            let seen = |statuses: &[TaskStatus]| {
                statuses
                    .iter()
                    .any(|s| s.uuid.as_deref() == Some(uuid.as_str()))
            };
            let fresh = match core.tasks.get(&task_key) {
                Some(t) => !seen(&t.statuses) && !t.state.is_terminal(),
                None => !core
                    .completed
                    .iter()
                    .any(|t| t.framework_id == key.0 && t.info.task_id == status.task_id),
            };
            if let Some(executor) = core.executors.get(key) {
                status.executor_id = Some(key.1.clone());
                status.source = Some(source::EXECUTOR.into());
                if status.container_status.is_none() {
                    let (ip, _) = self.advertised();
                    status.container_status = Some(ContainerStatus {
                        container_id: Some(executor.container_id.clone()),
                        executor_pid: executor.pid,
                        network_infos: vec![NetworkInfo::with_address(ip.to_string(), None)],
                        cgroup_info: None,
                    });
                }
            }
            fresh
        };
        let task_id = status.task_id.clone();
        if fresh {
            self.send_update(&task_key, status);
        } else {
            tracing::debug!("dropping repeated update {uuid} for task {task_id}");
        }
        let core = self.core();
        if let Some(stream) = core.executors.get(key).and_then(|e| e.stream.as_ref()) {
            stream.send(&Event::acknowledged(task_id, uuid));
        }
    }
}
