//! Third-party clients nobody here wrote, unmodified: pymesos 0.3.15 (scheduler, executor,
//! ZooKeeper detection), Debian's mesos-go (protobuf scheduler and executor, and its api/v0
//! scheduler and executor drivers) and the libmesos 1.11 C++ scheduler driver; mesos-go and
//! pymesos also against ten thousand simulated agents; pymesos's operator driver on the master's
//! event stream.

mod drivers;
mod ha_pymesos;
mod mesos_go;
mod pymesos;
mod pymesos_executor;
mod pymesos_operator;
mod simulated;
