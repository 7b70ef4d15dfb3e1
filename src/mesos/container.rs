//! Containers: `ContainerInfo` as frameworks put it in a `TaskInfo` or `ExecutorInfo`, and the
//! `ContainerStatus` an agent reports in `TaskStatus`. Every field of Mesos's v1 messages is
//! here, so what a framework sends reaches the state, its events and the agent unchanged; the
//! agent acts on the Docker part (`lite/agent/docker_tasks/`). Volumes are in `volume.rs`.

use super::ids::ContainerId;
use super::lenient::repeated;
use super::task::Labels;
use super::volume::{Secret, Volume};
use serde::{Deserialize, Serialize};

/// `ContainerInfo.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContainerType {
    Docker,
    Mesos,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerInfo {
    #[serde(rename = "type")]
    pub kind: ContainerType,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesos: Option<MesosInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_infos: Vec<NetworkInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_info: Option<LinuxInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rlimit_info: Option<RLimitInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty_info: Option<TtyInfo>,
}

impl ContainerInfo {
    /// A container of `kind` with nothing else set; fill the rest with struct update.
    pub fn new(kind: ContainerType) -> ContainerInfo {
        ContainerInfo {
            kind,
            volumes: vec![],
            hostname: None,
            docker: None,
            mesos: None,
            network_infos: vec![],
            linux_info: None,
            rlimit_info: None,
            tty_info: None,
        }
    }

    /// A DOCKER container running `image` on `network`.
    pub fn docker(image: impl Into<String>, network: DockerNetwork) -> ContainerInfo {
        ContainerInfo {
            docker: Some(DockerInfo::new(image, network)),
            ..ContainerInfo::new(ContainerType::Docker)
        }
    }

    pub fn is_docker(&self) -> bool {
        self.kind == ContainerType::Docker
    }
}

/// `ContainerInfo.DockerInfo.Network`; unset means HOST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DockerNetwork {
    Host,
    Bridge,
    None,
    User,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DockerInfo {
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<DockerNetwork>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_pull_image: Option<bool>,
    /// Deprecated in Mesos 1.0 (volumes name their driver), still carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_driver: Option<String>,
}

impl DockerInfo {
    pub fn new(image: impl Into<String>, network: DockerNetwork) -> DockerInfo {
        DockerInfo {
            image: image.into(),
            network: Some(network),
            port_mappings: vec![],
            privileged: None,
            parameters: vec![],
            force_pull_image: None,
            volume_driver: None,
        }
    }
}

/// A host port published as a container port: `ContainerInfo.DockerInfo.PortMapping` and
/// `NetworkInfo.PortMapping`, which Mesos declares twice with the same fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_port: u32,
    pub container_port: u32,
    /// `tcp` or `udp`; unset is tcp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// A key and a value, as Docker's `--key=value` options (`DockerInfo.parameters`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    pub key: String,
    pub value: String,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Parameters {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameter: Vec<Parameter>,
}

/// The Mesos containerizer's part: the image of the container's root filesystem.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct MesosInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImageType {
    Appc,
    Docker,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: ImageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appc: Option<AppcImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerImage>,
    /// Unset means true: the agent may use its cached copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached: Option<bool>,
}

/// `Image.Appc`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppcImage {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

/// `Image.Docker`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DockerImage {
    pub name: String,
    /// Deprecated in Mesos 1.3 for `config`, still carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Secret>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub principal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `NetworkInfo.Protocol`, also the protocol of health checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    IPv4,
    IPv6,
}

/// A network the container joins (asked by the framework) or joined (reported by the agent).
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct NetworkInfo {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip_addresses: Vec<IpAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
}

impl NetworkInfo {
    /// The network named `name`, as a framework asks to join it.
    pub fn named(name: impl Into<String>) -> NetworkInfo {
        NetworkInfo {
            name: Some(name.into()),
            ..NetworkInfo::default()
        }
    }

    /// A network the container has this address on, as an agent reports it.
    pub fn with_address(ip_address: impl Into<String>, protocol: Option<Protocol>) -> NetworkInfo {
        NetworkInfo {
            ip_addresses: vec![IpAddress {
                protocol,
                ip_address: Some(ip_address.into()),
            }],
            ..NetworkInfo::default()
        }
    }
}

