//! Container operations, in mmrun's own types so that bollard stays inside this module.

use super::client::Docker;
use super::error::{DockerError, is_not_found, reason};
use super::labels::Selector;
use super::volumes::is_anonymous_volume;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
    PortBinding,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// What to create: everything mmrun ever sets on a container, in its own terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// Replaces the image's entrypoint when set.
    pub entrypoint: Option<Vec<String>>,
    /// Arguments to the entrypoint.
    pub cmd: Vec<String>,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// The network to join (by name or id), or `host` / `bridge` / `none`; Docker's default
    /// bridge when unset.
    pub network: Option<String>,
    /// A fixed address on `network` (which must have a subnet mmrun chose).
    pub ipv4_address: Option<std::net::Ipv4Addr>,
    pub hostname: Option<String>,
    /// Ports the container serves (Docker's `EXPOSE`), published or not: on a cluster
    /// network each is reachable at the container's own address.
    pub exposed: Vec<u16>,
    /// Container ports to publish, and where.
    pub ports: Vec<PortPublish>,
    /// Bind mounts, `host-path:container-path[:ro]`.
    pub binds: Vec<String>,
    pub privileged: bool,
    /// `host` shares the host's PID namespace.
    pub pid_mode: Option<String>,
    /// Capabilities to add (`SYS_ADMIN`, …), for when `privileged` is not available.
    pub cap_add: Vec<String>,
    /// `seccomp=unconfined`, `apparmor=unconfined`, …
    pub security_opt: Vec<String>,
    /// Namespaced kernel settings, e.g. `net.ipv4.neigh.eth0.retrans_time_ms` → `50`.
    pub sysctls: BTreeMap<String, String>,
    /// Docker removes the container when it exits (`--rm`).
    pub auto_remove: bool,
    /// The working directory of its command; the image's own when unset.
    pub working_dir: Option<String>,
}

/// One published container port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortPublish {
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// The host address to listen on; `127.0.0.1` keeps it off other machines.
    pub host_ip: String,
    /// `None` lets Docker pick a free ephemeral port (read it back with `inspect_container`).
    pub host_port: Option<u16>,
}

impl PortPublish {
    /// A TCP port published on 127.0.0.1 at an ephemeral host port.
    pub fn loopback(container_port: u16) -> PortPublish {
        PortPublish {
            container_port,
            protocol: "tcp".into(),
            host_ip: "127.0.0.1".into(),
            host_port: None,
        }
    }

    fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }
}

impl ContainerSpec {
    fn create_body(&self) -> ContainerCreateBody {
        let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in &self.ports {
            port_bindings
                .entry(p.key())
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
                });
        }
        let networking_config = match (&self.network, self.ipv4_address) {
            (Some(network), Some(ip)) => Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some(ip.to_string()),
                            ..EndpointIpamConfig::default()
                        }),
                        ..EndpointSettings::default()
                    },
                )])),
            }),
            _ => None,
        };
        let mut exposed: Vec<String> = self
            .exposed
            .iter()
            .map(|port| format!("{port}/tcp"))
            .chain(self.ports.iter().map(PortPublish::key))
            .collect();
        exposed.sort();
        exposed.dedup();
        ContainerCreateBody {
            image: Some(self.image.clone()),
            hostname: self.hostname.clone(),
            entrypoint: self.entrypoint.clone(),
            // Empty keeps the image's own command.
            cmd: (!self.cmd.is_empty()).then(|| self.cmd.clone()),
            env: Some(self.env.clone()),
            working_dir: self.working_dir.clone(),
            labels: Some(self.labels.clone().into_iter().collect()),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            host_config: Some(HostConfig {
                network_mode: self.network.clone(),
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                binds: (!self.binds.is_empty()).then(|| self.binds.clone()),
                privileged: self.privileged.then_some(true),
                pid_mode: self.pid_mode.clone(),
                cap_add: (!self.cap_add.is_empty()).then(|| self.cap_add.clone()),
                security_opt: (!self.security_opt.is_empty()).then(|| self.security_opt.clone()),
                sysctls: (!self.sysctls.is_empty())
                    .then(|| self.sysctls.clone().into_iter().collect()),
                auto_remove: self.auto_remove.then_some(true),
                ..HostConfig::default()
            }),
            networking_config,
            ..ContainerCreateBody::default()
        }
    }
}

