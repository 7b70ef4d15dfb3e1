//! The container of every node, as data: what image, command, environment, mounts and
//! privileges a master, an agent or a framework gets. Pure functions of the cluster's layout, so
//! a unit test pins them exactly, for mmrun's own nodes and for real Mesos images alike.
//!
//! The three lessons of running Mesos in containers are applied here, once:
//! 1. agents share the host's PID namespace (Mesos tracks executors by PID through /proc);
//! 2. no container is named `mesos-*` (names come from `docker::object_name`, `mmrun-…`);
//! 3. every node's libprocess binds and advertises its own container address (`LIBPROCESS_IP`).

use super::layout::{Layout, quick_neighbour_discovery};
use super::privilege::Privilege;
use crate::cluster::{AgentSpec, ClusterSpec};
use crate::docker::{ContainerSpec, Role};
use std::net::Ipv4Addr;

/// The port masters listen on inside their container, as in Mesos.
pub const MASTER_PORT: u16 = 5050;
/// The port agents listen on inside their container, as in Mesos.
pub const AGENT_PORT: u16 = 5051;
/// Where agents keep sandboxes and their checkpointed identity, inside their container.
pub const AGENT_WORK_DIR: &str = "/var/lib/mesos/agent";
pub const MASTER_WORK_DIR: &str = "/var/lib/mesos/master";
/// The Docker socket agents use for task containers (the Docker containerizer).
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// What the nodes run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeImages {
    /// mmrun's own node image (`mmrun-node:<hash>`): `mmrun node master|agent`.
    Mmrun { image: String },
    /// Real Mesos: images holding `mesos-master` and `mesos-agent`, as the official
    /// `mesos/mesos` images do (one image may serve both).
    RealMesos { master: String, agent: String },
}

impl NodeImages {
    pub fn describe(&self) -> String {
        match self {
            NodeImages::Mmrun { image } => format!("mmrun's node image {image}"),
            NodeImages::RealMesos { master, agent } if master == agent => {
                format!("Mesos image {master}")
            }
            NodeImages::RealMesos { master, agent } => {
                format!("Mesos images {master} (master) and {agent} (agent)")
            }
        }
    }

    fn master_command(&self) -> (String, Vec<String>) {
        match self {
            NodeImages::Mmrun { image } => (image.clone(), vec!["node".into(), "master".into()]),
            NodeImages::RealMesos { master, .. } => (master.clone(), vec![]),
        }
    }

    fn agent_command(&self) -> (String, Vec<String>) {
        match self {
            NodeImages::Mmrun { image } => (image.clone(), vec!["node".into(), "agent".into()]),
            NodeImages::RealMesos { agent, .. } => (agent.clone(), vec![]),
        }
    }

    fn entrypoint(&self, real_binary: &str) -> Option<Vec<String>> {
        match self {
            // The node image's own entrypoint is the mmrun binary.
            NodeImages::Mmrun { .. } => None,
            NodeImages::RealMesos { .. } => Some(vec![real_binary.to_string()]),
        }
    }

    fn is_real_mesos(&self) -> bool {
        matches!(self, NodeImages::RealMesos { .. })
    }
}

/// libprocess binds and advertises the container's own address: on 0.0.0.0 it would advertise
/// whatever interface it guessed, and executors and schedulers would bind loopback.
fn libprocess_env(ip: Ipv4Addr) -> Vec<String> {
    vec![
        format!("LIBPROCESS_IP={ip}"),
        format!("LIBPROCESS_ADVERTISE_IP={ip}"),
    ]
}

