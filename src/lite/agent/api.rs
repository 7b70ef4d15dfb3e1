//! The agent's HTTP surface: mmrun's master→agent protocol, `/state` (also `/slave(1)/state`),
//! `/metrics/snapshot`, the sandbox file endpoints `/files/read`, `/files/download`,
//! `/files/browse`, and (merged in) the executor API and the v1 operator API.

use super::{AgentShared, RunningTask, TaskKey};
use crate::lite::api_error::ApiError;
use crate::lite::protocol::{
    ACKNOWLEDGE_PATH, AcknowledgeUpdate, FRAMEWORK_MESSAGE_PATH, FrameworkToExecutor,
    KILL_TASK_PATH, KillTask, PING_PATH, Ping, RUN_TASK_PATH, RunTask, SHUTDOWN_EXECUTOR_PATH,
    SHUTDOWN_FRAMEWORK_PATH, ShutdownExecutor, ShutdownFramework,
};
use crate::mesos::attributes::attributes_to_legacy_object;
use crate::mesos::resources::Resources;
use crate::mesos::state::{AgentExecutor, AgentFramework, AgentState, StateTask, StateTaskStatus};
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub fn router(agent: Arc<AgentShared>) -> Router {
    Router::new()
        .route(PING_PATH, post(ping))
        .route(RUN_TASK_PATH, post(run_task))
        .route(KILL_TASK_PATH, post(kill_task))
        .route(ACKNOWLEDGE_PATH, post(acknowledge))
        .route(SHUTDOWN_FRAMEWORK_PATH, post(shutdown_framework))
        .route(FRAMEWORK_MESSAGE_PATH, post(framework_message))
        .route(SHUTDOWN_EXECUTOR_PATH, post(shutdown_executor))
        .merge(super::executor_api::routes())
        .merge(super::driver_api::routes())
        .merge(super::operator_api::routes())
        .route("/state", get(state))
        .route("/slave(1)/state", get(state))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/slave(1)/health", get(|| async { StatusCode::OK }))
        .route(
            "/version",
            get(|| async { Json(crate::lite::master::version_info()) }),
        )
        .route(
            "/metrics/snapshot",
            get(|State(agent): State<Arc<AgentShared>>| async move { Json(agent.metrics()) }),
        )
        .route("/files/read", get(files_read))
        .route("/files/download", get(files_download))
        .route("/files/browse", get(files_browse))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::lite::MAX_REQUEST_BODY_BYTES,
        ))
        // The master's web UI reads `/state` and `/files` from its own origin. Inside the fault
        // gate: a paused agent answers no preflight either.
        .layer(axum::middleware::from_fn(crate::lite::cors::allow_reads))
        .layer(axum::middleware::from_fn_with_state(
            agent.clone(),
            hold_requests,
        ))
        .with_state(agent)
}

