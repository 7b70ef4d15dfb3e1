//! The embedded backend: every node in this process (`lite::cluster::LocalCluster`). Always
//! available; the default when no Docker daemon answers.

use super::framework_runs::{FrameworkRuns, HostFrameworks};
use super::{
    AgentSpec, Backend, BackendError, ClusterHandle, ClusterSpec, FrameworkRequest, MasterStatus,
    framework_process_env,
};
use crate::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster, NodeError};
use crate::lite::master::Leadership;
use crate::lite::sim::Behaviour;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Embedded;

#[async_trait]
impl Backend for Embedded {
    fn name(&self) -> &'static str {
        "embedded"
    }

    async fn create(&self, spec: ClusterSpec) -> Result<Box<dyn ClusterHandle>, BackendError> {
        if let Some(image) = &spec.mesos_image {
            return Err(BackendError::failed(format!(
                "mesos_image \"{image}\" needs the Docker backend (every node in this process runs mmrun's own nodes): run with --backend docker"
            )));
        }
        // ZooKeeper is this host's own installation, run as a child process: without it the
        // scenario cannot run here (it is skipped, saying how to install it).
        let zookeeper = if spec.has_zookeeper() {
            let install = crate::zookeeper::ZooKeeperInstall::find()
                .map_err(|e| BackendError::NotInstalled(e.to_string()))?;
            let server = crate::zookeeper::ZooKeeperServer::new(&install, None)
                .map_err(BackendError::failed)?;
            Some(server)
        } else {
            None
        };
        Ok(Box::new(EmbeddedCluster {
            spec,
            cluster: None,
            frameworks: HostFrameworks::default(),
            zookeeper,
        }))
    }
}

struct EmbeddedCluster {
    spec: ClusterSpec,
    cluster: Option<LocalCluster>,
    /// Frameworks the script runs as processes on this host.
    frameworks: HostFrameworks,
    /// A real ZooKeeper server (child process) when the cluster has one.
    zookeeper: Option<crate::zookeeper::ZooKeeperServer>,
}

impl EmbeddedCluster {
    fn running(&mut self) -> Result<&mut LocalCluster, BackendError> {
        self.cluster.as_mut().ok_or(BackendError::NoMaster)
    }
}

/// A node error as scripts show it, after the node's name: "agent-1.pause(): the agent is
/// already paused". The 0-based index would only confuse (scripts count nodes from 1). Not
/// being able to listen is the machine's problem (an environment error).
fn node_error(e: NodeError) -> BackendError {
    match e {
        NodeError::NoSuchNode {
            role: "agent",
            index,
        } => BackendError::NoSuchAgent(index),
        NodeError::NoSuchNode { role, index } => {
            BackendError::failed(format!("there is no {role}-{}", index + 1))
        }
        NodeError::AlreadyRunning { role, .. } => {
            BackendError::failed(format!("the {role} is already running"))
        }
        NodeError::NotRunning { role, .. } => BackendError::failed(format!(
            "the {role} is not running (it was stopped or killed; start() it first)"
        )),
        NodeError::Paused(_) => BackendError::failed(
            "the agent is paused and could not say goodbye: unpause() it before a graceful stop, or kill() it",
        ),
        NodeError::Fault { error, .. } => BackendError::failed(error),
        NodeError::Listen { .. } | NodeError::Descriptors { .. } => BackendError::environment(e),
        NodeError::InvalidOption { .. }
        | NodeError::Start { .. }
        | NodeError::NotRegistered(_)
        | NodeError::Simulated { .. } => BackendError::failed(e),
    }
}

#[async_trait]
impl ClusterHandle for EmbeddedCluster {
    async fn start_master(&mut self) -> Result<String, BackendError> {
        if let Some(c) = &self.cluster {
            return Err(BackendError::failed(format!(
                "the master is already running at {}",
                c.master_url()
            )));
        }
        let zookeeper = match &mut self.zookeeper {
            Some(server) => {
                server.start().await.map_err(BackendError::failed)?;
                Some(
                    crate::zookeeper::ZkUrl::parse(&server.zk_url(super::ZOOKEEPER_PATH))
                        .map_err(BackendError::failed)?,
                )
            }
            None => None,
        };
        let options = ClusterOptions {
            agent_ping_timeout: self.spec.agent_ping_timeout,
            max_agent_ping_timeouts: self.spec.max_agent_ping_timeouts,
            status_update_retry: self.spec.status_update_retry,
            zookeeper,
            masters: self.spec.masters.max(1),
            zk_session_timeout: self.spec.zk_session_timeout,
            ..ClusterOptions::default()
        };
        // What fails here is the machine's: a port taken, a temporary directory not made.
        let cluster = LocalCluster::start(options).await.map_err(|e| {
            BackendError::environment(crate::errors::WhileDoing::new("cannot start the master", e))
        })?;
        self.cluster = Some(cluster);
        self.await_leader(LEADER_TIMEOUT).await
    }

