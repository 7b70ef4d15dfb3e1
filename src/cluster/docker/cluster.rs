//! One cluster of node containers on its own network: the Docker backend's `ClusterHandle`.
//! This file holds the cluster's state and maps the handle onto the files that own each
//! concern: `bring_up` (the ordered steps that create, start and await the nodes),
//! `readiness` (what "ready" means and waiting for it), `faults` (stops, kills, pauses,
//! disconnects), `frameworks` (framework containers and host processes) and `artifacts`
//! (logs, how to reach a kept cluster, teardown).

use super::frameworks::{DockerFrameworks, FrameworkPlace};
use super::layout::Layout;
use super::node::NodeContainer;
use super::privilege::Privilege;
use super::specs::{self, NodeImages};
use crate::cluster::{
    AgentSpec, BackendError, ClusterHandle, ClusterSpec, FrameworkRequest, FrameworkRuns,
    MasterStatus,
};
use crate::docker::Docker;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a node may take to come up, or an agent to (re-)register: generous for a loaded
/// CI machine; a node that dies fails at once regardless.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one readiness request may take: a node answers in milliseconds once it serves.
pub(super) const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AgentState {
    Running,
    Stopped,
    Paused,
    Disconnected,
}

/// One master container; stays created while stopped, so `start` brings the same one back.
pub(super) struct MasterSlot {
    pub(super) node: NodeContainer,
    pub(super) running: bool,
}

pub(super) struct AgentSlot {
    pub(super) node: NodeContainer,
    /// What the script asked for, to re-create the container if need be.
    pub(super) request: AgentSpec,
    pub(super) id: Option<String>,
    pub(super) state: AgentState,
}

pub struct DockerCluster {
    pub(super) docker: Docker,
    pub(super) images: NodeImages,
    pub(super) spec: ClusterSpec,
    pub(super) layout: Layout,
    pub(super) docker_socket: String,
    /// Shared by the backend's clusters: once one finds the engine refuses `--privileged`,
    /// every later agent starts with the fallback directly.
    pub(super) privilege: Arc<Mutex<Privilege>>,
    /// Every master (one unless the spec asks for more); empty until they are created.
    pub(super) masters: Vec<MasterSlot>,
    /// The master mmrun talks to: the leader, when last looked (see `refresh_leader`).
    pub(super) leader: AtomicUsize,
    /// The ZooKeeper container, when the cluster has one.
    pub(super) zookeeper: Option<NodeContainer>,
    pub(super) zookeeper_running: bool,
    /// `mmrun-zookeeper:<hash>`, when the cluster has ZooKeeper (set by the backend).
    pub(super) zookeeper_image: Option<String>,
    pub(super) agents: Vec<AgentSlot>,
    pub(super) frameworks: DockerFrameworks,
    /// Logs of node containers replaced during the run (a restarted master), for artifacts.
    pub(super) earlier_logs: Vec<(String, String)>,
}

impl DockerCluster {
    pub fn new(
        docker: Docker,
        images: NodeImages,
        spec: ClusterSpec,
        layout: Layout,
        docker_socket: String,
        privilege: Arc<Mutex<Privilege>>,
    ) -> DockerCluster {
        let frameworks = DockerFrameworks::new(docker.clone());
        DockerCluster {
            docker,
            images,
            spec,
            layout,
            docker_socket,
            privilege,
            masters: Vec::new(),
            leader: Default::default(),
            zookeeper: None,
            zookeeper_running: false,
            zookeeper_image: None,
            agents: Vec::new(),
            frameworks,
            earlier_logs: Vec::new(),
        }
    }

    /// The master mmrun talks to (see `leader`).
    pub(super) fn master(&self) -> Result<&NodeContainer, BackendError> {
        self.masters
            .get(self.leader.load(Ordering::Relaxed))
            .map(|m| &m.node)
            .ok_or(BackendError::NoMaster)
    }

    pub(super) fn master_slot(&mut self, index: usize) -> Result<&mut MasterSlot, BackendError> {
        self.masters
            .get_mut(index)
            .ok_or_else(|| BackendError::failed(format!("there is no master-{}", index + 1)))
    }

    pub(super) fn slot(&mut self, index: usize) -> Result<&mut AgentSlot, BackendError> {
        self.agents
            .get_mut(index)
            .ok_or(BackendError::NoSuchAgent(index))
    }
}

#[async_trait]
impl ClusterHandle for DockerCluster {
    /// Every node runs mmrun's node image, which carries the mmrun binary.
    fn example_executor_command(&self) -> String {
        format!(
            "{} example-executor",
            crate::docker::node_image::BINARY_PATH
        )
    }

