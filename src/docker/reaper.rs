//! The Docker reaper: a container that removes what an mmrun process made in Docker once that
//! process is gone, even after a SIGKILL, as testcontainers' Ryuk does. mmrun starts it from its
//! own node image at the start of a Docker run ([`Lifeline::start`]) and holds the lifeline for
//! as long as it lives: the reaper's stdin, attached through a connection of mmrun's own to the
//! daemon (`docker run -i`'s `StdinOnce`). The kernel closes that connection however mmrun ends;
//! the daemon then closes the reaper's stdin, and the reaper removes every container and network
//! labelled with mmrun's pid and host (kept clusters and itself excepted), and exits; Docker
//! removes its container (auto-remove).
//!
//! The reaper sees Docker through the daemon's socket, mounted as agents mount it. It needs no
//! network at all (`--network none`: no interface, no published port, no proxy process, which
//! makes it much cheaper to start and remove than a container with a port) and no access to the
//! host's processes, so it works whatever the PID namespace, and with a remote daemon too.

use super::client::Docker;
use super::containers::ContainerSpec;
use super::error::DockerError;
use super::labels::{self, Owner, Role, Selector};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// What the reaper says first, on stdout, once it can reach the daemon: the lifeline holds.
const GREETING: &str = "mmrun-reaper ready";
/// A graceful goodbye: mmrun cleaned up itself, there is nothing to reap.
const GOODBYE: &str = "bye";
/// How long mmrun waits for the greeting.
const GREETING_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a released reaper has to exit and be removed before it is removed by force.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);
/// Where the daemon's socket is mounted in the reaper's container.
const SOCKET_IN_CONTAINER: &str = "/var/run/docker.sock";

/// mmrun's end of the lifeline: while it is open, the reaper waits.
pub struct Lifeline {
    stdin: Option<super::Attached>,
    container: String,
}

impl Lifeline {
    /// Starts a reaper for this process from `image` (mmrun's node image), with the daemon's
    /// socket at `socket_on_host` mounted in, and connects the lifeline.
    pub async fn start(
        docker: &Docker,
        image: &str,
        socket_on_host: &str,
    ) -> Result<Lifeline, DockerError> {
        let me = Owner::this_process();
        let owner = Owner {
            run: labels::new_run_id(),
            scenario: "lifeline".into(),
            ..me.clone()
        };
        let spec = ContainerSpec {
            name: owner.name(Role::Reaper, None),
            image: image.to_string(),
            cmd: vec![
                "reaper".into(),
                "--pid".into(),
                me.pid.to_string(),
                "--host".into(),
                me.host.clone(),
            ],
            labels: owner.labels(Role::Reaper),
            network: Some("none".into()),
            binds: vec![format!("{socket_on_host}:{SOCKET_IN_CONTAINER}")],
            auto_remove: true,
            ..ContainerSpec::default()
        };
        let container =
            crate::timing::timed("reaper.create", docker.create_container_with_stdin(&spec))
                .await?;
        match crate::timing::timed("reaper.connect", connect(docker, &container)).await {
            Ok(stdin) => Ok(Lifeline {
                stdin: Some(stdin),
                container,
            }),
            Err(e) => {
                let _ = docker.remove_container(&container).await;
                Err(e)
            }
        }
    }

    /// The reaper's container (its name is in `mmrun ps`-style listings as `…-lifeline-reaper`).
    pub fn container(&self) -> &str {
        &self.container
    }

    /// Ends the lifeline after mmrun removed everything itself: the reaper exits without
    /// looking, and its container is gone when this returns, not a moment later.
    ///
    /// On the goodbye the reaper exits and the daemon removes its container (auto-remove);
    /// waiting for that removal answers the moment it is done, where removing it too would
    /// race the daemon's own removal and then poll until it ends. A reaper that does not leave
    /// in time is removed by force.
    pub async fn release(mut self, docker: &Docker) {
        let removed = tokio::time::timeout(RELEASE_TIMEOUT, docker.wait_removed(&self.container));
        let stdin = self.stdin.take();
        let goodbye = async {
            if let Some(mut stdin) = stdin {
                let _ = stdin.write(&format!("{GOODBYE}\n")).await;
                stdin.close().await;
            }
        };
        // The wait is asked first: a reaper removed before it arrives is found gone at once.
        let (removed, ()) = tokio::join!(removed, goodbye);
        if matches!(removed, Ok(Ok(()))) {
            return;
        }
        let _ = super::cleanup::remove_containers(
            docker,
            std::slice::from_ref(&self.container),
            Duration::from_secs(10),
        )
        .await;
    }
}

