//! The cluster's Apache ZooKeeper container, as data and readiness: what the Docker backend
//! starts, alongside the other nodes, for a cluster with ZooKeeper. The image is
//! `docker::ensure_zookeeper_image` (`mmrun-zookeeper:<hash>`, built on first use).
//!
//! Like every node it sits on the cluster network at a fixed address (`Layout::zookeeper_ip`,
//! `.10`), so masters and agents are told `zk://<that address>:2181/mesos` before anything
//! starts. mmrun itself reaches it there too, or through its client port published on 127.0.0.1
//! where the cluster network is not this host's own (`layout::Reach`). Readiness is `ruok` →
//! `imok` from this host: the image has no shell or `nc` to check from inside.

use super::layout::{Layout, quick_neighbour_discovery};
use super::node::NodeContainer;
use crate::cluster::BackendError;
use crate::docker::{ContainerSpec, Docker, Role};
use std::net::SocketAddr;
use std::time::Duration;

/// ZooKeeper's client port inside its container.
pub const ZOOKEEPER_PORT: u16 = 2181;

/// The ZooKeeper container of the cluster `layout` describes, running `image` (a tag from
/// `docker::ensure_zookeeper_image`): named `mmrun-<run>-<scenario>-zookeeper`, labelled with
/// the cluster's run (so the cluster's teardown, the reaper and `mmrun clean` remove it like
/// any node), on the cluster network at `layout.zookeeper_ip()`, port 2181 published on
/// 127.0.0.1 where the layout publishes (`layout::Reach`). Its data survives `docker stop` + `docker start` (the container's own file system).
pub fn zookeeper_spec(layout: &Layout, image: &str) -> ContainerSpec {
    let name = layout.owner.name(Role::ZooKeeper, None);
    ContainerSpec {
        name: name.clone(),
        image: image.to_string(),
        labels: layout.owner.labels(Role::ZooKeeper),
        network: Some(layout.network.clone()),
        ipv4_address: Some(layout.zookeeper_ip()),
        hostname: Some(name),
        exposed: vec![ZOOKEEPER_PORT],
        ports: layout.published(ZOOKEEPER_PORT),
        sysctls: quick_neighbour_discovery(),
        ..ContainerSpec::default()
    }
}

/// `<address>:2181` on the cluster network: the servers part of the `zk://` URL masters,
/// agents and framework containers are given.
pub fn zookeeper_address(layout: &Layout) -> SocketAddr {
    SocketAddr::from((layout.zookeeper_ip(), ZOOKEEPER_PORT))
}

/// Waits until the started ZooKeeper container answers `ruok` with `imok`; fails at once if it
/// dies, and with its last log lines after `timeout`.
pub async fn wait_ready(
    docker: &Docker,
    node: &NodeContainer,
    timeout: Duration,
) -> Result<(), BackendError> {
    let Some(addr) = node.address() else {
        return Err(BackendError::failed(format!(
            "{} (container {}) cannot be reached yet: start it first",
            node.label, node.name
        )));
    };
    node.wait_until(
        docker,
        "answer `ruok` with `imok`",
        timeout,
        || async move { crate::zookeeper::server::ruok(addr).await.then_some(()) },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::docker::layout::Reach;
    use crate::docker::labels::{ROLE, RUN};
    use crate::docker::{Owner, PortPublish};
    use std::net::Ipv4Addr;

    #[test]
    fn the_zookeeper_container_is_a_labelled_node_on_the_cluster_network() {
        let layout = Layout {
            owner: Owner::new("3f2a9c1b", "ha"),
            network: "mmrun-3f2a9c1b-ha-network".into(),
            subnet: 7,
            reach: Reach::Published,
        };
        let spec = zookeeper_spec(&layout, "mmrun-zookeeper:0123456789abcdef");
        assert_eq!(spec.name, "mmrun-3f2a9c1b-ha-zookeeper");
        assert_eq!(
            spec.hostname.as_deref(),
            Some("mmrun-3f2a9c1b-ha-zookeeper")
        );
        assert_eq!(spec.image, "mmrun-zookeeper:0123456789abcdef");
        assert_eq!(spec.labels[ROLE], "zookeeper");
        assert_eq!(spec.labels[RUN], "3f2a9c1b");
        assert_eq!(spec.network.as_deref(), Some("mmrun-3f2a9c1b-ha-network"));
        assert_eq!(spec.ipv4_address, Some(Ipv4Addr::new(10, 213, 7, 10)));
        assert_eq!(spec.ports, vec![PortPublish::loopback(2181)]);
        assert!(
            spec.cmd.is_empty() && spec.entrypoint.is_none(),
            "the image's own"
        );
        assert!(!spec.privileged && spec.binds.is_empty());
        assert_eq!(zookeeper_address(&layout).to_string(), "10.213.7.10:2181");
    }
}
