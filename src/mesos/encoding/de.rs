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

use super::schema::{self, Field, Kind, Message, Schema};
use super::wire::{Error, WireError, read_fixed, read_varint, unzigzag32, unzigzag64};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use serde::Deserialize;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, Visitor};

/// prost's recursion limit: how deep messages and groups may nest below the top level.
const RECURSION_LIMIT: u32 = 100;

const NONE: u32 = u32::MAX;

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

/// One occurrence of a field in the bytes: where its value is (a varint's or fixed value's
/// bytes, or a length-delimited payload), and the field's next occurrence.
#[derive(Clone, Copy)]
struct Occurrence {
    start: u32,
    end: u32,
    next: u32,
    wire: u8,
}

/// A field's occurrences in one message: first, last and how many.
#[derive(Clone, Copy)]
struct Head {
    first: u32,
    last: u32,
    count: u32,
}

const UNSET: Head = Head {
    first: NONE,
    last: NONE,
    count: 0,
};

/// The bytes of one message: an occurrence's span, and if `follow`, those of the occurrences
/// after it (a singular message field given more than once is the merge of all of them).
#[derive(Clone, Copy)]
struct Spans {
    first: u32,
    follow: bool,
}

struct Decoder<'de> {
    schema: &'static Schema,
    input: &'de [u8],
    /// Occurrences of the messages being read, innermost last (a stack).
    occurrences: Vec<Occurrence>,
    /// Per message being read, one head per field of its schema (a stack too).
    heads: Vec<Head>,
}

fn read_key(input: &[u8], pos: &mut usize, end: usize) -> Result<(u32, u8), WireError> {
    let key = read_varint(input, pos, end)?;
    if key > u64::from(u32::MAX) {
        return Err(WireError::new(format!("invalid key value: {key}")));
    }
    let wire = (key & 7) as u8;
    if wire > schema::FIXED32 {
        return Err(WireError::new(format!("invalid wire type value: {wire}")));
    }
    let number = (key >> 3) as u32;
    if number == 0 {
        return Err(WireError::new("invalid tag value: 0"));
    }
    Ok((number, wire))
}

/// Reads one value of wire type `wire` (not a group) at `*pos` and returns its bytes.
#[inline]
fn read_value(
    input: &[u8],
    pos: &mut usize,
    end: usize,
    wire: u8,
) -> Result<(usize, usize), WireError> {
    let start = *pos;
    match wire {
        schema::VARINT => {
            read_varint(input, pos, end)?;
        }
        schema::FIXED64 => {
            read_fixed::<8>(input, pos, end)?;
        }
        schema::FIXED32 => {
            read_fixed::<4>(input, pos, end)?;
        }
        schema::LEN => {
            let len = read_varint(input, pos, end)?;
            if len > (end - *pos) as u64 {
                return Err(WireError::truncated());
            }
            let start = *pos;
            *pos += len as usize;
            return Ok((start, *pos));
        }
        _ => return Err(WireError::new(format!("unexpected wire type {wire}"))),
    }
    Ok((start, *pos))
}

/// Skips an unknown field, as prost-reflect reads one into its unknown fields: a group nests
/// one level deeper and must end with its own number.
fn skip(
    input: &[u8],
    pos: &mut usize,
    end: usize,
    wire: u8,
    number: u32,
    depth: u32,
) -> Result<(), WireError> {
    match wire {
        schema::START_GROUP => {
            if depth == 0 {
                return Err(WireError::recursion_limit());
            }
            loop {
                let (inner, inner_wire) = read_key(input, pos, end)?;
                if inner_wire == schema::END_GROUP {
                    if inner != number {
                        return Err(WireError::new("unexpected end group tag"));
                    }
                    return Ok(());
                }
                skip(input, pos, end, inner_wire, inner, depth - 1)?;
            }
        }
        schema::END_GROUP => Err(WireError::new(
            "invalid wire type: EndGroup (expected StartGroup)",
        )),
        _ => read_value(input, pos, end, wire).map(|_| ()),
    }
}

impl<'de> Decoder<'de> {
    /// Reads the fields of one message into `heads` (one per field of the schema, from the
    /// returned index) and `occurrences`.
    fn scan(
        &mut self,
        message: &'static Message,
        spans: Spans,
        depth: u32,
    ) -> Result<usize, Error> {
        let base = self.heads.len();
        self.heads.resize(base + message.fields.len(), UNSET);
        let mut at = spans.first;
        loop {
            let span = self.occurrences[at as usize];
            self.scan_span(message, span.start as usize, span.end as usize, base, depth)?;
            if !spans.follow || span.next == NONE {
                return Ok(base);
            }
            at = span.next;
        }
    }

