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

mod compound;
mod scalar;
mod serializer;

use compound::*;
use scalar::*;
use serializer::*;

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
