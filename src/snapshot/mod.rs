//! Snapshots of the Mesos state a scenario leaves behind.

mod diff;
mod error;
pub mod normalise;
mod snap_file;
pub mod store;
mod update_mode;
