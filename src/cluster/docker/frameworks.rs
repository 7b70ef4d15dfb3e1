//! A Docker cluster's frameworks: a script's framework runs either as a container on the
//! cluster network (it gives an image) or as a process on this host (`crate::process`),
//! and is stopped, started, and read back the same way whichever it is.

use super::layout::{Layout, MAX_FRAMEWORKS};
use super::node::NodeContainer;
use super::specs::{self, FrameworkContainer, NodeImages};
use crate::cluster::framework_runs::no_such_framework;
use crate::cluster::{
    BackendError, ClusterSpec, FrameworkRequest, FrameworkRuns, framework_process_env,
};
use crate::docker::Docker;
use crate::process::{FrameworkProcess, FrameworkStatus, TEARDOWN_GRACE};
use async_trait::async_trait;
use std::time::Duration;

/// The name scripts use for mmrun's own node image (whatever its tag), e.g. to run
/// `mmrun example-framework` in a container.
pub const NODE_IMAGE_ALIAS: &str = "mmrun-node";

/// A user's framework: a container on the cluster network, or a process on this host.
// A cluster holds a handful of these, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum FrameworkSlot {
    Container(NodeContainer),
    Process(FrameworkProcess),
}

/// The frameworks a Docker cluster runs for its script, by index.
pub(super) struct DockerFrameworks {
    docker: Docker,
    slots: Vec<FrameworkSlot>,
    /// How many framework containers were created (each takes the next address).
    containers: usize,
}

/// Where a new framework goes and how it finds the master: what the cluster tells it.
pub(super) struct FrameworkPlace<'a> {
    pub layout: &'a Layout,
    pub spec: &'a ClusterSpec,
    pub images: &'a NodeImages,
    /// The master as a process on this host reaches it: `zk://…` at ZooKeeper's address as
    /// this host reaches it (`layout::Reach`), or the leader's cluster-network address (see
    /// [`DockerFrameworks::run`]).
    pub master_for_processes: String,
}

impl DockerFrameworks {
    pub(super) fn new(docker: Docker) -> DockerFrameworks {
        DockerFrameworks {
            docker,
            slots: Vec::new(),
            containers: 0,
        }
    }

    /// Runs `request` as the next framework: a container when it names an image, else a
    /// process on this host; its index and name.
    ///
    /// A framework process reaches the master at its cluster-network address, which is
    /// routable from this host — the address in the master's pid, which a scheduler driver
    /// compares, as text, with where every message it gets comes from (given the published
    /// port, libmesos would drop them all) — or, with ZooKeeper, finds the leader through
    /// ZooKeeper, as on the embedded backend; a fixed master would be wrong
    /// after the first failover. The master reaches it (a driver's libprocess) at this host's
    /// address on the cluster network.
    pub(super) async fn run(
        &mut self,
        request: FrameworkRequest,
        place: FrameworkPlace<'_>,
    ) -> Result<(usize, String), BackendError> {
        if request.image.is_some() {
            return self.run_container(request, &place).await;
        }
        let env = framework_process_env(
            &place.master_for_processes,
            &place.layout.gateway_ip().to_string(),
        );
        let index = self.slots.len();
        let process =
            FrameworkProcess::start(format!("framework-{}", index + 1), request.process(env))
                .await?;
        let name = process.name();
        self.slots.push(FrameworkSlot::Process(process));
        Ok((index, name))
    }

    async fn run_container(
        &mut self,
        request: FrameworkRequest,
        place: &FrameworkPlace<'_>,
    ) -> Result<(usize, String), BackendError> {
        let image = framework_image(request.image.as_deref().unwrap_or_default(), place.images)?;
        if request.cwd.is_some() {
            return Err(BackendError::failed(
                "cwd is for a framework run as a host process (without image); a container runs in its image's working directory",
            ));
        }
        let container = self.containers;
        if container >= MAX_FRAMEWORKS {
            return Err(BackendError::failed(format!(
                "a Docker cluster holds at most {MAX_FRAMEWORKS} framework containers"
            )));
        }
        let docker = self.docker.clone();
        if !docker.image_exists(&image).await? {
            return Err(BackendError::failed(format!(
                "there is no image {image} in the Docker engine, and mmrun never pulls: build or load it first (`docker build -t {image} …` or `docker load`)"
            )));
        }
        let spec = specs::framework(
            place.layout,
            place.spec,
            container,
            &FrameworkContainer {
                image,
                cmd: request.cmd,
                env: request
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            },
        );
        self.containers += 1;
        let index = self.slots.len();
        let label = format!("framework-{}", index + 1);
        let mut node = NodeContainer::create(&docker, label, spec).await?;
        let started = node.start(&docker).await;
        let name = node.name.clone();
        self.slots.push(FrameworkSlot::Container(node));
        started?;
        Ok((index, name))
    }

