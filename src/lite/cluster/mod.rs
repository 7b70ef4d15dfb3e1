//! An in-process cluster: one master and N agents inside this process, each its own HTTP
//! server on the master's IP (127.0.0.1 by default) with an ephemeral port and its own work dir
//! under one temporary root.
//! Any node can be stopped gracefully or crash-like and started again, and agents can be paused
//! or cut off the network (`pause_agent`, `disconnect_agent`); `shutdown` stops everything and
//! removes every file. The scenario runner's embedded backend builds on this.

mod descriptors;
mod error;
mod options;
mod simulated;

pub use error::NodeError;
pub use options::{AgentOptions, ClusterOptions, Containerizers, DockerContainerizer};

use crate::lite::agent::{Agent, AgentConfig, FaultError, Faults};
use crate::lite::master::{Leadership, Master, MasterConfig};
use crate::mesos::attributes::parse_attributes;
use crate::mesos::ids::AgentId;
use crate::mesos::resources::Resources;
use crate::node_log::NodeLog;
use descriptors::descriptors_for_one_more_agent;
use error::{AGENT, MASTER, invalid, no_agent, no_master};
use simulated::sim_error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;

struct LocalAgent {
    agent: Option<Agent>,
    /// Its log, across restarts (see `crate::node_log`).
    log: NodeLog,
    work_dir: PathBuf,
    id: Option<AgentId>,
    options: AgentOptions,
    containerizers: Containerizers,
}

/// A specific IPv4 address nodes can advertise; 0.0.0.0 keeps the loopback default.
fn advertisable(ip: std::net::IpAddr) -> Option<std::net::Ipv4Addr> {
    match ip {
        std::net::IpAddr::V4(v4) if !v4.is_unspecified() => Some(v4),
        _ => None,
    }
}

/// One master: running or stopped, always on the same address.
struct LocalMaster {
    master: Option<Master>,
    addr: SocketAddr,
    /// Its log, across restarts (see `crate::node_log`).
    log: NodeLog,
}

impl LocalMaster {
    /// Starts the master inside its node span, so what it logs is filed as its own.
    fn start(&mut self, listener: TcpListener, config: MasterConfig) -> std::io::Result<()> {
        let _in = self.log.span().enter();
        self.master = Some(Master::start_on(listener, config)?);
        Ok(())
    }
}

/// One agent of the cluster: a real one (its own listener, process tree and sandboxes) or a
/// simulated one (an agent of the cluster's `SimHost`, by its index there).
enum AgentSlot {
    Real(Box<LocalAgent>),
    Simulated(usize),
}

impl AgentSlot {
    fn real(&self) -> Option<&LocalAgent> {
        match self {
            AgentSlot::Real(agent) => Some(agent),
            AgentSlot::Simulated(_) => None,
        }
    }
}

pub struct LocalCluster {
    masters: Vec<LocalMaster>,
    master_config: MasterConfig,
    agents: Vec<AgentSlot>,
    /// The host of the simulated agents, once one is added.
    sim: Option<crate::lite::sim::SimHost>,
    options: ClusterOptions,
    root: Option<tempfile::TempDir>,
    /// Removes `root` should this process die without `shutdown` (SIGKILL).
    _root_watched: crate::process::guard::Watched,
}

