//! What a scenario asks to run, and what became of it.

use crate::mesos::container::{ContainerInfo, DockerNetwork, NetworkInfo, PortMapping};
use crate::mesos::executor::ExecutorInfo;
use crate::mesos::health_check::HealthCheck;
use crate::mesos::ids::{AgentId, TaskId};
use crate::mesos::resources::{Resource, Resources};
use crate::mesos::scheduler::Offer;
use crate::mesos::task::{
    CommandInfo, CommandUri, Environment, EnvironmentVariable, Label, Labels, TaskInfo, TaskState,
    TaskStatus,
};
use crate::mesos::values::Ranges;
use base64::Engine;
use std::collections::BTreeMap;

/// A task a scenario wants launched.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    pub name: String,
    pub cmd: String,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub env: BTreeMap<String, String>,
    /// A Docker image: the task runs in a container of it (`ContainerInfo` type DOCKER) on an
    /// agent with the Docker containerizer; `None` runs a plain command task.
    pub image: Option<String>,
    /// The Docker task's network.
    pub network: TaskNetwork,
    /// Container ports to publish (BRIDGE and USER networks), each on a host port taken from
    /// the offer's `ports`.
    pub ports: Vec<u16>,
    /// Files the agent fetches into the sandbox before the task starts (`CommandInfo.uris`).
    pub uris: Vec<CommandUri>,
    /// `TaskInfo.health_check`: run by the agent for a command task, handed to a custom
    /// executor with its task.
    pub health_check: Option<HealthCheck>,
    /// Run by this custom executor instead of as a command task: the task's `cmd` then travels
    /// in `TaskInfo.data` (base64), for the executor to interpret (Mesos forbids a task with
    /// both a command and an executor).
    pub executor: Option<ExecutorRequest>,
    /// `TaskInfo.labels`, in order (e.g. `mmrun.sim.run` for a simulated agent).
    pub labels: Vec<(String, String)>,
}

/// A custom executor for a task (`ExecutorInfo` of type CUSTOM). Every task naming the same
/// executor id on an agent must describe it identically, as Mesos requires.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecutorRequest {
    pub id: String,
    /// The executor's shell command.
    pub cmd: String,
    /// Fetched into the executor's sandbox before it starts (`CommandInfo.uris`).
    pub uris: Vec<CommandUri>,
    /// A Docker image to run the executor in (`ExecutorInfo.container`, type DOCKER).
    pub docker: Option<String>,
}

impl ExecutorRequest {
    pub fn to_executor_info(&self) -> ExecutorInfo {
        let command = CommandInfo {
            value: Some(self.cmd.clone()),
            shell: true,
            arguments: vec![],
            environment: None,
            uris: self.uris.clone(),
            user: None,
        };
        let mut info = ExecutorInfo::custom(self.id.clone(), command);
        info.name = Some(format!("mmrun executor {}", self.id));
        info.container = self
            .docker
            .as_ref()
            .map(|image| ContainerInfo::docker(image, DockerNetwork::Host));
        info
    }
}

/// A Docker task's network, `ContainerInfo.docker.network`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TaskNetwork {
    /// The host's network (Mesos's default).
    #[default]
    Host,
    /// Docker's default bridge, with the task's ports published.
    Bridge,
    /// A user-defined network, by name.
    User(String),
    None,
}

impl TaskNetwork {
    /// `ContainerInfo.docker.network` for it.
    pub fn docker_network(&self) -> DockerNetwork {
        match self {
            TaskNetwork::Host => DockerNetwork::Host,
            TaskNetwork::Bridge => DockerNetwork::Bridge,
            TaskNetwork::User(_) => DockerNetwork::User,
            TaskNetwork::None => DockerNetwork::None,
        }
    }
}

/// What a task takes from an offer: its resources, with the host ports it was given.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub resources: Resources,
    /// One per requested container port, in order.
    pub host_ports: Vec<u16>,
}

