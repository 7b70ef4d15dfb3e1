//! The observer of a scenario's clusters: while the script runs it reads each cluster's
//! `/master/state` every ~200 ms and records on the scenario's timeline (see
//! [`super::timeline`]) what changed between two reads: agents, frameworks, task states, the
//! leader. Task states are placed at the times their statuses carry
//! (`statuses[].timestamp`), agents and frameworks at their registration times, so a change
//! between two reads is drawn where it happened.
//!
//! It goes through the same path as the script: the cluster's master URL (following the
//! leader on HA clusters) and [`MasterClient`]. It waits twenty times as long as its last read
//! took before the next, so a state of thousands of agents is read seldom and costs the
//! scenario little.

use super::context::{ClusterCtx, ScenarioCtx, lock};
use super::timeline::{POLL_INTERVAL, READ_COST_FACTOR, TimelineRecorder};
use crate::client::MasterClient;
use crate::runner::timeline::EventKind;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What the observer has seen of each cluster (by its index in the scenario).
#[derive(Default)]
pub struct Observer {
    seen: HashMap<usize, Seen>,
}

impl Observer {
    /// Reads every cluster's state until `stop` is cancelled, recording the differences: every
    /// [`POLL_INTERVAL`], or [`READ_COST_FACTOR`] times as long as the last reads took, or
    /// when nudged.
    pub async fn run(&mut self, ctx: &ScenarioCtx, stop: &CancellationToken) {
        loop {
            let took = tokio::select! {
                _ = stop.cancelled() => return,
                took = self.read(ctx) => took,
            };
            let wait = POLL_INTERVAL.max(took * READ_COST_FACTOR);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                // A nudge still waits out the cost of a slow read.
                _ = async {
                    ctx.timeline.nudged().await;
                    tokio::time::sleep(took * READ_COST_FACTOR).await;
                } => {}
            }
        }
    }

    /// Reads every cluster's state once; returns how long that took.
    pub async fn read(&mut self, ctx: &ScenarioCtx) -> Duration {
        let clusters: Vec<Arc<ClusterCtx>> = lock(&ctx.clusters).clone();
        let mut took = Duration::ZERO;
        for (i, cluster) in clusters.iter().enumerate() {
            let Ok(url) = cluster.master_url() else {
                continue;
            };
            let client = MasterClient::new(url);
            let started = Instant::now();
            let read = client.get::<SlimState>("/master/state").await;
            let elapsed = started.elapsed();
            took += elapsed;
            ctx.timeline.polled(elapsed);
            if let Ok(state) = read {
                let prefix = if i == 0 {
                    String::new()
                } else {
                    format!("c{}/", i + 1)
                };
                let name_of = |id: &str| {
                    let name = cluster.agent_name(id);
                    (name != "agent-?").then(|| format!("{prefix}{name}"))
                };
                self.seen
                    .entry(i)
                    .or_default()
                    .diff(&state, &name_of, &ctx.timeline);
            }
        }
        took
    }
}

/// The name of an agent the script did not start (or not yet): its id's tail is stable enough.
fn unnamed_agent(id: &str) -> String {
    let tail: String = id
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("agent …{tail}")
}

