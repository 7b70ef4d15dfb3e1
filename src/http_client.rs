//! The HTTP clients mmrun's nodes and clients build for themselves, below both: the servers
//! in `lite` and the clients in `client` get them from here.

use std::time::Duration;

/// Builds a client from settings mmrun fixes in its code (timeouts, no proxy, a user agent).
/// `reqwest` refuses only an invalid setting or a TLS backend that cannot start; these
/// settings are constants and the TLS backend (rustls with its own roots) reads nothing from
/// the host, so a failure here is a bug in mmrun, found by the first test that connects.
pub fn build(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder
        .build()
        .expect("mmrun's fixed HTTP client settings are valid")
}

/// The HTTP client nodes use to reach each other. Never through a proxy: peers are on local
/// or cluster networks, and an `http_proxy` in the environment must not reroute them.
pub fn peer_client() -> reqwest::Client {
    build(
        reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(30)),
    )
}
