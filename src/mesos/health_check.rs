//! `HealthCheck`: Mesos's message as frameworks put it in `TaskInfo.health_check` (every
//! field, so the state and executors see what the framework sent), and `CheckPlan`, the
//! validated view the master checks and mmrun's command executor runs, with Mesos's defaults
//! and its validation messages (`src/checks/checker` and `common/validation` in Apache Mesos).

use super::container::Protocol;
use super::lenient::repeated;
use super::task::CommandInfo;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `HealthCheck.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthCheckType {
    Unknown,
    Command,
    Http,
    Tcp,
}

/// A health check as the wire carries it; `type` says which of `command`, `http` and `tcp`
/// is the probe. Unset durations and counts take Mesos's defaults in [`CheckPlan`].
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct HealthCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<f64>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<HealthCheckType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheckInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheckInfo>,
}

/// `HealthCheck.HTTPCheckInfo`: a GET of `scheme://<task's address>:port/path`.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpCheckInfo {
    /// Unset means IPv4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// `http` (unset) or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    pub port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Deprecated and unused by Mesos (any 2xx or 3xx is healthy), still carried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<u32>,
}

impl HttpCheckInfo {
    pub fn new(port: u32) -> HttpCheckInfo {
        HttpCheckInfo {
            protocol: None,
            scheme: None,
            port,
            path: None,
            statuses: vec![],
        }
    }
}

/// `HealthCheck.TCPCheckInfo`: a connection to the task's address on `port`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpCheckInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    pub port: u32,
}

impl HealthCheck {
    /// An HTTP check with Mesos's defaults.
    pub fn http(http: HttpCheckInfo) -> HealthCheck {
        HealthCheck {
            kind: Some(HealthCheckType::Http),
            http: Some(http),
            ..HealthCheck::default()
        }
    }

    /// A TCP check of `port` with Mesos's defaults.
    pub fn tcp(port: u32) -> HealthCheck {
        HealthCheck {
            kind: Some(HealthCheckType::Tcp),
            tcp: Some(TcpCheckInfo {
                protocol: None,
                port,
            }),
            ..HealthCheck::default()
        }
    }

    /// A COMMAND check running `command` with Mesos's defaults.
    pub fn command(command: CommandInfo) -> HealthCheck {
        HealthCheck {
            kind: Some(HealthCheckType::Command),
            command: Some(command),
            ..HealthCheck::default()
        }
    }
}

/// What a check probes. Mesos resolves the host to 127.0.0.1: the task's own network.
#[derive(Clone, Debug, PartialEq)]
pub enum Probe {
    /// GET `scheme://127.0.0.1:port/path`, following redirects; 200–399 is healthy.
    Http {
        scheme: String,
        port: u16,
        path: String,
    },
    /// A TCP connection to 127.0.0.1:port can be made.
    Tcp { port: u16 },
    /// The command exits 0.
    Command(CommandInfo),
}

/// A valid health check with Mesos's defaults filled in: what the agent runs.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckPlan {
    pub probe: Probe,
    /// Before the first check, from the task's TASK_RUNNING.
    pub delay: Duration,
    /// Between the end of one check and the start of the next.
    pub interval: Duration,
    /// A check running longer fails; `None` (Mesos's 0) waits for ever.
    pub timeout: Option<Duration>,
    /// Failures in a row after which the task is killed.
    pub consecutive_failures: u32,
    /// Failures before the first success and within this time of the start are ignored.
    pub grace_period: Duration,
}

