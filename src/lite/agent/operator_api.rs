//! `POST /api/v1` on the agent: the agent's v1 operator API (Mesos's `mesos.v1.agent.Call`), in
//! JSON or protobuf, with the same request checks and error wording as the master's. It answers
//! the read calls — health, flags, version, metrics, logging level, files, state, containers,
//! frameworks, executors, tasks, agent — and 501 for what mmrun's agent does not do (nested and
//! standalone containers, resource providers, image pruning, setting a glog level).

use super::{AgentCore, AgentShared, CustomExecutor, RunningTask, files};
use crate::lite::api_error::ApiError;
use crate::lite::call::{MesosCall, encoded_answer};
use crate::mesos::agent_operator::{
    AgentCall, AgentCallType, AgentResponse, Container, Executor, FileInfo, Framework, GetAgent,
    GetContainers, GetExecutors, GetFrameworks, GetState, GetTasks, ListFiles, ListFilesAnswer,
    ReadFile, ReadFileAnswer,
};
use crate::mesos::container::ContainerStatus;
use crate::mesos::executor::ExecutorInfo;
use crate::mesos::ids::{AgentId, ExecutorId};
use crate::mesos::operator::{AgentInfo, Task};
use crate::mesos::task::{CommandInfo, TimeInfo};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

/// `/api/v1` and any path below it that no other endpoint takes (libprocess's longest-prefix
/// routing: pymesos's operator drivers call `/api/v1/operator`).
pub fn routes() -> Router<Arc<AgentShared>> {
    Router::new()
        .route("/api/v1", any(operator))
        .route("/api/v1/{*rest}", any(operator))
}

async fn operator(
    State(agent): State<Arc<AgentShared>>,
    request: MesosCall<AgentCall>,
) -> Response {
    let answered = async {
        let answer_encoding = request.answer_encoding()?;
        Ok::<_, ApiError>((answer_encoding, answer(&agent, request.call).await?))
    };
    match answered.await {
        Ok((encoding, value)) => encoded_answer(encoding, &AgentResponse(value)),
        Err(e) => e.into_response(),
    }
}

/// `{"type": kind, "<kind in lower case>": payload}`.
fn response(kind: &str, payload: impl Serialize) -> Result<Value, ApiError> {
    let payload = serde_json::to_value(payload)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut m = serde_json::Map::new();
    m.insert("type".into(), json!(kind));
    m.insert(kind.to_lowercase(), payload);
    Ok(Value::Object(m))
}

/// The call's payload, named as its type in lower case; 400 in Mesos's words when missing.
fn payload<T: DeserializeOwned>(call: &AgentCall, key: &str) -> Result<T, ApiError> {
    let value = call.payload.get(key).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Failed to validate agent::Call: Expecting '{key}' to be present"
        ))
    })?;
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::bad_request(format!("Failed to validate agent::Call: '{key}': {e}")))
}

async fn answer(agent: &AgentShared, call: AgentCall) -> Result<Value, ApiError> {
    use AgentCallType as C;
    match call.kind {
        C::GetHealth => response("GET_HEALTH", json!({"healthy": true})),
        C::GetFlags => {
            let flags: Vec<Value> = agent
                .config
                .flags
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            response("GET_FLAGS", json!({"flags": flags}))
        }
        C::GetVersion => response(
            "GET_VERSION",
            json!({"version_info": crate::lite::master::version_info()}),
        ),
        C::GetMetrics => {
            let metrics: Vec<Value> = agent
                .metrics()
                .into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            response("GET_METRICS", json!({"metrics": metrics}))
        }
        // glog's verbosity, which mmrun's agent does not have: Mesos's default, 0.
        C::GetLoggingLevel => response("GET_LOGGING_LEVEL", json!({"level": 0})),
        C::ListFiles => {
            let request: ListFiles = payload(&call, "list_files")?;
            let file_infos = files::list(agent, &request.path)
                .await?
                .into_iter()
                .map(|f| FileInfo {
                    path: f.path,
                    nlink: f.nlink as i32,
                    size: f.size,
                    mtime: TimeInfo::from_seconds(f.mtime as f64),
                    mode: f.mode,
                    uid: f.uid,
                    gid: f.gid,
                })
                .collect();
            response("LIST_FILES", ListFilesAnswer { file_infos })
        }
        C::ReadFile => {
            let request: ReadFile = payload(&call, "read_file")?;
            // Mesos caps a read at 16 memory pages.
            let length = request.length.unwrap_or(V1_MAX_READ).min(V1_MAX_READ);
            let (size, data) = files::read(agent, &request.path, request.offset, length).await?;
            response(
                "READ_FILE",
                ReadFileAnswer {
                    size,
                    data: base64::engine::general_purpose::STANDARD.encode(data),
                },
            )
        }
        C::GetState => {
            let core = agent.core();
            let agent_id = agent_id(&core);
            response(
                "GET_STATE",
                GetState {
                    get_tasks: tasks(&core, &agent_id),
                    get_executors: executors(&core),
                    get_frameworks: frameworks(&core),
                },
            )
        }
        C::GetContainers => response("GET_CONTAINERS", containers(&agent.core())),
        C::GetFrameworks => response("GET_FRAMEWORKS", frameworks(&agent.core())),
        C::GetExecutors => response("GET_EXECUTORS", executors(&agent.core())),
        C::GetTasks => {
            let core = agent.core();
            response("GET_TASKS", tasks(&core, &agent_id(&core)))
        }
        C::GetAgent => {
            let (_, port) = agent.advertised();
            let agent_info = AgentInfo {
                hostname: agent.config.address.hostname.clone(),
                port,
                resources: agent.config.resources.clone().into_vec(),
                attributes: agent.config.attributes.clone(),
                id: agent.core().agent_id.clone(),
            };
            response("GET_AGENT", GetAgent { agent_info })
        }
        C::Unknown => Err(not_supported("UNKNOWN", "it is not a call")),
        C::SetLoggingLevel => Err(not_supported(
            "SET_LOGGING_LEVEL",
            "mmrun's agent logs through tracing, not glog, and has no verbosity level to set",
        )),
        other => {
            let name = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            Err(not_supported(
                &name,
                "mmrun's agent runs no nested or standalone containers, resource providers or \
                 image store (docs/differences.md)",
            ))
        }
    }
}

