//! The reflection path `transcode` replaced, kept as the tests' oracle: serde →
//! `serde_json::Value` → prost-reflect `DynamicMessage` → bytes, and back. Its behaviour is the
//! specification of the direct path (`ser`, `de`); the tests compare the two.

use super::descriptors;
use super::transcode::TranscodeError;
use super::wire::WireError;
use prost::Message;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, SerializeOptions, Value,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Mesos's JSON conventions (reference section 0), which the serde types follow.
fn json_options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(true)
}

fn wire(error: prost::DecodeError) -> TranscodeError {
    TranscodeError::Protobuf(WireError::new(error.to_string()))
}

/// The bytes as a `DynamicMessage`, as the reflection path read them.
pub fn decode(desc: MessageDescriptor, bytes: &[u8]) -> Result<DynamicMessage, TranscodeError> {
    // prost limits nesting to 100 levels, so hostile input cannot exhaust the stack here or
    // in the recursive steps below.
    let mut message = DynamicMessage::decode(desc, bytes).map_err(wire)?;
    drop_unknown_enum_values(&mut message);
    Ok(message)
}

/// The JSON the reflection path made of the bytes, before the serde type read it.
pub fn to_json(desc: MessageDescriptor, bytes: &[u8]) -> Result<serde_json::Value, TranscodeError> {
    decode(desc, bytes)?
        .serialize_with_options(serde_json::value::Serializer, &json_options())
        .map_err(TranscodeError::from_serde)
}

/// Decodes protobuf bytes of message `name` into the serde type `M`.
pub fn from_protobuf<M: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<M, TranscodeError> {
    serde_json::from_value(to_json(descriptors::message(name), bytes)?)
        .map_err(TranscodeError::from_serde)
}

/// Encodes the serde value `message` as protobuf message `desc`.
pub fn to_protobuf<M: Serialize + ?Sized>(
    desc: MessageDescriptor,
    message: &M,
    strict: bool,
) -> Result<Vec<u8>, TranscodeError> {
    let json = serde_json::to_value(message).map_err(TranscodeError::from_serde)?;
    Ok(dynamic(desc, json, strict)?.encode_to_vec())
}

/// The JSON as a message `name`; with `strict`, a key or enum name the schema lacks is an
/// error instead of being skipped.
pub fn to_dynamic(
    name: &str,
    json: serde_json::Value,
    strict: bool,
) -> Result<DynamicMessage, TranscodeError> {
    dynamic(descriptors::message(name), json, strict)
}

fn dynamic(
    desc: MessageDescriptor,
    json: serde_json::Value,
    strict: bool,
) -> Result<DynamicMessage, TranscodeError> {
    let options = DeserializeOptions::new().deny_unknown_fields(strict);
    DynamicMessage::deserialize_with_options(desc, json, &options)
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
