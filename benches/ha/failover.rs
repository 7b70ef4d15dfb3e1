//! Leader failover as a user of any backend sees it, for `benches/cluster.rs` (embedded) and
//! `benches/docker.rs`: a cluster of ZooKeeper + 3 masters + agents through the `ClusterHandle`
//! trait, its leader stopped or killed, then timed
//!
//! - to a new leader serving: another master's `/metrics/snapshot` says `master/elected` 1;
//! - to every agent re-registered with it: its `/metrics/snapshot` counts them all in
//!   `master/slaves_active` (what `/master/slaves` lists as active, without rendering
//!   thousands of agents on every poll).
//!
//! Everything is polled over HTTP from this process, as a client would see it: every 2 ms
//! ([`POLL`]) for a few agents; the scale bench polls less often so that polling does not
//! take the CPU the master needs for ten thousand re-registrations.

use futures::StreamExt;
use mmrun::cluster::{AgentSpec, Backend, ClusterHandle, ClusterSpec};
use std::time::{Duration, Instant};

pub const MASTERS: usize = 3;
pub const POLL: Duration = Duration::from_millis(2);
/// Far longer than a killed leader's session (2 s) plus ZooKeeper's tick: a bench that would
/// wait past this is broken, not slow.
const GIVE_UP: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
pub struct Failover {
    /// Stop/kill issued -> another master says `master/elected` 1.
    pub leader: Duration,
    /// Stop/kill issued -> the new leader lists every agent active.
    pub agents: Duration,
}

pub fn ha_spec(scenario: &str) -> ClusterSpec {
    ClusterSpec {
        scenario: scenario.into(),
        zookeeper: true,
        masters: MASTERS,
        ..ClusterSpec::default()
    }
}

/// A started HA cluster with `agents` agents.
pub async fn ha_cluster(
    backend: &dyn Backend,
    scenario: &str,
    agents: usize,
) -> Box<dyn ClusterHandle> {
    let mut cluster = backend
        .create(ha_spec(scenario))
        .await
        .expect("an HA cluster");
    cluster
        .start_cluster(vec![AgentSpec::default(); agents])
        .await
        .expect("the HA cluster starts");
    cluster
}

/// Stops (`graceful`) or kills the leader of `cluster`, which has `agents` agents, and times
/// the failover, polling every `poll`. The cluster is left with one master fewer running.
pub async fn fail_over(
    cluster: &mut dyn ClusterHandle,
    graceful: bool,
    agents: usize,
    poll: Duration,
) -> Failover {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut leader = None;
    let mut others = Vec::new();
    for i in 0..cluster.master_count() {
        let status = cluster.master_status(i).await.expect("a master's status");
        if status.leading {
            leader = Some(i);
        } else {
            others.push(status.url);
        }
    }
    let leader = leader.expect("a leader before the failover");
    let started = Instant::now();
    cluster
        .stop_master(leader, graceful)
        .await
        .expect("the leader stops");
    // Each candidate watched on its own: a master stopped earlier is gone from the network,
    // and a request to its address waits out the timeout (as a dead host's would) instead of
    // being refused, which must not slow the look at the others.
    let watch = |url: &String| {
        let http = &http;
        let url = url.clone();
        async move {
            loop {
                if elected(http, &url).await {
                    return url;
                }
                give_up_after(started, "no new leader");
                tokio::time::sleep(poll).await;
            }
        }
    };
    let mut watches: futures::stream::FuturesUnordered<_> = others.iter().map(watch).collect();
    let new = watches
        .next()
        .await
        .expect("a master other than the leader");
    drop(watches);
    let leader_took = started.elapsed();
    while active_agents(&http, &new).await < agents {
        give_up_after(started, "the agents did not re-register");
        tokio::time::sleep(poll).await;
    }
    Failover {
        leader: leader_took,
        agents: started.elapsed(),
    }
}

fn give_up_after(started: Instant, what: &str) {
    assert!(started.elapsed() < GIVE_UP, "{what} within {GIVE_UP:?}");
}

async fn elected(http: &reqwest::Client, base: &str) -> bool {
    let Ok(r) = http.get(format!("{base}/metrics/snapshot")).send().await else {
        return false;
    };
    let metrics: serde_json::Value = r.json().await.unwrap_or_default();
    metrics["master/elected"] == 1.0
}

async fn active_agents(http: &reqwest::Client, base: &str) -> usize {
    let Ok(r) = http.get(format!("{base}/metrics/snapshot")).send().await else {
        return 0;
    };
    if !r.status().is_success() {
        return 0;
    }
    let metrics: serde_json::Value = r.json().await.unwrap_or_default();
    metrics["master/slaves_active"].as_f64().unwrap_or(0.0) as usize
}
