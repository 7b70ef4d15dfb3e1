//! The master's in-memory registry: frameworks, agents, tasks and offers. Plain data; the
//! behaviour lives in the sibling modules that take `&mut MasterCore`.

use super::driver::DriverLink;
use crate::libprocess::Upid;
use crate::lite::protocol::ToAgent;
use crate::mesos::attributes::Attribute;
use crate::mesos::encoding::{self, Encoding};
use crate::mesos::executor::ExecutorInfo;
use crate::mesos::framework::{FrameworkInfo, MasterInfo};
use crate::mesos::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos::resources::Resources;
use crate::mesos::scheduler::Event;
use crate::mesos::task::{TaskInfo, TaskState, TaskStatus, reason};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where a framework's events go: its v1 subscription stream, or its scheduler driver.
pub struct EventStream {
    /// The `Mesos-Stream-Id` of an HTTP subscription; a fresh id per driver registration.
    pub id: String,
    pub sink: EventSink,
}

pub enum EventSink {
    Http(HttpStream),
    Driver(DriverLink),
}

/// A v1 subscription: RecordIO-framed events, in the encoding its SUBSCRIBE asked for (JSON
/// records are single lines).
pub struct HttpStream {
    pub tx: mpsc::UnboundedSender<Bytes>,
    pub encoding: Encoding,
}

impl HttpStream {
    /// `event` as one RecordIO record in this stream's encoding.
    pub fn record(&self, event: &Event) -> Option<Bytes> {
        match encoding::encode_record(self.encoding, event) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!("cannot encode event: {e}");
                None
            }
        }
    }

    pub fn send(&self, event: &Event) {
        if let Some(record) = self.record(event) {
            // A closed stream is noticed by its guard; a failed send here needs no handling.
            let _ = self.tx.send(record);
        }
    }
}

impl EventStream {
    pub fn send(&self, event: &Event) {
        match &self.sink {
            EventSink::Http(stream) => stream.send(event),
            EventSink::Driver(link) => link.send(event),
        }
    }

    /// Tells the scheduler it is subscribed. A driver tells a first registration (or a
    /// failover) from a re-registration by the message it gets; the v1 API has one event.
    pub fn send_subscribed(
        &self,
        framework_id: FrameworkId,
        heartbeat: f64,
        master_info: MasterInfo,
        reregistered: bool,
    ) {
        match &self.sink {
            EventSink::Http(stream) => {
                stream.send(&Event::subscribed(framework_id, heartbeat, master_info));
                stream.send(&Event::heartbeat());
            }
            EventSink::Driver(link) => link.registered(framework_id, master_info, reregistered),
        }
    }

    /// The scheduler driver's pid, for a driver framework.
    pub fn driver_pid(&self) -> Option<&Upid> {
        match &self.sink {
            EventSink::Driver(link) => Some(link.pid()),
            EventSink::Http(_) => None,
        }
    }
}

pub struct Task {
    pub info: TaskInfo,
    pub framework_id: FrameworkId,
    pub state: TaskState,
    pub statuses: Vec<TaskStatus>,
    /// The state and uuid of the update the agent is waiting to have acknowledged.
    pub status_update_state: Option<TaskState>,
    pub status_update_uuid: Option<String>,
    pub role: String,
    pub user: Option<String>,
}

impl Task {
    pub fn resources(&self) -> Resources {
        Resources::new(self.info.resources.iter().cloned())
    }

    pub fn agent_id(&self) -> &AgentId {
        &self.info.agent_id
    }

    /// Records a status as Mesos's `Master::updateTask` does: a repeat of the last state
    /// replaces it rather than growing the history. Returns whether operator subscribers are
    /// told of it as TASK_UPDATED: a new state, or a (health) check's result, which Mesos
    /// always forwards.
    #[must_use]
    pub fn record(&mut self, status: TaskStatus, latest_state: TaskState) -> bool {
        let repeated = self
            .statuses
            .last()
            .is_some_and(|s| s.state == status.state);
        let check_result = status.reason.as_deref().is_some_and(|r| {
            r == reason::TASK_HEALTH_CHECK_STATUS_UPDATED || r == reason::TASK_CHECK_STATUS_UPDATED
        });
        if repeated {
            self.statuses.pop();
        }
        self.status_update_state = Some(status.state);
        self.status_update_uuid = status.uuid.clone();
        self.statuses.push(status);
        self.state = latest_state;
        !repeated || check_result
    }
}

