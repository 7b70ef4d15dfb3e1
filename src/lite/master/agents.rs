//! Agent membership: registration and re-registration (rebuilding the master's view from the
//! agent's report, as after a master restart), the ordered message link, liveness pings,
//! disconnection (deactivate at once), unreachability (missed pings) and graceful removal.

use super::MasterShared;
use super::model::{Agent, AgentAddress, AgentLink, Framework, MasterCore, Task};
use crate::lite::protocol::{
    AgentRegistered, KillTask, PING_BATCH_PATH, PING_PATH, Ping, PingBatch, PingBatchAnswer,
    RegisterAgent, SOLE_AGENT_PROCESS, ShutdownFramework, ToAgent, agent_api_base,
};
use crate::mesos::ids::{AgentId, FrameworkId, TaskId};
use crate::mesos::resources::Resources;
use crate::mesos::scheduler::Event;
use crate::mesos::task::{TaskState, TaskStatus, TimeInfo, now_seconds, reason, source};
use std::collections::BTreeSet;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

impl MasterShared {
    pub(super) fn register_agent(
        self: &Arc<Self>,
        msg: RegisterAgent,
    ) -> Result<AgentRegistered, String> {
        let total = Resources::new(msg.resources.iter().cloned());
        for r in total.iter() {
            r.validate().map_err(|e| e.to_string())?;
        }
        let mut core = self.core();
        let now = now_seconds();
        let (id, reregistered) = match msg.agent_id.clone() {
            Some(id) => (id, true),
            None => {
                let id = AgentId::new(format!("{}-S{}", core.info.id, core.next_agent));
                core.next_agent += 1;
                (id, false)
            }
        };
        if !reregistered {
            // As Mesos, which also knows agents by address: a new agent where a registered one
            // listens means that one's process is gone (restarted without its id). Remove it
            // now; its pings would otherwise reach the new process and keep it registered.
            let ghosts = core.agents_at(&AgentAddress {
                ip: msg.ip.clone(),
                port: msg.port,
                process: msg.process.clone(),
            });
            for ghost in ghosts {
                tracing::info!(
                    "removing agent {ghost}: a new agent registered at {}@{}:{}",
                    msg.process,
                    msg.ip,
                    msg.port
                );
                self.remove_agent(
                    &mut core,
                    &ghost,
                    "a new agent registered at the same address",
                );
            }
        }
        let previous = core.agents.remove(&id);
        let was_unreachable = core.unreachable_agents.remove(&id).is_some();
        let registered_time = previous.as_ref().map_or(now, |a| a.registered_time);
        // Offers on the agent's old incarnation are void.
        self.remove_offers_where(&mut core, true, |o| o.agent_id == id);
        let link = self.open_link(&id, &msg);
        let agent = Agent {
            id: id.clone(),
            hostname: msg.hostname.clone(),
            ip: msg.ip.clone(),
            port: msg.port,
            process: msg.process.clone(),
            simulated: msg.simulated,
            total,
            attributes: msg.attributes.clone(),
            version: msg.version.clone(),
            registered_time,
            reregistered_time: reregistered.then_some(now),
            active: true,
            connected: true,
            link,
            // A re-registering agent reports its executors; those of frameworks that are gone
            // are shut down by the ShutdownFramework sent for their tasks.
            executors: msg
                .executors
                .iter()
                .filter(|e| !core.is_completed_framework(&e.framework_id))
                .map(|e| {
                    (
                        (e.framework_id.clone(), e.info.executor_id.clone()),
                        e.info.clone(),
                    )
                })
                .collect(),
        };
        self.agent_pids.set(&id, agent.pid());
        core.insert_agent(agent);
        if reregistered {
            self.reconcile_reregistered_agent(&mut core, &id, &msg, was_unreachable);
        }
        tracing::info!(
            "agent {id} at {}:{} {}",
            msg.ip,
            msg.port,
            if reregistered {
                "re-registered"
            } else {
                "registered"
            }
        );
        self.allocate(&mut core);
        Ok(AgentRegistered {
            agent_id: id,
            master_info: self.info.clone(),
            ping_timeout_secs: self.config.agent_ping_timeout.as_secs_f64(),
            max_ping_timeouts: self.config.max_agent_ping_timeouts,
        })
    }