    async fn start_master(&mut self) -> Result<String, BackendError> {
        self.bring_up_control_plane().await
    }

    async fn start_cluster(
        &mut self,
        agents: Vec<AgentSpec>,
    ) -> Result<(String, Vec<String>), BackendError> {
        self.bring_up(agents).await
    }

    fn master_url(&self) -> Option<String> {
        self.master().ok().and_then(|m| m.url())
    }

    async fn leader_url(&self) -> Option<String> {
        self.refresh_leader().await;
        let leader = self.leader.load(Ordering::Relaxed);
        if self.is_leading(leader).await {
            return self.masters[leader].node.url();
        }
        None
    }

    fn master_count(&self) -> usize {
        self.spec.masters.max(1)
    }

    async fn master_status(&self, index: usize) -> Result<MasterStatus, BackendError> {
        let slot = self
            .masters
            .get(index)
            .ok_or_else(|| BackendError::failed(format!("there is no master-{}", index + 1)))?;
        let running = slot.running && slot.node.death(&self.docker).await.is_none();
        Ok(MasterStatus {
            url: slot.node.url().unwrap_or_default(),
            advertised: format!("{}:{}", slot.node.ip, specs::MASTER_PORT),
            running,
            leading: running && self.is_leading(index).await,
        })
    }

    async fn stop_master(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        self.stop_master_node(index, graceful).await
    }

    async fn start_master_at(&mut self, index: usize) -> Result<(), BackendError> {
        self.start_master_node(index).await
    }

    fn zookeeper_url(&self) -> Option<String> {
        let node = self.zookeeper.as_ref()?;
        node.address()
            .map(|addr| format!("zk://{addr}{}", crate::cluster::ZOOKEEPER_PATH))
    }

    async fn stop_zookeeper(&mut self, graceful: bool) -> Result<(), BackendError> {
        self.stop_zookeeper_node(graceful).await
    }

    async fn start_zookeeper(&mut self) -> Result<(), BackendError> {
        self.start_zookeeper_node().await
    }

    async fn add_agent(&mut self, spec: AgentSpec) -> Result<(usize, String), BackendError> {
        self.bring_up_agent(spec).await
    }

    /// On this host, at its address on the cluster network (where the master's container
    /// reaches it), finding the master as a framework process on this host does.
    fn simulated_agents_home(&self) -> Option<crate::cluster::simulated::SimulatedAgentsHome> {
        let master = match self.zookeeper_url() {
            Some(zk) => crate::lite::agent::MasterLocation::ZooKeeper(
                crate::zookeeper::ZkUrl::parse(&zk).ok()?,
            ),
            None => crate::lite::agent::MasterLocation::Fixed(std::net::SocketAddr::new(
                self.master().ok()?.ip.into(),
                specs::MASTER_PORT,
            )),
        };
        Some(crate::cluster::simulated::SimulatedAgentsHome {
            ip: self.layout.gateway_ip(),
            master,
            zk_session_timeout: self.spec.zk_session_timeout,
            status_update_retry: self.spec.status_update_retry,
        })
    }

    async fn stop_agent(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        self.stop_agent_node(index, graceful).await
    }

    async fn start_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.start_agent_node(index).await
    }

    async fn restart_master(&mut self) -> Result<(), BackendError> {
        self.restart_master_node().await
    }

    async fn pause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.pause_agent_node(index).await
    }

    async fn unpause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.unpause_agent_node(index).await
    }

    async fn disconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.disconnect_agent_node(index).await
    }

    async fn reconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.reconnect_agent_node(index).await
    }

    async fn run_framework(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        let master = self.master()?;
        let master_for_processes = match self.zookeeper_url() {
            Some(zk) => zk,
            None => format!("{}:{}", master.ip, specs::MASTER_PORT),
        };
        let place = FrameworkPlace {
            layout: &self.layout,
            spec: &self.spec,
            images: &self.images,
            master_for_processes,
        };
        self.frameworks.run(request, place).await
    }

    fn framework_runs(&self) -> &dyn FrameworkRuns {
        &self.frameworks
    }

    fn framework_runs_mut(&mut self) -> &mut dyn FrameworkRuns {
        &mut self.frameworks
    }

    async fn save_artifacts(&self, dir: &Path) -> Vec<PathBuf> {
        self.save_node_logs(dir).await
    }

    fn how_to_reach(&self) -> Option<String> {
        self.describe_reach()
    }

    fn agent_running(&self, index: usize) -> bool {
        self.agents
            .get(index)
            .is_some_and(|a| a.state != AgentState::Stopped)
    }

    fn agent_count(&self) -> usize {
        self.agents.len()
    }

    async fn teardown(mut self: Box<Self>) {
        self.remove_everything().await
    }
}
