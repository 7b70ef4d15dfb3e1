//! Simulated agents, kwok-style: agents that register, are offered, run tasks and report
//! their status to the master as real ones do — a framework cannot tell them apart — but
//! cost no listener, no process and no sandbox each. One host (`SimHost`) runs any number of
//! them behind one HTTP listener, each its own libprocess process (`slave(1)@ip:port`,
//! `slave(2)@ip:port`, … as Mesos's in-process test agents are named), and speaks mmrun's
//! master↔agent protocol for them: under `/<process>/api/mmrun/v1/*`, one ping for all of
//! them (`PingBatch`), their status updates in batches. A task's behaviour (how long it runs,
//! how it ends) comes from the task or from its agent's default (`behaviour.rs`).
//!
//! Faults act per agent as on a real one: a stopped agent is gone (its host answers pings for
//! it with "gone", as a refused connection would), a paused or disconnected one answers nothing
//! and its messages wait, and it registers again once it is back.

mod api;
pub mod behaviour;
mod master_link;

pub use behaviour::{Behaviour, BehaviourError};

use crate::lite::agent::MasterLocation;
use crate::mesos::attributes::Attribute;
use crate::mesos::framework::{FrameworkInfo, MasterInfo};
use crate::mesos::ids::{AgentId, FrameworkId, TaskId};
use crate::mesos::resources::Resources;
use crate::mesos::task::{TaskInfo, TaskState, TaskStatus};
use crate::zookeeper::LeaderDetector;
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How a host reaches the master and retries.
#[derive(Clone, Debug)]
pub struct SimHostConfig {
    pub master: MasterLocation,
    pub zk_session_timeout: Duration,
    /// The address its agents advertise (the listener's port goes with it).
    pub advertise_ip: Ipv4Addr,
    pub hostname: String,
    /// How long an update waits for its acknowledgement before it is sent again.
    pub status_update_retry: Duration,
}

/// One simulated agent, as its host keeps it.
struct SimAgent {
    /// `slave(N)`.
    process: String,
    resources: Resources,
    attributes: Vec<Attribute>,
    default_behaviour: Behaviour,
    /// Its process is up (not stopped).
    running: bool,
    paused: bool,
    disconnected: bool,
    id: Option<AgentId>,
    master: Option<MasterInfo>,
    registered: bool,
    /// A registration is on its way.
    registering: bool,
    /// No registration attempt before this (backoff after a failure).
    retry_at: Instant,
    last_ping: Instant,
    ping_deadline: Duration,
    frameworks: HashMap<FrameworkId, FrameworkInfo>,
    tasks: HashMap<TaskKey, SimTask>,
    /// Incremented when the agent stops: timers of its earlier life do nothing.
    life: u64,
}

type TaskKey = (FrameworkId, TaskId);

struct SimTask {
    info: TaskInfo,
    state: TaskState,
    statuses: Vec<TaskStatus>,
    /// Updates in order; the head is sent until acknowledged.
    updates: VecDeque<Pending>,
    /// Its framework wants TASK_KILLING before TASK_KILLED.
    killing_state: bool,
}

struct Pending {
    status: TaskStatus,
    sent_at: Option<Instant>,
}

impl SimAgent {
    fn reachable(&self) -> bool {
        self.running && !self.paused && !self.disconnected
    }
}

struct SimCore {
    agents: Vec<SimAgent>,
    by_id: HashMap<AgentId, usize>,
    /// Agents with an update queued or acknowledged since the update loop last looked: what
    /// it sends at once, without walking every agent (retries are found by its periodic
    /// full pass).
    updates_due: std::collections::BTreeSet<usize>,
}

pub(crate) struct SimShared {
    core: Mutex<SimCore>,
    config: SimHostConfig,
    port: u16,
    http: reqwest::Client,
    detector: Option<LeaderDetector>,
    /// A registration may be due.
    wake_registrations: Notify,
    /// An update may be due.
    wake_updates: Notify,
    /// Something other than one agent's updates changed (a registration, a fault, a new
    /// master): the update loop walks every agent next time. Atomic, not in the core, as
    /// `wake` is called with the core locked or not.
    rescan_updates: std::sync::atomic::AtomicBool,
    /// An agent's faults changed: held requests look again.
    faults_changed: Notify,
    stopped: CancellationToken,
}

impl SimShared {
    fn core(&self) -> MutexGuard<'_, SimCore> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn master_url(&self) -> Option<String> {
        match (&self.config.master, &self.detector) {
            (MasterLocation::Fixed(addr), _) => Some(format!("http://{addr}")),
            (MasterLocation::ZooKeeper(_), Some(detector)) => detector
                .current()
                .info()
                .map(|leader| format!("http://{}:{}", leader.address.ip, leader.address.port)),
            (MasterLocation::ZooKeeper(_), None) => None,
        }
    }

    /// Something may be due: a registration or any agent's update.
    fn wake(&self) {
        self.rescan_updates
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.wake_registrations.notify_one();
        self.wake_updates.notify_one();
    }

    /// Agent `index` queued an update or had one acknowledged (its next may go): only the
    /// update loop needs to look, and only at that agent. Called with the core locked.
    fn updates_changed(&self, core: &mut SimCore, index: usize) {
        core.updates_due.insert(index);
        self.wake_updates.notify_one();
    }

    fn pid(&self, process: &str) -> String {
        format!("{process}@{}:{}", self.config.advertise_ip, self.port)
    }
}