    /// Rebuilds the master's view of a re-registering agent from what it reports.
    fn reconcile_reregistered_agent(
        self: &Arc<Self>,
        core: &mut MasterCore,
        agent_id: &AgentId,
        msg: &RegisterAgent,
        was_unreachable: bool,
    ) {
        let agent_send = |core: &MasterCore, m: ToAgent| {
            if let Some(a) = core.agents.get(agent_id) {
                a.send(m);
            }
        };
        // Executors of frameworks that are gone (possibly without tasks any more) stop too.
        let gone_frameworks: BTreeSet<&FrameworkId> = msg
            .executors
            .iter()
            .map(|e| &e.framework_id)
            .filter(|fw| core.is_completed_framework(fw))
            .collect();
        for fw_id in gone_frameworks {
            agent_send(
                core,
                ToAgent::ShutdownFramework(ShutdownFramework {
                    framework_id: fw_id.clone(),
                }),
            );
        }
        for reported in &msg.tasks {
            let fw_id = &reported.framework_id;
            let known = core.frameworks.contains_key(fw_id);
            let info = msg
                .frameworks
                .iter()
                .find(|f| f.id.as_ref() == Some(fw_id))
                .cloned();
            let framework = core.frameworks.get(fw_id);
            let task_id = &reported.task.task_id;
            let verdict = judge_reported_task(ReportedTask {
                framework_completed: core.is_completed_framework(fw_id),
                framework_known: known || info.is_some(),
                held_on_this_agent: framework.and_then(|f| {
                    f.tasks
                        .get(task_id)
                        .or_else(|| f.unreachable_tasks.get(task_id))
                        .map(|t| t.agent_id() == agent_id)
                }),
                completed_here: framework
                    .is_some_and(|f| f.completed_tasks.iter().any(|t| &t.info.task_id == task_id)),
                held_as_unreachable: framework
                    .is_some_and(|f| f.unreachable_tasks.contains_key(task_id)),
                partition_aware: framework.is_some_and(|f| f.is_partition_aware()),
            });
            match verdict {
                Verdict::ShutdownFramework => {
                    agent_send(
                        core,
                        ToAgent::ShutdownFramework(ShutdownFramework {
                            framework_id: fw_id.clone(),
                        }),
                    );
                    continue;
                }
                Verdict::Ignore => continue,
                Verdict::KillStale => {
                    // A stale copy: the framework's task of that id is on another agent, or
                    // the master already ended it (e.g. TASK_LOST when this agent
                    // disconnected). It must not come back, nor overwrite the real one.
                    let kill = ToAgent::KillTask(KillTask {
                        framework_id: fw_id.clone(),
                        task_id: task_id.clone(),
                        kill_policy: None,
                    });
                    agent_send(core, kill);
                    continue;
                }
                Verdict::LostAlready | Verdict::Adopt => {}
            }
            if let (false, Some(info)) = (known, info) {
                core.frameworks.insert(
                    fw_id.clone(),
                    Framework {
                        id: fw_id.clone(),
                        info,
                        active: false,
                        connected: false,
                        recovered: true,
                        registered_time: now_seconds(),
                        reregistered_time: None,
                        unregistered_time: 0.0,
                        stream: None,
                        pid: None,
                        tasks: Default::default(),
                        unreachable_tasks: Default::default(),
                        completed_tasks: Default::default(),
                        suppressed_roles: Default::default(),
                        failover_timer: None,
                    },
                );
            }
            // Known, or inserted above from the agent's report.
            let Some(framework) = core.frameworks.get_mut(fw_id) else {
                continue;
            };
            if verdict == Verdict::LostAlready {
                // Mesos shuts down non-partition-aware frameworks' tasks on an agent that
                // comes back: the framework was already told they were lost. The agent sends
                // nothing more for a framework it shut down, so the task completes here, lost.
                if let Some(task) = framework.unreachable_tasks.remove(task_id) {
                    framework.push_completed(task, self.config.max_completed_tasks_per_framework);
                }
                let shutdown = ToAgent::ShutdownFramework(ShutdownFramework {
                    framework_id: fw_id.clone(),
                });
                agent_send(core, shutdown);
                continue;
            }
            let back = framework.unreachable_tasks.remove(task_id).map(|mut task| {
                // As in Mesos, which replaces its copy of a returning agent's tasks with the
                // ones the agent reports: the task's history is the agent's again.
                // TASK_UNREACHABLE was the master's verdict, never a state of the task.
                task.statuses = reported.statuses.clone();
                task.status_update_state = reported.statuses.last().map(|s| s.state);
                task.status_update_uuid = reported.statuses.last().and_then(|s| s.uuid.clone());
                task
            });
            let existing = back.or_else(|| framework.tasks.remove(task_id));
            let mut task = existing.unwrap_or_else(|| Task {
                info: reported.task.clone(),
                framework_id: fw_id.clone(),
                state: reported.state,
                statuses: reported.statuses.clone(),
                status_update_state: reported.statuses.last().map(|s| s.state),
                status_update_uuid: reported.statuses.last().and_then(|s| s.uuid.clone()),
                role: reported
                    .task
                    .resources
                    .first()
                    .and_then(|r| r.allocation_info.as_ref())
                    .map_or_else(|| framework.info.role.clone(), |a| a.role.clone()),
                user: Some(framework.info.user.clone()),
            });
            task.state = reported.state;
            framework.tasks.insert(task_id.clone(), task);
        }
        // Tasks the master placed on this agent that it no longer has (it restarted): running
        // ones, and those held as unreachable, which would otherwise stay unreachable forever.
        // Task ids are unique per framework only: match on both.
        let reported: BTreeSet<(&FrameworkId, &TaskId)> = msg
            .tasks
            .iter()
            .map(|t| (&t.framework_id, &t.task.task_id))
            .collect();
        let mut gone = Vec::new();
        for f in core.frameworks.values() {
            let missing = |t: &&Task| {
                t.agent_id() == agent_id && !reported.contains(&(&f.id, &t.info.task_id))
            };
            for t in f.tasks.values().filter(missing) {
                let launching = t.state == TaskState::Staging;
                if !t.state.is_terminal() && !launching {
                    gone.push((f.id.clone(), t.info.task_id.clone(), false));
                }
            }
            for t in f.unreachable_tasks.values().filter(missing) {
                gone.push((f.id.clone(), t.info.task_id.clone(), true));
            }
        }
        let max_completed = self.config.max_completed_tasks_per_framework;
        for (fw_id, task_id, was_unreachable_task) in gone {
            let Some(f) = core.frameworks.get_mut(&fw_id) else {
                continue;
            };
            let state = if f.is_partition_aware() {
                TaskState::Gone
            } else {
                TaskState::Lost
            };
            let held = if was_unreachable_task {
                &mut f.unreachable_tasks
            } else {
                &mut f.tasks
            };
            let Some(mut task) = held.remove(&task_id) else {
                continue;
            };
            // A non-partition-aware framework's unreachable task is TASK_LOST already, and
            // counted in the metrics as such.
            let counted = task.state.is_terminal();
            let mut status = TaskStatus::new(task_id, state);
            status.source = Some(source::MASTER.into());
            status.reason = Some(reason::AGENT_RESTARTED.into());
            status.message = Some("Task was not found on the re-registered agent".into());
            status.agent_id = Some(agent_id.clone());
            f.send(&Event::update(status.clone()));
            task.record(status, state);
            f.push_completed(task, max_completed);
            if !counted {
                core.count_terminal(state);
            }
        }
        if was_unreachable {
            tracing::info!("agent {agent_id} came back after being marked unreachable");
        }
    }