    fn scan_span(
        &mut self,
        message: &'static Message,
        start: usize,
        end: usize,
        base: usize,
        depth: u32,
    ) -> Result<(), WireError> {
        let input = self.input;
        let mut pos = start;
        while pos < end {
            let (number, wire) = read_key(input, &mut pos, end)?;
            let Some(index) = message.field_by_number(number) else {
                skip(input, &mut pos, end, wire, number, depth)?;
                continue;
            };
            let field = &message.fields[index];
            let (value_start, value_end) = self
                .read_field(field, wire, &mut pos, end)
                .map_err(|e| e.in_field(message.short_name(), &field.name))?;
            let occurrence = self.occurrences.len() as u32;
            self.occurrences.push(Occurrence {
                start: value_start as u32,
                end: value_end as u32,
                next: NONE,
                wire,
            });
            let head = &mut self.heads[base + index];
            if head.first == NONE {
                head.first = occurrence;
            } else {
                self.occurrences[head.last as usize].next = occurrence;
            }
            head.last = occurrence;
            head.count += 1;
        }
        Ok(())
    }

    /// Reads one occurrence of a known field, checking it as prost-reflect merges it.
    fn read_field(
        &self,
        field: &Field,
        wire: u8,
        pos: &mut usize,
        end: usize,
    ) -> Result<(usize, usize), WireError> {
        let input = self.input;
        if field.kind == Kind::Unsupported {
            return Err(WireError::new("maps and groups are not supported"));
        }
        let natural = field.kind.wire_type();
        let packed = wire == schema::LEN && field.repeated && field.kind.packable();
        if wire != natural && !packed {
            return Err(WireError::new(format!(
                "invalid wire type: {} (expected {})",
                wire_name(wire),
                wire_name(natural)
            )));
        }
        let (start, value_end) = read_value(input, pos, end, wire)?;
        if packed {
            let mut at = start;
            while at < value_end {
                read_value(input, &mut at, value_end, natural)?;
            }
        } else if field.kind == Kind::String
            && std::str::from_utf8(&input[start..value_end]).is_err()
        {
            return Err(WireError::new(
                "invalid string value: data is not UTF-8 encoded",
            ));
        }
        Ok((start, value_end))
    }

    /// Whether a field read from the wire has a value to show: a singular enum's last value
    /// must be one the schema knows (else proto2 drops it: unset); a repeated scalar needs one
    /// element (not only empty packed runs), and a repeated enum one the schema knows, as a
    /// list prost-reflect leaves empty is not written out.
    fn has_value(&self, field: &Field, head: Head) -> bool {
        let known = |bytes: &[u8]| match field.kind {
            Kind::Enum(e) => self.schema.enums[e as usize]
                .name_of(varint_of(bytes) as i32)
                .is_some(),
            _ => true,
        };
        if !field.repeated {
            return known(self.bytes(self.occurrences[head.last as usize]));
        }
        if !field.kind.packable() {
            return true;
        }
        let natural = field.kind.wire_type();
        let mut at = head.first;
        while at != NONE {
            let occurrence = self.occurrences[at as usize];
            let bytes = self.bytes(occurrence);
            if occurrence.wire == schema::LEN {
                let mut pos = 0;
                while let Ok((start, end)) = read_value(bytes, &mut pos, bytes.len(), natural) {
                    if known(&bytes[start..end]) {
                        return true;
                    }
                    if pos >= bytes.len() {
                        break;
                    }
                }
            } else if known(bytes) {
                return true;
            }
            at = occurrence.next;
        }
        false
    }

    #[inline]
    fn bytes(&self, occurrence: Occurrence) -> &'de [u8] {
        &self.input[occurrence.start as usize..occurrence.end as usize]
    }
}

fn wire_name(wire: u8) -> &'static str {
    match wire {
        schema::VARINT => "Varint",
        schema::FIXED64 => "SixtyFourBit",
        schema::LEN => "LengthDelimited",
        schema::START_GROUP => "StartGroup",
        schema::END_GROUP => "EndGroup",
        _ => "ThirtyTwoBit",
    }
}

/// A varint already checked by the scan.
#[inline]
fn varint_of(bytes: &[u8]) -> u64 {
    let mut pos = 0;
    read_varint(bytes, &mut pos, bytes.len()).unwrap_or_default()
}

#[inline]
fn fixed_of<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}

/// A nested message, one level deeper.
fn nested<'a, 'de>(
    dec: &'a mut Decoder<'de>,
    message: u32,
    spans: Spans,
    depth: u32,
) -> Result<MessageDe<'a, 'de>, Error> {
    if depth == 0 {
        return Err(WireError::recursion_limit().into());
    }
    let message = &dec.schema.messages[message as usize];
    Ok(MessageDe {
        dec,
        message,
        spans,
        depth: depth - 1,
    })
}

/// Reads what `Value::deserialize_enum` would make of the value (an enum from a one-key
/// object, or the errors it gives), for the shapes that are not a plain name.
fn enum_via_json<'de, D, V>(
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

macro_rules! forward_to_any {
    () => {
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        }
    };
}

/// A message: a map of its fields.
struct MessageDe<'a, 'de> {
    dec: &'a mut Decoder<'de>,
    message: &'static Message,
    spans: Spans,
    /// prost's recursion budget left for the fields of this message.
    depth: u32,
}

impl<'de> MessageDe<'_, 'de> {
    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let occurrences = self.dec.occurrences.len();
        let heads = self.dec.scan(self.message, self.spans, self.depth)?;
        let result = visitor.visit_map(Fields {
            dec: &mut *self.dec,
            message: self.message,
            heads,
            next: 0,
            current: 0,
            depth: self.depth,
        });
        self.dec.heads.truncate(heads);
        self.dec.occurrences.truncate(occurrences);
        result
    }
}

