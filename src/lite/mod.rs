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

/// Requests larger than this are refused with 413: no Mesos call comes near it.
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The HTTP client nodes use to reach each other. Never through a proxy: peers are on local
/// or cluster networks, and an `http_proxy` in the environment must not reroute them.
pub fn peer_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("the HTTP client configuration is valid")
}