    fn master_url(&self) -> Option<String> {
        self.cluster.as_ref().map(|c| c.master_url())
    }

    fn master_count(&self) -> usize {
        self.cluster
            .as_ref()
            .map_or(self.spec.masters.max(1), LocalCluster::master_count)
    }

    async fn leader_url(&self) -> Option<String> {
        let cluster = self.cluster.as_ref()?;
        (0..cluster.master_count())
            .find(|&i| cluster.master_leadership(i) == Some(Leadership::Leading))
            .and_then(|i| cluster.master_url_of(i))
    }

    async fn master_status(&self, index: usize) -> Result<MasterStatus, BackendError> {
        let cluster = self.cluster.as_ref().ok_or(BackendError::NoMaster)?;
        let url = cluster
            .master_url_of(index)
            .ok_or_else(|| BackendError::failed(format!("there is no master-{}", index + 1)))?;
        let leadership = cluster.master_leadership(index);
        let lost = cluster.master_lost(index);
        Ok(MasterStatus {
            advertised: url.trim_start_matches("http://").to_string(),
            url,
            running: leadership.is_some() && lost.is_none(),
            leading: leadership == Some(Leadership::Leading),
        })
    }

    async fn stop_master(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        self.running()?
            .stop_master(index, graceful)
            .await
            .map_err(node_error)
    }

    async fn start_master_at(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?
            .start_master(index)
            .await
            .map_err(node_error)
    }

    fn zookeeper_url(&self) -> Option<String> {
        self.zookeeper
            .as_ref()
            .map(|z| z.zk_url(super::ZOOKEEPER_PATH))
    }

    async fn stop_zookeeper(&mut self, graceful: bool) -> Result<(), BackendError> {
        let server = self.zookeeper.as_mut().ok_or_else(no_zookeeper)?;
        if graceful {
            server.stop().await;
        } else {
            server.kill().await;
        }
        Ok(())
    }

    async fn start_zookeeper(&mut self) -> Result<(), BackendError> {
        self.zookeeper
            .as_mut()
            .ok_or_else(no_zookeeper)?
            .start()
            .await
            .map_err(BackendError::failed)
    }

    async fn add_agent(&mut self, spec: AgentSpec) -> Result<(usize, String), BackendError> {
        let cluster = self.running()?;
        let options = AgentOptions {
            resources: spec.resources,
            attributes: spec.attributes,
        };
        let index = cluster.add_agent(options).await.map_err(node_error)?;
        let id = cluster.agent_id(index).map(|a| a.value).unwrap_or_default();
        Ok((index, id))
    }

    async fn add_simulated_agents(
        &mut self,
        count: usize,
        spec: AgentSpec,
        behaviour: Behaviour,
    ) -> Result<Vec<(usize, String)>, BackendError> {
        let cluster = self.running()?;
        let options = AgentOptions {
            resources: spec.resources,
            attributes: spec.attributes,
        };
        let indices = cluster
            .add_simulated_agents(count, options, behaviour)
            .await
            .map_err(node_error)?;
        Ok(indices
            .map(|i| (i, cluster.agent_id(i).map(|a| a.value).unwrap_or_default()))
            .collect())
    }

    async fn stop_agent(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        self.running()?
            .stop_agent(index, graceful)
            .await
            .map_err(node_error)
    }

