//! The scan: a message's bytes read once into its fields' occurrences, checked as prost
//! checked them.

use super::super::schema::{self, Field, Kind, Message, Schema};
use super::super::wire::{Error, WireError, read_fixed, read_varint};

/// prost's recursion limit: how deep messages and groups may nest below the top level.
pub(super) const RECURSION_LIMIT: u32 = 100;

pub(super) const NONE: u32 = u32::MAX;

/// One occurrence of a field in the bytes: where its value is (a varint's or fixed value's
/// bytes, or a length-delimited payload), and the field's next occurrence.
#[derive(Clone, Copy)]
pub(super) struct Occurrence {
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) next: u32,
    pub(super) wire: u8,
}

/// A field's occurrences in one message: first, last and how many.
#[derive(Clone, Copy)]
pub(super) struct Head {
    pub(super) first: u32,
    pub(super) last: u32,
    pub(super) count: u32,
}

pub(super) const UNSET: Head = Head {
    first: NONE,
    last: NONE,
    count: 0,
};

/// The bytes of one message: an occurrence's span, and if `follow`, those of the occurrences
/// after it (a singular message field given more than once is the merge of all of them).
#[derive(Clone, Copy)]
pub(super) struct Spans {
    pub(super) first: u32,
    pub(super) follow: bool,
}

pub(super) struct Decoder<'de> {
    pub(super) schema: &'static Schema,
    pub(super) input: &'de [u8],
    /// Occurrences of the messages being read, innermost last (a stack).
    pub(super) occurrences: Vec<Occurrence>,
    /// Per message being read, one head per field of its schema (a stack too).
    pub(super) heads: Vec<Head>,
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
pub(super) fn read_value(
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
    pub(super) fn scan(
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
    pub(super) fn has_value(&self, field: &Field, head: Head) -> bool {
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
    pub(super) fn bytes(&self, occurrence: Occurrence) -> &'de [u8] {
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
pub(super) fn varint_of(bytes: &[u8]) -> u64 {
    let mut pos = 0;
    read_varint(bytes, &mut pos, bytes.len()).unwrap_or_default()
}

#[inline]
pub(super) fn fixed_of<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}
