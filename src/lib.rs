//! mmrun: fresh Mesos clusters for testing Mesos frameworks.

pub mod cli;
pub mod client;
pub mod exit_codes;
pub mod flags;
pub mod lite;
pub mod mesos;
pub mod snapshot;
