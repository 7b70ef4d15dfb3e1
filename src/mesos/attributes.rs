//! Agent attributes: the `--attributes` flag (`rack:a;u:1;zone:[1-2]`), the v1 wire type and
//! the legacy `{name: number|string}` rendering.

use super::values::{InvalidValue, Ranges, Scalar, Set, Text, ValueType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ValueType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Set>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
}

impl Attribute {
    fn new(name: &str, kind: ValueType) -> Attribute {
        Attribute {
            name: name.into(),
            kind,
            scalar: None,
            ranges: None,
            set: None,
            text: None,
        }
    }

    /// The value as the legacy JSON endpoints print it: numbers for scalars, strings otherwise.
    pub fn legacy_value(&self) -> Value {
        match self.kind {
            ValueType::Scalar => json!(self.scalar.as_ref().map_or(0.0, |s| s.value)),
            ValueType::Ranges => json!(self.ranges.clone().unwrap_or_default().to_string()),
            ValueType::Set => json!(self.set.clone().unwrap_or_default().to_string()),
            ValueType::Text => json!(self.text.as_ref().map_or("", |t| t.value.as_str())),
        }
    }
}

/// Parses `--attributes`. As in Mesos, a value that parses as a number is a SCALAR, `[…]` is
/// RANGES, `{…}` is SET and anything else is TEXT.
pub fn parse_attributes(text: &str) -> Result<Vec<Attribute>, InvalidValue> {
    let mut out: Vec<Attribute> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once(':').ok_or_else(|| {
            format!("'{part}' is not an attribute; expected name:value, e.g. rack:a")
        })?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return Err(format!("'{part}' has no attribute name").into());
        }
        if out.iter().any(|a| a.name == name) {
            return Err(format!("attribute '{name}' is given twice").into());
        }
        let attribute = if let Ok(v) = value.parse::<f64>() {
            Attribute {
                scalar: Some(Scalar { value: v }),
                ..Attribute::new(name, ValueType::Scalar)
            }
        } else if value.starts_with('[') {
            Attribute {
                ranges: Some(Ranges::parse(value)?),
                ..Attribute::new(name, ValueType::Ranges)
            }
        } else if value.starts_with('{') {
            Attribute {
                set: Some(Set::parse(value)?),
                ..Attribute::new(name, ValueType::Set)
            }
        } else {
            Attribute {
                text: Some(Text {
                    value: value.into(),
                }),
                ..Attribute::new(name, ValueType::Text)
            }
        };
        out.push(attribute);
    }
    Ok(out)
}

pub fn attributes_to_legacy_object(attributes: &[Attribute]) -> Value {
    Value::Object(
        attributes
            .iter()
            .map(|a| (a.name.clone(), a.legacy_value()))
            .collect::<Map<_, _>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_attribute_type() {
        let attrs = parse_attributes("rack:a; u:1;zone:[1-2];tags:{x,y}").unwrap();
        let kinds: Vec<_> = attrs.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            [
                ValueType::Text,
                ValueType::Scalar,
                ValueType::Ranges,
                ValueType::Set
            ]
        );
        assert_eq!(
            attributes_to_legacy_object(&attrs),
            json!({"rack":"a","u":1.0,"zone":"[1-2]","tags":"{x,y}"})
        );
    }

    #[test]
    fn rejects_malformed_attributes() {
        assert!(
            parse_attributes("rack")
                .unwrap_err()
                .0
                .contains("expected name:value")
        );
        assert!(parse_attributes("a:1;a:2").unwrap_err().0.contains("twice"));
        assert!(
            parse_attributes(":x")
                .unwrap_err()
                .0
                .contains("no attribute name")
        );
        assert_eq!(parse_attributes("").unwrap(), vec![]);
    }
}