impl TaskRequest {
    /// A plain command task with a script's defaults: 0.1 cpus, 32 MB of memory, no disk, on
    /// the host's network. Other fields are set by struct update: `TaskRequest { image, ..TaskRequest::command(name, cmd) }`.
    pub fn command(name: impl Into<String>, cmd: impl Into<String>) -> TaskRequest {
        TaskRequest {
            name: name.into(),
            cmd: cmd.into(),
            cpus: 0.1,
            mem: 32.0,
            disk: 0.0,
            env: BTreeMap::new(),
            image: None,
            network: TaskNetwork::Host,
            ports: vec![],
            uris: vec![],
            health_check: None,
            executor: None,
            labels: vec![],
        }
    }

    pub fn resources(&self) -> Resources {
        let mut r = vec![
            Resource::scalar("cpus", self.cpus),
            Resource::scalar("mem", self.mem),
        ];
        if self.disk > 0.0 {
            r.push(Resource::scalar("disk", self.disk));
        }
        Resources::new(r)
    }

    /// Why this task does not fit in `available` (one line), or `None` if it does: the first
    /// resource short, with what the offer holds of it by role.
    pub fn shortfall(&self, available: &Resources) -> Option<String> {
        for wanted in self.resources().iter() {
            let amount = wanted.scalar.as_ref().map_or(0.0, |s| s.value);
            let have = available.scalar(&wanted.name);
            if have < amount {
                let by_role: Vec<String> = available
                    .iter()
                    .filter(|r| r.name == wanted.name)
                    .filter_map(|r| {
                        let v = r.scalar.as_ref()?.value;
                        Some(match r.role.as_deref() {
                            None | Some("*") => format!("{v} unreserved"),
                            Some(role) => format!("{v} reserved for {role}"),
                        })
                    })
                    .collect();
                let holds = if by_role.is_empty() {
                    "none".to_string()
                } else {
                    by_role.join(" + ")
                };
                return Some(format!(
                    "needs {} {amount}, the offer holds {holds}",
                    wanted.name
                ));
            }
        }
        let ports: usize = available
            .iter()
            .filter(|r| r.name == "ports")
            .flat_map(|r| r.ranges.iter().flat_map(|r| &r.range))
            .map(|r| (r.end - r.begin + 1) as usize)
            .sum();
        (ports < self.ports.len()).then(|| {
            format!(
                "needs {} host port(s), the offer holds {ports}",
                self.ports.len()
            )
        })
    }

    /// The resources this task would take from `available` (host ports included), if they are
    /// all there.
    pub fn claim(&self, available: &Resources) -> Option<Claim> {
        // Scalars from whichever roles the offer holds them in, the framework's reservation
        // first (an offer to a framework in role `web` holds `cpus(web)` and unreserved `cpus`).
        let mut resources = Vec::new();
        for wanted in self.resources().iter() {
            let amount = wanted.scalar.as_ref().map_or(0.0, |s| s.value);
            resources.extend(available.take_scalar(&wanted.name, amount)?);
        }
        let mut host_ports = Vec::new();
        // Host ports come from the offer's `ports` ranges, in order, keeping their role.
        for r in available.iter().filter(|r| r.name == "ports") {
            let mut taken = Vec::new();
            for range in r.ranges.iter().flat_map(|r| &r.range) {
                for port in range.begin..=range.end {
                    if host_ports.len() + taken.len() == self.ports.len() {
                        break;
                    }
                    taken.extend(u16::try_from(port).ok());
                }
            }
            if !taken.is_empty() {
                let mut ports = Resource::ranges(
                    "ports",
                    Ranges::new(taken.iter().map(|p| (*p as u64, *p as u64))),
                );
                ports.role = r.role.clone();
                resources.push(ports);
                host_ports.extend(taken);
            }
        }
        if host_ports.len() < self.ports.len() {
            return None;
        }
        let resources = Resources::new(resources);
        available.contains(&resources).then_some(Claim {
            resources,
            host_ports,
        })
    }

