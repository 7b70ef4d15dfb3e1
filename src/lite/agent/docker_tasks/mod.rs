//! The Docker containerizer (`--containerizers=docker,mesos`): a task whose `container` is
//! `{type: DOCKER, docker: {image, network, port_mappings, …}}` runs as a sibling container
//! through the daemon at `--docker_socket`, named as Mesos names its containers
//! (`mesos-<agent id>.<container id>`) and labelled as the owning run's (or, without one, the
//! agent process's) so teardown and `mmrun clean` find it.
//!
//! - `spec`: the `TaskInfo` as a container (pure, unit-tested).
//! - `run`: the task's life: launch, TASK_RUNNING, output into the sandbox, exit or kill,
//!   removal, the final update.
//! - `executor`: custom executors whose `ExecutorInfo.container` is DOCKER, as sibling
//!   containers (their life is `executors/container.rs`'s).
//!
//! Nothing outlives the agent: each task's container is removed when the task ends, and
//! [`remove_all`] (stop, crash) and [`remove_all_blocking`] (drop) remove whatever is left.
//! Images are never pulled.

mod executor;
mod run;
mod spec;

pub(super) use executor::{ExecutorContainer, plan as executor_plan};
pub(super) use run::supervise;

use super::AgentShared;
use crate::docker::cleanup::remove_containers;
use crate::docker::{Docker, DockerError, Selector, task_container_name};
use crate::mesos::ids::AgentId;
use std::time::Duration;

/// The agent's connection to the daemon, made on the first DOCKER task and then shared.
#[derive(Default)]
pub(super) struct DockerClient {
    connection: tokio::sync::OnceCell<Docker>,
}

impl DockerClient {
    /// The connection, connecting now if this is the first use. A failure is not remembered:
    /// the next task tries again (the daemon may have been restarted).
    async fn get(&self, host: &str) -> Result<Docker, DockerError> {
        self.connection
            .get_or_try_init(|| Docker::connect_to(host))
            .await
            .cloned()
    }
}

/// How long stopping and crashing agents wait for their task containers to be gone.
const REMOVAL_LIMIT: Duration = Duration::from_secs(10);

/// Every task and executor container still recorded: those of tasks and executors not ended
/// yet, and any whose removal failed.
fn leftover_containers(agent: &AgentShared) -> Vec<String> {
    let core = agent.core();
    let tasks = core.tasks.values().chain(core.completed.iter());
    let executors = core
        .executors
        .values()
        .chain(core.completed_executors.iter());
    tasks
        .filter_map(|t| t.container.clone())
        .chain(executors.filter_map(|e| e.container.clone()))
        .collect()
}

/// Removes every container the agent's tasks still have, running or not, and waits until they
/// are gone (stop and crash; the tasks' own runners have usually removed them already).
pub(super) async fn remove_all(agent: &AgentShared) {
    let names = leftover_containers(agent);
    if names.is_empty() {
        return;
    }
    let docker = match agent.docker.get(&agent.config.docker_host()).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("cannot remove the task containers {names:?}: {e}");
            return;
        }
    };
    match remove_containers(&docker, &names, REMOVAL_LIMIT).await {
        Ok(()) => names.iter().for_each(|n| forget_container(agent, n)),
        Err(e) => tracing::warn!("{e}"),
    }
}

/// A restarted agent (same id) removes the containers its previous life left (`mesos-<agent
/// id>.*`: task and executor containers of an agent that was killed, as a container agent is
/// by `docker kill`), as Mesos's Docker containerizer does with `--docker_kill_orphans`: mmrun's
/// agent recovers no container. Those it started meanwhile are recorded, and kept.
pub(super) async fn remove_orphans(agent: std::sync::Arc<AgentShared>, agent_id: AgentId) {
    let host = agent.config.docker_host();
    let docker = match agent.docker.get(&host).await {
        Ok(d) => d,
        Err(e) => return tracing::debug!("no orphan containers removed: {e}"),
    };
    let prefix = task_container_name(&agent_id.value, "");
    let listed = match docker.list_containers(&Selector::managed()).await {
        Ok(listed) => listed,
        Err(e) => return tracing::warn!("cannot look for orphan containers: {e}"),
    };
    let known = leftover_containers(&agent);
    let orphans: Vec<String> = listed
        .into_iter()
        .map(|c| c.name)
        .filter(|n| n.starts_with(&prefix) && !known.contains(n))
        .collect();
    if orphans.is_empty() {
        return;
    }
    tracing::info!("removing containers of this agent's previous run: {orphans:?}");
    if let Err(e) = remove_containers(&docker, &orphans, REMOVAL_LIMIT).await {
        tracing::warn!("{e}");
    }
}

/// [`remove_all`] for `Drop`: synchronous, on a thread of its own.
pub(super) fn remove_all_blocking(agent: &AgentShared) {
    let names = leftover_containers(agent);
    if names.is_empty() {
        return;
    }
    let host = agent.config.docker_host();
    match crate::docker::cleanup::remove_containers_blocking(&host, names.clone()) {
        Ok(()) => names.iter().for_each(|n| forget_container(agent, n)),
        Err(e) => tracing::warn!("cannot remove the task containers {names:?}: {e}"),
    }
}

/// The container is gone: no task or executor has it any more.
pub(super) fn forget_container(agent: &AgentShared, name: &str) {
    let mut core = agent.core();
    let core = &mut *core;
    for task in core.tasks.values_mut().chain(core.completed.iter_mut()) {
        if task.container.as_deref() == Some(name) {
            task.container = None;
        }
    }
    let executors = core.executors.values_mut();
    for executor in executors.chain(core.completed_executors.iter_mut()) {
        if executor.container.as_deref() == Some(name) {
            executor.container = None;
        }
    }
}
