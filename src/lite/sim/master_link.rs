//! What a host sends the master for its agents: registrations (and registering again when
//! the master seems to have changed: no ping within `ping_timeout × max_pings`, a ping saying
//! the agent is disconnected, an update refused as from an unknown agent, a new leader in
//! ZooKeeper), status updates (each task's head update until acknowledged, in batches), and a
//! stopping agent's goodbye. Registrations back off randomly after failures, as Mesos agents'.

use super::{SimAgent, SimShared};
use crate::lite::protocol::{
    AgentRegistered, REGISTER_PATH, RegisterAgent, ReportedExecutor, ReportedTask,
    STATUS_UPDATES_PATH, StatusUpdate, StatusUpdatesAnswer, UNREGISTER_PATH, UnregisterAgent,
};
use crate::mesos::ids::AgentId;
use futures::StreamExt;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Registrations in flight at once: enough to register thousands of agents in seconds
/// without queueing the master's accept loop.
const REGISTRATIONS_IN_FLIGHT: usize = 64;
/// Updates per request, and requests in flight at once.
const UPDATES_PER_REQUEST: usize = 500;
const UPDATE_REQUESTS_IN_FLIGHT: usize = 4;
const BACKOFF_FACTOR: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub async fn register_loop(host: Arc<SimShared>) {
    let mut failures: std::collections::HashMap<usize, u32> = Default::default();
    loop {
        let due = due_registrations(&host);
        if due.is_empty() {
            tokio::select! {
                _ = host.wake_registrations.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = host.stopped.cancelled() => return,
            }
            continue;
        }
        let results: Vec<(usize, Result<(), SimRegistrationError>)> = futures::stream::iter(due)
            .map(|(index, message)| {
                let host = host.clone();
                async move { (index, register(&host, index, message).await) }
            })
            .buffer_unordered(REGISTRATIONS_IN_FLIGHT)
            .collect()
            .await;
        let mut core = host.core();
        for (index, result) in results {
            let agent = &mut core.agents[index];
            agent.registering = false;
            match result {
                Ok(()) => {
                    failures.remove(&index);
                }
                Err(e) => {
                    let n = failures.entry(index).or_default();
                    *n = n.saturating_add(1);
                    if *n == 1 || n.is_multiple_of(10) {
                        tracing::warn!(
                            "simulated agent {} cannot register with the master: {}",
                            agent.process,
                            crate::errors::error_chain(&e)
                        );
                    }
                    let cap = BACKOFF_FACTOR
                        .saturating_mul(2u32.saturating_pow((*n).min(16)))
                        .min(MAX_BACKOFF);
                    agent.retry_at =
                        Instant::now() + rand::rng().random_range(Duration::ZERO..=cap);
                }
            }
        }
    }
}

/// The agents that must register now, marked as registering, with what each reports.
fn due_registrations(host: &SimShared) -> Vec<(usize, RegisterAgent)> {
    if host.stopped.is_cancelled() {
        return Vec::new();
    }
    let now = Instant::now();
    let mut core = host.core();
    let mut due = Vec::new();
    for (index, agent) in core.agents.iter_mut().enumerate() {
        // `now` once per pass: reading the clock per agent was most of a busy host's time.
        let needed = !agent.registered
            || now.saturating_duration_since(agent.last_ping) > agent.ping_deadline;
        // A cut-off agent's attempts would fail at once; it tries once it is back.
        if !agent.reachable() || agent.registering || !needed || agent.retry_at > now {
            continue;
        }
        agent.registering = true;
        due.push((index, report(host, agent)));
    }
    due
}

