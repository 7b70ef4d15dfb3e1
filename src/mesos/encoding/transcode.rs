//! JSON ↔ protobuf by reflection over mmrun's Mesos schema, the way Mesos converts between
//! JSON and its messages: field names as in the .proto, enums by name, 64-bit integers as JSON
//! numbers, bytes as base64, unset fields left out.

use super::descriptors;
use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, Kind, SerializeOptions, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The bytes are not a protobuf message of the expected type (truncated, wrong wire types,
    /// invalid UTF-8, nested too deep).
    #[error("{0}")]
    Protobuf(#[from] prost::DecodeError),
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

/// Mesos's JSON conventions (reference section 0), which the serde types follow.
fn json_options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(true)
}

/// Decodes protobuf bytes of message `name` into the serde type `M`.
pub fn from_protobuf<M: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<M, TranscodeError> {
    // prost limits nesting to 100 levels, so hostile input cannot exhaust the stack here or
    // in the recursive steps below.
    let mut message = DynamicMessage::decode(descriptors::message(name), bytes)?;
    drop_unknown_enum_values(&mut message);
    let json = message
        .serialize_with_options(serde_json::value::Serializer, &json_options())
        .map_err(TranscodeError::from_serde)?;
    serde_json::from_value(json).map_err(TranscodeError::from_serde)
}

/// Encodes the serde value `message` as protobuf message `name`. A JSON field the schema does
/// not declare is left out (the drift test makes sure the serde types write none).
pub fn to_protobuf<M: Serialize>(name: &str, message: &M) -> Result<Vec<u8>, TranscodeError> {
    let json = serde_json::to_value(message).map_err(TranscodeError::from_serde)?;
    Ok(to_dynamic(name, json, false)?.encode_to_vec())
}

/// The JSON as a message `name`; with `strict`, a key or enum name the schema lacks is an
/// error instead of being skipped.
pub fn to_dynamic(
    name: &str,
    json: serde_json::Value,
    strict: bool,
) -> Result<DynamicMessage, TranscodeError> {
    let options = DeserializeOptions::new().deny_unknown_fields(strict);
    DynamicMessage::deserialize_with_options(descriptors::message(name), json, &options)
        .map_err(TranscodeError::from_serde)
}

/// proto2 keeps an enum value it does not know among the unknown fields, so the field reads as
/// unset; do the same (prost-reflect keeps the number, which would reach the serde types as a
/// number where they expect a name). A client newer than mmrun then decodes as it would on
/// Mesos: an optional field is absent, a required one is reported missing.
fn drop_unknown_enum_values(message: &mut DynamicMessage) {
    let mut unknown = Vec::new();
    for (field, value) in message.fields_mut() {
        match (field.kind(), value) {
            (Kind::Enum(e), Value::EnumNumber(n)) if e.get_value(*n).is_none() => {
                unknown.push(field.clone());
            }
            (Kind::Enum(e), Value::List(items)) => items
                .retain(|item| matches!(item, Value::EnumNumber(n) if e.get_value(*n).is_some())),
            (Kind::Message(_), Value::Message(inner)) => drop_unknown_enum_values(inner),
            (Kind::Message(_), Value::List(items)) => {
                for item in items {
                    if let Value::Message(inner) = item {
                        drop_unknown_enum_values(inner);
                    }
                }
            }
            _ => {}
        }
    }
    for field in unknown {
        message.clear_field(&field);
    }
}
