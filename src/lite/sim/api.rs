//! The host's HTTP surface: the master's messages to each simulated agent under
//! `/<process>/api/mmrun/v1/*`, the batched ping at the root, and libprocess messages to an
//! agent's process (a scheduler driver's framework message, dropped: simulated tasks have no
//! executor to give it to).

use super::behaviour::Behaviour;
use super::{Pending, SimAgent, SimShared, SimTask, TaskKey};
use crate::lite::api_error::ApiError;
use crate::lite::protocol::{
    AcknowledgeUpdate, KillTask, PING_BATCH_PATH, PingBatch, PingBatchAnswer, RunTask,
    ShutdownExecutor, ShutdownFramework,
};
use crate::mesos::container::{ContainerStatus, NetworkInfo};
use crate::mesos::framework::capability;
use crate::mesos::ids::ExecutorId;
use crate::mesos::task::{TaskState, TaskStatus, source};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Instant;

pub fn router(host: Arc<SimShared>) -> Router {
    Router::new()
        .route(PING_BATCH_PATH, post(ping_batch))
        .route("/{process}/api/mmrun/v1/{call}", post(agent_call))
        .route("/{process}/{message}", post(libprocess_message))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::lite::MAX_REQUEST_BODY_BYTES,
        ))
        .with_state(host)
}

/// `slave(N)` → index N-1.
fn index_of(process: &str) -> Option<usize> {
    let n: usize = process
        .strip_prefix("slave(")?
        .strip_suffix(')')?
        .parse()
        .ok()?;
    n.checked_sub(1)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed master message: {e}")))
}

async fn ping_batch(State(host): State<Arc<SimShared>>, body: Bytes) -> Response {
    let batch = match parse::<PingBatch>(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let mut answer = PingBatchAnswer::default();
    let mut reregister = false;
    {
        let mut core = host.core();
        let now = Instant::now();
        let pinged = batch
            .connected
            .iter()
            .map(|id| (id, true))
            .chain(batch.disconnected.iter().map(|id| (id, false)));
        // The master pings an agent as soon as it has registered it, possibly before its
        // answer has reached this host: while a registration is in flight an unknown id may
        // be that agent's, so it is not called gone (it only misses this ping).
        let registering = core.agents.iter().any(|a| a.registering);
        for (id, connected) in pinged {
            let Some(&index) = core.by_id.get(id) else {
                if !registering {
                    answer.gone.push(id.clone());
                }
                continue;
            };
            let agent = &mut core.agents[index];
            if !agent.running {
                answer.gone.push(id.clone());
                continue;
            }
            // A frozen or cut-off agent does not answer: a missed ping.
            if !agent.reachable() {
                continue;
            }
            answer.answered.push(id.clone());
            if agent
                .master
                .as_ref()
                .is_some_and(|m| m.id == batch.master_id)
            {
                agent.last_ping = now;
                if !connected && agent.registered {
                    // The master saw it disconnect: registering again reconnects it.
                    agent.registered = false;
                    reregister = true;
                }
            }
        }
    }
    if reregister {
        host.wake();
    }
    Json(answer).into_response()
}

/// Waits while agent `index` is paused or cut off, as a frozen or partitioned agent reads
/// nothing; `false` when it is not (or no longer) running.
async fn wait_reachable(host: &SimShared, index: usize) -> bool {
    loop {
        let changed = host.faults_changed.notified();
        {
            let core = host.core();
            match core.agents.get(index) {
                Some(a) if a.reachable() => return true,
                Some(a) if a.running => {}
                _ => return false,
            }
        }
        tokio::select! {
            _ = changed => {}
            _ = host.stopped.cancelled() => return false,
        }
    }
}

async fn agent_call(
    State(host): State<Arc<SimShared>>,
    Path((process, call)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(index) = index_of(&process) else {
        return ApiError::new(StatusCode::NOT_FOUND, format!("no agent process {process}"))
            .into_response();
    };
    if !wait_reachable(&host, index).await {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("agent {process} is not running"),
        )
        .into_response();
    }
    let handled = match call.as_str() {
        "run_task" => parse::<RunTask>(&body).map(|m| run_task(&host, index, m)),
        "kill_task" => parse::<KillTask>(&body).map(|m| kill_task(&host, index, m)),
        "acknowledge" => parse::<AcknowledgeUpdate>(&body).map(|m| acknowledge(&host, index, m)),
        "shutdown_framework" => {
            parse::<ShutdownFramework>(&body).map(|m| shutdown_framework(&host, index, m))
        }
        "shutdown_executor" => {
            parse::<ShutdownExecutor>(&body).map(|m| shutdown_executor(&host, index, m))
        }
        // A scheduler's message for an executor: simulated tasks have none to take it.
        "framework_message" => Ok(()),
        other => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no such agent call: {other}"),
        )),
    };
    match handled {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => e.into_response(),
    }
}