fn millis(d: std::time::Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// What agents and framework containers on the network are told the master is: ZooKeeper's
/// URL when the cluster has it (they follow the leader there), else the one master's address.
pub fn master_location(layout: &Layout, cluster: &ClusterSpec) -> String {
    if cluster.has_zookeeper() {
        format!(
            "zk://{}{}",
            super::zookeeper::zookeeper_address(layout),
            crate::cluster::ZOOKEEPER_PATH
        )
    } else {
        format!("{}:{MASTER_PORT}", layout.master_ip())
    }
}

/// The ZooKeeper session timeout nodes are given, as Mesos's duration flag syntax.
fn zk_session_timeout(cluster: &ClusterSpec) -> String {
    millis(cluster.zk_session_timeout)
}

/// Master `index` (0-based). A cluster of one master names it `…-master`; with several they
/// are `…-master-1` … and contend through ZooKeeper.
pub fn master(
    layout: &Layout,
    images: &NodeImages,
    cluster: &ClusterSpec,
    index: usize,
) -> ContainerSpec {
    let ip = layout.master_ip_at(index);
    let (image, cmd) = images.master_command();
    let mut env = libprocess_env(ip);
    if cluster.has_zookeeper() {
        env.extend([
            format!("MESOS_ZK={}", master_location(layout, cluster)),
            format!("MESOS_QUORUM={}", cluster.masters.max(1) / 2 + 1),
            format!("MESOS_ZK_SESSION_TIMEOUT={}", zk_session_timeout(cluster)),
        ]);
    }
    let name = if cluster.masters > 1 {
        layout.owner.name(Role::Master, Some(index + 1))
    } else {
        layout.owner.name(Role::Master, None)
    };
    env.extend([
        format!("MESOS_PORT={MASTER_PORT}"),
        format!("MESOS_HOSTNAME={ip}"),
        "MESOS_HOSTNAME_LOOKUP=false".into(),
        "MESOS_REGISTRY=in_memory".into(),
        format!("MESOS_WORK_DIR={MASTER_WORK_DIR}"),
        format!("MESOS_CLUSTER={}", layout.owner.scenario),
        format!(
            "MESOS_AGENT_PING_TIMEOUT={}",
            millis(cluster.agent_ping_timeout)
        ),
        format!(
            "MESOS_MAX_AGENT_PING_TIMEOUTS={}",
            cluster.max_agent_ping_timeouts
        ),
    ]);
    ContainerSpec {
        name: name.clone(),
        image,
        entrypoint: images.entrypoint("mesos-master"),
        cmd,
        env,
        labels: layout.owner.labels(Role::Master),
        network: Some(layout.network.clone()),
        ipv4_address: Some(ip),
        hostname: Some(name),
        exposed: vec![MASTER_PORT],
        ports: layout.published(MASTER_PORT),
        sysctls: quick_neighbour_discovery(),
        ..ContainerSpec::default()
    }
}

/// Agent `index` (0-based; named `…-agent-<index+1>`).
pub fn agent(
    layout: &Layout,
    images: &NodeImages,
    index: usize,
    cluster: &ClusterSpec,
    agent: &AgentSpec,
    docker_socket: &str,
    privilege: &Privilege,
) -> ContainerSpec {
    let ip = layout.agent_ip(index);
    let (image, cmd) = images.agent_command();
    let name = layout.owner.name(Role::Agent, Some(index + 1));
    let mut env = libprocess_env(ip);
    if cluster.has_zookeeper() {
        env.push(format!(
            "MESOS_ZK_SESSION_TIMEOUT={}",
            zk_session_timeout(cluster)
        ));
    }
    env.extend([
        format!("MESOS_MASTER={}", master_location(layout, cluster)),
        format!("MESOS_PORT={AGENT_PORT}"),
        format!("MESOS_HOSTNAME={ip}"),
        "MESOS_HOSTNAME_LOOKUP=false".into(),
        format!("MESOS_WORK_DIR={AGENT_WORK_DIR}"),
        "MESOS_CONTAINERIZERS=docker,mesos".into(),
        format!("MESOS_DOCKER_SOCKET={DOCKER_SOCKET}"),
        "MESOS_SWITCH_USER=false".into(),
        // Agents start alongside the master; the first attempt may find it not yet listening,
        // and Mesos's default 1 s backoff factor would then cost up to 2 s of start-up.
        "MESOS_REGISTRATION_BACKOFF_FACTOR=10ms".into(),
    ]);
    if images.is_real_mesos() {
        // Real agents in a container: no systemd to delegate to, and cgroups from the host.
        env.extend([
            "MESOS_SYSTEMD_ENABLE_SUPPORT=false".into(),
            "MESOS_LAUNCHER=posix".into(),
        ]);
    }
    if let Some(r) = &agent.resources {
        env.push(format!("MESOS_RESOURCES={r}"));
    }
    if let Some(a) = &agent.attributes {
        env.push(format!("MESOS_ATTRIBUTES={a}"));
    }
    // Which run the agent's task containers belong to, so a run's teardown, `mmrun clean` and
    // `--keep` treat them as they treat the nodes.
    env.extend(
        layout
            .owner
            .to_env()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}")),
    );
    ContainerSpec {
        name: name.clone(),
        image,
        entrypoint: images.entrypoint("mesos-agent"),
        cmd,
        env,
        labels: layout.owner.labels(Role::Agent),
        network: Some(layout.network.clone()),
        ipv4_address: Some(ip),
        hostname: Some(name),
        exposed: vec![AGENT_PORT],
        ports: layout.published(AGENT_PORT),
        binds: vec![
            format!("{docker_socket}:{DOCKER_SOCKET}"),
            "/sys/fs/cgroup:/sys/fs/cgroup".into(),
            // The work dir on an anonymous volume (removed with the agent) that executor
            // containers mount too: their sandboxes, and what was fetched into them, are
            // shared as on a real agent's host.
            AGENT_WORK_DIR.into(),
        ],
        privileged: *privilege == Privilege::Privileged,
        cap_add: match privilege {
            Privilege::Privileged => vec![],
            Privilege::Capabilities(caps) => caps.clone(),
        },
        security_opt: match privilege {
            Privilege::Privileged => vec![],
            Privilege::Capabilities(_) => {
                vec!["seccomp=unconfined".into(), "apparmor=unconfined".into()]
            }
        },
        pid_mode: Some("host".into()),
        sysctls: quick_neighbour_discovery(),
        auto_remove: false,
        working_dir: None,
    }
}

