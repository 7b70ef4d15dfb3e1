//! When a Docker cluster is ready: ZooKeeper answers, a master leads or serves, an agent is
//! (again, or no longer) active at the master. Every wait goes through `crate::wait`; a node
//! that dies fails its wait at once (see `NodeContainer::wait_until`).

use super::cluster::{DockerCluster, PROBE_TIMEOUT, STEP_TIMEOUT};
use super::specs::AGENT_PORT;
use crate::client::MasterClient;
use crate::cluster::BackendError;
use crate::mesos::state::StateAgent;
use crate::wait::WaitFor;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the masters are asked who leads: each look is one request per master.
const LEADER_POLL: Duration = Duration::from_millis(50);
/// How often the master is asked whether a stopped agent is gone.
const AGENT_GONE_POLL: Duration = Duration::from_millis(25);

impl DockerCluster {
    /// Waits until the control plane serves: ZooKeeper answers, and a master leads (the one
    /// master serves its state).
    pub(super) async fn await_control_plane(&mut self) -> Result<(), BackendError> {
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
    pub(super) async fn is_leading(&self, index: usize) -> bool {
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

    /// The index of a master that leads now, if one does.
    async fn find_leader(&self) -> Option<usize> {
        for index in 0..self.masters.len() {
            if self.is_leading(index).await {
                return Some(index);
            }
        }
        None
    }

    /// With several masters, looks for the leader now and remembers it for `master()`.
    pub(super) async fn refresh_leader(&self) {
        if !self.spec.has_zookeeper() {
            return;
        }
        if let Some(index) = self.find_leader().await {
            self.leader.store(index, Ordering::Relaxed);
        }
    }

    /// Waits until a master leads; remembers it and returns its index.
    pub(super) async fn await_leader(&self, timeout: Duration) -> Result<usize, BackendError> {
        let leader = WaitFor::new("a master to be elected leader", timeout)
            .every(LEADER_POLL)
            .until(|| self.find_leader())
            .await;
        if let Ok(index) = leader {
            self.leader.store(index, Ordering::Relaxed);
            return Ok(index);
        }
        let mut why = String::new();
        for slot in &self.masters {
            if let Some(death) = slot.node.death(&self.docker).await {
                why.push_str(&format!("\n{}: {death}", slot.node.label));
            }
        }
        if let Some(z) = &self.zookeeper
            && let Some(death) = z.death(&self.docker).await
        {
            why.push_str(&format!("\nzookeeper: {death}"));
        }
        Err(BackendError::failed(format!(
            "no master was elected leader within {timeout:?}{why}"
        )))
    }

    /// A client for polling the master while nodes come up (see `MasterClient::probing`).
    pub(super) fn client(&self) -> Result<MasterClient, BackendError> {
        let url = self.master()?.url().ok_or(BackendError::NoMaster)?;
        Ok(MasterClient::probing(url, PROBE_TIMEOUT))
    }

    /// Waits until the master serves its state and leads.
    pub(super) async fn await_master(&self) -> Result<(), BackendError> {
        let master = self.master()?;
        let client = self.client()?;
        master
            .wait_until(&self.docker, "serve /master/state", STEP_TIMEOUT, || {
                let client = client.clone();
                async move { client.state().await.ok().map(|_| ()) }
            })
            .await
    }

    /// Waits until master `index` serves (`/metrics/snapshot`), whether or not it leads.
    pub(super) async fn await_master_serving(&self, index: usize) -> Result<(), BackendError> {
        let node = &self.masters[index].node;
        let client = MasterClient::probing(node.url().unwrap_or_default(), PROBE_TIMEOUT);
        node.wait_until(&self.docker, "serve /health", STEP_TIMEOUT, || {
            let client = client.clone();
            async move { client.raw_metrics().await.ok().map(|_| ()) }
        })
        .await
    }

    /// Waits until the master lists agent `index` as active (with `expected` as its id, when
    /// given: a restarted agent must come back as itself); returns its id.
    pub(super) async fn await_agent_active(
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
        let what = match &expected {
            Some(id) => format!("re-register with the master as {id}"),
            None => "register with the master".to_string(),
        };
        node.wait_until(&self.docker, &what, STEP_TIMEOUT, || {
            let (client, agent, expected) = (client.clone(), agent.clone(), expected.clone());
            async move {
                let state = client.state().await.ok()?;
                let id = active_agent_id(&state.slaves, node.ip, expected.as_deref())?;
                // The master lists an agent as soon as it has registered it, before the agent
                // has its answer and has checkpointed its id: an agent killed in between
                // would come back as a new one. Ready is when the agent itself knows its id.
                // (An agent that cannot be asked — no published port read yet — is taken at
                // the master's word.)
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
    pub(super) async fn await_agent_gone(&self, index: usize) -> Result<(), BackendError> {
        let Some(id) = self.agents[index].id.clone() else {
            return Ok(());
        };
        self.refresh_leader().await;
        let client = self.client()?;
        WaitFor::new("the master to stop listing the agent", STEP_TIMEOUT)
            .every(AGENT_GONE_POLL)
            .until(|| {
                let (client, id) = (client.clone(), id.clone());
                async move {
                    let state = client.state().await.ok()?;
                    (!state.slaves.iter().any(|a| a.id == id && a.active)).then_some(())
                }
            })
            .await
            .map_err(|_| {
                BackendError::failed(format!(
                    "the master still lists agent-{} ({id}) as active {STEP_TIMEOUT:?} after it stopped",
                    index + 1
                ))
            })
    }
}

/// The id of the active agent whose pid is at `ip`, and is `expected` when given: the agent
/// container at that address, as the master lists it.
fn active_agent_id(agents: &[StateAgent], ip: Ipv4Addr, expected: Option<&str>) -> Option<String> {
    agents
        .iter()
        .find(|a| a.active && is_pid_at(&a.pid, ip) && expected.is_none_or(|id| a.id == id))
        .map(|a| a.id.clone())
}

/// Whether the libprocess pid `slave(1)@<ip>:<port>` is an agent's at `ip`.
fn is_pid_at(pid: &str, ip: Ipv4Addr) -> bool {
    pid.ends_with(&format!("@{ip}:{AGENT_PORT}"))
}

/// The one field of an agent's own `/state` that readiness needs: the id it registered as
/// (empty until it has).
#[derive(serde::Deserialize)]
struct AgentOwnState {
    #[serde(default)]
    id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_container_is_known_by_the_address_in_its_pid() {
        let ip = Ipv4Addr::new(10, 213, 7, 21);
        assert!(is_pid_at("slave(1)@10.213.7.21:5051", ip));
        assert!(!is_pid_at("slave(1)@10.213.7.121:5051", ip));
        assert!(!is_pid_at("slave(1)@10.213.7.2:5051", ip));
        assert!(!is_pid_at("slave(1)@10.213.7.21:5052", ip));
    }
}
