//! The faults a script injects into a Docker cluster, as Docker does them: a stop is `docker
//! stop` (SIGTERM, then SIGKILL after a grace) or a kill, a pause freezes the container, a
//! disconnect takes it off the cluster network; each start waits until the node is back.

use super::cluster::{AgentState, DockerCluster, STEP_TIMEOUT};
use super::node::NodeContainer;
use crate::cluster::BackendError;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A graceful stop's SIGTERM-to-SIGKILL time: covers the agent's task kill grace (5 s).
const STOP_GRACE: Duration = Duration::from_secs(10);

impl DockerCluster {
    pub(super) async fn stop_master_node(
        &mut self,
        index: usize,
        graceful: bool,
    ) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.master_slot(index)?;
        if !slot.running {
            return Err(BackendError::failed(
                "the master is not running (start() it first)",
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

    pub(super) async fn start_master_node(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.master_slot(index)?;
        if slot.running && slot.node.death(&docker).await.is_none() {
            return Err(BackendError::failed("the master is already running"));
        }
        let mut node = slot.node.clone();
        node.start(&docker).await?;
        let slot = self.master_slot(index)?;
        slot.node = node;
        slot.running = true;
        // Serving is enough: it joins the election behind the masters already there.
        self.await_master_serving(index).await
    }

    pub(super) async fn stop_zookeeper_node(&mut self, graceful: bool) -> Result<(), BackendError> {
        let node = self.zookeeper.as_ref().ok_or_else(no_zookeeper)?;
        if !self.zookeeper_running {
            return Err(BackendError::failed("ZooKeeper is not running"));
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

    pub(super) async fn start_zookeeper_node(&mut self) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let mut node = self.zookeeper.clone().ok_or_else(no_zookeeper)?;
        if self.zookeeper_running {
            return Err(BackendError::failed("ZooKeeper is already running"));
        }
        node.start(&docker).await?;
        super::zookeeper::wait_ready(&docker, &node, STEP_TIMEOUT).await?;
        self.zookeeper = Some(node);
        self.zookeeper_running = true;
        Ok(())
    }

    pub(super) async fn stop_agent_node(
        &mut self,
        index: usize,
        graceful: bool,
    ) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        let next = AgentFault::Stop.apply(slot.state)?;
        // A frozen container cannot handle SIGTERM; thaw it first, as `docker stop` needs.
        if slot.state == AgentState::Paused {
            docker.unpause_container(&slot.node.id).await?;
        }
        let id = slot.node.id.clone();
        if graceful {
            // SIGTERM: the agent kills its tasks and says goodbye to the master.
            docker.stop_container(&id, STOP_GRACE).await?;
            self.slot(index)?.state = next;
            self.await_agent_gone(index).await
        } else {
            docker.kill_container(&id, "SIGKILL").await?;
            docker.wait_container(&id).await?;
            self.slot(index)?.state = next;
            Ok(())
        }
    }

    pub(super) async fn start_agent_node(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        let next = AgentFault::Start.apply(slot.state)?;
        slot.node.start(&docker).await?;
        slot.state = next;
        // The agent recovers its id from its work dir, which the container kept.
        let expected = slot.id.clone();
        let id = self.await_agent_active(index, expected).await?;
        self.slot(index)?.id = Some(id);
        Ok(())
    }

    pub(super) async fn restart_master_node(&mut self) -> Result<(), BackendError> {
        if self.spec.has_zookeeper() {
            // The leader stops (another leads meanwhile) and starts again behind it; agents
            // and frameworks follow the new leader through ZooKeeper.
            self.refresh_leader().await;
            let index = self.leader.load(Ordering::Relaxed);
            self.stop_master_node(index, true).await?;
            self.start_master_node(index).await?;
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
        self.masters[self.leader.load(Ordering::Relaxed)].node = node;
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

    pub(super) async fn pause_agent_node(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        let next = AgentFault::Pause.apply(slot.state)?;
        docker.pause_container(&slot.node.id).await?;
        slot.state = next;
        Ok(())
    }

    pub(super) async fn unpause_agent_node(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let slot = self.slot(index)?;
        let next = AgentFault::Unpause.apply(slot.state)?;
        docker.unpause_container(&slot.node.id).await?;
        slot.state = next;
        Ok(())
    }

    pub(super) async fn disconnect_agent_node(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let network = self.layout.network.clone();
        let slot = self.slot(index)?;
        let next = AgentFault::Disconnect.apply(slot.state)?;
        docker.disconnect_network(&network, &slot.node.id).await?;
        slot.state = next;
        Ok(())
    }

    pub(super) async fn reconnect_agent_node(&mut self, index: usize) -> Result<(), BackendError> {
        let docker = self.docker.clone();
        let network = self.layout.network.clone();
        let slot = self.slot(index)?;
        let next = AgentFault::Reconnect.apply(slot.state)?;
        docker
            .connect_network(&network, &slot.node.id, Some(slot.node.ip))
            .await?;
        slot.state = next;
        // Back on the network, a published port is bound anew, perhaps elsewhere.
        slot.node.refresh_port(&docker).await?;
        Ok(())
    }
}

/// A fault a script injects into an agent container.
#[derive(Clone, Copy, Debug)]
enum AgentFault {
    Stop,
    Start,
    Pause,
    Unpause,
    Disconnect,
    Reconnect,
}

impl AgentFault {
    /// The agent's state after this fault, or why an agent in `state` cannot take it.
    fn apply(self, state: AgentState) -> Result<AgentState, BackendError> {
        use AgentState::{Disconnected, Paused, Running, Stopped};
        let refused = |why: String| Err(BackendError::failed(why));
        match (self, state) {
            (AgentFault::Stop, Stopped) => refused("the agent is already stopped".into()),
            (AgentFault::Stop, _) => Ok(Stopped),
            (AgentFault::Start, Stopped) => Ok(Running),
            (AgentFault::Start, _) => refused("the agent is already running".into()),
            (AgentFault::Pause, Running) => Ok(Paused),
            (AgentFault::Pause, other) => refused(format!(
                "only a running agent can be paused (this one is {other:?})"
            )),
            (AgentFault::Unpause, Paused) => Ok(Running),
            (AgentFault::Unpause, _) => refused("the agent is not paused".into()),
            (AgentFault::Disconnect, Running) => Ok(Disconnected),
            (AgentFault::Disconnect, other) => refused(format!(
                "only a running agent can be disconnected (this one is {other:?})"
            )),
            (AgentFault::Reconnect, Disconnected) => Ok(Running),
            (AgentFault::Reconnect, _) => refused("the agent is not disconnected".into()),
        }
    }
}

fn no_zookeeper() -> BackendError {
    BackendError::failed(
        "the cluster has no ZooKeeper: create it with cluster(#{ zookeeper: true })",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgentState::{Disconnected, Paused, Running, Stopped};

    /// The agent's state after the fault, if its state allows it.
    fn after(fault: AgentFault, state: AgentState) -> Option<AgentState> {
        fault.apply(state).ok()
    }

    #[test]
    fn each_fault_takes_an_agent_from_the_states_that_allow_it() {
        assert_eq!(after(AgentFault::Stop, Running), Some(Stopped));
        assert_eq!(after(AgentFault::Stop, Paused), Some(Stopped));
        assert_eq!(after(AgentFault::Stop, Disconnected), Some(Stopped));
        assert_eq!(after(AgentFault::Start, Stopped), Some(Running));
        assert_eq!(after(AgentFault::Pause, Running), Some(Paused));
        assert_eq!(after(AgentFault::Unpause, Paused), Some(Running));
        assert_eq!(after(AgentFault::Disconnect, Running), Some(Disconnected));
        assert_eq!(after(AgentFault::Reconnect, Disconnected), Some(Running));
    }

    #[test]
    fn a_fault_the_agents_state_does_not_allow_says_why() {
        let refused = |fault: AgentFault, state| fault.apply(state).unwrap_err().to_string();
        assert!(refused(AgentFault::Stop, Stopped).contains("already stopped"));
        assert!(refused(AgentFault::Start, Paused).contains("already running"));
        assert!(refused(AgentFault::Pause, Disconnected).contains("(this one is Disconnected)"));
        assert!(refused(AgentFault::Unpause, Running).contains("not paused"));
        assert!(refused(AgentFault::Disconnect, Paused).contains("(this one is Paused)"));
        assert!(refused(AgentFault::Reconnect, Running).contains("not disconnected"));
    }
}
