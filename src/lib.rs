//! mmrun: fresh Mesos clusters for testing Mesos frameworks.

pub mod mesos;