    /// Opens the ordered message queue to an agent and starts pinging it.
    /// A simulated agent is pinged with the rest of its host (`ping_host`), one request a
    /// round for all of them, so ten thousand agents cost the master one pinger.
    fn open_link(self: &Arc<Self>, id: &AgentId, msg: &RegisterAgent) -> AgentLink {
        let (tx, rx) = mpsc::unbounded_channel();
        let cancel = self.stopped.child_token();
        let url = agent_api_base(&msg.ip, msg.port, &msg.process, msg.simulated);
        crate::node_log::spawn(deliver(self.http.clone(), url.clone(), rx, cancel.clone()));
        if msg.simulated {
            let host = agent_api_base(&msg.ip, msg.port, SOLE_AGENT_PROCESS, false);
            if self.pinged_hosts.lock().unwrap().insert(host.clone()) {
                crate::node_log::spawn(ping_host(self.clone(), host));
            }
        } else {
            crate::node_log::spawn(ping(self.clone(), id.clone(), url, cancel.clone()));
        }
        AgentLink { tx, cancel }
    }

    /// The agent's socket broke (its process is gone): deactivate it at once and rescind its
    /// offers; tasks of frameworks that do not checkpoint are lost (Mesos's `Master::exited`).
    fn agent_disconnected(self: &Arc<Self>, id: &AgentId) {
        let mut core = self.core();
        let Some(agent) = core.agents.get_mut(id) else {
            return;
        };
        if !agent.connected {
            return;
        }
        agent.connected = false;
        agent.active = false;
        let message = format!("Agent {} disconnected", agent.hostname);
        tracing::info!("agent {id} disconnected; deactivated");
        self.remove_offers_where(&mut core, true, |o| &o.agent_id == id);
        let lost: Vec<_> = core
            .frameworks
            .values()
            .filter(|f| !f.info.checkpoint)
            .flat_map(|f| {
                f.tasks
                    .values()
                    .filter(|t| t.agent_id() == id && !t.state.is_terminal())
                    .map(|t| (f.id.clone(), t.info.task_id.clone()))
            })
            .collect();
        for (fw_id, task_id) in lost {
            let status = self.send_master_update(
                &mut core,
                &fw_id,
                &task_id,
                Some(id),
                TaskState::Lost,
                reason::AGENT_DISCONNECTED,
                &message,
            );
            if let Some(f) = core.frameworks.get_mut(&fw_id)
                && let Some(mut task) = f.tasks.remove(&task_id)
            {
                task.record(status, TaskState::Lost);
                f.push_completed(task, self.config.max_completed_tasks_per_framework);
            }
        }
        self.allocate(&mut core);
    }

