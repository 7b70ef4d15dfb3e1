//! The busybox image: a shell and core tools alone (`/bin/sh` as the default command),
//! `FROM scratch`, for Docker tasks in tests and scenarios on an engine that cannot pull. Made of
//! busybox (`/bin/busybox`, a symlink per applet) when the host has it, otherwise of the host's
//! own `/bin/sh` and core tools with their libraries. Tagged `mmrun-busybox:<content hash>` and
//! built on first use, like the node image and under the same lock.

use super::context::BUSYBOX;
use super::sources::{Sources, Userland};
use super::{LocalImage, NodeImageError};
use crate::docker::client::Docker;

/// The repository part of busybox image tags.
pub const BUSYBOX_IMAGE_REPOSITORY: &str = "mmrun-busybox";

/// The busybox image made from this host's busybox: its files resolved and hashed, its tag known.
#[derive(Clone, Debug)]
pub struct BusyboxImage {
    image: LocalImage,
}

impl BusyboxImage {
    /// The image for the host's busybox, or its own shell and tools. Reads and hashes them: call
    /// it off the runtime's workers.
    pub fn discover() -> Result<BusyboxImage, NodeImageError> {
        BusyboxImage::with_userland(&Userland::Detect)
    }

    /// The image of a chosen userland.
    pub fn with_userland(userland: &Userland) -> Result<BusyboxImage, NodeImageError> {
        let sources = Sources::discover(None, userland)?;
        Ok(BusyboxImage {
            image: LocalImage::new(&BUSYBOX, BUSYBOX_IMAGE_REPOSITORY, &sources)?,
        })
    }

    /// The same image under another repository name (tests build throwaway copies).
    pub fn with_repository(self, repository: &str) -> BusyboxImage {
        BusyboxImage {
            image: self.image.with_repository(repository),
        }
    }

    /// `mmrun-busybox:<hash>`.
    pub fn tag(&self) -> &str {
        &self.image.tag
    }

    /// Makes sure the image exists, building it if not. Returns whether this call built it.
    pub async fn ensure(&self, docker: &Docker) -> Result<bool, NodeImageError> {
        self.image.ensure(docker).await
    }

    /// Builds the image, whether or not it exists. Callers hold the build lock or own the tag.
    pub async fn build(&self, docker: &Docker) -> Result<(), NodeImageError> {
        self.image.build(docker).await
    }
}

/// Makes sure the busybox image exists (building it on first use) and returns its tag.
pub async fn ensure_busybox_image(docker: &Docker) -> Result<String, NodeImageError> {
    let image = tokio::task::spawn_blocking(BusyboxImage::discover)
        .await
        .map_err(|e| NodeImageError::Read {
            source: std::io::Error::other(e),
        })??;
    image.ensure(docker).await?;
    Ok(image.image.tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_the_repository_and_a_content_hash() {
        let image = BusyboxImage::discover().unwrap();
        let tag = image.tag().to_string();
        let (repository, hash) = tag.split_once(':').unwrap();
        assert_eq!(repository, BUSYBOX_IMAGE_REPOSITORY);
        assert_eq!(hash.len(), 16);
        assert_eq!(BusyboxImage::discover().unwrap().tag(), image.tag());
        let copy = image.with_repository("mmrun-busybox-test");
        assert_eq!(copy.tag(), format!("mmrun-busybox-test:{hash}"));
    }
}
