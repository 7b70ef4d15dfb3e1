//! A DOCKER task's container, as data: what Mesos's Docker containerizer would ask of the
//! daemon for this `TaskInfo` (name, image, command, environment, network, published ports,
//! sandbox mount, labels). A pure function, so a unit test pins it.

use crate::docker::{ContainerSpec, Owner, PortPublish, Role, task_container_name};
use crate::mesos::container::{ContainerInfo, DockerInfo, DockerNetwork};
use crate::mesos::ids::{ContainerId, FrameworkId};
use crate::mesos::task::{CommandInfo, TaskInfo};
use crate::mesos::volume::VolumeMode;
use std::path::Path;

/// Where the sandbox appears inside task containers, as in Mesos (`--sandbox_directory`).
pub const SANDBOX_IN_CONTAINER: &str = "/mnt/mesos/sandbox";

/// Everything besides the `TaskInfo` that goes into a task's container.
pub struct TaskContext<'a> {
    pub task: &'a TaskInfo,
    pub framework_id: &'a FrameworkId,
    pub container_id: &'a ContainerId,
    /// The sandbox on the agent's side.
    pub sandbox: &'a Path,
    /// Whether the daemon sees `sandbox` at that path (else the task gets an empty volume).
    pub bind_sandbox: bool,
    /// The agent's advertised `ip:port`.
    pub agent_ip: &'a str,
    pub agent_port: u16,
    pub owner: &'a Owner,
}

/// `ContainerInfo.docker.network`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    Host,
    Bridge,
    /// A user-defined network, by name (`ContainerInfo.network_infos[0].name`).
    User(String),
    None,
}

impl Network {
    /// Docker's `NetworkMode` for it.
    pub fn mode(&self) -> String {
        match self {
            Network::Host => "host".into(),
            Network::Bridge => "bridge".into(),
            Network::User(name) => name.clone(),
            Network::None => "none".into(),
        }
    }
}

/// Why a task's container cannot be specified; its text is the message of the TASK_FAILED the
/// task earns instead.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the task has no ContainerInfo")]
    NoContainerInfo,
    #[error("ContainerInfo of type DOCKER needs a 'docker' field with the image")]
    NoDockerInfo,
    #[error("ContainerInfo.docker.image is required")]
    NoImage,
    #[error("A USER network needs the network's name in ContainerInfo.network_infos[0].name")]
    UnnamedUserNetwork,
    #[error(
        "Port mappings are only supported for BRIDGE and USER networks; a HOST network task listens on the host's ports directly"
    )]
    PortsWithoutBridge,
    #[error("Port mapping {host_port}:{container_port} needs a valid '{key}'")]
    InvalidPort {
        host_port: u32,
        container_port: u32,
        key: &'static str,
    },
    #[error(
        "Port mapping {host_port}:{container_port} uses host port {host_port}, which is not in the task's 'ports' resources"
    )]
    PortNotGranted { host_port: u16, container_port: u16 },
    #[error("Volume '{0}': only volumes with a 'host_path' are supported by mmrun's agent")]
    VolumeWithoutHostPath(String),
}

/// The container a task runs in, or why the task fails instead.
pub fn container_spec(cx: &TaskContext) -> Result<(ContainerSpec, Network), SpecError> {
    let info = cx
        .task
        .container
        .as_ref()
        .ok_or(SpecError::NoContainerInfo)?;
    let docker = info.docker.as_ref().ok_or(SpecError::NoDockerInfo)?;
    if docker.image.trim().is_empty() {
        return Err(SpecError::NoImage);
    }
    let network = network(info)?;
    let ports = port_mappings(docker, cx.task)?;
    if !ports.is_empty() && matches!(network, Network::Host | Network::None) {
        return Err(SpecError::PortsWithoutBridge);
    }
    let name = task_container_name(&cx.task.agent_id.value, &cx.container_id.value);
    let (entrypoint, cmd) = command_line(cx.task.command.as_ref());
    let mut binds = vec![if cx.bind_sandbox {
        format!("{}:{SANDBOX_IN_CONTAINER}", cx.sandbox.display())
    } else {
        // An anonymous volume, removed with the container.
        SANDBOX_IN_CONTAINER.to_string()
    }];
    binds.extend(volumes(info, cx.sandbox)?);
    let hostname = info.hostname.clone().filter(|_| network != Network::Host);
    Ok((
        ContainerSpec {
            env: environment(cx, &name),
            name,
            image: docker.image.clone(),
            entrypoint,
            cmd,
            labels: cx.owner.labels(Role::Task),
            network: Some(network.mode()),
            hostname,
            ports,
            binds,
            privileged: docker.privileged == Some(true),
            ..ContainerSpec::default()
        },
        network,
    ))
}

