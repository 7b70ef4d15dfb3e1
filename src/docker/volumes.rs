//! Volumes: mmrun creates only anonymous ones (an agent's work dir, a task's sandbox when the
//! agent cannot share its own), removed with the last container that uses them.

use super::client::Docker;
use super::error::{DockerError, is_not_found, reason};
use bollard::query_parameters::RemoveVolumeOptions;

/// Docker names anonymous volumes with 64 hex digits; a volume named by someone (a user's
/// data) is never removed.
pub fn is_anonymous_volume(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Docker {
    /// Removes the volumes no container uses any more (409 "in use": they go with their last
    /// container; 404: gone already).
    pub async fn remove_volumes_if_unused(&self, volumes: &[String]) {
        for volume in volumes {
            let removed = self
                .api
                .remove_volume(volume, None::<RemoveVolumeOptions>)
                .await;
            if let Err(e) = removed {
                tracing::debug!("volume {volume} stays: {}", reason(&e));
            }
        }
    }

    /// Whether the volume exists.
    pub async fn volume_exists(&self, volume: &str) -> Result<bool, DockerError> {
        match self.api.inspect_volume(volume).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(DockerError::InspectVolume {
                volume: volume.to_string(),
                reason: reason(&e),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_anonymous_volume;

    #[test]
    fn only_volumes_docker_named_count_as_anonymous() {
        let anonymous = "55cc411edc2b1174de4210eff2b1d44f45f83c1f108b867112104b0831f5fd7b";
        assert!(is_anonymous_volume(anonymous));
        assert!(!is_anonymous_volume("pgdata"));
        assert!(!is_anonymous_volume("/var/run/docker.sock"));
        assert!(!is_anonymous_volume(&anonymous[1..]));
    }
}
