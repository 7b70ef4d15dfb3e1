//! mmrun's Mesos-compatible agent: registers with the master (and re-registers with its
//! running tasks when the master restarts), answers pings, runs command tasks as child process
//! groups in per-task sandboxes (and, with `--containerizers=docker,mesos`, DOCKER tasks as
//! sibling containers), resends status updates until acknowledged, and serves `/state` and
//! `/files/*` as a Mesos agent does.

mod api;
mod checkpoint;
mod command_executor;
mod config;
mod docker_tasks;
mod driver_api;
mod executor_api;
mod executor_call;
mod executor_driver;
mod executors;
pub mod fault;
pub mod fetcher;
mod files;
mod health;
mod metrics;
mod operator_api;
mod registration;
mod to_master;
mod updates;

pub use config::{AGENT_FLAGS, AgentConfig, AgentConfigError, MasterLocation};
pub use fault::{FaultError, Faults};

use crate::lite::http::serve;
use crate::mesos::executor::ExecutorInfo;
use crate::mesos::framework::{FrameworkInfo, MasterInfo};
use crate::mesos::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
use crate::mesos::task::{TaskInfo, TaskState, TaskStatus, now_seconds};
use crate::zookeeper::LeaderDetector;
use fault::FaultGate;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A task's identity on an agent: task ids are unique per framework only.
pub type TaskKey = (FrameworkId, TaskId);

/// A custom executor's identity on an agent: one per (framework, executor id), as in Mesos.
pub type ExecutorKey = (FrameworkId, ExecutorId);

/// Mesos's `Executor::State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutorState {
    /// Launched, not subscribed yet: its tasks wait in `queued`.
    Registering,
    Running,
    /// Sent SHUTDOWN; killed when the grace period ends.
    Terminating,
    Terminated,
}

/// How an executor's unfinished tasks end if it ends now (Mesos's `pendingTermination`).
#[derive(Clone, Debug)]
pub struct Termination {
    pub state: TaskState,
    pub reason: &'static str,
    pub message: String,
}

/// A framework's own executor (`TaskInfo.executor`), run by the agent and reached over
/// `/api/v1/executor` (see `executors/` and `executor_api.rs`).
pub struct CustomExecutor {
    pub framework_id: FrameworkId,
    pub info: ExecutorInfo,
    pub container_id: ContainerId,
    pub sandbox: PathBuf,
    pub state: ExecutorState,
    pub pid: Option<u32>,
    /// The SUBSCRIBE response stream, while the executor is connected.
    pub stream: Option<executor_api::EventStream>,
    /// Tasks launched before the executor subscribed, sent as LAUNCH after SUBSCRIBED.
    pub queued: Vec<TaskId>,
    pub ever_sent_task: bool,
    pub pending_termination: Option<Termination>,
    /// Asks the executor's supervisor to kill its process group (or container) now.
    pub destroy: mpsc::UnboundedSender<()>,
    /// An executor container's name (DOCKER `ExecutorInfo.container`), from before it is
    /// created until it is removed.
    pub container: Option<String>,
}

pub struct RunningTask {
    pub framework_id: FrameworkId,
    pub info: TaskInfo,
    pub state: TaskState,
    pub statuses: Vec<TaskStatus>,
    pub container_id: ContainerId,
    pub sandbox: PathBuf,
    pub pid: Option<u32>,
    /// A DOCKER task's container name, from before it is created until it is removed.
    pub container: Option<String>,
    /// Asks the task's runner to kill it, with the grace period before SIGKILL.
    pub kill: mpsc::UnboundedSender<Duration>,
    /// The custom executor running the task; `None` for command tasks.
    pub executor: Option<ExecutorId>,
}

impl RunningTask {
    /// The name Mesos's agent gives a command task's executor (in `/state` and the operator
    /// API alike).
    pub fn command_executor_name(&self) -> String {
        format!(
            "Command Executor (Task: {}) (Command: sh -c '{}')",
            self.info.task_id,
            self.info
                .command
                .as_ref()
                .and_then(|c| c.value.clone())
                .unwrap_or_default()
        )
    }
}

/// An update waiting for the framework's acknowledgement.
pub struct PendingUpdate {
    pub status: TaskStatus,
    pub sent_at: Option<Instant>,
}

