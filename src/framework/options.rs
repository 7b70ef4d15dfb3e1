//! What a scenario asks of mmrun's framework: its name, role, capabilities, encoding and API.

use crate::mesos::encoding::Encoding;
use crate::mesos::framework::{Capability, FrameworkInfo};

#[derive(Clone, Debug)]
pub struct FrameworkOptions {
    pub name: String,
    pub role: String,
    pub partition_aware: bool,
    /// Checkpointing frameworks keep their tasks when an agent's connection breaks; mmrun
    /// checkpoints, as production frameworks do, so agent loss is decided by liveness.
    pub checkpoint: bool,
    pub failover_timeout: f64,
    /// What it speaks on the v1 scheduler API, both ways; JSON unless asked.
    pub encoding: Encoding,
    /// How it talks to the master: the v1 HTTP API, or libprocess as a scheduler driver.
    pub api: FrameworkApi,
}

/// The two ways a Mesos framework talks to its master.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FrameworkApi {
    /// The v1 scheduler API (`POST /api/v1/scheduler`, an event stream).
    #[default]
    Http,
    /// Libprocess messages, as libmesos's scheduler driver (Marathon, Spark, the Java and
    /// Python APIs) speaks.
    Driver,
}

impl FrameworkApi {
    /// `http` or `driver`, as scripts name it.
    pub fn from_name(name: &str) -> Option<FrameworkApi> {
        match name {
            "http" => Some(FrameworkApi::Http),
            "driver" => Some(FrameworkApi::Driver),
            _ => None,
        }
    }
}

impl FrameworkOptions {
    pub fn named(name: &str) -> FrameworkOptions {
        FrameworkOptions {
            name: name.into(),
            role: "*".into(),
            partition_aware: false,
            checkpoint: true,
            failover_timeout: 0.0,
            encoding: Encoding::Json,
            api: FrameworkApi::Http,
        }
    }

    pub(super) fn info(&self) -> FrameworkInfo {
        let mut capabilities = vec![Capability {
            kind: "TASK_KILLING_STATE".into(),
        }];
        if self.partition_aware {
            capabilities.push(Capability {
                kind: "PARTITION_AWARE".into(),
            });
        }
        FrameworkInfo {
            user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
            name: self.name.clone(),
            id: None,
            failover_timeout: self.failover_timeout,
            checkpoint: self.checkpoint,
            role: self.role.clone(),
            roles: vec![],
            hostname: None,
            principal: None,
            webui_url: None,
            capabilities,
            labels: None,
        }
    }
}
