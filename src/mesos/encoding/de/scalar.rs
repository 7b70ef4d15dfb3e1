//! One scalar value, read from its bytes as the JSON mapping shows it.

use super::super::schema::{Kind, Schema};
use super::super::wire::{Error, WireError, unzigzag32, unzigzag64};
use super::scan::{fixed_of, varint_of};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use serde::Deserialize;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, Visitor};

/// One scalar value, from its bytes on the wire.
pub(super) struct ScalarDe<'de> {
    pub(super) kind: Kind,
    pub(super) bytes: &'de [u8],
    pub(super) schema: &'static Schema,
}

fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

impl<'de> de::Deserializer<'de> for ScalarDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let bytes = self.bytes;
        match self.kind {
            Kind::Double => {
                let v = f64::from_le_bytes(fixed_of(bytes));
                if v.is_finite() {
                    visitor.visit_f64(v)
                } else {
                    visitor.visit_borrowed_str(non_finite(v))
                }
            }
            Kind::Float => {
                let v = f32::from_le_bytes(fixed_of(bytes));
                if v.is_finite() {
                    visitor.visit_f32(v)
                } else {
                    visitor.visit_borrowed_str(non_finite(f64::from(v)))
                }
            }
            Kind::Int32 => visitor.visit_i32(varint_of(bytes) as i32),
            Kind::Sint32 => visitor.visit_i32(unzigzag32(varint_of(bytes))),
            Kind::Sfixed32 => visitor.visit_i32(i32::from_le_bytes(fixed_of(bytes))),
            Kind::Int64 => visitor.visit_i64(varint_of(bytes) as i64),
            Kind::Sint64 => visitor.visit_i64(unzigzag64(varint_of(bytes))),
            Kind::Sfixed64 => visitor.visit_i64(i64::from_le_bytes(fixed_of(bytes))),
            Kind::Uint32 => visitor.visit_u32(varint_of(bytes) as u32),
            Kind::Fixed32 => visitor.visit_u32(u32::from_le_bytes(fixed_of(bytes))),
            Kind::Uint64 => visitor.visit_u64(varint_of(bytes)),
            Kind::Fixed64 => visitor.visit_u64(u64::from_le_bytes(fixed_of(bytes))),
            Kind::Bool => visitor.visit_bool(varint_of(bytes) != 0),
            Kind::String => match std::str::from_utf8(bytes) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => {
                    Err(WireError::new("invalid string value: data is not UTF-8 encoded").into())
                }
            },
            Kind::Bytes => visitor.visit_string(BASE64_STANDARD.encode(bytes)),
            Kind::Enum(e) => {
                let number = varint_of(bytes) as i32;
                match self.schema.enums[e as usize].name_of(number) {
                    Some(name) => visitor.visit_borrowed_str(name),
                    None => visitor.visit_i32(number),
                }
            }
            Kind::Message(_) | Kind::Unsupported => Err(Error::Mapping(
                "a message where a scalar was expected".into(),
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // A name: a unit variant, as serde_json reads a string.
        let schema = self.schema;
        let name_of = |kind: Kind, bytes: &'de [u8]| -> Option<&'de str> {
            match kind {
                Kind::Enum(e) => schema.enums[e as usize].name_of(varint_of(bytes) as i32),
                Kind::String => std::str::from_utf8(bytes).ok(),
                _ => None,
            }
        };
        match name_of(self.kind, self.bytes) {
            Some(variant) => visitor.visit_enum(BorrowedStrDeserializer::<Error>::new(variant)),
            None => enum_via_json(self, name, variants, visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_any!();
}

/// Reads what `Value::deserialize_enum` would make of the value (an enum from a one-key
/// object, or the errors it gives), for the shapes that are not a plain name.
pub(super) fn enum_via_json<'de, D, V>(
    deserializer: D,
    name: &'static str,
    variants: &'static [&'static str],
    visitor: V,
) -> Result<V::Value, Error>
where
    D: de::Deserializer<'de, Error = Error>,
    V: Visitor<'de>,
{
    let json = serde_json::Value::deserialize(deserializer)?;
    de::Deserializer::deserialize_enum(json, name, variants, visitor).map_err(Error::from_json)
}
