//! One node container: created and started from its spec, watched while it comes up, and
//! described by its last log lines when it dies.

use crate::cluster::BackendError;
use crate::docker::{ContainerSpec, Docker};
use crate::wait::{Look, WaitError, WaitFor};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How many log lines a failure shows.
pub const LOG_LINES: usize = 20;
/// How often readiness is polled: nodes come up in tens of milliseconds.
const POLL: Duration = Duration::from_millis(10);
/// Every this many polls, the container's state is checked too, so a node that died fails the
/// step at once rather than at its timeout.
const INSPECT_EVERY: u32 = 10;

/// A created node container.
#[derive(Clone, Debug)]
pub struct NodeContainer {
    /// `master`, `agent-2`, `framework-1`: what errors and artifacts call it.
    pub label: String,
    pub name: String,
    pub id: String,
    pub ip: Ipv4Addr,
    pub spec: ContainerSpec,
    /// The host port its port is published on, once started; `None` for a node reached at
    /// its own address (see `layout::Reach`).
    pub host_port: Option<u16>,
}

impl NodeContainer {
    pub async fn create(
        docker: &Docker,
        label: impl Into<String>,
        spec: ContainerSpec,
    ) -> Result<NodeContainer, BackendError> {
        let id = docker.create_container(&spec).await?;
        Ok(NodeContainer {
            label: label.into(),
            name: spec.name.clone(),
            id,
            ip: spec.ipv4_address.unwrap_or(Ipv4Addr::UNSPECIFIED),
            spec,
            host_port: None,
        })
    }

    /// Starts the container and, when its port is published, reads back the host port Docker
    /// published it on.
    pub async fn start(&mut self, docker: &Docker) -> Result<(), BackendError> {
        docker.start_container(&self.id).await?;
        self.refresh_port(docker).await
    }

    /// Reads the published host port again: the binding belongs to the container's endpoint
    /// on its network, so one taken off the network and put back is published anew (on a
    /// host port Docker may choose again). Nothing to read for a node reached directly.
    pub async fn refresh_port(&mut self, docker: &Docker) -> Result<(), BackendError> {
        let Some(port) = self.spec.ports.first().map(|p| p.container_port) else {
            return Ok(());
        };
        let details = docker.inspect(&self.id).await?;
        self.host_port = details.and_then(|d| d.host_port(port));
        Ok(())
    }

    /// Where this host reaches the node's port (the first it serves): `127.0.0.1:<host port>`
    /// when it is published (once started), else its own address on the cluster network.
    pub fn address(&self) -> Option<SocketAddr> {
        if self.spec.ports.is_empty() {
            let port = *self.spec.exposed.first()?;
            return Some(SocketAddr::from((self.ip, port)));
        }
        self.host_port
            .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// `http://<address>`, see [`NodeContainer::address`].
    pub fn url(&self) -> Option<String> {
        self.address().map(|a| format!("http://{a}"))
    }

    /// Why the node is not running, with its last log lines; `None` while it runs.
    pub async fn death(&self, docker: &Docker) -> Option<String> {
        let details = match docker.inspect(&self.id).await {
            Ok(Some(d)) if d.is_running() || d.state == "paused" => return None,
            Ok(Some(d)) => {
                let mut why = format!("exited with status {}", d.exit_code.unwrap_or(-1));
                if d.oom_killed {
                    why.push_str(" (killed for using too much memory)");
                }
                why
            }
            Ok(None) => "was removed".to_string(),
            Err(e) => format!("cannot be inspected: {e}"),
        };
        Some(format!(
            "{} (container {}) {details}{}",
            self.label,
            self.name,
            self.log_tail(docker).await
        ))
    }

    /// The last lines the node wrote, formatted to follow an error message.
    pub async fn log_tail(&self, docker: &Docker) -> String {
        match docker.container_log_tail(&self.id, LOG_LINES).await {
            Ok(text) if text.trim().is_empty() => "; it wrote no log lines".to_string(),
            Ok(text) => format!(
                "; its last log lines:\n{}",
                text.trim_end()
                    .lines()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            Err(e) => format!("; its logs cannot be read: {e}"),
        }
    }

    /// Polls `check` until it yields a value, failing at once if the container dies and with
    /// the node's last log lines if `timeout` passes first.
    pub async fn wait_until<T, F, Fut>(
        &self,
        docker: &Docker,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<T, BackendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let mut looks = 0u32;
        let waited = WaitFor::new(what, timeout)
            .every(POLL)
            .until(|| {
                looks += 1;
                let inspect = looks.is_multiple_of(INSPECT_EVERY);
                let ready = check();
                async move {
                    if let Some(value) = ready.await {
                        return Look::Ready(value);
                    }
                    match inspect {
                        true => self
                            .death(docker)
                            .await
                            .map_or(Look::NotYet(None), Look::Hopeless),
                        false => Look::NotYet(None),
                    }
                }
            })
            .await;
        match waited {
            Ok(value) => Ok(value),
            Err(WaitError::Hopeless { why: death, .. }) => Err(BackendError::failed(format!(
                "{death}\n  (while waiting for it to {what})"
            ))),
            Err(WaitError::TimedOut { .. }) => Err(BackendError::failed(format!(
                "{} (container {}) did not {what} within {timeout:?}{}",
                self.label,
                self.name,
                self.log_tail(docker).await
            ))),
        }
    }
}
