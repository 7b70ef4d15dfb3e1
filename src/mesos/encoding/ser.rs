//! serde → protobuf bytes in one pass: a `Serializer` that looks every key the serde type
//! writes up in the schema and writes the field straight into the output.
//!
//! It accepts exactly what serializing to `serde_json::Value` and reading that into a
//! prost-reflect `DynamicMessage` accepted (the reflection path it replaces, kept in
//! `reflect.rs` as the tests' oracle): keys by proto name or JSON name; `null` for "unset";
//! enums by name or number; integers from JSON numbers, integral floats or decimal strings;
//! doubles from numbers or strings ("NaN", "Infinity"); bytes from base64 (standard or URL
//! alphabet, padded or not); a key the schema lacks skipped, or refused when `strict`; an enum
//! name the schema lacks skipped (a repeated field loses that value), or refused when
//! `strict`. Every value the serde type writes is written, so a proto2 optional field set to
//! 0, false or "" is on the wire, as it must be for explicit presence.
//!
//! Fields come out in the order the serde type writes them rather than by number (any order
//! is valid protobuf). A nested message's length is not known before its fields are written:
//! each gets a 5-byte placeholder, and one pass at the end writes the minimal varints and
//! closes the gaps, so the bytes are what prost writes, in the serde type's field order.

use super::schema::{self, Field, Kind, Message, Schema};
use super::wire::{Error, varint_len, write_varint, zigzag32, zigzag64};
use base64::Engine;
use serde::ser::{self, Serialize};

/// Serializes `value` as the message `message`.
pub fn to_bytes<T: Serialize + ?Sized>(
    schema: &'static Schema,
    message: &'static Message,
    value: &T,
    strict: bool,
) -> Result<Vec<u8>, Error> {
    let mut encoder = Encoder {
        schema,
        buf: Vec::with_capacity(256),
        fixups: Vec::new(),
        savings: 0,
        strict,
    };
    value.serialize(Ser {
        enc: &mut encoder,
        slot: Slot::Top(message),
    })?;
    Ok(encoder.finish())
}

const PLACEHOLDER: usize = 5;

struct Encoder {
    schema: &'static Schema,
    buf: Vec<u8>,
    /// Length placeholders, in the order of their positions.
    fixups: Vec<Fixup>,
    /// How many placeholder bytes the closed fixups will give back.
    savings: usize,
    strict: bool,
}

struct Fixup {
    at: usize,
    len: usize,
}

/// An open length-delimited run (a nested message or a packed field).
struct Open {
    fixup: usize,
    start: usize,
    savings: usize,
}

impl Encoder {
    #[inline]
    fn key(&mut self, field: &Field, wire: u8) {
        write_varint(
            &mut self.buf,
            u64::from(field.number << 3 | u32::from(wire)),
        );
    }

    fn open(&mut self) -> Open {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; PLACEHOLDER]);
        self.fixups.push(Fixup { at, len: 0 });
        Open {
            fixup: self.fixups.len() - 1,
            start: at + PLACEHOLDER,
            savings: self.savings,
        }
    }

    fn close(&mut self, open: Open) {
        // What the run's content will be once the placeholders inside it are compacted.
        let len = self.buf.len() - open.start - (self.savings - open.savings);
        self.savings += PLACEHOLDER - varint_len(len as u64);
        self.fixups[open.fixup].len = len;
    }

    /// Drops an open run with nothing in it, with its key (`key_at`): an empty packed field,
    /// which prost does not write.
    fn discard(&mut self, open: Open, key_at: usize) {
        debug_assert_eq!(open.fixup + 1, self.fixups.len());
        self.fixups.pop();
        self.buf.truncate(key_at);
    }

    /// Writes each placeholder's minimal varint and moves the bytes after it up.
    fn finish(mut self) -> Vec<u8> {
        if self.fixups.is_empty() {
            return self.buf;
        }
        let buf = &mut self.buf;
        let (mut read, mut write) = (0, 0);
        let mut varint = Vec::with_capacity(PLACEHOLDER);
        for fixup in &self.fixups {
            buf.copy_within(read..fixup.at, write);
            write += fixup.at - read;
            varint.clear();
            write_varint(&mut varint, fixup.len as u64);
            buf[write..write + varint.len()].copy_from_slice(&varint);
            write += varint.len();
            read = fixup.at + PLACEHOLDER;
        }
        let end = buf.len();
        buf.copy_within(read..end, write);
        write += end - read;
        buf.truncate(write);
        self.buf
    }
}

