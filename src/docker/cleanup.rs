//! Cleanup by label: removing what a run created, and reaping what dead runs left behind
//! (a SIGKILL, a crash, a CI job cancelled mid-run). `mmrun clean` and the start of every run
//! call [`reap_orphans`]; teardown calls [`remove_labelled`].

use super::client::Docker;
use super::error::DockerError;
use super::labels::{self, Selector};
use std::collections::HashMap;
use std::time::Duration;

/// Names of what a cleanup removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty()
    }
}

/// Removes every container, then every network, carrying the selector's labels. Containers go
/// first because Docker refuses to remove a network that still has endpoints.
pub async fn remove_labelled(docker: &Docker, selector: &Selector) -> Result<Removed, DockerError> {
    let phase = crate::timing::phase("cleanup.list");
    // Both lists at once: each is a round trip, and neither depends on the other.
    let (containers, networks) = tokio::join!(
        docker.list_containers(selector),
        docker.list_networks(selector)
    );
    let (containers, networks) = (containers?, networks?);
    phase.end();
    remove(
        docker,
        containers.iter().map(|c| (&c.id, &c.name)),
        networks.iter().map(|n| (&n.id, &n.name)),
    )
    .await
}

/// Removes everything mmrun created on this host whose creating process is gone. Objects of
/// live processes, and of other hosts sharing the daemon, are left alone.
pub async fn reap_orphans(docker: &Docker) -> Result<Removed, DockerError> {
    let host = labels::hostname();
    let selector = Selector::managed().with(labels::HOST, &host);
    let (containers, networks) = tokio::join!(
        docker.list_containers(&selector),
        docker.list_networks(&selector)
    );
    let (containers, networks) = (containers?, networks?);
    remove(
        docker,
        containers
            .iter()
            .filter(|c| is_orphan(&c.labels))
            .map(|c| (&c.id, &c.name)),
        networks
            .iter()
            .filter(|n| is_orphan(&n.labels))
            .map(|n| (&n.id, &n.name)),
    )
    .await
}

/// [`remove_labelled`] for `Drop` implementations and other places without an async context:
/// runs on its own thread with its own runtime and connection, so it works whether or not the
/// caller is inside a runtime (even one that is shutting down).
pub fn remove_labelled_blocking(host: &str, selector: &Selector) -> Result<Removed, DockerError> {
    let selector = selector.clone();
    on_own_thread(host, move |docker| async move {
        remove_labelled(&docker, &selector).await
    })
    .unwrap_or_else(|| Ok(Removed::default()))
}

/// Removes the named containers, running or not, in the way of [`remove_labelled_blocking`]
/// (for `Drop`s: an agent dropped without a stop removes its task containers so).
pub fn remove_containers_blocking(host: &str, containers: Vec<String>) -> Result<(), DockerError> {
    on_own_thread(host, move |docker| async move {
        remove_containers(&docker, &containers, Duration::from_secs(10)).await
    })
    .unwrap_or(Ok(()))
}

/// Removes the named containers, running or not, and waits (up to `limit`) until they are
/// gone.
pub async fn remove_containers(
    docker: &Docker,
    containers: &[String],
    limit: Duration,
) -> Result<(), DockerError> {
    let deadline = tokio::time::Instant::now() + limit;
    let removals = containers
        .iter()
        .map(|c| remove_and_await(docker, c, deadline));
    let removed = futures::future::join_all(removals)
        .await
        .into_iter()
        .collect::<Result<Vec<Vec<String>>, _>>()?;
    // Once all are gone: volumes they shared (an agent's and its executor containers').
    docker.remove_volumes_if_unused(&removed.concat()).await;
    Ok(())
}

/// Removes a container and waits (until `deadline`) until it is gone: when another cleanup
/// is already removing it, Docker answers at once while the container still exists. Returns
/// its anonymous volumes, for the caller to remove once all sharing them are gone.
async fn remove_and_await(
    docker: &Docker,
    container: &str,
    deadline: tokio::time::Instant,
) -> Result<Vec<String>, DockerError> {
    let volumes = docker
        .remove_container_but_shared_volumes(container)
        .await?;
    while tokio::time::Instant::now() < deadline && docker.inspect(container).await?.is_some() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(volumes)
}

/// Connects to `host` and runs `work` on a thread of its own with a current-thread runtime;
/// `None` if that thread could not build its runtime (out of file descriptors) or panicked.
fn on_own_thread<T, F, Fut>(host: &str, work: F) -> Option<Result<T, DockerError>>
where
    T: Send + 'static,
    F: FnOnce(Docker) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, DockerError>>,
{
    let host = host.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        Some(runtime.block_on(async {
            let docker = Docker::connect_to(&host).await?;
            work(docker).await
        }))
    })
    .join()
    .ok()
    .flatten()
}

/// Removes the given containers, then the given networks, each list concurrently.
async fn remove<'a>(
    docker: &Docker,
    containers: impl Iterator<Item = (&'a String, &'a String)>,
    networks: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<Removed, DockerError> {
    let mut removed = Removed::default();
    let containers: Vec<_> = containers.collect();
    // Timed only when there is something to remove: the leftovers scan at every run's start
    // usually has nothing, and would blur the teardown's figures.
    let phase = (!containers.is_empty()).then(|| crate::timing::phase("cleanup.containers"));
    // Each must be gone before its network can go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let results = futures::future::join_all(
        containers
            .iter()
            .map(|(id, _)| remove_and_await(docker, id, deadline)),
    )
    .await;
    let mut volumes = vec![];
    for ((_, name), result) in containers.iter().zip(results) {
        volumes.extend(result?);
        removed.containers.push(name.to_string());
    }
    // Once all are gone: volumes they shared (an agent's and its executor containers').
    docker.remove_volumes_if_unused(&volumes).await;
    drop(phase);
    let networks: Vec<_> = networks.collect();
    let _phase = (!networks.is_empty()).then(|| crate::timing::phase("cleanup.networks"));
    let results =
        futures::future::join_all(networks.iter().map(|(id, _)| docker.remove_network(id))).await;
    for ((_, name), result) in networks.iter().zip(results) {
        result?;
        removed.networks.push(name.to_string());
    }
    Ok(removed)
}

/// An object is an orphan when its creating process is gone. One without a readable pid label
/// was not made by a current mmrun: it is left for the user to judge.
fn is_orphan(labels: &HashMap<String, String>) -> bool {
    if labels.get(labels::KEEP).is_some_and(|v| v == "true") {
        return false;
    }
    labels
        .get(labels::PID)
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| !process_is_alive(pid))
}

/// Whether a process with this id runs on this host. A zombie has exited: it counts as gone.
pub fn process_is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain ") ".
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(process_is_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_is_alive(pid));
    }

    #[test]
    fn a_zombie_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Until waited for, the exited child stays a zombie.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while process_is_alive(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!process_is_alive(pid));
        child.wait().unwrap();
    }

    #[test]
    fn orphans_are_judged_by_their_pid_label() {
        let with_pid = |pid: &str| HashMap::from([(labels::PID.to_string(), pid.to_string())]);
        assert!(!is_orphan(&with_pid(&std::process::id().to_string())));
        assert!(!is_orphan(&with_pid("not-a-pid")));
        assert!(!is_orphan(&HashMap::new()));
        assert!(is_orphan(&with_pid(&u32::MAX.to_string())));
    }
}