    /// The agent missed `max_agent_ping_timeouts` pings: it is unreachable. Its tasks become
    /// TASK_UNREACHABLE (partition-aware frameworks) or TASK_LOST and move to
    /// `unreachable_tasks`; every connected framework gets FAILURE.
    fn agent_unreachable(self: &Arc<Self>, id: &AgentId) {
        let mut core = self.core();
        let Some(agent) = core.agents.remove(id) else {
            return;
        };
        self.remove_offers_where(&mut core, true, |o| &o.agent_id == id);
        let now = now_seconds();
        core.unreachable_agents.insert(id.clone(), now);
        core.filters.retain(|f| &f.agent_id != id);
        tracing::warn!(
            "agent {id} ({}) missed its pings; marked unreachable",
            agent.hostname
        );
        self.remove_agent_tasks(
            &mut core,
            id,
            true,
            reason::AGENT_REMOVED,
            "health check timed out",
        );
        let failure = Event::agent_failure(id.clone());
        for f in core.frameworks.values().filter(|f| f.connected) {
            f.send(&failure);
        }
        self.allocate(&mut core);
    }

    /// The agent shut down gracefully and said goodbye.
    pub(super) fn unregister_agent(self: &Arc<Self>, id: &AgentId) -> bool {
        let mut core = self.core();
        if !self.remove_agent(&mut core, id, "agent unregistered") {
            return false;
        }
        tracing::info!("agent {id} unregistered");
        self.allocate(&mut core);
        true
    }

