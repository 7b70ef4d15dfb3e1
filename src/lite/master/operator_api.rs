//! `POST /api/v1`: the v1 operator API (reference section 4).

use super::MasterShared;
use super::views::version_info;
use crate::lite::api_error::ApiError;
use crate::lite::call::{MesosCall, encoded_answer};
use crate::mesos::encoding::Encoding;
use crate::mesos::operator::{
    Flag, GetFlags, GetHealth, GetMaster, GetMetrics, GetVersion, Metric, OperatorCall,
    OperatorCallType, OperatorResponse,
};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::sync::Arc;

/// `/api/v1` and any path below it that no other endpoint takes: libprocess hands a request
/// to the endpoint of the longest prefix of its path, so Mesos serves the operator API at
/// `/api/v1/operator` too (where pymesos's operator drivers send their calls).
pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new()
        .route("/api/v1", any(operator))
        .route("/api/v1/{*rest}", any(operator))
}

async fn operator(
    State(master): State<Arc<MasterShared>>,
    request: MesosCall<OperatorCall>,
) -> Response {
    if request.call.kind == OperatorCallType::Subscribe {
        return match request.answer_encoding() {
            Ok(encoding) => event_stream(&master, encoding),
            Err(e) => e.into_response(),
        };
    }
    match handle(&master, request) {
        Ok(Some((encoding, response))) => encoded_answer(encoding, &response),
        Ok(None) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

/// SUBSCRIBE: a RecordIO stream of operator events in the encoding the client accepts, open
/// until the client goes or the master stops (src/lite/master/operator_events.rs).
fn event_stream(master: &MasterShared, encoding: Encoding) -> Response {
    let records = master.subscribe_operator(encoding);
    let body = futures::stream::unfold(records, |mut records| async move {
        let record = records.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(record), records))
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, encoding.media_type().to_string()),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
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
            get_agents: master.core().get_agents(),
        },
        OperatorCallType::GetFrameworks => OperatorResponse::GetFrameworks {
            get_frameworks: master.core().get_frameworks(),
        },
        OperatorCallType::GetTasks => OperatorResponse::GetTasks {
            get_tasks: master.core().get_tasks(),
        },
        OperatorCallType::GetExecutors => OperatorResponse::GetExecutors {
            get_executors: master.core().get_executors(),
        },
        OperatorCallType::GetState => OperatorResponse::GetState {
            get_state: Box::new(master.core().get_state()),
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
