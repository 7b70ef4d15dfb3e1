//! serde ↔ protobuf over mmrun's Mesos schema, the way Mesos converts between JSON and its
//! messages: field names as in the .proto, enums by name, 64-bit integers as JSON numbers,
//! bytes as base64, unset fields left out. `ser` writes the bytes straight from the serde
//! value and `de` reads them straight into the serde type; neither goes through JSON.

use super::schema::SCHEMA;
use super::wire::{self, WireError};
use super::{de, ser};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The bytes are not a protobuf message of the expected type (truncated, wrong wire types,
    /// invalid UTF-8, nested too deep).
    #[error("{0}")]
    Protobuf(#[from] WireError),
    /// The message and the serde type disagree (a required field missing, a value out of range
    /// for the Rust type), or the serde type wrote something the schema cannot hold.
    #[error("{0}")]
    Mapping(String),
}

impl TranscodeError {
    pub(super) fn from_serde(error: impl std::fmt::Display) -> TranscodeError {
        TranscodeError::Mapping(error.to_string())
    }
}

impl From<wire::Error> for TranscodeError {
    fn from(error: wire::Error) -> TranscodeError {
        match error {
            wire::Error::Wire(e) => TranscodeError::Protobuf(e),
            wire::Error::Mapping(m) => TranscodeError::Mapping(m),
        }
    }
}

/// Decodes protobuf bytes of message `name` into the serde type `M`.
pub fn from_protobuf<M: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<M, TranscodeError> {
    Ok(de::from_bytes(&SCHEMA, SCHEMA.message(name), bytes)?)
}

/// Encodes the serde value `message` as protobuf message `name`. A JSON field the schema does
/// not declare is left out (the drift test makes sure the serde types write none).
pub fn to_protobuf<M: Serialize + ?Sized>(
    name: &str,
    message: &M,
) -> Result<Vec<u8>, TranscodeError> {
    Ok(ser::to_bytes(
        &SCHEMA,
        SCHEMA.message(name),
        message,
        false,
    )?)
}

/// As `to_protobuf`, but a key or enum name the schema lacks is an error instead of being
/// skipped: what the drift test holds the serde types to.
#[cfg(test)]
pub fn to_protobuf_strict<M: Serialize + ?Sized>(
    name: &str,
    message: &M,
) -> Result<Vec<u8>, TranscodeError> {
    Ok(ser::to_bytes(&SCHEMA, SCHEMA.message(name), message, true)?)
}
