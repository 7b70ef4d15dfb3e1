//! The agent's configuration, from Mesos flags or for in-process use.

use crate::docker::Owner;
use crate::flags::{FlagError, FlagSpec, Flags};
use crate::lite::address::{AddressError, NodeAddress};
use crate::mesos::attributes::{Attribute, parse_attributes};
use crate::mesos::resources::Resources;
use crate::mesos::values::InvalidValue;
use crate::zookeeper::{ZkUrl, ZkUrlError};
use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

pub const AGENT_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "master",
        default: None,
        help: "The master to register with: host:port, or zk://host:port/path (or file:///path holding one) to follow the leader elected through ZooKeeper (required).",
    },
    FlagSpec {
        name: "zk_session_timeout",
        default: Some("10secs"),
        help: "ZooKeeper session timeout, when --master is a zk:// URL.",
    },
    FlagSpec {
        name: "ip",
        default: None,
        help: "IP address to listen on (sets LIBPROCESS_IP).",
    },
    FlagSpec {
        name: "port",
        default: Some("5051"),
        help: "Port to listen on (sets LIBPROCESS_PORT).",
    },
    FlagSpec {
        name: "advertise_ip",
        default: None,
        help: "IP address advertised to the master (sets LIBPROCESS_ADVERTISE_IP).",
    },
    FlagSpec {
        name: "advertise_port",
        default: None,
        help: "Port advertised to the master.",
    },
    FlagSpec {
        name: "hostname",
        default: None,
        help: "Hostname reported to the master; defaults to the system hostname.",
    },
    FlagSpec {
        name: "hostname_lookup",
        default: Some("true"),
        help: "Look up the hostname; with --no-hostname_lookup the advertised IP is used.",
    },
    FlagSpec {
        name: "work_dir",
        default: None,
        help: "Directory for task sandboxes (required).",
    },
    FlagSpec {
        name: "resources",
        default: None,
        help: "Resources, e.g. cpus:2;mem:1024;ports:[31000-32000], or JSON. Missing cpus, mem, disk and ports get Mesos's defaults.",
    },
    FlagSpec {
        name: "attributes",
        default: None,
        help: "Attributes, e.g. rack:a;zone:2.",
    },
    FlagSpec {
        name: "containerizers",
        default: Some("mesos"),
        help: "Comma-separated list of containerizers: mesos, docker.",
    },
    FlagSpec {
        name: "registration_backoff_factor",
        default: Some("1secs"),
        help: "Base of the random backoff between registration attempts.",
    },
    FlagSpec {
        name: "executor_shutdown_grace_period",
        default: Some("5secs"),
        help: "Time each task gets between SIGTERM and SIGKILL when the agent stops gracefully (SIGTERM, Ctrl-C). A framework's KILL uses its kill policy instead.",
    },
    FlagSpec {
        name: "default_role",
        default: Some("*"),
        help: "Role of the resources given without one, and of the default resources (cpus, mem, disk, ports) the agent adds.",
    },
    FlagSpec {
        name: "switch_user",
        default: Some("true"),
        help: "Accepted for compatibility; tasks run as the agent's user.",
    },
    FlagSpec {
        name: "isolation",
        default: None,
        help: "Accepted for compatibility.",
    },
    FlagSpec {
        name: "docker_socket",
        default: Some("/var/run/docker.sock"),
        help: "Docker socket used by the Docker containerizer: DOCKER tasks run as sibling containers through it.",
    },
    FlagSpec {
        name: "executor_registration_timeout",
        default: Some("1mins"),
        help: "How long a custom executor may take to subscribe; after that it is killed and its tasks fail (REASON_EXECUTOR_REGISTRATION_TIMEOUT).",
    },
    FlagSpec {
        name: "executor_reregistration_timeout",
        default: Some("2secs"),
        help: "Passed to executors of checkpointing frameworks as MESOS_SUBSCRIPTION_BACKOFF_MAX.",
    },
    FlagSpec {
        name: "recovery_timeout",
        default: Some("15mins"),
        help: "Passed to executors of checkpointing frameworks as MESOS_RECOVERY_TIMEOUT.",
    },
    FlagSpec {
        name: "launcher",
        default: None,
        help: "Accepted for compatibility.",
    },
    FlagSpec {
        name: "log_dir",
        default: None,
        help: "Accepted for compatibility; mmrun logs to stderr.",
    },
    FlagSpec {
        name: "logging_level",
        default: Some("INFO"),
        help: "Accepted for compatibility; set RUST_LOG to change mmrun's log level.",
    },
    FlagSpec {
        name: "systemd_enable_support",
        default: Some("false"),
        help: "Accepted for compatibility.",
    },
];

