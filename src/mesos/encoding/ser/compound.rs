//! Messages, lists and map keys: the compound parts of the serializer.

use super::*;

/// The fields of one message.
pub struct MessageSer<'e> {
    pub(super) enc: &'e mut Encoder,
    pub(super) message: &'static Message,
    pub(super) open: Option<Open>,
    /// The field `serialize_key` found, for `serialize_value` (`None` inside: skip it).
    pub(super) pending: Option<Option<&'static Field>>,
}

impl MessageSer<'_> {
    pub(super) fn lookup(&self, key: &str) -> Result<Option<&'static Field>, Error> {
        match self.message.field_by_name(key) {
            Some(field) => Ok(Some(field)),
            None if self.enc.strict => Err(Error::Mapping(format!(
                "unrecognized field name '{key}' in {}",
                self.message.full_name
            ))),
            None => Ok(None),
        }
    }

    pub(super) fn value<T: Serialize + ?Sized>(
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

    pub(super) fn close(self) -> Result<(), Error> {
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
    pub(super) enc: &'e mut Encoder,
    pub(super) field: &'static Field,
    /// The packed run and where its key starts.
    pub(super) packed: Option<(Open, usize)>,
}

impl ListSer<'_> {
    pub(super) fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Ser {
            enc: self.enc,
            slot: Slot::Element(self.field),
        })
    }

    pub(super) fn close(self) -> Result<(), Error> {
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
    pub(super) json: S,
    pub(super) then: Ser<'e>,
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
pub(super) struct KeySer<'m, 'e>(&'m MessageSer<'e>);

pub(super) fn key_must_be_a_string() -> Error {
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
