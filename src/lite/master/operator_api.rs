//! `POST /api/v1`: the v1 operator API (reference section 4).

use super::MasterShared;
use super::views::version_info;
use crate::lite::api_error::ApiError;
use crate::lite::call::{MesosCall, encoded_answer};
use crate::mesos::encoding::Encoding;
use crate::mesos::operator::{
    GetMaster, GetState, OperatorCall, OperatorCallType, OperatorResponse,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new().route("/api/v1", any(operator))
}

async fn operator(
    State(master): State<Arc<MasterShared>>,
    request: MesosCall<OperatorCall>,
) -> Response {
    match handle(&master, request) {
        Ok(Some((answer, v))) => encoded_answer(answer, &OperatorResponse(v)),
        Ok(None) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

fn handle(
    master: &Arc<MasterShared>,
    request: MesosCall<OperatorCall>,
) -> Result<Option<(Encoding, Value)>, ApiError> {
    let answer_encoding = request.answer_encoding()?;
    let call = request.call;
    let answer = |kind: &str, payload: Value| {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), json!(kind));
        m.insert(kind.to_lowercase(), payload);
        Value::Object(m)
    };
    let to_value = |v: Result<Value, serde_json::Error>| {
        v.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    };
    Ok(Some((
        answer_encoding,
        match call.kind {
            OperatorCallType::GetHealth => answer("GET_HEALTH", json!({"healthy": true})),
            OperatorCallType::GetVersion => {
                answer("GET_VERSION", json!({"version_info": version_info()}))
            }
            OperatorCallType::GetFlags => {
                let flags: Vec<Value> = master
                    .config
                    .flags
                    .iter()
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect();
                answer("GET_FLAGS", json!({"flags": flags}))
            }
            OperatorCallType::GetMetrics => {
                let metrics: Vec<Value> = master
                    .metrics()
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| json!({"name": k, "value": v}))
                            .collect()
                    })
                    .unwrap_or_default();
                answer("GET_METRICS", json!({"metrics": metrics}))
            }
            OperatorCallType::GetMaster => answer(
                "GET_MASTER",
                to_value(serde_json::to_value(GetMaster {
                    master_info: master.info.clone(),
                    start_time: master.start_time,
                    elected_time: master.elected_time(),
                }))?,
            ),
            OperatorCallType::GetAgents => answer(
                "GET_AGENTS",
                to_value(serde_json::to_value(master.get_agents()))?,
            ),
            OperatorCallType::GetFrameworks => answer(
                "GET_FRAMEWORKS",
                to_value(serde_json::to_value(master.get_frameworks()))?,
            ),
            OperatorCallType::GetTasks => answer(
                "GET_TASKS",
                to_value(serde_json::to_value(master.get_tasks()))?,
            ),
            OperatorCallType::GetExecutors => answer(
                "GET_EXECUTORS",
                to_value(serde_json::to_value(master.get_executors()))?,
            ),
            OperatorCallType::GetState => answer(
                "GET_STATE",
                to_value(serde_json::to_value(GetState {
                    get_tasks: master.get_tasks(),
                    get_executors: master.get_executors(),
                    get_frameworks: master.get_frameworks(),
                    get_agents: master.get_agents(),
                }))?,
            ),
            OperatorCallType::Teardown => {
                let id = call
                    .payload
                    .get("teardown")
                    .and_then(|t| t.get("framework_id"))
                    .and_then(|f| serde_json::from_value(f.clone()).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request("Expecting 'teardown.framework_id' to be present")
                    })?;
                if !master.teardown(&id) {
                    return Err(ApiError::bad_request(format!(
                        "No framework found with specified ID: {id}"
                    )));
                }
                return Ok(None);
            }
            OperatorCallType::Unknown => {
                return Err(ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "Received an unexpected 'UNKNOWN' call",
                ));
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    format!(
                        "{} is not supported by mmrun's master (see docs/differences.md)",
                        serde_json::to_value(other)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    ),
                ));
            }
        },
    )))
}
