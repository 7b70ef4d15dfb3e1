//! mmrun's schema as flat tables, built once from the descriptor set: what the encoder
//! (`ser`) and the decoder (`de`) look up for every field, without going through
//! prost-reflect's descriptors (which allocate and hash on every lookup).

use super::descriptors;
use prost_reflect::{DescriptorPool, Kind as Reflected, MessageDescriptor};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Protobuf wire types.
pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;
pub const START_GROUP: u8 = 3;
pub const END_GROUP: u8 = 4;
pub const FIXED32: u8 = 5;

/// The type of a field, with enums and messages as indices into [`Schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum(u32),
    Message(u32),
    /// A map or a group: the schema has none, and neither direction supports them (a test
    /// keeps it so); reaching one is an error, not a panic.
    Unsupported,
}

impl Kind {
    /// The wire type a single value of this kind is written with.
    pub fn wire_type(self) -> u8 {
        match self {
            Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => FIXED64,
            Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => FIXED32,
            Kind::String | Kind::Bytes | Kind::Message(_) => LEN,
            Kind::Unsupported => START_GROUP,
            _ => VARINT,
        }
    }

    /// Scalars that a repeated field may carry packed (one length-delimited run).
    pub fn packable(self) -> bool {
        !matches!(
            self,
            Kind::String | Kind::Bytes | Kind::Message(_) | Kind::Unsupported
        )
    }
}

pub struct Field {
    /// The field's name in the .proto: the JSON key (and the serde field name).
    pub name: Box<str>,
    pub number: u32,
    pub kind: Kind,
    pub repeated: bool,
    /// Written packed (proto2 `[packed = true]`; the schema has none, decoding accepts both).
    pub packed: bool,
}

pub struct Message {
    pub full_name: Box<str>,
    /// Ordered by field number: the order the decoder presents fields in, as prost-reflect
    /// writes them.
    pub fields: Vec<Field>,
    /// Field index by number (`NO_FIELD` where none), for the numbers up to the largest.
    by_number: Vec<u16>,
    /// Field index by JSON key: the proto name, or the lowerCamelCase JSON name, which wins
    /// if the two collide, as prost-reflect looks the JSON name up first.
    by_name: Names,
}

const NO_FIELD: u16 = u16::MAX;

impl Message {
    #[inline]
    pub fn field_by_number(&self, number: u32) -> Option<usize> {
        match self.by_number.get(number as usize) {
            Some(&i) if i != NO_FIELD => Some(i as usize),
            _ => None,
        }
    }

    #[inline]
    pub fn field_by_name(&self, name: &str) -> Option<&Field> {
        self.by_name.get(name).map(|i| &self.fields[i as usize])
    }

    /// The unqualified name, for error messages.
    pub fn short_name(&self) -> &str {
        self.full_name.rsplit('.').next().unwrap_or(&self.full_name)
    }
}

pub struct Enum {
    /// Values by number, sorted (a number listed twice keeps its first name, as
    /// prost-reflect's `get_value` does).
    values: Vec<(i32, Box<str>)>,
    by_name: Names<i32>,
}

impl Enum {
    #[inline]
    pub fn name_of(&self, number: i32) -> Option<&str> {
        self.values
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| &*self.values[i].1)
    }

    #[inline]
    pub fn number_of(&self, name: &str) -> Option<i32> {
        self.by_name.get(name)
    }
}

pub struct Schema {
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    by_full_name: HashMap<Box<str>, u32>,
}

