//! The Docker backend: every node of a cluster in its own container, on a fresh network per
//! cluster, reached from mmrun at their addresses on it (or, where that network is not this
//! host's own, through ports published on 127.0.0.1: `layout::Reach`). All Docker calls go
//! through `crate::docker`; this module decides what to create and when a node is ready.
//!
//! - [`specs`]: each node's container as data (the three lessons of Mesos in containers).
//! - [`layout`]: the cluster's subnet and every node's address, fixed before anything starts.
//! - [`node`]: one container's start, readiness polling and death report.
//! - [`cluster`]: the `ClusterHandle` (`DockerCluster`): the cluster's state, and which file
//!   does what it is asked:
//!   - [`bring_up`]: the ordered steps that create, start and await the nodes;
//!   - [`readiness`]: a master leads or serves, an agent is (no longer) active;
//!   - [`faults`]: stops, kills, restarts, pauses and disconnects;
//!   - [`frameworks`]: framework containers and framework processes on this host;
//!   - [`artifacts`]: node logs, how to reach a kept cluster, teardown.
//! - [`zookeeper`]: the ZooKeeper container (spec, addresses, `ruok` readiness).

mod artifacts;
mod bring_up;
pub mod cluster;
mod faults;
mod frameworks;
pub mod layout;
pub mod node;
pub mod privilege;
mod readiness;
pub mod specs;
pub mod zookeeper;

use super::{Backend, BackendError, ClusterHandle, ClusterSpec, OwnImage};
use crate::docker::reaper::Lifeline;
use crate::docker::{Docker, Owner, Role, labels::new_run_id};
use async_trait::async_trait;
use cluster::DockerCluster;
use layout::{Layout, Reach, subnet_candidates};
use privilege::Privilege;
use specs::NodeImages;
use std::sync::{Arc, Mutex};

pub struct DockerBackend {
    docker: Docker,
    images: NodeImages,
    /// The daemon's socket on its host, mounted into agents for their Docker containerizer.
    docker_socket: String,
    privilege: Arc<Mutex<Privilege>>,
    /// `--keep`: label clusters so that a kept one is not reaped as an orphan later.
    keep: bool,
    /// Publish every node's port on 127.0.0.1 even where the nodes can be reached directly.
    publish_ports: bool,
}

impl DockerBackend {
    /// Connects to the daemon and makes sure the nodes' image exists: mmrun's own node image,
    /// built on first use, unless `mesos_image` names real Mesos images to run instead.
    /// Every failure here is the machine's: an environment error.
    pub async fn connect(mesos_image: Option<&str>) -> Result<DockerBackend, BackendError> {
        let docker = Docker::connect().await?;
        DockerBackend::on(docker, mesos_image).await
    }

    /// [`DockerBackend::connect`] through a connection the caller already has.
    pub async fn on(
        docker: Docker,
        mesos_image: Option<&str>,
    ) -> Result<DockerBackend, BackendError> {
        let images = match mesos_image {
            Some(image) => real_mesos(&docker, image).await?,
            None => NodeImages::Mmrun {
                image: crate::docker::ensure_node_image(&docker)
                    .await
                    .map_err(BackendError::environment)?,
            },
        };
        Ok(DockerBackend::new(docker, images))
    }

    pub fn new(docker: Docker, images: NodeImages) -> DockerBackend {
        let docker_socket = socket_path(docker.host());
        let privilege = Privilege::expected_for(docker.host().strip_prefix("unix://"));
        DockerBackend {
            docker,
            images,
            docker_socket,
            privilege: Arc::new(Mutex::new(privilege)),
            keep: false,
            publish_ports: false,
        }
    }

    /// Reaches every node through a port published on 127.0.0.1, as where the cluster network
    /// is not this host's own (`MMRUN_DOCKER_PUBLISH_PORTS=1`; tests keep that path covered).
    pub fn publishing_ports(mut self) -> DockerBackend {
        self.publish_ports = true;
        self
    }

    /// Labels what this backend creates as keepable (`--keep`).
    pub fn keeping(mut self) -> DockerBackend {
        self.keep = true;
        self
    }