/// Attaches to the created reaper's stdin and stdout, starts it, and waits for its greeting.
/// Attached before it starts, so its stdin is connected for its whole life.
async fn connect(docker: &Docker, container: &str) -> Result<super::Attached, DockerError> {
    let mut attached = docker.attach_stdio(container).await?;
    docker.start_container(container).await?;
    match tokio::time::timeout(GREETING_TIMEOUT, attached.await_line(GREETING)).await {
        Ok(Ok(())) => Ok(attached),
        Ok(Err(e)) => Err(DockerError::Reaper {
            container: container.to_string(),
            detail: e.to_string(),
        }),
        Err(_) => Err(DockerError::Reaper {
            container: container.to_string(),
            detail: format!("no greeting within {GREETING_TIMEOUT:?}"),
        }),
    }
}

/// The reaper's main loop (`mmrun reaper`, inside its container): greets on `greet` (stdout),
/// holds the `lifeline` (stdin), and when it ends without a goodbye, removes what process
/// `pid` on `host` made. Returns what it removed. Its own reports go to stderr (`docker logs`):
/// stdout is read by mmrun only up to the greeting.
pub async fn serve(
    docker: &Docker,
    lifeline: impl AsyncRead + Unpin,
    greet: impl AsyncWrite + Unpin,
    pid: u32,
    host: &str,
) -> Result<super::Removed, DockerError> {
    eprintln!("reaper: holding the lifeline of process {pid} on {host}");
    let ending = hold(lifeline, greet).await;
    if ending == Ending::Goodbye {
        eprintln!("reaper: goodbye; nothing to do");
        return Ok(super::Removed::default());
    }
    eprintln!("reaper: lifeline dropped; removing what process {pid} on {host} made");
    let removed = reap(docker, pid, host).await?;
    eprintln!(
        "reaper: removed {} container(s), {} network(s)",
        removed.containers.len(),
        removed.networks.len()
    );
    Ok(removed)
}

#[derive(Debug, PartialEq, Eq)]
enum Ending {
    Goodbye,
    Dropped,
}

/// Greets, then reads the lifeline until it ends: with a goodbye line, or without one (the
/// owner died, or could not say goodbye).
async fn hold(lifeline: impl AsyncRead + Unpin, mut greet: impl AsyncWrite + Unpin) -> Ending {
    let greeted = async {
        greet.write_all(format!("{GREETING}\n").as_bytes()).await?;
        greet.flush().await
    };
    if greeted.await.is_err() {
        return Ending::Dropped;
    }
    let mut lines = BufReader::new(lifeline).lines();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) if line.trim() == GOODBYE => return Ending::Goodbye,
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return Ending::Dropped,
        }
    }
}

/// Removes everything the process made, but kept clusters and reapers. Containers first (a
/// network with endpoints cannot go); a second pass catches task containers an agent was
/// still starting while the first ran.
async fn reap(docker: &Docker, pid: u32, host: &str) -> Result<super::Removed, DockerError> {
    let selector = Selector::managed()
        .with(labels::PID, &pid.to_string())
        .with(labels::HOST, host);
    let mut removed = super::Removed::default();
    for _ in 0..2 {
        let containers: Vec<String> = docker
            .list_containers(&selector)
            .await?
            .into_iter()
            .filter(|c| reapable(&c.labels))
            .map(|c| c.name)
            .collect();
        super::cleanup::remove_containers(docker, &containers, Duration::from_secs(10)).await?;
        removed.containers.extend(containers);
    }
    for network in docker.list_networks(&selector).await? {
        if reapable(&network.labels) {
            docker.remove_network(&network.id).await?;
            removed.networks.push(network.name);
        }
    }
    Ok(removed)
}

fn reapable(labels: &HashMap<String, String>) -> bool {
    let kept = labels.get(labels::KEEP).is_some_and(|v| v == "true");
    let reaper = labels
        .get(labels::ROLE)
        .is_some_and(|r| r == Role::Reaper.as_str());
    !kept && !reaper
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_clusters_and_reapers_are_never_reaped() {
        let l = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(reapable(&l(&[(labels::ROLE, "agent")])));
        assert!(!reapable(&l(&[
            (labels::ROLE, "agent"),
            (labels::KEEP, "true")
        ])));
        assert!(!reapable(&l(&[(labels::ROLE, "reaper")])));
    }

    #[tokio::test]
    async fn a_goodbye_and_a_dropped_lifeline_are_told_apart() {
        for (said, expected) in [
            (&b"bye\n"[..], Ending::Goodbye),
            (&b"something else\n"[..], Ending::Dropped),
            (&b""[..], Ending::Dropped),
        ] {
            // The lifeline: what mmrun writes to the reaper's stdin, then its end.
            let (mut mmrun, reaper_stdin) = tokio::io::duplex(64);
            let (reaper_stdout, mut greeting) = tokio::io::duplex(64);
            let held = tokio::spawn(hold(reaper_stdin, reaper_stdout));
            let mut first = String::new();
            BufReader::new(&mut greeting)
                .read_line(&mut first)
                .await
                .unwrap();
            assert_eq!(first.trim(), GREETING);
            mmrun.write_all(said).await.unwrap();
            drop(mmrun);
            assert_eq!(held.await.unwrap(), expected, "after {said:?}");
        }
    }
}
