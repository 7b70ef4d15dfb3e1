//! Leader detection and master contention over the group (`group.rs`), each a background task
//! that publishes what it sees on a `watch` channel.
//!
//! - [`LeaderDetector`] (agents, frameworks, non-voting observers): follows the leader; keeps
//!   the last leader through a connection loss, as Mesos's detector does, and forgets it when
//!   the session expires (then reconnects).
//! - [`Contender`] (a master): joins the group and follows it; once it has lost its membership
//!   (session expired) or its leadership, it reports `lost` and stops — Mesos's master aborts
//!   then ("committing suicide") and expects a supervisor to restart it.

use super::ZkUrl;
use super::group::{self, Member, ZkError};
use crate::mesos::framework::MasterInfo;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zookeeper_client as zk;

/// How long to wait before trying an unreachable ensemble again.
const RETRY: Duration = Duration::from_millis(200);

/// What a detector knows of the leader.
#[derive(Clone, Debug, PartialEq)]
pub enum Leadership {
    /// Not yet read (ZooKeeper not reached yet).
    Unknown,
    /// ZooKeeper answers and no master leads.
    None,
    Leader(Box<Member>),
}

impl Leadership {
    pub fn info(&self) -> Option<&MasterInfo> {
        match self {
            Leadership::Leader(m) => Some(&m.info),
            _ => None,
        }
    }
}

/// Follows the group's leader until dropped.
pub struct LeaderDetector {
    leadership: watch::Receiver<Leadership>,
    stop: CancellationToken,
}

impl LeaderDetector {
    pub fn start(url: ZkUrl, session_timeout: Duration) -> LeaderDetector {
        let (tx, leadership) = watch::channel(Leadership::Unknown);
        let stop = CancellationToken::new();
        crate::node_log::spawn(detect(url, session_timeout, tx, stop.clone()));
        LeaderDetector { leadership, stop }
    }

    pub fn current(&self) -> Leadership {
        self.leadership.borrow().clone()
    }

