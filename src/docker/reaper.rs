//! The Docker reaper: a container that removes what an mmrun process made in Docker once that
//! process is gone, even after a SIGKILL, as testcontainers' Ryuk does. mmrun starts it from its
//! own node image at the start of a Docker run ([`Lifeline::start`]) and holds a TCP connection
//! to it (the lifeline) for as long as it lives. The kernel closes that connection however mmrun
//! ends; the reaper then removes every container and network labelled with mmrun's pid and host
//! (kept clusters and itself excepted), and exits; Docker removes its container (auto-remove).
//!
//! The reaper sees Docker through the daemon's socket, mounted as agents mount it. It needs no
//! access to the host's processes, so it works whatever the PID namespace.

use super::client::Docker;
use super::containers::{ContainerSpec, PortPublish};
use super::error::DockerError;
use super::labels::{self, Owner, Role, Selector};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The port the reaper listens on inside its container.
pub const REAPER_PORT: u16 = 7077;
/// What the reaper says first on every connection: proof that the reaper itself answered,
/// not Docker's port proxy (which accepts connections before the process listens).
const GREETING: &str = "mmrun-reaper ready";
/// A graceful goodbye: mmrun cleaned up itself, there is nothing to reap.
const GOODBYE: &str = "bye";
/// With no lifeline this long after it started, the reaper assumes its owner died at once.
const FIRST_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Where the daemon's socket is mounted in the reaper's container.
const SOCKET_IN_CONTAINER: &str = "/var/run/docker.sock";

/// mmrun's end of the lifeline: while it is open, the reaper waits.
pub struct Lifeline {
    stream: Option<TcpStream>,
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
            ports: vec![PortPublish::loopback(REAPER_PORT)],
            binds: vec![format!("{socket_on_host}:{SOCKET_IN_CONTAINER}")],
            auto_remove: true,
            ..ContainerSpec::default()
        };
        let container = docker.create_container(&spec).await?;
        let lifeline = Lifeline {
            stream: None,
            container,
        };
        match lifeline.connect(docker).await {
            Ok(stream) => Ok(Lifeline {
                stream: Some(stream),
                ..lifeline
            }),
            Err(e) => {
                let _ = docker.remove_container(&lifeline.container).await;
                Err(e)
            }
        }
    }

    async fn connect(&self, docker: &Docker) -> Result<TcpStream, DockerError> {
        docker.start_container(&self.container).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut last = String::from("it never answered");
        while tokio::time::Instant::now() < deadline {
            let port = docker
                .inspect(&self.container)
                .await?
                .and_then(|d| d.host_port(REAPER_PORT));
            if let Some(port) = port {
                match greeted(port).await {
                    Ok(stream) => return Ok(stream),
                    Err(e) => last = e.to_string(),
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(DockerError::Reaper {
            container: self.container.clone(),
            detail: last,
        })
    }

    /// The reaper's container (its name is in `mmrun ps`-style listings as `…-lifeline-reaper`).
    pub fn container(&self) -> &str {
        &self.container
    }

    /// Ends the lifeline after mmrun removed everything itself: the reaper exits without
    /// looking, and its container is removed now rather than a moment later.
    pub async fn release(mut self, docker: &Docker) {
        if let Some(mut stream) = self.stream.take() {
            let _ = stream.write_all(format!("{GOODBYE}\n").as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        let _ = docker.remove_container(&self.container).await;
    }
}

/// Connects to the reaper's published port and waits for its greeting.
async fn greeted(port: u16) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    tokio::time::timeout(Duration::from_millis(500), reader.read_line(&mut line))
        .await
        .map_err(|_| std::io::Error::other("no greeting"))??;
    if line.trim() != GREETING {
        return Err(std::io::Error::other(format!(
            "unexpected greeting {line:?}"
        )));
    }
    Ok(reader.into_inner())
}

/// The reaper's main loop (`mmrun reaper`, inside its container): waits for the lifeline, and
/// when it drops without a goodbye, removes what process `pid` on `host` made. Returns what
/// it removed.
pub async fn serve(
    docker: &Docker,
    listener: TcpListener,
    pid: u32,
    host: &str,
) -> Result<super::Removed, DockerError> {
    let ending = match tokio::time::timeout(FIRST_CONNECTION_TIMEOUT, listener.accept()).await {
        Err(_) => {
            println!("reaper: no lifeline within {FIRST_CONNECTION_TIMEOUT:?}; reaping");
            Ending::Dropped
        }
        Ok(Err(e)) => {
            println!("reaper: accept failed ({e}); reaping");
            Ending::Dropped
        }
        Ok(Ok((stream, peer))) => {
            println!("reaper: lifeline from {peer} (process {pid} on {host})");
            hold(stream).await
        }
    };
    if ending == Ending::Goodbye {
        println!("reaper: goodbye; nothing to do");
        return Ok(super::Removed::default());
    }
    println!("reaper: lifeline dropped; removing what process {pid} on {host} made");
    let removed = reap(docker, pid, host).await?;
    println!(
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

/// Greets, then reads until the connection ends.
async fn hold(mut stream: TcpStream) -> Ending {
    if stream
        .write_all(format!("{GREETING}\n").as_bytes())
        .await
        .is_err()
    {
        return Ending::Dropped;
    }
    let mut lines = BufReader::new(stream).lines();
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
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut endings = Vec::new();
            for _ in 0..2 {
                let (s, _) = listener.accept().await.unwrap();
                endings.push(hold(s).await);
            }
            endings
        });
        let mut polite = greeted(port).await.unwrap();
        polite.write_all(b"bye\n").await.unwrap();
        drop(polite);
        let rude = greeted(port).await.unwrap();
        drop(rude);
        assert_eq!(
            server.await.unwrap(),
            vec![Ending::Goodbye, Ending::Dropped]
        );
    }
}
