//! An in-process HA cluster against a real ZooKeeper: a standalone server as a child process,
//! `masters` masters electing their leader through it, agents following the leader there.
//! Waits are on conditions (who leads, polled every few milliseconds), never fixed sleeps.

use super::zookeeper::server_or_skip;
use mmrun::lite::cluster::{ClusterOptions, LocalCluster};
use mmrun::lite::master::Leadership;
use mmrun::wait::WaitFor;
use mmrun::zookeeper::{ZkUrl, ZooKeeperServer};
use std::time::Duration;

/// How often leadership is polled: fine enough to time a failover to a few milliseconds.
const POLL: Duration = Duration::from_millis(5);

pub struct Ha {
    pub cluster: LocalCluster,
    pub zk: ZooKeeperServer,
    pub url: ZkUrl,
}

impl Ha {
    /// ZooKeeper and `masters` masters with this session timeout; returns once one leads.
    /// `None` (after saying why) when ZooKeeper is not installed.
    pub async fn start(test: &str, masters: usize, session: Duration) -> Option<Ha> {
        Ha::start_with(
            test,
            ClusterOptions {
                masters,
                zk_session_timeout: session,
                ..ClusterOptions::default()
            },
        )
        .await
    }

    /// As [`start`](Self::start), with other cluster options (`zookeeper` is filled in).
    pub async fn start_with(test: &str, mut options: ClusterOptions) -> Option<Ha> {
        let zk = server_or_skip(test).await?;
        let url = ZkUrl::parse(&zk.zk_url("/mesos")).unwrap();
        options.zookeeper = Some(url.clone());
        let cluster = LocalCluster::start(options).await.unwrap();
        let ha = Ha { cluster, zk, url };
        ha.await_leader(None, Duration::from_secs(20)).await;
        Some(ha)
    }

    /// The index of the master that leads, if one does.
    pub fn leader(&self) -> Option<usize> {
        (0..self.cluster.master_count())
            .find(|&i| self.cluster.master_leadership(i) == Some(Leadership::Leading))
    }

    /// Waits for a master other than `other_than` to lead; panics after `within`.
    pub async fn await_leader(&self, other_than: Option<usize>, within: Duration) -> usize {
        WaitFor::new("a new leader", within)
            .every(POLL)
            .until(|| async {
                self.leader()
                    .filter(|&i| Some(i) != other_than)
                    .ok_or_else(|| format!("leaderships {:?}", self.leaderships()))
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn leaderships(&self) -> Vec<Option<Leadership>> {
        (0..self.cluster.master_count())
            .map(|i| self.cluster.master_leadership(i))
            .collect()
    }

    /// `http://127.0.0.1:<port>` of master `i`.
    pub fn url(&self, i: usize) -> String {
        self.cluster.master_url_of(i).unwrap()
    }

    /// `127.0.0.1:<port>` of master `i`.
    pub fn host_port(&self, i: usize) -> String {
        self.url(i).trim_start_matches("http://").to_string()
    }

    pub async fn shutdown(self) {
        self.cluster.shutdown().await;
        drop(self.zk);
    }
}

/// An HTTP client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
