//! The external backend (`--backend external --master URL|zk://…`): scenarios against a Mesos
//! cluster mmrun did not start — a staging Mesos, a real one, or `mmrun up` on another
//! machine. It starts nothing: `start_master` attaches to the given master (or the leader that
//! ZooKeeper names), `add_agent` to the next agent the master lists that the scenario has not
//! attached to yet. What needs control over the nodes (stopping, pausing or cutting off an
//! agent, restarting a master, ZooKeeper, simulated agents) is refused as
//! `BackendError::NeedsNodeControl`, which ends the scenario as SKIP with the reason. At the
//! end only what the scenario started goes: the frameworks it submitted are torn down
//! (operator API TEARDOWN) and the framework processes it ran are stopped; nothing else is
//! touched. Like every backend, it only speaks HTTP to the master (and ZooKeeper to find it).

use super::framework_runs::{FrameworkRuns, HostFrameworks};
use super::{
    AgentSpec, Backend, BackendError, ClusterHandle, ClusterSpec, FrameworkRequest,
    framework_process_env,
};
use crate::client::MasterClient;
use crate::zookeeper::{LeaderDetector, ZkUrl, ZkUrlError};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the external cluster's master is: one URL, or the leader ZooKeeper names.
#[derive(Clone, Debug, PartialEq)]
pub enum ExternalMaster {
    /// `http://host:port`.
    Url(String),
    /// `zk://host:port[,…]/path`.
    ZooKeeper(String),
}

/// A `--master` that names no master mmrun can attach to.
#[derive(Debug, thiserror::Error)]
pub enum ExternalMasterError {
    #[error("the master is empty: give http://host:port or zk://host:port/mesos")]
    Empty,
    #[error("{text}: {cause}")]
    ZooKeeperUrl {
        text: String,
        #[source]
        cause: ZkUrlError,
    },
    #[error("{0}: give the master as http://host:port, host:port or zk://host:port/mesos")]
    Scheme(String),
}

impl ExternalMaster {
    /// `http://host:port`, `host:port` or `zk://host:port/path`.
    pub fn parse(text: &str) -> Result<ExternalMaster, ExternalMasterError> {
        let text = text.trim().trim_end_matches('/');
        if text.is_empty() {
            return Err(ExternalMasterError::Empty);
        }
        if text.starts_with("zk://") {
            ZkUrl::parse(text).map_err(|cause| ExternalMasterError::ZooKeeperUrl {
                text: text.into(),
                cause,
            })?;
            return Ok(ExternalMaster::ZooKeeper(text.to_string()));
        }
        let url = if text.starts_with("http://") || text.starts_with("https://") {
            text.to_string()
        } else if text.contains("://") {
            return Err(ExternalMasterError::Scheme(text.into()));
        } else {
            format!("http://{text}")
        };
        Ok(ExternalMaster::Url(url))
    }
}

impl std::fmt::Display for ExternalMaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExternalMaster::Url(u) | ExternalMaster::ZooKeeper(u) => f.write_str(u),
        }
    }
}

pub struct External {
    pub master: ExternalMaster,
}

#[async_trait]
impl Backend for External {
    fn name(&self) -> &'static str {
        "external"
    }

    async fn own_image(&self, image: super::OwnImage) -> Result<String, BackendError> {
        let _ = image;
        Err(BackendError::NeedsNodeControl(
            "mmrun's images for Docker tasks are built into this machine's Docker daemon, not the external cluster's agents (--backend external)".into(),
        ))
    }

    async fn create(&self, spec: ClusterSpec) -> Result<Box<dyn ClusterHandle>, BackendError> {
        if let Some(image) = &spec.mesos_image {
            return Err(node_control(&format!("mesos_image \"{image}\"")));
        }
        if spec.has_zookeeper() && matches!(self.master, ExternalMaster::Url(_)) {
            return Err(BackendError::NeedsNodeControl(format!(
                "the scenario asks for ZooKeeper or several masters; the external cluster was given as one master ({}): pass --master zk://…",
                self.master
            )));
        }
        Ok(Box::new(ExternalCluster {
            master: self.master.clone(),
            url: None,
            detector: None,
            agents: Vec::new(),
            frameworks: HostFrameworks::default(),
            foreign: Vec::new(),
        }))
    }
}

/// The refusal of something that needs control over the nodes.
fn node_control(what: &str) -> BackendError {
    BackendError::NeedsNodeControl(format!(
        "{what} needs control over the cluster's nodes; this run attaches to an external cluster that mmrun did not start (--backend external)"
    ))
}