/// What the value being serialized is.
#[derive(Clone, Copy)]
enum Slot {
    /// A whole message (the top level): only a map or struct fits.
    Top(&'static Message),
    /// A field's value: `null` leaves it unset, a list fills a repeated field.
    Field(&'static Field),
    /// One element of a repeated field's list.
    Element(&'static Field),
}

/// A JSON scalar, as `serde_json::Value` would have held it.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Bool(bool),
    /// Within i64 ∪ u64.
    Int(i128),
    /// Finite.
    Float(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    fn describe(&self) -> String {
        match self {
            Scalar::Bool(b) => format!("boolean `{b}`"),
            Scalar::Int(i) => format!("integer `{i}`"),
            Scalar::Float(f) => format!("floating point `{f}`"),
            Scalar::Str(s) => format!("string {s:?}"),
        }
    }
}

/// A value ready for the wire.
enum Wire<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Str(&'a str),
}

fn mismatch(field: &Field, what: &str) -> Error {
    Error::Mapping(format!(
        "invalid type: {what}, expected {} for field {}",
        expected(field.kind),
        field.name
    ))
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Double => "a 64-bit floating point value",
        Kind::Float => "a 32-bit floating point value",
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "a 32-bit signed integer",
        Kind::Uint32 | Kind::Fixed32 => "a 32-bit unsigned integer or decimal string",
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => "a 64-bit signed integer or decimal string",
        Kind::Uint64 | Kind::Fixed64 => "a 64-bit unsigned integer or decimal string",
        Kind::Bool => "a boolean",
        Kind::String => "a string",
        Kind::Bytes => "a base64-encoded string",
        Kind::Enum(_) => "a string or integer",
        Kind::Message(_) => "a map",
        Kind::Unsupported => "a map or group (unsupported)",
    }
}

/// An integral float as prost-reflect's integer visitors take it.
macro_rules! integral {
    ($v:expr, $ty:ty) => {{
        let v: f64 = $v;
        if v.fract() != 0.0 {
            return Err(Error::Mapping("expected integer value".into()));
        }
        if v < (<$ty>::MIN as f64) || v > (<$ty>::MAX as f64) {
            return Err(Error::Mapping("float value out of range".into()));
        }
        v as $ty
    }};
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| Error::Mapping(e.to_string()))
}

fn parse_f64(s: &str) -> Result<f64, Error> {
    match s.parse::<f64>() {
        Ok(v) => Ok(v),
        Err(_) if s == "Infinity" => Ok(f64::INFINITY),
        Err(_) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        Err(_) if s == "NaN" => Ok(f64::NAN),
        Err(e) => Err(Error::Mapping(e.to_string())),
    }
}

fn parse_f32(s: &str) -> Result<f32, Error> {
    match s.parse::<f32>() {
        Ok(v) => Ok(v),
        Err(_) if s == "Infinity" => Ok(f32::INFINITY),
        Err(_) if s == "-Infinity" => Ok(f32::NEG_INFINITY),
        Err(_) if s == "NaN" => Ok(f32::NAN),
        Err(e) => Err(Error::Mapping(e.to_string())),
    }
}

fn int<T: TryFrom<i128>>(i: i128) -> Result<T, Error>
where
    T::Error: std::fmt::Display,
{
    T::try_from(i).map_err(|e| Error::Mapping(e.to_string()))
}

/// prost-reflect's base64: the standard alphabet, else the URL-safe one if the text has `-`
/// or `_`; padding optional, trailing bits allowed.
fn base64_decode(text: &str) -> Result<Vec<u8>, Error> {
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    let mut buf = Vec::new();
    match STANDARD.decode_vec(text, &mut buf) {
        Ok(()) => Ok(buf),
        Err(base64::DecodeError::InvalidByte(_, b'-' | b'_')) => {
            buf.clear();
            URL_SAFE
                .decode_vec(text, &mut buf)
                .map(|()| buf)
                .map_err(|e| Error::Mapping(format!("invalid base64: {e}")))
        }
        Err(e) => Err(Error::Mapping(format!("invalid base64: {e}"))),
    }
}

/// The wire value of a JSON scalar in a field of this kind, as prost-reflect's visitors
/// convert it; `None` for an enum name the schema lacks (skipped unless strict).
fn convert<'a>(
    schema: &Schema,
    field: &Field,
    value: Scalar<'a>,
    strict: bool,
) -> Result<Option<Wire<'a>>, Error> {
    use Scalar::*;
    let wire = match (field.kind, value) {
        (Kind::Double, Int(i)) => Wire::Fixed64((i as f64).to_bits()),
        (Kind::Double, Float(f)) => Wire::Fixed64(f.to_bits()),
        (Kind::Double, Str(s)) => Wire::Fixed64(parse_f64(s)?.to_bits()),
        (Kind::Float, Int(i)) => Wire::Fixed32((i as f32).to_bits()),
        (Kind::Float, Float(f)) => {
            if f < f64::from(f32::MIN) || f > f64::from(f32::MAX) {
                return Err(Error::Mapping("float value out of range".into()));
            }
            Wire::Fixed32((f as f32).to_bits())
        }
        (Kind::Float, Str(s)) => Wire::Fixed32(parse_f32(s)?.to_bits()),
        (Kind::Int32 | Kind::Sint32 | Kind::Sfixed32, v) => {
            let n: i32 = match v {
                Int(i) => int(i)?,
                Float(f) => integral!(f, i32),
                Str(s) => parse(s)?,
                Bool(_) => return Err(mismatch(field, &v.describe())),
            };
            match field.kind {
                Kind::Int32 => Wire::Varint(n as i64 as u64),
                Kind::Sint32 => Wire::Varint(zigzag32(n)),
                _ => Wire::Fixed32(n as u32),
            }
        }
        (Kind::Uint32 | Kind::Fixed32, v) => {
            let n: u32 = match v {
                Int(i) => int(i)?,
                Float(f) => integral!(f, u32),
                Str(s) => parse(s)?,
                Bool(_) => return Err(mismatch(field, &v.describe())),
            };
            match field.kind {
                Kind::Uint32 => Wire::Varint(u64::from(n)),
                _ => Wire::Fixed32(n),
            }
        }
        (Kind::Int64 | Kind::Sint64 | Kind::Sfixed64, v) => {
            let n: i64 = match v {
                Int(i) => int(i)?,
                Float(f) => integral!(f, i64),
                Str(s) => parse(s)?,
                Bool(_) => return Err(mismatch(field, &v.describe())),
            };
            match field.kind {
                Kind::Int64 => Wire::Varint(n as u64),
                Kind::Sint64 => Wire::Varint(zigzag64(n)),
                _ => Wire::Fixed64(n as u64),
            }
        }
        (Kind::Uint64 | Kind::Fixed64, v) => {
            let n: u64 = match v {
                Int(i) => int(i)?,
                Float(f) => integral!(f, u64),
                Str(s) => parse(s)?,
                Bool(_) => return Err(mismatch(field, &v.describe())),
            };
            match field.kind {
                Kind::Uint64 => Wire::Varint(n),
                _ => Wire::Fixed64(n),
            }
        }
        (Kind::Bool, Bool(b)) => Wire::Varint(u64::from(b)),
        (Kind::String, Str(s)) => Wire::Str(s),
        (Kind::Bytes, Str(s)) => Wire::Bytes(base64_decode(s)?),
        (Kind::Enum(e), Str(s)) => match schema.enums[e as usize].number_of(s) {
            Some(n) => Wire::Varint(n as i64 as u64),
            None if strict => {
                return Err(Error::Mapping(format!(
                    "unrecognized enum value '{s}' for field {}",
                    field.name
                )));
            }
            None => return Ok(None),
        },
        (Kind::Enum(_), Int(i)) => Wire::Varint(int::<i32>(i)? as i64 as u64),
        (_, v) => return Err(mismatch(field, &v.describe())),
    };
    Ok(Some(wire))
}

