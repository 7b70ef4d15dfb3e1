//! Snapshots of the Mesos state a scenario leaves behind.

pub mod normalise;