/// What a script asks of a framework (scheduler) container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameworkContainer {
    pub image: String,
    /// Replaces the image's command when non-empty.
    pub cmd: Vec<String>,
    /// Extra `KEY=value` pairs; they may override the defaults below.
    pub env: Vec<String>,
}

/// Framework container `index` (0-based): on the cluster network, told where the master is
/// (`MESOS_MASTER`) and its own address (`LIBPROCESS_IP`), as a scheduler in a container needs.
pub fn framework(
    layout: &Layout,
    cluster: &ClusterSpec,
    index: usize,
    request: &FrameworkContainer,
) -> ContainerSpec {
    let ip = layout.framework_ip(index);
    let name = layout.owner.name(Role::Framework, Some(index + 1));
    let mut env = libprocess_env(ip);
    env.push(format!("MESOS_MASTER={}", master_location(layout, cluster)));
    env.extend(request.env.iter().cloned());
    ContainerSpec {
        name: name.clone(),
        image: request.image.clone(),
        cmd: request.cmd.clone(),
        env,
        labels: layout.owner.labels(Role::Framework),
        network: Some(layout.network.clone()),
        ipv4_address: Some(ip),
        hostname: Some(name),
        sysctls: quick_neighbour_discovery(),
        ..ContainerSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::docker::layout::Reach;
    use crate::docker::{Owner, PortPublish};
    use std::collections::BTreeMap;

    fn layout() -> Layout {
        Layout {
            owner: Owner {
                run: "3f2a9c1b".into(),
                scenario: "scripts/launch.rhai".into(),
                pid: 4242,
                host: "ci-1".into(),
                keep: false,
            },
            network: "mmrun-3f2a9c1b-scripts-launch.rhai-network".into(),
            subnet: 7,
            reach: Reach::Published,
        }
    }

    fn labels(role: &str) -> BTreeMap<String, String> {
        [
            ("io.mmrun.managed-by", "mmrun"),
            ("io.mmrun.run", "3f2a9c1b"),
            ("io.mmrun.scenario", "scripts/launch.rhai"),
            ("io.mmrun.role", role),
            ("io.mmrun.pid", "4242"),
            ("io.mmrun.host", "ci-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const OURS: &str = "mmrun-node:0123456789abcdef";

    fn ours() -> NodeImages {
        NodeImages::Mmrun { image: OURS.into() }
    }

    fn real() -> NodeImages {
        NodeImages::RealMesos {
            master: "mesos/mesos:1.11.0".into(),
            agent: "mesos/mesos:1.11.0".into(),
        }
    }

    fn master_env() -> Vec<String> {
        strings(&[
            "LIBPROCESS_IP=10.213.7.2",
            "LIBPROCESS_ADVERTISE_IP=10.213.7.2",
            "MESOS_PORT=5050",
            "MESOS_HOSTNAME=10.213.7.2",
            "MESOS_HOSTNAME_LOOKUP=false",
            "MESOS_REGISTRY=in_memory",
            "MESOS_WORK_DIR=/var/lib/mesos/master",
            "MESOS_CLUSTER=scripts/launch.rhai",
            "MESOS_AGENT_PING_TIMEOUT=100ms",
            "MESOS_MAX_AGENT_PING_TIMEOUTS=3",
        ])
    }

    #[test]
    fn our_master() {
        let spec = master(&layout(), &ours(), &ClusterSpec::default(), 0);
        assert_eq!(
            spec,
            ContainerSpec {
                name: "mmrun-3f2a9c1b-scripts-launch.rhai-master".into(),
                image: OURS.into(),
                entrypoint: None,
                cmd: strings(&["node", "master"]),
                env: master_env(),
                labels: labels("master"),
                network: Some(layout().network),
                ipv4_address: Some(Ipv4Addr::new(10, 213, 7, 2)),
                hostname: Some("mmrun-3f2a9c1b-scripts-launch.rhai-master".into()),
                exposed: vec![5050],
                ports: vec![PortPublish::loopback(5050)],
                sysctls: quick_neighbour_discovery(),
                ..ContainerSpec::default()
            }
        );
    }

    #[test]
    fn a_real_mesos_master_gets_the_same_settings_and_its_own_command() {
        let spec = master(&layout(), &real(), &ClusterSpec::default(), 0);
        assert_eq!(spec.image, "mesos/mesos:1.11.0");
        assert_eq!(spec.entrypoint, Some(strings(&["mesos-master"])));
        assert!(spec.cmd.is_empty());
        assert_eq!(spec.env, master_env());
        assert_eq!(spec.ports, vec![PortPublish::loopback(5050)]);
    }

    fn agent_env(real: bool) -> Vec<String> {
        let mut env = strings(&[
            "LIBPROCESS_IP=10.213.7.12",
            "LIBPROCESS_ADVERTISE_IP=10.213.7.12",
            "MESOS_MASTER=10.213.7.2:5050",
            "MESOS_PORT=5051",
            "MESOS_HOSTNAME=10.213.7.12",
            "MESOS_HOSTNAME_LOOKUP=false",
            "MESOS_WORK_DIR=/var/lib/mesos/agent",
            "MESOS_CONTAINERIZERS=docker,mesos",
            "MESOS_DOCKER_SOCKET=/var/run/docker.sock",
            "MESOS_SWITCH_USER=false",
            "MESOS_REGISTRATION_BACKOFF_FACTOR=10ms",
        ]);
        if real {
            env.extend(strings(&[
                "MESOS_SYSTEMD_ENABLE_SUPPORT=false",
                "MESOS_LAUNCHER=posix",
            ]));
        }
        env.extend(strings(&[
            "MESOS_RESOURCES=cpus:2;mem:2048",
            "MESOS_ATTRIBUTES=rack:a",
            "MMRUN_RUN=3f2a9c1b",
            "MMRUN_SCENARIO=scripts/launch.rhai",
            "MMRUN_OWNER_PID=4242",
            "MMRUN_OWNER_HOST=ci-1",
            "MMRUN_KEEP=false",
        ]));
        env
    }

    fn second_agent(images: &NodeImages, privilege: &Privilege) -> ContainerSpec {
        let request = AgentSpec {
            resources: Some("cpus:2;mem:2048".into()),
            attributes: Some("rack:a".into()),
        };
        agent(
            &layout(),
            images,
            1,
            &ClusterSpec::default(),
            &request,
            "/var/run/docker.sock",
            privilege,
        )
    }

    #[test]
    fn our_agent_shares_the_host_pid_namespace_with_socket_and_cgroups_privileged() {
        let spec = second_agent(&ours(), &Privilege::Privileged);
        assert_eq!(
            spec,
            ContainerSpec {
                name: "mmrun-3f2a9c1b-scripts-launch.rhai-agent-2".into(),
                image: OURS.into(),
                entrypoint: None,
                cmd: strings(&["node", "agent"]),
                env: agent_env(false),
                labels: labels("agent"),
                network: Some(layout().network),
                ipv4_address: Some(Ipv4Addr::new(10, 213, 7, 12)),
                hostname: Some("mmrun-3f2a9c1b-scripts-launch.rhai-agent-2".into()),
                exposed: vec![5051],
                ports: vec![PortPublish::loopback(5051)],
                binds: strings(&[
                    "/var/run/docker.sock:/var/run/docker.sock",
                    "/sys/fs/cgroup:/sys/fs/cgroup",
                    "/var/lib/mesos/agent"
                ]),
                privileged: true,
                pid_mode: Some("host".into()),
                cap_add: vec![],
                security_opt: vec![],
                sysctls: [(
                    "net.ipv4.neigh.eth0.retrans_time_ms".to_string(),
                    "50".to_string()
                )]
                .into(),
                auto_remove: false,
                working_dir: None,
            }
        );
    }

    #[test]
    fn a_real_mesos_agent_gets_the_same_settings_and_its_own_command() {
        let spec = second_agent(&real(), &Privilege::Privileged);
        let ours = second_agent(&ours(), &Privilege::Privileged);
        assert_eq!(spec.image, "mesos/mesos:1.11.0");
        assert_eq!(spec.entrypoint, Some(strings(&["mesos-agent"])));
        assert!(spec.cmd.is_empty());
        assert_eq!(spec.env, agent_env(true));
        assert_eq!(
            (spec.binds, spec.privileged, spec.pid_mode, spec.ports),
            (ours.binds, ours.privileged, ours.pid_mode, ours.ports)
        );
    }

    #[test]
    fn without_privileged_an_agent_gets_the_engines_capabilities_unconfined() {
        let caps = Privilege::Capabilities(strings(&["SYS_ADMIN", "NET_ADMIN"]));
        let spec = second_agent(&ours(), &caps);
        assert!(!spec.privileged);
        assert_eq!(spec.cap_add, strings(&["SYS_ADMIN", "NET_ADMIN"]));
        assert_eq!(
            spec.security_opt,
            strings(&["seccomp=unconfined", "apparmor=unconfined"])
        );
        assert_eq!(spec.pid_mode, Some("host".into()));
    }

    /// With several masters every node is told ZooKeeper's URL, each master its own address
    /// and a majority quorum, and the masters are named by ordinal.
    #[test]
    fn ha_masters_contend_through_zookeeper_and_agents_follow_it() {
        let cluster = ClusterSpec {
            masters: 3,
            ..ClusterSpec::default()
        };
        let second = master(&layout(), &ours(), &cluster, 1);
        assert_eq!(second.name, "mmrun-3f2a9c1b-scripts-launch.rhai-master-2");
        assert_eq!(second.ipv4_address, Some("10.213.7.3".parse().unwrap()));
        for expected in [
            "MESOS_ZK=zk://10.213.7.10:2181/mesos",
            "MESOS_QUORUM=2",
            "MESOS_ZK_SESSION_TIMEOUT=2000ms",
            "LIBPROCESS_IP=10.213.7.3",
        ] {
            assert!(
                second.env.iter().any(|e| e == expected),
                "{expected}: {:?}",
                second.env
            );
        }
        let a = agent(
            &layout(),
            &ours(),
            0,
            &cluster,
            &AgentSpec::default(),
            "/var/run/docker.sock",
            &Privilege::Privileged,
        );
        assert!(
            a.env
                .iter()
                .any(|e| e == "MESOS_MASTER=zk://10.213.7.10:2181/mesos"),
            "{:?}",
            a.env
        );
        let single = master(&layout(), &ours(), &ClusterSpec::default(), 0);
        assert!(!single.env.iter().any(|e| e.starts_with("MESOS_ZK=")));
    }

    #[test]
    fn a_framework_container_knows_the_master_and_its_own_address() {
        let request = FrameworkContainer {
            image: "my/scheduler:1".into(),
            cmd: vec![],
            env: strings(&["FOO=bar"]),
        };
        let spec = framework(&layout(), &ClusterSpec::default(), 0, &request);
        assert_eq!(spec.name, "mmrun-3f2a9c1b-scripts-launch.rhai-framework-1");
        assert_eq!(
            spec.env,
            strings(&[
                "LIBPROCESS_IP=10.213.7.101",
                "LIBPROCESS_ADVERTISE_IP=10.213.7.101",
                "MESOS_MASTER=10.213.7.2:5050",
                "FOO=bar"
            ])
        );
        assert_eq!(spec.labels, labels("framework"));
        assert_eq!(spec.ipv4_address, Some(Ipv4Addr::new(10, 213, 7, 101)));
    }

    #[test]
    fn no_node_is_named_like_a_mesos_container() {
        let l = layout();
        let names = [
            master(&l, &ours(), &ClusterSpec::default(), 0).name,
            second_agent(&ours(), &Privilege::Privileged).name,
            framework(
                &l,
                &ClusterSpec::default(),
                0,
                &FrameworkContainer::default(),
            )
            .name,
        ];
        for n in names {
            assert!(n.starts_with("mmrun-") && !n.starts_with("mesos-"), "{n}");
        }
    }
}