fn report(host: &SimShared, agent: &SimAgent) -> RegisterAgent {
    let mut executors: Vec<ReportedExecutor> = Vec::new();
    for ((framework_id, _), task) in &agent.tasks {
        if let Some(info) = &task.info.executor
            && !executors
                .iter()
                .any(|e| &e.framework_id == framework_id && e.info.executor_id == info.executor_id)
        {
            executors.push(ReportedExecutor {
                framework_id: framework_id.clone(),
                info: info.clone(),
            });
        }
    }
    RegisterAgent {
        agent_id: agent.id.clone(),
        hostname: host.config.hostname.clone(),
        ip: host.config.advertise_ip.to_string(),
        port: host.port,
        process: agent.process.clone(),
        simulated: true,
        resources: agent.resources.clone().into_vec(),
        attributes: agent.attributes.clone(),
        version: crate::mesos::MESOS_VERSION.into(),
        frameworks: agent.frameworks.values().cloned().collect(),
        tasks: agent
            .tasks
            .iter()
            .map(|((framework_id, _), t)| ReportedTask {
                framework_id: framework_id.clone(),
                task: t.info.clone(),
                state: t.state,
                statuses: t.statuses.clone(),
            })
            .collect(),
        executors,
    }
}

/// Why a simulated agent's registration failed; it tries again with backoff.
#[derive(Debug, thiserror::Error)]
enum SimRegistrationError {
    #[error("ZooKeeper names no leading master yet")]
    NoLeader,
    #[error("cannot reach the master")]
    Send(#[source] reqwest::Error),
    #[error("{status}: {body}")]
    Refused {
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("cannot read the master's answer")]
    Answer(#[source] reqwest::Error),
}

async fn register(
    host: &SimShared,
    index: usize,
    message: RegisterAgent,
) -> Result<(), SimRegistrationError> {
    let master = host.master_url().ok_or(SimRegistrationError::NoLeader)?;
    let response = host
        .http
        .post(format!("{master}{REGISTER_PATH}"))
        .json(&message)
        .send()
        .await
        .map_err(SimRegistrationError::Send)?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(SimRegistrationError::Refused { status, body });
    }
    let registered: AgentRegistered = response
        .json()
        .await
        .map_err(SimRegistrationError::Answer)?;
    let mut core = host.core();
    let core = &mut *core;
    let agent = &mut core.agents[index];
    if !agent.running {
        return Ok(());
    }
    tracing::debug!(
        "simulated agent {} registered as {}",
        agent.process,
        registered.agent_id
    );
    core.by_id.insert(registered.agent_id.clone(), index);
    agent.id = Some(registered.agent_id);
    agent.master = Some(registered.master_info);
    agent.registered = true;
    agent.last_ping = Instant::now();
    agent.ping_deadline = Duration::from_secs_f64(
        registered.ping_timeout_secs * f64::from(registered.max_ping_timeouts.max(1)),
    );
    // A new master has seen none of the pending updates: each task's head goes again. Only
    // this agent's: waking the update loop for a look at every agent, once per registration,
    // made registering N agents cost N²/64.
    let mut pending = false;
    for task in agent.tasks.values_mut() {
        if let Some(head) = task.updates.front_mut() {
            head.sent_at = None;
            pending = true;
        }
    }
    if pending {
        host.updates_changed(core, index);
    }
    Ok(())
}

pub async fn update_loop(host: Arc<SimShared>) {
    // Every agent is looked at once a period (retries), also while wakes keep coming.
    let period = host.config.status_update_retry.min(Duration::from_secs(1));
    let mut last_full: Option<Instant> = None;
    loop {
        let full = last_full.is_none_or(|t| t.elapsed() >= period);
        if full {
            last_full = Some(Instant::now());
        }
        let due = due_updates(&host, full);
        if !due.is_empty() {
            let chunks: Vec<Vec<StatusUpdate>> = due
                .chunks(UPDATES_PER_REQUEST)
                .map(<[StatusUpdate]>::to_vec)
                .collect();
            futures::stream::iter(chunks)
                .for_each_concurrent(UPDATE_REQUESTS_IN_FLIGHT, |chunk| {
                    let host = host.clone();
                    async move { send_updates(&host, chunk).await }
                })
                .await;
        }
        let next_full = last_full.map_or_else(Instant::now, |t| t + period);
        tokio::select! {
            _ = host.wake_updates.notified() => {}
            _ = tokio::time::sleep_until(next_full.into()) => {}
            _ = host.stopped.cancelled() => return,
        }
    }
}

/// Each task's head update, if never sent or unacknowledged for `status_update_retry`, on
/// agents that are registered and reachable; marked as sent. With `full`, every agent is
/// looked at (retries, agents back on the network); otherwise only those whose updates
/// changed since the last look, so a busy host does not walk ten thousand agents an update.
fn due_updates(host: &SimShared, full: bool) -> Vec<StatusUpdate> {
    let retry = host.config.status_update_retry;
    let now = Instant::now();
    let mut core = host.core();
    let core = &mut *core;
    let changed = std::mem::take(&mut core.updates_due);
    let full = full
        || host
            .rescan_updates
            .swap(false, std::sync::atomic::Ordering::Relaxed);
    let mut due = Vec::new();
    let mut look_at = |agent: &mut SimAgent| {
        if agent.tasks.is_empty() || !agent.registered || !agent.reachable() {
            return;
        }
        let Some(agent_id) = agent.id.clone() else {
            return;
        };
        for ((framework_id, _), task) in agent.tasks.iter_mut() {
            let latest_state = task.state;
            let Some(head) = task.updates.front_mut() else {
                continue;
            };
            if head.sent_at.is_some_and(|t| now.duration_since(t) < retry) {
                continue;
            }
            head.sent_at = Some(now);
            due.push(StatusUpdate {
                agent_id: agent_id.clone(),
                framework_id: framework_id.clone(),
                status: head.status.clone(),
                latest_state,
            });
        }
    };
    if full {
        core.agents.iter_mut().for_each(&mut look_at);
    } else {
        for index in changed {
            if let Some(agent) = core.agents.get_mut(index) {
                look_at(agent);
            }
        }
    }
    due
}

async fn send_updates(host: &SimShared, updates: Vec<StatusUpdate>) {
    let Some(master) = host.master_url() else {
        return;
    };
    let sent = host
        .http
        .post(format!("{master}{STATUS_UPDATES_PATH}"))
        .json(&updates)
        .send()
        .await;
    let answer = match sent {
        Ok(r) if r.status().is_success() => r.json::<StatusUpdatesAnswer>().await,
        Ok(r) => {
            tracing::warn!(
                "master refused {} status updates: {}",
                updates.len(),
                r.status()
            );
            return;
        }
        Err(e) => {
            // Resent at the next retry, as a real agent's.
            tracing::debug!("{} status updates not delivered: {e}", updates.len());
            return;
        }
    };
    let Ok(answer) = answer else { return };
    if answer.unknown_agents.is_empty() {
        return;
    }
    forget_registration(host, &answer.unknown_agents);
}

/// The master does not know these agents (any more): they register again.
fn forget_registration(host: &SimShared, ids: &[AgentId]) {
    {
        let mut core = host.core();
        let core = &mut *core;
        for id in ids {
            if let Some(&index) = core.by_id.get(id) {
                core.agents[index].registered = false;
            }
        }
    }
    host.wake();
}

/// With `zk://…`: agents registered with another master register again as soon as
/// ZooKeeper names a new leader.
pub async fn follow_leader(host: Arc<SimShared>) {
    let Some(detector) = &host.detector else {
        return;
    };
    let mut leadership = detector.subscribe();
    loop {
        tokio::select! {
            changed = leadership.changed() => if changed.is_err() { return },
            _ = host.stopped.cancelled() => return,
        }
        let Some(leader) = leadership.borrow_and_update().info().map(|i| i.id.clone()) else {
            continue;
        };
        let mut stale = 0;
        {
            let mut core = host.core();
            for agent in core.agents.iter_mut() {
                if agent.registered && agent.master.as_ref().map(|m| &m.id) != Some(&leader) {
                    agent.registered = false;
                    agent.retry_at = Instant::now();
                    stale += 1;
                }
            }
        }
        if stale > 0 {
            tracing::info!(
                "new leading master detected through ZooKeeper: {stale} simulated agents register again"
            );
            host.wake();
        }
    }
}

/// Best effort: tells the master an agent is going away for good.
pub async fn unregister(host: &SimShared, agent_id: AgentId) {
    let Some(master) = host.master_url() else {
        return;
    };
    let sent = host
        .http
        .post(format!("{master}{UNREGISTER_PATH}"))
        .timeout(Duration::from_secs(2))
        .json(&UnregisterAgent { agent_id })
        .send()
        .await;
    if let Err(e) = sent {
        tracing::debug!("could not unregister a simulated agent: {e}");
    }
}