/// A container's stdin and stdout, attached ([`Docker::attach_stdio`]).
pub struct Attached {
    input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    output: std::pin::Pin<
        Box<
            dyn futures::Stream<
                    Item = Result<bollard::container::LogOutput, bollard::errors::Error>,
                > + Send,
        >,
    >,
    /// What stdout said so far (until the awaited line).
    seen: String,
}

/// Why an attached container's stdout did not say the awaited line; `seen` is what it said.
#[derive(Debug, thiserror::Error)]
pub enum AwaitLineError {
    #[error("{cause}: {seen}")]
    Stream {
        #[source]
        cause: bollard::errors::Error,
        seen: String,
    },
    #[error("its output ended: {0:?}")]
    Ended(String),
}

impl Attached {
    /// Reads stdout until a line equal to `line`; `Err` with what it said instead if the stream
    /// ends first.
    pub async fn await_line(&mut self, line: &str) -> Result<(), AwaitLineError> {
        loop {
            if self.seen.lines().any(|l| l.trim() == line) {
                return Ok(());
            }
            match self.output.next().await {
                Some(Ok(out)) => self
                    .seen
                    .push_str(&String::from_utf8_lossy(&out.into_bytes())),
                Some(Err(cause)) => {
                    return Err(AwaitLineError::Stream {
                        cause,
                        seen: self.seen.trim().to_string(),
                    });
                }
                None => return Err(AwaitLineError::Ended(self.seen.trim().to_string())),
            }
        }
    }

    /// Writes to the container's stdin.
    pub async fn write(&mut self, text: &str) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.input.write_all(text.as_bytes()).await?;
        self.input.flush().await
    }

    /// Closes the container's stdin (the connection's writing half).
    pub async fn close(&mut self) {
        use tokio::io::AsyncWriteExt;
        let _ = self.input.shutdown().await;
    }
}

/// A container as listing reports it.
#[derive(Clone, Debug)]
pub struct ContainerSummary {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub labels: HashMap<String, String>,
    /// `created`, `running`, `exited`, …
    pub state: String,
}