struct Ser<'e> {
    enc: &'e mut Encoder,
    slot: Slot,
}

impl<'e> Ser<'e> {
    fn scalar(self, value: Scalar<'_>) -> Result<(), Error> {
        let (field, with_key) = match self.slot {
            Slot::Top(m) => {
                return Err(Error::Mapping(format!(
                    "invalid type: {}, expected a map for {}",
                    value.describe(),
                    m.full_name
                )));
            }
            Slot::Field(f) if f.repeated => {
                return Err(Error::Mapping(format!(
                    "invalid type: {}, expected a list for field {}",
                    value.describe(),
                    f.name
                )));
            }
            Slot::Field(f) => (f, true),
            Slot::Element(f) => (f, !f.packed),
        };
        let Some(wire) = convert(self.enc.schema, field, value, self.enc.strict)? else {
            return Ok(());
        };
        let enc = self.enc;
        let buf = &mut enc.buf;
        let key = |buf: &mut Vec<u8>, wire: u8| {
            if with_key {
                write_varint(buf, u64::from(field.number << 3 | u32::from(wire)));
            }
        };
        match wire {
            Wire::Varint(v) => {
                key(buf, schema::VARINT);
                write_varint(buf, v);
            }
            Wire::Fixed32(v) => {
                key(buf, schema::FIXED32);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            Wire::Fixed64(v) => {
                key(buf, schema::FIXED64);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            Wire::Bytes(bytes) => {
                key(buf, schema::LEN);
                write_varint(buf, bytes.len() as u64);
                buf.extend_from_slice(&bytes);
            }
            Wire::Str(s) => {
                key(buf, schema::LEN);
                write_varint(buf, s.len() as u64);
                buf.extend_from_slice(s.as_bytes());
            }
        }
        Ok(())
    }

    /// `null`: a field left unset.
    fn null(self) -> Result<(), Error> {
        match self.slot {
            Slot::Field(_) => Ok(()),
            Slot::Top(m) => Err(Error::Mapping(format!(
                "invalid type: null, expected a map for {}",
                m.full_name
            ))),
            Slot::Element(f) => Err(Error::Mapping(format!(
                "invalid type: null, expected {} in the list of field {}",
                expected(f.kind),
                f.name
            ))),
        }
    }

    fn float(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.scalar(Scalar::Float(v))
        } else {
            // serde_json::Value holds no NaN or infinity: they become null.
            self.null()
        }
    }

    /// A serde shape `serde_json::Value` turns into something else (a variant into a
    /// one-key object, bytes into an array): serialize that instead.
    fn via_json(self, value: serde_json::Value) -> Result<(), Error> {
        value.serialize(self)
    }

    fn message(self) -> Result<MessageSer<'e>, Error> {
        match self.slot {
            Slot::Top(m) => Ok(MessageSer {
                enc: self.enc,
                message: m,
                open: None,
                pending: None,
            }),
            Slot::Field(f) | Slot::Element(f) => {
                if f.repeated && matches!(self.slot, Slot::Field(_)) {
                    return Err(Error::Mapping(format!(
                        "invalid type: map, expected a list for field {}",
                        f.name
                    )));
                }
                let Kind::Message(m) = f.kind else {
                    return Err(mismatch(f, "map"));
                };
                self.enc.key(f, schema::LEN);
                let open = self.enc.open();
                let message = &self.enc.schema.messages[m as usize];
                Ok(MessageSer {
                    enc: self.enc,
                    message,
                    open: Some(open),
                    pending: None,
                })
            }
        }
    }

