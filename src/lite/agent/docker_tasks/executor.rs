//! Executors in containers: an `ExecutorInfo` whose `container` is `{type: DOCKER, docker:
//! {image}}` runs, as Mesos's Docker containerizer runs it, as a sibling container named
//! `mesos-<agent id>.<container id>`, labelled as the agent's task containers (so teardown, the
//! reaper and `mmrun clean` remove it), with its sandbox mounted and the executor environment.
//!
//! Where it runs follows the agent. Mesos's default network for it is HOST, the agent host's
//! network; an agent that itself runs in a container the daemon knows (the Docker backend's,
//! found by its hostname) has the cluster network for a host, so the executor joins that network with an address of its own, which is
//! its `LIBPROCESS_IP` (libprocess-based executors would otherwise bind to loopback, or to an
//! address that is not theirs). The address is picked before the container starts, because the
//! environment is fixed at creation: the highest free one of the network's subnet, well away
//! from the addresses Docker hands out from the bottom and mmrun's nodes take (`.2`, `.11`…).
//! Such an agent's work dir is a volume (see the Docker backend's agent spec): the executor
//! mounts the same volume at the same path, so its sandbox, and what the fetcher put there, are
//! shared both ways as on a real agent's host. Any other agent is on the daemon's host: the
//! executor gets `--network host` and the sandbox bound at `/mnt/mesos/sandbox`, as in Mesos.

use super::run::{LaunchError, complete_output, copy_output, launch, output_sizes, remove};
use super::spec::{Network, SpecError, command_line, network};
use crate::docker::{
    ContainerDetails, ContainerSpec, Docker, DockerError, Role, labels, task_container_name,
};
use crate::errors::error_chain;
use crate::lite::agent::{AgentShared, ExecutorKey};
use crate::mesos::container::ContainerInfo;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the sandbox appears in an executor container on an agent that runs on a host.
const SANDBOX_IN_CONTAINER: &str = super::spec::SANDBOX_IN_CONTAINER;

/// How often a launch is retried when another container took the picked address first.
const ADDRESS_ATTEMPTS: usize = 5;

/// How long the output may take to drain once the container has stopped.
const OUTPUT_DRAIN: Duration = Duration::from_secs(5);

/// Why there is no plan for an executor's container; said after "Failed to launch container: ".
#[derive(Debug, thiserror::Error)]
pub enum ExecutorPlanError {
    #[error("the executor was removed before it started")]
    ExecutorGone,
    #[error("the executor has no ContainerInfo")]
    NoContainerInfo,
    #[error("ExecutorInfo.container.docker.image is required")]
    NoImage,
}

/// Why an executor's container did not start. Rendered by `error_chain`, it is the message of
/// the TASK_FAILED its tasks earn.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorContainerError {
    #[error("Failed to launch container")]
    Docker(#[source] DockerError),
    #[error("Failed to launch container")]
    Site(#[source] SiteError),
    #[error("Failed to launch container: cannot create the sandbox")]
    Sandbox(#[source] std::io::Error),
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

/// Why the executor's container has nowhere to go: no network to join, no sandbox to mount.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(
        "mmrun's agent runs executor containers on the HOST network (the agent's own network) or a USER network, not {0}"
    )]
    UnsupportedNetwork(String),
    #[error(
        "the agent's work dir {} is not on a volume of its container {container}, so an executor container could not see its sandbox: run the agent with a volume there (`docker run -v {} …`)",
        .work_dir.display(),
        .work_dir.display()
    )]
    WorkDirNotOnVolume {
        work_dir: PathBuf,
        container: String,
    },
    #[error("the agent's container {0} is on no network")]
    NoNetwork(String),
    #[error("there is no Docker network '{0}'")]
    NoSuchNetwork(String),
    #[error("Docker network '{0}' has no IPv4 subnet")]
    NoSubnet(String),
    #[error("Docker network '{network}' ({subnet}) has no free address")]
    NoFreeAddress { network: String, subnet: String },
}

/// What the agent knows of an executor before its container exists.
pub struct ExecutorPlan {
    pub name: String,
    pub image: String,
    pub container: ContainerInfo,
    pub command: Option<crate::mesos::task::CommandInfo>,
    pub sandbox: PathBuf,
}

/// A running executor container.
pub struct ExecutorContainer {
    docker: Docker,
    pub name: String,
    /// The container's main process on the host (the agent shares the host's PID namespace).
    pub pid: Option<u32>,
    sandbox: PathBuf,
    before: [u64; 2],
    output: tokio::task::JoinHandle<()>,
}