    /// Removes an agent for good (not unreachable): its offers are rescinded, its tasks end
    /// (TASK_GONE or TASK_LOST, `REASON_AGENT_REMOVED`) and every connected framework gets
    /// FAILURE. The caller runs the allocator.
    fn remove_agent(self: &Arc<Self>, core: &mut MasterCore, id: &AgentId, why: &str) -> bool {
        let Some(agent) = core.agents.remove(id) else {
            return false;
        };
        self.remove_offers_where(core, true, |o| &o.agent_id == id);
        core.filters.retain(|f| &f.agent_id != id);
        let message = format!("Agent {} removed: {why}", agent.hostname);
        self.remove_agent_tasks(core, id, false, reason::AGENT_REMOVED, &message);
        let failure = Event::agent_failure(id.clone());
        for f in core.frameworks.values().filter(|f| f.connected) {
            f.send(&failure);
        }
        true
    }

    /// Ends every task on a removed agent. `unreachable`: the agent may come back, so tasks go
    /// to `unreachable_tasks` (TASK_UNREACHABLE or TASK_LOST); otherwise they are gone for good
    /// (TASK_GONE or TASK_LOST) and complete.
    fn remove_agent_tasks(
        self: &Arc<Self>,
        core: &mut MasterCore,
        agent_id: &AgentId,
        unreachable: bool,
        why: &str,
        message: &str,
    ) {
        let now = now_seconds();
        let affected: Vec<_> = core
            .frameworks
            .values()
            .flat_map(|f| {
                f.tasks
                    .values()
                    .filter(|t| t.agent_id() == agent_id)
                    .map(|t| (f.id.clone(), t.info.task_id.clone(), f.is_partition_aware()))
            })
            .collect();
        for (fw_id, task_id, partition_aware) in affected {
            let Some(framework) = core.frameworks.get_mut(&fw_id) else {
                continue;
            };
            let Some(mut task) = framework.tasks.remove(&task_id) else {
                continue;
            };
            if task.state.is_terminal() {
                // The agent reported the end (as `latest_state`) but the update itself is still
                // queued behind unacknowledged ones on an agent that is now gone: tell the
                // framework here, or it would never learn how its task ended.
                if !task.status_update_state.is_some_and(TaskState::is_terminal) {
                    let mut status = TaskStatus::new(task_id.clone(), task.state);
                    status.source = Some(source::MASTER.into());
                    status.reason = Some(why.into());
                    status.message = Some(format!(
                        "{message}; the agent had reported the task {} before",
                        task.state
                    ));
                    status.agent_id = Some(agent_id.clone());
                    framework.send(&Event::update(status.clone()));
                    task.record(status, task.state);
                }
                framework.push_completed(task, self.config.max_completed_tasks_per_framework);
                continue;
            }
            let state = match (partition_aware, unreachable) {
                (true, true) => TaskState::Unreachable,
                (true, false) => TaskState::Gone,
                (false, _) => TaskState::Lost,
            };
            let mut status = TaskStatus::new(task_id.clone(), state);
            status.source = Some(source::MASTER.into());
            status.reason = Some(why.into());
            status.message = Some(message.into());
            status.agent_id = Some(agent_id.clone());
            if unreachable {
                status.unreachable_time = Some(TimeInfo::from_seconds(now));
            }
            framework.send(&Event::update(status.clone()));
            task.record(status, state);
            if unreachable {
                framework.unreachable_tasks.insert(task_id, task);
            } else {
                framework.push_completed(task, self.config.max_completed_tasks_per_framework);
            }
            core.count_terminal(state);
        }
    }
}

/// Delivers the master's messages to one agent, in order. Like a libprocess message on a
/// broken socket, a message that cannot be delivered is dropped: liveness handles the agent.
async fn deliver(
    http: reqwest::Client,
    url: String,
    mut rx: mpsc::UnboundedReceiver<ToAgent>,
    cancel: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            m = rx.recv() => match m { Some(m) => m, None => return },
            _ = cancel.cancelled() => return,
        };
        let body = match message.body() {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("cannot encode message for agent: {e}");
                continue;
            }
        };
        let sent = http
            .post(format!("{url}{}", message.path()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!("agent at {url} refused {}: {}", message.path(), r.status()),
            Err(e) => tracing::debug!("agent at {url} unreachable for {}: {e}", message.path()),
        }
    }
}