    async fn start_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?
            .start_agent(index)
            .await
            .map(|_| ())
            .map_err(node_error)
    }

    async fn restart_master(&mut self) -> Result<(), BackendError> {
        self.running()?.restart_master().await.map_err(|e| {
            BackendError::failed(crate::errors::WhileDoing::new(
                "cannot restart the master",
                e,
            ))
        })
    }

    async fn pause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.pause_agent(index).map_err(node_error)
    }

    async fn unpause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.unpause_agent(index).map_err(node_error)
    }

    async fn disconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.disconnect_agent(index).map_err(node_error)
    }

    async fn reconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.reconnect_agent(index).map_err(node_error)
    }

    async fn run_framework(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        if let Some(image) = &request.image {
            return Err(BackendError::failed(format!(
                "image \"{image}\" needs the Docker backend (the embedded backend runs frameworks as processes on this host): drop `image` to run the command as a process, or run with --backend docker"
            )));
        }
        let url = self.running()?.master_url();
        // The master and the agents listen on this host's loopback; with ZooKeeper the
        // framework finds the leader there, as Mesos frameworks are usually configured.
        let master = self
            .zookeeper_url()
            .unwrap_or_else(|| url.trim_start_matches("http://").to_string());
        let env = framework_process_env(&master, "127.0.0.1");
        self.frameworks.run(request.process(env)).await
    }

    fn framework_runs(&self) -> &dyn FrameworkRuns {
        &self.frameworks
    }

    fn framework_runs_mut(&mut self) -> &mut dyn FrameworkRuns {
        &mut self.frameworks
    }

    /// Each node's log (`master.log`, `agent-<n>.log`: the lines it logged, filed per node
    /// although the nodes share this process, see `crate::node_log`), each agent's own view
    /// (its `/state`: frameworks, executors, tasks) as `agent-<n>-state.json`, and the logs of
    /// the frameworks the scenario ran as processes.
    async fn save_artifacts(&self, dir: &Path) -> Vec<PathBuf> {
        let mut saved = self.frameworks.save_logs(dir);
        let Some(cluster) = &self.cluster else {
            return saved;
        };
        for (node, lines) in cluster.node_logs() {
            let path = dir.join(format!("{node}.log"));
            let mut text = lines.join("\n");
            text.push('\n');
            if std::fs::write(&path, text).is_ok() {
                saved.push(path);
            }
        }
        // Simulated agents have no state of their own to save: the master's holds them.
        for index in (0..cluster.agent_count()).filter(|&i| !cluster.is_agent_simulated(i)) {
            let text = match (cluster.agent_url(index), cluster.agent_faults(index)) {
                (Some(url), Some(faults)) if faults.reachable() => agent_state(&url).await,
                (Some(_), _) => {
                    "{\"error\": \"the agent is paused or cut off: it answers nothing\"}".into()
                }
                _ => "{\"error\": \"the agent is not running\"}".into(),
            };
            let path = dir.join(format!("agent-{}-state.json", index + 1));
            if std::fs::write(&path, text).is_ok() {
                saved.push(path);
            }
        }
        saved
    }

    fn agent_running(&self, index: usize) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.is_agent_running(index))
    }

    fn agent_count(&self) -> usize {
        self.cluster.as_ref().map_or(0, |c| c.agent_count())
    }

    async fn teardown(mut self: Box<Self>) {
        // Frameworks first: they would only see their master vanish.
        self.frameworks.stop_all().await;
        if let Some(c) = self.cluster.take() {
            c.shutdown().await;
        }
        if let Some(mut zookeeper) = self.zookeeper.take() {
            zookeeper.kill().await;
        }
    }
}

/// How long a cluster's masters may take to elect a leader.
const LEADER_TIMEOUT: Duration = Duration::from_secs(30);

fn no_zookeeper() -> BackendError {
    BackendError::failed(
        "the cluster has no ZooKeeper: create it with cluster(#{ zookeeper: true })",
    )
}

impl EmbeddedCluster {
    /// Waits until a master leads; returns its URL.
    async fn await_leader(&self, timeout: Duration) -> Result<String, BackendError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(url) = self.leader_url().await {
                return Ok(url);
            }
            if tokio::time::Instant::now() >= deadline {
                let why = self
                    .zookeeper
                    .as_ref()
                    .map(|z| {
                        format!(
                            "; ZooKeeper's last log lines:\n{}",
                            last_lines(&z.logs(), 10)
                        )
                    })
                    .unwrap_or_default();
                return Err(BackendError::failed(format!(
                    "no master was elected leader within {timeout:?}{why}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// An agent's `/state`, pretty-printed, or what went wrong fetching it.
async fn agent_state(url: &str) -> String {
    let fetched = async {
        crate::lite::peer_client()
            .get(format!("{url}/state"))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await?
            .json::<serde_json::Value>()
            .await
    };
    match fetched.await {
        Ok(state) => serde_json::to_string_pretty(&state).unwrap_or_default(),
        Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
    }
}