impl LocalCluster {
    /// Starts a master; add agents with `add_agent`.
    pub async fn start(options: ClusterOptions) -> std::io::Result<LocalCluster> {
        let root = tempfile::Builder::new()
            .prefix("mmrun-cluster-")
            .tempdir()?;
        let mut master_config = MasterConfig::in_process()
            .with_agent_ping(options.agent_ping_timeout, options.max_agent_ping_timeouts);
        if let Some(ip) = advertisable(options.master_addr.ip()) {
            master_config.address.advertise_ip = ip;
            master_config.address.hostname = ip.to_string();
        }
        if let Some(zk) = &options.zookeeper {
            master_config = master_config.with_zookeeper(zk.clone(), options.zk_session_timeout);
        } else if options.masters > 1 {
            return Err(std::io::Error::other(
                "more than one master needs ZooKeeper to elect the leader",
            ));
        }
        let mut masters = Vec::new();
        for index in 0..options.masters.max(1) {
            let addr = if index == 0 {
                options.master_addr
            } else {
                SocketAddr::new(options.master_addr.ip(), 0)
            };
            let listener = TcpListener::bind(addr).await?;
            let name = if options.masters > 1 {
                format!("master-{}", index + 1)
            } else {
                "master".to_string()
            };
            let mut slot = LocalMaster {
                addr: listener.local_addr()?,
                master: None,
                log: NodeLog::new(&name),
            };
            slot.start(listener, master_config.clone())?;
            masters.push(slot);
        }
        Ok(LocalCluster {
            masters,
            master_config,
            agents: Vec::new(),
            sim: None,
            options,
            _root_watched: crate::process::guard::watch_dir(root.path()),
            root: Some(root),
        })
    }

    /// The leading master's URL (with ZooKeeper, the first running master's while none leads).
    pub fn master_url(&self) -> String {
        format!("http://{}", self.master_addr())
    }

    /// The temporary directory holding every node's files; removed by `shutdown`.
    pub fn root_dir(&self) -> Option<&std::path::Path> {
        self.root.as_ref().map(|r| r.path())
    }

    /// The leading master's address; see `master_url`.
    pub fn master_addr(&self) -> SocketAddr {
        let running = || self.masters.iter().filter(|m| m.master.is_some());
        running()
            .find(|m| {
                m.master
                    .as_ref()
                    .is_some_and(|m| m.leadership() == Leadership::Leading)
            })
            .or_else(|| running().next())
            .unwrap_or(&self.masters[0])
            .addr
    }

    pub fn master_count(&self) -> usize {
        self.masters.len()
    }

    /// Master `index`'s URL, running or not.
    pub fn master_url_of(&self, index: usize) -> Option<String> {
        self.masters
            .get(index)
            .map(|m| format!("http://{}", m.addr))
    }

    /// What master `index` knows of the leader; `None` when it is not running.
    pub fn master_leadership(&self, index: usize) -> Option<Leadership> {
        self.masters
            .get(index)
            .and_then(|m| m.master.as_ref())
            .map(Master::leadership)
    }

    /// Why master `index` stopped on its own (lost its ZooKeeper session or leadership).
    pub fn master_lost(&self, index: usize) -> Option<String> {
        self.masters
            .get(index)
            .and_then(|m| m.master.as_ref())
            .and_then(Master::lost)
    }

    /// Stops master `index`: gracefully (it leaves the election at once) or as a crash (its
    /// leadership lasts until its ZooKeeper session expires).
    pub async fn stop_master(&mut self, index: usize, graceful: bool) -> Result<(), NodeError> {
        let slot = self
            .masters
            .get_mut(index)
            .ok_or_else(|| no_master(index))?;
        let master = slot.master.take().ok_or(NodeError::NotRunning {
            role: MASTER,
            index,
        })?;
        if graceful {
            master.stop().await;
        } else {
            master.kill().await;
        }
        Ok(())
    }

    /// Starts master `index` again on its address, with a new id and an empty registry.
    pub async fn start_master(&mut self, index: usize) -> Result<(), NodeError> {
        let config = self.master_config.clone();
        let slot = self
            .masters
            .get_mut(index)
            .ok_or_else(|| no_master(index))?;
        if slot.master.as_ref().is_some_and(|m| m.lost().is_none()) {
            return Err(NodeError::AlreadyRunning {
                role: MASTER,
                index,
            });
        }
        // One that stopped on its own: clear it away before starting anew.
        if let Some(stopped) = slot.master.take() {
            stopped.stop().await;
        }
        let listener = rebind(slot.addr)
            .await
            .map_err(|source| NodeError::Listen {
                role: MASTER,
                index,
                addr: slot.addr,
                source,
            })?;
        slot.start(listener, config)
            .map_err(|source| NodeError::Start {
                role: MASTER,
                index,
                source,
            })?;
        Ok(())
    }

