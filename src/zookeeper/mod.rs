//! ZooKeeper, as Mesos uses it: the `zk://` URL (`url`), the masters' group (`group`), master
//! contention and leader detection over it (`election`), and a real Apache ZooKeeper server
//! that mmrun runs (`install`: finding this host's; `server`: one as a child process).
//!
//! Mesos's layout (`src/zookeeper/group.cpp`, `src/master/contender/zookeeper.cpp`): every
//! master is an ephemeral sequential child `json.info_<10 digits>` of the URL's path, holding
//! its MasterInfo as JSON; the child with the lowest sequence leads.

pub mod election;
pub mod group;
pub mod install;
pub mod server;
pub mod url;

pub use election::{Candidacy, Contender, LeaderDetector, Leadership};
pub use group::{Member, ZkError};
pub use install::{NotInstalled, ZooKeeperInstall};
pub use server::{ServerError, ZooKeeperServer};
pub use url::{ZkUrl, ZkUrlError};

use std::time::Duration;

/// The session timeouts mmrun's ZooKeeper (child process and image alike) grants: its
/// `minSessionTimeout` of 1 s, and its `maxSessionTimeout` of 40 s (ZooKeeper's default
/// maximum, 20 ticks, at its default tick of 2 s).
pub const MIN_SESSION_TIMEOUT: Duration = Duration::from_secs(1);
pub const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(40);
/// mmrun's ZooKeeper's tick. ZooKeeper checks sessions for expiry once a tick, so a session
/// ends between its timeout and its timeout plus a tick after its last heartbeat: at the
/// default 2 s tick a killed leader's 2 s session lasted up to 4 s, at 500 ms up to 2.5 s.
pub const TICK: Duration = Duration::from_millis(500);
