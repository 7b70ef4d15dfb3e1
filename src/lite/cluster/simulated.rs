//! The cluster's simulated agents: one `SimHost` beside the master, started with the first of
//! them, on the master's IP. They take indices among the real agents, so every per-agent
//! operation (stop, start, pause, partition) names them alike.

use super::error::{AGENT, invalid};
use super::{AgentOptions, AgentSlot, LocalCluster, NodeError, advertisable};
use crate::lite::agent::MasterLocation;
use crate::lite::sim::{Behaviour, SimError, SimHost, SimHostConfig};
use crate::mesos::attributes::parse_attributes;
use crate::mesos::ids::AgentId;
use crate::mesos::resources::Resources;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;

/// How long registering may take per thousand agents, beyond the cluster's registration
/// timeout (a release build needs a tenth of it; a debug build under load, most).
const REGISTRATION_PER_THOUSAND: Duration = Duration::from_secs(5);

pub(super) fn sim_error(index: usize, e: SimError) -> NodeError {
    match e {
        SimError::NoSuchAgent(_) => NodeError::NoSuchNode { role: AGENT, index },
        SimError::NotRunning(_) => NodeError::NotRunning { role: AGENT, index },
        SimError::AlreadyRunning(_) => NodeError::AlreadyRunning { role: AGENT, index },
        SimError::Fault(_, error) => NodeError::Fault { index, error },
        not_registered @ SimError::NotRegistered { .. } => NodeError::Simulated {
            message: not_registered.to_string(),
        },
    }
}

impl LocalCluster {
    /// Adds `count` simulated agents with these options and default task behaviour, and
    /// waits until the master has registered them all. Returns their indices.
    pub async fn add_simulated_agents(
        &mut self,
        count: usize,
        options: AgentOptions,
        behaviour: Behaviour,
    ) -> Result<std::ops::Range<usize>, NodeError> {
        let resources = match &options.resources {
            Some(r) => Resources::parse(r).map_err(|e| invalid("resources", e))?,
            None => Resources::default(),
        }
        .with_agent_defaults();
        let attributes = match &options.attributes {
            Some(a) => parse_attributes(a).map_err(|e| invalid("attributes", e))?,
            None => Vec::new(),
        };
        // The cluster's one host for simulated agents, started with the first of them.
        let host = match self.sim.take() {
            Some(host) => host,
            None => self.start_sim_host().await?,
        };
        let host = &*self.sim.insert(host);
        let sim_indices = host.add_agents(count, &resources, &attributes, &behaviour);
        let first = self.agents.len();
        self.agents
            .extend(sim_indices.clone().map(AgentSlot::Simulated));
        let within = self.options.registration_timeout
            + REGISTRATION_PER_THOUSAND.mul_f64(count as f64 / 1000.0);
        host.registered(sim_indices, within)
            .await
            .map_err(|e| sim_error(first, e))?;
        Ok(first..first + count)
    }

    async fn start_sim_host(&self) -> Result<SimHost, NodeError> {
        let master_addr = self.masters[0].addr;
        let ip = match master_addr.ip() {
            std::net::IpAddr::V4(v4) => v4,
            std::net::IpAddr::V6(_) => Ipv4Addr::LOCALHOST,
        };
        let bind = SocketAddr::new(ip.into(), 0);
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| NodeError::Listen {
                role: AGENT,
                index: self.agents.len(),
                addr: bind,
                source,
            })?;
        let advertise_ip = advertisable(master_addr.ip()).unwrap_or(Ipv4Addr::LOCALHOST);
        let master = match &self.options.zookeeper {
            Some(zk) => MasterLocation::ZooKeeper(zk.clone()),
            None => MasterLocation::Fixed(master_addr),
        };
        SimHost::start_on(
            listener,
            SimHostConfig {
                master,
                zk_session_timeout: self.options.zk_session_timeout,
                advertise_ip,
                hostname: advertise_ip.to_string(),
                status_update_retry: self.options.status_update_retry,
            },
        )
        .map_err(|source| NodeError::Start {
            role: AGENT,
            index: self.agents.len(),
            source,
        })
    }

    pub(super) fn sim_host(&self) -> Result<&SimHost, NodeError> {
        self.sim.as_ref().ok_or(NodeError::NoSuchNode {
            role: AGENT,
            index: self.agents.len(),
        })
    }

    /// Starts stopped simulated agent `index` (host index `sim_index`) and waits until it
    /// has registered again.
    pub(super) async fn start_simulated_agent(
        &mut self,
        index: usize,
        sim_index: usize,
    ) -> Result<AgentId, NodeError> {
        let host = self.sim_host()?;
        host.start_agent(sim_index)
            .map_err(|e| sim_error(index, e))?;
        let ids = host
            .registered(sim_index..sim_index + 1, self.options.registration_timeout)
            .await
            .map_err(|e| sim_error(index, e))?;
        // One agent asked for, so one id (the host fails the wait otherwise).
        ids.into_iter()
            .next()
            .ok_or(NodeError::NoSuchNode { role: AGENT, index })
    }

    /// Whether agent `index` is simulated.
    pub fn is_agent_simulated(&self, index: usize) -> bool {
        matches!(self.agents.get(index), Some(AgentSlot::Simulated(_)))
    }
}