    /// Starts agents `--privileged` whatever [`Privilege::expected_for`] foresaw, so that an
    /// engine's refusal is met at start and handled there (tests keep that path covered on
    /// engines whose refusal mmrun foresees, CI's among them).
    pub fn starting_privileged(self) -> DockerBackend {
        *self.privilege.lock().unwrap_or_else(|p| p.into_inner()) = Privilege::Privileged;
        self
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Starts the reaper that removes what this process made in Docker once it is gone, even
    /// after a SIGKILL (see `docker::reaper`). It runs mmrun's node image, built if the
    /// nodes run real Mesos instead.
    pub async fn start_reaper(&self) -> Result<Lifeline, BackendError> {
        let image = match &self.images {
            NodeImages::Mmrun { image } => image.clone(),
            NodeImages::RealMesos { .. } => crate::docker::ensure_node_image(&self.docker)
                .await
                .map_err(BackendError::failed)?,
        };
        Ok(Lifeline::start(&self.docker, &image, &self.docker_socket).await?)
    }

    /// What the nodes run, for the run's first line.
    pub fn describe(&self) -> String {
        let privilege = self.privilege.lock().unwrap_or_else(|p| p.into_inner());
        match *privilege {
            Privilege::Privileged => self.images.describe(),
            Privilege::Capabilities(_) => format!(
                "{}; agents get the engine's capabilities, as it cannot grant --privileged",
                self.images.describe()
            ),
        }
    }
}

/// Real Mesos images must already be in the engine: mmrun never pulls.
async fn real_mesos(docker: &Docker, image: &str) -> Result<NodeImages, BackendError> {
    if !docker.image_exists(image).await? {
        return Err(BackendError::environment(format!(
            "there is no Mesos image {image} in the Docker engine, and mmrun never pulls: load it first (`docker load -i mesos.tar`, or `docker pull {image}` where a registry is reachable)"
        )));
    }
    Ok(NodeImages::RealMesos {
        master: image.to_string(),
        agent: image.to_string(),
    })
}

/// `unix:///path` → `/path`; other daemons are remote, where the default path is the guess.
fn socket_path(host: &str) -> String {
    host.strip_prefix("unix://")
        .unwrap_or(specs::DOCKER_SOCKET)
        .to_string()
}

#[async_trait]
impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn own_image(&self, image: OwnImage) -> Result<String, BackendError> {
        let built = match image {
            OwnImage::Busybox => crate::docker::ensure_busybox_image(&self.docker).await,
            OwnImage::Node => crate::docker::ensure_node_image(&self.docker).await,
        };
        built.map_err(BackendError::environment)
    }

    async fn create(&self, spec: ClusterSpec) -> Result<Box<dyn ClusterHandle>, BackendError> {
        if spec.masters > layout::MAX_MASTERS {
            return Err(BackendError::failed(format!(
                "at most {} masters per cluster",
                layout::MAX_MASTERS
            )));
        }
        // Built on first use from this host's own ZooKeeper; without one the scenario is
        // skipped, saying how to install it.
        let zookeeper_image = if spec.has_zookeeper() {
            match crate::docker::ensure_zookeeper_image(&self.docker).await {
                Ok(tag) => Some(tag),
                Err(crate::docker::node_image::NodeImageError::ZooKeeperNotInstalled(e)) => {
                    return Err(BackendError::NotInstalled(e.to_string()));
                }
                Err(e) => return Err(BackendError::failed(e)),
            }
        } else {
            None
        };
        let images = match &spec.mesos_image {
            Some(image) => real_mesos(&self.docker, image).await?,
            None => self.images.clone(),
        };
        // One run id per cluster: it names and labels everything the cluster creates, so two
        // clusters of one scenario (or one scenario run twice at once) never share a name.
        let owner = Owner {
            keep: self.keep,
            ..Owner::new(&new_run_id(), &spec.scenario)
        };
        let network = owner.name(Role::Network, None);
        let labels = owner.labels(Role::Network);
        let phase = crate::timing::phase("cluster.network");
        let mut chosen = None;
        for subnet in subnet_candidates() {
            let cidr = Layout::subnet_cidr(subnet);
            match self
                .docker
                .create_network_on(&network, &labels, &cidr)
                .await
            {
                Ok(Some(_)) => {
                    chosen = Some(subnet);
                    break;
                }
                Ok(None) => continue,
                Err(e) => return Err(BackendError::failed(e)),
            }
        }
        phase.end();
        let Some(subnet) = chosen else {
            return Err(BackendError::failed(format!(
                "every subnet of {} is taken by other Docker networks: remove some (`mmrun clean`, `docker network prune`)",
                Layout::subnet_cidr(0).replace(".0.0/24", ".0.0/16")
            )));
        };
        let mut layout = Layout {
            owner,
            network,
            subnet,
            reach: Reach::Published,
        };
        if !self.publish_ports {
            layout.reach = Reach::probe(layout.gateway_ip());
        }
        let mut cluster = DockerCluster::new(
            self.docker.clone(),
            images,
            spec,
            layout,
            self.docker_socket.clone(),
            self.privilege.clone(),
        );
        cluster.zookeeper_image = zookeeper_image;
        // Simulated agents run in this process, beside the containers.
        Ok(Box::new(
            crate::cluster::simulated::WithSimulatedAgents::new(Box::new(cluster)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_mounted_into_agents_follows_docker_host() {
        assert_eq!(
            socket_path("unix:///run/user/1000/docker.sock"),
            "/run/user/1000/docker.sock"
        );
        assert_eq!(socket_path("tcp://10.0.0.1:2375"), "/var/run/docker.sock");
    }
}
