//! `POST /api/v1/scheduler`: the v1 scheduler API, with Mesos's status codes in Mesos's order
//! (reference section 1).

use super::MasterShared;
use super::model::{EventSink, EventStream, HttpStream};
use crate::lite::api_error::{ApiError, accepted_encoding, check_call_request, decode_call};
use crate::mesos::ids::FrameworkId;
use crate::mesos::scheduler::{Call, CallType};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::convert::Infallible;
use std::sync::{Arc, Weak};

pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new().route("/api/v1/scheduler", any(scheduler))
}

const STREAM_ID: &str = "Mesos-Stream-Id";

async fn scheduler(
    State(master): State<Arc<MasterShared>>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(master, method, headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    master: Arc<MasterShared>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let encoding = check_call_request(&method, &headers)?;
    let body = body?;
    let call: Call = decode_call(encoding, &body)?;
    if call.kind == CallType::Subscribe {
        return subscribe(master, &headers, call);
    }
    let framework_id = call
        .framework_id
        .clone()
        .ok_or_else(|| ApiError::bad_request("Expecting 'framework_id' to be present"))?;
    validate_payload(&call)?;
    check_subscribed(&master, &framework_id, &headers)?;
    apply(&master, &framework_id, call).map(IntoResponse::into_response)
}

/// Carries out a non-SUBSCRIBE call of a subscribed framework, HTTP or driver alike; the
/// status is the v1 API's answer (drivers get none).
pub(super) fn apply(
    master: &Arc<MasterShared>,
    framework_id: &FrameworkId,
    call: Call,
) -> Result<StatusCode, ApiError> {
    // Mesos answers 501 for UNKNOWN only after the framework and stream checks (it is the
    // last case of the call switch), so an UNKNOWN from an unknown framework is a 400.
    if call.kind == CallType::Unknown {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "Received an unexpected 'UNKNOWN' call",
        ));
    }
    match call.kind {
        CallType::Teardown => {
            master.teardown(framework_id);
        }
        CallType::Accept => master.accept(framework_id, call.accept.unwrap_or_default()),
        CallType::Decline => master.decline(framework_id, call.decline.unwrap_or_default()),
        CallType::Revive => master.revive(framework_id, call.revive.unwrap_or_default().all()),
        CallType::Suppress => {
            master.suppress(framework_id, call.suppress.unwrap_or_default().all())
        }
        CallType::Kill => master.kill(framework_id, call.kill.expect("validated")),
        CallType::Acknowledge => master
            .acknowledge(framework_id, call.acknowledge.expect("validated"))
            .map_err(|e| {
                ApiError::bad_request(format!("Failed to validate scheduler::Call: {e}"))
            })?,
        CallType::Reconcile => {
            master.reconcile(framework_id, call.reconcile.unwrap_or_default().tasks)
        }
        CallType::UpdateFramework => {
            let update = call.update_framework.expect("validated");
            master
                .update_framework(framework_id, update.framework_info, update.suppressed_roles)
                .map_err(ApiError::bad_request)?;
            return Ok(StatusCode::OK);
        }
        CallType::ReconcileOperations => {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "RECONCILE_OPERATIONS is not supported by mmrun (no offer operations besides LAUNCH)",
            ));
        }
        CallType::Message => {
            master.framework_message(framework_id, call.message.expect("validated"))
        }
        CallType::Shutdown => {
            master.shutdown_executor(framework_id, call.shutdown.expect("validated"))
        }
        // No inverse offers or operations exist in an mmrun cluster, so these have nothing to
        // act on; Mesos answers them 202 as well.
        CallType::Request
        | CallType::AcceptInverseOffers
        | CallType::DeclineInverseOffers
        | CallType::AcknowledgeOperationStatus => {}
        CallType::Subscribe | CallType::Unknown => unreachable!("handled above"),
    }
    Ok(StatusCode::ACCEPTED)
}

pub(super) fn validate_payload(call: &Call) -> Result<(), ApiError> {
    let missing = |name: &str| {
        Err(ApiError::bad_request(format!(
            "Expecting '{name}' to be present"
        )))
    };
    match call.kind {
        CallType::Accept if call.accept.is_none() => missing("accept"),
        CallType::Decline if call.decline.is_none() => missing("decline"),
        CallType::Kill if call.kill.is_none() => missing("kill"),
        CallType::Acknowledge if call.acknowledge.is_none() => missing("acknowledge"),
        CallType::Reconcile if call.reconcile.is_none() => missing("reconcile"),
        CallType::Shutdown if call.shutdown.is_none() => missing("shutdown"),
        CallType::Message if call.message.is_none() => missing("message"),
        CallType::Request if call.request.is_none() => missing("request"),
        CallType::UpdateFramework if call.update_framework.is_none() => missing("update_framework"),
        _ => Ok(()),
    }
}

/// Unknown framework → 400, not subscribed → 403, stream id missing or wrong → 400.
fn check_subscribed(
    master: &MasterShared,
    framework_id: &FrameworkId,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let core = master.core();
    let Some(framework) = core.find_framework(framework_id) else {
        return Err(ApiError::bad_request("Framework cannot be found"));
    };
    let Some(stream) = &framework.stream else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Framework is not subscribed",
        ));
    };
    let Some(given) = headers.get(STREAM_ID).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::bad_request(
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
        ));
    };
    if given != stream.id {
        return Err(ApiError::bad_request(format!(
            "The stream ID '{given}' included in this request didn't match the stream ID \
             currently associated with framework ID {framework_id}"
        )));
    }
    Ok(())
}

fn subscribe(
    master: Arc<MasterShared>,
    headers: &HeaderMap,
    call: Call,
) -> Result<Response, ApiError> {
    let Some(subscribe) = call.subscribe else {
        return Err(ApiError::bad_request("Expecting 'subscribe' to be present"));
    };
    if let Some(id) = &call.framework_id
        && subscribe.framework_info.id.as_ref() != Some(id)
    {
        return Err(ApiError::bad_request(
            "'framework_id' differs from 'subscribe.framework_info.id'",
        ));
    }
    let answer = accepted_encoding(headers)?;
    if headers.contains_key(STREAM_ID) {
        return Err(ApiError::bad_request(
            "Subscribe calls should not include the 'Mesos-Stream-Id' header",
        ));
    }
    let stream_id = uuid::Uuid::new_v4().to_string();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let stream = EventStream {
        id: stream_id.clone(),
        sink: EventSink::Http(HttpStream {
            tx,
            encoding: answer,
        }),
    };
    // The guard learns the framework id the master assigned, to report the disconnection.
    // An HTTP SUBSCRIBE with a known id always takes the framework over (`force`).
    let framework_id = master.subscribe(
        subscribe.framework_info,
        subscribe.suppressed_roles,
        true,
        stream,
    );
    let guard = StreamGuard {
        master: Arc::downgrade(&master),
        framework_id,
        stream_id: stream_id.clone(),
    };
    let body = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), (rx, guard)))
    });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, answer.media_type().to_string()),
            (
                header::HeaderName::from_static("mesos-stream-id"),
                stream_id,
            ),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Lives as long as the response stream: dropped when the client disconnects or the master
/// closes the stream, and tells the master so.
struct StreamGuard {
    master: Weak<MasterShared>,
    framework_id: Option<FrameworkId>,
    stream_id: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let (Some(master), Some(id)) = (self.master.upgrade(), &self.framework_id) {
            master.stream_closed(id, &self.stream_id);
        }
    }
}
