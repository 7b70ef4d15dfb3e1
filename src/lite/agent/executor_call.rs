//! An executor's call to `/api/v1/executor`, read and checked as Mesos's agent does
//! (`Http::executor` in `src/slave/http.cpp`, `validation::executor::call::validate`), in its
//! words: the body in its encoding, the ids the proto requires, then the payload its type
//! needs. What comes out holds that payload, so the API never looks at the wire `Call`'s
//! optional fields again.

use super::ExecutorKey;
use crate::lite::api_error::ApiError;
use crate::lite::call::DecodeCall;
use crate::mesos::encoding::{self, Encoding};
use crate::mesos::executor::{Call, CallType, Subscribe};
use crate::mesos::ids::{ExecutorId, FrameworkId};
use crate::mesos::task::{TaskState, TaskStatus, source};
use base64::Engine;

/// A valid executor call: whose it is, and what it asks.
pub(super) struct ExecutorCall {
    pub key: ExecutorKey,
    pub action: ExecutorAction,
}

pub(super) enum ExecutorAction {
    Subscribe(Subscribe),
    /// A task's status, its uuid 16 bytes and its source the executor (boxed: a status is
    /// several times the size of the other calls).
    Update(Box<TaskStatus>),
    /// A framework message's data (base64, as on the wire).
    Message(String),
    Heartbeat,
    Unknown,
}

/// Why Mesos's `validateExecutorCall` refuses a call, in its words.
#[derive(Debug, thiserror::Error)]
enum InvalidCall {
    #[error("Expecting 'type' to be present")]
    NoType,
    #[error("Expecting '{0}' to be present")]
    Missing(&'static str),
    #[error("Not a valid UUID: '{0}' is not 16 base64 bytes")]
    Uuid(String),
    #[error("ExecutorID in Call: {call} does not match ExecutorID in TaskStatus: {status}")]
    ExecutorIdMismatch {
        call: ExecutorId,
        status: ExecutorId,
    },
    #[error(
        "Received Call from executor {executor_id} of framework {framework_id} with invalid source, expecting 'SOURCE_EXECUTOR'"
    )]
    Source {
        executor_id: ExecutorId,
        framework_id: FrameworkId,
    },
    #[error(
        "Received TASK_STAGING from executor {executor_id} of framework {framework_id} which is not allowed"
    )]
    Staging {
        executor_id: ExecutorId,
        framework_id: FrameworkId,
    },
}

impl DecodeCall for ExecutorCall {
    fn decode(encoding: Encoding, body: &[u8]) -> Result<ExecutorCall, ApiError> {
        // Mesos's messages: a JSON body fails to parse or to convert; a protobuf one to parse.
        let parse_failure = match encoding {
            Encoding::Json => "Failed to convert JSON into Call protobuf",
            Encoding::Protobuf => "Failed to parse body into Call protobuf",
        };
        let call: Call = match encoding {
            Encoding::Json => {
                let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
                    ApiError::bad_request(format!("Failed to parse body into JSON: {e}"))
                })?;
                serde_json::from_value(value)
                    .map_err(|e| ApiError::bad_request(format!("{parse_failure}: {e}")))?
            }
            Encoding::Protobuf => encoding::decode(Encoding::Protobuf, body)
                .map_err(|e| ApiError::bad_request(format!("{parse_failure}: {e}")))?,
        };
        // Required in the proto: the protobuf parser refuses a call without them.
        let (Some(framework_id), Some(executor_id)) =
            (call.framework_id.clone(), call.executor_id.clone())
        else {
            let missing: Vec<&str> = [
                ("executor_id", call.executor_id.is_none()),
                ("framework_id", call.framework_id.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
            return Err(ApiError::bad_request(format!(
                "{parse_failure}: Missing required fields: {}",
                missing.join(", ")
            )));
        };
        let action = validate(call, &framework_id, &executor_id).map_err(|e| {
            ApiError::bad_request(format!("Failed to validate Executor::Call: {e}"))
        })?;
        Ok(ExecutorCall {
            key: (framework_id, executor_id),
            action,
        })
    }
}

/// Mesos's `validateExecutorCall`: the payload the call's type needs, and an UPDATE's status
/// as an executor may send it.
fn validate(
    call: Call,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<ExecutorAction, InvalidCall> {
    let Some(kind) = call.kind else {
        return Err(InvalidCall::NoType);
    };
    Ok(match kind {
        CallType::Subscribe => {
            ExecutorAction::Subscribe(call.subscribe.ok_or(InvalidCall::Missing("subscribe"))?)
        }
        CallType::Message => {
            ExecutorAction::Message(call.message.ok_or(InvalidCall::Missing("message"))?.data)
        }
        CallType::Update => {
            let status = call.update.ok_or(InvalidCall::Missing("update"))?.status;
            validate_status(&status, framework_id, executor_id)?;
            ExecutorAction::Update(Box::new(status))
        }
        CallType::Heartbeat => ExecutorAction::Heartbeat,
        CallType::Unknown => ExecutorAction::Unknown,
    })
}

fn validate_status(
    status: &TaskStatus,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<(), InvalidCall> {
    let Some(uuid) = &status.uuid else {
        return Err(InvalidCall::Missing("uuid"));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(uuid)
        .unwrap_or_default();
    if bytes.len() != 16 {
        return Err(InvalidCall::Uuid(uuid.clone()));
    }
    if let Some(id) = &status.executor_id
        && id != executor_id
    {
        return Err(InvalidCall::ExecutorIdMismatch {
            call: executor_id.clone(),
            status: id.clone(),
        });
    }
    // An unset source reads as the proto default, SOURCE_MASTER.
    if status.source.as_deref() != Some(source::EXECUTOR) {
        return Err(InvalidCall::Source {
            executor_id: executor_id.clone(),
            framework_id: framework_id.clone(),
        });
    }
    if status.state == TaskState::Staging {
        return Err(InvalidCall::Staging {
            executor_id: executor_id.clone(),
            framework_id: framework_id.clone(),
        });
    }
    Ok(())
}