/// A libprocess message to an agent's process: 202 while the agent runs (as libprocess
/// answers once the process exists), dropped; 404 for a process this host does not run.
async fn libprocess_message(
    State(host): State<Arc<SimShared>>,
    Path((process, message)): Path<(String, String)>,
) -> Response {
    let running = index_of(&process)
        .and_then(|i| host.core().agents.get(i).map(|a| a.running))
        .unwrap_or(false);
    if !running {
        return StatusCode::NOT_FOUND.into_response();
    }
    tracing::debug!("simulated agent {process} drops {message}: it runs no executor");
    StatusCode::ACCEPTED.into_response()
}

fn run_task(host: &Arc<SimShared>, index: usize, run: RunTask) {
    let key: TaskKey = (run.framework_id.clone(), run.task.task_id.clone());
    let killing_state = run
        .framework_info
        .has_capability(capability::TASK_KILLING_STATE);
    let (behaviour, life) = {
        let mut core = host.core();
        let agent = &mut core.agents[index];
        let (behaviour, error) = Behaviour::of_task(&run.task, &agent.default_behaviour);
        if let Some(e) = error {
            tracing::warn!("task {}: {e}; using its agent's default", key.1);
        }
        agent
            .frameworks
            .insert(run.framework_id.clone(), run.framework_info);
        agent.tasks.insert(
            key.clone(),
            SimTask {
                info: run.task,
                state: TaskState::Staging,
                statuses: Vec::new(),
                updates: Default::default(),
                killing_state,
            },
        );
        (behaviour, agent.life)
    };
    let host = host.clone();
    crate::node_log::spawn(async move {
        tokio::time::sleep(behaviour.start).await;
        wait_thawed(&host, index).await;
        if !set_state(&host, index, life, &key, TaskState::Running, "Task running") {
            return;
        }
        let Some(run) = behaviour.run else { return };
        tokio::time::sleep(run).await;
        wait_thawed(&host, index).await;
        let message = match behaviour.end {
            TaskState::Finished => "Command exited with status 0",
            TaskState::Failed => "Command exited with status 1",
            _ => "Simulated end",
        };
        set_state(&host, index, life, &key, behaviour.end, message);
    });
}

/// Waits while agent `index` is paused: its tasks are frozen with it, and what would have
/// happened meanwhile happens once it is thawed.
async fn wait_thawed(host: &SimShared, index: usize) {
    loop {
        let changed = host.faults_changed.notified();
        if !host
            .core()
            .agents
            .get(index)
            .is_some_and(|a| a.running && a.paused)
        {
            return;
        }
        tokio::select! {
            _ = changed => {}
            _ = host.stopped.cancelled() => return,
        }
    }
}

