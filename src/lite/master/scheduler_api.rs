//! `POST /api/v1/scheduler`: the v1 scheduler API, with Mesos's status codes in Mesos's order
//! (reference section 1).

use super::MasterShared;
use super::model::{EventSink, EventStream, HttpStream};
use super::scheduler_call::SchedulerCall;
use crate::lite::api_error::ApiError;
use crate::lite::call::MesosCall;
use crate::mesos::ids::FrameworkId;
use crate::mesos::scheduler::{Call, CallType};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
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
    request: MesosCall<Call>,
) -> Result<Response, ApiError> {
    if request.call.kind == CallType::Subscribe {
        return subscribe(master, request);
    }
    let MesosCall { call, headers } = request;
    let framework_id = call
        .framework_id
        .clone()
        .ok_or_else(|| ApiError::bad_request("Expecting 'framework_id' to be present"))?;
    let call = SchedulerCall::validate(call)?;
    check_subscribed(&master, &framework_id, &headers)?;
    apply(&master, &framework_id, call).map(IntoResponse::into_response)
}

/// Carries out a validated call of a subscribed framework, HTTP or driver alike; the status
/// is the v1 API's answer (drivers get none).
pub(super) fn apply(
    master: &Arc<MasterShared>,
    framework_id: &FrameworkId,
    call: SchedulerCall,
) -> Result<StatusCode, ApiError> {
    match call {
        SchedulerCall::Teardown => {
            master.teardown(framework_id);
        }
        SchedulerCall::Accept(accept) => master.accept(framework_id, accept),
        SchedulerCall::Decline(decline) => master.decline(framework_id, decline),
        SchedulerCall::Revive(roles) => master.revive(framework_id, roles),
        SchedulerCall::Suppress(roles) => master.suppress(framework_id, roles),
        SchedulerCall::Kill(kill) => master.kill(framework_id, kill),
        SchedulerCall::Acknowledge(acknowledge) => {
            master.acknowledge(framework_id, acknowledge).map_err(|e| {
                ApiError::bad_request(format!("Failed to validate scheduler::Call: {e}"))
            })?
        }
        SchedulerCall::Reconcile(reconcile) => master.reconcile(framework_id, reconcile.tasks),
        SchedulerCall::UpdateFramework(update) => {
            master
                .update_framework(framework_id, update.framework_info, update.suppressed_roles)
                .map_err(ApiError::bad_request)?;
            return Ok(StatusCode::OK);
        }
        SchedulerCall::ReconcileOperations => {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "RECONCILE_OPERATIONS is not supported by mmrun (no offer operations besides LAUNCH)",
            ));
        }
        SchedulerCall::Message(message) => master.framework_message(framework_id, message),
        SchedulerCall::Shutdown(shutdown) => master.shutdown_executor(framework_id, shutdown),
        // No inverse offers or operations exist in an mmrun cluster, so these have nothing to
        // act on; Mesos answers them 202 as well.
        SchedulerCall::NothingToActOn => {}
        // Mesos answers 501 for UNKNOWN only after the framework and stream checks (it is the
        // last case of the call switch), so an UNKNOWN from an unknown framework is a 400.
        SchedulerCall::Unknown => {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "Received an unexpected 'UNKNOWN' call",
            ));
        }
    }
    Ok(StatusCode::ACCEPTED)
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

fn subscribe(master: Arc<MasterShared>, request: MesosCall<Call>) -> Result<Response, ApiError> {
    let answer = request.answer_encoding();
    let MesosCall { call, headers } = request;
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
    let answer = answer?;
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
