//! `FrameworkInfo` and `MasterInfo`: who a framework says it is, and who the master is.

use super::ids::FrameworkId;
use super::lenient::repeated;
use super::task::Labels;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capability {
    /// Kept as a string so capabilities newer than mmrun are carried, not refused. Absent
    /// (as a protobuf capability newer than mmrun's schema reads) it is the enum's default.
    #[serde(rename = "type", default = "unknown_capability")]
    pub kind: String,
}

pub mod capability {
    pub const PARTITION_AWARE: &str = "PARTITION_AWARE";
    pub const TASK_KILLING_STATE: &str = "TASK_KILLING_STATE";
    pub const MULTI_ROLE: &str = "MULTI_ROLE";
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    pub user: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<FrameworkId>,
    /// Written even when unset: it has an explicit default in mesos.proto.
    #[serde(default)]
    pub failover_timeout: f64,
    #[serde(default)]
    pub checkpoint: bool,
    /// Deprecated in favour of `roles`, but still what most clients send.
    #[serde(default = "default_role")]
    pub role: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webui_url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

fn unknown_capability() -> String {
    "UNKNOWN".into()
}

fn default_role() -> String {
    "*".into()
}

impl FrameworkInfo {
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c.kind == name)
    }

    /// The roles this framework receives offers for.
    pub fn effective_roles(&self) -> Vec<String> {
        if self.has_capability(capability::MULTI_ROLE) && !self.roles.is_empty() {
            self.roles.clone()
        } else {
            vec![self.role.clone()]
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub hostname: String,
    pub ip: String,
    pub port: u16,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterInfo {
    pub id: String,
    /// The IPv4 address as Mesos packs it: the network-order bytes read as a host-order u32.
    pub ip: u32,
    pub port: u16,
    pub pid: String,
    pub hostname: String,
    pub version: String,
    pub address: Address,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
}

impl MasterInfo {
    pub fn new(id: &str, ip: Ipv4Addr, port: u16, hostname: &str, version: &str) -> MasterInfo {
        MasterInfo {
            id: id.into(),
            ip: u32::from_le_bytes(ip.octets()),
            port,
            pid: format!("master@{ip}:{port}"),
            hostname: hostname.into(),
            version: version.into(),
            address: Address {
                hostname: hostname.into(),
                ip: ip.to_string(),
                port,
            },
            capabilities: vec![Capability {
                kind: "AGENT_UPDATE".into(),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_info_writes_defaults_and_reads_leniently() {
        let f: FrameworkInfo = serde_json::from_str(
            r#"{"user":"root","name":"x","capabilities":null,"roles":null,"failover_timeout":7}"#,
        )
        .unwrap();
        assert_eq!(f.failover_timeout, 7.0);
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"user":"root","name":"x","failover_timeout":7.0,
                               "checkpoint":false,"role":"*"})
        );
        assert!(serde_json::from_str::<FrameworkInfo>(r#"{"name":"x"}"#).is_err());
    }

    #[test]
    fn master_info_packs_ip_like_mesos() {
        let m = MasterInfo::new(
            "id",
            Ipv4Addr::new(127, 0, 0, 1),
            5050,
            "localhost",
            "1.11.0",
        );
        assert_eq!(m.ip, 16777343);
        assert_eq!(m.pid, "master@127.0.0.1:5050");
    }
}
