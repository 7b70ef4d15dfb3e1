//! The two encodings of the v1 APIs, JSON and protobuf, over one set of wire types.
//!
//! The serde types in `src/mesos/` stay the only Rust definition of the messages; their JSON is
//! Mesos's JSON. For protobuf, mmrun's schema (`proto/mesos/**/*.proto`: Mesos's message names
//! and field numbers, compiled by `build.rs` into a descriptor set, flattened by `schema`) says
//! how each JSON field maps to a protobuf field. `ser` is a serde `Serializer` that writes
//! protobuf bytes straight from a serde value, `de` a serde `Deserializer` that reads them
//! straight into a serde type; both follow the JSON mapping Mesos itself uses between JSON and
//! its messages. `tests` (the drift test) fails when a serde type writes a field the schema
//! lacks or types differently; `wire_tests` hold the direct path to the reflection path it
//! replaced (`reflect`, test-only), which defines what it must do.

mod de;
mod descriptors;
mod schema;
mod ser;
mod transcode;
mod wire;

#[cfg(test)]
mod reflect;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wire_tests;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use transcode::TranscodeError;
pub use wire::WireError;

/// The encoding of a request or response body, named by its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

pub const APPLICATION_JSON: &str = "application/json";
pub const APPLICATION_PROTOBUF: &str = "application/x-protobuf";

impl Encoding {
    pub fn media_type(self) -> &'static str {
        match self {
            Encoding::Json => APPLICATION_JSON,
            Encoding::Protobuf => APPLICATION_PROTOBUF,
        }
    }

    /// The encoding a `Content-Type` value names (parameters such as `charset` ignored), if
    /// it is one of the two.
    pub fn from_content_type(value: &str) -> Option<Encoding> {
        let media = value.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(APPLICATION_JSON) {
            Some(Encoding::Json)
        } else if media.eq_ignore_ascii_case(APPLICATION_PROTOBUF) {
            Some(Encoding::Protobuf)
        } else {
            None
        }
    }
}

/// A serde wire type that is also a message of the protobuf schema.
pub trait WireMessage: Serialize + DeserializeOwned {
    /// The fully qualified protobuf name, e.g. `mesos.v1.scheduler.Call`.
    const PROTO_NAME: &'static str;
}

impl WireMessage for super::scheduler::Call {
    const PROTO_NAME: &'static str = "mesos.v1.scheduler.Call";
}

impl WireMessage for super::scheduler::Event {
    const PROTO_NAME: &'static str = "mesos.v1.scheduler.Event";
}

impl WireMessage for super::executor::Call {
    const PROTO_NAME: &'static str = "mesos.v1.executor.Call";
}

impl WireMessage for super::executor::Event {
    const PROTO_NAME: &'static str = "mesos.v1.executor.Event";
}

impl WireMessage for super::operator::OperatorCall {
    const PROTO_NAME: &'static str = "mesos.v1.master.Call";
}

impl WireMessage for super::agent_operator::AgentCall {
    const PROTO_NAME: &'static str = "mesos.v1.agent.Call";
}

impl WireMessage for super::agent_operator::AgentResponse {
    const PROTO_NAME: &'static str = "mesos.v1.agent.Response";
}

impl WireMessage for super::operator::OperatorResponse {
    const PROTO_NAME: &'static str = "mesos.v1.master.Response";
}

impl WireMessage for super::operator_event::OperatorEvent {
    const PROTO_NAME: &'static str = "mesos.v1.master.Event";
}

/// Why a body could not be read as a message. The text is meant for the client's 400.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Protobuf(#[from] TranscodeError),
}

/// Serializes `message` in `encoding`: compact single-line JSON, or protobuf bytes.
pub fn encode<M: WireMessage>(encoding: Encoding, message: &M) -> Result<Vec<u8>, TranscodeError> {
    match encoding {
        Encoding::Json => serde_json::to_vec(message).map_err(TranscodeError::from_serde),
        Encoding::Protobuf => transcode::to_protobuf(M::PROTO_NAME, message),
    }
}

/// Serializes `message` in `encoding` as one RecordIO record of an event stream.
pub fn encode_record<M: WireMessage>(
    encoding: Encoding,
    message: &M,
) -> Result<bytes::Bytes, TranscodeError> {
    encode(encoding, message).map(|bytes| super::recordio::encode(&bytes))
}

/// Reads `body` as a `M` in `encoding`.
pub fn decode<M: WireMessage>(encoding: Encoding, body: &[u8]) -> Result<M, DecodeError> {
    match encoding {
        Encoding::Json => Ok(serde_json::from_slice(body)?),
        Encoding::Protobuf => Ok(transcode::from_protobuf(M::PROTO_NAME, body)?),
    }
}
