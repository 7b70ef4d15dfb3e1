//! ZooKeeper and HA masters: the ZooKeeper node (child process and container), election,
//! failover and what non-leaders answer.

mod masters;
mod zookeeper_node;
