//! One cluster of node containers on its own network: the Docker backend's `ClusterHandle`.

use super::layout::{Layout, MAX_AGENTS, MAX_FRAMEWORKS};
use super::node::NodeContainer;
use super::specs::{self, AGENT_PORT, FrameworkContainer, NodeImages, Privilege};
use crate::client::MasterClient;
use crate::cluster::process::{self, FrameworkProcess, FrameworkStatus};
use crate::cluster::{
    AgentSpec, BackendError, ClusterHandle, ClusterSpec, FrameworkRequest, MasterStatus,
    framework_process_env,
};
use crate::docker::{ContainerSpec, Docker, Selector};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a node may take to come up, or an agent to (re-)register: generous for a loaded
/// CI machine; a node that dies fails at once regardless.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one readiness request may take: a node answers in milliseconds once it serves.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// A graceful stop's SIGTERM-to-SIGKILL time: covers the agent's task kill grace (5 s).
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentState {
    Running,
    Stopped,
    Paused,
    Disconnected,
}

/// A user's framework: a container on the cluster network, or a process on this host.
enum FrameworkSlot {
    Container(NodeContainer),
    Process(FrameworkProcess),
}

/// The name scripts use for mmrun's own node image (whatever its tag), e.g. to run
/// `mmrun example-framework` in a container.
pub const NODE_IMAGE_ALIAS: &str = "mmrun-node";

/// One master container; stays created while stopped, so `start` brings the same one back.
struct MasterSlot {
    node: NodeContainer,
    running: bool,
}

struct AgentSlot {
    node: NodeContainer,
    /// What the script asked for, to re-create the container if need be.
    request: AgentSpec,
    id: Option<String>,
    state: AgentState,
}

