//! One DOCKER task's life, as Mesos's Docker executor lives it: the container is created and
//! started (TASK_RUNNING, with its ContainerStatus), its stdout and stderr are copied into the
//! sandbox as they are written, and its exit becomes TASK_FINISHED or TASK_FAILED; a kill is a
//! `docker stop` with the kill grace period, then TASK_KILLED. The container is removed before
//! the final update goes out, so a terminal task has no container left.

use super::spec::{Network, SpecError, TaskContext, container_spec};
use super::{REMOVAL_LIMIT, forget_container};
use crate::docker::cleanup::remove_containers;
use crate::docker::{ContainerSpec, Docker, DockerError, OutputStream};
use crate::errors::error_chain;
use crate::lite::agent::{AgentShared, TaskKey};
use crate::mesos::container::{ContainerStatus, NetworkInfo, Protocol};
use crate::mesos::task::{TaskState, TaskStatus, reason};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the output may take to drain once the container has stopped.
const OUTPUT_DRAIN: Duration = Duration::from_secs(5);

fn status(key: &TaskKey, state: TaskState, message: impl Into<String>) -> TaskStatus {
    let mut s = TaskStatus::new(key.1.clone(), state);
    s.message = Some(message.into());
    s
}

/// Why a task's container did not start. Rendered by `error_chain`, it is the message of the
/// TASK_FAILED the task earns.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    #[error("the task was removed before it started")]
    TaskGone,
    #[error("Failed to create sandbox {}", .sandbox.display())]
    Sandbox {
        sandbox: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error("Failed to create {file}")]
    OutputFile {
        file: &'static str,
        #[source]
        cause: std::io::Error,
    },
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("Failed to launch container")]
    Docker(#[from] DockerError),
    #[error(
        "Failed to launch container: image '{image}' does not exist on the Docker daemon at {host}, and mmrun's agent never pulls images: build it there (`docker build -t {image} <dir>`) or load it (`docker load -i <file>.tar`)"
    )]
    NoImage { image: String, host: String },
}

fn launch_failed(agent: &AgentShared, key: &TaskKey, error: &LaunchError) {
    let mut s = status(key, TaskState::Failed, error_chain(error));
    s.reason = Some(reason::CONTAINER_LAUNCH_FAILED.into());
    agent.send_update(key, s);
}

/// Runs the task's container to its end (TASK_STARTING has been sent).
pub async fn supervise(
    agent: Arc<AgentShared>,
    key: TaskKey,
    killing_state: bool,
    mut kill_rx: mpsc::UnboundedReceiver<Duration>,
) {
    let (spec, network, sandbox) = match plan(&agent, &key) {
        Ok(planned) => planned,
        Err(error) => return launch_failed(&agent, &key, &error),
    };
    let name = spec.name.clone();
    // What the sandbox's files held before the container wrote anything (the fetcher's log).
    let before = output_sizes(&sandbox);
    // A kill or a stop during the launch waits for it: a create cut short could leave a
    // container behind that nobody knows of.
    let docker = match launch(&agent, &spec).await {
        Ok(docker) => docker,
        Err(error) => {
            forget_container(&agent, &name);
            return launch_failed(&agent, &key, &error);
        }
    };
    let mut output =
        crate::node_log::spawn(copy_output(docker.clone(), name.clone(), sandbox.clone()));
    agent.send_update(&key, running(&agent, &key, &docker, &name, &network).await);

    let final_status = tokio::select! {
        exit = docker.wait_container(&name) => exited(&docker, &key, &name, exit).await,
        grace = kill_rx.recv() => {
            if killing_state {
                agent.send_update(&key, status(&key, TaskState::Killing, "Killing task"));
            }
            stop(&docker, &name, grace.unwrap_or(Duration::ZERO)).await;
            status(&key, TaskState::Killed, "Container was killed")
        }
        // A crash: remove the container, say nothing (a stopped agent sends no updates).
        _ = agent.stopped.cancelled() => {
            output.abort();
            remove(&agent, &docker, &name).await;
            return;
        }
    };
    if tokio::time::timeout(OUTPUT_DRAIN, &mut output)
        .await
        .is_err()
    {
        output.abort();
        tracing::warn!("the output of container {name} did not drain within {OUTPUT_DRAIN:?}");
    }
    complete_output(&docker, &name, &sandbox, before).await;
    remove(&agent, &docker, &name).await;
    agent.send_update(&key, final_status);
}

