//! Cluster backends behind one trait. A scenario asks its backend for a fresh cluster and
//! drives it through `ClusterHandle`; everything above talks to "a Mesos master" by URL and does
//! not care whether the nodes are in-process (`embedded`) or containers (the Docker backend).

pub mod docker;
pub mod embedded;
pub mod external;
pub mod framework_runs;
pub mod simulated;

pub use crate::process::{FrameworkStatus, ProcessRequest};
pub use framework_runs::FrameworkRuns;

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a scenario asks of a fresh cluster.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Scenario name, used to label what the backend creates.
    pub scenario: String,
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: u32,
    /// How long an agent waits for acknowledgement before resending an update.
    pub status_update_retry: Duration,
    /// Run real Mesos from this image instead of mmrun's nodes (Docker backend only).
    pub mesos_image: Option<String>,
    /// A real ZooKeeper node: masters elect their leader through it, agents and frameworks
    /// find the leader there.
    pub zookeeper: bool,
    /// How many masters (more than one implies `zookeeper`).
    pub masters: usize,
    /// The ZooKeeper session timeout of masters and agents (`--zk_session_timeout`): how long a
    /// killed leader keeps leading, and how long ZooKeeper may be unreachable before a master
    /// gives up its session and stops, as Mesos's do.
    pub zk_session_timeout: Duration,
}

impl ClusterSpec {
    /// Whether the cluster runs ZooKeeper: asked for, or implied by several masters.
    pub fn has_zookeeper(&self) -> bool {
        self.zookeeper || self.masters > 1
    }
}

/// The ZooKeeper path masters contend under, as in most Mesos deployments.
pub const ZOOKEEPER_PATH: &str = "/mesos";

/// The default ZooKeeper session timeout of mmrun's masters and agents: how long a killed
/// leader keeps leading. Mesos's default is 10 s; scenarios want failovers in seconds.
pub const ZK_SESSION_TIMEOUT: Duration = Duration::from_secs(2);

/// One master of a cluster, as scripts see it.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterStatus {
    /// `http://host:port`, reachable from this host.
    pub url: String,
    /// `ip:port` as the master advertises itself (its MasterInfo address, which ZooKeeper
    /// holds): the same as `url`'s on the embedded backend, its network address on Docker.
    pub advertised: String,
    pub running: bool,
    pub leading: bool,
}