    /// Each node's log lines (`master` or `master-N`, `agent-N`), for artifacts; empty when
    /// this process captures no node logs (see `crate::node_log`).
    pub fn node_logs(&self) -> Vec<(String, Vec<String>)> {
        let masters = self.masters.iter().map(|m| &m.log);
        let agents = self
            .agents
            .iter()
            .filter_map(AgentSlot::real)
            .map(|a| &a.log);
        masters
            .chain(agents)
            .filter(|log| log.captured())
            .map(|log| (log.name().to_string(), log.lines()))
            .collect()
    }

    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// Adds an agent and waits until the master has registered it. Returns its index.
    pub async fn add_agent(&mut self, options: AgentOptions) -> Result<usize, NodeError> {
        self.add_agent_with(options, Containerizers::default())
            .await
    }

    /// [`add_agent`](Self::add_agent), with the containerizers the agent runs tasks with (kept
    /// when it is restarted).
    pub async fn add_agent_with(
        &mut self,
        options: AgentOptions,
        containerizers: Containerizers,
    ) -> Result<usize, NodeError> {
        descriptors_for_one_more_agent(self.agents.len())?;
        // Set when the cluster starts; only its shutdown (which consumes it) and drop take it.
        let root = self.root.as_ref().expect("cluster is running").path();
        let work_dir = root.join(format!("agent-{}", self.agents.len()));
        // Validate up front so a bad option is an error, not an agent that never starts.
        if let Some(r) = &options.resources {
            Resources::parse(r).map_err(|e| invalid("resources", e))?;
        }
        if let Some(a) = &options.attributes {
            parse_attributes(a).map_err(|e| invalid("attributes", e))?;
        }
        let log = NodeLog::new(&format!("agent-{}", self.agents.len() + 1));
        self.agents.push(AgentSlot::Real(Box::new(LocalAgent {
            agent: None,
            log,
            work_dir,
            id: None,
            options,
            containerizers,
        })));
        let index = self.agents.len() - 1;
        self.start_agent(index).await?;
        Ok(index)
    }

    /// (Re)starts agent `index`; a restarted agent re-registers with the id it had.
    pub async fn start_agent(&mut self, index: usize) -> Result<AgentId, NodeError> {
        let master_addr = self.masters[0].addr;
        let zookeeper = self.options.zookeeper.clone();
        let zk_session_timeout = self.options.zk_session_timeout;
        let timeout = self.options.registration_timeout;
        let retry = self.options.status_update_retry;
        let slot = match self.agents.get_mut(index).ok_or_else(|| no_agent(index))? {
            AgentSlot::Real(slot) => slot,
            AgentSlot::Simulated(sim_index) => {
                let sim_index = *sim_index;
                return self.start_simulated_agent(index, sim_index).await;
            }
        };
        if slot.agent.is_some() {
            return Err(NodeError::AlreadyRunning { role: AGENT, index });
        }
        let mut config = AgentConfig::in_process(master_addr, slot.work_dir.clone());
        if let Some(zk) = zookeeper {
            config = config.following(zk, zk_session_timeout);
        }
        config.status_update_retry = retry;
        config.executor_registration_timeout = self.options.executor_registration_timeout;
        if let Some(ip) = advertisable(master_addr.ip()) {
            config.address.advertise_ip = ip;
            config.address.hostname = ip.to_string();
        }
        if let Some(r) = &slot.options.resources {
            config.resources = Resources::parse(r)
                .map_err(|e| invalid("resources", e))?
                .with_agent_defaults();
        }
        if let Some(a) = &slot.options.attributes {
            config.attributes = parse_attributes(a).map_err(|e| invalid("attributes", e))?;
        }
        slot.containerizers.apply(&mut config);
        // Listen on the master's IP, which is also what the agent advertises (above): an agent
        // on 127.0.0.1 advertising another address could not be reached by the master.
        // (Nodes advertise IPv4 only, so an IPv6 master keeps agents on loopback.)
        let bind_ip = match master_addr.ip() {
            ip @ std::net::IpAddr::V4(_) => ip,
            std::net::IpAddr::V6(_) => std::net::Ipv4Addr::LOCALHOST.into(),
        };
        config.address.bind = SocketAddr::new(bind_ip, 0);
        let listener = TcpListener::bind(config.address.bind)
            .await
            .map_err(|source| NodeError::Listen {
                role: AGENT,
                index,
                addr: config.address.bind,
                source,
            })?;
        let agent = {
            let _in = slot.log.span().enter();
            Agent::start_on(listener, config, slot.id.clone()).map_err(|source| {
                NodeError::Start {
                    role: AGENT,
                    index,
                    source,
                }
            })?
        };
        let id = agent.registered(timeout).await?;
        slot.id = Some(id.clone());
        slot.agent = Some(agent);
        Ok(id)
    }

