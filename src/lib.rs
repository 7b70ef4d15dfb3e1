//! mmrun: fresh Mesos clusters for testing Mesos frameworks.

pub mod client;
pub mod flags;
pub mod lite;
pub mod mesos;
