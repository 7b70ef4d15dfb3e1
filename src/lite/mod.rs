//! mmrun's own Mesos-compatible cluster: a master and agents that speak Mesos's HTTP APIs,
//! flags and environment, runnable as processes (`mmrun node …`) or inside one process.

pub mod address;
pub mod agent;
pub mod api_error;
pub mod call;
pub mod cluster;
pub mod cors;
pub mod http;
pub mod master;
pub mod protocol;
pub mod sim;

pub use crate::http_client::peer_client;

/// Requests larger than this are refused with 413: no Mesos call comes near it.
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;
