//! Simulated agents for a backend whose agents are not in this process (the Docker backend):
//! a `ClusterHandle` wrapped so that `add_simulated_agents` runs them on a `SimHost` in this
//! process, at the address the backend names (`ClusterHandle::simulated_agents_home`: on
//! Docker, this host's address on the cluster network, where the master's container reaches
//! it). Agent indices are one list over the backend's agents and the simulated ones, so every
//! per-agent operation (stop, start, pause, partition) names both alike; everything else is
//! the backend's.

use super::{
    AgentSpec, BackendError, ClusterHandle, FrameworkRequest, FrameworkRuns, MasterStatus,
};
use crate::lite::agent::MasterLocation;
use crate::lite::sim::{Behaviour, SimError, SimHost, SimHostConfig};
use crate::mesos::attributes::parse_attributes;
use crate::mesos::resources::Resources;
use async_trait::async_trait;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a backend's simulated agents live: the address their host listens on and advertises
/// (the master must reach it there), and how they find the master.
#[derive(Clone, Debug)]
pub struct SimulatedAgentsHome {
    pub ip: Ipv4Addr,
    pub master: MasterLocation,
    pub zk_session_timeout: Duration,
    pub status_update_retry: Duration,
}

/// How long registering may take: a base, and per thousand agents.
const REGISTRATION_BASE: Duration = Duration::from_secs(10);
const REGISTRATION_PER_THOUSAND: Duration = Duration::from_secs(5);

enum Slot {
    Backend(usize),
    Simulated(usize),
}

pub struct WithSimulatedAgents {
    inner: Box<dyn ClusterHandle>,
    host: Option<SimHost>,
    agents: Vec<Slot>,
}

impl WithSimulatedAgents {
    pub fn new(inner: Box<dyn ClusterHandle>) -> WithSimulatedAgents {
        WithSimulatedAgents {
            inner,
            host: None,
            agents: Vec::new(),
        }
    }

    fn slot(&self, index: usize) -> Result<&Slot, BackendError> {
        self.agents
            .get(index)
            .ok_or(BackendError::NoSuchAgent(index))
    }

    fn host(&self) -> Result<&SimHost, BackendError> {
        self.host
            .as_ref()
            .ok_or_else(|| BackendError::failed("no simulated agents were added"))
    }

    async fn start_host(&self) -> Result<SimHost, BackendError> {
        let home = self
            .inner
            .simulated_agents_home()
            .ok_or_else(|| self.inner.unsupported("simulated agents"))?;
        let bind = SocketAddr::new(home.ip.into(), 0);
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
            BackendError::environment(crate::errors::WhileDoing::new(
                format!(
                    "simulated agents cannot listen on {bind} (this host's address on the cluster network)"
                ),
                e,
            ))
        })?;
        SimHost::start_on(
            listener,
            SimHostConfig {
                master: home.master,
                zk_session_timeout: home.zk_session_timeout,
                advertise_ip: home.ip,
                hostname: home.ip.to_string(),
                status_update_retry: home.status_update_retry,
            },
        )
        .map_err(|e| {
            BackendError::environment(crate::errors::WhileDoing::new(
                "simulated agents cannot start",
                e,
            ))
        })
    }

    /// A per-agent operation: the backend's for its agents, `simulated` for the others.
    async fn per_agent(
        &mut self,
        index: usize,
        simulated: impl FnOnce(&SimHost, usize) -> Result<(), SimError>,
    ) -> Result<Option<usize>, BackendError> {
        match self.slot(index)? {
            Slot::Backend(i) => Ok(Some(*i)),
            Slot::Simulated(i) => {
                let i = *i;
                simulated(self.host()?, i).map_err(sim_error)?;
                Ok(None)
            }
        }
    }
}

fn sim_error(e: SimError) -> BackendError {
    BackendError::failed(e)
}

