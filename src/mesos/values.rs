//! Mesos `Value` types shared by resources and attributes: scalars, ranges and sets, with the
//! flag syntax (`2`, `[31000-32000, 33000-33010]`, `{a,b}`) and the legacy JSON rendering.

use super::lenient::repeated;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A Mesos value (range, set, resource, attribute) that does not parse or is not valid; the
/// message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl From<&str> for InvalidValue {
    fn from(message: &str) -> InvalidValue {
        InvalidValue(message.to_string())
    }
}

impl From<String> for InvalidValue {
    fn from(message: String) -> InvalidValue {
        InvalidValue(message)
    }
}

/// Mesos compares scalars with a fixed precision of three decimal places (`Value::Scalar`
/// arithmetic in src/common/values.cpp), so 0.1 + 0.2 is exactly 0.3.
pub fn round_scalar(value: f64) -> f64 {
    // `+ 0.0` turns -0.0 (what an empty float `sum()` gives) into 0.0, so JSON never says -0.0.
    (value * 1000.0).round() / 1000.0 + 0.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValueType {
    Scalar,
    Ranges,
    Set,
    Text,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    pub value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Range {
    #[serde(deserialize_with = "crate::mesos::lenient::u64_or_string")]
    pub begin: u64,
    #[serde(deserialize_with = "crate::mesos::lenient::u64_or_string")]
    pub end: u64,
}

/// A normalised list of inclusive ranges: sorted, non-overlapping, adjacent ranges merged.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ranges {
    pub range: Vec<Range>,
}

impl Ranges {
    pub fn new(ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut r = Ranges {
            range: ranges
                .into_iter()
                .map(|(begin, end)| Range { begin, end })
                .collect(),
        };
        r.normalise();
        r
    }

    fn normalise(&mut self) {
        self.range.retain(|r| r.begin <= r.end);
        self.range.sort();
        let mut merged: Vec<Range> = Vec::with_capacity(self.range.len());
        for r in self.range.drain(..) {
            match merged.last_mut() {
                Some(last) if r.begin <= last.end.saturating_add(1) => {
                    last.end = last.end.max(r.end)
                }
                _ => merged.push(r),
            }
        }
        self.range = merged;
    }

    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    pub fn union(&self, other: &Ranges) -> Ranges {
        Ranges::new(
            self.range
                .iter()
                .chain(&other.range)
                .map(|r| (r.begin, r.end)),
        )
    }

    /// Every value of `other` is in `self`.
    pub fn contains(&self, other: &Ranges) -> bool {
        other.range.iter().all(|o| {
            self.range
                .iter()
                .any(|s| s.begin <= o.begin && o.end <= s.end)
        })
    }

    pub fn difference(&self, other: &Ranges) -> Ranges {
        let mut out = Vec::new();
        for s in &self.range {
            let mut pieces = vec![(s.begin, s.end)];
            for o in &other.range {
                pieces = pieces
                    .into_iter()
                    .flat_map(|(b, e)| {
                        let mut keep = Vec::new();
                        if o.end < b || o.begin > e {
                            keep.push((b, e));
                        } else {
                            if o.begin > b {
                                keep.push((b, o.begin - 1));
                            }
                            if o.end < e {
                                keep.push((o.end + 1, e));
                            }
                        }
                        keep
                    })
                    .collect();
            }
            out.extend(pieces);
        }
        Ranges::new(out)
    }

    /// Parses `[31000-32000, 33000-33000]`.
    pub fn parse(text: &str) -> Result<Ranges, InvalidValue> {
        let inner = text
            .trim()
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| format!("expected ranges like [31000-32000], got '{text}'"))?;
        let mut ranges = Vec::new();
        for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (b, e) = part
                .split_once('-')
                .ok_or_else(|| format!("expected a range like 31000-32000, got '{part}'"))?;
            let begin: u64 = b
                .trim()
                .parse()
                .map_err(|_| format!("'{}' in '{text}' is not a number", b.trim()))?;
            let end: u64 = e
                .trim()
                .parse()
                .map_err(|_| format!("'{}' in '{text}' is not a number", e.trim()))?;
            if begin > end {
                return Err(
                    format!("range {begin}-{end} in '{text}' ends before it begins").into(),
                );
            }
            ranges.push((begin, end));
        }
        Ok(Ranges::new(ranges))
    }
}

impl fmt::Display for Ranges {
    /// The legacy JSON rendering: `[31000-32000, 33000-33010]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .range
            .iter()
            .map(|r| format!("{}-{}", r.begin, r.end))
            .collect();
        write!(f, "[{}]", parts.join(", "))
    }
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Set {
    pub item: Vec<String>,
}

impl Set {
    pub fn new(items: impl IntoIterator<Item = String>) -> Self {
        let mut item: Vec<String> = items.into_iter().collect();
        item.sort();
        item.dedup();
        Set { item }
    }

    /// Parses `{a,b,c}`.
    pub fn parse(text: &str) -> Result<Set, InvalidValue> {
        let inner = text
            .trim()
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| format!("expected a set like {{a,b}}, got '{text}'"))?;
        Ok(Set::new(
            inner
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from),
        ))
    }
}

impl fmt::Display for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.item.join(","))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_normalise_and_render() {
        let r = Ranges::parse("[33000-33010, 31000-32000,32001-32005]").unwrap();
        assert_eq!(r.to_string(), "[31000-32005, 33000-33010]");
        assert!(Ranges::parse("31000-32000").is_err());
        assert!(Ranges::parse("[5-1]").is_err());
        assert!(Ranges::parse("[a-b]").is_err());
        assert_eq!(Ranges::parse("[]").unwrap(), Ranges::default());
    }

    #[test]
    fn ranges_arithmetic() {
        let all = Ranges::new([(31000, 32000)]);
        let some = Ranges::new([(31000, 31000), (31500, 31600)]);
        assert!(all.contains(&some));
        assert!(!some.contains(&all));
        let rest = all.difference(&some);
        assert_eq!(rest.to_string(), "[31001-31499, 31601-32000]");
        assert_eq!(rest.union(&some), all);
        assert!(all.difference(&all).is_empty());
    }

    #[test]
    fn sets_parse() {
        let s = Set::parse("{b, a,b}").unwrap();
        assert_eq!(s.item, vec!["a", "b"]);
        assert_eq!(s.to_string(), "{a,b}");
        assert!(Set::parse("a,b").is_err());
    }

    #[test]
    fn scalar_rounding_matches_mesos_precision() {
        assert_eq!(round_scalar(0.1 + 0.2), 0.3);
        assert_eq!(round_scalar(1.0 / 3.0), 0.333);
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert!(round_scalar(empty).is_sign_positive());
    }
}
