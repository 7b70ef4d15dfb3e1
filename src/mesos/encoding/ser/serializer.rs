//! The serializer of one value: a message, a field's value or one element of a list.

use super::*;

pub(super) struct Ser<'e> {
    pub(super) enc: &'e mut Encoder,
    pub(super) slot: Slot,
}

impl<'e> Ser<'e> {
    pub(super) fn scalar(self, value: Scalar<'_>) -> Result<(), Error> {
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
    pub(super) fn null(self) -> Result<(), Error> {
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

    pub(super) fn float(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.scalar(Scalar::Float(v))
        } else {
            // serde_json::Value holds no NaN or infinity: they become null.
            self.null()
        }
    }

    /// A serde shape `serde_json::Value` turns into something else (a variant into a
    /// one-key object, bytes into an array): serialize that instead.
    pub(super) fn via_json(self, value: serde_json::Value) -> Result<(), Error> {
        value.serialize(self)
    }

    pub(super) fn message(self) -> Result<MessageSer<'e>, Error> {
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

    pub(super) fn list(self) -> Result<ListSer<'e>, Error> {
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

pub(super) type JsonSer = serde_json::value::Serializer;

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
