//! The master's configuration, from Mesos flags or for in-process use.

use crate::flags::{FlagError, FlagSpec, Flags, format_duration};
use crate::lite::address::{AddressError, NodeAddress};
use crate::zookeeper::{ZkUrl, ZkUrlError};
use std::collections::BTreeMap;
use std::time::Duration;

pub const MASTER_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "ip",
        default: None,
        help: "IP address to listen on (sets LIBPROCESS_IP).",
    },
    FlagSpec {
        name: "port",
        default: Some("5050"),
        help: "Port to listen on (sets LIBPROCESS_PORT).",
    },
    FlagSpec {
        name: "advertise_ip",
        default: None,
        help: "IP address advertised to reach this master (sets LIBPROCESS_ADVERTISE_IP).",
    },
    FlagSpec {
        name: "advertise_port",
        default: None,
        help: "Port advertised to reach this master.",
    },
    FlagSpec {
        name: "hostname",
        default: None,
        help: "Hostname advertised in MasterInfo; defaults to the system hostname.",
    },
    FlagSpec {
        name: "hostname_lookup",
        default: Some("true"),
        help: "Look up the hostname; with --no-hostname_lookup the advertised IP is used.",
    },
    FlagSpec {
        name: "work_dir",
        default: None,
        help: "Directory for the registry (mmrun keeps its registry in memory; accepted for compatibility).",
    },
    FlagSpec {
        name: "cluster",
        default: None,
        help: "Human readable name for the cluster, shown in /master/state.",
    },
    FlagSpec {
        name: "agent_ping_timeout",
        default: Some("15secs"),
        help: "Timeout within which an agent must answer a ping.",
    },
    FlagSpec {
        name: "max_agent_ping_timeouts",
        default: Some("5"),
        help: "Missed pings after which an agent is marked unreachable.",
    },
    FlagSpec {
        name: "registry",
        default: Some("replicated_log"),
        help: "in_memory or replicated_log (mmrun keeps either in memory).",
    },
    FlagSpec {
        name: "offer_timeout",
        default: None,
        help: "Duration after which an unused offer is rescinded (default: never).",
    },
    FlagSpec {
        name: "allocation_interval",
        default: Some("1secs"),
        help: "Accepted for compatibility: mmrun allocates as soon as resources are free.",
    },
    FlagSpec {
        name: "max_completed_frameworks",
        default: Some("50"),
        help: "Completed frameworks kept for the state endpoints.",
    },
    FlagSpec {
        name: "max_completed_tasks_per_framework",
        default: Some("1000"),
        help: "Completed tasks kept per framework.",
    },
    FlagSpec {
        name: "quorum",
        default: None,
        help: "Size of the masters' quorum; required with --zk and the replicated_log registry (mmrun keeps the registry in memory either way).",
    },
    FlagSpec {
        name: "zk",
        default: None,
        help: "ZooKeeper URL to elect the leading master through (zk://host:port/path, or file:///path holding one); without it this master always leads.",
    },
    FlagSpec {
        name: "zk_session_timeout",
        default: Some("10secs"),
        help: "ZooKeeper session timeout; a master whose session expires stops, as Mesos's aborts.",
    },
    FlagSpec {
        name: "authenticate_frameworks",
        default: Some("false"),
        help: "Accepted for compatibility; mmrun does not authenticate.",
    },
    FlagSpec {
        name: "authenticate_agents",
        default: Some("false"),
        help: "Accepted for compatibility; mmrun does not authenticate.",
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
];

#[derive(Clone, Debug)]
pub struct MasterConfig {
    pub address: NodeAddress,
    pub cluster: Option<String>,
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: u32,
    pub offer_timeout: Option<Duration>,
    /// Mesos sends a HEARTBEAT every 15 seconds; not a flag in Mesos either.
    pub heartbeat_interval: Duration,
    pub max_completed_frameworks: usize,
    pub max_completed_tasks_per_framework: usize,
    /// Where masters elect their leader; `None`: this master leads alone.
    pub zk: Option<ZkUrl>,
    pub zk_session_timeout: Duration,
    /// Effective flags, as `/master/flags` shows them.
    pub flags: BTreeMap<String, String>,
}

/// Master flags that do not make a valid master, said as Mesos's master says them.
#[derive(Debug, thiserror::Error)]
pub enum MasterConfigError {
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error("--registry={0}: expected in_memory or replicated_log")]
    Registry(String),
    #[error("--max_agent_ping_timeouts must be at least 1")]
    NoPingTimeouts,
    #[error("--agent_ping_timeout must be longer than 0")]
    ZeroPingTimeout,
    #[error("--zk: {0}")]
    ZooKeeperUrl(#[source] ZkUrlError),
    #[error("--quorum must be at least 1 (a majority of the masters: 2 of 3)")]
    ZeroQuorum,
    #[error(
        "Need to specify --quorum for replicated log based registry when using ZooKeeper (e.g. --quorum=2 for 3 masters, or --registry=in_memory)"
    )]
    NoQuorum,
    #[error("--zk_session_timeout must be longer than 0")]
    ZeroSessionTimeout,
}

