//! JSON scalars as serde hands them over, converted to what a field's kind puts on the wire.

use super::*;

/// A JSON scalar, as `serde_json::Value` would have held it.
#[derive(Clone, Copy)]
pub(super) enum Scalar<'a> {
    Bool(bool),
    /// Within i64 ∪ u64.
    Int(i128),
    /// Finite.
    Float(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    pub(super) fn describe(&self) -> String {
        match self {
            Scalar::Bool(b) => format!("boolean `{b}`"),
            Scalar::Int(i) => format!("integer `{i}`"),
            Scalar::Float(f) => format!("floating point `{f}`"),
            Scalar::Str(s) => format!("string {s:?}"),
        }
    }
}

/// A value ready for the wire.
pub(super) enum Wire<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Str(&'a str),
}

pub(super) fn mismatch(field: &Field, what: &str) -> Error {
    Error::Mapping(format!(
        "invalid type: {what}, expected {} for field {}",
        expected(field.kind),
        field.name
    ))
}

pub(super) fn expected(kind: Kind) -> &'static str {
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

pub(super) fn parse<T: std::str::FromStr>(s: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| Error::Mapping(e.to_string()))
}

pub(super) fn parse_f64(s: &str) -> Result<f64, Error> {
    match s.parse::<f64>() {
        Ok(v) => Ok(v),
        Err(_) if s == "Infinity" => Ok(f64::INFINITY),
        Err(_) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        Err(_) if s == "NaN" => Ok(f64::NAN),
        Err(e) => Err(Error::Mapping(e.to_string())),
    }
}

pub(super) fn parse_f32(s: &str) -> Result<f32, Error> {
    match s.parse::<f32>() {
        Ok(v) => Ok(v),
        Err(_) if s == "Infinity" => Ok(f32::INFINITY),
        Err(_) if s == "-Infinity" => Ok(f32::NEG_INFINITY),
        Err(_) if s == "NaN" => Ok(f32::NAN),
        Err(e) => Err(Error::Mapping(e.to_string())),
    }
}

pub(super) fn int<T: TryFrom<i128>>(i: i128) -> Result<T, Error>
where
    T::Error: std::fmt::Display,
{
    T::try_from(i).map_err(|e| Error::Mapping(e.to_string()))
}

/// prost-reflect's base64: the standard alphabet, else the URL-safe one if the text has `-`
/// or `_`; padding optional, trailing bits allowed.
pub(super) fn base64_decode(text: &str) -> Result<Vec<u8>, Error> {
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
pub(super) fn convert<'a>(
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
