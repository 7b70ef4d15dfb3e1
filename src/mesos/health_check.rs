//! `TaskInfo.health_check` (Mesos's `HealthCheck`), read for running: the wire keeps it as JSON
//! (every field passes through to the state and to executors); this is the typed view the
//! master validates and mmrun's command executor runs, with Mesos's defaults and its
//! validation messages (`src/checks/checker` and `common/validation` in Apache Mesos).

use super::task::CommandInfo;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

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

#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheck {
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

/// The JSON as Mesos's JSON-to-protobuf reads it: numbers for numbers, names for enums.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: Option<String>,
    http: Option<HttpWire>,
    tcp: Option<TcpWire>,
    command: Option<CommandInfo>,
    delay_seconds: Option<f64>,
    interval_seconds: Option<f64>,
    timeout_seconds: Option<f64>,
    consecutive_failures: Option<u32>,
    grace_period_seconds: Option<f64>,
}

#[derive(Deserialize)]
struct HttpWire {
    scheme: Option<String>,
    port: u32,
    path: Option<String>,
}

#[derive(Deserialize)]
struct TcpWire {
    port: u32,
}

impl HealthCheck {
    /// Reads and validates a `HealthCheck`; the error is Mesos's message for it.
    pub fn from_json(value: &Value) -> Result<HealthCheck, String> {
        let wire: Wire = serde_json::from_value(value.clone())
            .map_err(|e| format!("Failed to read the health check: {e}"))?;
        let port = |p: u32, kind: &str| {
            u16::try_from(p).map_err(|_| format!("Port {p} of {kind} health check is not a port"))
        };
        let probe = match wire.kind.as_deref() {
            None => return Err("HealthCheck must specify 'type'".into()),
            Some("COMMAND") => {
                let command = wire
                    .command
                    .ok_or("Expecting 'command' to be set for COMMAND health check")?;
                if command.value.is_none() {
                    let what = if command.shell {
                        "'shell command'"
                    } else {
                        "'executable path'"
                    };
                    return Err(format!("Command health check must contain {what}"));
                }
                Probe::Command(command)
            }
            Some("HTTP") => {
                let http = wire
                    .http
                    .ok_or("Expecting 'http' to be set for HTTP health check")?;
                let scheme = http.scheme.unwrap_or_else(|| "http".into());
                if scheme != "http" && scheme != "https" {
                    return Err(format!("Unsupported HTTP health check scheme: '{scheme}'"));
                }
                let path = http.path.unwrap_or_default();
                if !path.is_empty() && !path.starts_with('/') {
                    return Err(format!(
                        "The path '{path}' of HTTP health check must start with '/'"
                    ));
                }
                Probe::Http {
                    scheme,
                    port: port(http.port, "HTTP")?,
                    path,
                }
            }
            Some("TCP") => {
                let tcp = wire
                    .tcp
                    .ok_or("Expecting 'tcp' to be set for TCP health check")?;
                Probe::Tcp {
                    port: port(tcp.port, "TCP")?,
                }
            }
            Some(other) => return Err(format!("'{other}' is not a valid health check type")),
        };
        let seconds = |value: Option<f64>, name: &str, default: f64| {
            let value = value.unwrap_or(default);
            if value < 0.0 || !value.is_finite() {
                return Err(format!("Expecting '{name}' to be non-negative"));
            }
            Ok(Duration::from_secs_f64(value))
        };
        let timeout = seconds(wire.timeout_seconds, "timeout_seconds", 20.0)?;
        Ok(HealthCheck {
            probe,
            delay: seconds(wire.delay_seconds, "delay_seconds", 15.0)?,
            interval: seconds(wire.interval_seconds, "interval_seconds", 10.0)?,
            timeout: (!timeout.is_zero()).then_some(timeout),
            consecutive_failures: wire.consecutive_failures.unwrap_or(3),
            grace_period: seconds(wire.grace_period_seconds, "grace_period_seconds", 10.0)?,
        })
    }

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
    use serde_json::json;

    #[test]
    fn defaults_are_mesos_s() {
        let check = HealthCheck::from_json(&json!({"type": "TCP", "tcp": {"port": 80}})).unwrap();
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
        let http = HealthCheck::from_json(
            &json!({"type": "HTTP", "http": {"port": 8080}, "timeout_seconds": 0}),
        )
        .unwrap();
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
                HealthCheck::from_json(&check).unwrap_err(),
                message,
                "{check}"
            );
        }
    }
}
