//! Messages as serde maps of their fields, and repeated fields as sequences.

use super::super::schema::{self, Field, Kind, Message};
use super::super::wire::{Error, WireError};
use super::scalar::{ScalarDe, enum_via_json};
use super::scan::{Decoder, Head, NONE, Spans, read_value, varint_of};
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, Visitor};

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

/// A message: a map of its fields.
pub(super) struct MessageDe<'a, 'de> {
    pub(super) dec: &'a mut Decoder<'de>,
    pub(super) message: &'static Message,
    pub(super) spans: Spans,
    /// prost's recursion budget left for the fields of this message.
    pub(super) depth: u32,
}

impl<'de> MessageDe<'_, 'de> {
    pub(super) fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
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
pub(super) struct Fields<'a, 'de> {
    pub(super) dec: &'a mut Decoder<'de>,
    pub(super) message: &'static Message,
    pub(super) heads: usize,
    pub(super) next: usize,
    pub(super) current: usize,
    pub(super) depth: u32,
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
pub(super) struct FieldDe<'a, 'de> {
    pub(super) dec: &'a mut Decoder<'de>,
    pub(super) field: &'static Field,
    pub(super) head: Head,
    pub(super) depth: u32,
}

impl<'de> FieldDe<'_, 'de> {
    pub(super) fn scalar(&self) -> ScalarDe<'de> {
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
pub(super) struct Elements<'a, 'de> {
    pub(super) dec: &'a mut Decoder<'de>,
    pub(super) field: &'static Field,
    pub(super) next: u32,
    /// The rest of the packed run being read.
    pub(super) packed: Option<(usize, usize)>,
    /// Occurrences not yet read.
    pub(super) left: usize,
    pub(super) depth: u32,
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