/// The container to create, its network, and the sandbox with empty `stdout` and `stderr`
/// (so `/files/read` finds them at once). Records the container's name on the task before it
/// exists, so the agent's cleanup covers it from the start.
fn plan(
    agent: &AgentShared,
    key: &TaskKey,
) -> Result<(ContainerSpec, Network, PathBuf), LaunchError> {
    let mut core = agent.core();
    let task = core.tasks.get_mut(key).ok_or(LaunchError::TaskGone)?;
    let sandbox = task.sandbox.clone();
    std::fs::create_dir_all(&sandbox).map_err(|cause| LaunchError::Sandbox {
        sandbox: sandbox.clone(),
        cause,
    })?;
    // Appended to, not truncated: the fetcher's log may be in `stderr` already.
    for file in ["stdout", "stderr"] {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(sandbox.join(file))
            .map_err(|cause| LaunchError::OutputFile { file, cause })?;
    }
    let (ip, port) = agent.advertised();
    let (spec, network) = container_spec(&TaskContext {
        task: &task.info,
        framework_id: &key.0,
        container_id: &task.container_id,
        sandbox: &sandbox,
        bind_sandbox: agent.config.docker_shares_sandboxes,
        agent_ip: &ip,
        agent_port: port,
        owner: &agent.config.docker_owner,
    })?;
    task.container = Some(spec.name.clone());
    Ok((spec, network, sandbox))
}

/// Connects, checks the image is there (nothing is pulled), creates and starts the container.
pub(super) async fn launch(
    agent: &AgentShared,
    spec: &ContainerSpec,
) -> Result<Docker, LaunchError> {
    let host = agent.config.docker_host();
    let docker = agent.docker.get(&host).await?;
    if !docker.image_exists(&spec.image).await? {
        return Err(LaunchError::NoImage {
            image: spec.image.clone(),
            host,
        });
    }
    let id = docker.create_container(spec).await?;
    if let Err(e) = docker.start_container(&id).await {
        let _ = docker.remove_container(&id).await;
        return Err(e.into());
    }
    Ok(docker)
}

/// TASK_RUNNING with the container's ContainerStatus: the Mesos container id, the main
/// process's pid, and its address (the agent's for HOST).
async fn running(
    agent: &AgentShared,
    key: &TaskKey,
    docker: &Docker,
    name: &str,
    network: &Network,
) -> TaskStatus {
    let details = docker.inspect(name).await.ok().flatten();
    let ip = match network {
        Network::Host => Some(agent.advertised().0),
        Network::None => None,
        other => details
            .as_ref()
            .and_then(|d| d.addresses.get(&other.mode()))
            .map(|ip| ip.to_string()),
    };
    let mut network_info = match ip {
        Some(ip) => NetworkInfo::with_address(ip, Some(Protocol::IPv4)),
        None => NetworkInfo::default(),
    };
    if let Network::User(name) = network {
        network_info.name = Some(name.clone());
    }
    let mut s = status(key, TaskState::Running, "Container started");
    s.container_status = Some(ContainerStatus {
        container_id: agent.core().tasks.get(key).map(|t| t.container_id.clone()),
        executor_pid: details.and_then(|d| d.pid),
        network_infos: vec![network_info],
        cgroup_info: None,
    });
    s
}

/// The update for a container that exited on its own.
async fn exited(
    docker: &Docker,
    key: &TaskKey,
    name: &str,
    exit: Result<i64, crate::docker::DockerError>,
) -> TaskStatus {
    let code = match exit {
        Ok(0) => return status(key, TaskState::Finished, "Container exited with status 0"),
        Ok(code) => code,
        Err(e) => {
            let mut s = status(key, TaskState::Failed, format!("Container lost: {e}"));
            s.reason = Some(reason::EXECUTOR_TERMINATED.into());
            return s;
        }
    };
    let oom = matches!(docker.inspect(name).await, Ok(Some(d)) if d.oom_killed);
    if oom {
        let mut s = status(
            key,
            TaskState::Failed,
            format!(
                "Container exited with status {code}: the kernel's OOM killer killed it (it used more memory than it may)"
            ),
        );
        s.reason = Some(reason::CONTAINER_LIMITATION_MEMORY.into());
        return s;
    }
    status(
        key,
        TaskState::Failed,
        format!("Container exited with status {code}"),
    )
}