/// 16 pages of 4 KiB, as Mesos's `READ_FILE`.
const V1_MAX_READ: u64 = 16 * 4096;

fn not_supported(call: &str, why: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("mmrun does not support the agent call {call}: {why}"),
    )
}

fn agent_id(core: &AgentCore) -> AgentId {
    core.agent_id.clone().unwrap_or_else(|| AgentId::new(""))
}

/// A task as the v1 API describes it; the update state and uuid are those of its latest status.
fn v1_task(t: &RunningTask, agent_id: &AgentId) -> Task {
    let latest = t.statuses.last();
    Task {
        name: t.info.name.clone(),
        task_id: t.info.task_id.clone(),
        framework_id: t.framework_id.clone(),
        executor_id: t.executor.clone(),
        agent_id: agent_id.clone(),
        state: t.state,
        resources: t.info.resources.clone(),
        statuses: t.statuses.clone(),
        status_update_state: latest.map(|s| s.state),
        status_update_uuid: latest.and_then(|s| s.uuid.clone()),
        labels: t.info.labels.clone(),
        container: t.info.container.clone(),
        user: None,
    }
}

fn tasks(core: &AgentCore, agent_id: &AgentId) -> GetTasks {
    let queued = |t: &RunningTask| {
        t.executor.as_ref().is_some_and(|e| {
            core.executors
                .get(&(t.framework_id.clone(), e.clone()))
                .is_some_and(|x| x.queued.contains(&t.info.task_id))
        })
    };
    let mut out = GetTasks::default();
    for t in core.tasks.values() {
        let list = if t.state.is_terminal() {
            &mut out.terminated_tasks
        } else if queued(t) {
            &mut out.queued_tasks
        } else {
            &mut out.launched_tasks
        };
        list.push(v1_task(t, agent_id));
    }
    out.completed_tasks = core
        .completed
        .iter()
        .map(|t| v1_task(t, agent_id))
        .collect();
    out
}

/// The executor Mesos's agent makes for a command task: the task's id, named after its command.
/// (Mesos's runs its `mesos-executor` launcher; mmrun's agent runs the task's command itself,
/// so that is the command shown.)
fn command_executor(t: &RunningTask) -> ExecutorInfo {
    let command = t.info.command.clone().unwrap_or(CommandInfo {
        value: None,
        shell: true,
        arguments: vec![],
        environment: None,
        uris: vec![],
        user: None,
    });
    let mut info = ExecutorInfo::custom(t.info.task_id.value.clone(), command);
    info.kind = None;
    info.framework_id = Some(t.framework_id.clone());
    info.name = Some(t.command_executor_name());
    info.source = Some(t.info.task_id.value.clone());
    info
}

fn custom_executor(e: &CustomExecutor) -> ExecutorInfo {
    let mut info = e.info.clone();
    info.framework_id
        .get_or_insert_with(|| e.framework_id.clone());
    info
}

fn executors(core: &AgentCore) -> GetExecutors {
    let wrap = |executor_info| Executor { executor_info };
    let command = |t: &&RunningTask| t.executor.is_none();
    GetExecutors {
        executors: core
            .tasks
            .values()
            .filter(command)
            .map(command_executor)
            .chain(core.executors.values().map(custom_executor))
            .map(wrap)
            .collect(),
        completed_executors: core
            .completed
            .iter()
            .filter(command)
            .map(command_executor)
            .chain(core.completed_executors.iter().map(custom_executor))
            .map(wrap)
            .collect(),
    }
}

fn frameworks(core: &AgentCore) -> GetFrameworks {
    GetFrameworks {
        frameworks: core
            .frameworks
            .iter()
            .map(|(id, info)| {
                let mut framework_info = info.clone();
                framework_info.id.get_or_insert_with(|| id.clone());
                Framework { framework_info }
            })
            .collect(),
        completed_frameworks: vec![],
    }
}

/// The containers of running executors: each command task's and each custom executor's.
fn containers(core: &AgentCore) -> GetContainers {
    let container = |framework_id, executor_id: ExecutorId, name, container_id, pid| Container {
        framework_id,
        executor_id,
        executor_name: name,
        container_status: Some(ContainerStatus {
            container_id: Some(Clone::clone(&container_id)),
            executor_pid: pid,
            ..ContainerStatus::default()
        }),
        container_id,
    };
    let command_tasks = core
        .tasks
        .values()
        .filter(|t| t.executor.is_none() && !t.state.is_terminal())
        .map(|t| {
            container(
                t.framework_id.clone(),
                ExecutorId::new(t.info.task_id.value.clone()),
                t.command_executor_name(),
                t.container_id.clone(),
                t.pid,
            )
        });
    let custom = core.executors.values().map(|e| {
        container(
            e.framework_id.clone(),
            e.info.executor_id.clone(),
            e.info.name.clone().unwrap_or_default(),
            e.container_id.clone(),
            e.pid,
        )
    });
    GetContainers {
        containers: command_tasks.chain(custom).collect(),
    }
}