    pub fn to_task_info(&self, id: TaskId, offer: &Offer, claim: &Claim) -> TaskInfo {
        let environment = (!self.env.is_empty()).then(|| Environment {
            variables: self
                .env
                .iter()
                .map(|(name, value)| EnvironmentVariable {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        });
        if let Some(executor) = &self.executor {
            return TaskInfo {
                name: self.name.clone(),
                task_id: id,
                agent_id: offer.agent_id.clone(),
                resources: claim.resources.clone().into_vec(),
                executor: Some(executor.to_executor_info()),
                command: None,
                container: None,
                health_check: self.health_check.clone(),
                kill_policy: None,
                labels: self.task_labels(),
                discovery: None,
                data: Some(base64::engine::general_purpose::STANDARD.encode(&self.cmd)),
            };
        }
        TaskInfo {
            name: self.name.clone(),
            task_id: id,
            agent_id: offer.agent_id.clone(),
            resources: claim.resources.clone().into_vec(),
            executor: None,
            command: Some(CommandInfo {
                // A Docker task without a command runs its image's own.
                value: (!self.cmd.is_empty() || self.image.is_none()).then(|| self.cmd.clone()),
                shell: true,
                arguments: vec![],
                environment,
                uris: self.uris.clone(),
                user: None,
            }),
            container: self
                .image
                .as_ref()
                .map(|image| self.container(image, claim)),
            health_check: self.health_check.clone(),
            kill_policy: None,
            labels: self.task_labels(),
            discovery: None,
            data: None,
        }
    }

    fn task_labels(&self) -> Option<Labels> {
        (!self.labels.is_empty()).then(|| Labels {
            labels: self
                .labels
                .iter()
                .map(|(key, value)| Label {
                    key: key.clone(),
                    value: Some(value.clone()),
                })
                .collect(),
        })
    }
}

impl TaskRequest {
    /// The DOCKER `ContainerInfo`: image, network, and each container port mapped to its host
    /// port.
    fn container(&self, image: &str, claim: &Claim) -> ContainerInfo {
        let mut container = ContainerInfo::docker(image, self.network.docker_network());
        if let Some(docker) = &mut container.docker {
            docker.port_mappings = self
                .ports
                .iter()
                .zip(&claim.host_ports)
                .map(|(container, host)| PortMapping {
                    host_port: u32::from(*host),
                    container_port: u32::from(*container),
                    protocol: Some("tcp".into()),
                })
                .collect();
        }
        if let TaskNetwork::User(name) = &self.network {
            container.network_infos = vec![NetworkInfo::named(name.clone())];
        }
        container
    }
}

/// A launched task and every status the framework received for it.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub name: String,
    pub id: TaskId,
    pub agent_id: Option<AgentId>,
    pub statuses: Vec<TaskStatus>,
}

impl TaskRecord {
    pub fn state(&self) -> Option<TaskState> {
        self.statuses.last().map(|s| s.state)
    }

    /// The task's health as its latest status that says so reports it; `None` before any does.
    pub fn healthy(&self) -> Option<bool> {
        self.statuses.iter().rev().find_map(|s| s.healthy)
    }

    /// The states in order, without repeats of the same state (reconciliation answers).
    pub fn history(&self) -> Vec<TaskState> {
        let mut out: Vec<TaskState> = Vec::new();
        for s in &self.statuses {
            if out.last() != Some(&s.state) {
                out.push(s.state);
            }
        }
        out
    }

