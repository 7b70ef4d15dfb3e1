//! Reading script values: option maps (with unknown keys refused, so typos are caught),
//! durations, and conversions between Rhai values and JSON.

use super::context::{ScriptResult, script_error};
use rhai::{Dynamic, Map};
use std::time::Duration;

/// Durations as scripts write them: Mesos syntax (`15secs`, `500ms`), the short forms `10s`,
/// `2m`, `1h`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, crate::flags::DurationError> {
    let t = text.trim();
    if let Ok(d) = crate::flags::parse_duration(t) {
        return Ok(d);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("'{text}' is not a duration; write e.g. \"10s\", \"500ms\" or \"2m\"")
    })?;
    let factor = match unit {
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!("'{text}' has unknown unit '{unit}'; use ms, s, m or h").into());
        }
    };
    Ok(Duration::from_secs_f64(value * factor))
}

pub fn duration_value(value: &Dynamic, what: &str) -> ScriptResult<Duration> {
    if let Ok(s) = value.clone().into_immutable_string() {
        return parse_duration(&s).map_err(|e| format!("{what}: {e}").into());
    }
    if let Some(n) = number(value) {
        return Ok(Duration::from_secs_f64(n.max(0.0)));
    }
    script_error(format!(
        "{what}: expected a duration like \"10s\", got {}",
        value.type_name()
    ))
}

pub fn number(value: &Dynamic) -> Option<f64> {
    value
        .as_float()
        .ok()
        .or_else(|| value.as_int().ok().map(|i| i as f64))
}

/// An option map checked against the keys a function accepts.
pub struct Options<'a> {
    map: &'a Map,
    function: &'a str,
}

impl<'a> Options<'a> {
    /// `known`: the keys the map accepts, from [`option_keys`](super::bindings::option_keys).
    pub fn new(
        map: &'a Map,
        function: &'a str,
        known: &[&'static str],
    ) -> ScriptResult<Options<'a>> {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let hint = super::bindings::option_keys::suggest(key, known)
                    .map(|k| format!(" (did you mean '{k}'?)"))
                    .unwrap_or_default();
                return script_error(format!(
                    "{function}: unknown option '{key}'{hint}; known options: {}",
                    known.join(", ")
                ));
            }
        }
        Ok(Options { map, function })
    }

    pub fn string(&self, key: &str) -> ScriptResult<Option<String>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => v
                .clone()
                .into_immutable_string()
                .map(|s| Some(s.to_string()))
                .map_err(|t| {
                    format!(
                        "{}: option '{key}' must be a string, got {t}",
                        self.function
                    )
                    .into()
                }),
        }
    }

    pub fn number(&self, key: &str) -> ScriptResult<Option<f64>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => number(v).map(Some).ok_or_else(|| {
                format!(
                    "{}: option '{key}' must be a number, got {}",
                    self.function,
                    v.type_name()
                )
                .into()
            }),
        }
    }

    /// The v1 API encoding a framework speaks: "json" or "protobuf".
    pub fn encoding(&self, key: &str) -> ScriptResult<Option<crate::mesos::encoding::Encoding>> {
        use crate::mesos::encoding::Encoding;
        match self.string(key)?.as_deref() {
            None => Ok(None),
            Some("json") => Ok(Some(Encoding::Json)),
            Some("protobuf") => Ok(Some(Encoding::Protobuf)),
            Some(other) => script_error(format!(
                "{}: option '{key}' must be \"json\" or \"protobuf\", not \"{other}\"",
                self.function
            )),
        }
    }

    /// How a framework talks to its master: "http" (the v1 API) or "driver" (libprocess).
    pub fn framework_api(&self, key: &str) -> ScriptResult<Option<crate::framework::FrameworkApi>> {
        match self.string(key)?.as_deref() {
            None => Ok(None),
            Some(name) => match crate::framework::FrameworkApi::from_name(name) {
                Some(api) => Ok(Some(api)),
                None => script_error(format!(
                    "{}: option '{key}' must be \"http\" (the v1 scheduler API) or \"driver\" (libprocess, as the Mesos scheduler driver), not \"{name}\"",
                    self.function
                )),
            },
        }
    }

    pub fn bool(&self, key: &str) -> ScriptResult<Option<bool>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).map_err(|t| {
                format!(
                    "{}: option '{key}' must be true or false, got {t}",
                    self.function
                )
                .into()
            }),
        }
    }

    pub fn duration(&self, key: &str) -> ScriptResult<Option<Duration>> {
        self.map
            .get(key)
            .map(|v| duration_value(v, &format!("{}: option '{key}'", self.function)))
            .transpose()
    }

    pub fn get(&self, key: &str) -> Option<&Dynamic> {
        self.map.get(key)
    }
}

pub fn to_dynamic(value: &serde_json::Value) -> ScriptResult<Dynamic> {
    rhai::serde::to_dynamic(value)
}

pub fn to_json(value: &Dynamic) -> ScriptResult<serde_json::Value> {
    rhai::serde::from_dynamic(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_spelling() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("15secs").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .0
                .contains("not a duration")
        );
        assert!(parse_duration("5y").unwrap_err().0.contains("unknown unit"));
    }

    #[test]
    fn unknown_options_are_refused_with_a_suggestion() {
        let mut map = Map::new();
        map.insert("resorces".into(), Dynamic::from("cpus:1"));
        let err = Options::new(&map, "add_agent", &["resources", "attributes"])
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("did you mean 'resources'"), "{text}");
    }
}
