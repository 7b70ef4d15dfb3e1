//! Mesos-style flags for `mmrun node master|agent`: every flag can come from `MESOS_<NAME>` in the
//! environment or from `--name=value` on the command line (the command line wins, as in Mesos's
//! `FlagsBase::load`), booleans as `--name` / `--no-name`, values as `file://path`. Unknown
//! flags are accepted with a warning so real Mesos configurations can be pasted unchanged.

mod duration;

pub use duration::{DurationError, format_duration, parse_duration};

use std::collections::BTreeMap;
use std::time::Duration;

/// One flag a node understands.
pub struct FlagSpec {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// A flag that cannot be read or does not parse, said as Mesos's flags say it.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("unexpected argument '{0}': flags are written --name=value, as for Mesos")]
    NotAFlag(String),
    #[error("cannot read flag value from {path}")]
    ReadValue {
        path: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("--{name}: {cause}")]
    Duration {
        name: String,
        #[source]
        cause: DurationError,
    },
    #[error("--{name}={value} is not a valid value")]
    Invalid { name: String, value: String },
    #[error("--{name}={value}: expected true or false")]
    NotABool { name: String, value: String },
}

/// The effective flag values after reading the environment and the command line.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    values: BTreeMap<String, String>,
    /// Flags that were not in the spec: accepted, reported, ignored.
    pub unknown: Vec<String>,
}

impl Flags {
    /// Loads flags from `env` (only `MESOS_*` keys are read) and then `args`.
    pub fn load(
        specs: &[FlagSpec],
        env: impl IntoIterator<Item = (String, String)>,
        args: &[String],
    ) -> Result<Flags, FlagError> {
        let mut flags = Flags::default();
        for spec in specs {
            if let Some(default) = spec.default {
                flags.values.insert(spec.name.into(), default.into());
            }
        }
        let known = |name: &str| specs.iter().any(|s| s.name == name);
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        env.sort();
        for (key, value) in env {
            let Some(name) = key.strip_prefix("MESOS_") else {
                continue;
            };
            let name = name.to_lowercase();
            if known(&name) {
                flags.values.insert(name, read_value(&value)?);
            }
            // Unknown MESOS_* variables are common in real environments (MESOS_NATIVE_JAVA_LIBRARY,
            // variables meant for the other node type): Mesos ignores them silently, so do we.
        }
        for arg in args {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(FlagError::NotAFlag(arg.clone()));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => match body.strip_prefix("no-") {
                    Some(n) => (n.to_string(), "false".to_string()),
                    None => (body.to_string(), "true".to_string()),
                },
            };
            let name = name.replace('-', "_");
            if known(&name) {
                flags.values.insert(name, read_value(&value)?);
            } else {
                flags.unknown.push(name);
            }
        }
        Ok(flags)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// All effective values, as `/master/flags` and the `flags` of `/master/state` show them.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    pub fn duration(&self, name: &str) -> Result<Option<Duration>, FlagError> {
        self.get(name)
            .map(|v| {
                parse_duration(v).map_err(|cause| FlagError::Duration {
                    name: name.into(),
                    cause,
                })
            })
            .transpose()
    }

    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, FlagError> {
        self.get(name)
            .map(|v| {
                v.parse::<T>().map_err(|_| FlagError::Invalid {
                    name: name.into(),
                    value: v.into(),
                })
            })
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, FlagError> {
        self.get(name)
            .map(|v| match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                other => Err(FlagError::NotABool {
                    name: name.into(),
                    value: other.into(),
                }),
            })
            .transpose()
    }
}

/// `file://path` values are read from the file, as Mesos does.
fn read_value(value: &str) -> Result<String, FlagError> {
    match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| s.trim_end().to_string())
            .map_err(|cause| FlagError::ReadValue {
                path: path.into(),
                cause,
            }),
        None => Ok(value.to_string()),
    }
}

/// `--help` text for a node.
pub fn help(specs: &[FlagSpec]) -> String {
    let mut out = String::new();
    for s in specs {
        let default = s
            .default
            .map(|d| format!(" (default: {d})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  --{}=VALUE{}\n      {}\n",
            s.name, default, s.help
        ));
    }
    out.push_str(
        "\nEvery flag can also be set as MESOS_<FLAG> in the environment; the command line wins.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[FlagSpec] = &[
        FlagSpec {
            name: "port",
            default: Some("5050"),
            help: "",
        },
        FlagSpec {
            name: "work_dir",
            default: None,
            help: "",
        },
        FlagSpec {
            name: "hostname_lookup",
            default: Some("true"),
            help: "",
        },
        FlagSpec {
            name: "agent_ping_timeout",
            default: Some("15secs"),
            help: "",
        },
    ];

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn environment_first_then_command_line() {
        let env = vec![
            ("MESOS_PORT".to_string(), "6000".to_string()),
            ("MESOS_WORK_DIR".to_string(), "/tmp/w".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let f = Flags::load(SPECS, env, &args(&["--port=7000", "--no-hostname_lookup"])).unwrap();
        assert_eq!(f.parse::<u16>("port").unwrap(), Some(7000));
        assert_eq!(f.get("work_dir"), Some("/tmp/w"));
        assert_eq!(f.bool("hostname_lookup").unwrap(), Some(false));
        assert_eq!(
            f.duration("agent_ping_timeout").unwrap(),
            Some(Duration::from_secs(15))
        );
    }

    #[test]
    fn unknown_flags_are_kept_for_a_warning() {
        let f = Flags::load(
            SPECS,
            vec![],
            &args(&["--quorum=1", "--logging_level=INFO"]),
        )
        .unwrap();
        assert_eq!(f.unknown, vec!["quorum", "logging_level"]);
    }

    #[test]
    fn invalid_values_are_clear_errors() {
        let f = Flags::load(
            SPECS,
            vec![],
            &args(&["--port=abc", "--agent_ping_timeout=15"]),
        )
        .unwrap();
        let port = f.parse::<u16>("port").unwrap_err().to_string();
        assert!(port.contains("--port=abc"), "{port}");
        let duration = f.duration("agent_ping_timeout").unwrap_err().to_string();
        assert!(duration.contains("no unit"), "{duration}");
        let not_a_flag = Flags::load(SPECS, vec![], &args(&["port=1"]))
            .unwrap_err()
            .to_string();
        assert!(not_a_flag.contains("--name=value"), "{not_a_flag}");
    }

    #[test]
    fn file_values_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("port");
        std::fs::write(&path, "5151\n").unwrap();
        let f = Flags::load(
            SPECS,
            vec![],
            &[format!("--port=file://{}", path.display())],
        )
        .unwrap();
        assert_eq!(f.get("port"), Some("5151"));
    }
}