struct ExternalCluster {
    master: ExternalMaster,
    /// The master attached to (`start_master`).
    url: Option<String>,
    /// Follows the leader, when the master was given through ZooKeeper.
    detector: Option<Arc<LeaderDetector>>,
    /// Ids of the agents the scenario attached to, in order (agent-1 first).
    agents: Vec<String>,
    /// Frameworks the script runs as processes on this host.
    frameworks: HostFrameworks,
    /// Frameworks the cluster held when the scenario attached.
    foreign: Vec<String>,
}

/// How long to look for the master (or a leader through ZooKeeper).
const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);

impl ExternalCluster {
    fn attached(&self) -> Result<String, BackendError> {
        self.url.clone().ok_or(BackendError::NoMaster)
    }

    /// The leading master's URL now: ZooKeeper's leader, else the one attached to.
    fn current_url(&self) -> Option<String> {
        self.detector
            .as_ref()
            .and_then(|d| {
                d.current()
                    .info()
                    .map(|i| format!("http://{}:{}", i.address.ip, i.address.port))
            })
            .or_else(|| self.url.clone())
    }
}

#[async_trait]
impl ClusterHandle for ExternalCluster {
    async fn start_master(&mut self) -> Result<String, BackendError> {
        if let Some(url) = &self.url {
            return Err(BackendError::failed(format!(
                "already attached to the external master at {url}"
            )));
        }
        let url = match &self.master {
            ExternalMaster::Url(url) => url.clone(),
            ExternalMaster::ZooKeeper(zk) => {
                let parsed = ZkUrl::parse(zk).map_err(BackendError::failed)?;
                let detector = Arc::new(LeaderDetector::start(
                    parsed,
                    crate::cluster::ZK_SESSION_TIMEOUT,
                ));
                let info = detector.leader(ATTACH_TIMEOUT).await.ok_or_else(|| {
                    BackendError::environment(format!(
                        "no leading master found through {zk} within {ATTACH_TIMEOUT:?}"
                    ))
                })?;
                self.detector = Some(detector);
                format!("http://{}:{}", info.address.ip, info.address.port)
            }
        };
        let state = MasterClient::probing(url.clone(), Duration::from_secs(10))
            .state()
            .await
            .map_err(|e| {
                BackendError::environment(crate::errors::WhileDoing::new(
                    format!("cannot reach the external master at {url}"),
                    e,
                ))
            })?;
        self.foreign = state
            .frameworks
            .iter()
            .chain(&state.completed_frameworks)
            .map(|f| f.id.clone())
            .collect();
        self.url = Some(url.clone());
        Ok(url)
    }

    fn master_url(&self) -> Option<String> {
        self.current_url()
    }

    async fn leader_url(&self) -> Option<String> {
        self.current_url()
    }

    fn zookeeper_url(&self) -> Option<String> {
        match &self.master {
            ExternalMaster::ZooKeeper(zk) => Some(zk.clone()),
            ExternalMaster::Url(_) => None,
        }
    }

    async fn add_agent(&mut self, spec: AgentSpec) -> Result<(usize, String), BackendError> {
        if spec.resources.is_some() || spec.attributes.is_some() {
            return Err(node_control("an agent with chosen resources or attributes"));
        }
        self.attached()?;
        let url = self.current_url().ok_or(BackendError::NoMaster)?;
        let state = MasterClient::new(url.clone()).state().await.map_err(|e| {
            BackendError::failed(crate::errors::WhileDoing::new(
                format!("cannot read {url}/master/state"),
                e,
            ))
        })?;
        let mut active: Vec<_> = state.slaves.iter().filter(|a| a.active).collect();
        // Registration order, as the agents of a fresh cluster are numbered.
        active.sort_by(|a, b| {
            a.registered_time
                .total_cmp(&b.registered_time)
                .then_with(|| a.id.cmp(&b.id))
        });
        let Some(next) = active.iter().find(|a| !self.agents.contains(&a.id)) else {
            return Err(BackendError::failed(format!(
                "the external cluster has {} active agent(s); the scenario asks for more",
                active.len()
            )));
        };
        self.agents.push(next.id.clone());
        Ok((self.agents.len() - 1, next.id.clone()))
    }

    async fn stop_agent(&mut self, _index: usize, graceful: bool) -> Result<(), BackendError> {
        Err(node_control(if graceful {
            "stopping an agent"
        } else {
            "killing an agent"
        }))
    }