    fn list(self) -> Result<ListSer<'e>, Error> {
        match self.slot {
            Slot::Field(f) if f.repeated => {
                if let Kind::Unsupported = f.kind {
                    return Err(mismatch(f, "sequence"));
                }
                let packed = if f.packed {
                    let key_at = self.enc.buf.len();
                    self.enc.key(f, schema::LEN);
                    Some((self.enc.open(), key_at))
                } else {
                    None
                };
                Ok(ListSer {
                    enc: self.enc,
                    field: f,
                    packed,
                })
            }
            Slot::Field(f) | Slot::Element(f) => Err(mismatch(f, "sequence")),
            Slot::Top(m) => Err(Error::Mapping(format!(
                "invalid type: sequence, expected a map for {}",
                m.full_name
            ))),
        }
    }
}

type JsonSer = serde_json::value::Serializer;

impl<'e> ser::Serializer for Ser<'e> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ListSer<'e>;
    type SerializeTuple = ListSer<'e>;
    type SerializeTupleStruct = ListSer<'e>;
    type SerializeTupleVariant = ViaJson<'e, <JsonSer as ser::Serializer>::SerializeTupleVariant>;
    type SerializeMap = MessageSer<'e>;
    type SerializeStruct = MessageSer<'e>;
    type SerializeStructVariant = ViaJson<'e, <JsonSer as ser::Serializer>::SerializeStructVariant>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(Scalar::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        if i64::try_from(v).is_err() && u64::try_from(v).is_err() {
            return Err(Error::Mapping("number out of range".into()));
        }
        self.scalar(Scalar::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(Scalar::Int(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(v) => self.scalar(Scalar::Int(v.into())),
            Err(_) => Err(Error::Mapping("number out of range".into())),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.scalar(Scalar::Str(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.scalar(Scalar::Str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let json = ser::Serializer::serialize_bytes(serde_json::value::Serializer, v)
            .map_err(Error::from_json)?;
        self.via_json(json)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.null()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.null()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.null()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.scalar(Scalar::Str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let json = ser::Serializer::serialize_newtype_variant(
            serde_json::value::Serializer,
            name,
            index,
            variant,
            value,
        )
        .map_err(Error::from_json)?;
        self.via_json(json)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<ListSer<'e>, Error> {
        self.list()
    }
    fn serialize_tuple(self, _len: usize) -> Result<ListSer<'e>, Error> {
        self.list()
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<ListSer<'e>, Error> {
        self.list()
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        let json = ser::Serializer::serialize_tuple_variant(
            serde_json::value::Serializer,
            name,
            index,
            variant,
            len,
        )
        .map_err(Error::from_json)?;
        Ok(ViaJson { json, then: self })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MessageSer<'e>, Error> {
        self.message()
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MessageSer<'e>, Error> {
        self.message()
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        let json = ser::Serializer::serialize_struct_variant(
            serde_json::value::Serializer,
            name,
            index,
            variant,
            len,
        )
        .map_err(Error::from_json)?;
        Ok(ViaJson { json, then: self })
    }
}

/// The fields of one message.
pub struct MessageSer<'e> {
    enc: &'e mut Encoder,
    message: &'static Message,
    open: Option<Open>,
    /// The field `serialize_key` found, for `serialize_value` (`None` inside: skip it).
    pending: Option<Option<&'static Field>>,
}

impl MessageSer<'_> {
    fn lookup(&self, key: &str) -> Result<Option<&'static Field>, Error> {
        match self.message.field_by_name(key) {
            Some(field) => Ok(Some(field)),
            None if self.enc.strict => Err(Error::Mapping(format!(
                "unrecognized field name '{key}' in {}",
                self.message.full_name
            ))),
            None => Ok(None),
        }
    }

    fn value<T: Serialize + ?Sized>(
        &mut self,
        field: Option<&'static Field>,
        value: &T,
    ) -> Result<(), Error> {
        match field {
            Some(field) => value.serialize(Ser {
                enc: self.enc,
                slot: Slot::Field(field),
            }),
            None => Ok(()),
        }
    }

    fn close(self) -> Result<(), Error> {
        if let Some(open) = self.open {
            self.enc.close(open);
        }
        Ok(())
    }
}

impl ser::SerializeStruct for MessageSer<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let field = self.lookup(key)?;
        self.value(field, value)
    }

    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeMap for MessageSer<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let field = key.serialize(KeySer(self))?;
        self.pending = Some(field);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let field = self
            .pending
            .take()
            .ok_or_else(|| Error::Mapping("serialize_value before serialize_key".into()))?;
        self.value(field, value)
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let field = key.serialize(KeySer(self))?;
        self.value(field, value)
    }

    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// The elements of a repeated field.
