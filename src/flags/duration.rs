//! Mesos duration syntax: a number and a unit, e.g. `15secs`, `500ms`, `1mins`, `0.5secs`.

use std::time::Duration;

/// A duration that does not parse; the message shows the syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DurationError(pub String);

impl From<&str> for DurationError {
    fn from(message: &str) -> DurationError {
        DurationError(message.to_string())
    }
}

impl From<String> for DurationError {
    fn from(message: String) -> DurationError {
        DurationError(message)
    }
}

const UNITS: [(&str, f64); 8] = [
    ("ns", 1e-9),
    ("us", 1e-6),
    ("ms", 1e-3),
    ("secs", 1.0),
    ("mins", 60.0),
    ("hrs", 3600.0),
    ("days", 86400.0),
    ("weeks", 604800.0),
];

pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("'{text}' has no unit; write e.g. 15secs, 500ms or 1mins"))?;
    let (number, unit) = text.split_at(split);
    let factor = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            format!(
                "'{text}' has unknown unit '{unit}'; use one of ns, us, ms, secs, mins, hrs, days, weeks"
            )
        })?;
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a number"))?;
    Ok(Duration::from_secs_f64(value * factor))
}

/// Renders a duration the way Mesos prints flags: the largest unit that keeps it whole.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    for (unit, factor) in UNITS.iter().rev() {
        let unit_nanos = (factor * 1e9) as u128;
        if unit_nanos > 0 && nanos.is_multiple_of(unit_nanos) && nanos >= unit_nanos {
            return format!("{}{unit}", nanos / unit_nanos);
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mesos_units() {
        assert_eq!(parse_duration("15secs").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1mins").unwrap(), Duration::from_secs(60));
        assert_eq!(
            parse_duration("0.5secs").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_duration("2hrs").unwrap(), Duration::from_secs(7200));
    }

    #[test]
    fn rejects_what_mesos_rejects() {
        assert!(parse_duration("15").unwrap_err().0.contains("no unit"));
        assert!(
            parse_duration("15s")
                .unwrap_err()
                .0
                .contains("unknown unit 's'")
        );
        assert!(parse_duration("secs").unwrap_err().0.contains("number"));
    }

    #[test]
    fn formats_like_mesos() {
        assert_eq!(format_duration(Duration::from_secs(15)), "15secs");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(120)), "2mins");
    }
}
