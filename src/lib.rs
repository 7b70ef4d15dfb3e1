//! mmrun: fresh Mesos clusters for testing Mesos frameworks.

pub mod cli;
pub mod client;
pub mod cluster;
pub mod docker;
pub mod errors;
pub mod exit_codes;
pub mod flags;
pub mod framework;
pub mod http_client;
pub mod libprocess;
pub mod lifeline;
pub mod lite;
pub mod mesos;
pub mod node_log;
pub mod process;
pub mod report;
pub mod runner;
pub mod script;
pub mod snapshot;
pub mod timing;
pub mod wait;
pub mod zookeeper;