/// A host of simulated agents. Dropping it stops them all at once (a crash).
pub struct SimHost {
    shared: Arc<SimShared>,
}

/// Why an agent of the host could not be given or spared a fault, or stopped or started.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error("there is no simulated agent {0}")]
    NoSuchAgent(usize),
    #[error("simulated agent {0} is not running (it was stopped; start it first)")]
    NotRunning(usize),
    #[error("simulated agent {0} is already running")]
    AlreadyRunning(usize),
    #[error("simulated agent {0}: {1}")]
    Fault(usize, crate::lite::agent::FaultError),
    #[error(
        "{missing} of {asked} simulated agents did not register with the master within {within:?}: is the master up at {master}?"
    )]
    NotRegistered {
        missing: usize,
        asked: usize,
        within: Duration,
        master: String,
    },
}

impl SimHost {
    /// Serves the host's agents on `listener`; add them with `add_agents`.
    pub fn start_on(listener: TcpListener, config: SimHostConfig) -> std::io::Result<SimHost> {
        let port = listener.local_addr()?.port();
        let detector = match &config.master {
            MasterLocation::ZooKeeper(url) => Some(LeaderDetector::start(
                url.clone(),
                config.zk_session_timeout,
            )),
            MasterLocation::Fixed(_) => None,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(SimShared {
            core: Mutex::new(SimCore {
                agents: Vec::new(),
                by_id: HashMap::new(),
                updates_due: Default::default(),
            }),
            config,
            port,
            http,
            detector,
            wake_registrations: Notify::new(),
            wake_updates: Notify::new(),
            rescan_updates: Default::default(),
            faults_changed: Notify::new(),
            stopped: CancellationToken::new(),
        });
        let router = api::router(shared.clone());
        let stopped = shared.stopped.clone();
        crate::node_log::spawn(crate::lite::http::serve(listener, router, async move {
            stopped.cancelled().await
        }));
        crate::node_log::spawn(master_link::register_loop(shared.clone()));
        crate::node_log::spawn(master_link::update_loop(shared.clone()));
        crate::node_log::spawn(master_link::follow_leader(shared.clone()));
        Ok(SimHost { shared })
    }

    /// Adds `count` agents with these resources (Mesos's defaults fill what is missing),
    /// attributes and default task behaviour; they register at once. Returns their indices.
    pub fn add_agents(
        &self,
        count: usize,
        resources: &Resources,
        attributes: &[Attribute],
        behaviour: &Behaviour,
    ) -> std::ops::Range<usize> {
        let mut core = self.shared.core();
        let first = core.agents.len();
        let now = Instant::now();
        for index in first..first + count {
            core.agents.push(SimAgent {
                process: format!("slave({})", index + 1),
                resources: resources.clone(),
                attributes: attributes.to_vec(),
                default_behaviour: behaviour.clone(),
                running: true,
                paused: false,
                disconnected: false,
                id: None,
                master: None,
                registered: false,
                registering: false,
                retry_at: now,
                last_ping: now,
                ping_deadline: Duration::from_secs(75),
                frameworks: HashMap::new(),
                tasks: HashMap::new(),
                life: 0,
            });
        }
        drop(core);
        self.shared.wake();
        first..first + count
    }

    /// Waits until every agent in `indices` is registered; their ids.
    pub async fn registered(
        &self,
        indices: std::ops::Range<usize>,
        within: Duration,
    ) -> Result<Vec<AgentId>, SimError> {
        let deadline = Instant::now() + within;
        loop {
            // Counted without copying ids: this looks at every agent a hundred times a second.
            let missing = {
                let core = self.shared.core();
                let agents = &core.agents[indices.clone()];
                let missing = agents
                    .iter()
                    .filter(|a| !(a.registered && a.id.is_some()))
                    .count();
                if missing == 0 {
                    return Ok(agents.iter().filter_map(|a| a.id.clone()).collect());
                }
                missing
            };
            if Instant::now() >= deadline {
                return Err(SimError::NotRegistered {
                    missing,
                    asked: indices.len(),
                    within,
                    master: self.shared.master_url().unwrap_or_else(|| "?".into()),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn agent_count(&self) -> usize {
        self.shared.core().agents.len()
    }

    pub fn agent_id(&self, index: usize) -> Option<AgentId> {
        self.shared.core().agents.get(index)?.id.clone()
    }

    pub fn is_running(&self, index: usize) -> bool {
        self.shared
            .core()
            .agents
            .get(index)
            .is_some_and(|a| a.running)
    }

    /// `slave(N)@ip:port`.
    pub fn pid(&self, index: usize) -> Option<String> {
        let process = self.shared.core().agents.get(index)?.process.clone();
        Some(self.shared.pid(&process))
    }

    /// The host's own address: `http://ip:port`.
    pub fn url(&self) -> String {
        format!(
            "http://{}:{}",
            self.shared.config.advertise_ip, self.shared.port
        )
    }

    /// Updates still waiting for acknowledgement on agent `index`.
    pub fn unacknowledged_updates(&self, index: usize) -> Option<usize> {
        let core = self.shared.core();
        let agent = core.agents.get(index)?;
        Some(agent.tasks.values().map(|t| t.updates.len()).sum())
    }

    /// Stops agent `index`: gracefully (its tasks are killed and it unregisters) or as a
    /// crash (it is gone: its host says so to the next ping). Either way its tasks are gone;
    /// started again it registers with its id and no task, as an agent whose work directory
    /// survived but whose executors did not.
    pub async fn stop_agent(&self, index: usize, graceful: bool) -> Result<(), SimError> {
        let unregister = {
            let mut core = self.shared.core();
            let agent = core
                .agents
                .get_mut(index)
                .ok_or(SimError::NoSuchAgent(index))?;
            if !agent.running {
                return Err(SimError::NotRunning(index));
            }
            if graceful && agent.paused {
                return Err(SimError::Fault(
                    index,
                    crate::lite::agent::FaultError::AlreadyPaused,
                ));
            }
            agent.running = false;
            agent.registered = false;
            agent.life += 1;
            agent.tasks.clear();
            agent.frameworks.clear();
            graceful.then(|| agent.id.clone()).flatten()
        };
        self.shared.faults_changed.notify_waiters();
        if let Some(id) = unregister {
            master_link::unregister(&self.shared, id).await;
        }
        Ok(())
    }

    pub fn start_agent(&self, index: usize) -> Result<(), SimError> {
        {
            let mut core = self.shared.core();
            let agent = core
                .agents
                .get_mut(index)
                .ok_or(SimError::NoSuchAgent(index))?;
            if agent.running {
                return Err(SimError::AlreadyRunning(index));
            }
            agent.running = true;
            agent.paused = false;
            agent.disconnected = false;
            agent.retry_at = Instant::now();
        }
        self.shared.wake();
        Ok(())
    }

    /// Freezes agent `index`: it answers nothing and sends nothing; its tasks' timers stand
    /// still in effect (what would have happened meanwhile happens once it is thawed).
    pub fn pause(&self, index: usize) -> Result<(), SimError> {
        self.fault(index, |a| {
            if a.paused {
                return Err(crate::lite::agent::FaultError::AlreadyPaused);
            }
            a.paused = true;
            Ok(())
        })
    }

    pub fn unpause(&self, index: usize) -> Result<(), SimError> {
        self.fault(index, |a| {
            if !a.paused {
                return Err(crate::lite::agent::FaultError::NotPaused);
            }
            a.paused = false;
            Ok(())
        })
    }

    /// Cuts agent `index` off: nothing reaches it, nothing it sends arrives.
    pub fn disconnect(&self, index: usize) -> Result<(), SimError> {
        self.fault(index, |a| {
            if a.disconnected {
                return Err(crate::lite::agent::FaultError::AlreadyDisconnected);
            }
            a.disconnected = true;
            Ok(())
        })
    }

    pub fn reconnect(&self, index: usize) -> Result<(), SimError> {
        self.fault(index, |a| {
            if !a.disconnected {
                return Err(crate::lite::agent::FaultError::NotDisconnected);
            }
            a.disconnected = false;
            Ok(())
        })
    }

    pub fn faults(&self, index: usize) -> Option<crate::lite::agent::Faults> {
        let core = self.shared.core();
        let agent = core.agents.get(index).filter(|a| a.running)?;
        Some(crate::lite::agent::Faults {
            paused: agent.paused,
            disconnected: agent.disconnected,
        })
    }

    fn fault(
        &self,
        index: usize,
        change: impl FnOnce(&mut SimAgent) -> Result<(), crate::lite::agent::FaultError>,
    ) -> Result<(), SimError> {
        {
            let mut core = self.shared.core();
            let agent = core
                .agents
                .get_mut(index)
                .ok_or(SimError::NoSuchAgent(index))?;
            if !agent.running {
                return Err(SimError::NotRunning(index));
            }
            change(agent).map_err(|e| SimError::Fault(index, e))?;
            // Back on the network or thawed: a ping overdue meanwhile makes it register again.
            agent.last_ping = agent.last_ping.min(Instant::now());
        }
        self.shared.faults_changed.notify_waiters();
        self.shared.wake();
        Ok(())
    }

    /// Stops every agent at once and the listener (a crash of the host process).
    pub fn shutdown(&self) {
        self.shared.stopped.cancel();
        self.shared.faults_changed.notify_waiters();
    }
}

impl Drop for SimHost {
    fn drop(&mut self) {
        self.shutdown();
    }
}