    /// Stops agent `index`: gracefully (its tasks are killed and it unregisters) or as a crash
    /// (it just vanishes; the master finds out through missed pings). A paused agent can crash
    /// but not stop gracefully: it could not say goodbye.
    pub async fn stop_agent(&mut self, index: usize, graceful: bool) -> Result<(), NodeError> {
        let slot = match self.agents.get_mut(index).ok_or_else(|| no_agent(index))? {
            AgentSlot::Real(slot) => slot,
            AgentSlot::Simulated(sim_index) => {
                let sim_index = *sim_index;
                return self
                    .sim_host()?
                    .stop_agent(sim_index, graceful)
                    .await
                    .map_err(|e| sim_error(index, e));
            }
        };
        if graceful && slot.agent.as_ref().is_some_and(|a| a.faults().paused) {
            return Err(NodeError::Paused(index));
        }
        let agent = slot
            .agent
            .take()
            .ok_or(NodeError::NotRunning { role: AGENT, index })?;
        if graceful {
            agent.stop().await
        } else {
            agent.crash().await
        }
        Ok(())
    }

    fn running_agent(&self, index: usize) -> Result<&Agent, NodeError> {
        self.agents
            .get(index)
            .ok_or(no_agent(index))?
            .real()
            .and_then(|a| a.agent.as_ref())
            .ok_or(NodeError::NotRunning { role: AGENT, index })
    }

    /// A fault on agent `index`, real (`real`) or simulated (`simulated`).
    fn fault(
        &self,
        index: usize,
        real: impl FnOnce(&Agent) -> Result<(), FaultError>,
        simulated: impl FnOnce(
            &crate::lite::sim::SimHost,
            usize,
        ) -> Result<(), crate::lite::sim::SimError>,
    ) -> Result<(), NodeError> {
        if let Some(AgentSlot::Simulated(sim_index)) = self.agents.get(index) {
            return simulated(self.sim_host()?, *sim_index).map_err(|e| sim_error(index, e));
        }
        real(self.running_agent(index)?).map_err(|error| NodeError::Fault { index, error })
    }

    /// Freezes agent `index` (`Agent::pause`): no answers, nothing sent, tasks stopped. The
    /// master marks it unreachable after its missed pings.
    pub fn pause_agent(&self, index: usize) -> Result<(), NodeError> {
        self.fault(index, Agent::pause, |host, i| host.pause(i))
    }

    /// Thaws agent `index`; if the master marked it unreachable meanwhile, it re-registers.
    pub fn unpause_agent(&self, index: usize) -> Result<(), NodeError> {
        self.fault(index, Agent::unpause, |host, i| host.unpause(i))
    }

    /// Cuts agent `index` off the network (`Agent::disconnect`): it keeps running, but nothing
    /// reaches it and nothing it sends arrives.
    pub fn disconnect_agent(&self, index: usize) -> Result<(), NodeError> {
        self.fault(index, Agent::disconnect, |host, i| host.disconnect(i))
    }

    /// Heals agent `index`'s partition; it re-registers with its tasks if it was marked
    /// unreachable, and delivers the updates it queued meanwhile.
    pub fn reconnect_agent(&self, index: usize) -> Result<(), NodeError> {
        self.fault(index, Agent::reconnect, |host, i| host.reconnect(i))
    }