impl<'de> de::Deserializer<'de> for MessageDe<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.visit(visitor)
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
        enum_via_json(self, name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // Still read to the bottom: bytes prost refuses are refused even where unused.
        self.visit(IgnoredAny)?;
        visitor.visit_unit()
    }

    forward_to_any!();
}

/// The fields of a message, in number order.
struct Fields<'a, 'de> {
    dec: &'a mut Decoder<'de>,
    message: &'static Message,
    heads: usize,
    next: usize,
    current: usize,
    depth: u32,
}

impl<'de> de::MapAccess<'de> for Fields<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let message = self.message;
        while self.next < message.fields.len() {
            let index = self.next;
            self.next += 1;
            let head = self.dec.heads[self.heads + index];
            if head.first == NONE {
                continue;
            }
            let field = &message.fields[index];
            let shown = match field.kind {
                Kind::Enum(_) => self.dec.has_value(field, head),
                kind if field.repeated && kind.packable() => self.dec.has_value(field, head),
                _ => true,
            };
            if !shown {
                continue;
            }
            self.current = index;
            return seed
                .deserialize(BorrowedStrDeserializer::new(&field.name))
                .map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let field = &self.message.fields[self.current];
        let head = self.dec.heads[self.heads + self.current];
        seed.deserialize(FieldDe {
            dec: &mut *self.dec,
            field,
            head,
            depth: self.depth,
        })
    }
}

/// A field's value: its last occurrence, the merge of all (a message), or a list of all.
struct FieldDe<'a, 'de> {
    dec: &'a mut Decoder<'de>,
    field: &'static Field,
    head: Head,
    depth: u32,
}

impl<'de> FieldDe<'_, 'de> {
    fn scalar(&self) -> ScalarDe<'de> {
        ScalarDe {
            kind: self.field.kind,
            bytes: self
                .dec
                .bytes(self.dec.occurrences[self.head.last as usize]),
            schema: self.dec.schema,
        }
    }
}

impl<'de> de::Deserializer<'de> for FieldDe<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.field.repeated {
            return visitor.visit_seq(Elements {
                dec: self.dec,
                field: self.field,
                next: self.head.first,
                packed: None,
                left: self.head.count as usize,
                depth: self.depth,
            });
        }
        match self.field.kind {
            Kind::Message(m) => {
                let spans = Spans {
                    first: self.head.first,
                    follow: true,
                };
                nested(self.dec, m, spans, self.depth)?.visit(visitor)
            }
            _ => self.scalar().deserialize_any(visitor),
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
        if self.field.repeated {
            enum_via_json(self, name, variants, visitor)
        } else {
            self.scalar().deserialize_enum(name, variants, visitor)
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Kind::Message(_) = self.field.kind {
            self.deserialize_any(IgnoredAny)?;
        }
        visitor.visit_unit()
    }

    forward_to_any!();
}

/// The elements of a repeated field, across its occurrences and packed runs.
struct Elements<'a, 'de> {
    dec: &'a mut Decoder<'de>,
    field: &'static Field,
    next: u32,
    /// The rest of the packed run being read.
    packed: Option<(usize, usize)>,
    /// Occurrences not yet read.
    left: usize,
    depth: u32,
}

impl<'de> de::SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let input = self.dec.input;
        let kind = self.field.kind;
        loop {
            let bytes = if let Some((pos, end)) = &mut self.packed {
                if *pos >= *end {
                    self.packed = None;
                    continue;
                }
                let (start, value_end) = read_value(input, pos, *end, kind.wire_type())?;
                &input[start..value_end]
            } else {
                if self.next == NONE {
                    return Ok(None);
                }
                let at = self.next;
                let occurrence = self.dec.occurrences[at as usize];
                self.next = occurrence.next;
                self.left -= 1;
                if occurrence.wire == schema::LEN && kind.packable() {
                    self.packed = Some((occurrence.start as usize, occurrence.end as usize));
                    continue;
                }
                if let Kind::Message(m) = kind {
                    let spans = Spans {
                        first: at,
                        follow: false,
                    };
                    return seed
                        .deserialize(nested(self.dec, m, spans, self.depth)?)
                        .map(Some);
                }
                self.dec.bytes(occurrence)
            };
            let schema = self.dec.schema;
            if let Kind::Enum(e) = kind
                && schema.enums[e as usize]
                    .name_of(varint_of(bytes) as i32)
                    .is_none()
            {
                continue;
            }
            return seed
                .deserialize(ScalarDe {
                    kind,
                    bytes,
                    schema,
                })
                .map(Some);
        }
    }

    fn size_hint(&self) -> Option<usize> {
        if self.field.kind.packable() {
            None
        } else {
            Some(self.left)
        }
    }
}

/// One scalar value, from its bytes on the wire.
struct ScalarDe<'de> {
    kind: Kind,
    bytes: &'de [u8],
    schema: &'static Schema,
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
