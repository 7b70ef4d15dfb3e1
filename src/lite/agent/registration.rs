//! Registering with the master, and registering again whenever the master seems to have
//! changed: no ping within `ping_timeout × max_pings`, or the master no longer knows us (409 on
//! a status update, or a ping saying we are disconnected). Retries back off randomly in
//! [0, b·2^n], capped at one minute, as Mesos agents do.

use super::AgentShared;
use crate::lite::protocol::{
    AgentRegistered, REGISTER_PATH, RegisterAgent, ReportedExecutor, ReportedTask, UNREGISTER_PATH,
    UnregisterAgent,
};
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub async fn run(agent: Arc<AgentShared>) {
    let mut failures: u32 = 0;
    loop {
        // A paused agent does nothing; once thawed, a long pause shows as an overdue ping.
        agent.faults.thawed(&agent.stopped).await;
        if agent.stopped.is_cancelled() {
            return;
        }
        let needed = {
            let core = agent.core();
            !core.registered || core.last_ping.elapsed() > core.ping_deadline
        };
        if needed {
            match register(&agent).await {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(
                            "agent cannot register with the master at {}: {}",
                            agent.config.master,
                            crate::errors::error_chain(&e)
                        );
                    }
                    let cap = agent
                        .config
                        .registration_backoff_factor
                        .saturating_mul(2u32.saturating_pow(failures.min(16)))
                        .min(MAX_BACKOFF);
                    let wait = rand::rng().random_range(Duration::ZERO..=cap);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        // A new leader (ZooKeeper): try it now, with a fresh backoff. Failures
                        // against the old one, dead (killed, its session not yet expired), must
                        // not delay re-registering with the new one by seconds.
                        _ = agent.reregister.notified() => {
                            agent.core().registered = false;
                            failures = 0;
                        }
                        _ = agent.stopped.cancelled() => return,
                    }
                    continue;
                }
            }
        }
        let check = agent.core().ping_deadline.min(Duration::from_secs(1));
        tokio::select! {
            _ = agent.reregister.notified() => {
                agent.core().registered = false;
            }
            _ = tokio::time::sleep(check) => {}
            _ = agent.stopped.cancelled() => return,
        }
    }
}

/// With `--master=zk://…`: registers again as soon as ZooKeeper names another leader, as a
/// Mesos agent re-registers on a new leader without waiting for pings to stop.
pub async fn follow_leader(agent: Arc<AgentShared>) {
    let Some(detector) = &agent.detector else {
        return;
    };
    let mut leadership = detector.subscribe();
    loop {
        tokio::select! {
            changed = leadership.changed() => if changed.is_err() { return },
            _ = agent.stopped.cancelled() => return,
        }
        let Some(leader) = leadership.borrow_and_update().info().map(|i| i.id.clone()) else {
            continue;
        };
        // Registered with this very master already (e.g. the first detection): nothing to do.
        let registered_with = agent.core().master_info.as_ref().map(|m| m.id.clone());
        if registered_with.as_ref() != Some(&leader) {
            tracing::info!(
                "new leading master detected through ZooKeeper: {}",
                agent.master_url().unwrap_or_default()
            );
            agent.reregister.notify_one();
        }
    }
}

/// Why a registration attempt failed; the agent tries again with backoff.
#[derive(Debug, thiserror::Error)]
enum RegistrationError {
    #[error(transparent)]
    Send(#[from] super::to_master::ToMasterError),
    #[error("{status}: {body}")]
    Refused {
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("cannot read the master's answer")]
    Answer(#[source] reqwest::Error),
}

async fn register(agent: &Arc<AgentShared>) -> Result<(), RegistrationError> {
    let message = {
        let core = agent.core();
        let (ip, port) = agent.advertised();
        RegisterAgent {
            agent_id: core.agent_id.clone(),
            hostname: agent.config.address.hostname.clone(),
            ip,
            port,
            process: crate::lite::protocol::SOLE_AGENT_PROCESS.into(),
            simulated: false,
            resources: agent.config.resources.clone().into_vec(),
            attributes: agent.config.attributes.clone(),
            version: crate::mesos::MESOS_VERSION.into(),
            frameworks: core.frameworks.values().cloned().collect(),
            tasks: core
                .tasks
                .values()
                .map(|t| ReportedTask {
                    framework_id: t.framework_id.clone(),
                    task: t.info.clone(),
                    state: t.state,
                    statuses: t.statuses.clone(),
                })
                .collect(),
            executors: core
                .executors
                .values()
                .map(|e| ReportedExecutor {
                    framework_id: e.framework_id.clone(),
                    info: e.info.clone(),
                })
                .collect(),
        }
    };
    let response = agent
        .post_to_master(&agent.register_http, REGISTER_PATH, &message, None)
        .await?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(RegistrationError::Refused { status, body });
    }
    let registered: AgentRegistered = response.json().await.map_err(RegistrationError::Answer)?;
    {
        let mut core = agent.core();
        if core
            .agent_id
            .as_ref()
            .is_some_and(|old| old != &registered.agent_id)
        {
            tracing::warn!(
                "agent given new id {} (was {:?})",
                registered.agent_id,
                core.agent_id
            );
        }
        tracing::info!(
            "agent registered as {} with master {}",
            registered.agent_id,
            registered.master_info.id
        );
        super::checkpoint::checkpoint_agent_id(&agent.config.work_dir, &registered.agent_id);
        core.agent_id = Some(registered.agent_id);
        core.master_info = Some(registered.master_info);
        core.registered = true;
        core.last_ping = Instant::now();
        core.ping_deadline = Duration::from_secs_f64(
            registered.ping_timeout_secs * f64::from(registered.max_ping_timeouts.max(1)),
        );
        // A new master has seen none of our pending updates: send each queue's head again.
        for queue in core.updates.values_mut() {
            if let Some(head) = queue.front_mut() {
                head.sent_at = None;
            }
        }
    }
    agent.updates_changed.notify_one();
    agent.registered_changed.notify_waiters();
    Ok(())
}

/// Best effort: tells the master this agent is going away for good.
pub async fn unregister(agent: &Arc<AgentShared>) {
    let Some(agent_id) = agent.core().agent_id.clone() else {
        return;
    };
    let sent = agent
        .post_to_master(
            &agent.http,
            UNREGISTER_PATH,
            &UnregisterAgent { agent_id },
            Some(Duration::from_secs(2)),
        )
        .await;
    if let Err(e) = sent {
        tracing::debug!("could not unregister from the master: {e}");
    }
}
