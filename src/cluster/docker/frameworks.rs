//! A Docker cluster's frameworks: a script's framework runs either as a container on the
//! cluster network (it gives an image) or as a process on this host (`cluster::process`),
//! and is stopped, started, and read back the same way whichever it is.

use super::cluster::DockerCluster;
use super::layout::MAX_FRAMEWORKS;
use super::node::NodeContainer;
use super::specs::{self, FrameworkContainer, NodeImages};
use crate::cluster::process::{self, FrameworkProcess, FrameworkStatus};
use crate::cluster::{BackendError, ClusterHandle, FrameworkRequest, framework_process_env};
use std::time::Duration;

/// The name scripts use for mmrun's own node image (whatever its tag), e.g. to run
/// `mmrun example-framework` in a container.
pub const NODE_IMAGE_ALIAS: &str = "mmrun-node";

/// A user's framework: a container on the cluster network, or a process on this host.
pub(super) enum FrameworkSlot {
    Container(NodeContainer),
    Process(FrameworkProcess),
}

impl DockerCluster {
    pub(super) async fn run_framework_node(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        self.master()?;
        if request.image.is_some() {
            self.run_framework_container(request).await
        } else {
            self.run_framework_process(request).await
        }
    }

    pub(super) async fn framework_node_logs(&self, index: usize) -> Result<String, BackendError> {
        match self.frameworks.get(index) {
            None => Err(process::no_such_framework(index)),
            Some(FrameworkSlot::Process(p)) => Ok(p.logs()),
            Some(FrameworkSlot::Container(node)) => self
                .docker
                .container_logs(&node.id)
                .await
                .map_err(BackendError::from),
        }
    }

    pub(super) async fn framework_node_status(
        &mut self,
        index: usize,
    ) -> Result<FrameworkStatus, BackendError> {
        let docker = self.docker.clone();
        match self.framework(index)? {
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

    pub(super) async fn stop_framework_node(
        &mut self,
        index: usize,
        grace: Option<Duration>,
    ) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        match self.framework(index)? {
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

    pub(super) async fn start_framework_node(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        match self.framework(index)? {
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

    pub(super) fn framework(&mut self, index: usize) -> Result<&mut FrameworkSlot, BackendError> {
        self.frameworks
            .get_mut(index)
            .ok_or_else(|| process::no_such_framework(index))
    }

    /// A framework process on this host: it reaches the master at its cluster-network address,
    /// which is routable from this host — the address in the master's pid, which a scheduler
    /// driver compares, as text, with where every message it gets comes from (given the
    /// published port, libmesos would drop them all) — or, with ZooKeeper, finds the leader
    /// through ZooKeeper's published port, as on the embedded backend; a fixed master would be
    /// wrong after the first failover. The master reaches it (a driver's libprocess) at this
    /// host's address on the cluster network.
    async fn run_framework_process(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        let master = match self.zookeeper_url() {
            Some(zk) => zk,
            None => format!("{}:{}", self.master()?.ip, specs::MASTER_PORT),
        };
        let env = framework_process_env(&master, &self.layout.gateway_ip().to_string());
        let index = self.frameworks.len();
        let process =
            FrameworkProcess::start(format!("framework-{}", index + 1), request.process(env))
                .await?;
        let name = process.name();
        self.frameworks.push(FrameworkSlot::Process(process));
        Ok((index, name))
    }

    async fn run_framework_container(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        let image = framework_image(request.image.as_deref().unwrap_or_default(), &self.images)?;
        if request.cwd.is_some() {
            return Err(BackendError::failed(
                "cwd is for a framework run as a host process (without image); a container runs in its image's working directory",
            ));
        }
        let container = self.framework_containers;
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
            &self.layout,
            &self.spec,
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
        self.framework_containers += 1;
        let index = self.frameworks.len();
        let label = format!("framework-{}", index + 1);
        let mut node = NodeContainer::create(&docker, label, spec).await?;
        let started = node.start(&docker).await;
        let name = node.name.clone();
        self.frameworks.push(FrameworkSlot::Container(node));
        started?;
        Ok((index, name))
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
