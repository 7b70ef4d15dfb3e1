//! Everything mmrun does in Docker, and the only module that talks to Docker (through bollard).
//! Above it, code deals in mmrun's own types and in [`DockerError`]s that say what failed and
//! what to do.
//!
//! - [`client`]: the connection (`DOCKER_HOST`, API version negotiation, fast "unreachable").
//! - [`labels`]: the labels and names of every object mmrun creates.
//! - `containers`, `control`, `logs`, `networks`, `volumes`, `images`: the operations, as methods on
//!   [`Docker`].
//! - [`node_image`]: the image node containers run, the busybox image for Docker tasks and the
//!   ZooKeeper image, all built offline `FROM scratch`.
//! - [`cleanup`]: removal by label, and reaping what dead runs left behind.
//! - [`reaper`]: the container that removes a run's objects when its process dies (SIGKILL).

pub mod cleanup;
pub mod client;
mod containers;
mod control;
pub mod error;
mod images;
pub mod labels;
mod logs;
mod networks;
pub mod node_image;
pub mod reaper;
mod volumes;

pub use cleanup::{Removed, reap_orphans, remove_labelled};
pub use client::Docker;
pub use containers::{Attached, ContainerSpec, ContainerSummary, PortPublish};
pub use control::{ContainerDetails, MountPoint};
pub use error::DockerError;
pub use labels::{Owner, Role, Selector, object_name, task_container_name};
pub use logs::OutputStream;
pub use networks::{NetworkAddresses, NetworkSummary};
pub use node_image::{
    BUSYBOX_ENV, BusyboxImage, NodeImage, NodeImageError, Userland, ZooKeeperImage,
    ensure_busybox_image, ensure_node_image, ensure_zookeeper_image,
};