pub struct DockerCluster {
    docker: Docker,
    images: NodeImages,
    spec: ClusterSpec,
    layout: Layout,
    docker_socket: String,
    /// Shared by the backend's clusters: once one finds the engine refuses `--privileged`,
    /// every later agent starts with the fallback directly.
    privilege: Arc<Mutex<Privilege>>,
    /// Every master (one unless the spec asks for more); empty until they are created.
    masters: Vec<MasterSlot>,
    /// The master mmrun talks to: the leader, when last looked (see `refresh_leader`).
    leader: std::sync::atomic::AtomicUsize,
    /// The ZooKeeper container, when the cluster has one.
    zookeeper: Option<NodeContainer>,
    zookeeper_running: bool,
    /// `mmrun-zookeeper:<hash>`, when the cluster has ZooKeeper (set by the backend).
    pub(super) zookeeper_image: Option<String>,
    agents: Vec<AgentSlot>,
    frameworks: Vec<FrameworkSlot>,
    /// How many framework containers were created (each takes the next address).
    framework_containers: usize,
    /// Logs of node containers replaced during the run (a restarted master), for artifacts.
    earlier_logs: Vec<(String, String)>,
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
            frameworks: Vec::new(),
            framework_containers: 0,
            earlier_logs: Vec::new(),
        }
    }

    fn master(&self) -> Result<&NodeContainer, BackendError> {
        self.masters
            .get(self.leader.load(std::sync::atomic::Ordering::Relaxed))
            .map(|m| &m.node)
            .ok_or(BackendError::NoMaster)
    }

    /// The ZooKeeper (when the cluster has it) and master containers to create. ZooKeeper's
    /// port is published on a host port chosen now, so a stopped and started ZooKeeper is
    /// found where it was.
    fn control_plane_specs(
        &self,
    ) -> Result<(Option<ContainerSpec>, Vec<ContainerSpec>), BackendError> {
        let zookeeper = match &self.zookeeper_image {
            Some(image) => {
                let mut spec = super::zookeeper::zookeeper_spec(&self.layout, image);
                let port = free_loopback_port()?;
                if let Some(p) = spec.ports.first_mut() {
                    p.host_port = Some(port);
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

    fn master_label(&self, index: usize) -> String {
        if self.spec.masters > 1 {
            format!("master-{}", index + 1)
        } else {
            "master".into()
        }
    }

    /// Creates ZooKeeper and the masters concurrently; keeps whatever was created (teardown
    /// removes it) and returns the first error.
    async fn create_control_plane(
        &mut self,
        zookeeper: Option<ContainerSpec>,
        masters: Vec<ContainerSpec>,
    ) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let labels: Vec<String> = (0..masters.len()).map(|i| self.master_label(i)).collect();
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

    /// Waits until the control plane serves: ZooKeeper answers, and a master leads (the one
    /// master serves its state).
    async fn await_control_plane(&mut self) -> Result<(), BackendError> {
        if let Some(zookeeper) = &self.zookeeper {
            super::zookeeper::wait_ready(&self.docker, zookeeper, STEP_TIMEOUT).await?;
        }
        if self.spec.has_zookeeper() {
            self.await_leader(STEP_TIMEOUT).await?;
            Ok(())
        } else {
            self.await_master().await
        }
    }

    /// Whether master `index` runs and says it leads (`master/elected`).
    async fn is_leading(&self, index: usize) -> bool {
        let Some(slot) = self.masters.get(index) else {
            return false;
        };
        let Some(url) = slot.node.url().filter(|_| slot.running) else {
            return false;
        };
        let metrics = MasterClient::probing(url, PROBE_TIMEOUT)
            .raw_metrics()
            .await;
        metrics
            .ok()
            .and_then(|m| m.get("master/elected").and_then(|v| v.as_f64()))
            == Some(1.0)
    }

    /// With several masters, looks for the leader now and remembers it for `master()`.
    async fn refresh_leader(&self) {
        if !self.spec.has_zookeeper() {
            return;
        }
        for index in 0..self.masters.len() {
            if self.is_leading(index).await {
                self.leader
                    .store(index, std::sync::atomic::Ordering::Relaxed);
                return;
            }
        }
    }

    /// Waits until a master leads; remembers it and returns its index.
    async fn await_leader(&self, timeout: Duration) -> Result<usize, BackendError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            for index in 0..self.masters.len() {
                if self.is_leading(index).await {
                    self.leader
                        .store(index, std::sync::atomic::Ordering::Relaxed);
                    return Ok(index);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                let mut why = String::new();
                for slot in self.masters.iter().chain(std::iter::empty()) {
                    if let Some(death) = slot.node.death(&self.docker).await {
                        why.push_str(&format!("\n{}: {death}", slot.node.label));
                    }
                }
                if let Some(z) = &self.zookeeper
                    && let Some(death) = z.death(&self.docker).await
                {
                    why.push_str(&format!("\nzookeeper: {death}"));
                }
                return Err(BackendError::Failed(format!(
                    "no master was elected leader within {timeout:?}{why}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn master_slot(&mut self, index: usize) -> Result<&mut MasterSlot, BackendError> {
        self.masters
            .get_mut(index)
            .ok_or_else(|| BackendError::Failed(format!("there is no master-{}", index + 1)))
    }

    fn slot(&mut self, index: usize) -> Result<&mut AgentSlot, BackendError> {
        self.agents
            .get_mut(index)
            .ok_or(BackendError::NoSuchAgent(index))
    }

    /// A client for polling the master while nodes come up (see `MasterClient::probing`).
    fn client(&self) -> Result<MasterClient, BackendError> {
        let url = self.master()?.url().ok_or(BackendError::NoMaster)?;
        Ok(MasterClient::probing(url, PROBE_TIMEOUT))
    }

    /// Waits until the master serves its state and leads.
    async fn await_master(&self) -> Result<(), BackendError> {
        let master = self.master()?;
        let client = self.client()?;
        master
            .wait_until(&self.docker, "serve /master/state", STEP_TIMEOUT, || {
                let client = client.clone();
                async move { client.state().await.ok().map(|_| ()) }
            })
            .await
    }

    /// Waits until the master lists agent `index` as active (with `expected` as its id, when
    /// given: a restarted agent must come back as itself); returns its id.
    async fn await_agent_active(
        &self,
        index: usize,
        expected: Option<String>,
    ) -> Result<String, BackendError> {
        self.refresh_leader().await;
        let node = &self.agents[index].node;
        let client = self.client()?;
        let agent = node
            .url()
            .map(|url| MasterClient::probing(url, PROBE_TIMEOUT));
        let pid_suffix = format!("@{}:{AGENT_PORT}", node.ip);
        let what = match &expected {
            Some(id) => format!("re-register with the master as {id}"),
            None => "register with the master".to_string(),
        };
        node.wait_until(&self.docker, &what, STEP_TIMEOUT, || {
            let (client, agent, pid_suffix, expected) = (
                client.clone(),
                agent.clone(),
                pid_suffix.clone(),
                expected.clone(),
            );
            async move {
                let state = client.state().await.ok()?;
                let id = state
                    .slaves
                    .into_iter()
                    .find(|a| {
                        a.active
                            && a.pid.ends_with(&pid_suffix)
                            && expected.as_ref().is_none_or(|id| &a.id == id)
                    })
                    .map(|a| a.id)?;
                // The master lists an agent as soon as it has registered it, before the agent
                // has its answer and has checkpointed its id: an agent killed in between
                // would come back as a new one. Ready is when the agent itself knows its id.
                // (An agent that cannot be asked — its published port does not survive a
                // partition — is taken at the master's word.)
                let Some(agent) = agent else {
                    return Some(id);
                };
                match agent.get::<AgentOwnState>("/state").await {
                    Ok(own) => (own.id == id).then_some(id),
                    Err(_) => Some(id),
                }
            }
        })
        .await
    }

    /// Waits until the master no longer lists agent `index` as active.
    async fn await_agent_gone(&self, index: usize) -> Result<(), BackendError> {
        let Some(id) = self.agents[index].id.clone() else {
            return Ok(());
        };
        self.refresh_leader().await;
        let client = self.client()?;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            match client.state().await {
                Ok(state) if !state.slaves.iter().any(|a| a.id == id && a.active) => {
                    return Ok(());
                }
                _ => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
        Err(BackendError::Failed(format!(
            "the master still lists agent-{} ({id}) as active {STEP_TIMEOUT:?} after it stopped",
            index + 1
        )))
    }

    fn new_agent(&self, index: usize, spec: &AgentSpec) -> Result<ContainerSpec, BackendError> {
        if index >= MAX_AGENTS {
            return Err(BackendError::Failed(format!(
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
    async fn start_agent_container(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let refused = match self.agents[index].node.start(&docker).await {
            Ok(()) => return Ok(()),
            Err(BackendError::Failed(m))
                if specs::is_privilege_refusal(&m) && self.agents[index].node.spec.privileged =>
            {
                m
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
        let node =
            NodeContainer::create(&self.docker, format!("agent-{}", index + 1), container).await?;
        self.agents.push(AgentSlot {
            node,
            request: spec.clone(),
            id: None,
            state: AgentState::Stopped,
        });
        Ok(index)
    }

    /// Every node's container (master, agents, framework containers), for artifacts.
    fn nodes(&self) -> Vec<&NodeContainer> {
        let containers = self.frameworks.iter().filter_map(|f| match f {
            FrameworkSlot::Container(node) => Some(node),
            FrameworkSlot::Process(_) => None,
        });
        self.zookeeper
            .iter()
            .chain(self.masters.iter().map(|m| &m.node))
            .chain(self.agents.iter().map(|a| &a.node))
            .chain(containers)
            .collect()
    }

    fn framework(&mut self, index: usize) -> Result<&mut FrameworkSlot, BackendError> {
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
        let mut image = request.image.clone().unwrap_or_default();
        if image == NODE_IMAGE_ALIAS {
            image = match &self.images {
                NodeImages::Mmrun { image } => image.clone(),
                NodeImages::RealMesos { .. } => {
                    return Err(BackendError::Failed(format!(
                        "image \"{NODE_IMAGE_ALIAS}\" is mmrun's node image, which a cluster of real Mesos (mesos_image) does not build: give your framework's own image"
                    )));
                }
            };
        }
        if request.cwd.is_some() {
            return Err(BackendError::Failed(
                "cwd is for a framework run as a host process (without image); a container runs in its image's working directory".into(),
            ));
        }
        let container = self.framework_containers;
        if container >= MAX_FRAMEWORKS {
            return Err(BackendError::Failed(format!(
                "a Docker cluster holds at most {MAX_FRAMEWORKS} framework containers"
            )));
        }
        let docker = self.docker.clone();
        if !docker.image_exists(&image).await? {
            return Err(BackendError::Failed(format!(
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
        if !self.masters.is_empty() {
            return Err(BackendError::Failed(format!(
                "the master is already running at {}",
                self.master_url().unwrap_or_default()
            )));
        }
        let (zookeeper, masters) = self.control_plane_specs()?;
        self.create_control_plane(zookeeper, masters).await?;
        self.start_control_plane().await?;
        self.await_control_plane().await?;
        Ok(self.master()?.url().unwrap_or_default())
    }

    async fn start_cluster(
        &mut self,
        agents: Vec<AgentSpec>,
    ) -> Result<(String, Vec<String>), BackendError> {
        if !self.masters.is_empty() {
            return Err(BackendError::Failed(
                "the cluster is already started".into(),
            ));
        }
        // Every address is known up front (see layout), so every container is created and
        // started at once and the nodes find each other as they come up.
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
                .map(|(i, s)| NodeContainer::create(&docker, format!("agent-{}", i + 1), s)),
        );
        let phase = std::time::Instant::now();
        let (master, created) = crate::timing::timed("cluster.create_containers", async {
            tokio::join!(
                self.create_control_plane(zookeeper_spec, master_specs),
                create_agents
            )
        })
        .await;
        tracing::debug!(took = ?phase.elapsed(), "created the node containers");
        // Keep whatever was created, so teardown removes it even when a sibling failed.
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
        if let Some(e) = first_error {
            return Err(e);
        }
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
        tracing::debug!(took = ?phase.elapsed(), "started the node containers");
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
            self.start_agent_container(first).await?;
            let restarted =
                futures::future::join_all(rest.iter().map(|&i| self.recreate_agent(i))).await;
            for (&i, node) in rest.iter().zip(restarted) {
                self.agents[i].node = node?;
            }
        }
        for slot in &mut self.agents {
            slot.state = AgentState::Running;
        }
        crate::timing::timed("cluster.master_ready", self.await_control_plane()).await?;
        tracing::debug!(took = ?phase.elapsed(), "the master serves");
        let ids = crate::timing::timed(
            "cluster.agents_active",
            futures::future::join_all(
                (0..self.agents.len()).map(|i| self.await_agent_active(i, None)),
            ),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<String>, _>>()?;
        tracing::debug!(took = ?phase.elapsed(), "every agent is active");
        for (slot, id) in self.agents.iter_mut().zip(&ids) {
            slot.id = Some(id.clone());
        }
        Ok((self.master()?.url().unwrap_or_default(), ids))
    }

    fn master_url(&self) -> Option<String> {
        self.master().ok().and_then(|m| m.url())
    }

    async fn leader_url(&self) -> Option<String> {
        self.refresh_leader().await;
        let leader = self.leader.load(std::sync::atomic::Ordering::Relaxed);
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
            .ok_or_else(|| BackendError::Failed(format!("there is no master-{}", index + 1)))?;
        let running = slot.running && slot.node.death(&self.docker).await.is_none();
        Ok(MasterStatus {
            url: slot.node.url().unwrap_or_default(),
            advertised: format!("{}:{}", slot.node.ip, specs::MASTER_PORT),
            running,
            leading: running && self.is_leading(index).await,
        })
    }

    async fn stop_master(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.master_slot(index)?;
        if !slot.running {
            return Err(BackendError::Failed(
                "the master is not running (start() it first)".into(),
            ));
        }
        let id = slot.node.id.clone();
        if graceful {
            // SIGTERM: the master leaves the election at once.
            docker.stop_container(&id, STOP_GRACE).await?;
        } else {
            docker.kill_container(&id, "SIGKILL").await?;
            docker.wait_container(&id).await?;
        }
        self.master_slot(index)?.running = false;
        Ok(())
    }

    async fn start_master_at(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.master_slot(index)?;
        if slot.running && slot.node.death(&docker).await.is_none() {
            return Err(BackendError::Failed("the master is already running".into()));
        }
        let mut node = slot.node.clone();
        node.start(&docker).await?;
        let slot = self.master_slot(index)?;
        slot.node = node;
        slot.running = true;
        let url = slot.node.url().unwrap_or_default();
        // Serving is enough: it joins the election behind the masters already there.
        let client = MasterClient::probing(url, PROBE_TIMEOUT);
        self.masters[index]
            .node
            .wait_until(&self.docker, "serve /health", STEP_TIMEOUT, || {
                let client = client.clone();
                async move { client.raw_metrics().await.ok().map(|_| ()) }
            })
            .await
    }

    fn zookeeper_url(&self) -> Option<String> {
        let node = self.zookeeper.as_ref()?;
        super::zookeeper::host_address(node)
            .map(|addr| format!("zk://{addr}{}", crate::cluster::ZOOKEEPER_PATH))
    }

    async fn stop_zookeeper(&mut self, graceful: bool) -> Result<(), BackendError> {
        let node = self.zookeeper.as_ref().ok_or_else(no_zookeeper)?;
        if !self.zookeeper_running {
            return Err(BackendError::Failed("ZooKeeper is not running".into()));
        }
        if graceful {
            self.docker.stop_container(&node.id, STOP_GRACE).await?;
        } else {
            self.docker.kill_container(&node.id, "SIGKILL").await?;
            self.docker.wait_container(&node.id).await?;
        }
        self.zookeeper_running = false;
        Ok(())
    }

    async fn start_zookeeper(&mut self) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let mut node = self.zookeeper.clone().ok_or_else(no_zookeeper)?;
        if self.zookeeper_running {
            return Err(BackendError::Failed("ZooKeeper is already running".into()));
        }
        node.start(&docker).await?;
        super::zookeeper::wait_ready(&docker, &node, STEP_TIMEOUT).await?;
        self.zookeeper = Some(node);
        self.zookeeper_running = true;
        Ok(())
    }

    async fn add_agent(&mut self, spec: AgentSpec) -> Result<(usize, String), BackendError> {
        self.master()?;
        let index = self.create_agent(&spec).await?;
        self.start_agent_container(index).await?;
        self.agents[index].state = AgentState::Running;
        let id = self.await_agent_active(index, None).await?;
        self.agents[index].id = Some(id.clone());
        Ok((index, id))
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
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        match slot.state {
            AgentState::Stopped => {
                return Err(BackendError::Failed("the agent is already stopped".into()));
            }
            // A frozen container cannot handle SIGTERM; thaw it first, as `docker stop` needs.
            AgentState::Paused => docker.unpause_container(&slot.node.id).await?,
            AgentState::Running | AgentState::Disconnected => {}
        }
        let id = slot.node.id.clone();
        if graceful {
            // SIGTERM: the agent kills its tasks and says goodbye to the master.
            docker.stop_container(&id, STOP_GRACE).await?;
            self.slot(index)?.state = AgentState::Stopped;
            self.await_agent_gone(index).await
        } else {
            docker.kill_container(&id, "SIGKILL").await?;
            docker.wait_container(&id).await?;
            self.slot(index)?.state = AgentState::Stopped;
            Ok(())
        }
    }

    async fn start_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        if slot.state != AgentState::Stopped {
            return Err(BackendError::Failed("the agent is already running".into()));
        }
        slot.node.start(&docker).await?;
        slot.state = AgentState::Running;
        // The agent recovers its id from its work dir, which the container kept.
        let expected = slot.id.clone();
        let id = self.await_agent_active(index, expected).await?;
        self.slot(index)?.id = Some(id);
        Ok(())
    }

    async fn restart_master(&mut self) -> Result<(), BackendError> {
        if self.spec.has_zookeeper() {
            // The leader stops (another leads meanwhile) and starts again behind it; agents
            // and frameworks follow the new leader through ZooKeeper.
            self.refresh_leader().await;
            let index = self.leader.load(std::sync::atomic::Ordering::Relaxed);
            self.stop_master(index, true).await?;
            self.start_master_at(index).await?;
            self.await_leader(STEP_TIMEOUT).await?;
            return Ok(());
        }
        let old = self.master()?.clone();
        let docker = self.docker.clone();
        // A fresh container on the same address and the same host port, so agents and clients
        // holding the master's URL keep working (Docker would pick a new port on restart).
        let logs = docker.container_logs(&old.id).await.unwrap_or_default();
        self.earlier_logs
            .push(("master (before restart)".into(), logs));
        docker.stop_container(&old.id, STOP_GRACE).await?;
        docker.remove_container(&old.id).await?;
        let mut spec = old.spec.clone();
        if let Some(p) = spec.ports.first_mut() {
            p.host_port = old.host_port;
        }
        let mut node = NodeContainer::create(&docker, "master", spec).await?;
        let started = node.start(&docker).await;
        self.masters[self.leader.load(std::sync::atomic::Ordering::Relaxed)].node = node;
        started?;
        self.await_master().await?;
        for index in 0..self.agents.len() {
            if self.agents[index].state == AgentState::Running {
                let expected = self.agents[index].id.clone();
                self.await_agent_active(index, expected).await?;
            }
        }
        Ok(())
    }

    async fn pause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        if slot.state != AgentState::Running {
            return Err(BackendError::Failed(format!(
                "only a running agent can be paused (this one is {:?})",
                slot.state
            )));
        }
        docker.pause_container(&slot.node.id).await?;
        slot.state = AgentState::Paused;
        Ok(())
    }

    async fn unpause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        if slot.state != AgentState::Paused {
            return Err(BackendError::Failed("the agent is not paused".into()));
        }
        docker.unpause_container(&slot.node.id).await?;
        slot.state = AgentState::Running;
        Ok(())
    }

    async fn disconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let network = self.layout.network.clone();
        let slot = self.slot(index)?;
        if slot.state != AgentState::Running {
            return Err(BackendError::Failed(format!(
                "only a running agent can be disconnected (this one is {:?})",
                slot.state
            )));
        }
        docker.disconnect_network(&network, &slot.node.id).await?;
        slot.state = AgentState::Disconnected;
        Ok(())
    }

    async fn reconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let network = self.layout.network.clone();
        let slot = self.slot(index)?;
        if slot.state != AgentState::Disconnected {
            return Err(BackendError::Failed("the agent is not disconnected".into()));
        }
        docker
            .connect_network(&network, &slot.node.id, Some(slot.node.ip))
            .await?;
        slot.state = AgentState::Running;
        Ok(())
    }

    async fn run_framework(
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

    async fn framework_logs(&self, index: usize) -> Result<String, BackendError> {
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

    async fn framework_status(&mut self, index: usize) -> Result<FrameworkStatus, BackendError> {
        let docker = self.docker.clone();
        match self.framework(index)? {
            FrameworkSlot::Process(p) => Ok(p.status()),
            FrameworkSlot::Container(node) => match docker.inspect(&node.id).await? {
                Some(d) if d.is_running() => Ok(FrameworkStatus::Running),
                Some(d) => Ok(FrameworkStatus::Exited(d.exit_code.unwrap_or(-1) as i32)),
                None => Err(BackendError::Failed(format!(
                    "{} was removed from the Docker engine",
                    node.name
                ))),
            },
        }
    }

    async fn stop_framework(
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

    async fn start_framework(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        match self.framework(index)? {
            FrameworkSlot::Process(p) => Ok(p.restart().await?),
            FrameworkSlot::Container(node) => {
                if docker
                    .inspect(&node.id)
                    .await?
                    .is_some_and(|d| d.is_running())
                {
                    return Err(BackendError::Failed(
                        "it is still running: stop() or kill() it first".into(),
                    ));
                }
                node.start(&docker).await
            }
        }
    }

    async fn save_artifacts(&self, dir: &Path) -> Vec<PathBuf> {
        let processes: Vec<&FrameworkProcess> = self
            .frameworks
            .iter()
            .filter_map(|f| match f {
                FrameworkSlot::Process(p) => Some(p),
                FrameworkSlot::Container(_) => None,
            })
            .collect();
        let mut saved = process::save_logs(processes, dir);
        let mut logs: Vec<(String, String)> = self.earlier_logs.clone();
        for node in self.nodes() {
            let text = self
                .docker
                .container_logs(&node.id)
                .await
                .unwrap_or_else(|e| format!("(cannot read the logs: {e})\n"));
            logs.push((node.label.clone(), text));
        }
        for (label, text) in logs {
            let path = dir.join(format!("{}.log", label.replace([' ', '(', ')'], "_")));
            if std::fs::write(&path, text).is_ok() {
                saved.push(path);
            }
        }
        saved
    }

    fn how_to_reach(&self) -> Option<String> {
        let mut lines = vec![format!(
            "cluster {} on network {}:",
            self.layout.owner.run, self.layout.network
        )];
        if let Some(url) = self.zookeeper_url() {
            lines.push(format!(
                "  zookeeper {url}  (masters, agents and frameworks find the leader there)"
            ));
        }
        for m in &self.masters {
            lines.push(format!(
                "  {}   {}  (container {}, {} on the network)",
                m.node.label,
                m.node.url().unwrap_or_default(),
                m.node.name,
                m.node.ip
            ));
        }
        // Any master's `/` serves the web UI, which follows the leader itself.
        if let Some(url) = self.masters.first().and_then(|m| m.node.url()) {
            lines.push(format!("  web UI    {url}/"));
        }
        for a in &self.agents {
            lines.push(format!(
                "  {}  {}  (container {})",
                a.node.label,
                a.node.url().unwrap_or_default(),
                a.node.name
            ));
        }
        lines.push(format!(
            "  remove it with: mmrun down {}",
            self.layout.owner.run
        ));
        Some(lines.join("\n"))
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
        // Framework processes on this host first: they would only see their master vanish.
        for f in &mut self.frameworks {
            if let FrameworkSlot::Process(p) = f {
                p.stop(Some(process::TEARDOWN_GRACE)).await;
            }
        }
        self.frameworks
            .retain(|f| matches!(f, FrameworkSlot::Container(_)));
        // Every node container this handle knows, all at once (each removal is a kill, not a
        // graceful stop: nothing of a cluster being torn down needs to end cleanly). Agents
        // must be among them before the sweep below lists the rest, so none starts a task
        // container after the sweep has listed them; the master goes with them rather than
        // after, which would cost one more removal's latency.
        let phase = crate::timing::phase("teardown.nodes");
        let nodes = self
            .nodes()
            .into_iter()
            .map(|n| self.docker.remove_container(&n.id));
        for r in futures::future::join_all(nodes).await {
            if let Err(e) = r {
                tracing::warn!("{e}");
            }
        }
        phase.end();
        // Then everything labelled with this cluster's run id: nodes, framework and task
        // containers, and the network.
        let _phase = crate::timing::phase("teardown.rest");
        let selector = Selector::run(&self.layout.owner.run);
        if let Err(e) = crate::docker::remove_labelled(&self.docker, &selector).await {
            eprintln!("mmrun: cleaning up cluster {}: {e}", self.layout.owner.run);
        }
    }
}

/// The one field of an agent's own `/state` that readiness needs: the id it registered as
/// (empty until it has).
#[derive(serde::Deserialize)]
struct AgentOwnState {
    #[serde(default)]
    id: String,
}

fn no_zookeeper() -> BackendError {
    BackendError::Failed(
        "the cluster has no ZooKeeper: create it with cluster(#{ zookeeper: true })".into(),
    )
}

/// A port free on 127.0.0.1 now, for a container port published at a fixed host port.
fn free_loopback_port() -> Result<u16, BackendError> {
    std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| BackendError::Failed(format!("cannot find a free port on 127.0.0.1: {e}")))
}
