//! How mmrun's framework finds the master to talk to, and finds it again after a failover:
//! one fixed master (which may restart on the same address), or whichever master ZooKeeper
//! names as the leader — as Mesos's scheduler driver detects it.

use crate::zookeeper::{LeaderDetector, Leadership, ZkUrl};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The session timeout of the framework's own ZooKeeper session (Mesos's drivers use 10 s).
const ZK_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub enum MasterFinder {
    /// `http://host:port` of the one master.
    Fixed(String),
    /// The leader of the masters contending under this URL.
    ZooKeeper {
        url: ZkUrl,
        detector: Arc<LeaderDetector>,
    },
}

impl MasterFinder {
    pub fn fixed(url: &str) -> MasterFinder {
        MasterFinder::Fixed(url.trim_end_matches('/').to_string())
    }

    /// Follows the leader through ZooKeeper (starts detecting at once).
    pub fn zookeeper(url: ZkUrl) -> MasterFinder {
        let detector = Arc::new(LeaderDetector::start(url.clone(), ZK_SESSION_TIMEOUT));
        MasterFinder::ZooKeeper { url, detector }
    }

    /// `http://host:port` of the master to talk to, waiting up to `within` for a leader.
    pub async fn leader(&self, within: Duration) -> Option<String> {
        match self {
            MasterFinder::Fixed(url) => Some(url.clone()),
            MasterFinder::ZooKeeper { detector, .. } => detector
                .leader(within)
                .await
                .map(|info| format!("http://{}:{}", info.address.ip, info.address.port)),
        }
    }

    /// Wakes on every change of leader (never, for a fixed master).
    pub fn changes(&self) -> Option<watch::Receiver<Leadership>> {
        match self {
            MasterFinder::Fixed(_) => None,
            MasterFinder::ZooKeeper { detector, .. } => Some(detector.subscribe()),
        }
    }

    /// Where the master is looked for, for messages.
    pub fn describe(&self) -> String {
        match self {
            MasterFinder::Fixed(url) => format!("the master at {url}"),
            MasterFinder::ZooKeeper { url, .. } => format!("the leading master in {url}"),
        }
    }
}