/// As Mesos's Docker containerizer runs commands: `shell` (the default) overrides the
/// entrypoint with `/bin/sh -c <value>`; otherwise `value` and `arguments` are the image's
/// command line (its entrypoint kept). Without a value the image's own command runs.
pub fn command_line(command: Option<&CommandInfo>) -> (Option<Vec<String>>, Vec<String>) {
    let Some(command) = command else {
        return (None, vec![]);
    };
    let value = command.value.clone().filter(|v| !v.is_empty());
    if command.shell {
        return match value {
            Some(value) => (Some(vec!["/bin/sh".into(), "-c".into()]), vec![value]),
            None => (None, vec![]),
        };
    }
    let argv = value.into_iter().chain(command.arguments.iter().cloned());
    (None, argv.collect())
}

/// The variables the Docker executor gives a task, then the task's own (which win).
fn environment(cx: &TaskContext, name: &str) -> Vec<String> {
    let mut env: Vec<(String, String)> = [
        ("MESOS_SANDBOX", SANDBOX_IN_CONTAINER.to_string()),
        ("MESOS_CONTAINER_NAME", name.to_string()),
        ("MESOS_TASK_ID", cx.task.task_id.value.clone()),
        ("MESOS_FRAMEWORK_ID", cx.framework_id.value.clone()),
        ("MESOS_EXECUTOR_ID", cx.task.task_id.value.clone()),
        ("MESOS_SLAVE_ID", cx.task.agent_id.value.clone()),
        (
            "MESOS_AGENT_ENDPOINT",
            format!("{}:{}", cx.agent_ip, cx.agent_port),
        ),
        ("LIBPROCESS_IP", cx.agent_ip.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let task_env = cx.task.command.iter().flat_map(|c| &c.environment);
    for var in task_env.flat_map(|e| &e.variables) {
        match env.iter_mut().find(|(k, _)| *k == var.name) {
            Some(existing) => existing.1 = var.value.clone(),
            None => env.push((var.name.clone(), var.value.clone())),
        }
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// `docker.network`: HOST by default.
pub fn network(info: &ContainerInfo) -> Result<Network, SpecError> {
    let mode = info.docker.as_ref().and_then(|d| d.network);
    match mode.unwrap_or(DockerNetwork::Host) {
        DockerNetwork::Host => Ok(Network::Host),
        DockerNetwork::Bridge => Ok(Network::Bridge),
        DockerNetwork::None => Ok(Network::None),
        DockerNetwork::User => info
            .network_infos
            .first()
            .and_then(|n| n.name.as_deref())
            .filter(|n| !n.is_empty())
            .map(|n| Network::User(n.to_string()))
            .ok_or(SpecError::UnnamedUserNetwork),
    }
}

/// `docker.port_mappings`, published on every host address. Each host port must be one of the
/// task's `ports` resources, as Mesos checks.
fn port_mappings(docker: &DockerInfo, task: &TaskInfo) -> Result<Vec<PortPublish>, SpecError> {
    let granted: Vec<(u64, u64)> = task
        .resources
        .iter()
        .filter(|r| r.name == "ports")
        .filter_map(|r| r.ranges.as_ref())
        .flat_map(|r| r.range.iter().map(|r| (r.begin, r.end)))
        .collect();
    docker
        .port_mappings
        .iter()
        .map(|m| {
            let port = |port: u32, key: &'static str| {
                u16::try_from(port)
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or(SpecError::InvalidPort {
                        host_port: m.host_port,
                        container_port: m.container_port,
                        key,
                    })
            };
            let (host_port, container_port) = (
                port(m.host_port, "host_port")?,
                port(m.container_port, "container_port")?,
            );
            if !granted
                .iter()
                .any(|(b, e)| (*b..=*e).contains(&u64::from(host_port)))
            {
                return Err(SpecError::PortNotGranted {
                    host_port,
                    container_port,
                });
            }
            let protocol = m.protocol.as_deref().unwrap_or("tcp");
            Ok(PortPublish {
                container_port,
                protocol: protocol.to_ascii_lowercase(),
                host_ip: "0.0.0.0".into(),
                host_port: Some(host_port),
            })
        })
        .collect()
}

/// `ContainerInfo.volumes` with a `host_path` (relative paths are in the sandbox), as binds.
fn volumes(info: &ContainerInfo, sandbox: &Path) -> Result<Vec<String>, SpecError> {
    info.volumes
        .iter()
        .map(|v| {
            let host_path = v
                .host_path
                .as_deref()
                .ok_or_else(|| SpecError::VolumeWithoutHostPath(v.container_path.clone()))?;
            let host_path = if host_path.starts_with('/') {
                host_path.to_string()
            } else {
                sandbox.join(host_path).display().to_string()
            };
            let read_only = v.mode == VolumeMode::Ro;
            Ok(format!(
                "{host_path}:{}{}",
                v.container_path,
                if read_only { ":ro" } else { "" }
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::labels;
    use crate::mesos::resources::Resource;
    use crate::mesos::values::Ranges;
    use serde_json::{Value, json};

    fn task(container: Value, command: Value) -> TaskInfo {
        let mut info: TaskInfo = serde_json::from_value(json!({
            "name": "web",
            "task_id": {"value": "web.0"},
            "agent_id": {"value": "a1-S0"},
            "command": command,
            "container": container,
        }))
        .unwrap();
        info.resources = vec![
            Resource::scalar("cpus", 0.1),
            Resource::ranges("ports", Ranges::new([(31000, 31001)])),
        ];
        info
    }

    fn owner() -> Owner {
        Owner {
            run: "3f2a9c1b".into(),
            scenario: "launch".into(),
            pid: 4242,
            host: "ci-1".into(),
            keep: false,
        }
    }

    fn spec_of(task: &TaskInfo, bind_sandbox: bool) -> Result<(ContainerSpec, Network), SpecError> {
        let owner = owner();
        container_spec(&TaskContext {
            task,
            framework_id: &FrameworkId::new("fw-1"),
            container_id: &ContainerId::new("c0ffee"),
            sandbox: Path::new("/work/slaves/a1-S0/frameworks/fw-1/executors/web.0/runs/c0ffee"),
            bind_sandbox,
            agent_ip: "10.0.0.5",
            agent_port: 5051,
            owner: &owner,
        })
    }

    #[test]
    fn a_bridge_task_becomes_this_container() {
        let t = task(
            json!({"type": "DOCKER", "hostname": "web-1", "docker": {
                "image": "mmrun-busybox:1234", "network": "BRIDGE",
                "port_mappings": [{"host_port": 31001, "container_port": 8080, "protocol": "tcp"}]}}),
            json!({"value": "httpd -f -p 8080", "environment": {"variables": [
                {"name": "GREETING", "value": "hi"}, {"name": "LIBPROCESS_IP", "value": "0.0.0.0"}]}}),
        );
        let (spec, network) = spec_of(&t, true).unwrap();
        assert_eq!(network, Network::Bridge);
        let sandbox = "/work/slaves/a1-S0/frameworks/fw-1/executors/web.0/runs/c0ffee";
        assert_eq!(
            spec,
            ContainerSpec {
                name: "mesos-a1-S0.c0ffee".into(),
                image: "mmrun-busybox:1234".into(),
                entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
                cmd: vec!["httpd -f -p 8080".into()],
                env: [
                    "MESOS_SANDBOX=/mnt/mesos/sandbox",
                    "MESOS_CONTAINER_NAME=mesos-a1-S0.c0ffee",
                    "MESOS_TASK_ID=web.0",
                    "MESOS_FRAMEWORK_ID=fw-1",
                    "MESOS_EXECUTOR_ID=web.0",
                    "MESOS_SLAVE_ID=a1-S0",
                    "MESOS_AGENT_ENDPOINT=10.0.0.5:5051",
                    // The task's own value wins.
                    "LIBPROCESS_IP=0.0.0.0",
                    "GREETING=hi",
                ]
                .map(String::from)
                .to_vec(),
                labels: owner().labels(Role::Task),
                network: Some("bridge".into()),
                hostname: Some("web-1".into()),
                ports: vec![PortPublish {
                    container_port: 8080,
                    protocol: "tcp".into(),
                    host_ip: "0.0.0.0".into(),
                    host_port: Some(31001),
                }],
                binds: vec![format!("{sandbox}:/mnt/mesos/sandbox")],
                ..ContainerSpec::default()
            }
        );
        assert_eq!(spec.labels[labels::RUN], "3f2a9c1b");
        assert_eq!(spec.labels[labels::ROLE], "task");
    }

    #[test]
    fn host_is_the_default_network_and_keeps_no_hostname() {
        let t = task(
            json!({"type": "DOCKER", "hostname": "x", "docker": {"image": "img"}}),
            json!({"value": "true"}),
        );
        let (spec, network) = spec_of(&t, true).unwrap();
        assert_eq!(
            (network, spec.network.as_deref()),
            (Network::Host, Some("host"))
        );
        assert_eq!(spec.hostname, None);
        assert!(spec.ports.is_empty());
    }

    #[test]
    fn user_and_none_networks() {
        let user = task(
            json!({"type": "DOCKER", "network_infos": [{"name": "my-net"}],
                   "docker": {"image": "img", "network": "USER"}}),
            json!({"value": "true"}),
        );
        assert_eq!(
            spec_of(&user, true).unwrap().1,
            Network::User("my-net".into())
        );
        assert_eq!(
            spec_of(&user, true).unwrap().0.network.as_deref(),
            Some("my-net")
        );
        let nameless = task(
            json!({"type": "DOCKER", "docker": {"image": "img", "network": "USER"}}),
            json!({"value": "true"}),
        );
        assert!(
            spec_of(&nameless, true)
                .unwrap_err()
                .to_string()
                .contains("network_infos[0].name")
        );
        let none = task(
            json!({"type": "DOCKER", "docker": {"image": "img", "network": "NONE"}}),
            json!({"value": "true"}),
        );
        assert_eq!(
            spec_of(&none, true).unwrap().0.network.as_deref(),
            Some("none")
        );
    }

    #[test]
    fn bad_networks_and_ports_are_clear_failures() {
        let e = |container: Value| spec_of(&task(container, json!({"value": "true"})), true);
        let outside = e(
            json!({"type": "DOCKER", "docker": {"image": "img", "network": "BRIDGE",
            "port_mappings": [{"host_port": 8080, "container_port": 80}]}}),
        );
        assert!(
            outside
                .unwrap_err()
                .to_string()
                .contains("not in the task's 'ports' resources"),
        );
        let on_host = e(json!({"type": "DOCKER", "docker": {"image": "img",
            "port_mappings": [{"host_port": 31000, "container_port": 80}]}}));
        assert!(
            on_host
                .unwrap_err()
                .to_string()
                .contains("only supported for BRIDGE and USER")
        );
        let no_image = e(json!({"type": "DOCKER", "docker": {"image": " "}}));
        assert_eq!(
            no_image.unwrap_err().to_string(),
            "ContainerInfo.docker.image is required"
        );
    }

    #[test]
    fn commands_follow_the_docker_containerizer() {
        let image = json!({"type": "DOCKER", "docker": {"image": "img"}});
        let run = |command: Value| {
            let (spec, _) = spec_of(&task(image.clone(), command), true).unwrap();
            (spec.entrypoint, spec.cmd)
        };
        // No value: the image's own entrypoint and command.
        assert_eq!(run(json!({})), (None, vec![]));
        assert_eq!(run(json!({"value": ""})), (None, vec![]));
        // shell: false: value and arguments as the image's command line.
        assert_eq!(
            run(json!({"shell": false, "value": "echo", "arguments": ["a", "b"]})),
            (None, vec!["echo".into(), "a".into(), "b".into()])
        );
        assert_eq!(
            run(json!({"shell": false, "arguments": ["-v"]})),
            (None, vec!["-v".into()])
        );
    }

    #[test]
    fn sandbox_and_volumes_are_mounted() {
        let t = task(
            json!({"type": "DOCKER", "docker": {"image": "img"}, "volumes": [
                {"container_path": "/data", "host_path": "/srv/data", "mode": "RO"},
                {"container_path": "/cache", "host_path": "cache", "mode": "RW"}]}),
            json!({"value": "true"}),
        );
        let (spec, _) = spec_of(&t, false).unwrap();
        let sandbox = "/work/slaves/a1-S0/frameworks/fw-1/executors/web.0/runs/c0ffee";
        assert_eq!(
            spec.binds,
            [
                "/mnt/mesos/sandbox".to_string(),
                "/srv/data:/data:ro".to_string(),
                format!("{sandbox}/cache:/cache"),
            ]
        );
        let sourceless = task(
            json!({"type": "DOCKER", "docker": {"image": "img"},
                   "volumes": [{"container_path": "/data", "mode": "RW"}]}),
            json!({"value": "true"}),
        );
        assert!(
            spec_of(&sourceless, true)
                .unwrap_err()
                .to_string()
                .contains("host_path")
        );
    }
}