pub struct ListSer<'e> {
    enc: &'e mut Encoder,
    field: &'static Field,
    /// The packed run and where its key starts.
    packed: Option<(Open, usize)>,
}

impl ListSer<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Ser {
            enc: self.enc,
            slot: Slot::Element(self.field),
        })
    }

    fn close(self) -> Result<(), Error> {
        if let Some((open, key_at)) = self.packed {
            if self.enc.buf.len() == open.start {
                self.enc.discard(open, key_at);
            } else {
                self.enc.close(open);
            }
        }
        Ok(())
    }
}

impl ser::SerializeSeq for ListSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTuple for ListSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for ListSer<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// A tuple or struct variant: built as `serde_json::Value` (a one-key object), then
/// serialized as that.
pub struct ViaJson<'e, S> {
    json: S,
    then: Ser<'e>,
}

impl ser::SerializeTupleVariant
    for ViaJson<'_, <JsonSer as ser::Serializer>::SerializeTupleVariant>
{
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.json.serialize_field(value).map_err(Error::from_json)
    }
    fn end(self) -> Result<(), Error> {
        let json = self.json.end().map_err(Error::from_json)?;
        self.then.via_json(json)
    }
}

impl ser::SerializeStructVariant
    for ViaJson<'_, <JsonSer as ser::Serializer>::SerializeStructVariant>
{
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.json
            .serialize_field(key, value)
            .map_err(Error::from_json)
    }
    fn end(self) -> Result<(), Error> {
        let json = self.json.end().map_err(Error::from_json)?;
        self.then.via_json(json)
    }
}

