//! The connection to the Docker daemon: where it is (`DOCKER_HOST`, else the default socket),
//! which API version both sides speak, and a quick, clear failure when nobody answers.

use super::error::{DockerError, reason};
use std::time::Duration;

/// Where the daemon is when `DOCKER_HOST` is unset, as the `docker` CLI assumes.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// How long the first exchange may take before the daemon counts as unreachable. A local
/// daemon answers in milliseconds; waiting longer only delays the "is Docker running?" line.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The oldest Engine API mmrun relies on (Docker 20.10).
pub const MINIMUM_API_VERSION: (usize, usize) = (1, 41);

/// A connected Docker client. Cheap to clone; every Docker call in mmrun goes through it.
#[derive(Clone, Debug)]
pub struct Docker {
    pub(super) api: bollard::Docker,
    host: String,
}

impl Docker {
    /// Connects to the daemon named by `DOCKER_HOST` (else the default unix socket) and
    /// negotiates the API version. Fails within `CONNECT_TIMEOUT` when nobody answers.
    pub async fn connect() -> Result<Docker, DockerError> {
        Docker::connect_to(&docker_host()).await
    }

    /// Connects to the daemon at `host` (`unix:///…`, `tcp://…` or `http://…`).
    pub async fn connect_to(host: &str) -> Result<Docker, DockerError> {
        let client = open(host)?;
        let unreachable = |reason: String| DockerError::Unreachable {
            host: host.to_string(),
            reason,
        };
        // negotiate_version is the first request (GET /version), so it doubles as the ping.
        let api = match tokio::time::timeout(CONNECT_TIMEOUT, client.negotiate_version()).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(unreachable(reason(&e))),
            Ok(Ok(api)) => api,
        };
        let version = api.client_version();
        if (version.major_version, version.minor_version) < MINIMUM_API_VERSION {
            return Err(DockerError::ApiTooOld {
                host: host.to_string(),
                version: version.to_string(),
                minimum: format!("{}.{}", MINIMUM_API_VERSION.0, MINIMUM_API_VERSION.1),
            });
        }
        Ok(Docker {
            api,
            host: host.to_string(),
        })
    }

    /// The daemon address this client talks to, as `DOCKER_HOST` would spell it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The negotiated API version, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.api.client_version().to_string()
    }
}

/// `DOCKER_HOST` when set and non-empty, else the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string())
}

/// Builds the bollard client without contacting the daemon; refuses what we cannot speak.
fn open(host: &str) -> Result<bollard::Docker, DockerError> {
    let unsupported = |reason| DockerError::UnsupportedHost {
        host: host.to_string(),
        reason,
    };
    // bollard is built without TLS and SSH: say so instead of failing with a confusing 400.
    if host.starts_with("https://")
        || (host.starts_with("tcp://")
            && std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty()))
    {
        return Err(unsupported(
            "mmrun does not speak TLS to the daemon; reach it through a unix socket or plain tcp",
        ));
    }
    if host.starts_with("ssh://") {
        return Err(unsupported(
            "mmrun does not speak SSH; forward the socket with `ssh -L /tmp/docker.sock:/var/run/docker.sock host` and use unix:///tmp/docker.sock",
        ));
    }
    match bollard::Docker::connect_with_host(host) {
        Ok(client) => Ok(client),
        Err(bollard::errors::Error::UnsupportedURISchemeError { .. }) => {
            Err(unsupported("unknown scheme"))
        }
        // A missing socket file is detected here, before any request.
        Err(e) => Err(DockerError::Unreachable {
            host: host.to_string(),
            reason: reason(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_socket_is_unreachable_at_once() {
        let started = std::time::Instant::now();
        let e = Docker::connect_to("unix:///nonexistent/mmrun-test.sock")
            .await
            .unwrap_err();
        assert!(started.elapsed() < CONNECT_TIMEOUT);
        assert_eq!(
            e.to_string(),
            "cannot reach the Docker daemon at unix:///nonexistent/mmrun-test.sock: there is no socket at /nonexistent/mmrun-test.sock — is Docker running? (set DOCKER_HOST to use another daemon)"
        );
    }

    #[tokio::test]
    async fn unknown_schemes_and_tls_are_refused_with_a_hint() {
        let e = Docker::connect_to("ftp://daemon").await.unwrap_err();
        assert!(matches!(e, DockerError::UnsupportedHost { .. }), "{e}");
        let e = Docker::connect_to("https://daemon:2376").await.unwrap_err();
        assert!(e.to_string().contains("TLS"), "{e}");
    }
}