/// The network an executor container joins and the sandbox it mounts.
struct Site {
    /// Docker's network mode (`host` or a network's name).
    network: String,
    /// Pick an address of its own on `network` (a user-defined network).
    own_address: bool,
    /// `source:destination` of the sandbox's mount.
    bind: String,
    /// The sandbox's path inside the container (`MESOS_SANDBOX`, the working directory).
    sandbox_inside: String,
}

/// The executor's container as data. `env` is the executor environment without
/// `LIBPROCESS_IP`, which is `ip` (its own address), else the agent's.
#[allow(clippy::too_many_arguments)]
fn executor_spec(
    plan: &ExecutorPlan,
    site: &Site,
    ip: Option<Ipv4Addr>,
    agent_ip: &str,
    env: &[(String, String)],
    owner: &crate::docker::Owner,
) -> ContainerSpec {
    let (entrypoint, cmd) = command_line(plan.command.as_ref());
    let libprocess_ip = ip.map(|ip| ip.to_string()).unwrap_or(agent_ip.to_string());
    let mut vars: Vec<(String, String)> = vec![
        ("LIBPROCESS_IP".into(), libprocess_ip),
        ("MESOS_CONTAINER_NAME".into(), plan.name.clone()),
    ];
    // Later values win, as they would in a shell: the command's own variables come last.
    for (k, v) in env {
        match vars.iter_mut().find(|(name, _)| name == k) {
            Some(existing) => existing.1 = v.clone(),
            None => vars.push((k.clone(), v.clone())),
        }
    }
    ContainerSpec {
        name: plan.name.clone(),
        image: plan.image.clone(),
        entrypoint,
        cmd,
        env: vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels: owner.labels(Role::Task),
        network: Some(site.network.clone()),
        ipv4_address: ip,
        binds: vec![site.bind.clone()],
        working_dir: Some(site.sandbox_inside.clone()),
        ..ContainerSpec::default()
    }
}

/// The plan for the executor of `key`: its container's name (recorded on the executor before
/// the container exists, so the agent's cleanup covers it from the start), image and command.
pub fn plan(
    agent: &AgentShared,
    key: &ExecutorKey,
    agent_id: &str,
) -> Result<ExecutorPlan, ExecutorPlanError> {
    let mut core = agent.core();
    let executor = core
        .executors
        .get_mut(key)
        .ok_or(ExecutorPlanError::ExecutorGone)?;
    let container = executor
        .info
        .container
        .clone()
        .ok_or(ExecutorPlanError::NoContainerInfo)?;
    let image = container
        .docker
        .as_ref()
        .map(|d| d.image.clone())
        .filter(|i| !i.trim().is_empty())
        .ok_or(ExecutorPlanError::NoImage)?;
    let name = task_container_name(agent_id, &executor.container_id.value);
    executor.container = Some(name.clone());
    Ok(ExecutorPlan {
        name,
        image,
        command: executor.info.command.clone(),
        sandbox: executor.sandbox.clone(),
        container,
    })
}

