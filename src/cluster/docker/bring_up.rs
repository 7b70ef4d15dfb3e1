//! A Docker cluster's bring-up, as named ordered steps: the nodes' specs (every address
//! known up front, see `layout`), their containers created and then started all at once (an
//! engine that refuses `--privileged` gets the fallback), then readiness (`readiness`): the
//! control plane serves, every agent is active.

use super::cluster::{AgentSlot, AgentState, DockerCluster, MasterSlot};
use super::layout::MAX_AGENTS;
use super::node::NodeContainer;
use super::privilege::{self, Privilege};
use super::specs;
use crate::cluster::{AgentSpec, BackendError};
use crate::docker::ContainerSpec;

impl DockerCluster {
    /// `start_master`: ZooKeeper (when asked for) and the masters, created, started, ready.
    pub(super) async fn bring_up_control_plane(&mut self) -> Result<String, BackendError> {
        if !self.masters.is_empty() {
            return Err(BackendError::failed(format!(
                "the master is already running at {}",
                self.master().ok().and_then(|m| m.url()).unwrap_or_default()
            )));
        }
        let (zookeeper, masters) = self.control_plane_specs()?;
        self.create_control_plane(zookeeper, masters).await?;
        self.start_control_plane().await?;
        self.await_control_plane().await?;
        Ok(self.master()?.url().unwrap_or_default())
    }

    /// `start_cluster`: every node of the cluster. Every address is known up front (see
    /// layout), so every container is created and started at once and the nodes find each
    /// other as they come up.
    pub(super) async fn bring_up(
        &mut self,
        agents: Vec<AgentSpec>,
    ) -> Result<(String, Vec<String>), BackendError> {
        if !self.masters.is_empty() {
            return Err(BackendError::failed("the cluster is already started"));
        }
        let phase = std::time::Instant::now();
        self.create_nodes(agents).await?;
        tracing::debug!(took = ?phase.elapsed(), "created the node containers");
        self.start_nodes().await?;
        tracing::debug!(took = ?phase.elapsed(), "started the node containers");
        crate::timing::timed("cluster.master_ready", self.await_control_plane()).await?;
        tracing::debug!(took = ?phase.elapsed(), "the master serves");
        let ids = self.await_agents_active().await?;
        tracing::debug!(took = ?phase.elapsed(), "every agent is active");
        Ok((self.master()?.url().unwrap_or_default(), ids))
    }