#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub master: MasterLocation,
    pub zk_session_timeout: Duration,
    pub address: NodeAddress,
    pub work_dir: PathBuf,
    pub resources: Resources,
    pub attributes: Vec<Attribute>,
    pub containerizers: Vec<String>,
    /// `--docker_socket`: where the Docker containerizer finds the daemon.
    pub docker_socket: PathBuf,
    /// Whose task containers are these: the run that started the agent (the `MMRUN_*`
    /// environment, see [`crate::docker::labels::OWNER_ENV_RUN`]), else the agent's process.
    pub docker_owner: Owner,
    /// Whether the Docker daemon sees this agent's files at the same paths, so sandboxes can be
    /// bind-mounted into task containers. Not for an agent that itself runs in a container
    /// (its `--work_dir` is not on the daemon's host): its tasks get an empty volume there.
    pub docker_shares_sandboxes: bool,
    pub registration_backoff_factor: Duration,
    /// On a graceful stop, each task's time between SIGTERM and SIGKILL.
    pub executor_shutdown_grace_period: Duration,
    /// How long a custom executor may take to subscribe (`--executor_registration_timeout`).
    pub executor_registration_timeout: Duration,
    /// Told to executors of checkpointing frameworks (MESOS_SUBSCRIPTION_BACKOFF_MAX).
    pub executor_reregistration_timeout: Duration,
    /// Told to executors of checkpointing frameworks (MESOS_RECOVERY_TIMEOUT).
    pub recovery_timeout: Duration,
    /// Mesos resends an unacknowledged update after 10 s, backing off to 10 min.
    pub status_update_retry: Duration,
    pub flags: BTreeMap<String, String>,
}

impl AgentConfig {
    /// An agent on 127.0.0.1 with an ephemeral port, for in-process clusters.
    pub fn in_process(master: SocketAddr, work_dir: PathBuf) -> AgentConfig {
        // The flag table's own defaults and two addresses mmrun formats itself: every
        // in-process cluster (and the config tests) starts from them.
        let mut flags = Flags::load(AGENT_FLAGS, vec![], &[]).expect("defaults parse");
        flags.set("master", master.to_string());
        flags.set("work_dir", work_dir.display().to_string());
        let mut config = AgentConfig::from_flags(&flags, &|_| None).expect("defaults are valid");
        config.address = NodeAddress::loopback();
        config.registration_backoff_factor = Duration::from_millis(10);
        config
    }

    /// Follows the leader elected through ZooKeeper at `zk` instead of one fixed master.
    pub fn following(mut self, zk: ZkUrl, session_timeout: Duration) -> AgentConfig {
        self.flags.insert("master".into(), zk.to_string());
        self.flags.insert(
            "zk_session_timeout".into(),
            crate::flags::format_duration(session_timeout),
        );
        self.master = MasterLocation::ZooKeeper(zk);
        self.zk_session_timeout = session_timeout;
        self
    }

    /// Whether DOCKER tasks run here (`--containerizers` names `docker`).
    pub fn runs_docker_tasks(&self) -> bool {
        self.containerizers.iter().any(|c| c == "docker")
    }