/// An agent that did not register in time: the master is unreachable, or refused it.
#[derive(Debug, thiserror::Error)]
#[error("agent at {agent} did not register with the master at {master} within {timeout:?}")]
pub struct RegistrationTimeout {
    pub agent: String,
    pub master: String,
    pub timeout: Duration,
}

pub struct AgentCore {
    pub agent_id: Option<AgentId>,
    pub master_info: Option<MasterInfo>,
    pub registered: bool,
    pub last_ping: Instant,
    /// No ping for this long means the master is gone: re-register.
    pub ping_deadline: Duration,
    pub frameworks: BTreeMap<FrameworkId, FrameworkInfo>,
    pub tasks: BTreeMap<TaskKey, RunningTask>,
    pub completed: VecDeque<RunningTask>,
    pub updates: BTreeMap<TaskKey, VecDeque<PendingUpdate>>,
    /// Frameworks shut down here (until one runs a task again): no update is queued for them,
    /// and their tasks complete as soon as they are terminal.
    pub shut_down: BTreeSet<FrameworkId>,
    pub executors: BTreeMap<ExecutorKey, CustomExecutor>,
    pub completed_executors: VecDeque<CustomExecutor>,
}

pub struct AgentShared {
    core: Mutex<AgentCore>,
    pub config: AgentConfig,
    pub addr: SocketAddr,
    pub start_time: f64,
    http: reqwest::Client,
    /// For registering: gives up connecting after 250 ms, so an attempt made while the
    /// master's address is not up yet (nodes started together; the SYN is lost and the kernel
    /// would retry it only after 1 s) is retried after the short backoff instead.
    register_http: reqwest::Client,
    /// Wakes the update sender (new update, acknowledgement, re-registration).
    updates_changed: Notify,
    /// Executors' messages on their way to the master: an executor's later UPDATE waits for
    /// them, so its scheduler gets them in the order the executor sent them, as Mesos's one
    /// agent-to-master connection keeps them.
    messages_in_flight: tokio::sync::watch::Sender<usize>,
    /// Wakes the registration loop to register again now.
    reregister: Notify,
    /// Wakes `Agent::registered` waiters when a registration is accepted.
    registered_changed: Notify,
    stopped: CancellationToken,
    /// The Docker containerizer's connection, made on the first DOCKER task.
    docker: docker_tasks::DockerClient,
    /// Paused or disconnected (tests and scenarios): see `fault.rs`.
    faults: FaultGate,
    /// Follows the leading master when `--master` is a ZooKeeper URL.
    detector: Option<LeaderDetector>,
}

impl AgentShared {
    fn core(&self) -> MutexGuard<'_, AgentCore> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The master to talk to now: the fixed one, or the leader ZooKeeper names (`None` while
    /// it names none).
    pub fn master_url(&self) -> Option<String> {
        match (&self.config.master, &self.detector) {
            (MasterLocation::Fixed(addr), _) => Some(format!("http://{addr}")),
            (MasterLocation::ZooKeeper(_), Some(detector)) => detector
                .current()
                .info()
                .map(|leader| format!("http://{}:{}", leader.address.ip, leader.address.port)),
            (MasterLocation::ZooKeeper(_), None) => None,
        }
    }

    pub fn advertised(&self) -> (String, u16) {
        (
            self.config.address.advertise_ip.to_string(),
            self.config
                .address
                .advertise_port
                .unwrap_or(self.addr.port()),
        )
    }

    pub fn pid(&self) -> String {
        let (ip, port) = self.advertised();
        format!("slave(1)@{ip}:{port}")
    }
}

/// A running agent.
pub struct Agent {
    shared: Arc<AgentShared>,
    server: Option<JoinHandle<()>>,
    loops: Vec<JoinHandle<()>>,
}