/// `NetworkInfo.IPAddress`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct IpAddress {
    /// Unset means IPv4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// Linux-specific settings: capabilities, seccomp, namespaces, /dev/shm, cgroups.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct LinuxInfo {
    /// Deprecated for `effective_capabilities`, still carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability_info: Option<CapabilityInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding_capabilities: Option<CapabilityInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_capabilities: Option<CapabilityInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_pid_namespace: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<IpcMode>,
    /// MB of /dev/shm for a PRIVATE IPC namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u32>,
    /// Unset means true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_cgroups: Option<bool>,
}

/// `LinuxInfo.IpcMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IpcMode {
    Unknown,
    Private,
    ShareParent,
}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct CapabilityInfo {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
}

/// `CapabilityInfo.Capability`: Linux's capabilities, named without `CAP_`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    Unknown,
    Chown,
    DacOverride,
    DacReadSearch,
    Fowner,
    Fsetid,
    Kill,
    Setgid,
    Setuid,
    Setpcap,
    LinuxImmutable,
    NetBindService,
    NetBroadcast,
    NetAdmin,
    NetRaw,
    IpcLock,
    IpcOwner,
    SysModule,
    SysRawio,
    SysChroot,
    SysPtrace,
    SysPacct,
    SysAdmin,
    SysBoot,
    SysNice,
    SysResource,
    SysTime,
    SysTtyConfig,
    Mknod,
    Lease,
    AuditWrite,
    AuditControl,
    Setfcap,
    MacOverride,
    MacAdmin,
    Syslog,
    WakeAlarm,
    BlockSuspend,
    AuditRead,
    Perfmon,
    Bpf,
    CheckpointRestore,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct SeccompInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfined: Option<bool>,
}

/// POSIX resource limits (`RLimitInfo`).
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct RLimitInfo {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<RLimit>,
}

/// `RLimitInfo.RLimit`: both bounds unset means unlimited.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct RLimit {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RLimitType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft: Option<u64>,
}

/// `RLimitInfo.RLimit.Type`: `RLMT_` where POSIX has `RLIMIT_`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RLimitType {
    Unknown,
    RlmtAs,
    RlmtCore,
    RlmtCpu,
    RlmtData,
    RlmtFsize,
    RlmtLocks,
    RlmtMemlock,
    RlmtMsgqueue,
    RlmtNice,
    RlmtNofile,
    RlmtNproc,
    RlmtRss,
    RlmtRtprio,
    RlmtRttime,
    RlmtSigpending,
    RlmtStack,
}

/// A (pseudo) TTY for the container's process.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct TtyInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_size: Option<WindowSize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowSize {
    pub rows: u32,
    pub columns: u32,
}

/// What the agent resolved when it set the container up, reported in `TaskStatus`.
#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ContainerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<ContainerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_pid: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_infos: Vec<NetworkInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_info: Option<CgroupInfo>,
}

/// The container's cgroups, as far as Mesos reports them.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct CgroupInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_cls: Option<NetCls>,
}

/// `CgroupInfo.NetCls`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct NetCls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classid: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_a_framework_sends_is_written_back_unchanged() {
        // Nothing unset is filled in with Mesos's defaults (HOST, privileged false, IPv4):
        // the state and the executor see exactly the framework's message.
        for sent in [
            json!({"type": "MESOS"}),
            json!({"type": "DOCKER", "docker": {"image": "busybox"}}),
            json!({"type": "DOCKER", "docker": {"image": "busybox", "network": "USER",
                   "port_mappings": [{"host_port": 31000, "container_port": 80}]},
                   "network_infos": [{"name": "net", "ip_addresses": [{}]}]}),
        ] {
            let info: ContainerInfo = serde_json::from_value(sent.clone()).unwrap();
            assert_eq!(serde_json::to_value(&info).unwrap(), sent);
        }
    }

    #[test]
    fn mesos_refuses_what_is_not_a_container_info_and_so_does_mmrun() {
        for invalid in [
            json!({"docker": {"image": "busybox"}}),
            json!({"type": "DOCKER", "docker": {}}),
            json!({"type": "DOCKER", "docker": {"image": "busybox", "network": "OVERLAY"}}),
            json!({"type": "DOCKER", "docker": {"image": "busybox", "network": "bridge"}}),
            json!({"type": "MESOS", "volumes": [{"container_path": "/data"}]}),
        ] {
            assert!(
                serde_json::from_value::<ContainerInfo>(invalid.clone()).is_err(),
                "{invalid}"
            );
        }
    }
}