    /// The Docker host of `--docker_socket`, as `Docker::connect_to` takes it.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.docker_socket.display())
    }

    pub fn from_flags(
        flags: &Flags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AgentConfig, AgentConfigError> {
        let master = flags.get("master").ok_or(AgentConfigError::NoMaster)?;
        let master = parse_master(master)?;
        let zk_session_timeout = flags
            .duration("zk_session_timeout")?
            .unwrap_or(Duration::from_secs(10));
        let work_dir = flags.get("work_dir").ok_or(AgentConfigError::NoWorkDir)?;
        // As in Mesos: resources given without a role, and the defaults filled in, take it.
        let default_role = flags.get("default_role").unwrap_or("*");
        if default_role.is_empty() || default_role.contains(char::is_whitespace) {
            return Err(AgentConfigError::DefaultRole(default_role.into()));
        }
        let resources = match flags.get("resources") {
            Some(text) => Resources::parse_with_role(text, default_role)
                .map_err(AgentConfigError::Resources)?,
            None => Resources::default(),
        }
        .with_agent_defaults_for(default_role);
        let attributes = match flags.get("attributes") {
            Some(text) => parse_attributes(text).map_err(AgentConfigError::Attributes)?,
            None => vec![],
        };
        let containerizers: Vec<String> = flags
            .get("containerizers")
            .unwrap_or("mesos")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for c in &containerizers {
            if c != "mesos" && c != "docker" {
                return Err(AgentConfigError::Containerizer(c.clone()));
            }
        }
        let docker_socket = flags
            .get("docker_socket")
            .unwrap_or("/var/run/docker.sock")
            .trim_start_matches("unix://");
        if !docker_socket.starts_with('/') {
            return Err(AgentConfigError::DockerSocket(docker_socket.into()));
        }
        Ok(AgentConfig {
            master,
            zk_session_timeout,
            address: NodeAddress::resolve(flags, env, 5051)?,
            work_dir: PathBuf::from(work_dir),
            resources,
            attributes,
            containerizers,
            docker_socket: PathBuf::from(docker_socket),
            docker_owner: Owner::from_env(env).unwrap_or_else(Owner::this_process),
            // Docker creates /.dockerenv in every container it runs.
            docker_shares_sandboxes: !std::path::Path::new("/.dockerenv").exists(),
            registration_backoff_factor: flags
                .duration("registration_backoff_factor")?
                .unwrap_or(Duration::from_secs(1)),
            executor_shutdown_grace_period: flags
                .duration("executor_shutdown_grace_period")?
                .unwrap_or(Duration::from_secs(5)),
            executor_registration_timeout: flags
                .duration("executor_registration_timeout")?
                .unwrap_or(Duration::from_secs(60)),
            executor_reregistration_timeout: flags
                .duration("executor_reregistration_timeout")?
                .unwrap_or(Duration::from_secs(2)),
            recovery_timeout: flags
                .duration("recovery_timeout")?
                .unwrap_or(Duration::from_secs(900)),
            status_update_retry: Duration::from_secs(10),
            flags: flags.all().clone(),
        })
    }
}

/// Where the agent finds its master.
#[derive(Clone, Debug, PartialEq)]
pub enum MasterLocation {
    /// One master, always the same.
    Fixed(SocketAddr),
    /// Whichever master leads, as ZooKeeper tells.
    ZooKeeper(ZkUrl),
}

impl std::fmt::Display for MasterLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterLocation::Fixed(addr) => write!(f, "{addr}"),
            MasterLocation::ZooKeeper(url) => write!(f, "{url}"),
        }
    }
}