impl Schema {
    /// The message of this fully qualified name; panics as `descriptors::message` did, since
    /// a `WireMessage`'s name not in the schema is a bug of mmrun's, not of its input.
    pub fn message(&'static self, full_name: &str) -> &'static Message {
        match self.by_full_name.get(full_name) {
            Some(&i) => &self.messages[i as usize],
            None => panic!("mmrun's .proto files define no message {full_name}"),
        }
    }
}

/// mmrun's schema.
pub static SCHEMA: LazyLock<Schema> = LazyLock::new(|| Schema::build(descriptors::pool()));

impl Schema {
    /// The tables of every message and enum of `pool`.
    pub fn build(pool: &DescriptorPool) -> Schema {
        build(pool)
    }
}

fn build(pool: &DescriptorPool) -> Schema {
    let messages: Vec<MessageDescriptor> = pool.all_messages().collect();
    let message_index: HashMap<String, u32> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.full_name().to_string(), i as u32))
        .collect();
    let enums: Vec<_> = pool.all_enums().collect();
    let enum_index: HashMap<String, u32> = enums
        .iter()
        .enumerate()
        .map(|(i, e)| (e.full_name().to_string(), i as u32))
        .collect();

    let tables = messages
        .iter()
        .map(|m| {
            let mut fields: Vec<Field> = m
                .fields()
                .map(|f| {
                    let kind = if f.is_map() || f.is_group() {
                        Kind::Unsupported
                    } else {
                        match f.kind() {
                            Reflected::Double => Kind::Double,
                            Reflected::Float => Kind::Float,
                            Reflected::Int32 => Kind::Int32,
                            Reflected::Int64 => Kind::Int64,
                            Reflected::Uint32 => Kind::Uint32,
                            Reflected::Uint64 => Kind::Uint64,
                            Reflected::Sint32 => Kind::Sint32,
                            Reflected::Sint64 => Kind::Sint64,
                            Reflected::Fixed32 => Kind::Fixed32,
                            Reflected::Fixed64 => Kind::Fixed64,
                            Reflected::Sfixed32 => Kind::Sfixed32,
                            Reflected::Sfixed64 => Kind::Sfixed64,
                            Reflected::Bool => Kind::Bool,
                            Reflected::String => Kind::String,
                            Reflected::Bytes => Kind::Bytes,
                            Reflected::Enum(e) => Kind::Enum(enum_index[e.full_name()]),
                            Reflected::Message(m) => Kind::Message(message_index[m.full_name()]),
                        }
                    };
                    Field {
                        name: f.name().into(),
                        number: f.number(),
                        kind,
                        repeated: f.is_list(),
                        packed: f.is_packed(),
                    }
                })
                .collect();
            fields.sort_by_key(|f| f.number);
            let largest = fields.last().map_or(0, |f| f.number as usize);
            // Mesos's numbers are small; a sparse message would only waste a little memory.
            let mut by_number = vec![NO_FIELD; largest + 1];
            for (i, f) in fields.iter().enumerate() {
                by_number[f.number as usize] = i as u16;
            }
            let mut names: Vec<(Box<str>, u16)> = Vec::new();
            let mut add = |name: &str, i: usize| match names.iter_mut().find(|(n, _)| &**n == name)
            {
                Some(entry) => entry.1 = i as u16,
                None => names.push((name.into(), i as u16)),
            };
            for (i, f) in fields.iter().enumerate() {
                add(&f.name, i);
            }
            for f in m.fields() {
                let i = fields.iter().position(|x| x.number == f.number()).unwrap();
                add(f.json_name(), i);
            }
            let by_name = Names::new(names);
            Message {
                full_name: m.full_name().into(),
                fields,
                by_number,
                by_name,
            }
        })
        .collect();

    let enum_tables = enums
        .iter()
        .map(|e| {
            let mut values: Vec<(i32, Box<str>)> = Vec::new();
            let mut by_name: Vec<(Box<str>, i32)> = Vec::new();
            for v in e.values() {
                by_name.push((v.name().into(), v.number()));
                if let Some(first) = e.get_value(v.number())
                    && first.name() == v.name()
                {
                    values.push((v.number(), v.name().into()));
                }
            }
            values.sort_by_key(|(n, _)| *n);
            Enum {
                values,
                by_name: Names::new(by_name),
            }
        })
        .collect();

    Schema {
        messages: tables,
        enums: enum_tables,
        by_full_name: message_index
            .into_iter()
            .map(|(name, i)| (name.into(), i))
            .collect(),
    }
}

/// A field name → index table: open addressing on a hash of the name's length and three of
/// its bytes. Field names are short and a message has a few dozen at most, so this is a
/// handful of instructions where a general-purpose hash of every byte (SipHash, or FNV) cost
/// more than the rest of encoding a field. The table is fixed at start-up and only looked up,
/// so a name chosen to collide can only cost a few more probes.
struct Names<T = u16> {
    /// Indices into `names`, `NO_FIELD` where empty; a power of two, at most a quarter full.
    slots: Vec<u16>,
    names: Vec<(Box<str>, T)>,
}

impl<T: Copy> Names<T> {
    fn new(names: Vec<(Box<str>, T)>) -> Names<T> {
        let size = (names.len() * 4).next_power_of_two().max(8);
        let mut slots = vec![NO_FIELD; size];
        for (i, (name, _)) in names.iter().enumerate() {
            let mut slot = hash(name.as_bytes()) & (size - 1);
            while slots[slot] != NO_FIELD {
                slot = (slot + 1) & (size - 1);
            }
            slots[slot] = i as u16;
        }
        Names { slots, names }
    }

    #[inline]
    fn get(&self, name: &str) -> Option<T> {
        let mask = self.slots.len() - 1;
        let mut slot = hash(name.as_bytes()) & mask;
        loop {
            let i = self.slots[slot];
            if i == NO_FIELD {
                return None;
            }
            let (candidate, field) = &self.names[i as usize];
            if **candidate == *name {
                return Some(*field);
            }
            slot = (slot + 1) & mask;
        }
    }
}

#[inline]
fn hash(name: &[u8]) -> usize {
    let n = name.len();
    let sample = match n {
        0 => 0,
        _ => u64::from(name[0]) | u64::from(name[n / 2]) << 8 | u64::from(name[n - 1]) << 16,
    };
    ((sample << 8 | n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize
}