impl ExecutorContainer {
    /// Creates and starts the executor's container. `env` is the executor environment (see
    /// `executors/environment.rs`) for a sandbox at `sandbox_inside`, a function of where the sandbox
    /// appears in the container.
    pub async fn launch(
        agent: &Arc<AgentShared>,
        plan: &ExecutorPlan,
        env: impl Fn(&str) -> Vec<(String, String)>,
    ) -> Result<ExecutorContainer, ExecutorContainerError> {
        let host = agent.config.docker_host();
        let docker = agent
            .docker
            .get(&host)
            .await
            .map_err(ExecutorContainerError::Docker)?;
        let site = site(agent, &docker, plan)
            .await
            .map_err(ExecutorContainerError::Site)?;
        let env = env(&site.sandbox_inside);
        let agent_ip = agent.advertised().0;
        let mut tried: Vec<Ipv4Addr> = vec![];
        let mut attempt = 0;
        loop {
            attempt += 1;
            let ip = if site.own_address {
                let ip = free_address(&docker, &site.network, &tried)
                    .await
                    .map_err(ExecutorContainerError::Site)?;
                tried.push(ip);
                Some(ip)
            } else {
                None
            };
            let spec = executor_spec(plan, &site, ip, &agent_ip, &env, &agent.config.docker_owner);
            std::fs::create_dir_all(&plan.sandbox).map_err(ExecutorContainerError::Sandbox)?;
            let before = output_sizes(&plan.sandbox);
            match launch(agent, &spec).await {
                Ok(docker) => {
                    let details = docker.inspect(&spec.name).await.ok().flatten();
                    let output = crate::node_log::spawn(copy_output(
                        docker.clone(),
                        spec.name.clone(),
                        plan.sandbox.clone(),
                    ));
                    return Ok(ExecutorContainer {
                        docker,
                        name: spec.name,
                        pid: details.and_then(|d| d.pid),
                        sandbox: plan.sandbox.clone(),
                        before,
                        output,
                    });
                }
                // Another container took the address between the pick and the start.
                Err(e)
                    if ip.is_some()
                        && error_chain(&e).contains("already in use")
                        && attempt < ADDRESS_ATTEMPTS =>
                {
                    tracing::debug!(
                        "executor container {}: {}; trying another address",
                        spec.name,
                        error_chain(&e)
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits for the container to exit; its exit code.
    pub async fn wait(&self) -> Result<i64, crate::docker::DockerError> {
        self.docker.wait_container(&self.name).await
    }

    /// Kills the container's processes at once (the executor's grace period is over).
    pub async fn kill(&self) {
        if let Err(e) = self.docker.kill_container(&self.name, "SIGKILL").await {
            // Most likely it exited meanwhile.
            tracing::debug!("{e}");
        }
    }

    /// After the exit: the output completed into the sandbox, the container removed.
    pub async fn finish(mut self, agent: &AgentShared) {
        if tokio::time::timeout(OUTPUT_DRAIN, &mut self.output)
            .await
            .is_err()
        {
            self.output.abort();
        }
        complete_output(&self.docker, &self.name, &self.sandbox, self.before).await;
        remove(agent, &self.docker, &self.name).await;
    }
}

/// Where the executor's container goes: its network, and how it mounts its sandbox.
async fn site(
    agent: &AgentShared,
    docker: &Docker,
    plan: &ExecutorPlan,
) -> Result<Site, SiteError> {
    let network = network(&plan.container)?;
    // An agent that is not in one of this daemon's containers (no `/.dockerenv`, or a
    // container the daemon does not know, as when the daemon runs in the same container) is on
    // the daemon's host: Mesos's own layout.
    let me = if agent.config.docker_shares_sandboxes {
        None
    } else {
        own_container(docker).await?
    };
    let Some(me) = me else {
        return Ok(Site {
            own_address: matches!(network, Network::User(_)),
            network: match network {
                Network::Host => "host".into(),
                Network::User(name) => name,
                other => return Err(unsupported(&other)),
            },
            bind: format!("{}:{SANDBOX_IN_CONTAINER}", plan.sandbox.display()),
            sandbox_inside: SANDBOX_IN_CONTAINER.into(),
        });
    };
    let network = match network {
        Network::Host => agents_network(agent, &me)?,
        Network::User(name) => name,
        other => return Err(unsupported(&other)),
    };
    let mount = me
        .mounts
        .iter()
        .filter(|m| plan.sandbox.starts_with(&m.destination))
        .max_by_key(|m| m.destination.len())
        .ok_or_else(|| SiteError::WorkDirNotOnVolume {
            work_dir: agent.config.work_dir.clone(),
            container: me.id.clone(),
        })?;
    Ok(Site {
        network,
        own_address: true,
        bind: format!("{}:{}", mount.source, mount.destination),
        sandbox_inside: plan.sandbox.display().to_string(),
    })
}

fn unsupported(network: &Network) -> SiteError {
    SiteError::UnsupportedNetwork(network.mode().to_ascii_uppercase())
}

/// The container this agent runs in, if the daemon knows it: Docker names a container's host
/// after its id unless told otherwise, and the Docker backend names its agents' hosts after
/// their containers.
async fn own_container(docker: &Docker) -> Result<Option<ContainerDetails>, DockerError> {
    let hostname = labels::hostname();
    let found = docker.inspect(&hostname).await?;
    if found.is_none() {
        tracing::debug!(
            "no container called '{hostname}' on the Docker daemon at {}: the agent is taken to run on the daemon's host",
            docker.host()
        );
    }
    Ok(found)
}

/// The network the agent is reachable on at its advertised address.
fn agents_network(agent: &AgentShared, me: &ContainerDetails) -> Result<String, SiteError> {
    let advertised = agent.advertised().0;
    me.addresses
        .iter()
        .find(|(_, ip)| ip.to_string() == advertised)
        .or_else(|| me.addresses.iter().next())
        .map(|(name, _)| name.clone())
        .ok_or_else(|| SiteError::NoNetwork(me.id.clone()))
}

/// The highest address of the network's subnet that nobody holds (and was not tried).
async fn free_address(
    docker: &Docker,
    network: &str,
    tried: &[Ipv4Addr],
) -> Result<Ipv4Addr, SiteError> {
    let addresses = docker
        .network_addresses(network)
        .await?
        .ok_or_else(|| SiteError::NoSuchNetwork(network.into()))?;
    let subnet = addresses
        .subnets
        .first()
        .ok_or_else(|| SiteError::NoSubnet(network.into()))?;
    let taken: Vec<Ipv4Addr> = addresses.taken.iter().chain(tried).copied().collect();
    highest_free(subnet, &taken).ok_or_else(|| SiteError::NoFreeAddress {
        network: network.into(),
        subnet: subnet.clone(),
    })
}

/// The highest host address of `subnet` (`a.b.c.d/len`) not in `taken`.
fn highest_free(subnet: &str, taken: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    let (base, len) = subnet.split_once('/')?;
    let base = u32::from(base.parse::<Ipv4Addr>().ok()?);
    let len: u32 = len.parse().ok().filter(|l| *l <= 30)?;
    let size = 1u32 << (32 - len);
    let network = base & !(size - 1);
    // Not the broadcast address, not the network's own, not `.1` (the usual gateway).
    (2..size - 1)
        .rev()
        .map(|offset| Ipv4Addr::from(network + offset))
        .find(|ip| !taken.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::Owner;
    use serde_json::json;

    #[test]
    fn the_highest_free_address_is_picked() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(highest_free("10.213.7.0/24", &[]), Some(ip("10.213.7.254")));
        assert_eq!(
            highest_free("10.213.7.0/24", &[ip("10.213.7.254"), ip("10.213.7.253")]),
            Some(ip("10.213.7.252"))
        );
        assert_eq!(
            highest_free("172.18.0.0/16", &[]),
            Some(ip("172.18.255.254"))
        );
        let all: Vec<_> = (2..=6).map(|i| ip(&format!("10.0.0.{i}"))).collect();
        assert_eq!(highest_free("10.0.0.0/29", &all), None);
        assert_eq!(highest_free("not a subnet", &[]), None);
    }

    #[test]
    fn an_executor_container_has_its_own_address_the_sandbox_and_the_executor_environment() {
        let plan = ExecutorPlan {
            name: "mesos-a1-S0.c0ffee".into(),
            image: "mmrun-node:1234".into(),
            container: serde_json::from_value(
                json!({"type": "DOCKER", "docker": {"image": "mmrun-node:1234"}}),
            )
            .unwrap(),
            command: Some(crate::mesos::task::CommandInfo {
                value: Some("mmrun example-executor".into()),
                shell: true,
                arguments: vec![],
                environment: None,
                uris: vec![],
                user: None,
            }),
            sandbox: "/var/lib/mesos/agent/slaves/a1-S0/frameworks/fw/executors/e/runs/c0ffee"
                .into(),
        };
        let site = Site {
            network: "mmrun-net".into(),
            own_address: true,
            bind: "volume-1:/var/lib/mesos/agent".into(),
            sandbox_inside: plan.sandbox.display().to_string(),
        };
        let owner = Owner::new("3f2a9c1b", "exec");
        let env = vec![
            (
                "MESOS_AGENT_ENDPOINT".to_string(),
                "10.213.7.11:5051".to_string(),
            ),
            (
                "LIBPROCESS_IP".to_string(),
                "overridden by the command".to_string(),
            ),
        ];
        let ip = Some(Ipv4Addr::new(10, 213, 7, 254));
        let spec = executor_spec(&plan, &site, ip, "10.213.7.11", &env[..1], &owner);
        assert_eq!(spec.name, "mesos-a1-S0.c0ffee");
        assert_eq!(spec.image, "mmrun-node:1234");
        assert_eq!(
            spec.entrypoint,
            Some(vec!["/bin/sh".to_string(), "-c".to_string()])
        );
        assert_eq!(spec.cmd, ["mmrun example-executor"]);
        assert_eq!(spec.network.as_deref(), Some("mmrun-net"));
        assert_eq!(spec.ipv4_address, ip);
        assert_eq!(spec.binds, ["volume-1:/var/lib/mesos/agent"]);
        assert_eq!(
            spec.working_dir.as_deref(),
            Some(site.sandbox_inside.as_str())
        );
        assert_eq!(
            spec.env,
            [
                "LIBPROCESS_IP=10.213.7.254",
                "MESOS_CONTAINER_NAME=mesos-a1-S0.c0ffee",
                "MESOS_AGENT_ENDPOINT=10.213.7.11:5051"
            ]
        );
        assert_eq!(spec.labels, owner.labels(Role::Task));
        // The command's own variables win.
        let spec = executor_spec(&plan, &site, ip, "10.213.7.11", &env, &owner);
        assert_eq!(spec.env[0], "LIBPROCESS_IP=overridden by the command");
        // On a host (HOST network), the agent's address.
        let spec = executor_spec(&plan, &site, None, "10.0.0.5", &[], &owner);
        assert_eq!(spec.env[0], "LIBPROCESS_IP=10.0.0.5");
    }
}
