//! What can go wrong talking to Docker: one variant per operation, each saying what failed and
//! what to do. Raw bollard errors ("error trying to connect: No such file or directory") do not
//! tell a user which daemon, which object or which next step; these do.

/// An error from one Docker operation. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "cannot reach the Docker daemon at {host}: {reason} — is Docker running? (set DOCKER_HOST to use another daemon)"
    )]
    Unreachable { host: String, reason: String },

    #[error(
        "DOCKER_HOST={host} is not supported: {reason} (use unix:///path/to/docker.sock or tcp://host:port)"
    )]
    UnsupportedHost { host: String, reason: &'static str },

    #[error(
        "the Docker daemon at {host} speaks API {version}, older than the {minimum} mmrun needs — upgrade Docker (20.10 or newer)"
    )]
    ApiTooOld {
        host: String,
        version: String,
        minimum: String,
    },

    #[error("cannot inspect image {image}: {reason} — check that the Docker daemon is healthy")]
    InspectImage { image: String, reason: String },

    #[error(
        "cannot build image {image}: {reason} — run `mmrun image build` to retry and see the error on its own"
    )]
    BuildImage { image: String, reason: String },

    #[error(
        "the reaper container {container} did not answer on its lifeline: {detail} — run `docker logs {container}` to see why"
    )]
    Reaper { container: String, detail: String },

    #[error("cannot list images: {reason} — check that the Docker daemon is healthy")]
    ListImages { reason: String },

    #[error("cannot remove image {image}: {reason} — remove it by hand with `docker rmi {image}`")]
    RemoveImage { image: String, reason: String },

    #[error(
        "cannot create container {name}: {reason} — if the name is taken by a leftover, `mmrun clean` removes it"
    )]
    CreateContainer { name: String, reason: String },

    #[error("cannot attach to container {container}: {reason} — see `docker logs {container}`")]
    Attach { container: String, reason: String },

    #[error("cannot start container {container}: {reason} — see `docker logs {container}`")]
    StartContainer { container: String, reason: String },

    #[error("cannot wait for container {container} to exit: {reason} — see `docker ps -a`")]
    WaitContainer { container: String, reason: String },

    #[error(
        "cannot read the logs of container {container}: {reason} — try `docker logs {container}`"
    )]
    ContainerLogs { container: String, reason: String },

    #[error("cannot inspect container {container}: {reason} — see `docker ps -a`")]
    InspectContainer { container: String, reason: String },

    #[error(
        "cannot remove container {container}: {reason} — remove it by hand with `docker rm -f {container}`"
    )]
    RemoveContainer { container: String, reason: String },

    #[error(
        "cannot stop container {container}: {reason} — stop it by hand with `docker stop {container}`"
    )]
    StopContainer { container: String, reason: String },

    #[error(
        "cannot send {signal} to container {container}: {reason} — is it still running? see `docker ps -a`"
    )]
    KillContainer {
        container: String,
        signal: String,
        reason: String,
    },

    #[error(
        "cannot read the statistics of container {container}: {reason} — try `docker stats {container}`"
    )]
    ContainerStats { container: String, reason: String },

    #[error("cannot pause container {container}: {reason} — is it running? see `docker ps -a`")]
    PauseContainer { container: String, reason: String },

    #[error("cannot unpause container {container}: {reason} — try `docker unpause {container}`")]
    UnpauseContainer { container: String, reason: String },

    #[error(
        "cannot disconnect container {container} from network {network}: {reason} — see `docker network inspect {network}`"
    )]
    DisconnectNetwork {
        network: String,
        container: String,
        reason: String,
    },

    #[error(
        "cannot connect container {container} to network {network}: {reason} — see `docker network inspect {network}`"
    )]
    ConnectNetwork {
        network: String,
        container: String,
        reason: String,
    },

    #[error("cannot list containers: {reason} — check that the Docker daemon is healthy")]
    ListContainers { reason: String },

    #[error(
        "cannot create network {name}: {reason} — Docker runs out of address pools after a few dozen networks: `mmrun clean` removes leftovers"
    )]
    CreateNetwork { name: String, reason: String },

    #[error(
        "cannot remove network {network}: {reason} — remove it by hand with `docker network rm {network}`"
    )]
    RemoveNetwork { network: String, reason: String },

    #[error("cannot list networks: {reason} — check that the Docker daemon is healthy")]
    ListNetworks { reason: String },

    #[error("cannot inspect network {network}: {reason} — see `docker network ls`")]
    InspectNetwork { network: String, reason: String },

    #[error("cannot inspect volume {volume}: {reason} — see `docker volume ls`")]
    InspectVolume { volume: String, reason: String },
}

/// The part of a bollard error worth showing: the daemon's own message when it answered, a plain
/// description of the transport failure when it did not. Always one line.
pub(super) fn reason(error: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    let text = match error {
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("the daemon answered {status_code}: {}", message.trim()),
        E::DockerStreamError { error } => error.trim().to_string(),
        E::RequestTimeoutError => "the daemon did not answer in time".to_string(),
        E::SocketNotFoundError(path) => format!("there is no socket at {path}"),
        E::HyperResponseError { .. }
        | E::HttpClientError { .. }
        | E::HyperLegacyError { .. }
        | E::IOError { .. } => transport_reason(error),
        other => other.to_string(),
    };
    one_line(&text)
}

/// Connection failures hide the useful part (ECONNREFUSED, EACCES) in the source chain.
fn transport_reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    "permission denied (is your user in the `docker` group?)".to_string()
                }
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::NotFound => "there is no such socket".to_string(),
                _ => io.to_string(),
            };
        }
        deepest = s.to_string();
        source = s.source();
    }
    deepest
}

/// Joins a multi-line daemon message so each error stays one line in logs and reports.
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the daemon answered "no such object", which removal treats as already done.
pub(super) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_messages_become_one_line() {
        let e = bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message: "Conflict. The container name \"/x\" is already in use\nby container abc"
                .into(),
        };
        assert_eq!(
            reason(&e),
            "the daemon answered 409: Conflict. The container name \"/x\" is already in use by container abc"
        );
    }

    #[test]
    fn unreachable_says_what_to_do() {
        let e = DockerError::Unreachable {
            host: "unix:///var/run/docker.sock".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach the Docker daemon at unix:///var/run/docker.sock: connection refused — is Docker running? (set DOCKER_HOST to use another daemon)"
        );
    }

    #[test]
    fn only_404_is_not_found() {
        let answer = |status_code| bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: String::new(),
        };
        assert!(is_not_found(&answer(404)));
        assert!(!is_not_found(&answer(409)));
        assert!(!is_not_found(&bollard::errors::Error::RequestTimeoutError));
    }
}