/// Agent flags that do not make a valid agent, said as Mesos's agent says them.
#[derive(Debug, thiserror::Error)]
pub enum AgentConfigError {
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error("--master is required: give the master as host:port (e.g. --master=127.0.0.1:5050)")]
    NoMaster,
    #[error(
        "--work_dir is required: give a directory for task sandboxes (e.g. --work_dir=/tmp/mesos)"
    )]
    NoWorkDir,
    #[error("--master={text}: {cause}")]
    MasterZkUrl {
        text: String,
        #[source]
        cause: ZkUrlError,
    },
    #[error("--master={text}: cannot resolve '{hostport}' as host:port")]
    MasterUnresolved {
        text: String,
        hostport: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("--master={text}: '{hostport}' has no IPv4 address")]
    MasterNotIpv4 { text: String, hostport: String },
    #[error("--default_role='{0}' is not a valid role")]
    DefaultRole(String),
    #[error("--resources: {0}")]
    Resources(#[source] InvalidValue),
    #[error("--attributes: {0}")]
    Attributes(#[source] InvalidValue),
    #[error("--containerizers: unknown containerizer '{0}'; use mesos and/or docker")]
    Containerizer(String),
    #[error("--docker_socket={0}: give the absolute path of the Docker daemon's unix socket")]
    DockerSocket(String),
}

/// `host:port` (optionally with `http://`), or a ZooKeeper URL (`zk://…`, `file://…`).
fn parse_master(text: &str) -> Result<MasterLocation, AgentConfigError> {
    if text.starts_with("zk://") || text.starts_with("file://") {
        return ZkUrl::from_flag(text)
            .map(MasterLocation::ZooKeeper)
            .map_err(|cause| AgentConfigError::MasterZkUrl {
                text: text.into(),
                cause,
            });
    }
    let hostport = text.trim_start_matches("http://").trim_end_matches('/');
    hostport
        .to_socket_addrs()
        .map_err(|cause| AgentConfigError::MasterUnresolved {
            text: text.into(),
            hostport: hostport.into(),
            cause,
        })?
        .find(|a| a.is_ipv4())
        .map(MasterLocation::Fixed)
        .ok_or_else(|| AgentConfigError::MasterNotIpv4 {
            text: text.into(),
            hostport: hostport.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> Result<AgentConfig, AgentConfigError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let flags = Flags::load(AGENT_FLAGS, vec![], &args)?;
        AgentConfig::from_flags(&flags, &|_| None)
    }

    #[test]
    fn parses_a_real_agent_command_line() {
        let c = load(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/agent",
            "--resources=cpus:2;mem:512",
            "--attributes=rack:a",
            "--containerizers=docker,mesos",
        ])
        .unwrap();
        assert_eq!(
            c.master,
            MasterLocation::Fixed("127.0.0.1:5050".parse().unwrap())
        );
        assert_eq!(c.resources.scalar("cpus"), 2.0);
        assert_eq!(c.resources.scalar("disk"), 10240.0);
        assert_eq!(c.containerizers, ["docker", "mesos"]);
        assert!(c.runs_docker_tasks());
        assert_eq!(c.docker_host(), "unix:///var/run/docker.sock");
    }

    /// Task containers are labelled as the run's own when the run handed itself down through
    /// the environment, else as the agent process's.
    #[test]
    fn the_docker_owner_comes_from_the_environment_else_the_agent_process() {
        let args: Vec<String> = ["--master=127.0.0.1:5050", "--work_dir=/tmp/agent"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let flags = Flags::load(AGENT_FLAGS, vec![], &args).unwrap();
        let owner = Owner {
            run: "3f2a9c1b".into(),
            scenario: "launch".into(),
            pid: 4242,
            host: "ci-1".into(),
            keep: false,
        };
        let env: BTreeMap<&str, String> = owner.to_env().into_iter().collect();
        let c = AgentConfig::from_flags(&flags, &|k| env.get(k).cloned()).unwrap();
        assert_eq!(c.docker_owner, owner);
        let by_hand = AgentConfig::from_flags(&flags, &|_| None).unwrap();
        assert_eq!(by_hand.docker_owner.pid, std::process::id());
        assert_eq!(by_hand.docker_owner.run, "");
        assert!(!by_hand.runs_docker_tasks());
        let socket = load(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/agent",
            "--docker_socket=unix:///run/other.sock",
        ])
        .unwrap();
        assert_eq!(socket.docker_host(), "unix:///run/other.sock");
        let relative = load(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/agent",
            "--docker_socket=docker.sock",
        ])
        .unwrap_err()
        .to_string();
        assert!(relative.contains("absolute path"), "{relative}");
    }

    /// As in Mesos, resources given without a role, and the defaults the agent fills in, take
    /// `--default_role`; an explicit `(*)` stays unreserved.
    #[test]
    fn default_role_applies_to_resources_without_one() {
        let roles = |c: &AgentConfig| -> Vec<(String, String)> {
            c.resources
                .iter()
                .map(|r| (r.name.clone(), r.role.clone().unwrap_or_default()))
                .collect()
        };
        let c = load(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/agent",
            "--default_role=web",
            "--resources=cpus:2;mem(*):512;gpus(db):1",
        ])
        .unwrap();
        let mut got = roles(&c);
        got.sort();
        let want = [
            ("cpus", "web"),
            ("disk", "web"),
            ("gpus", "db"),
            ("mem", "*"),
            ("ports", "web"),
        ];
        assert_eq!(got, want.map(|(n, r)| (n.to_string(), r.to_string())));
        let json = load(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/agent",
            "--default_role=web",
            r#"--resources=[{"name":"cpus","type":"SCALAR","scalar":{"value":1}},{"name":"mem","type":"SCALAR","scalar":{"value":64},"role":"*"}]"#,
        ])
        .unwrap();
        let json_roles = roles(&json);
        assert!(
            json_roles.contains(&("cpus".into(), "web".into())),
            "{json_roles:?}"
        );
        assert!(
            json_roles.contains(&("mem".into(), "*".into())),
            "{json_roles:?}"
        );
        // Without the flag everything is unreserved, as before.
        let plain = load(&["--master=127.0.0.1:5050", "--work_dir=/tmp/agent"]).unwrap();
        assert!(roles(&plain).iter().all(|(_, r)| r == "*"));
    }

    /// The grace period applies when the agent stops gracefully, not to a framework's KILL
    /// (which uses the kill policy, else 3 s): the help must say so.
    #[test]
    fn executor_shutdown_grace_period_help_describes_the_graceful_stop() {
        let help = AGENT_FLAGS
            .iter()
            .find(|f| f.name == "executor_shutdown_grace_period")
            .unwrap()
            .help;
        assert!(help.contains("agent stops gracefully"), "{help}");
        assert!(!help.contains("killed task gets"), "{help}");
    }

    #[test]
    fn missing_and_bad_flags_say_what_to_do() {
        assert!(
            load(&["--work_dir=/tmp"])
                .unwrap_err()
                .to_string()
                .contains("--master is required")
        );
        assert!(
            load(&["--master=127.0.0.1:5050"])
                .unwrap_err()
                .to_string()
                .contains("--work_dir is required")
        );
        let zk = load(&["--master=zk://zk:2181/mesos", "--work_dir=/tmp"]).unwrap();
        assert_eq!(zk.master.to_string(), "zk://zk:2181/mesos");
        let bad = load(&["--master=zk://zk/mesos", "--work_dir=/tmp"])
            .unwrap_err()
            .to_string();
        assert!(bad.contains("host:port"), "{bad}");
        let c = load(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp",
            "--containerizers=lxc",
        ])
        .unwrap_err()
        .to_string();
        assert!(c.contains("unknown containerizer"), "{c}");
        let r = load(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp",
            "--resources=cpus:x",
        ])
        .unwrap_err()
        .to_string();
        assert!(r.starts_with("--resources"), "{r}");
    }
}