pub struct Framework {
    pub id: FrameworkId,
    pub info: FrameworkInfo,
    pub active: bool,
    pub connected: bool,
    /// Known only from re-registering agents' reports, until its scheduler subscribes again.
    pub recovered: bool,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub unregistered_time: f64,
    pub stream: Option<EventStream>,
    /// A driver framework's scheduler pid, kept while it is disconnected (`/master/state`
    /// shows it, as Mesos's does); `None` for v1 HTTP frameworks.
    pub pid: Option<Upid>,
    pub tasks: BTreeMap<TaskId, Task>,
    pub unreachable_tasks: BTreeMap<TaskId, Task>,
    pub completed_tasks: VecDeque<Task>,
    pub suppressed_roles: BTreeSet<String>,
    /// Cancels the failover-timeout removal when the scheduler comes back.
    pub failover_timer: Option<CancellationToken>,
}

impl Framework {
    pub fn send(&self, event: &Event) {
        if let Some(stream) = &self.stream {
            stream.send(event);
        }
    }

    /// Keeps a task as completed, dropping the oldest beyond `max`
    /// (`--max_completed_tasks_per_framework`). Every task that completes goes through here.
    pub fn push_completed(&mut self, task: Task, max: usize) {
        self.completed_tasks.push_back(task);
        while self.completed_tasks.len() > max {
            self.completed_tasks.pop_front();
        }
    }

    pub fn is_partition_aware(&self) -> bool {
        self.info
            .has_capability(crate::mesos::framework::capability::PARTITION_AWARE)
    }

    pub fn roles(&self) -> Vec<String> {
        self.info.effective_roles()
    }

    pub fn wants_offers(&self) -> bool {
        self.active
            && self.connected
            && self
                .roles()
                .iter()
                .any(|r| !self.suppressed_roles.contains(r))
    }
}

/// The master's link to one agent: an ordered message queue and the liveness pinger.
pub struct AgentLink {
    pub tx: mpsc::UnboundedSender<ToAgent>,
    pub cancel: CancellationToken,
}

impl Drop for AgentLink {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub struct Agent {
    pub id: AgentId,
    pub hostname: String,
    pub ip: String,
    pub port: u16,
    /// Its libprocess process id (`slave(1)` unless it shares its process with others).
    pub process: String,
    /// Simulated: pinged with the rest of its host.
    pub simulated: bool,
    pub total: Resources,
    pub attributes: Vec<Attribute>,
    pub version: String,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub active: bool,
    pub connected: bool,
    pub link: AgentLink,
    /// Custom executors running here, per (framework, executor id), from the first task
    /// launched on one until the agent reports it exited (Mesos's `Slave::executors`).
    pub executors: BTreeMap<(FrameworkId, ExecutorId), ExecutorInfo>,
}

impl Agent {
    pub fn pid(&self) -> String {
        format!("{}@{}:{}", self.process, self.ip, self.port)
    }

    pub fn address(&self) -> AgentAddress {
        AgentAddress {
            ip: self.ip.clone(),
            port: self.port,
            process: self.process.clone(),
        }
    }

    pub fn send(&self, message: ToAgent) {
        let _ = self.link.tx.send(message);
    }

    /// What this agent's executors of `framework` (all frameworks: `None`) hold.
    pub fn executor_resources(&self, framework: Option<&FrameworkId>) -> Resources {
        self.executors
            .iter()
            .filter(|((fw, _), _)| framework.is_none_or(|f| f == fw))
            .fold(Resources::default(), |acc, (_, e)| {
                acc.add(&Resources::new(e.resources.iter().cloned()))
            })
    }
}

pub struct OfferRecord {
    pub id: OfferId,
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub resources: Resources,
    pub role: String,
    pub timer: Option<CancellationToken>,
}

/// A DECLINE (or unused part of an ACCEPT) keeps an agent's resources from one framework.
pub struct OfferFilter {
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub until: Instant,
}

/// The allocator's bookkeeping of its coalesced passes (`MasterShared::allocate`).
#[derive(Default)]
pub struct AllocationState {
    /// Something changed since the last pass.
    pub pending: bool,
    /// A pass is on its way.
    pub scheduled: bool,
    /// How long the last pass took.
    pub last_cost: std::time::Duration,
}

pub struct MasterCore {
    pub info: MasterInfo,
    pub allocation: AllocationState,
    pub frameworks: BTreeMap<FrameworkId, Framework>,
    pub completed_frameworks: VecDeque<Framework>,
    pub agents: BTreeMap<AgentId, Agent>,
    /// The agents registered at each address (ip, port, libprocess process), so a new
    /// agent's registration finds the ghosts it replaces without walking every agent (with
    /// tens of thousands of simulated agents, that walk made registering quadratic). Ids of
    /// agents removed since may linger: `agents_at` checks each against `agents`.
    pub agent_addresses: HashMap<AgentAddress, Vec<AgentId>>,
    /// Agents marked unreachable, with the time they were.
    pub unreachable_agents: BTreeMap<AgentId, f64>,
    pub offers: BTreeMap<OfferId, OfferRecord>,
    pub filters: Vec<OfferFilter>,
    pub next_framework: u64,
    pub next_agent: u64,
    pub next_offer: u64,
    /// Cumulative counts of tasks that reached each terminal state (`master/tasks_<state>`).
    pub terminal_counts: BTreeMap<TaskState, u64>,
}

/// Where an agent listens, as its libprocess pid says: ip, port and process id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AgentAddress {
    pub ip: String,
    pub port: u16,
    pub process: String,
}