/// `docker stop` with the grace period (SIGTERM, SIGKILL after it), or SIGKILL at once for
/// none; then waits for the container to be down.
async fn stop(docker: &Docker, name: &str, grace: Duration) {
    let stopped = if grace.is_zero() {
        docker.kill_container(name, "SIGKILL").await
    } else {
        docker.stop_container(name, grace).await
    };
    if let Err(e) = stopped {
        // Most likely it exited meanwhile; the wait below tells.
        tracing::debug!("{e}");
    }
    let limit = grace + Duration::from_secs(5);
    if tokio::time::timeout(limit, docker.wait_container(name))
        .await
        .is_err()
    {
        tracing::warn!("container {name} did not stop within {limit:?}; removing it");
    }
}

/// Removes the container (force) and, once it is gone, forgets it.
pub(super) async fn remove(agent: &AgentShared, docker: &Docker, name: &str) {
    let names = [name.to_string()];
    match tokio::time::timeout(
        REMOVAL_LIMIT,
        remove_containers(docker, &names, REMOVAL_LIMIT),
    )
    .await
    {
        Ok(Ok(())) => forget_container(agent, name),
        // Still recorded: the agent's stop, crash or drop tries again.
        Ok(Err(e)) => tracing::warn!("{e}"),
        Err(_) => tracing::warn!("removing container {name} took over {REMOVAL_LIMIT:?}"),
    }
}

/// The sizes of the sandbox's `stdout` and `stderr`.
pub(super) fn output_sizes(sandbox: &Path) -> [u64; 2] {
    ["stdout", "stderr"].map(|file| {
        std::fs::metadata(sandbox.join(file))
            .map(|m| m.len())
            .unwrap_or(0)
    })
}

/// Appends to `stdout` and `stderr` whatever following the output missed: the stopped
/// container's whole output is there to read, and what was copied (after the `before` bytes
/// the files held at launch) is a prefix of it.
pub(super) async fn complete_output(docker: &Docker, name: &str, sandbox: &Path, before: [u64; 2]) {
    let (stdout, stderr) = match docker.output(name).await {
        Ok(output) => output,
        Err(e) => return tracing::debug!("{e}"),
    };
    for ((file, whole), before) in [("stdout", stdout), ("stderr", stderr)]
        .into_iter()
        .zip(before)
    {
        let path = sandbox.join(file);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let copied = size.saturating_sub(before) as usize;
        if whole.len() <= copied {
            continue;
        }
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&whole[copied..]));
        if let Err(e) = appended {
            tracing::warn!("cannot write the output of container {name}: {e}");
        }
    }
}

/// Appends what the container writes to the sandbox's `stdout` and `stderr`, until it stops.
pub(super) async fn copy_output(docker: Docker, name: String, sandbox: PathBuf) {
    let open = |file: &str| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(Path::new(&sandbox).join(file))
    };
    let (mut stdout, mut stderr) = match (open("stdout"), open("stderr")) {
        (Ok(out), Ok(err)) => (out, err),
        (Err(e), _) | (_, Err(e)) => {
            return tracing::warn!("cannot write the output of container {name}: {e}");
        }
    };
    let copied = docker
        .follow_output(&name, |stream, bytes| {
            let file = match stream {
                OutputStream::Stdout => &mut stdout,
                OutputStream::Stderr => &mut stderr,
            };
            if let Err(e) = file.write_all(bytes) {
                tracing::debug!("cannot write the output of container {name}: {e}");
            }
        })
        .await;
    if let Err(e) = copied {
        // Expected when the container is removed under it (a crash).
        tracing::debug!("{e}");
    }
}