#[async_trait]
impl ClusterHandle for WithSimulatedAgents {
    async fn start_master(&mut self) -> Result<String, BackendError> {
        self.inner.start_master().await
    }
    fn master_url(&self) -> Option<String> {
        self.inner.master_url()
    }
    async fn start_cluster(
        &mut self,
        agents: Vec<AgentSpec>,
    ) -> Result<(String, Vec<String>), BackendError> {
        let first = self.inner.agent_count();
        let (url, ids) = self.inner.start_cluster(agents).await?;
        self.agents
            .extend((first..first + ids.len()).map(Slot::Backend));
        Ok((url, ids))
    }
    async fn add_agent(&mut self, spec: AgentSpec) -> Result<(usize, String), BackendError> {
        let (inner_index, id) = self.inner.add_agent(spec).await?;
        self.agents.push(Slot::Backend(inner_index));
        Ok((self.agents.len() - 1, id))
    }
    async fn add_simulated_agents(
        &mut self,
        count: usize,
        spec: AgentSpec,
        behaviour: Behaviour,
    ) -> Result<Vec<(usize, String)>, BackendError> {
        let resources = match &spec.resources {
            Some(r) => Resources::parse(r).map_err(|e| {
                BackendError::failed(crate::errors::WhileDoing::new("agent resources", e))
            })?,
            None => Resources::default(),
        }
        .with_agent_defaults();
        let attributes = match &spec.attributes {
            Some(a) => parse_attributes(a).map_err(|e| {
                BackendError::failed(crate::errors::WhileDoing::new("agent attributes", e))
            })?,
            None => Vec::new(),
        };
        // One host for every simulated agent, started with the first of them.
        let host = match self.host.take() {
            Some(host) => host,
            None => self.start_host().await?,
        };
        let host = &*self.host.insert(host);
        let indices = host.add_agents(count, &resources, &attributes, &behaviour);
        let within = REGISTRATION_BASE + REGISTRATION_PER_THOUSAND.mul_f64(count as f64 / 1000.0);
        let ids = host
            .registered(indices.clone(), within)
            .await
            .map_err(sim_error)?;
        let first = self.agents.len();
        self.agents.extend(indices.map(Slot::Simulated));
        Ok(ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| (first + i, id.value))
            .collect())
    }
    async fn stop_agent(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        match self.slot(index)? {
            Slot::Backend(i) => {
                let i = *i;
                self.inner.stop_agent(i, graceful).await
            }
            Slot::Simulated(i) => {
                let i = *i;
                self.host()?
                    .stop_agent(i, graceful)
                    .await
                    .map_err(sim_error)
            }
        }
    }
    async fn start_agent(&mut self, index: usize) -> Result<(), BackendError> {
        match self.slot(index)? {
            Slot::Backend(i) => {
                let i = *i;
                self.inner.start_agent(i).await
            }
            Slot::Simulated(i) => {
                let i = *i;
                let host = self.host()?;
                host.start_agent(i).map_err(sim_error)?;
                host.registered(i..i + 1, REGISTRATION_BASE)
                    .await
                    .map_err(sim_error)?;
                Ok(())
            }
        }
    }
    async fn restart_master(&mut self) -> Result<(), BackendError> {
        self.inner.restart_master().await
    }
    fn master_count(&self) -> usize {
        self.inner.master_count()
    }
    async fn leader_url(&self) -> Option<String> {
        self.inner.leader_url().await
    }
    async fn master_status(&self, index: usize) -> Result<MasterStatus, BackendError> {
        self.inner.master_status(index).await
    }
    async fn stop_master(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        self.inner.stop_master(index, graceful).await
    }
    async fn start_master_at(&mut self, index: usize) -> Result<(), BackendError> {
        self.inner.start_master_at(index).await
    }
    fn zookeeper_url(&self) -> Option<String> {
        self.inner.zookeeper_url()
    }
    async fn stop_zookeeper(&mut self, graceful: bool) -> Result<(), BackendError> {
        self.inner.stop_zookeeper(graceful).await
    }
    async fn start_zookeeper(&mut self) -> Result<(), BackendError> {
        self.inner.start_zookeeper().await
    }
    async fn pause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        match self.per_agent(index, |h, i| h.pause(i)).await? {
            Some(i) => self.inner.pause_agent(i).await,
            None => Ok(()),
        }
    }
    async fn unpause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        match self.per_agent(index, |h, i| h.unpause(i)).await? {
            Some(i) => self.inner.unpause_agent(i).await,
            None => Ok(()),
        }
    }
    async fn disconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        match self.per_agent(index, |h, i| h.disconnect(i)).await? {
            Some(i) => self.inner.disconnect_agent(i).await,
            None => Ok(()),
        }
    }
    async fn reconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        match self.per_agent(index, |h, i| h.reconnect(i)).await? {
            Some(i) => self.inner.reconnect_agent(i).await,
            None => Ok(()),
        }
    }
    async fn run_framework(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        self.inner.run_framework(request).await
    }
    fn framework_runs(&self) -> &dyn FrameworkRuns {
        self.inner.framework_runs()
    }
    fn framework_runs_mut(&mut self) -> &mut dyn FrameworkRuns {
        self.inner.framework_runs_mut()
    }
    async fn save_artifacts(&self, dir: &Path) -> Vec<PathBuf> {
        self.inner.save_artifacts(dir).await
    }
    fn how_to_reach(&self) -> Option<String> {
        self.inner.how_to_reach()
    }
    fn example_executor_command(&self) -> String {
        self.inner.example_executor_command()
    }
    fn unsupported(&self, what: &'static str) -> BackendError {
        self.inner.unsupported(what)
    }
    fn simulated_agents_home(&self) -> Option<SimulatedAgentsHome> {
        self.inner.simulated_agents_home()
    }
    fn agent_running(&self, index: usize) -> bool {
        match self.agents.get(index) {
            Some(Slot::Backend(i)) => self.inner.agent_running(*i),
            Some(Slot::Simulated(i)) => self.host.as_ref().is_some_and(|h| h.is_running(*i)),
            None => false,
        }
    }
    fn agent_count(&self) -> usize {
        self.agents.len()
    }
    async fn teardown(mut self: Box<Self>) {
        // The simulated agents go first, at once, as a crash: the cluster goes with them.
        if let Some(host) = self.host.take() {
            host.shutdown();
        }
        self.inner.teardown().await;
    }
}