impl Docker {
    /// Creates (does not start) a container; returns its id.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        self.api
            .create_container(Some(options), spec.create_body())
            .await
            .map(|created| created.id)
            .map_err(|e| DockerError::CreateContainer {
                name: spec.name.clone(),
                reason: reason(&e),
            })
    }

    /// Creates a container whose stdin stays open for one attached client, and closes when
    /// that client's connection ends (`docker run -i`'s `StdinOnce`): attach with
    /// [`Docker::attach_stdio`] before starting it.
    pub async fn create_container_with_stdin(
        &self,
        spec: &ContainerSpec,
    ) -> Result<String, DockerError> {
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let body = ContainerCreateBody {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            open_stdin: Some(true),
            stdin_once: Some(true),
            ..spec.create_body()
        };
        self.api
            .create_container(Some(options), body)
            .await
            .map(|created| created.id)
            .map_err(|e| DockerError::CreateContainer {
                name: spec.name.clone(),
                reason: reason(&e),
            })
    }

    /// Attaches to a container's stdin and stdout, through a connection of its own to the
    /// daemon. The daemon closes the container's stdin when that connection ends — whether
    /// the [`Attached`] is dropped or this process dies, SIGKILL included — if the container
    /// was made by [`Docker::create_container_with_stdin`].
    pub async fn attach_stdio(&self, container: &str) -> Result<Attached, DockerError> {
        let options = AttachContainerOptionsBuilder::default()
            .stream(true)
            .stdin(true)
            .stdout(true)
            .build();
        let attached = self
            .api
            .attach_container(container, Some(options))
            .await
            .map_err(|e| DockerError::Attach {
                container: container.to_string(),
                reason: reason(&e),
            })?;
        Ok(Attached {
            input: attached.input,
            output: attached.output,
            seen: String::new(),
        })
    }

    pub async fn start_container(&self, container: &str) -> Result<(), DockerError> {
        self.api
            .start_container(container, None)
            .await
            .map_err(|e| DockerError::StartContainer {
                container: container.to_string(),
                reason: reason(&e),
            })
    }

    /// Waits until the container exits; returns its exit code.
    pub async fn wait_container(&self, container: &str) -> Result<i64, DockerError> {
        let failed = |reason| DockerError::WaitContainer {
            container: container.to_string(),
            reason,
        };
        match self.api.wait_container(container, None).next().await {
            Some(Ok(exit)) => Ok(exit.status_code),
            // bollard reports a non-zero exit as an error; for us it is an answer.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(failed(reason(&e))),
            None => Err(failed(
                "the daemon closed the stream without an exit code".into(),
            )),
        }
    }

    /// Waits until the container is removed (an auto-remove container after it exits); at once
    /// if it is gone already.
    pub async fn wait_removed(&self, container: &str) -> Result<(), DockerError> {
        let options = WaitContainerOptionsBuilder::default()
            .condition("removed")
            .build();
        match self
            .api
            .wait_container(container, Some(options))
            .next()
            .await
        {
            // A non-zero exit is reported as an error, but the container is gone all the same.
            Some(Ok(_)) | Some(Err(bollard::errors::Error::DockerContainerWaitError { .. })) => {
                Ok(())
            }
            Some(Err(e)) if is_not_found(&e) => Ok(()),
            Some(Err(e)) => Err(DockerError::WaitContainer {
                container: container.to_string(),
                reason: reason(&e),
            }),
            None => Err(DockerError::WaitContainer {
                container: container.to_string(),
                reason: "the daemon closed the stream before the container was removed".into(),
            }),
        }
    }

    /// Everything the container wrote so far, stdout and stderr interleaved as written.
    pub async fn container_logs(&self, container: &str) -> Result<String, DockerError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
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

    /// The container's state (`created`, `running`, `exited`, …); `None` when it does not exist.
    pub async fn container_state(&self, container: &str) -> Result<Option<String>, DockerError> {
        match self.api.inspect_container(container, None).await {
            Ok(c) => Ok(Some(
                c.state
                    .and_then(|s| s.status)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            )),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(DockerError::InspectContainer {
                container: container.to_string(),
                reason: reason(&e),
            }),
        }
    }

    /// Removes a container, running or not, with its anonymous volumes. Already gone is fine.
    pub async fn remove_container(&self, container: &str) -> Result<(), DockerError> {
        let volumes = self.remove_container_but_shared_volumes(container).await?;
        self.remove_volumes_if_unused(&volumes).await;
        Ok(())
    }

    /// Removes a container; returns the anonymous volumes it mounted, for the caller to remove
    /// once every container that may share them is gone ([`Docker::remove_volumes_if_unused`]).
    ///
    /// Docker's own removal (`-v`) keeps an anonymous volume that another container still uses
    /// (an agent's work dir, which its executor containers mount by name), and does not count
    /// it as the other container's own, so it would outlive them all.
    pub async fn remove_container_but_shared_volumes(
        &self,
        container: &str,
    ) -> Result<Vec<String>, DockerError> {
        let volumes: Vec<String> = match self.inspect(container).await {
            Ok(Some(details)) => details
                .mounts
                .into_iter()
                .map(|m| m.source)
                .filter(|source| is_anonymous_volume(source))
                .collect(),
            _ => vec![],
        };
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.api.remove_container(container, Some(options)).await {
            Ok(()) => Ok(volumes),
            Err(e) if is_not_found(&e) || is_removal_in_progress(&e) => Ok(volumes),
            Err(e) => Err(DockerError::RemoveContainer {
                container: container.to_string(),
                reason: reason(&e),
            }),
        }
    }

    /// Containers (running or not) carrying the selector's labels.
    pub async fn list_containers(
        &self,
        selector: &Selector,
    ) -> Result<Vec<ContainerSummary>, DockerError> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&selector.filters())
            .build();
        let found = self
            .api
            .list_containers(Some(options))
            .await
            .map_err(|e| DockerError::ListContainers { reason: reason(&e) })?;
        Ok(found
            .into_iter()
            .map(|c| ContainerSummary {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                labels: c.labels.unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect())
    }
}

/// Two cleanups racing for one container (a run's teardown and `mmrun clean`): the loser gets
/// 409 "removal already in progress", which means the container is going away as wanted.
fn is_removal_in_progress(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError { status_code: 409, message }
            if message.contains("already in progress")
    )
}
