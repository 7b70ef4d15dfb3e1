//! Third-party clients nobody here wrote, unmodified: pymesos 0.3.15 (scheduler, executor,
//! ZooKeeper detection) and Debian's mesos-go (protobuf scheduler and executor).

mod ha_pymesos;
mod mesos_go;
mod pymesos;
mod pymesos_executor;