/// Every request waits here while the agent is paused or disconnected (`fault.rs`): a frozen
/// or cut-off agent does not answer, so the master's pings time out (missed pings, not a
/// refused connection) and its messages are not acted on. Once the fault is lifted the request
/// is served if its client still waits; an answer to a client that gave up goes nowhere.
async fn hold_requests(
    State(agent): State<Arc<AgentShared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !agent.faults.reachable(&agent.stopped).await {
        // The agent is stopping; the server closes every connection anyway.
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    next.run(request).await
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed master message: {e}")))
}

async fn ping(State(agent): State<Arc<AgentShared>>, body: Bytes) -> Response {
    let ping: Ping = match parse(&body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut core = agent.core();
    // A ping for another agent id is meant for a previous agent at this address (one that
    // crashed): answering it would keep that ghost registered. Without an id yet (the master
    // pings as soon as it registers us, maybe before we read its answer) we cannot tell.
    if let Some(own) = &core.agent_id
        && own != &ping.agent_id
    {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            format!("this is agent {own}, not {}", ping.agent_id),
        )
        .into_response();
    }
    let from_our_master = core
        .master_info
        .as_ref()
        .is_some_and(|m| m.id == ping.master_id);
    if from_our_master {
        core.last_ping = Instant::now();
        if !ping.connected && core.registered {
            // The master saw us disconnect; registering again reconnects us (Mesos does the same).
            drop(core);
            agent.reregister.notify_one();
        }
    }
    StatusCode::OK.into_response()
}

async fn run_task(State(agent): State<Arc<AgentShared>>, body: Bytes) -> Response {
    match parse::<RunTask>(&body) {
        Ok(run) => {
            agent.run_task(run);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn kill_task(State(agent): State<Arc<AgentShared>>, body: Bytes) -> Response {
    match parse::<KillTask>(&body) {
        Ok(kill) => {
            let grace = super::command_executor::grace_period(kill.kill_policy.as_ref());
            let key: TaskKey = (kill.framework_id, kill.task_id);
            if !agent.kill_executor_task(&key, kill.kill_policy) && !agent.kill_task(&key, grace) {
                tracing::debug!("kill for task {} which is not running here", key.1);
            }
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn acknowledge(State(agent): State<Arc<AgentShared>>, body: Bytes) -> Response {
    match parse::<AcknowledgeUpdate>(&body) {
        Ok(ack) => {
            agent.acknowledged(&(ack.framework_id, ack.task_id), &ack.uuid);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn shutdown_framework(State(agent): State<Arc<AgentShared>>, body: Bytes) -> Response {
    match parse::<ShutdownFramework>(&body) {
        Ok(msg) => {
            agent.shutdown_framework(&msg.framework_id);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn framework_message(State(agent): State<Arc<AgentShared>>, body: Bytes) -> Response {
    match parse::<FrameworkToExecutor>(&body) {
        Ok(msg) => {
            agent.framework_message(&(msg.framework_id, msg.executor_id), msg.data);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn shutdown_executor(State(agent): State<Arc<AgentShared>>, body: Bytes) -> Response {
    match parse::<ShutdownExecutor>(&body) {
        Ok(msg) => {
            agent.shutdown_executor(&(msg.framework_id, msg.executor_id));
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn task_view(t: &RunningTask, agent_id: &str) -> StateTask {
    StateTask {
        id: t.info.task_id.value.clone(),
        name: t.info.name.clone(),
        framework_id: t.framework_id.value.clone(),
        executor_id: t
            .executor
            .as_ref()
            .map(|e| e.value.clone())
            .unwrap_or_default(),
        slave_id: agent_id.into(),
        state: t.state.name().into(),
        resources: Resources::new(t.info.resources.iter().cloned()).to_legacy_object(),
        role: t
            .info
            .resources
            .first()
            .and_then(|r| r.allocation_info.as_ref())
            .map(|a| a.role.clone()),
        statuses: t.statuses.iter().map(StateTaskStatus::from).collect(),
        user: None,
        labels: None,
        container: t.info.container.clone(),
        discovery: t.info.discovery.clone(),
    }
}

fn executor_view(t: &RunningTask, agent_id: &str, done: bool) -> AgentExecutor {
    let view = task_view(t, agent_id);
    AgentExecutor {
        id: t.info.task_id.value.clone(),
        name: t.command_executor_name(),
        source: t.info.task_id.value.clone(),
        container: t.container_id.value.clone(),
        directory: t.sandbox.display().to_string(),
        resources: view.resources.clone(),
        role: None,
        kind: None,
        tasks: if done { vec![] } else { vec![view.clone()] },
        queued_tasks: vec![],
        completed_tasks: if done { vec![view] } else { vec![] },
    }
}

/// A custom executor as Mesos's agent shows it: its tasks (launched, still live or waiting for
/// acknowledgement), those queued until it subscribes, and those completed.
fn custom_executor_view(
    core: &super::AgentCore,
    e: &super::CustomExecutor,
    agent_id: &str,
) -> AgentExecutor {
    let mine = |t: &&RunningTask| {
        t.framework_id == e.framework_id
            && t.executor.as_ref() == Some(&e.info.executor_id)
            && t.container_id == e.container_id
    };
    let (queued, launched): (Vec<&RunningTask>, Vec<&RunningTask>) = core
        .tasks
        .values()
        .filter(mine)
        .partition(|t| e.queued.contains(&t.info.task_id));
    AgentExecutor {
        id: e.info.executor_id.value.clone(),
        name: e.info.name.clone().unwrap_or_default(),
        source: e.info.source.clone().unwrap_or_default(),
        container: e.container_id.value.clone(),
        directory: e.sandbox.display().to_string(),
        // Mesos's `allocatedResources`: the executor's own and its live tasks'.
        resources: launched
            .iter()
            .chain(&queued)
            .filter(|t| !t.state.is_terminal())
            .fold(
                Resources::new(e.info.resources.iter().cloned()),
                |acc, t| acc.add(&Resources::new(t.info.resources.iter().cloned())),
            )
            .to_legacy_object(),
        role: e
            .info
            .resources
            .first()
            .and_then(|r| r.allocation_info.as_ref())
            .map(|a| a.role.clone()),
        kind: e
            .info
            .kind
            .and_then(|k| serde_json::to_value(k).ok())
            .and_then(|v| v.as_str().map(String::from)),
        tasks: launched.iter().map(|t| task_view(t, agent_id)).collect(),
        queued_tasks: queued.iter().map(|t| task_view(t, agent_id)).collect(),
        completed_tasks: core
            .completed
            .iter()
            .filter(|t| mine(t))
            .map(|t| task_view(t, agent_id))
            .collect(),
    }
}

async fn state(State(agent): State<Arc<AgentShared>>) -> Response {
    let core = agent.core();
    let agent_id = core
        .agent_id
        .as_ref()
        .map(|a| a.value.clone())
        .unwrap_or_default();
    let mut frameworks: BTreeMap<String, AgentFramework> = BTreeMap::new();
    let entry = |fw: &crate::mesos::ids::FrameworkId| -> AgentFramework {
        let info = core.frameworks.get(fw);
        AgentFramework {
            id: fw.value.clone(),
            name: info.map(|i| i.name.clone()).unwrap_or_default(),
            user: info.map(|i| i.user.clone()).unwrap_or_default(),
            failover_timeout: info.map(|i| i.failover_timeout).unwrap_or(0.0),
            checkpoint: info.map(|i| i.checkpoint).unwrap_or(false),
            hostname: info.and_then(|i| i.hostname.clone()).unwrap_or_default(),
            role: info.map(|i| i.role.clone()).unwrap_or_else(|| "*".into()),
            executors: vec![],
            completed_executors: vec![],
        }
    };
    // Command tasks each have an executor of their own; a custom executor's tasks are listed
    // under it (below).
    for t in core.tasks.values().filter(|t| t.executor.is_none()) {
        let f = frameworks
            .entry(t.framework_id.value.clone())
            .or_insert_with(|| entry(&t.framework_id));
        f.executors.push(executor_view(t, &agent_id, false));
    }
    for t in core.completed.iter().filter(|t| t.executor.is_none()) {
        let f = frameworks
            .entry(t.framework_id.value.clone())
            .or_insert_with(|| entry(&t.framework_id));
        f.completed_executors
            .push(executor_view(t, &agent_id, true));
    }
    for e in core.executors.values() {
        let f = frameworks
            .entry(e.framework_id.value.clone())
            .or_insert_with(|| entry(&e.framework_id));
        f.executors.push(custom_executor_view(&core, e, &agent_id));
    }
    for e in &core.completed_executors {
        let f = frameworks
            .entry(e.framework_id.value.clone())
            .or_insert_with(|| entry(&e.framework_id));
        f.completed_executors
            .push(custom_executor_view(&core, e, &agent_id));
    }
    let v = crate::lite::master::version_info();
    let resources = &agent.config.resources;
    let state = AgentState {
        version: v.version,
        build_date: v.build_date,
        build_time: v.build_time,
        build_user: v.build_user,
        start_time: agent.start_time,
        id: agent_id,
        pid: agent.pid(),
        hostname: agent.config.address.hostname.clone(),
        capabilities: vec![
            "MULTI_ROLE".into(),
            "HIERARCHICAL_ROLE".into(),
            "RESERVATION_REFINEMENT".into(),
        ],
        resources: resources.to_legacy_object(),
        // Split by role, as the master reports this agent: reservations are not unreserved.
        reserved_resources: resources.reserved_legacy_objects(),
        unreserved_resources: resources.unreserved().to_legacy_object(),
        attributes: attributes_to_legacy_object(&agent.config.attributes),
        master_hostname: core
            .master_info
            .as_ref()
            .map(|m| m.hostname.clone())
            .unwrap_or_default(),
        flags: agent.config.flags.clone(),
        frameworks: frameworks.into_values().collect(),
        completed_frameworks: vec![],
    };
    Json(state).into_response()
}

#[derive(Deserialize)]
struct FileQuery {
    path: Option<String>,
    offset: Option<i64>,
    length: Option<i64>,
}

/// The `path` query parameter, resolved inside the agent's work dir (`files`).
fn sandbox_path(agent: &AgentShared, path: Option<&str>) -> Result<PathBuf, ApiError> {
    let path = path.ok_or_else(|| ApiError::bad_request("Expecting 'path' query parameter"))?;
    super::files::sandbox_path(agent, path)
}

const MAX_READ: i64 = 16 * 1024 * 1024;

async fn files_read(State(agent): State<Arc<AgentShared>>, Query(q): Query<FileQuery>) -> Response {
    let path = match sandbox_path(&agent, q.path.as_deref()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if path.is_dir() {
        return ApiError::bad_request("Cannot read a directory").into_response();
    }
    let data = match tokio::fs::read(&path).await {
        Ok(d) => d,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to read file: {e}"),
            )
            .into_response();
        }
    };
    let size = data.len() as i64;
    let offset = q.offset.unwrap_or(0);
    if offset == -1 {
        return Json(json!({"data": "", "offset": size})).into_response();
    }
    if offset < 0 {
        return ApiError::bad_request("Negative offset provided").into_response();
    }
    // As Mesos: -1 (sent by its web UI's pailer) means "to the end"; below that is an error.
    if q.length.is_some_and(|l| l < -1) {
        return ApiError::bad_request("Negative length provided").into_response();
    }
    let start = offset.min(size);
    let length = q
        .length
        .filter(|l| *l >= 0)
        .unwrap_or(MAX_READ)
        .min(MAX_READ);
    let end = (start + length).min(size);
    let text = String::from_utf8_lossy(&data[start as usize..end as usize]).into_owned();
    Json(json!({"data": text, "offset": start})).into_response()
}

async fn files_download(
    State(agent): State<Arc<AgentShared>>,
    Query(q): Query<FileQuery>,
) -> Response {
    let path = match sandbox_path(&agent, q.path.as_deref()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match tokio::fs::read(&path).await {
        Ok(data) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename={name}"),
                    ),
                ],
                Body::from(data),
            )
                .into_response()
        }
        Err(e) => ApiError::bad_request(format!("Cannot download '{}': {e}", path.display()))
            .into_response(),
    }
}

async fn files_browse(
    State(agent): State<Arc<AgentShared>>,
    Query(q): Query<FileQuery>,
) -> Response {
    let Some(path) = q.path.as_deref() else {
        return ApiError::bad_request("Expecting 'path' query parameter").into_response();
    };
    match super::files::list(&agent, path).await {
        Ok(listing) => Json(
            listing
                .into_iter()
                .map(|f| {
                    json!({
                        "path": f.path, "nlink": f.nlink, "size": f.size, "mtime": f.mtime,
                        "mode": format!("{:o}", f.mode), "uid": f.uid, "gid": f.gid,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}
