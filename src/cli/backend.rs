//! Choosing where clusters run (`--backend`), shared by `run` and `up`: Docker when a daemon
//! answers, in-process otherwise, and always saying which.

use super::CliError;
use crate::cluster::Backend;
use crate::cluster::docker::DockerBackend;
use crate::cluster::embedded::Embedded;
use crate::docker::reaper::Lifeline;
use crate::docker::{Docker, reap_orphans};
use clap::ValueEnum;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// Docker when a daemon answers, embedded otherwise.
    Auto,
    /// Every node in this process.
    Embedded,
    /// Every node its own container.
    Docker,
    /// A cluster mmrun did not start, at `--master URL|zk://…`: nothing is started, node
    /// control is refused (SKIP), only the scenario's frameworks are torn down.
    External,
}

/// A chosen backend and the line that tells the user which it is and why.
pub struct Chosen {
    pub backend: Arc<dyn Backend>,
    pub docker: Option<Arc<DockerBackend>>,
    pub description: String,
    /// The Docker reaper's lifeline, being connected while the run starts (see
    /// `docker::reaper`): it must outlive every container the run makes.
    reaper: Option<tokio::task::JoinHandle<Option<Lifeline>>>,
}

impl Chosen {
    /// Ends the run's lifeline after every cluster was torn down: the reaper leaves at once.
    pub async fn release(self) {
        let (Some(reaper), Some(docker)) = (self.reaper, self.docker) else {
            return;
        };
        let _phase = crate::timing::phase("reaper.release");
        if let Ok(Some(lifeline)) = reaper.await {
            lifeline.release(docker.docker()).await;
        }
    }
}

impl Chosen {
    /// Starts the Docker reaper, if this backend is Docker and it has none yet (see
    /// [`choose_before_reaper`]).
    pub fn with_reaper(mut self) -> Chosen {
        if self.reaper.is_none()
            && let Some(docker) = &self.docker
        {
            self.reaper = Some(start_reaper(docker.clone()));
        }
        self
    }
}

/// Connects to the chosen backend, and starts the Docker reaper.
pub async fn choose(
    choice: BackendChoice,
    mesos_image: Option<&str>,
    keep: bool,
) -> Result<Chosen, CliError> {
    Ok(choose_before_reaper(choice, mesos_image, keep)
        .await?
        .with_reaper())
}

/// Connects to the chosen backend without starting the reaper yet ([`Chosen::with_reaper`]
/// does): nothing is created in Docker, so a caller may drop it, e.g. when the scenarios it
/// checked meanwhile have mistakes.
pub async fn choose_before_reaper(
    choice: BackendChoice,
    mesos_image: Option<&str>,
    keep: bool,
) -> Result<Chosen, CliError> {
    if choice == BackendChoice::External {
        return Err(CliError::usage(
            "--backend external attaches to a running cluster: give it with --master URL|zk://…",
        ));
    }
    if choice == BackendChoice::Embedded {
        if mesos_image.is_some() {
            return Err(CliError::usage(
                "--mesos-image needs the Docker backend: drop --backend embedded",
            ));
        }
        return Ok(embedded("--backend embedded".into()));
    }
    let docker = match crate::timing::timed("docker.connect", Docker::connect()).await {
        Ok(d) => d,
        Err(e) if choice == BackendChoice::Auto && mesos_image.is_none() => {
            return Ok(embedded(format!("no Docker daemon answered: {e}")));
        }
        Err(e) => return Err(e.into()),
    };
    // The leftovers scan and the image check are independent (what dead runs left cannot be
    // in the way of this one: a taken subnet is skipped) and each costs daemon round trips:
    // done together, on the one connection.
    let (_, backend) = tokio::join!(
        crate::timing::timed("docker.reap_scan", reap_leftovers(&docker)),
        crate::timing::timed(
            "docker.image_check",
            DockerBackend::on(docker.clone(), mesos_image)
        )
    );
    match backend {
        Ok(backend) => {
            let backend = if keep { backend.keeping() } else { backend };
            let backend = Arc::new(if publish_ports_asked() {
                backend.publishing_ports()
            } else {
                backend
            });
            Ok(Chosen {
                reaper: None,
                description: format!(
                    "backend docker (every node its own container; {})",
                    backend.describe()
                ),
                backend: backend.clone(),
                docker: Some(backend),
            })
        }
        Err(e) if choice == BackendChoice::Auto && mesos_image.is_none() => Ok(embedded(format!(
            "Docker answers but the node image cannot be made: {e}"
        ))),
        Err(e) => Err(CliError::environment(e)),
    }
}

/// `--backend external --master URL|zk://…`: scenarios against a cluster mmrun did not start.
pub fn external(master: Option<&str>, mesos_image: Option<&str>) -> Result<Chosen, CliError> {
    use crate::cluster::external::{External, ExternalMaster};
    let Some(master) = master else {
        return Err(CliError::usage(
            "--backend external needs the cluster's master: --master http://host:5050 (or zk://host:2181/mesos), or MMRUN_MASTER",
        ));
    };
    if mesos_image.is_some() {
        return Err(CliError::usage(
            "--mesos-image starts real Mesos nodes; --backend external starts none: drop one",
        ));
    }
    let master = ExternalMaster::parse(master)
        .map_err(|e| CliError::usage(super::InvalidArgument::new("--master", e)))?;
    Ok(Chosen {
        description: format!(
            "backend external (the cluster at {master}, which mmrun did not start: scenarios that control nodes are skipped; only their own frameworks are torn down)"
        ),
        backend: Arc::new(External { master }),
        docker: None,
        reaper: None,
    })
}

fn embedded(why: String) -> Chosen {
    Chosen {
        backend: Arc::new(Embedded),
        docker: None,
        description: format!("backend embedded (every node in this process; {why})"),
        reaper: None,
    }
}

/// Starts the reaper beside the run's first cluster rather than before it: it costs a
/// container start. Its lifeline is attached before it starts, so it never runs without one;
/// a mmrun killed between creating and starting it leaves a created container, which the next
/// run's leftovers scan (or `mmrun clean`) removes.
fn start_reaper(backend: Arc<DockerBackend>) -> tokio::task::JoinHandle<Option<Lifeline>> {
    tokio::spawn(async move {
        match crate::timing::timed("reaper.start", backend.start_reaper()).await {
            Ok(lifeline) => Some(lifeline),
            Err(e) => {
                eprintln!(
                    "mmrun: warning: no reaper for this run ({e}); if mmrun is killed, `mmrun clean` removes what it leaves"
                );
                None
            }
        }
    })
}

/// Every Docker run starts by removing what runs whose process is gone left behind, and says so.
async fn reap_leftovers(docker: &Docker) {
    match reap_orphans(docker).await {
        Ok(removed) if !removed.is_empty() => eprintln!(
            "mmrun: removed what earlier runs left behind: {} container(s), {} network(s)",
            removed.containers.len(),
            removed.networks.len()
        ),
        Ok(_) => {}
        Err(e) => eprintln!("mmrun: cannot check for leftovers of earlier runs: {e}"),
    }
}

/// `MMRUN_DOCKER_PUBLISH_PORTS=1`: reach the nodes through ports published on 127.0.0.1
/// even where their own addresses are reachable (`cluster::docker::layout::Reach`), e.g. for
/// a tool that only looks at 127.0.0.1.
fn publish_ports_asked() -> bool {
    std::env::var("MMRUN_DOCKER_PUBLISH_PORTS").is_ok_and(|v| !v.is_empty() && v != "0")
}