    fn slot(&mut self, index: usize) -> Result<&mut FrameworkSlot, BackendError> {
        self.slots
            .get_mut(index)
            .ok_or_else(|| no_such_framework(index))
    }

    /// The framework containers, for logs and teardown.
    pub(super) fn containers(&self) -> impl Iterator<Item = &NodeContainer> {
        self.slots.iter().filter_map(|f| match f {
            FrameworkSlot::Container(node) => Some(node),
            FrameworkSlot::Process(_) => None,
        })
    }

    /// The framework processes on this host.
    pub(super) fn processes(&self) -> impl Iterator<Item = &FrameworkProcess> {
        self.slots.iter().filter_map(|f| match f {
            FrameworkSlot::Process(p) => Some(p),
            FrameworkSlot::Container(_) => None,
        })
    }

    /// Stops the framework processes, with the teardown grace, and forgets them; the
    /// containers stay, for the cluster's removal.
    pub(super) async fn stop_processes(&mut self) {
        for f in &mut self.slots {
            if let FrameworkSlot::Process(p) = f {
                p.stop(Some(TEARDOWN_GRACE)).await;
            }
        }
        self.slots
            .retain(|f| matches!(f, FrameworkSlot::Container(_)));
    }
}

#[async_trait]
impl FrameworkRuns for DockerFrameworks {
    async fn logs(&self, index: usize) -> Result<String, BackendError> {
        match self.slots.get(index) {
            None => Err(no_such_framework(index)),
            Some(FrameworkSlot::Process(p)) => Ok(p.logs()),
            Some(FrameworkSlot::Container(node)) => self
                .docker
                .container_logs(&node.id)
                .await
                .map_err(BackendError::from),
        }
    }

    async fn status(&mut self, index: usize) -> Result<FrameworkStatus, BackendError> {
        let docker = self.docker.clone();
        match self.slot(index)? {
            FrameworkSlot::Process(p) => Ok(p.status()),
            FrameworkSlot::Container(node) => match docker.inspect(&node.id).await? {
                Some(d) if d.is_running() => Ok(FrameworkStatus::Running),
                Some(d) => Ok(FrameworkStatus::Exited(d.exit_code.unwrap_or(-1) as i32)),
                None => Err(BackendError::failed(format!(
                    "{} was removed from the Docker engine",
                    node.name
                ))),
            },
        }
    }

    async fn stop(&mut self, index: usize, grace: Option<Duration>) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        match self.slot(index)? {
            FrameworkSlot::Process(p) => p.stop(grace).await,
            FrameworkSlot::Container(node) => {
                if !docker
                    .inspect(&node.id)
                    .await?
                    .is_some_and(|d| d.is_running())
                {
                    return Ok(());
                }
                match grace {
                    Some(grace) => docker.stop_container(&node.id, grace).await?,
                    None => {
                        docker.kill_container(&node.id, "SIGKILL").await?;
                        docker.wait_container(&node.id).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn start(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        match self.slot(index)? {
            FrameworkSlot::Process(p) => Ok(p.restart().await?),
            FrameworkSlot::Container(node) => {
                if docker
                    .inspect(&node.id)
                    .await?
                    .is_some_and(|d| d.is_running())
                {
                    return Err(BackendError::failed(
                        "it is still running: stop() or kill() it first",
                    ));
                }
                node.start(&docker).await
            }
        }
    }
}

/// The image a framework container runs: the one asked for, or the nodes' own for
/// [`NODE_IMAGE_ALIAS`], which a cluster of real Mesos does not have.
fn framework_image(requested: &str, images: &NodeImages) -> Result<String, BackendError> {
    if requested != NODE_IMAGE_ALIAS {
        return Ok(requested.to_string());
    }
    match images {
        NodeImages::Mmrun { image } => Ok(image.clone()),
        NodeImages::RealMesos { .. } => Err(BackendError::failed(format!(
            "image \"{NODE_IMAGE_ALIAS}\" is mmrun's node image, which a cluster of real Mesos (mesos_image) does not build: give your framework's own image"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_image_alias_names_the_nodes_own_image() {
        let mmrun = NodeImages::Mmrun {
            image: "mmrun-node:0123".into(),
        };
        let real = NodeImages::RealMesos {
            master: "mesos:1.11".into(),
            agent: "mesos:1.11".into(),
        };
        assert_eq!(
            framework_image("mmrun-node", &mmrun).unwrap(),
            "mmrun-node:0123"
        );
        assert_eq!(
            framework_image("my-framework:1", &real).unwrap(),
            "my-framework:1"
        );
        let refused = framework_image("mmrun-node", &real)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("real Mesos"), "{refused}");
    }
}