/// What the agents' tasks and executors use and their outstanding offers hold, by agent.
#[derive(Debug, Default)]
pub struct AgentUsage<'a> {
    pub used: HashMap<&'a AgentId, Resources>,
    pub offered: HashMap<&'a AgentId, Resources>,
}

impl AgentUsage<'_> {
    pub fn used_on(&self, agent: &AgentId) -> Resources {
        self.used.get(agent).cloned().unwrap_or_default()
    }

    pub fn offered_on(&self, agent: &AgentId) -> Resources {
        self.offered.get(agent).cloned().unwrap_or_default()
    }
}

impl MasterCore {
    pub fn new(info: MasterInfo) -> MasterCore {
        MasterCore {
            allocation: AllocationState::default(),
            info,
            frameworks: BTreeMap::new(),
            completed_frameworks: VecDeque::new(),
            agents: BTreeMap::new(),
            agent_addresses: HashMap::new(),
            unreachable_agents: BTreeMap::new(),
            offers: BTreeMap::new(),
            filters: Vec::new(),
            next_framework: 0,
            next_agent: 0,
            next_offer: 0,
            terminal_counts: BTreeMap::new(),
        }
    }

    /// Adds `agent` to the registry, indexed by its address too. Every agent goes in here.
    pub fn insert_agent(&mut self, agent: Agent) {
        let ids = self.agent_addresses.entry(agent.address()).or_default();
        if !ids.contains(&agent.id) {
            ids.push(agent.id.clone());
        }
        self.agents.insert(agent.id.clone(), agent);
    }

    /// The registered agents at `address`, in id order (as a walk of `agents` finds them);
    /// forgets ids no longer there.
    pub fn agents_at(&mut self, address: &AgentAddress) -> Vec<AgentId> {
        let Some(ids) = self.agent_addresses.get_mut(address) else {
            return Vec::new();
        };
        let agents = &self.agents;
        ids.retain(|id| agents.get(id).is_some_and(|a| &a.address() == address));
        let mut found = ids.clone();
        found.sort();
        if found.is_empty() {
            self.agent_addresses.remove(address);
        }
        found
    }

    /// What each agent's tasks, executors and outstanding offers hold (`used_on` plus
    /// `offered_on`, for every agent in one pass).
    pub fn held_per_agent(&self) -> HashMap<&AgentId, Resources> {
        let AgentUsage { mut used, offered } = self.usage_per_agent();
        for (id, o) in offered {
            let entry = used.entry(id).or_default();
            *entry = entry.add(&o);
        }
        used
    }

    /// `used_on` and `offered_on` of every agent in one pass over tasks, executors and
    /// offers: views of the whole cluster must not walk every task once per agent.
    pub fn usage_per_agent(&self) -> AgentUsage<'_> {
        let mut usage = AgentUsage::default();
        for f in self.frameworks.values() {
            for t in f.tasks.values().filter(|t| !t.state.is_terminal()) {
                let entry = usage.used.entry(t.agent_id()).or_default();
                *entry = entry.add(&t.resources());
            }
        }
        for agent in self.agents.values() {
            if !agent.executors.is_empty() {
                let entry = usage.used.entry(&agent.id).or_default();
                *entry = entry.add(&agent.executor_resources(None));
            }
        }
        for o in self.offers.values() {
            let entry = usage.offered.entry(&o.agent_id).or_default();
            *entry = entry.add(&o.resources);
        }
        usage
    }

    pub fn used_by(&self, framework: &Framework) -> Resources {
        let executors = self.agents.values().fold(Resources::default(), |acc, a| {
            acc.add(&a.executor_resources(Some(&framework.id)))
        });
        framework
            .tasks
            .values()
            .filter(|t| !t.state.is_terminal())
            .fold(executors, |acc, t| acc.add(&t.resources()))
    }

    pub fn offered_to(&self, framework_id: &FrameworkId) -> Resources {
        self.offers
            .values()
            .filter(|o| &o.framework_id == framework_id)
            .fold(Resources::default(), |acc, o| acc.add(&o.resources))
    }

    pub fn find_framework(&self, id: &FrameworkId) -> Option<&Framework> {
        self.frameworks.get(id)
    }

    pub fn is_completed_framework(&self, id: &FrameworkId) -> bool {
        self.completed_frameworks.iter().any(|f| &f.id == id)
    }

    pub fn count_terminal(&mut self, state: TaskState) {
        if state.is_terminal() {
            *self.terminal_counts.entry(state).or_default() += 1;
        }
    }
}
