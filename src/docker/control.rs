//! Controlling running containers: inspecting what Docker assigned them (addresses, published
//! ports), stopping, killing, pausing, and cutting them off their network. The Docker backend's
//! fault primitives are these calls.

use super::client::Docker;
use super::error::{DockerError, is_not_found, reason};
use bollard::models::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    KillContainerOptionsBuilder, LogsOptionsBuilder, StatsOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// What `inspect` tells about a container that mmrun acts on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerDetails {
    pub id: String,
    /// `created`, `running`, `paused`, `exited`, …
    pub state: String,
    pub exit_code: Option<i64>,
    /// Set when the container was killed by the kernel's OOM killer.
    pub oom_killed: bool,
    /// The host pid of the container's main process while it runs.
    pub pid: Option<u32>,
    /// The container's address on each network it is attached to.
    pub addresses: BTreeMap<String, Ipv4Addr>,
    /// `"5050/tcp"` → the host port Docker published it on.
    pub published: BTreeMap<String, u16>,
    /// Its volumes and bind mounts.
    pub mounts: Vec<MountPoint>,
}

/// A volume or bind mount of a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountPoint {
    /// What another container binds to mount the same thing: the volume's name for a volume,
    /// the host path for a bind.
    pub source: String,
    /// Where it is mounted inside the container.
    pub destination: String,
}

impl ContainerDetails {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    /// The host port a TCP container port was published on.
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.published
            .get(&format!("{container_port}/tcp"))
            .copied()
    }
}

impl Docker {
    /// Inspects a container; `None` when it does not exist.
    pub async fn inspect(&self, container: &str) -> Result<Option<ContainerDetails>, DockerError> {
        let c = match self.api.inspect_container(container, None).await {
            Ok(c) => c,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(DockerError::InspectContainer {
                    container: container.to_string(),
                    reason: reason(&e),
                });
            }
        };
        let state = c.state.unwrap_or_default();
        let settings = c.network_settings.unwrap_or_default();
        let addresses = settings
            .networks
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, endpoint)| {
                let ip = endpoint.ip_address?.parse().ok()?;
                Some((name, ip))
            })
            .collect();
        let published = settings
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(port, bindings)| {
                let host_port = bindings?
                    .into_iter()
                    .find_map(|b| b.host_port?.parse::<u16>().ok())?;
                Some((port, host_port))
            })
            .collect();
        let mounts = c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let source = match m.typ.as_deref() {
                    Some("volume") => m.name?,
                    _ => m.source?,
                };
                Some(MountPoint {
                    source,
                    destination: m.destination?,
                })
            })
            .collect();
        Ok(Some(ContainerDetails {
            id: c.id.unwrap_or_default(),
            mounts,
            state: state.status.map(|s| s.to_string()).unwrap_or_default(),
            exit_code: state.exit_code,
            oom_killed: state.oom_killed.unwrap_or(false),
            pid: state
                .pid
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| *p > 0),
            addresses,
            published,
        }))
    }

    /// Stops a container: SIGTERM, then SIGKILL after `grace`. Already stopped is fine.
    pub async fn stop_container(
        &self,
        container: &str,
        grace: Duration,
    ) -> Result<(), DockerError> {
        let options = StopContainerOptionsBuilder::default()
            .t(grace.as_secs().max(1) as i32)
            .build();
        match self.api.stop_container(container, Some(options)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(DockerError::StopContainer {
                container: container.to_string(),
                reason: reason(&e),
            }),
        }
    }

    /// Sends a signal (`SIGKILL`, `SIGUSR1`, …) to the container's main process.
    pub async fn kill_container(&self, container: &str, signal: &str) -> Result<(), DockerError> {
        let options = KillContainerOptionsBuilder::default()
            .signal(signal)
            .build();
        self.api
            .kill_container(container, Some(options))
            .await
            .map_err(|e| DockerError::KillContainer {
                container: container.to_string(),
                signal: signal.to_string(),
                reason: reason(&e),
            })
    }

    /// Freezes every process of the container (cgroup freezer): it neither answers nor sends.
    pub async fn pause_container(&self, container: &str) -> Result<(), DockerError> {
        self.api
            .pause_container(container)
            .await
            .map_err(|e| DockerError::PauseContainer {
                container: container.to_string(),
                reason: reason(&e),
            })
    }

    pub async fn unpause_container(&self, container: &str) -> Result<(), DockerError> {
        self.api
            .unpause_container(container)
            .await
            .map_err(|e| DockerError::UnpauseContainer {
                container: container.to_string(),
                reason: reason(&e),
            })
    }

    /// The last `lines` lines the container wrote, stdout and stderr interleaved.
    pub async fn container_log_tail(
        &self,
        container: &str,
        lines: usize,
    ) -> Result<String, DockerError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.api.logs(container, Some(options));
        let mut text = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| DockerError::ContainerLogs {
                container: container.to_string(),
                reason: reason(&e),
            })?;
            text.extend_from_slice(&chunk.into_bytes());
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// The memory a running container uses, in bytes, as `docker stats` shows it: the cgroup's
    /// usage without the page cache it could give back.
    pub async fn container_memory(&self, container: &str) -> Result<u64, DockerError> {
        let options = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        let failed = |reason: String| DockerError::ContainerStats {
            container: container.to_string(),
            reason,
        };
        let stats = self
            .api
            .stats(container, Some(options))
            .next()
            .await
            .ok_or_else(|| failed("the daemon sent no statistics".into()))?
            .map_err(|e| failed(reason(&e)))?;
        let memory = stats
            .memory_stats
            .ok_or_else(|| failed("no memory statistics (is it running?)".into()))?;
        let usage = memory.usage.unwrap_or(0);
        let cache = memory.stats.as_ref().and_then(|s| {
            s.get("total_inactive_file")
                .or_else(|| s.get("inactive_file"))
                .or_else(|| s.get("cache"))
                .copied()
        });
        Ok(usage.saturating_sub(cache.unwrap_or(0)))
    }

    /// Detaches a container from a network: a partition, as far as its peers can tell.
    pub async fn disconnect_network(
        &self,
        network: &str,
        container: &str,
    ) -> Result<(), DockerError> {
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(true),
        };
        self.api
            .disconnect_network(network, request)
            .await
            .map_err(|e| DockerError::DisconnectNetwork {
                network: network.to_string(),
                container: container.to_string(),
                reason: reason(&e),
            })
    }

    /// Attaches a container to a network, at a fixed address when given.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        ipv4_address: Option<Ipv4Addr>,
    ) -> Result<(), DockerError> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: ipv4_address.map(|ip| EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some(ip.to_string()),
                    ..EndpointIpamConfig::default()
                }),
                ..EndpointSettings::default()
            }),
        };
        self.api
            .connect_network(network, request)
            .await
            .map_err(|e| DockerError::ConnectNetwork {
                network: network.to_string(),
                container: container.to_string(),
                reason: reason(&e),
            })
    }
}
