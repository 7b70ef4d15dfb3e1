//! The embedded backend: every node in this process (`lite::cluster::LocalCluster`). Always
//! available; the default when no Docker daemon answers.

use super::process::{FrameworkProcess, FrameworkStatus};
use super::{
    AgentSpec, Backend, BackendError, ClusterHandle, ClusterSpec, FrameworkRequest,
    framework_process_env,
};
use crate::lite::cluster::{AgentFaultError, AgentOptions, ClusterOptions, LocalCluster};
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
            return Err(BackendError::Failed(format!(
                "mesos_image \"{image}\" needs the Docker backend (every node in this process runs mmrun's own nodes): run with --backend docker"
            )));
        }
        Ok(Box::new(EmbeddedCluster {
            spec,
            cluster: None,
            frameworks: Vec::new(),
        }))
    }
}

struct EmbeddedCluster {
    spec: ClusterSpec,
    cluster: Option<LocalCluster>,
    /// Frameworks the script runs as processes on this host.
    frameworks: Vec<FrameworkProcess>,
}

impl EmbeddedCluster {
    fn running(&mut self) -> Result<&mut LocalCluster, BackendError> {
        self.cluster.as_mut().ok_or(BackendError::NoMaster)
    }

    fn framework(&mut self, index: usize) -> Result<&mut FrameworkProcess, BackendError> {
        self.frameworks
            .get_mut(index)
            .ok_or_else(|| super::process::no_such_framework(index))
    }
}

/// A fault error as scripts show it, after the agent's name: "agent-1.pause(): the agent is
/// already paused". The index would only confuse (scripts count agents from 1).
fn fault_error(e: AgentFaultError) -> BackendError {
    match e {
        AgentFaultError::NoSuchAgent(index) => BackendError::NoSuchAgent(index),
        AgentFaultError::NotRunning(_) => BackendError::Failed(
            "the agent is not running (it was stopped or killed; start() it first)".into(),
        ),
        AgentFaultError::Fault { error, .. } => BackendError::Failed(error.to_string()),
    }
}

#[async_trait]
impl ClusterHandle for EmbeddedCluster {
    async fn start_master(&mut self) -> Result<String, BackendError> {
        if let Some(c) = &self.cluster {
            return Err(BackendError::Failed(format!(
                "the master is already running at {}",
                c.master_url()
            )));
        }
        let options = ClusterOptions {
            agent_ping_timeout: self.spec.agent_ping_timeout,
            max_agent_ping_timeouts: self.spec.max_agent_ping_timeouts,
            status_update_retry: self.spec.status_update_retry,
            ..ClusterOptions::default()
        };
        let cluster = LocalCluster::start(options)
            .await
            .map_err(|e| BackendError::Failed(format!("cannot start the master: {e}")))?;
        let url = cluster.master_url();
        self.cluster = Some(cluster);
        Ok(url)
    }

    fn master_url(&self) -> Option<String> {
        self.cluster.as_ref().map(|c| c.master_url())
    }

    async fn add_agent(&mut self, spec: AgentSpec) -> Result<(usize, String), BackendError> {
        let cluster = self.running()?;
        let options = AgentOptions {
            resources: spec.resources,
            attributes: spec.attributes,
        };
        let index = cluster
            .add_agent(options)
            .await
            .map_err(BackendError::Failed)?;
        let id = cluster.agent_id(index).map(|a| a.value).unwrap_or_default();
        Ok((index, id))
    }

    async fn stop_agent(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        let cluster = self.running()?;
        if graceful && cluster.agent_faults(index).is_some_and(|f| f.paused) {
            return Err(BackendError::Failed(
                "the agent is paused and could not say goodbye: unpause() it before a graceful stop, or kill() it".into(),
            ));
        }
        cluster
            .stop_agent(index, graceful)
            .await
            .map_err(BackendError::Failed)
    }

    async fn start_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?
            .start_agent(index)
            .await
            .map(|_| ())
            .map_err(BackendError::Failed)
    }

    async fn restart_master(&mut self) -> Result<(), BackendError> {
        self.running()?
            .restart_master()
            .await
            .map_err(|e| BackendError::Failed(format!("cannot restart the master: {e}")))
    }

    async fn pause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.pause_agent(index).map_err(fault_error)
    }

    async fn unpause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.unpause_agent(index).map_err(fault_error)
    }

    async fn disconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.disconnect_agent(index).map_err(fault_error)
    }

    async fn reconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        self.running()?.reconnect_agent(index).map_err(fault_error)
    }

    async fn run_framework(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError> {
        if let Some(image) = &request.image {
            return Err(BackendError::Failed(format!(
                "image \"{image}\" needs the Docker backend (the embedded backend runs frameworks as processes on this host): drop `image` to run the command as a process, or run with --backend docker"
            )));
        }
        let url = self.running()?.master_url();
        // The master and the agents listen on this host's loopback.
        let master = url.trim_start_matches("http://").to_string();
        let env = framework_process_env(&master, "127.0.0.1");
        let index = self.frameworks.len();
        let process =
            FrameworkProcess::start(format!("framework-{}", index + 1), request.process(env))
                .await
                .map_err(BackendError::Failed)?;
        let name = process.name();
        self.frameworks.push(process);
        Ok((index, name))
    }

    async fn framework_logs(&self, index: usize) -> Result<String, BackendError> {
        self.frameworks
            .get(index)
            .map(FrameworkProcess::logs)
            .ok_or_else(|| super::process::no_such_framework(index))
    }

    async fn framework_status(&mut self, index: usize) -> Result<FrameworkStatus, BackendError> {
        Ok(self.framework(index)?.status())
    }

    async fn stop_framework(
        &mut self,
        index: usize,
        grace: Option<Duration>,
    ) -> Result<(), BackendError> {
        self.framework(index)?.stop(grace).await;
        Ok(())
    }

    async fn start_framework(&mut self, index: usize) -> Result<(), BackendError> {
        self.framework(index)?
            .restart()
            .await
            .map_err(BackendError::Failed)
    }

    /// The nodes share mmrun's process and log through it, so there is no log per node to
    /// save; each agent's own view (its `/state`: frameworks, executors, tasks) is saved beside
    /// the master's state instead, as `agent-<n>-state.json`, with the logs of the frameworks
    /// the scenario ran as processes.
    async fn save_artifacts(&self, dir: &Path) -> Vec<PathBuf> {
        let mut saved = super::process::save_logs(&self.frameworks, dir);
        let Some(cluster) = &self.cluster else {
            return saved;
        };
        for index in 0..cluster.agent_count() {
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
        for f in &mut self.frameworks {
            f.stop(Some(super::process::TEARDOWN_GRACE)).await;
        }
        self.frameworks.clear();
        if let Some(c) = self.cluster.take() {
            c.shutdown().await;
        }
    }
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
