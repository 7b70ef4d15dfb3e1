//! Where a cluster's nodes live on its network. Each cluster gets its own /24 that mmrun picks
//! (rather than Docker), so every node's address is known before any container starts: agents
//! are told the master's address up front, every node's `LIBPROCESS_IP` is set at creation, all
//! nodes start at once, and a restarted node comes back on the same address.

use crate::docker::{Owner, PortPublish};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

/// Subnets are `10.213.<n>.0/24`: a /16 few networks use, with room for 256 clusters at once.
const POOL: [u8; 2] = [10, 213];
/// Agents take `.11` upwards and frameworks `.101` upwards: at most 90 agents per cluster.
/// Masters take `.2` to `.9`.
pub const MAX_MASTERS: usize = 8;
pub const MAX_AGENTS: usize = 90;
pub const MAX_FRAMEWORKS: usize = 150;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub owner: Owner,
    /// The cluster network's name.
    pub network: String,
    /// The third octet of the cluster's subnet.
    pub subnet: u8,
    /// How this host reaches the nodes' ports.
    pub reach: Reach,
}

/// How mmrun, and the framework processes it starts, reach a node's port from this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// At the node's own address on the cluster network, as its peers do, and nothing is
    /// published: no proxy process and no NAT rules per node, so nodes start and go faster,
    /// and an agent taken off the network and put back is found where it was.
    Direct,
    /// Through a port published on 127.0.0.1: the cluster network is not this host's own
    /// (a daemon in a VM, as Docker Desktop's, a rootless or a remote one, or mmrun itself in a
    /// container), or `MMRUN_DOCKER_PUBLISH_PORTS=1` asked for it.
    Published,
}

impl Reach {
    /// `Direct` when the cluster network's gateway is one of this host's addresses: the
    /// bridge is in this network namespace, and so is the route to every node. Binding a
    /// socket to the address is the check, without parsing interfaces.
    pub fn probe(gateway: Ipv4Addr) -> Reach {
        match UdpSocket::bind(SocketAddr::from((gateway, 0))) {
            Ok(_) => Reach::Direct,
            Err(_) => Reach::Published,
        }
    }
}

impl Layout {
    pub fn subnet_cidr(subnet: u8) -> String {
        format!("{}.{}.{subnet}.0/24", POOL[0], POOL[1])
    }

    fn host(&self, last: u8) -> Ipv4Addr {
        Ipv4Addr::new(POOL[0], POOL[1], self.subnet, last)
    }

    /// What a node serving `port` publishes: nothing when it is reached directly.
    pub fn published(&self, port: u16) -> Vec<PortPublish> {
        match self.reach {
            Reach::Direct => Vec::new(),
            Reach::Published => vec![PortPublish::loopback(port)],
        }
    }

    /// `.1`: the bridge's gateway, this host's own address on the cluster network.
    pub fn gateway_ip(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// `.1` is the bridge's gateway; the master is `.2`.
    pub fn master_ip(&self) -> Ipv4Addr {
        self.host(2)
    }

    /// Master `index` (0-based): `.2`, `.3`, … up to `.9`.
    pub fn master_ip_at(&self, index: usize) -> Ipv4Addr {
        assert!(
            index < MAX_MASTERS,
            "at most {MAX_MASTERS} masters per cluster"
        );
        self.host(2 + index as u8)
    }

    /// `.10`: the cluster's ZooKeeper, below the agents and above room for more masters.
    pub fn zookeeper_ip(&self) -> Ipv4Addr {
        self.host(10)
    }

    pub fn agent_ip(&self, index: usize) -> Ipv4Addr {
        assert!(
            index < MAX_AGENTS,
            "at most {MAX_AGENTS} agents per cluster"
        );
        self.host(11 + index as u8)
    }

    pub fn framework_ip(&self, index: usize) -> Ipv4Addr {
        assert!(
            index < MAX_FRAMEWORKS,
            "at most {MAX_FRAMEWORKS} framework containers per cluster"
        );
        self.host(101 + index as u8)
    }
}

/// Subnets to try for a new cluster, in order: starting from a random one, so concurrent runs
/// rarely collide, then every other.
pub fn subnet_candidates() -> impl Iterator<Item = u8> {
    let start: u8 = rand::random();
    (0..=255u8).map(move |i| start.wrapping_add(i))
}

/// Nodes start together, so one may look up a peer's address before the peer's interface is
/// up; Linux then re-asks ARP only after 1 s, and the first connection hangs that long. Asking
/// again every 50 ms makes a cluster ready as soon as its last node is. (Namespaced: it only
/// changes the container's own network stack. `eth0` is the cluster network, the only one.)
pub fn quick_neighbour_discovery() -> std::collections::BTreeMap<String, String> {
    [(
        "net.ipv4.neigh.eth0.retrans_time_ms".to_string(),
        "50".to_string(),
    )]
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_do_not_overlap() {
        let layout = Layout {
            owner: Owner::new("r", "s"),
            network: "n".into(),
            subnet: 7,
            reach: Reach::Published,
        };
        assert_eq!(layout.master_ip(), Ipv4Addr::new(10, 213, 7, 2));
        assert_eq!(layout.zookeeper_ip(), Ipv4Addr::new(10, 213, 7, 10));
        assert_eq!(layout.agent_ip(0), Ipv4Addr::new(10, 213, 7, 11));
        assert_eq!(
            layout.agent_ip(MAX_AGENTS - 1),
            Ipv4Addr::new(10, 213, 7, 100)
        );
        assert_eq!(layout.framework_ip(0), Ipv4Addr::new(10, 213, 7, 101));
        assert_eq!(
            layout.framework_ip(MAX_FRAMEWORKS - 1),
            Ipv4Addr::new(10, 213, 7, 250)
        );
        assert_eq!(Layout::subnet_cidr(7), "10.213.7.0/24");
        assert_eq!(subnet_candidates().count(), 256);
    }

    #[test]
    fn a_network_whose_gateway_is_this_hosts_own_is_reached_directly() {
        assert_eq!(Reach::probe(Ipv4Addr::LOCALHOST), Reach::Direct);
        // TEST-NET-3: documentation only, on no host's interface.
        assert_eq!(
            Reach::probe(Ipv4Addr::new(203, 0, 113, 1)),
            Reach::Published
        );
    }

    #[test]
    fn only_a_cluster_reached_through_loopback_publishes_ports() {
        let mut layout = Layout {
            owner: Owner::new("r", "s"),
            network: "n".into(),
            subnet: 7,
            reach: Reach::Direct,
        };
        assert_eq!(layout.published(5050), vec![]);
        layout.reach = Reach::Published;
        assert_eq!(layout.published(5050), vec![PortPublish::loopback(5050)]);
    }
}