    /// Step 1: every node's container, created concurrently. Whatever was created is kept,
    /// so teardown removes it even when a sibling failed.
    async fn create_nodes(&mut self, agents: Vec<AgentSpec>) -> Result<(), BackendError> {
        let (zookeeper_spec, master_specs) = self.control_plane_specs()?;
        let agent_specs: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(i, a)| self.new_agent(i, a))
            .collect::<Result<_, _>>()?;
        let docker = self.docker.clone();
        let create_agents = futures::future::join_all(
            agent_specs
                .into_iter()
                .enumerate()
                .map(|(i, s)| NodeContainer::create(&docker, agent_label(i), s)),
        );
        let (master, created) = crate::timing::timed("cluster.create_containers", async {
            tokio::join!(
                self.create_control_plane(zookeeper_spec, master_specs),
                create_agents
            )
        })
        .await;
        let mut agent_nodes = Vec::new();
        let mut first_error = None;
        for c in created {
            match c {
                Ok(node) => agent_nodes.push(node),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.agents = agent_nodes
            .into_iter()
            .zip(agents)
            .map(|(node, request)| AgentSlot {
                node,
                request,
                id: None,
                state: AgentState::Stopped,
            })
            .collect();
        master?;
        first_error.map_or(Ok(()), Err)
    }

    /// Step 2: every created container, started concurrently; agents the engine refused to
    /// start are re-created (the refusal may be `--privileged`'s, see `Privilege`).
    async fn start_nodes(&mut self) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let mut agent_nodes: Vec<NodeContainer> =
            self.agents.iter().map(|a| a.node.clone()).collect();
        let (m, a) = crate::timing::timed("cluster.start_containers", async {
            tokio::join!(
                self.start_control_plane(),
                futures::future::join_all(agent_nodes.iter_mut().map(|n| n.start(&docker)))
            )
        })
        .await;
        for (slot, node) in self.agents.iter_mut().zip(agent_nodes) {
            slot.node = node;
        }
        m?;
        let not_started: Vec<usize> = a
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_err())
            .map(|(i, _)| i)
            .collect();
        if let Some((&first, rest)) = not_started.split_first() {
            // The failure may be the `--privileged` refusal: the first retry learns the
            // fallback, and the others are re-created with it at once.
            self.start_agent_with_fallback(first).await?;
            let restarted =
                futures::future::join_all(rest.iter().map(|&i| self.recreate_agent(i))).await;
            for (&i, node) in rest.iter().zip(restarted) {
                self.agents[i].node = node?;
            }
        }
        for slot in &mut self.agents {
            slot.state = AgentState::Running;
        }
        Ok(())
    }

    /// Step 4 (after the control plane serves): every agent active at the master; their ids.
    async fn await_agents_active(&mut self) -> Result<Vec<String>, BackendError> {
        let ids = crate::timing::timed(
            "cluster.agents_active",
            futures::future::join_all(
                (0..self.agents.len()).map(|i| self.await_agent_active(i, None)),
            ),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<String>, _>>()?;
        for (slot, id) in self.agents.iter_mut().zip(&ids) {
            slot.id = Some(id.clone());
        }
        Ok(ids)
    }

    /// `add_agent`: one more agent, created, started and active.
    pub(super) async fn bring_up_agent(
        &mut self,
        spec: AgentSpec,
    ) -> Result<(usize, String), BackendError> {
        self.master()?;
        let index = self.create_agent(&spec).await?;
        self.start_agent_with_fallback(index).await?;
        self.agents[index].state = AgentState::Running;
        let id = self.await_agent_active(index, None).await?;
        self.agents[index].id = Some(id.clone());
        Ok((index, id))
    }

    /// The ZooKeeper (when the cluster has it) and master containers to create. A published
    /// ZooKeeper port is a host port chosen now, so a stopped and started ZooKeeper is found
    /// where it was.
    fn control_plane_specs(
        &self,
    ) -> Result<(Option<ContainerSpec>, Vec<ContainerSpec>), BackendError> {
        let zookeeper = match &self.zookeeper_image {
            Some(image) => {
                let mut spec = super::zookeeper::zookeeper_spec(&self.layout, image);
                if let Some(p) = spec.ports.first_mut() {
                    p.host_port = Some(free_loopback_port()?);
                }
                Some(spec)
            }
            None => None,
        };
        let masters = (0..self.spec.masters.max(1))
            .map(|i| specs::master(&self.layout, &self.images, &self.spec, i))
            .collect();
        Ok((zookeeper, masters))
    }

    /// Creates ZooKeeper and the masters concurrently; keeps whatever was created (teardown
    /// removes it) and returns the first error.
    async fn create_control_plane(
        &mut self,
        zookeeper: Option<ContainerSpec>,
        masters: Vec<ContainerSpec>,
    ) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let labels: Vec<String> = (0..masters.len())
            .map(|i| master_label(self.spec.masters, i))
            .collect();
        let create_zookeeper = async {
            match zookeeper {
                Some(spec) => Some(NodeContainer::create(&docker, "zookeeper", spec).await),
                None => None,
            }
        };
        let create_masters = futures::future::join_all(
            masters
                .into_iter()
                .zip(labels)
                .map(|(spec, label)| NodeContainer::create(&docker, label, spec)),
        );
        let (zookeeper, masters) = tokio::join!(create_zookeeper, create_masters);
        let mut first_error = None;
        match zookeeper {
            Some(Ok(node)) => self.zookeeper = Some(node),
            Some(Err(e)) => first_error = Some(e),
            None => {}
        }
        for created in masters {
            match created {
                Ok(node) => self.masters.push(MasterSlot {
                    node,
                    running: false,
                }),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Starts ZooKeeper and every master concurrently.
    async fn start_control_plane(&mut self) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let mut zookeeper = self.zookeeper.take();
        let mut masters: Vec<NodeContainer> = self.masters.iter().map(|m| m.node.clone()).collect();
        let start_zookeeper = async {
            match &mut zookeeper {
                Some(node) => node.start(&docker).await,
                None => Ok(()),
            }
        };
        let (z, m) = tokio::join!(
            start_zookeeper,
            futures::future::join_all(masters.iter_mut().map(|n| n.start(&docker)))
        );
        self.zookeeper = zookeeper;
        self.zookeeper_running = self.zookeeper.is_some() && z.is_ok();
        for ((slot, node), started) in self.masters.iter_mut().zip(masters).zip(&m) {
            slot.node = node;
            slot.running = started.is_ok();
        }
        z?;
        m.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(())
    }

    fn new_agent(&self, index: usize, spec: &AgentSpec) -> Result<ContainerSpec, BackendError> {
        if index >= MAX_AGENTS {
            return Err(BackendError::failed(format!(
                "a Docker cluster holds at most {MAX_AGENTS} agents"
            )));
        }
        let privilege = self
            .privilege
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(specs::agent(
            &self.layout,
            &self.images,
            index,
            &self.spec,
            spec,
            &self.docker_socket,
            &privilege,
        ))
    }

    /// Starts agent `index`'s container. An engine that cannot grant `--privileged` refuses
    /// to start it; the agent is then re-created with the fallback (see `Privilege`).
    async fn start_agent_with_fallback(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let refused = match self.agents[index].node.start(&docker).await {
            Ok(()) => return Ok(()),
            Err(BackendError::Failed(cause))
                if privilege::is_privilege_refusal(&crate::errors::error_chain(cause.as_ref()))
                    && self.agents[index].node.spec.privileged =>
            {
                crate::errors::error_chain(cause.as_ref())
            }
            Err(e) => return Err(e),
        };
        {
            let mut privilege = self.privilege.lock().unwrap_or_else(|p| p.into_inner());
            if *privilege == Privilege::Privileged {
                *privilege = Privilege::host_capabilities();
                tracing::debug!("{refused}");
                eprintln!(
                    "mmrun: this Docker engine cannot start privileged containers; agents get every capability the engine has instead (see docs/docker.md)"
                );
            }
        }
        self.agents[index].node = self.recreate_agent(index).await?;
        Ok(())
    }

    /// Replaces agent `index`'s container with a fresh one from the current settings (the
    /// privilege fallback), started.
    async fn recreate_agent(&self, index: usize) -> Result<NodeContainer, BackendError> {
        let old = &self.agents[index];
        self.docker.remove_container(&old.node.id).await?;
        let spec = self.new_agent(index, &old.request)?;
        let mut node = NodeContainer::create(&self.docker, old.node.label.clone(), spec).await?;
        node.start(&self.docker).await?;
        Ok(node)
    }

    async fn create_agent(&mut self, spec: &AgentSpec) -> Result<usize, BackendError> {
        let index = self.agents.len();
        let container = self.new_agent(index, spec)?;
        let node = NodeContainer::create(&self.docker, agent_label(index), container).await?;
        self.agents.push(AgentSlot {
            node,
            request: spec.clone(),
            id: None,
            state: AgentState::Stopped,
        });
        Ok(index)
    }
}

/// `master`, or `master-2` when the cluster has several: what errors and artifacts call it.
fn master_label(masters: usize, index: usize) -> String {
    if masters > 1 {
        format!("master-{}", index + 1)
    } else {
        "master".into()
    }
}

fn agent_label(index: usize) -> String {
    format!("agent-{}", index + 1)
}

/// A port free on 127.0.0.1 now, for a container port published at a fixed host port.
fn free_loopback_port() -> Result<u16, BackendError> {
    std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| {
            BackendError::failed(crate::errors::WhileDoing::new(
                "cannot find a free port on 127.0.0.1",
                e,
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_named_by_role_and_number_from_one() {
        assert_eq!(master_label(1, 0), "master");
        assert_eq!(master_label(3, 0), "master-1");
        assert_eq!(master_label(3, 2), "master-3");
        assert_eq!(agent_label(0), "agent-1");
    }
}
