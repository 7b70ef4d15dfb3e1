//! The legacy JSON endpoints tools and dashboards read (reference section 5).

use super::MasterShared;
use super::views::version_info;
use crate::lite::api_error::ApiError;
use crate::mesos::ids::FrameworkId;
use crate::mesos::state::{AgentsList, FrameworksList, TasksList};
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new()
        .route("/master/state", get(state))
        .route("/state", get(state))
        .route("/master/state-summary", get(state_summary))
        .route("/master/health", get(health))
        .route("/health", get(health))
        .route("/master/redirect", get(super::leadership::redirect))
        .route("/redirect", get(super::leadership::redirect))
        .route("/version", get(version))
        .route("/metrics/snapshot", get(metrics))
        .route("/master/slaves", get(agents))
        .route("/master/frameworks", get(frameworks))
        .route("/master/tasks", get(tasks))
        .route("/master/flags", get(flags))
        .route("/flags", get(flags))
        .route("/master/teardown", post(teardown))
}

async fn state(State(m): State<Arc<MasterShared>>) -> Response {
    Json(m.master_state()).into_response()
}

async fn state_summary(State(m): State<Arc<MasterShared>>) -> Response {
    let s = m.master_state();
    let count = |state: &str, tasks: &[crate::mesos::state::StateTask]| {
        tasks.iter().filter(|t| t.state == state).count()
    };
    let frameworks: Vec<_> = s
        .frameworks
        .iter()
        .map(|f| {
            let mut summary = json!({
                "id": f.id, "name": f.name, "used_resources": f.used_resources,
                "offered_resources": f.offered_resources, "capabilities": f.capabilities,
                "hostname": f.hostname, "webui_url": f.webui_url, "active": f.active,
                "connected": f.connected, "recovered": f.recovered,
            });
            // Mesos omits `pid` for HTTP frameworks rather than writing null, as in /state.
            if let Some(pid) = &f.pid {
                summary["pid"] = json!(pid);
            }
            for state in [
                "TASK_STAGING",
                "TASK_STARTING",
                "TASK_RUNNING",
                "TASK_KILLING",
            ] {
                summary[state] = json!(count(state, &f.tasks));
            }
            for state in [
                "TASK_FINISHED",
                "TASK_KILLED",
                "TASK_FAILED",
                "TASK_LOST",
                "TASK_ERROR",
            ] {
                summary[state] = json!(count(state, &f.completed_tasks));
            }
            summary
        })
        .collect();
    Json(json!({
        "hostname": s.hostname, "cluster": s.cluster, "slaves": s.slaves,
        "frameworks": frameworks,
    }))
    .into_response()
}

async fn health() -> StatusCode {
    StatusCode::OK
}

async fn version() -> Response {
    Json(version_info()).into_response()
}

async fn metrics(State(m): State<Arc<MasterShared>>) -> Response {
    Json(m.metrics()).into_response()
}

async fn agents(State(m): State<Arc<MasterShared>>) -> Response {
    let s = m.master_state();
    Json(AgentsList {
        slaves: s.slaves,
        recovered_slaves: vec![],
    })
    .into_response()
}

async fn frameworks(State(m): State<Arc<MasterShared>>) -> Response {
    let s = m.master_state();
    Json(FrameworksList {
        frameworks: s.frameworks,
        completed_frameworks: s.completed_frameworks,
        unregistered_frameworks: vec![],
    })
    .into_response()
}

async fn tasks(State(m): State<Arc<MasterShared>>) -> Response {
    let s = m.master_state();
    let tasks = s
        .frameworks
        .into_iter()
        .chain(s.completed_frameworks)
        .flat_map(|f| {
            f.tasks
                .into_iter()
                .chain(f.unreachable_tasks)
                .chain(f.completed_tasks)
        })
        .collect();
    Json(TasksList { tasks }).into_response()
}

async fn flags(State(m): State<Arc<MasterShared>>) -> Response {
    Json(json!({ "flags": m.config.flags })).into_response()
}

#[derive(Deserialize)]
struct TeardownForm {
    #[serde(rename = "frameworkId")]
    framework_id: Option<String>,
}

/// `POST /master/teardown` with the form field `frameworkId`.
async fn teardown(
    State(m): State<Arc<MasterShared>>,
    Query(query): Query<TeardownForm>,
    body: String,
) -> Response {
    let from_body = serde_urlencoded::from_str::<TeardownForm>(&body)
        .ok()
        .and_then(|f| f.framework_id);
    let Some(id) = query.framework_id.or(from_body) else {
        return ApiError::bad_request("Missing 'frameworkId' query parameter in the request body")
            .into_response();
    };
    if m.teardown(&FrameworkId::new(id.clone())) {
        StatusCode::OK.into_response()
    } else {
        ApiError::bad_request(format!("No framework found with specified ID: {id}")).into_response()
    }
}