    pub fn describe(&self) -> String {
        let history: Vec<&str> = self.history().iter().map(|s| s.name()).collect();
        let last = self.statuses.last();
        let detail = last
            .and_then(|s| s.message.clone())
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        format!(
            "task '{}' is {}{detail}; history: [{}]",
            self.name,
            self.state().map_or("not yet launched", |s| s.name()),
            history.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(image: Option<&str>, network: TaskNetwork, ports: &[u16]) -> TaskRequest {
        TaskRequest {
            image: image.map(String::from),
            network,
            ports: ports.to_vec(),
            ..TaskRequest::command("web", "")
        }
    }

    fn offer(resources: &str) -> Offer {
        serde_json::from_value(json!({
            "id": {"value": "o1"}, "framework_id": {"value": "f"},
            "agent_id": {"value": "a1-S0"}, "hostname": "h",
            "resources": Resources::parse(resources).unwrap(),
        }))
        .unwrap()
    }

    /// (name, role, amount) of a claim's scalars, for readable assertions.
    fn scalars(claim: &Claim) -> Vec<(String, String, f64)> {
        claim
            .resources
            .iter()
            .filter_map(|r| {
                let value = r.scalar.as_ref()?.value;
                Some((r.name.clone(), r.role.clone().unwrap_or_default(), value))
            })
            .collect()
    }

    #[test]
    fn a_task_uses_its_roles_reservation_first_then_unreserved_resources() {
        let mut r = TaskRequest::command("t", "true");
        r.cpus = 0.5;
        r.mem = 32.0;
        // Everything needed is reserved for the role.
        let claim = r
            .claim(&Resources::parse("cpus(web):2;mem:1024").unwrap())
            .unwrap();
        assert_eq!(
            scalars(&claim),
            [
                ("cpus".into(), "web".into(), 0.5),
                ("mem".into(), "*".into(), 32.0)
            ]
        );
        // The reservation is too small: the rest comes unreserved, each piece with its role.
        let claim = r
            .claim(&Resources::parse("cpus(web):0.2;cpus:1;mem(web):64").unwrap())
            .unwrap();
        assert_eq!(
            scalars(&claim),
            [
                ("cpus".into(), "web".into(), 0.2),
                ("cpus".into(), "*".into(), 0.3),
                ("mem".into(), "web".into(), 32.0)
            ]
        );
        // Not enough in any role.
        assert!(
            r.claim(&Resources::parse("cpus(web):0.2;cpus:0.2;mem:64").unwrap())
                .is_none()
        );
    }

    #[test]
    fn a_bridge_task_takes_host_ports_from_the_offer_and_maps_them() {
        let offer = offer("cpus:1;mem:128;ports:[31000-31000,31005-31009]");
        let available = Resources::new(offer.resources.clone());
        let r = request(Some("img"), TaskNetwork::Bridge, &[8080, 9090]);
        let claim = r.claim(&available).unwrap();
        assert_eq!(claim.host_ports, [31000, 31005]);
        let info = r.to_task_info(TaskId::new("web.0"), &offer, &claim);
        assert_eq!(
            serde_json::to_value(info.container.unwrap()).unwrap(),
            json!({"type": "DOCKER", "docker": {"image": "img", "network": "BRIDGE",
                "port_mappings": [
                    {"host_port": 31000, "container_port": 8080, "protocol": "tcp"},
                    {"host_port": 31005, "container_port": 9090, "protocol": "tcp"}]}})
        );
        let ports = info.resources.iter().find(|r| r.name == "ports").unwrap();
        assert_eq!(
            ports.ranges.as_ref().unwrap(),
            &Ranges::new([(31000, 31000), (31005, 31005)])
        );
        // No command: the image's own runs.
        assert_eq!(info.command.unwrap().value, None);
        // Not enough ports: the offer does not fit.
        let greedy = request(Some("img"), TaskNetwork::Bridge, &[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(greedy.claim(&available), None);
    }

    #[test]
    fn user_networks_are_named_and_plain_tasks_have_no_container() {
        let offer = offer("cpus:1;mem:128");
        let available = Resources::new(offer.resources.clone());
        let r = request(Some("img"), TaskNetwork::User("my-net".into()), &[]);
        let info = r.to_task_info(TaskId::new("t"), &offer, &r.claim(&available).unwrap());
        assert_eq!(
            serde_json::to_value(info.container.unwrap()).unwrap(),
            json!({"type": "DOCKER", "docker": {"image": "img", "network": "USER"},
                   "network_infos": [{"name": "my-net"}]})
        );
        let plain = TaskRequest {
            cmd: "echo hi".into(),
            ..request(None, TaskNetwork::Host, &[])
        };
        let info = plain.to_task_info(TaskId::new("t"), &offer, &plain.claim(&available).unwrap());
        assert_eq!(info.container, None);
        assert_eq!(info.command.unwrap().value.as_deref(), Some("echo hi"));
    }
}