    /// Agent `index`'s status updates still waiting for acknowledgement (`None` if it is not
    /// running): tests wait for zero before injecting a fault, so that no acknowledgement is
    /// in flight when it starts.
    pub fn agent_unacknowledged_updates(&self, index: usize) -> Option<usize> {
        if let Some(AgentSlot::Simulated(sim_index)) = self.agents.get(index) {
            return self.sim.as_ref()?.unacknowledged_updates(*sim_index);
        }
        self.running_agent(index)
            .ok()
            .map(Agent::unacknowledged_updates)
    }

    /// Whether agent `index` is paused or disconnected; `None` if it is not running.
    pub fn agent_faults(&self, index: usize) -> Option<Faults> {
        if let Some(AgentSlot::Simulated(sim_index)) = self.agents.get(index) {
            return self.sim.as_ref()?.faults(*sim_index);
        }
        self.running_agent(index).ok().map(Agent::faults)
    }

    pub fn agent_id(&self, index: usize) -> Option<AgentId> {
        match self.agents.get(index)? {
            AgentSlot::Real(a) => a.id.clone(),
            AgentSlot::Simulated(i) => self.sim.as_ref()?.agent_id(*i),
        }
    }

    pub fn agent_url(&self, index: usize) -> Option<String> {
        self.agents
            .get(index)
            .and_then(AgentSlot::real)
            .and_then(|a| a.agent.as_ref())
            .map(|a| a.url())
    }

    pub fn is_agent_running(&self, index: usize) -> bool {
        match self.agents.get(index) {
            Some(AgentSlot::Real(a)) => a.agent.is_some(),
            Some(AgentSlot::Simulated(i)) => self.sim.as_ref().is_some_and(|h| h.is_running(*i)),
            None => false,
        }
    }

    /// Stops the master abruptly and starts a fresh one (new id, empty registry) on the same
    /// address, as a restarted Mesos master with an in-memory registry; agents re-register.
    /// With several masters, the leader restarts (another leads meanwhile).
    pub async fn restart_master(&mut self) -> std::io::Result<()> {
        let addr = self.master_addr();
        let index = self
            .masters
            .iter()
            .position(|m| m.addr == addr)
            .ok_or_else(|| {
                std::io::Error::other(format!("no master of this cluster is at {addr}"))
            })?;
        if let Some(m) = self.masters[index].master.take() {
            m.stop().await;
        }
        let listener = rebind(addr).await?;
        let config = self.master_config.clone();
        self.masters[index].start(listener, config)?;
        Ok(())
    }

    /// Stops every node (agents first, killing their tasks) and removes every file.
    pub async fn shutdown(mut self) {
        self.stop_all().await;
    }

    async fn stop_all(&mut self) {
        if let Some(sim) = self.sim.take() {
            sim.shutdown();
        }
        for slot in &mut self.agents {
            if let AgentSlot::Real(slot) = slot
                && let Some(agent) = slot.agent.take()
            {
                agent.crash().await;
            }
        }
        for slot in &mut self.masters {
            if let Some(master) = slot.master.take() {
                master.stop().await;
            }
        }
        if let Some(root) = self.root.take()
            && let Err(e) = root.close()
        {
            tracing::warn!("could not remove the cluster's files: {e}");
        }
    }
}

/// Binds an address that was just released. Its port was ephemeral, so for a moment the kernel
/// may hand it to another socket (a client's source port, another test's listener): retry
/// briefly before giving up, as a restarted Mesos node retries its bind.
pub async fn rebind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let mut attempts = 0;
    loop {
        match TcpListener::bind(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

impl Drop for LocalCluster {
    /// The safety net when `shutdown` was not awaited (a panic): agents' drops kill their
    /// tasks, and the temporary root is removed.
    fn drop(&mut self) {
        drop(self.sim.take());
        for slot in &mut self.agents {
            if let AgentSlot::Real(slot) = slot {
                drop(slot.agent.take());
            }
        }
        for slot in &mut self.masters {
            drop(slot.master.take());
        }
        drop(self.root.take());
    }
}