/// Why Mesos's master refuses a health check; the text is Mesos's message for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthCheckError {
    #[error("HealthCheck must specify 'type'")]
    NoType,
    /// The field the check's type needs (`command`, `http`, `tcp`) is not set.
    #[error("Expecting '{field}' to be set for {kind} health check")]
    Missing {
        field: &'static str,
        kind: &'static str,
    },
    /// `what`: `'shell command'` or `'executable path'`.
    #[error("Command health check must contain {what}")]
    NoCommand { what: &'static str },
    #[error("Unsupported HTTP health check scheme: '{0}'")]
    Scheme(String),
    #[error("The path '{0}' of HTTP health check must start with '/'")]
    Path(String),
    #[error("'UNKNOWN' is not a valid health check type")]
    UnknownType,
    #[error("Expecting '{0}' to be non-negative")]
    Negative(&'static str),
    #[error("Port {port} of {kind} health check is not a port")]
    Port { port: u32, kind: &'static str },
}

impl HealthCheck {
    /// Validates the check as Mesos's master does.
    pub fn validate(&self) -> Result<CheckPlan, HealthCheckError> {
        let port = |port: u32, kind: &'static str| {
            u16::try_from(port).map_err(|_| HealthCheckError::Port { port, kind })
        };
        let missing = |field, kind| HealthCheckError::Missing { field, kind };
        let probe = match self.kind {
            None => return Err(HealthCheckError::NoType),
            Some(HealthCheckType::Command) => {
                let command = self.command.clone().ok_or(missing("command", "COMMAND"))?;
                if command.value.is_none() {
                    let what = if command.shell {
                        "'shell command'"
                    } else {
                        "'executable path'"
                    };
                    return Err(HealthCheckError::NoCommand { what });
                }
                Probe::Command(command)
            }
            Some(HealthCheckType::Http) => {
                let http = self.http.as_ref().ok_or(missing("http", "HTTP"))?;
                let scheme = http.scheme.clone().unwrap_or_else(|| "http".into());
                if scheme != "http" && scheme != "https" {
                    return Err(HealthCheckError::Scheme(scheme));
                }
                let path = http.path.clone().unwrap_or_default();
                if !path.is_empty() && !path.starts_with('/') {
                    return Err(HealthCheckError::Path(path));
                }
                Probe::Http {
                    scheme,
                    port: port(http.port, "HTTP")?,
                    path,
                }
            }
            Some(HealthCheckType::Tcp) => {
                let tcp = self.tcp.as_ref().ok_or(missing("tcp", "TCP"))?;
                Probe::Tcp {
                    port: port(tcp.port, "TCP")?,
                }
            }
            Some(HealthCheckType::Unknown) => {
                return Err(HealthCheckError::UnknownType);
            }
        };
        let seconds = |value: Option<f64>, name: &'static str, default: f64| {
            let value = value.unwrap_or(default);
            if value < 0.0 || !value.is_finite() {
                return Err(HealthCheckError::Negative(name));
            }
            Ok(Duration::from_secs_f64(value))
        };
        let timeout = seconds(self.timeout_seconds, "timeout_seconds", 20.0)?;
        Ok(CheckPlan {
            probe,
            delay: seconds(self.delay_seconds, "delay_seconds", 15.0)?,
            interval: seconds(self.interval_seconds, "interval_seconds", 10.0)?,
            timeout: (!timeout.is_zero()).then_some(timeout),
            consecutive_failures: self.consecutive_failures.unwrap_or(3),
            grace_period: seconds(self.grace_period_seconds, "grace_period_seconds", 10.0)?,
        })
    }
}

impl CheckPlan {
    /// The check's type, as Mesos names it in its messages.
    pub fn kind(&self) -> &'static str {
        match self.probe {
            Probe::Http { .. } => "HTTP",
            Probe::Tcp { .. } => "TCP",
            Probe::Command(_) => "COMMAND",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn plan(check: Value) -> Result<CheckPlan, HealthCheckError> {
        serde_json::from_value::<HealthCheck>(check)
            .unwrap()
            .validate()
    }

    #[test]
    fn defaults_are_mesos_s() {
        let check = plan(json!({"type": "TCP", "tcp": {"port": 80}})).unwrap();
        assert_eq!(check.probe, Probe::Tcp { port: 80 });
        assert_eq!(
            (
                check.delay,
                check.interval,
                check.timeout,
                check.grace_period
            ),
            (
                Duration::from_secs(15),
                Duration::from_secs(10),
                Some(Duration::from_secs(20)),
                Duration::from_secs(10)
            )
        );
        assert_eq!(check.consecutive_failures, 3);
        let http =
            plan(json!({"type": "HTTP", "http": {"port": 8080}, "timeout_seconds": 0})).unwrap();
        assert_eq!(
            http.probe,
            Probe::Http {
                scheme: "http".into(),
                port: 8080,
                path: String::new()
            }
        );
        assert_eq!(http.timeout, None, "0 means no timeout");
    }

    #[test]
    fn invalid_checks_get_mesos_s_messages() {
        let cases = [
            (
                json!({"http": {"port": 1}}),
                "HealthCheck must specify 'type'",
            ),
            (
                json!({"type": "HTTP"}),
                "Expecting 'http' to be set for HTTP health check",
            ),
            (
                json!({"type": "TCP"}),
                "Expecting 'tcp' to be set for TCP health check",
            ),
            (
                json!({"type": "COMMAND"}),
                "Expecting 'command' to be set for COMMAND health check",
            ),
            (
                json!({"type": "COMMAND", "command": {"shell": true}}),
                "Command health check must contain 'shell command'",
            ),
            (
                json!({"type": "HTTP", "http": {"port": 1, "scheme": "ftp"}}),
                "Unsupported HTTP health check scheme: 'ftp'",
            ),
            (
                json!({"type": "HTTP", "http": {"port": 1, "path": "health"}}),
                "The path 'health' of HTTP health check must start with '/'",
            ),
            (
                json!({"type": "UNKNOWN"}),
                "'UNKNOWN' is not a valid health check type",
            ),
            (
                json!({"type": "TCP", "tcp": {"port": 1}, "delay_seconds": -1}),
                "Expecting 'delay_seconds' to be non-negative",
            ),
            (
                json!({"type": "TCP", "tcp": {"port": 70000}}),
                "Port 70000 of TCP health check is not a port",
            ),
        ];
        for (check, message) in cases {
            assert_eq!(
                plan(check.clone()).unwrap_err().to_string(),
                message,
                "{check}"
            );
        }
    }
}
