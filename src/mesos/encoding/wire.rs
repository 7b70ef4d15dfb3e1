//! The protobuf wire format's primitives, and the errors of both directions.

use std::fmt;

/// The bytes are not a protobuf message of the expected type: truncated, a wrong wire type,
/// invalid UTF-8, nested too deep. Worded as prost words its `DecodeError`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    description: String,
}

impl WireError {
    pub fn new(description: impl Into<String>) -> WireError {
        WireError {
            description: description.into(),
        }
    }

    /// The same error, saying in which field of which message it was found.
    pub fn in_field(mut self, message: &str, field: &str) -> WireError {
        self.description = format!("{message}.{field}: {}", self.description);
        self
    }

    pub fn truncated() -> WireError {
        WireError::new("buffer underflow")
    }

    pub fn invalid_varint() -> WireError {
        WireError::new("invalid varint")
    }

    pub fn recursion_limit() -> WireError {
        WireError::new("recursion limit reached")
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to decode Protobuf message: {}", self.description)
    }
}

impl std::error::Error for WireError {}

/// The error the serde `Serializer` and `Deserializer` of this module raise: bad bytes, or a
/// serde type and the schema that disagree.
#[derive(Debug)]
pub enum Error {
    Wire(WireError),
    Mapping(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Wire(e) => e.fmt(f),
            Error::Mapping(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error::Mapping(msg.to_string())
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error::Mapping(msg.to_string())
    }
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Error {
        Error::Wire(e)
    }
}

impl Error {
    pub fn from_json(e: serde_json::Error) -> Error {
        Error::Mapping(e.to_string())
    }
}

/// Reads a varint at `*pos`, never past `end`. As prost: at most 10 bytes, and the 10th may
/// only carry the 64th bit.
#[inline]
pub fn read_varint(input: &[u8], pos: &mut usize, end: usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        if *pos >= end {
            return Err(WireError::invalid_varint());
        }
        let b = input[*pos];
        *pos += 1;
        if i == 9 && b >= 0x02 {
            return Err(WireError::invalid_varint());
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError::invalid_varint())
}

#[inline]
pub fn write_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

#[inline]
pub fn varint_len(value: u64) -> usize {
    // 1 byte per started 7 bits; 0 takes one byte.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads `n` bytes at `*pos` (fixed32, fixed64), never past `end`.
#[inline]
pub fn read_fixed<const N: usize>(
    input: &[u8],
    pos: &mut usize,
    end: usize,
) -> Result<[u8; N], WireError> {
    if end - *pos < N {
        return Err(WireError::truncated());
    }
    let mut bytes = [0; N];
    bytes.copy_from_slice(&input[*pos..*pos + N]);
    *pos += N;
    Ok(bytes)
}

#[inline]
pub fn zigzag32(n: i32) -> u64 {
    u64::from(((n << 1) ^ (n >> 31)) as u32)
}

#[inline]
pub fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

#[inline]
pub fn unzigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ (-((v & 1) as i32))
}

#[inline]
pub fn unzigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ (-((v & 1) as i64))
}