    async fn start_agent(&mut self, _index: usize) -> Result<(), BackendError> {
        Err(node_control("starting an agent"))
    }

    async fn restart_master(&mut self) -> Result<(), BackendError> {
        Err(node_control("restarting the master"))
    }

    fn unsupported(&self, what: &'static str) -> BackendError {
        node_control(what)
    }

    async fn run_framework(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        if let Some(image) = &request.image {
            return Err(node_control(&format!(
                "a framework container (image \"{image}\")"
            )));
        }
        let url = self.attached()?;
        let host_port = url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string();
        let master = self.zookeeper_url().unwrap_or_else(|| host_port.clone());
        let env = framework_process_env(&master, &local_ip_towards(&host_port));
        self.frameworks.run(request.process(env)).await
    }

    fn framework_runs(&self) -> &dyn FrameworkRuns {
        &self.frameworks
    }

    fn framework_runs_mut(&mut self) -> &mut dyn FrameworkRuns {
        &mut self.frameworks
    }

    async fn save_artifacts(&self, dir: &Path) -> Vec<PathBuf> {
        self.frameworks.save_logs(dir)
    }

    fn agent_running(&self, index: usize) -> bool {
        index < self.agents.len()
    }

    fn agent_count(&self) -> usize {
        self.agents.len()
    }

    fn foreign_frameworks(&self) -> Vec<String> {
        self.foreign.clone()
    }

    async fn end_frameworks(&mut self, ids: Vec<String>) {
        let Some(url) = self.current_url() else {
            return;
        };
        for id in ids {
            if let Err(e) = teardown_framework(&url, &id).await {
                eprintln!(
                    "mmrun: cannot tear down framework {id} on {url}: {}",
                    crate::errors::error_chain(&e)
                );
            }
        }
    }

    /// Stops the framework processes the scenario ran; the cluster itself is not mmrun's.
    async fn teardown(mut self: Box<Self>) {
        self.frameworks.stop_all().await;
    }
}

/// The operator API's TEARDOWN of framework `id`. A framework already gone (it disconnected
/// with no failover timeout) is not an error.
async fn teardown_framework(url: &str, id: &str) -> Result<(), TeardownError> {
    let body = serde_json::json!({
        "type": "TEARDOWN",
        "teardown": { "framework_id": { "value": id } }
    });
    let r = crate::lite::peer_client()
        .post(format!("{url}/api/v1"))
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(10))
        .body(body.to_string())
        .send()
        .await
        .map_err(TeardownError::Send)?;
    let status = r.status();
    if status.is_success() || status == reqwest::StatusCode::BAD_REQUEST {
        return Ok(());
    }
    let body = r.text().await.unwrap_or_default();
    Err(TeardownError::Refused { status, body })
}

/// Why the operator API's TEARDOWN of a framework failed.
#[derive(Debug, thiserror::Error)]
enum TeardownError {
    #[error("the request failed")]
    Send(#[source] reqwest::Error),
    #[error("{status}: {body}")]
    Refused {
        status: reqwest::StatusCode,
        body: String,
    },
}

/// This host's address as the master at `host_port` sees it (the one a UDP socket "connected"
/// towards it would use; nothing is sent): what a framework process advertises for
/// libprocess. Loopback for a master on this host.
fn local_ip_towards(host_port: &str) -> String {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0");
    socket
        .ok()
        .and_then(|s| s.connect(host_port).ok().map(|_| s))
        .and_then(|s| s.local_addr().ok())
        .map(|a| a.ip().to_string())
        .filter(|ip| ip != "0.0.0.0")
        .unwrap_or_else(|| "127.0.0.1".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_are_urls_host_ports_or_zookeeper() {
        assert_eq!(
            ExternalMaster::parse("http://10.0.0.1:5050/").unwrap(),
            ExternalMaster::Url("http://10.0.0.1:5050".into())
        );
        assert_eq!(
            ExternalMaster::parse("127.0.0.1:5050").unwrap(),
            ExternalMaster::Url("http://127.0.0.1:5050".into())
        );
        assert_eq!(
            ExternalMaster::parse("zk://127.0.0.1:2181/mesos").unwrap(),
            ExternalMaster::ZooKeeper("zk://127.0.0.1:2181/mesos".into())
        );
        assert!(ExternalMaster::parse("").is_err());
        assert!(ExternalMaster::parse("ftp://x:1").is_err());
    }

    #[test]
    fn the_loopback_master_is_reached_from_loopback() {
        assert_eq!(local_ip_towards("127.0.0.1:5050"), "127.0.0.1");
    }
}
