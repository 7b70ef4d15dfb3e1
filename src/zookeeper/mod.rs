//! ZooKeeper, as Mesos uses it: the `zk://` URL (`url`), and — as the rest of the HA work lands —
//! master election and leader detection over a real ZooKeeper ensemble.
//!
//! Mesos's layout (`src/zookeeper/group.cpp`, `src/master/contender/zookeeper.cpp`): every
//! master is an ephemeral sequential child `json.info_<10 digits>` of the URL's path, holding
//! its MasterInfo as JSON; the child with the lowest sequence leads.

pub mod url;

pub use url::ZkUrl;
