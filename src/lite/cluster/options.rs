//! How an in-process cluster and its agents are configured: liveness and retry timings, the
//! master's address, and the agents' containerizers.

use crate::docker::Owner;
use crate::lite::agent::AgentConfig;
use crate::zookeeper::ZkUrl;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: u32,
    /// How long `add_agent` waits for the agent to register.
    pub registration_timeout: Duration,
    /// Where the master listens; agents listen on the same IP with ephemeral ports.
    pub master_addr: SocketAddr,
    /// How long an agent waits for an acknowledgement before resending an update (Mesos: 10 s).
    pub status_update_retry: Duration,
    /// How long a custom executor may take to subscribe (`--executor_registration_timeout`).
    pub executor_registration_timeout: Duration,
    /// Masters elect their leader through this ZooKeeper, and agents follow it there.
    pub zookeeper: Option<ZkUrl>,
    /// How many masters (more than one needs `zookeeper`). The first listens on `master_addr`.
    pub masters: usize,
    /// The masters' and agents' ZooKeeper session timeout: how long a crashed leader keeps
    /// its leadership.
    pub zk_session_timeout: Duration,
}

impl Default for ClusterOptions {
    /// Short liveness settings so losing an agent takes a fraction of a second, not 75 s.
    fn default() -> ClusterOptions {
        ClusterOptions {
            agent_ping_timeout: Duration::from_millis(100),
            max_agent_ping_timeouts: 3,
            registration_timeout: Duration::from_secs(10),
            master_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            status_update_retry: Duration::from_secs(10),
            executor_registration_timeout: Duration::from_secs(60),
            zookeeper: None,
            masters: 1,
            zk_session_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct AgentOptions {
    /// `--resources` syntax; Mesos's defaults fill what is missing.
    pub resources: Option<String>,
    /// `--attributes` syntax.
    pub attributes: Option<String>,
}

/// How an agent runs tasks: command tasks always; DOCKER tasks too when `docker` is set
/// (`--containerizers=docker,mesos`). Given to [`LocalCluster::add_agent_with`].
#[derive(Clone, Debug, Default)]
pub struct Containerizers {
    pub docker: Option<DockerContainerizer>,
}

/// The Docker containerizer of an in-process agent.
#[derive(Clone, Debug)]
pub struct DockerContainerizer {
    /// `--docker_socket`.
    pub socket: PathBuf,
    /// Whose task containers they are (their labels); the agent's process when `None`.
    pub owner: Option<Owner>,
}

impl Default for DockerContainerizer {
    fn default() -> DockerContainerizer {
        DockerContainerizer {
            socket: PathBuf::from("/var/run/docker.sock"),
            owner: None,
        }
    }
}

impl Containerizers {
    /// `--containerizers=docker,mesos` with the default socket, task containers labelled as
    /// `owner`'s (e.g. a test's run, which its cleanup then removes).
    pub fn docker(owner: Option<Owner>) -> Containerizers {
        Containerizers {
            docker: Some(DockerContainerizer {
                owner,
                ..DockerContainerizer::default()
            }),
        }
    }

    pub(super) fn apply(&self, config: &mut AgentConfig) {
        let Some(docker) = &self.docker else {
            return;
        };
        config.containerizers = vec!["docker".into(), "mesos".into()];
        config.docker_socket = docker.socket.clone();
        if let Some(owner) = &docker.owner {
            config.docker_owner = owner.clone();
        }
        config
            .flags
            .insert("containerizers".into(), "docker,mesos".into());
        config
            .flags
            .insert("docker_socket".into(), docker.socket.display().to_string());
    }
}
