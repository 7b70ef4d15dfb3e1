//! The master's side of an agent's link: the ordered message queue to it and the liveness
//! pings that notice an agent is gone (a refused connection) or unreachable (missed pings).

use super::MasterShared;
use super::model::AgentLink;
use crate::lite::protocol::{
    PING_BATCH_PATH, PING_PATH, Ping, PingBatch, PingBatchAnswer, RegisterAgent,
    SOLE_AGENT_PROCESS, ToAgent, agent_api_base,
};
use crate::mesos::ids::AgentId;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

impl MasterShared {
    /// Opens the ordered message queue to an agent and starts pinging it.
    /// A simulated agent is pinged with the rest of its host (`ping_host`), one request a
    /// round for all of them, so ten thousand agents cost the master one pinger.
    pub(super) fn open_link(self: &Arc<Self>, id: &AgentId, msg: &RegisterAgent) -> AgentLink {
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