impl MasterConfig {
    /// A master on 127.0.0.1 with an ephemeral port and Mesos's defaults.
    pub fn in_process() -> MasterConfig {
        // The flag table's own defaults, with nothing from the command line or environment:
        // every in-process cluster (and the config tests) starts from them.
        let flags = Flags::load(MASTER_FLAGS, vec![], &[]).expect("defaults parse");
        let mut config = MasterConfig::from_flags(&flags, &|_| None).expect("defaults are valid");
        config.address = NodeAddress::loopback();
        config
    }

    pub fn from_flags(
        flags: &Flags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<MasterConfig, MasterConfigError> {
        let registry = flags.get("registry").unwrap_or("replicated_log");
        if !matches!(registry, "in_memory" | "replicated_log") {
            return Err(MasterConfigError::Registry(registry.into()));
        }
        let max_agent_ping_timeouts: u32 = flags.parse("max_agent_ping_timeouts")?.unwrap_or(5);
        if max_agent_ping_timeouts == 0 {
            return Err(MasterConfigError::NoPingTimeouts);
        }
        let agent_ping_timeout = flags
            .duration("agent_ping_timeout")?
            .unwrap_or(Duration::from_secs(15));
        if agent_ping_timeout.is_zero() {
            return Err(MasterConfigError::ZeroPingTimeout);
        }
        // Validated for shape even though mmrun allocates as soon as resources are free.
        flags.duration("allocation_interval")?;
        let zk = flags
            .get("zk")
            .map(ZkUrl::from_flag)
            .transpose()
            .map_err(MasterConfigError::ZooKeeperUrl)?;
        let quorum: Option<u32> = flags.parse("quorum")?;
        if quorum == Some(0) {
            return Err(MasterConfigError::ZeroQuorum);
        }
        // As Mesos's master/main.cpp: the replicated log needs a quorum once masters contend.
        if zk.is_some() && registry == "replicated_log" && quorum.is_none() {
            return Err(MasterConfigError::NoQuorum);
        }
        let zk_session_timeout = flags
            .duration("zk_session_timeout")?
            .unwrap_or(Duration::from_secs(10));
        if zk_session_timeout.is_zero() {
            return Err(MasterConfigError::ZeroSessionTimeout);
        }
        Ok(MasterConfig {
            address: NodeAddress::resolve(flags, env, 5050)?,
            cluster: flags.get("cluster").map(String::from),
            agent_ping_timeout,
            max_agent_ping_timeouts,
            offer_timeout: flags.duration("offer_timeout")?,
            heartbeat_interval: Duration::from_secs(15),
            max_completed_frameworks: flags.parse("max_completed_frameworks")?.unwrap_or(50),
            max_completed_tasks_per_framework: flags
                .parse("max_completed_tasks_per_framework")?
                .unwrap_or(1000),
            zk,
            zk_session_timeout,
            flags: flags.all().clone(),
        })
    }

    /// Sets the ping timeout and keeps the displayed flags in step.
    pub fn with_agent_ping(mut self, timeout: Duration, max_timeouts: u32) -> MasterConfig {
        self.agent_ping_timeout = timeout;
        self.max_agent_ping_timeouts = max_timeouts;
        self.flags
            .insert("agent_ping_timeout".into(), format_duration(timeout));
        self.flags
            .insert("max_agent_ping_timeouts".into(), max_timeouts.to_string());
        self
    }
}

impl MasterConfig {
    /// Contends for leadership through ZooKeeper at `zk` (in-process HA clusters), keeping the
    /// displayed flags in step. The registry stays in memory, so no quorum is needed.
    pub fn with_zookeeper(mut self, zk: ZkUrl, session_timeout: Duration) -> MasterConfig {
        self.flags.insert("zk".into(), zk.to_string());
        self.flags.insert(
            "zk_session_timeout".into(),
            format_duration(session_timeout),
        );
        self.flags.insert("registry".into(), "in_memory".into());
        self.zk = Some(zk);
        self.zk_session_timeout = session_timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> Result<MasterConfig, MasterConfigError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let flags = Flags::load(MASTER_FLAGS, vec![], &args)?;
        MasterConfig::from_flags(&flags, &|_| None)
    }

    #[test]
    fn zookeeper_flags_parse_as_mesos_takes_them() {
        let c = load(&[
            "--zk=zk://127.0.0.1:2181/mesos",
            "--quorum=2",
            "--zk_session_timeout=3secs",
        ])
        .unwrap();
        assert_eq!(c.zk.unwrap().to_string(), "zk://127.0.0.1:2181/mesos");
        assert_eq!(c.zk_session_timeout, Duration::from_secs(3));
        let alone = load(&[]).unwrap();
        assert!(alone.zk.is_none());
        assert_eq!(alone.zk_session_timeout, Duration::from_secs(10));
    }

    #[test]
    fn the_replicated_log_needs_a_quorum_with_zookeeper() {
        let e = load(&["--zk=zk://127.0.0.1:2181/mesos"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("Need to specify --quorum"), "{e}");
        load(&["--zk=zk://127.0.0.1:2181/mesos", "--registry=in_memory"]).unwrap();
        let zero = load(&["--zk=zk://127.0.0.1:2181/mesos", "--quorum=0"])
            .unwrap_err()
            .to_string();
        assert!(zero.contains("at least 1"), "{zero}");
        let bad = load(&["--zk=127.0.0.1:2181", "--quorum=1"])
            .unwrap_err()
            .to_string();
        assert!(bad.starts_with("--zk:"), "{bad}");
    }
}