/// A map key: looked up as serde_json would have written it (a string; integers and
/// booleans as their text).
struct KeySer<'m, 'e>(&'m MessageSer<'e>);

fn key_must_be_a_string() -> Error {
    Error::Mapping("key must be a string".into())
}

impl ser::Serializer for KeySer<'_, '_> {
    type Ok = Option<&'static Field>;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Self::Ok, Error>;
    type SerializeTuple = ser::Impossible<Self::Ok, Error>;
    type SerializeTupleStruct = ser::Impossible<Self::Ok, Error>;
    type SerializeTupleVariant = ser::Impossible<Self::Ok, Error>;
    type SerializeMap = ser::Impossible<Self::Ok, Error>;
    type SerializeStruct = ser::Impossible<Self::Ok, Error>;
    type SerializeStructVariant = ser::Impossible<Self::Ok, Error>;

    fn serialize_str(self, v: &str) -> Result<Self::Ok, Error> {
        self.0.lookup(v)
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok, Error> {
        self.0.lookup(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bool(self, v: bool) -> Result<Self::Ok, Error> {
        self.0.lookup(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok, Error> {
        self.0.lookup(&v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok, Error> {
        // serde_json writes finite float keys as their text; no message has a field named so.
        if v.is_finite() {
            self.0
                .lookup(&serde_json::to_string(&v).map_err(Error::from_json)?)
        } else {
            Err(Error::Mapping("float key must be finite".into()))
        }
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Error> {
        self.0.lookup(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Error> {
        value.serialize(self)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Self::Ok, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<Self::Ok, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<Self::Ok, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<Self::Ok, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Self::Ok, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}
