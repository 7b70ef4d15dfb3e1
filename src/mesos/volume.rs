//! `Volume`: a path mapped into a container, from the host, the sandbox, an image, a Docker
//! volume driver, a secret or a CSI plugin (Mesos's v1 `Volume`, with its `Source`, and the
//! `Secret` it and images share). mmrun's agent mounts `host_path` volumes of Docker tasks;
//! the rest is carried for frameworks and the state.

use super::container::{Image, Parameters};
use super::lenient::repeated;
use serde::{Deserialize, Serialize};

/// `Volume.Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeMode {
    /// Read-write.
    #[serde(rename = "RW")]
    Rw,
    /// Read-only.
    #[serde(rename = "RO")]
    Ro,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub mode: VolumeMode,
    pub container_path: String,
    /// The older way to name a host directory (absolute) or a sandbox one (relative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<VolumeSource>,
}

/// `Volume.Source.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VolumeSourceType {
    Unknown,
    DockerVolume,
    HostPath,
    SandboxPath,
    Secret,
    CsiVolume,
}

/// `Volume.Source`: where the volume comes from; the field of its `type` is set.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct VolumeSource {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<VolumeSourceType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume: Option<DockerVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_path: Option<SandboxPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume: Option<CsiVolume>,
}

/// `Volume.Source.DockerVolume`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DockerVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_options: Option<Parameters>,
}

/// `Volume.Source.HostPath`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostPath {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_propagation: Option<MountPropagation>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct MountPropagation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PropagationMode>,
}

/// `MountPropagation.Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropagationMode {
    Unknown,
    HostToContainer,
    Bidirectional,
}

/// `Volume.Source.SandboxPath`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SandboxPath {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SandboxPathType>,
    pub path: String,
}

/// `Volume.Source.SandboxPath.Type`: this container's sandbox, or its parent's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SandboxPathType {
    Unknown,
    #[serde(rename = "SELF")]
    Own,
    Parent,
}

/// `Volume.Source.CSIVolume`, a volume a CSI plugin provides. Mesos's `StaticProvisioning`
/// also has three protobuf maps (secrets and context); mmrun's encodings have no maps, so
/// those are not carried (docs/differences.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsiVolume {
    pub plugin_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_provisioning: Option<StaticProvisioning>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaticProvisioning {
    pub volume_id: String,
    pub volume_capability: VolumeCapability,
}

/// `CSIVolume.VolumeCapability`: a block or a mounted volume (one of the two), and how nodes
/// may access it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeCapability {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<BlockVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<MountVolume>,
    pub access_mode: AccessMode,
}

/// A raw block volume: nothing to say.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct BlockVolume {}

#[serde_with::apply(Vec => #[serde(default, deserialize_with = "repeated")])]
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct MountVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mount_flags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessMode {
    pub mode: AccessModeKind,
}

/// `VolumeCapability.AccessMode.Mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccessModeKind {
    Unknown,
    SingleNodeWriter,
    SingleNodeReaderOnly,
    MultiNodeReaderOnly,
    MultiNodeSingleWriter,
    MultiNodeMultiWriter,
}

/// `Secret`: privileged data passed by value, or a reference a secret store resolves.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Secret {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SecretType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<SecretReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretValue>,
}

/// `Secret.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecretType {
    Unknown,
    Reference,
    Value,
}

/// `Secret.Reference`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// `Secret.Value`: `data` is protobuf bytes, base64 in JSON, kept as that text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretValue {
    pub data: String,
}