    /// A receiver that wakes on every change of leader.
    pub fn subscribe(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// The leader, waiting up to `timeout` for one to be elected.
    pub async fn leader(&self, timeout: Duration) -> Option<MasterInfo> {
        let mut rx = self.leadership.clone();
        let found =
            tokio::time::timeout(timeout, rx.wait_for(|l| matches!(l, Leadership::Leader(_))))
                .await;
        match found {
            Ok(Ok(l)) => l.info().cloned(),
            _ => None,
        }
    }
}

impl Drop for LeaderDetector {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn detect(
    url: ZkUrl,
    session_timeout: Duration,
    tx: watch::Sender<Leadership>,
    stop: CancellationToken,
) {
    let mut warned = false;
    loop {
        let client = tokio::select! {
            connected = group::connect(&url, session_timeout, false) => connected,
            _ = stop.cancelled() => return,
        };
        let client = match client {
            Ok(client) => client,
            Err(e) => {
                if !warned {
                    tracing::warn!("leader detection: {e}; retrying");
                    warned = true;
                }
                if sleep_or_stop(RETRY, &stop).await {
                    return;
                }
                continue;
            }
        };
        warned = false;
        follow(&client, &url, &tx, &stop).await;
        if stop.is_cancelled() {
            return;
        }
        // The session expired: what it said of the leader is no longer known.
        tx.send_replace(Leadership::Unknown);
    }
}

/// Publishes the leader on every change until the session ends or `stop`.
async fn follow(
    client: &zk::Client,
    url: &ZkUrl,
    tx: &watch::Sender<Leadership>,
    stop: &CancellationToken,
) {
    loop {
        match group::leader(client, url).await {
            Ok((leader, watcher)) => {
                let now = leader.map_or(Leadership::None, |m| Leadership::Leader(Box::new(m)));
                tx.send_if_modified(|old| replace_if_changed(old, now));
                tokio::select! {
                    _ = watcher.changed() => {}
                    _ = stop.cancelled() => return,
                }
            }
            Err(e) => {
                tracing::debug!("leader detection: {e}");
                if sleep_or_stop(RETRY, stop).await {
                    return;
                }
            }
        }
        if client.state().is_terminated() {
            return;
        }
    }
}

/// What a master's candidacy looks like from inside.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidacy {
    /// The current leader (this master or another), when known.
    pub leader: Option<MasterInfo>,
    pub leading: bool,
    /// Why this master must stop: set once, and then nothing else changes.
    pub lost: Option<String>,
    /// The group is being read (at first, and again after each change): `leader` may be
    /// unknown yet, or a member that just left.
    pub settling: bool,
}

/// A master's membership of the group, until dropped: dropping it withdraws the membership
/// at once (a master that stops); [`Contender::abandon`] leaves it to expire with the session
/// (a master that crashed).
pub struct Contender {
    candidacy: watch::Receiver<Candidacy>,
    stop: CancellationToken,
    abandoned: Arc<AtomicBool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Contender {
    pub fn start(url: ZkUrl, session_timeout: Duration, info: MasterInfo) -> Contender {
        let (tx, candidacy) = watch::channel(Candidacy {
            leader: None,
            leading: false,
            lost: None,
            // Not read yet: answers wait for the first read as for any change.
            settling: true,
        });
        let stop = CancellationToken::new();
        let abandoned = Arc::new(AtomicBool::new(false));
        let task = crate::node_log::spawn(contend(
            url,
            session_timeout,
            info,
            tx,
            stop.clone(),
            abandoned.clone(),
        ));
        Contender {
            candidacy,
            stop,
            abandoned,
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    /// Withdraws from the group and returns once the membership is gone (a master that stops),
    /// so the others elect a new leader at once.
    pub async fn resign(&self) {
        self.stop.cancel();
        let task = self
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Stops contending as a crashed process would: the membership stays until ZooKeeper
    /// expires the session, so the others elect a new leader only after the session timeout.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
        self.stop.cancel();
    }

    pub fn subscribe(&self) -> watch::Receiver<Candidacy> {
        self.candidacy.clone()
    }

    pub fn current(&self) -> Candidacy {
        self.candidacy.borrow().clone()
    }

    /// The candidacy once the group has been read again after a change (at most `within`
    /// later): what to answer a client from, so that none is sent to a leader that just left.
    pub async fn settled(&self, within: Duration) -> Candidacy {
        let mut candidacy = self.candidacy.clone();
        let settled = candidacy.wait_for(|c| !c.settling);
        match tokio::time::timeout(within, settled).await {
            Ok(Ok(c)) => c.clone(),
            _ => self.current(),
        }
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn contend(
    url: ZkUrl,
    session_timeout: Duration,
    info: MasterInfo,
    tx: watch::Sender<Candidacy>,
    stop: CancellationToken,
    abandoned: Arc<AtomicBool>,
) {
    // A master waits for ZooKeeper as long as it takes, as Mesos's does.
    let mut warned = false;
    let (client, own_path) = loop {
        let joined = async {
            let client = group::connect(&url, session_timeout, true).await?;
            let (_, path) = group::join(&client, &url, &info).await?;
            Ok::<_, ZkError>((client, path))
        };
        let joined = tokio::select! {
            joined = joined => joined,
            _ = stop.cancelled() => return,
        };
        match joined {
            Ok(joined) => break joined,
            Err(e) => {
                if !warned {
                    tracing::warn!("master {} cannot contend yet: {e}; retrying", info.id);
                    warned = true;
                }
                if sleep_or_stop(RETRY, &stop).await {
                    return;
                }
            }
        }
    };
    tracing::info!("master {} joined the group as {own_path}", info.id);
    // Withdraws the membership unless abandoned (the detached session would otherwise keep it
    // until it expires).
    let withdraw = || async {
        if !abandoned.load(Ordering::SeqCst) {
            let _ = tokio::time::timeout(RETRY * 5, client.delete(&own_path, None)).await;
        }
    };
    let lose = |why: String| {
        tracing::error!("master {}: {why}", info.id);
        tx.send_modify(|c| {
            c.leading = false;
            c.lost = Some(why);
            c.settling = false;
        });
    };
    loop {
        if client.state().is_terminated() {
            return lose("lost its ZooKeeper session (it expired): as a Mesos master does, it stops; start it again".into());
        }
        match group::leader(&client, &url).await {
            Ok((leader, watcher)) => {
                let leading = leader.as_ref().is_some_and(|m| m.path == own_path);
                let was_leading = tx.borrow().leading;
                if was_leading && !leading {
                    return lose("lost leadership to another master: as a Mesos master does, it stops; start it again".into());
                }
                if leader.is_none() {
                    // Our own ephemeral node is gone, so the session that held it is over.
                    return lose("lost its membership of the ZooKeeper group: as a Mesos master does, it stops; start it again".into());
                }
                if leading && !was_leading {
                    tracing::info!("master {} is elected leader", info.id);
                }
                let leader = leader.map(|m| m.info);
                tx.send_if_modified(|c| {
                    let changed = c.leader != leader || c.leading != leading || c.settling;
                    c.leader = leader;
                    c.leading = leading;
                    c.settling = false;
                    changed
                });
                tokio::select! {
                    _ = watcher.changed() => {
                        // The membership changed: until the group is read again, the leader
                        // this master follows may be the member that left, and a client sent
                        // there would wait for it for good (no further change wakes its
                        // detector). Redirects wait for the read (`Contender::settled`).
                        tx.send_if_modified(|c| {
                            let was = c.settling;
                            c.settling = !c.leading;
                            was != c.settling
                        });
                    }
                    _ = stop.cancelled() => return withdraw().await,
                }
            }
            Err(e) => {
                tracing::debug!("master {}: {e}", info.id);
                if sleep_or_stop(RETRY, &stop).await {
                    return withdraw().await;
                }
            }
        }
    }
}

fn replace_if_changed(old: &mut Leadership, now: Leadership) -> bool {
    if *old == now {
        return false;
    }
    *old = now;
    true
}

/// Sleeps; true when `stop` fired first.
async fn sleep_or_stop(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => false,
        _ = stop.cancelled() => true,
    }
}