/// Moves a task on; `false` when the task is gone or has ended
/// (killed meanwhile, or the agent stopped).
fn set_state(
    host: &SimShared,
    index: usize,
    life: u64,
    key: &TaskKey,
    state: TaskState,
    message: &str,
) -> bool {
    let mut core = host.core();
    let agent = &mut core.agents[index];
    if agent.life != life {
        return false;
    }
    let advertise_ip = host.config.advertise_ip;
    let Some(task) = agent.tasks.get_mut(key) else {
        return false;
    };
    if task.state.is_terminal() {
        return false;
    }
    let mut status = TaskStatus::new(key.1.clone(), state);
    status.message = Some(message.into());
    if state == TaskState::Running {
        status.container_status = Some(ContainerStatus {
            network_infos: vec![NetworkInfo::with_address(advertise_ip.to_string(), None)],
            ..ContainerStatus::default()
        });
    }
    queue(agent, key, status);
    host.updates_changed(&mut core, index);
    true
}

/// Records a task's new state and queues its update (the executor is the task itself, as
/// Mesos's command executor has the task's id).
fn queue(agent: &mut SimAgent, key: &TaskKey, mut status: TaskStatus) {
    let Some(task) = agent.tasks.get_mut(key) else {
        return;
    };
    status.uuid =
        Some(base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes()));
    status.source.get_or_insert_with(|| source::EXECUTOR.into());
    status.agent_id = Some(task.info.agent_id.clone());
    status.executor_id = Some(
        task.info
            .executor
            .as_ref()
            .map(|e| e.executor_id.clone())
            .unwrap_or_else(|| ExecutorId::new(key.1.value.clone())),
    );
    task.state = status.state;
    task.statuses.push(status.clone());
    task.updates.push_back(Pending {
        status,
        sent_at: None,
    });
}

fn kill(host: &SimShared, index: usize, key: &TaskKey) {
    let mut core = host.core();
    let agent = &mut core.agents[index];
    let Some(task) = agent.tasks.get(key) else {
        tracing::debug!("kill for task {} which is not running here", key.1);
        return;
    };
    if task.state.is_terminal() {
        return;
    }
    if task.killing_state {
        queue(
            agent,
            key,
            TaskStatus::new(key.1.clone(), TaskState::Killing),
        );
    }
    let mut killed = TaskStatus::new(key.1.clone(), TaskState::Killed);
    killed.message = Some("Command terminated with signal Terminated".into());
    queue(agent, key, killed);
    host.updates_changed(&mut core, index);
}

fn kill_task(host: &Arc<SimShared>, index: usize, m: KillTask) {
    kill(host, index, &(m.framework_id, m.task_id));
}

fn acknowledge(host: &Arc<SimShared>, index: usize, m: AcknowledgeUpdate) {
    let key: TaskKey = (m.framework_id, m.task_id);
    {
        let mut core = host.core();
        let agent = &mut core.agents[index];
        let Some(task) = agent.tasks.get_mut(&key) else {
            return;
        };
        let Some(acked) = task
            .updates
            .pop_front_if(|u| u.status.uuid.as_deref() == Some(m.uuid.as_str()))
        else {
            return;
        };
        if task.updates.is_empty() && acked.status.state.is_terminal() {
            // Mesos cleans a task up once its terminal update is acknowledged.
            agent.tasks.remove(&key);
        }
        host.updates_changed(&mut core, index);
    }
}

/// The framework is gone: its tasks go without a word (nobody would acknowledge them).
fn shutdown_framework(host: &Arc<SimShared>, index: usize, m: ShutdownFramework) {
    let mut core = host.core();
    let agent = &mut core.agents[index];
    agent.tasks.retain(|(fw, _), _| fw != &m.framework_id);
    agent.frameworks.remove(&m.framework_id);
}

/// The scheduler shut one of its executors down: its tasks are killed.
fn shutdown_executor(host: &Arc<SimShared>, index: usize, m: ShutdownExecutor) {
    let keys: Vec<TaskKey> = {
        let core = host.core();
        core.agents[index]
            .tasks
            .iter()
            .filter(|((fw, _), t)| {
                fw == &m.framework_id
                    && t.info
                        .executor
                        .as_ref()
                        .is_some_and(|e| e.executor_id == m.executor_id)
            })
            .map(|(k, _)| k.clone())
            .collect()
    };
    for key in keys {
        kill(host, index, &key);
    }
}
