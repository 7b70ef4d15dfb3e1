//! The master's side of mmrun's master↔agent protocol (docs/protocol.md).

use super::MasterShared;
use super::tasks::UpdateRefused;
use crate::lite::api_error::ApiError;
use crate::lite::protocol::{
    EXECUTOR_MESSAGE_PATH, EXITED_EXECUTOR_PATH, ExecutorToFramework, ExitedExecutor,
    REGISTER_PATH, RegisterAgent, STATUS_UPDATE_PATH, STATUS_UPDATES_PATH, StatusUpdate,
    StatusUpdatesAnswer, UNREGISTER_PATH, UnregisterAgent,
};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::de::DeserializeOwned;
use std::sync::Arc;

pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new()
        .route(REGISTER_PATH, post(register))
        .route(UNREGISTER_PATH, post(unregister))
        .route(STATUS_UPDATE_PATH, post(status_update))
        .route(STATUS_UPDATES_PATH, post(status_updates))
        .route(EXECUTOR_MESSAGE_PATH, post(executor_message))
        .route(EXITED_EXECUTOR_PATH, post(exited_executor))
}

async fn executor_message(State(m): State<Arc<MasterShared>>, body: Bytes) -> Response {
    match parse::<ExecutorToFramework>(&body) {
        Ok(msg) => {
            m.executor_message(msg);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn exited_executor(State(m): State<Arc<MasterShared>>, body: Bytes) -> Response {
    match parse::<ExitedExecutor>(&body) {
        Ok(msg) => {
            m.exited_executor(msg);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed agent message: {e}")))
}

async fn register(State(m): State<Arc<MasterShared>>, body: Bytes) -> Response {
    match parse::<RegisterAgent>(&body)
        .and_then(|msg| m.register_agent(msg).map_err(ApiError::bad_request))
    {
        Ok(registered) => Json(registered).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn unregister(State(m): State<Arc<MasterShared>>, body: Bytes) -> Response {
    match parse::<UnregisterAgent>(&body) {
        Ok(msg) => {
            m.unregister_agent(&msg.agent_id);
            StatusCode::OK.into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn status_update(State(m): State<Arc<MasterShared>>, body: Bytes) -> Response {
    let update = match parse::<StatusUpdate>(&body) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    match m.status_update(update) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(UpdateRefused::UnknownAgent) => ApiError::new(
            StatusCode::CONFLICT,
            "agent is not registered with this master; re-register",
        )
        .into_response(),
    }
}

/// Many agents' updates at once, each taken as `status_update` takes one.
async fn status_updates(State(m): State<Arc<MasterShared>>, body: Bytes) -> Response {
    let updates = match parse::<Vec<StatusUpdate>>(&body) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let mut answer = StatusUpdatesAnswer::default();
    for update in updates {
        let agent_id = update.agent_id.clone();
        if let Err(UpdateRefused::UnknownAgent) = m.status_update(update)
            && !answer.unknown_agents.contains(&agent_id)
        {
            answer.unknown_agents.push(agent_id);
        }
    }
    Json(answer).into_response()
}