impl Agent {
    pub async fn start(config: AgentConfig) -> std::io::Result<Agent> {
        let listener = TcpListener::bind(config.address.bind).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("agent cannot listen on {}: {e}", config.address.bind),
            )
        })?;
        // A node restarted on its old work dir comes back as the same agent, as in Mesos.
        let recovered = checkpoint::recover_agent_id(&config.work_dir);
        Agent::start_on(listener, config, recovered)
    }

    /// Serves on a bound listener. `agent_id` is the id to re-register with (a restarted agent
    /// that recovered its identity).
    pub fn start_on(
        listener: TcpListener,
        config: AgentConfig,
        agent_id: Option<AgentId>,
    ) -> std::io::Result<Agent> {
        std::fs::create_dir_all(&config.work_dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create --work_dir {}: {e}",
                    config.work_dir.display()
                ),
            )
        })?;
        let addr = listener.local_addr()?;
        let detector = match &config.master {
            MasterLocation::ZooKeeper(url) => Some(LeaderDetector::start(
                url.clone(),
                config.zk_session_timeout,
            )),
            MasterLocation::Fixed(_) => None,
        };
        let shared = Arc::new(AgentShared {
            core: Mutex::new(AgentCore {
                agent_id,
                master_info: None,
                registered: false,
                last_ping: Instant::now(),
                ping_deadline: Duration::from_secs(75),
                frameworks: BTreeMap::new(),
                tasks: BTreeMap::new(),
                completed: VecDeque::new(),
                updates: BTreeMap::new(),
                shut_down: BTreeSet::new(),
                executors: BTreeMap::new(),
                completed_executors: VecDeque::new(),
            }),
            config,
            addr,
            start_time: now_seconds(),
            http: crate::lite::peer_client(),
            register_http: crate::http_client::build(
                reqwest::Client::builder()
                    .no_proxy()
                    .connect_timeout(Duration::from_millis(250))
                    .timeout(Duration::from_secs(30)),
            ),
            updates_changed: Notify::new(),
            messages_in_flight: tokio::sync::watch::Sender::new(0),
            reregister: Notify::new(),
            registered_changed: Notify::new(),
            stopped: CancellationToken::new(),
            docker: docker_tasks::DockerClient::default(),
            faults: FaultGate::new(),
            detector,
        });
        let stopped = shared.stopped.clone();
        let server =
            crate::node_log::spawn(serve(listener, api::router(shared.clone()), async move {
                stopped.cancelled().await
            }));
        let mut loops = vec![
            crate::node_log::spawn(registration::run(shared.clone())),
            crate::node_log::spawn(updates::run(shared.clone())),
            crate::node_log::spawn(registration::follow_leader(shared.clone())),
        ];
        if shared.config.runs_docker_tasks()
            && let Some(id) = shared.core().agent_id.clone()
        {
            loops.push(crate::node_log::spawn(docker_tasks::remove_orphans(
                shared.clone(),
                id,
            )));
        }
        tracing::info!("agent listening on {addr}, master {}", shared.config.master);
        Ok(Agent {
            shared,
            server: Some(server),
            loops,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    pub fn url(&self) -> String {
        let (ip, port) = self.shared.advertised();
        format!("http://{ip}:{port}")
    }

    /// The id the master gave this agent, once registered.
    pub fn id(&self) -> Option<AgentId> {
        self.shared.core().agent_id.clone()
    }

    pub fn is_registered(&self) -> bool {
        self.shared.core().registered
    }

    /// Waits until the master has accepted the registration.
    pub async fn registered(&self, timeout: Duration) -> Result<AgentId, RegistrationTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Woken by the registration itself rather than polling: a 1 ms sleep costs up to
            // 2 ms on tokio's millisecond timer, per agent, in every cluster start. The
            // `Notified` is enabled before the check so a registration in between is not missed.
            let changed = self.shared.registered_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let core = self.shared.core();
                // A registered agent has the id the master gave it.
                if core.registered
                    && let Some(id) = &core.agent_id
                {
                    return Ok(id.clone());
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(RegistrationTimeout {
                    agent: self.url(),
                    master: self.shared.config.master.to_string(),
                    timeout,
                });
            }
        }
    }

    /// Status updates waiting for the framework's acknowledgement. Zero once every update the
    /// agent sent was acknowledged, e.g. before a test cuts the agent off: an update still
    /// unacknowledged then is sent again after the partition (as in Mesos), so the framework
    /// sees it twice.
    pub fn unacknowledged_updates(&self) -> usize {
        self.shared.core().updates.values().map(|q| q.len()).sum()
    }

    /// Whether the agent is paused or disconnected.
    pub fn faults(&self) -> Faults {
        self.shared.faults.current()
    }

    /// Freezes the agent, as `docker pause` freezes its container: it answers no request (the
    /// master's pings time out), sends nothing (no registration, no status update) and its task
    /// processes are stopped (SIGSTOP to their process groups), keeping their state.
    pub fn pause(&self) -> Result<(), FaultError> {
        // Under the agent's lock, as `command_executor::supervise` records a new task's process: a task
        // that starts just now is either frozen here or sees the pause there.
        let core = self.shared.core();
        self.shared.faults.set_paused(true)?;
        command_executor::signal_tasks(&core, libc::SIGSTOP);
        tracing::info!("agent at {} paused", self.url());
        Ok(())
    }

    /// Thaws a paused agent: its tasks continue (SIGCONT), held requests are served, and it
    /// carries on where it stopped. If its master gave up on it meanwhile, no ping arrives and
    /// it re-registers with its tasks, as a Mesos agent does after a long freeze.
    pub fn unpause(&self) -> Result<(), FaultError> {
        let core = self.shared.core();
        self.shared.faults.set_paused(false)?;
        command_executor::signal_tasks(&core, libc::SIGCONT);
        tracing::info!("agent at {} unpaused", self.url());
        Ok(())
    }

    /// Cuts the agent off the network, as a partition: it keeps running (timers, tasks, status
    /// updates queued and retried), but no request reaches it (they are held, so the master's
    /// pings time out) and every request it sends fails as a connection error.
    pub fn disconnect(&self) -> Result<(), FaultError> {
        self.shared.faults.set_disconnected(true)?;
        tracing::info!("agent at {} disconnected from the network", self.url());
        Ok(())
    }

    /// Heals the partition: held requests whose clients still wait are served, and the agent's
    /// next attempts reach the master again: it re-registers with its tasks if the master
    /// marked it unreachable, and delivers the updates it queued meanwhile.
    pub fn reconnect(&self) -> Result<(), FaultError> {
        self.shared.faults.set_disconnected(false)?;
        tracing::info!("agent at {} reconnected to the network", self.url());
        Ok(())
    }

    /// A graceful stop, as on SIGTERM: kills every task (SIGTERM, then SIGKILL after the grace
    /// period; `docker stop` for DOCKER tasks), removes the task containers, gives the final
    /// updates a moment to reach the master, says goodbye to the master and stops serving.
    pub async fn stop(mut self) {
        // A frozen agent could not say goodbye (its requests wait for it to be thawed), so a
        // graceful stop thaws it first. (`LocalCluster` refuses to stop a paused agent
        // gracefully, which is clearer for people; this only keeps `stop` from hanging.)
        if self.shared.faults.current().paused {
            let _ = self.unpause();
        }
        // Executors get SHUTDOWN and their grace period at the same time as command tasks.
        let executors = executors::shutdown_all(&self.shared);
        let tasks = command_executor::kill_all(
            &self.shared,
            Some(self.shared.config.executor_shutdown_grace_period),
        );
        tokio::join!(executors, tasks);
        docker_tasks::remove_all(&self.shared).await;
        updates::flush(&self.shared, Duration::from_secs(1)).await;
        registration::unregister(&self.shared).await;
        self.halt().await;
    }

    /// Stops as a crash would: no goodbye, no final updates. The task processes are killed
    /// and the task containers removed at once so nothing outlives the agent.
    pub async fn crash(mut self) {
        self.shared.stopped.cancel();
        command_executor::kill_all(&self.shared, None).await;
        executors::kill_all_now(&self.shared);
        docker_tasks::remove_all(&self.shared).await;
        self.halt().await;
    }

    async fn halt(&mut self) {
        self.shared.stopped.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        for l in self.loops.drain(..) {
            let _ = l.await;
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.shared.stopped.cancel();
        command_executor::kill_all_now(&self.shared);
        executors::kill_all_now(&self.shared);
        docker_tasks::remove_all_blocking(&self.shared);
        if let Some(server) = self.server.take() {
            server.abort();
        }
        for l in self.loops.drain(..) {
            l.abort();
        }
    }
}
