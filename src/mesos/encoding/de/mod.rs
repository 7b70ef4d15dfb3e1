//! protobuf bytes → serde in one pass: a `Deserializer` that shows each message to the serde
//! type as a map keyed by the .proto field names, reading values straight from the input.
//!
//! It knows every field's type from the schema, so it describes itself (`deserialize_any`
//! works): `serde_json::Value` fields, `#[serde(flatten)]` and untagged enums read from it as
//! they would from the JSON the reflection path used to build (kept in `reflect.rs` as the
//! tests' oracle), and it hands them the same things: enums by name, 64-bit integers as
//! numbers, bytes as standard base64 with padding, non-finite doubles as "NaN"/"Infinity"
//! strings, unset fields absent, fields in number order.
//!
//! What it accepts is what prost accepted: a message's bytes are scanned once (every key,
//! length, varint and UTF-8 string checked) into a list of field occurrences, so repeated
//! fields scattered through the bytes are gathered, packed and unpacked runs both read, a
//! singular scalar given twice keeps the last value and a singular message given twice is
//! the merge of both. Unknown fields are skipped; an enum number the schema lacks is dropped
//! as proto2 drops it (the field reads as unset; a repeated field loses that value). Messages
//! and groups nest at most 100 deep, as prost's recursion limit; anything malformed is an
//! error, never a panic. Nested messages are scanned when the serde type reaches them; a
//! field the type ignores is still scanned to the bottom, so bytes are refused exactly when
//! prost refused them.

// Defined before the modules that use it: a macro is in scope from where it is written.
macro_rules! forward_to_any {
    () => {
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        }
    };
}

mod message;
mod scalar;
mod scan;

use super::schema::{self, Message, Schema};
use super::wire::{Error, WireError};
use message::MessageDe;
use scan::{Decoder, NONE, Occurrence, RECURSION_LIMIT, Spans};
use serde::Deserialize;

/// Reads `input` as the message `message` into `T`.
pub fn from_bytes<'de, T: Deserialize<'de>>(
    schema: &'static Schema,
    message: &'static Message,
    input: &'de [u8],
) -> Result<T, Error> {
    if input.len() >= NONE as usize {
        return Err(WireError::new("message too large").into());
    }
    let mut decoder = Decoder {
        schema,
        input,
        // The top-level message's one span: all of the input.
        occurrences: vec![Occurrence {
            start: 0,
            end: input.len() as u32,
            next: NONE,
            wire: schema::LEN,
        }],
        heads: Vec::new(),
    };
    T::deserialize(MessageDe {
        dec: &mut decoder,
        message,
        spans: Spans {
            first: 0,
            follow: false,
        },
        depth: RECURSION_LIMIT,
    })
}