impl Default for ClusterSpec {
    /// Short liveness settings so losing an agent takes a fraction of a second.
    fn default() -> ClusterSpec {
        ClusterSpec {
            scenario: String::new(),
            agent_ping_timeout: Duration::from_millis(100),
            max_agent_ping_timeouts: 3,
            status_update_retry: Duration::from_secs(2),
            mesos_image: None,
            zookeeper: false,
            masters: 1,
            zk_session_timeout: ZK_SESSION_TIMEOUT,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentSpec {
    /// `--resources` syntax; Mesos's defaults fill what is missing.
    pub resources: Option<String>,
    /// `--attributes` syntax.
    pub attributes: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The cluster did not do what was asked (a node did not come up, a fault its state does
    /// not allow): the scenario fails. Holds the cause whole, its own causes included.
    #[error(transparent)]
    Failed(crate::errors::Cause),
    #[error("the cluster has no master yet: call start_master() first")]
    NoMaster,
    #[error("there is no agent {0}")]
    NoSuchAgent(usize),
    /// Something the scenario needs is not installed here: the scenario is skipped, saying how
    /// to install it.
    #[error("{0}")]
    NotInstalled(String),
    /// The machine cannot run clusters right now (the Docker daemon stopped answering, an
    /// image cannot be built): not the scenario's fault, so it ends as an environment error
    /// and is not retried.
    #[error(transparent)]
    Environment(crate::errors::Cause),
    /// What the scenario asks for needs control over the cluster's nodes (stopping an agent,
    /// a partition, a fresh master) and the cluster is not mmrun's to control (`--backend
    /// external`): the scenario is skipped, saying why.
    #[error("{0}")]
    NeedsNodeControl(String),
    #[error("{what} is not available on the {backend} backend: {hint}")]
    Unsupported {
        what: &'static str,
        backend: &'static str,
        hint: &'static str,
    },
}

impl BackendError {
    pub fn failed(cause: impl Into<crate::errors::Cause>) -> BackendError {
        BackendError::Failed(cause.into())
    }

    pub fn environment(cause: impl Into<crate::errors::Cause>) -> BackendError {
        BackendError::Environment(cause.into())
    }
}

/// Docker errors already say what failed and what to do; a backend passes them on as they are,
/// as environment errors when the daemon itself is the problem.
impl From<crate::docker::DockerError> for BackendError {
    fn from(e: crate::docker::DockerError) -> BackendError {
        use crate::docker::DockerError as D;
        match e {
            D::Unreachable { .. }
            | D::UnsupportedHost { .. }
            | D::ApiTooOld { .. }
            | D::BuildImage { .. }
            | D::InspectImage { .. }
            | D::ListImages { .. } => BackendError::environment(e),
            _ => BackendError::failed(e),
        }
    }
}

/// What `c.run_framework(…)` asks for: a user's framework (scheduler), run as a process on
/// this host or, given an image, as a container (Docker backend).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameworkRequest {
    pub image: Option<String>,
    /// The program and its arguments (for an image: replaces its command when non-empty).
    pub cmd: Vec<String>,
    /// Set after the backend's `MESOS_MASTER`, `LIBPROCESS_IP` and `LIBPROCESS_ADVERTISE_IP`,
    /// so a script may override them.
    pub env: Vec<(String, String)>,
    /// A host process's working directory (default: a fresh temporary one).
    pub cwd: Option<PathBuf>,
}

impl FrameworkRequest {
    /// The host process for this request, given the backend's environment for it.
    pub fn process(&self, mut env: Vec<(String, String)>) -> ProcessRequest {
        env.extend(self.env.iter().cloned());
        ProcessRequest {
            argv: self.cmd.clone(),
            env,
            cwd: self.cwd.clone(),
        }
    }
}

/// `MESOS_MASTER`, `LIBPROCESS_IP` and `LIBPROCESS_ADVERTISE_IP` for a framework process whose
/// master is at `master` (host:port) and which others reach at `ip`; and `MMRUN`, this mmrun.
pub fn framework_process_env(master: &str, ip: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("MESOS_MASTER".to_string(), master.to_string()),
        ("LIBPROCESS_IP".to_string(), ip.to_string()),
        ("LIBPROCESS_ADVERTISE_IP".to_string(), ip.to_string()),
    ];
    if let Ok(exe) = std::env::current_exe() {
        env.push(("MMRUN".to_string(), exe.display().to_string()));
    }
    env
}

/// One of mmrun's own images that scripts give Docker tasks and executors (mmrun never pulls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnImage {
    /// `mmrun-busybox:<hash>`: a shell and core tools.
    Busybox,
    /// `mmrun-node:<hash>`: the nodes' image, carrying the mmrun binary.
    Node,
}

/// A cluster backend: creates fresh clusters.
#[async_trait]
pub trait Backend: Send + Sync {
    /// `embedded` or `docker`, as `--backend` names it.
    fn name(&self) -> &'static str;
    async fn create(&self, spec: ClusterSpec) -> Result<Box<dyn ClusterHandle>, BackendError>;
    /// The tag of one of mmrun's own images, built on first use, for Docker tasks and
    /// executor containers.
    async fn own_image(&self, image: OwnImage) -> Result<String, BackendError> {
        let _ = image;
        Err(BackendError::Unsupported {
            what: "mmrun's images for Docker tasks",
            backend: self.name(),
            hint: "Docker tasks and executor containers run on the Docker backend: run with --backend docker (and requires_docker() in the script)",
        })
    }
}

/// One running cluster. Every method returns once the change is visible in the master.
#[async_trait]
pub trait ClusterHandle: Send + Sync {
    /// Starts the master; returns its URL once it serves and leads.
    async fn start_master(&mut self) -> Result<String, BackendError>;
    fn master_url(&self) -> Option<String>;
    /// Starts the master and `agents` together; returns the master's URL and the agents' ids
    /// once every agent is active. Backends that can start nodes concurrently do.
    async fn start_cluster(
        &mut self,
        agents: Vec<AgentSpec>,
    ) -> Result<(String, Vec<String>), BackendError> {
        let url = self.start_master().await?;
        let mut ids = Vec::new();
        for a in agents {
            ids.push(self.add_agent(a).await?.1);
        }
        Ok((url, ids))
    }
    /// Adds an agent; returns its index and id once the master lists it as active.
    async fn add_agent(&mut self, spec: AgentSpec) -> Result<(usize, String), BackendError>;
    /// Adds `count` simulated agents (`crate::lite::sim`): registered, offered and running
    /// tasks on the wire as real agents do, at no process or sandbox each. Their indices and
    /// agent ids, once all are registered.
    async fn add_simulated_agents(
        &mut self,
        count: usize,
        spec: AgentSpec,
        behaviour: crate::lite::sim::Behaviour,
    ) -> Result<Vec<(usize, String)>, BackendError> {
        let _ = (count, spec, behaviour);
        Err(self.unsupported("simulated agents"))
    }
    /// Where simulated agents of this cluster can live in this process, when its agents do
    /// not (`simulated::WithSimulatedAgents` runs them there).
    fn simulated_agents_home(&self) -> Option<simulated::SimulatedAgentsHome> {
        None
    }
    /// Stops an agent: gracefully (tasks killed, goodbye to the master) or like a crash.
    async fn stop_agent(&mut self, index: usize, graceful: bool) -> Result<(), BackendError>;
    /// Starts a stopped agent again; it re-registers with its old id.
    async fn start_agent(&mut self, index: usize) -> Result<(), BackendError>;
    /// Stops the master and starts a fresh one on the same address; agents re-register.
    /// With several masters, the leader restarts.
    async fn restart_master(&mut self) -> Result<(), BackendError>;
    /// How many masters the cluster has (once started).
    fn master_count(&self) -> usize {
        1
    }
    /// The leading master's URL now; `None` while none leads.
    async fn leader_url(&self) -> Option<String> {
        self.master_url()
    }
    /// Master `index` (0-based): its URL, whether it runs, whether it leads.
    async fn master_status(&self, index: usize) -> Result<MasterStatus, BackendError> {
        match (index, self.master_url()) {
            (0, Some(url)) => Ok(MasterStatus {
                advertised: url.trim_start_matches("http://").to_string(),
                url,
                running: true,
                leading: true,
            }),
            (0, None) => Err(BackendError::NoMaster),
            _ => Err(BackendError::failed(format!(
                "there is no master-{}",
                index + 1
            ))),
        }
    }
    /// Stops master `index`: gracefully (it leaves the election at once) or as a crash (it
    /// leads until its ZooKeeper session expires).
    async fn stop_master(&mut self, index: usize, graceful: bool) -> Result<(), BackendError> {
        let _ = (index, graceful);
        Err(self.unsupported("stopping one master"))
    }
    /// Starts stopped master `index` again (fresh id, empty registry).
    async fn start_master_at(&mut self, index: usize) -> Result<(), BackendError> {
        let _ = index;
        Err(self.unsupported("starting one master"))
    }
    /// `zk://host:port/mesos`, reachable from this host, when the cluster has ZooKeeper.
    fn zookeeper_url(&self) -> Option<String> {
        None
    }
    /// Stops ZooKeeper: gracefully or as a crash. Its data survives for `start_zookeeper`.
    async fn stop_zookeeper(&mut self, graceful: bool) -> Result<(), BackendError> {
        let _ = graceful;
        Err(self.unsupported("stopping ZooKeeper"))
    }
    async fn start_zookeeper(&mut self) -> Result<(), BackendError> {
        Err(self.unsupported("starting ZooKeeper"))
    }
    /// Freezes an agent: it neither answers nor sends until `unpause_agent` (as `docker pause`).
    async fn pause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let _ = index;
        Err(self.unsupported("pause()"))
    }
    async fn unpause_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let _ = index;
        Err(self.unsupported("unpause()"))
    }
    /// Cuts an agent off the cluster network (a partition): it keeps running, but nothing
    /// reaches it and nothing it sends arrives, until `reconnect_agent`.
    async fn disconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let _ = index;
        Err(self.unsupported("disconnect()"))
    }
    async fn reconnect_agent(&mut self, index: usize) -> Result<(), BackendError> {
        let _ = index;
        Err(self.unsupported("reconnect()"))
    }
    /// Runs a user's framework (scheduler): a host process, or a container when the request
    /// names an image; returns its index (for the `*_framework` methods) and its name.
    async fn run_framework(
        &mut self,
        request: FrameworkRequest,
    ) -> Result<(usize, String), BackendError>;
    /// The frameworks `run_framework` started, which the `*_framework` methods reach.
    fn framework_runs(&self) -> &dyn FrameworkRuns;
    fn framework_runs_mut(&mut self) -> &mut dyn FrameworkRuns;
    /// What framework `index` (0-based) has written so far (stdout and stderr).
    async fn framework_logs(&self, index: usize) -> Result<String, BackendError> {
        self.framework_runs().logs(index).await
    }
    /// Whether framework `index` runs, or its exit code.
    async fn framework_status(&mut self, index: usize) -> Result<FrameworkStatus, BackendError> {
        self.framework_runs_mut().status(index).await
    }
    /// Stops framework `index`: SIGTERM, then SIGKILL after `grace`; `None`: SIGKILL at once.
    /// Returns once it has ended.
    async fn stop_framework(
        &mut self,
        index: usize,
        grace: Option<Duration>,
    ) -> Result<(), BackendError> {
        self.framework_runs_mut().stop(index, grace).await
    }
    /// Starts framework `index` again with the same command, once it has ended.
    async fn start_framework(&mut self, index: usize) -> Result<(), BackendError> {
        self.framework_runs_mut().start(index).await
    }
    /// Saves what helps to understand a failure (node logs) under `dir`; returns the files.
    async fn save_artifacts(&self, dir: &Path) -> Vec<PathBuf> {
        let _ = dir;
        Vec::new()
    }
    /// How to reach the cluster from outside mmrun (URLs, containers, how to remove it), or
    /// `None` when it cannot outlive this process. `--keep` leaves such a cluster running
    /// (dropping the handle without `teardown`); `mmrun up` prints it.
    fn how_to_reach(&self) -> Option<String> {
        None
    }
    /// The shell command that starts mmrun's example executor (`mmrun example-executor`) on
    /// this cluster's agents, for a task's `executor.cmd`. In-process agents run it from the
    /// binary running now.
    fn example_executor_command(&self) -> String {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "mmrun".into());
        format!("'{}' example-executor", exe.replace('\'', r"'\''"))
    }
    /// The "not here" error for an operation this backend lacks.
    fn unsupported(&self, what: &'static str) -> BackendError {
        BackendError::Unsupported {
            what,
            backend: "this",
            hint: "run the scenario with --backend docker",
        }
    }
    fn agent_running(&self, index: usize) -> bool;
    fn agent_count(&self) -> usize;
    /// Ends the frameworks the scenario submitted (`submit_framework`; their ids), before
    /// `teardown`. A cluster mmrun made goes away with them; one it only attached to
    /// (`--backend external`) tears each down through the operator API (TEARDOWN).
    async fn end_frameworks(&mut self, ids: Vec<String>) {
        let _ = ids;
    }
    /// Ids of the frameworks the cluster already held (registered or completed) when the
    /// scenario attached to it: not the scenario's, so `c.state()` leaves them out. Empty for
    /// a fresh cluster.
    fn foreign_frameworks(&self) -> Vec<String> {
        Vec::new()
    }
    /// Stops every node and removes everything the cluster created.
    async fn teardown(self: Box<Self>);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::DockerError;

    /// A daemon that cannot be reached or cannot build is the machine's problem (ENV ERROR);
    /// a container that cannot start is the cluster's (a failure, retried).
    #[test]
    fn docker_errors_become_environment_errors_when_the_daemon_is_the_problem() {
        let unreachable = DockerError::Unreachable {
            host: "unix:///var/run/docker.sock".into(),
            reason: "connection refused".into(),
        };
        assert!(matches!(
            BackendError::from(unreachable),
            BackendError::Environment(_)
        ));
        let start = DockerError::StartContainer {
            container: "mmrun-x-master".into(),
            reason: "exited".into(),
        };
        assert!(matches!(BackendError::from(start), BackendError::Failed(_)));
    }
}