/// The parts of `/master/state` the timeline needs; the rest is skipped while parsing.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct SlimState {
    #[serde(default)]
    pub leader: Option<String>,
    /// When the master read was elected, if it leads.
    #[serde(default)]
    pub elected_time: Option<f64>,
    #[serde(default)]
    pub slaves: Vec<SlimAgent>,
    #[serde(default)]
    pub frameworks: Vec<SlimFramework>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SlimAgent {
    pub id: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub registered_time: f64,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SlimFramework {
    pub id: String,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub registered_time: f64,
    #[serde(default)]
    pub tasks: Vec<SlimTask>,
    #[serde(default)]
    pub unreachable_tasks: Vec<SlimTask>,
    #[serde(default)]
    pub completed_tasks: Vec<SlimTask>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SlimTask {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub slave_id: String,
    pub state: String,
    /// Every status so far, oldest first, with the time it was made.
    #[serde(default)]
    pub statuses: Vec<SlimStatus>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SlimStatus {
    pub state: String,
    #[serde(default)]
    pub timestamp: f64,
}

fn yes() -> bool {
    true
}

/// What the previous read of one cluster showed.
#[derive(Default)]
pub(crate) struct Seen {
    first: bool,
    leader: Option<String>,
    agents: HashMap<String, bool>,
    /// Framework id → (name, active).
    frameworks: HashMap<String, (String, bool)>,
    /// (framework id, task id) → how many of its statuses were recorded, and its last state.
    tasks: HashMap<(String, String), (usize, String)>,
    /// Agent id → its name, once known.
    names: HashMap<String, String>,
    /// Agent id → how many reads showed it before the script knew its name.
    unnamed: HashMap<String, u32>,
}

/// Reads an agent may be seen before the script knows its name (agents added in bulk are named
/// once all registered); it is recorded under its id's tail after that.
const UNNAMED_READS: u32 = 5;

impl Seen {
    /// The name of agent `id`: the script's name for it, `None` while the script does not know
    /// it yet (its events wait for the next read), a name from its id when it never will.
    fn name(
        &mut self,
        id: &str,
        name_of: &dyn Fn(&str) -> Option<String>,
        seen: bool,
    ) -> Option<String> {
        if let Some(name) = self.names.get(id) {
            return Some(name.clone());
        }
        let name = match name_of(id) {
            Some(name) => name,
            None => {
                let reads = self.unnamed.entry(id.to_string()).or_default();
                if seen {
                    *reads += 1;
                }
                if *reads < UNNAMED_READS {
                    return None;
                }
                unnamed_agent(id)
            }
        };
        self.unnamed.remove(id);
        self.names.insert(id.to_string(), name.clone());
        Some(name)
    }

    pub(crate) fn diff(
        &mut self,
        state: &SlimState,
        name_of: &dyn Fn(&str) -> Option<String>,
        out: &TimelineRecorder,
    ) {
        if !self.first || state.leader != self.leader {
            self.first = true;
            if state.leader.is_some() || self.leader.is_some() {
                // `master@127.0.0.1:5050` → `127.0.0.1:5050`, placed at its election when the
                // master read is the one leading.
                let leader = state
                    .leader
                    .as_deref()
                    .map_or("none", |l| l.strip_prefix("master@").unwrap_or(l));
                let at = state
                    .elected_time
                    .map_or_else(|| out.now(), |t| out.at_epoch(t));
                out.cluster_at(
                    at,
                    EventKind::Leader {
                        leader: leader.to_string(),
                    },
                );
            }
            self.leader = state.leader.clone();
        }
        let mut agents = HashMap::with_capacity(state.slaves.len());
        for agent in &state.slaves {
            let Some(name) = self.name(&agent.id, name_of, true) else {
                // Recorded once named, at its registration time all the same.
                continue;
            };
            match self.agents.get(&agent.id) {
                None => {
                    out.cluster_at(
                        out.at_epoch(agent.registered_time),
                        EventKind::AgentAdded {
                            agent: name.clone(),
                        },
                    );
                    if !agent.active {
                        out.cluster(EventKind::AgentActive {
                            agent: name,
                            active: false,
                        });
                    }
                }
                Some(&was) if was != agent.active => out.cluster(EventKind::AgentActive {
                    agent: name,
                    active: agent.active,
                }),
                Some(_) => {}
            }
            agents.insert(agent.id.clone(), agent.active);
        }
        let in_state: std::collections::HashSet<&str> =
            state.slaves.iter().map(|a| a.id.as_str()).collect();
        let gone: BTreeMap<String, ()> = self
            .agents
            .keys()
            .filter(|id| !in_state.contains(id.as_str()))
            .map(|id| {
                (
                    self.names
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| unnamed_agent(id)),
                    (),
                )
            })
            .collect();
        for agent in gone.into_keys() {
            out.cluster(EventKind::AgentGone { agent });
        }
        self.agents = agents;

        let mut frameworks = HashMap::with_capacity(state.frameworks.len());
        for fw in &state.frameworks {
            let (changed, at) = match self.frameworks.get(&fw.id) {
                None => (true, out.at_epoch(fw.registered_time)),
                Some((_, was)) => (*was != fw.active, out.now()),
            };
            if changed {
                out.cluster_at(
                    at,
                    EventKind::Framework {
                        framework: fw.name.clone(),
                        state: if fw.active { "active" } else { "inactive" }.into(),
                    },
                );
            }
            frameworks.insert(fw.id.clone(), (fw.name.clone(), fw.active));
            for task in fw
                .tasks
                .iter()
                .chain(&fw.unreachable_tasks)
                .chain(&fw.completed_tasks)
            {
                let key = (fw.id.clone(), task.id.clone());
                let (recorded, last) = self
                    .tasks
                    .get(&key)
                    .map_or((0, ""), |(n, s)| (*n, s.as_str()));
                let count = task.statuses.len().max(1);
                if recorded == count && last == task.state {
                    continue;
                }
                let last = last.to_string();
                let Some(agent) = self.name(&task.slave_id, name_of, false) else {
                    // Its agent is not named yet: at the next read.
                    continue;
                };
                let event = |state: &str| EventKind::Task {
                    id: task.id.clone(),
                    task: task.name.clone(),
                    framework: fw.name.clone(),
                    agent: agent.clone(),
                    state: state.to_string(),
                };
                // Each new status at its own time; a repeated state (a health update) is not
                // a change.
                let mut previous = last;
                for status in task.statuses.iter().skip(recorded) {
                    if status.state != previous {
                        out.cluster_at(out.at_epoch(status.timestamp), event(&status.state));
                        previous.clone_from(&status.state);
                    }
                }
                if previous != task.state {
                    // No status says so (yet): the task's state itself, now.
                    out.cluster(event(&task.state));
                }
                self.tasks.insert(key, (count, task.state.clone()));
            }
        }
        for (id, (name, _)) in &self.frameworks {
            if !frameworks.contains_key(id) {
                out.cluster(EventKind::Framework {
                    framework: name.clone(),
                    state: "removed".into(),
                });
            }
        }
        self.frameworks = frameworks;
    }
}

#[cfg(test)]
mod tests;
