//! Serde helpers for the leniency real Mesos clients rely on (reference section 8): `null` for
//! repeated fields, int64 as numeric strings, integers where doubles are expected.

use serde::{Deserialize, Deserializer};

/// A repeated field: `null`, like a missing field, reads as empty (protobuf's JSON mapping, and
/// what Mesos's parser accepts). Every `Vec` field of a wire struct gets it at once, with the
/// container attribute
/// `#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]`, so the
/// fields themselves only say how they are written.
pub fn repeated<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    null_as_default(deserializer)
}

/// `null` (or a missing field, with `#[serde(default)]`) becomes the type's default.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(u64),
    Float(f64),
    Text(String),
}

/// Protobuf's JSON mapping writes int64 as strings; Mesos accepts both.
pub fn u64_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match NumberOrString::deserialize(deserializer)? {
        NumberOrString::Number(n) => Ok(n),
        NumberOrString::Float(f) if f >= 0.0 && f.fract() == 0.0 => Ok(f as u64),
        NumberOrString::Float(f) => Err(serde::de::Error::custom(format!(
            "expected an integer, got {f}"
        ))),
        NumberOrString::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got '{s}'"))),
    }
}

pub fn i64_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Signed {
        Number(i64),
        Float(f64),
        Text(String),
    }
    match Signed::deserialize(deserializer)? {
        Signed::Number(n) => Ok(n),
        Signed::Float(f) if f.fract() == 0.0 => Ok(f as i64),
        Signed::Float(f) => Err(serde::de::Error::custom(format!(
            "expected an integer, got {f}"
        ))),
        Signed::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got '{s}'"))),
    }
}