/// Pings an agent every `agent_ping_timeout`; a ping unanswered within that time is a miss,
/// and `max_agent_ping_timeouts` misses in a row make the agent unreachable. A refused
/// connection means the agent's process is gone: it is deactivated at once.
async fn ping(master: Arc<MasterShared>, id: AgentId, url: String, cancel: CancellationToken) {
    let interval = master.config.agent_ping_timeout;
    let max = master.config.max_agent_ping_timeouts;
    let mut misses = 0;
    loop {
        let started = Instant::now();
        let connected = match master.core().agents.get(&id) {
            Some(a) => a.connected,
            None => return,
        };
        let ping = Ping {
            master_id: master.info.id.clone(),
            connected,
            agent_id: id.clone(),
        };
        let answer = tokio::select! {
            r = tokio::time::timeout(interval, master.http.post(format!("{url}{PING_PATH}")).json(&ping).send()) => r,
            _ = cancel.cancelled() => return,
        };
        match answer {
            Ok(Ok(r)) if r.status().is_success() => misses = 0,
            Ok(Ok(_)) => misses += 1,
            Ok(Err(e)) => {
                misses += 1;
                if e.is_connect() {
                    master.agent_disconnected(&id);
                }
            }
            Err(_) => misses += 1,
        }
        if misses >= max {
            if !cancel.is_cancelled() {
                master.agent_unreachable(&id);
            }
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep_until((started + interval).into()) => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// Pings every simulated agent of one host (`http://ip:port`) each `agent_ping_timeout`, in
/// one request, with the same rules as `ping`: an agent that does not answer misses a ping,
/// `max_agent_ping_timeouts` misses in a row make it unreachable, and an agent its host no
/// longer runs (or a host that refuses the connection) is disconnected at once. Ends when
/// the master holds no agent of the host any more.
async fn ping_host(master: Arc<MasterShared>, host: String) {
    let interval = master.config.agent_ping_timeout;
    let max = master.config.max_agent_ping_timeouts;
    let mut misses: HashMap<AgentId, u32> = HashMap::new();
    loop {
        let started = Instant::now();
        let batch = {
            let core = master.core();
            let mut batch = PingBatch {
                master_id: master.info.id.clone(),
                ..PingBatch::default()
            };
            for agent in core.agents.values().filter(|a| {
                a.simulated && agent_api_base(&a.ip, a.port, SOLE_AGENT_PROCESS, false) == host
            }) {
                if agent.connected {
                    batch.connected.push(agent.id.clone());
                } else {
                    batch.disconnected.push(agent.id.clone());
                }
            }
            batch
        };
        if batch.connected.is_empty() && batch.disconnected.is_empty() {
            // Checked again with the master's core locked (before the host set, the order
            // `open_link` takes them in): an agent of the host may be registering right now.
            let core = master.core();
            let none_left = !core.agents.values().any(|a| {
                a.simulated && agent_api_base(&a.ip, a.port, SOLE_AGENT_PROCESS, false) == host
            });
            if none_left || master.stopped.is_cancelled() {
                master.pinged_hosts.lock().unwrap().remove(&host);
                return;
            }
            continue;
        }
        // Misses of agents no longer held are forgotten.
        let held: HashSet<&AgentId> = batch.connected.iter().chain(&batch.disconnected).collect();
        misses.retain(|id, _| held.contains(id));
        let request = master
            .http
            .post(format!("{host}{PING_BATCH_PATH}"))
            .json(&batch)
            .send();
        let answer = tokio::select! {
            r = tokio::time::timeout(interval, async {
                let response = request.await?;
                response.error_for_status()?.json::<PingBatchAnswer>().await
            }) => r,
            _ = master.stopped.cancelled() => return,
        };
        let pinged = batch.connected.iter().chain(&batch.disconnected);
        match answer {
            Ok(Ok(answer)) => {
                let answered: HashSet<&AgentId> = answer.answered.iter().collect();
                for id in &answer.gone {
                    master.agent_disconnected(id);
                }
                for id in pinged {
                    if answered.contains(id) {
                        misses.remove(id);
                    } else {
                        *misses.entry(id.clone()).or_default() += 1;
                    }
                }
            }
            Ok(Err(e)) if e.is_connect() => {
                for id in pinged {
                    master.agent_disconnected(id);
                    *misses.entry(id.clone()).or_default() += 1;
                }
            }
            _ => {
                for id in pinged {
                    *misses.entry(id.clone()).or_default() += 1;
                }
            }
        }
        let unreachable: Vec<AgentId> = misses
            .iter()
            .filter(|(_, n)| **n >= max)
            .map(|(id, _)| id.clone())
            .collect();
        for id in unreachable {
            misses.remove(&id);
            if !master.stopped.is_cancelled() {
                master.agent_unreachable(&id);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until((started + interval).into()) => {}
            _ = master.stopped.cancelled() => return,
        }
    }
}

/// What the master knows of a task a re-registering agent reports.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReportedTask {
    /// Its framework was torn down or removed.
    pub framework_completed: bool,
    /// The master knows the framework, or the agent reported its FrameworkInfo.
    pub framework_known: bool,
    /// `Some(true)` when the master holds the task (running or unreachable) on this agent,
    /// `Some(false)` on another agent, `None` when it does not hold it.
    pub held_on_this_agent: Option<bool>,
    /// The master already ended a task of that id.
    pub completed_here: bool,
    /// The master holds it as unreachable (the agent was marked unreachable).
    pub held_as_unreachable: bool,
    pub partition_aware: bool,
}

/// What the master does with a reported task, as Mesos's master does on re-registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Its framework is gone: the agent shuts the framework's executors and tasks down.
    ShutdownFramework,
    /// A framework the master cannot know (no FrameworkInfo): left alone.
    Ignore,
    /// A stale copy (the task is on another agent, or already ended): killed on the agent.
    KillStale,
    /// The framework, not partition-aware, was told the task was lost: it completes as lost
    /// and the agent shuts the framework down there.
    LostAlready,
    /// The task is the master's again, with the agent's history.
    Adopt,
}

pub(super) fn judge_reported_task(t: ReportedTask) -> Verdict {
    if t.framework_completed {
        Verdict::ShutdownFramework
    } else if !t.framework_known {
        Verdict::Ignore
    } else if t.held_on_this_agent == Some(false)
        || (t.held_on_this_agent.is_none() && t.completed_here)
    {
        Verdict::KillStale
    } else if t.held_as_unreachable && !t.partition_aware {
        Verdict::LostAlready
    } else {
        Verdict::Adopt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every branch of the re-registration verdict, as a table.
    #[test]
    fn reported_tasks_are_judged_as_mesos_judges_them() {
        let known = ReportedTask {
            framework_known: true,
            ..ReportedTask::default()
        };
        let cases = [
            (
                "framework torn down",
                ReportedTask {
                    framework_completed: true,
                    ..known
                },
                Verdict::ShutdownFramework,
            ),
            (
                "framework never seen",
                ReportedTask::default(),
                Verdict::Ignore,
            ),
            ("unknown task of a known framework", known, Verdict::Adopt),
            (
                "held here",
                ReportedTask {
                    held_on_this_agent: Some(true),
                    ..known
                },
                Verdict::Adopt,
            ),
            (
                "held on another agent",
                ReportedTask {
                    held_on_this_agent: Some(false),
                    ..known
                },
                Verdict::KillStale,
            ),
            (
                "already ended by the master",
                ReportedTask {
                    completed_here: true,
                    ..known
                },
                Verdict::KillStale,
            ),
            (
                "ended once, running here again under the same id",
                ReportedTask {
                    completed_here: true,
                    held_on_this_agent: Some(true),
                    ..known
                },
                Verdict::Adopt,
            ),
            (
                "unreachable, framework not partition-aware",
                ReportedTask {
                    held_on_this_agent: Some(true),
                    held_as_unreachable: true,
                    ..known
                },
                Verdict::LostAlready,
            ),
            (
                "unreachable, partition-aware framework",
                ReportedTask {
                    held_on_this_agent: Some(true),
                    held_as_unreachable: true,
                    partition_aware: true,
                    ..known
                },
                Verdict::Adopt,
            ),
        ];
        for (case, facts, expected) in cases {
            assert_eq!(judge_reported_task(facts), expected, "{case}");
        }
    }
}
