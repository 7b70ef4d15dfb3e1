//! The busybox image: a shell and core tools alone (`/bin/sh` as the default command),
//! `FROM scratch`, for Docker tasks in tests and scenarios on an engine that cannot pull. Made of
//! busybox (`/bin/busybox`, a symlink per applet) when the host has it, otherwise of the host's
//! own `/bin/sh` and core tools with their libraries. Tagged `mmrun-busybox:<content hash>` and
//! built on first use, like the node image and under the same lock.

use super::context::BUSYBOX;
use super::sources::{Sources, Userland};
use super::{Image, LocalImage, NodeImageError, kind};
use crate::docker::client::Docker;

/// The repository part of busybox image tags.
pub const BUSYBOX_IMAGE_REPOSITORY: &str = "mmrun-busybox";

/// The busybox image made from this host's busybox (or its own shell and tools).
pub type BusyboxImage = Image<kind::Busybox>;

impl BusyboxImage {
    /// The image for the host's busybox, or its own shell and tools. Reads and hashes them: call
    /// it off the runtime's workers.
    pub fn discover() -> Result<BusyboxImage, NodeImageError> {
        BusyboxImage::with_userland(&Userland::Detect)
    }

    /// The image of a chosen userland.
    pub fn with_userland(userland: &Userland) -> Result<BusyboxImage, NodeImageError> {
        let sources = Sources::discover(None, userland)?;
        Ok(Image::from_local(LocalImage::new(
            &BUSYBOX,
            BUSYBOX_IMAGE_REPOSITORY,
            &sources,
        )?))
    }
}

/// Makes sure the busybox image exists (building it on first use) and returns its tag.
pub async fn ensure_busybox_image(docker: &Docker) -> Result<String, NodeImageError> {
    let image = Image::discover_and_ensure(BusyboxImage::discover, docker).await?;
    Ok(image.tag().to_string())
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
