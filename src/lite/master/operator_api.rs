//! `POST /api/v1`: the v1 operator API (reference section 4).

use super::MasterShared;
use super::views::version_info;
use crate::lite::api_error::ApiError;
use crate::lite::call::{MesosCall, encoded_answer};
use crate::mesos::encoding::Encoding;
use crate::mesos::operator::{
    Flag, GetFlags, GetHealth, GetMaster, GetMetrics, GetState, GetVersion, Metric, OperatorCall,
    OperatorCallType, OperatorResponse,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::sync::Arc;

pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new().route("/api/v1", any(operator))
}

async fn operator(
    State(master): State<Arc<MasterShared>>,
    request: MesosCall<OperatorCall>,
) -> Response {
    match handle(&master, request) {
        Ok(Some((encoding, response))) => encoded_answer(encoding, &response),
        Ok(None) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

fn handle(
    master: &Arc<MasterShared>,
    request: MesosCall<OperatorCall>,
) -> Result<Option<(Encoding, OperatorResponse)>, ApiError> {
    let answer_encoding = request.answer_encoding()?;
    let call = request.call;
    let response = match call.kind {
        OperatorCallType::GetHealth => OperatorResponse::GetHealth {
            get_health: GetHealth { healthy: true },
        },
        OperatorCallType::GetVersion => OperatorResponse::GetVersion {
            get_version: GetVersion {
                version_info: version_info(),
            },
        },
        OperatorCallType::GetFlags => OperatorResponse::GetFlags {
            get_flags: GetFlags {
                flags: master
                    .config
                    .flags
                    .iter()
                    .map(|(name, value)| Flag {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
            },
        },
        OperatorCallType::GetMetrics => OperatorResponse::GetMetrics {
            get_metrics: GetMetrics {
                metrics: master
                    .metrics()
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| Metric {
                        name: name.clone(),
                        value: value.as_f64().unwrap_or_default(),
                    })
                    .collect(),
            },
        },
        OperatorCallType::GetMaster => OperatorResponse::GetMaster {
            get_master: GetMaster {
                master_info: master.info.clone(),
                start_time: master.start_time,
                elected_time: master.elected_time(),
            },
        },
        OperatorCallType::GetAgents => OperatorResponse::GetAgents {
            get_agents: master.get_agents(),
        },
        OperatorCallType::GetFrameworks => OperatorResponse::GetFrameworks {
            get_frameworks: master.get_frameworks(),
        },
        OperatorCallType::GetTasks => OperatorResponse::GetTasks {
            get_tasks: master.get_tasks(),
        },
        OperatorCallType::GetExecutors => OperatorResponse::GetExecutors {
            get_executors: master.get_executors(),
        },
        OperatorCallType::GetState => OperatorResponse::GetState {
            get_state: Box::new(GetState {
                get_tasks: master.get_tasks(),
                get_executors: master.get_executors(),
                get_frameworks: master.get_frameworks(),
                get_agents: master.get_agents(),
            }),
        },
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
    };
    Ok(Some((answer_encoding, response)))
}
