//! The node image: what every mmrun node container runs. Built automatically on first use and
//! offline — the engine may have no images and no registry — `FROM scratch`, out of files this
//! machine already has: the running mmrun binary, the shared libraries and loader it needs, and
//! a small userland so command tasks can run `/bin/sh -c`: busybox when the host has it,
//! otherwise the host's own `/bin/sh` and core tools (`sleep`, `cat`, `ls`, `grep`, …) with
//! their libraries — so a machine with only a Docker daemon needs nothing installed.
//!
//! The tag is `mmrun-node:<content hash>`, the hash covering every file that goes in; so the
//! image is rebuilt exactly when mmrun (or a library, or the userland) changes, and otherwise
//! found by one `inspect`. The hash is remembered while the files stay as they are
//! (`hash_cache`), so a run does not read them all to find the tag. An exclusive file lock keeps concurrent runs from building it twice.
//!
//! The [`BusyboxImage`] (`mmrun-busybox:<hash>`, the userland alone, for Docker tasks) and the
//! [`ZooKeeperImage`] (`mmrun-zookeeper:<hash>`, the host's Java runtime and ZooKeeper jars) are
//! built the same way, under the same lock.

mod busybox;
mod context;
mod hash_cache;
mod libraries;
mod lock;
mod sources;
mod zookeeper;

pub use busybox::{BUSYBOX_IMAGE_REPOSITORY, BusyboxImage, ensure_busybox_image};
pub use context::BINARY_PATH;
pub use sources::{BUSYBOX_ENV, Userland};
pub use zookeeper::{ZOOKEEPER_IMAGE_REPOSITORY, ZooKeeperImage, ensure_zookeeper_image};

use super::client::Docker;
use super::error::DockerError;
use context::{Entry, Recipe};
use sources::Sources;
use std::path::{Path, PathBuf};

/// The repository part of node image tags.
pub const NODE_IMAGE_REPOSITORY: &str = "mmrun-node";

/// Hex digits of the content hash in the tag: plenty to tell mmrun builds apart.
const TAG_HASH_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum NodeImageError {
    #[error(transparent)]
    Docker(#[from] DockerError),

    #[error("cannot find the running mmrun binary: {source}")]
    CurrentExe {
        #[source]
        source: std::io::Error,
    },

    #[error("the mmrun binary {} does not exist or is not a file", path.display())]
    NoBinary { path: PathBuf },

    #[error(
        "{BUSYBOX_ENV}={} names no file: point it at a busybox binary, or set it empty to build mmrun's images from this host's own shell and tools", path.display()
    )]
    NoBusyboxAt { path: PathBuf },

    #[error(
        "this host has no /bin/sh (nor busybox) to put in mmrun's images as their shell: install busybox-static, or name a busybox with {BUSYBOX_ENV}"
    )]
    NoShell,

    #[error("busybox at {} does not work: {reason} — reinstall it with `apt-get install --reinstall busybox-static`, or set {BUSYBOX_ENV}= (empty) to use this host's own shell and tools", path.display())]
    Busybox { path: PathBuf, reason: String },

    #[error("cannot list the shared libraries of {}: {reason}", binary.display())]
    Ldd { binary: PathBuf, reason: String },

    #[error("cannot read a file for an mmrun image: {source}")]
    Read {
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    ZooKeeperNotInstalled(#[from] crate::zookeeper::NotInstalled),

    #[error("cannot lock {}: {source} — make the directory writable or set XDG_CACHE_HOME to another", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An image mmrun builds offline: its recipe, its files resolved and hashed, its tag.
#[derive(Clone, Debug)]
struct LocalImage {
    recipe: &'static Recipe,
    entries: Vec<Entry>,
    hash: String,
    tag: String,
}

impl LocalImage {
    /// Lays out and hashes the files (reads them all: call it off the runtime's workers).
    fn new(
        recipe: &'static Recipe,
        repository: &str,
        sources: &Sources,
    ) -> Result<LocalImage, NodeImageError> {
        LocalImage::of_entries(recipe, repository, context::layout(sources))
    }

    /// An image of exactly `entries` (see [`context::with_base`]).
    fn of_entries(
        recipe: &'static Recipe,
        repository: &str,
        entries: Vec<Entry>,
    ) -> Result<LocalImage, NodeImageError> {
        let hash = hash_cache::content_hash(recipe, &entries)
            .map_err(|source| NodeImageError::Read { source })?;
        let tag = format!("{repository}:{}", &hash[..TAG_HASH_LEN]);
        Ok(LocalImage {
            recipe,
            entries,
            hash,
            tag,
        })
    }

    fn with_repository(mut self, repository: &str) -> LocalImage {
        self.tag = format!("{repository}:{}", &self.hash[..TAG_HASH_LEN]);
        self
    }

    async fn ensure(&self, docker: &Docker) -> Result<bool, NodeImageError> {
        if docker.image_exists(&self.tag).await? {
            return Ok(false);
        }
        let _lock = lock::acquire().await?;
        // Whoever held the lock before us may have built it meanwhile.
        if docker.image_exists(&self.tag).await? {
            return Ok(false);
        }
        self.build(docker).await?;
        Ok(true)
    }

    async fn build(&self, docker: &Docker) -> Result<(), NodeImageError> {
        let (recipe, entries) = (self.recipe, self.entries.clone());
        let context = tokio::task::spawn_blocking(move || context::tar(recipe, &entries))
            .await
            .map_err(|e| NodeImageError::Read {
                source: std::io::Error::other(e),
            })?
            .map_err(|source| NodeImageError::Read { source })?;
        tracing::info!(tag = %self.tag, bytes = context.len(), "building an image");
        docker.build_image(&self.tag, context).await?;
        Ok(())
    }
}

/// An image mmrun builds offline, of one kind ([`kind::Node`], [`kind::Busybox`],
/// [`kind::ZooKeeper`]): its files resolved and hashed, its tag known. What the kinds share
/// (tag, repository, ensure, build) is here once; each kind adds how its files are found.
pub struct Image<K> {
    image: LocalImage,
    kind: std::marker::PhantomData<fn() -> K>,
}

/// The kinds of [`Image`]: types only, to tell the images apart.
pub mod kind {
    /// The node image ([`super::NodeImage`]).
    #[derive(Debug)]
    pub enum Node {}
    /// The busybox image ([`super::BusyboxImage`]).
    #[derive(Debug)]
    pub enum Busybox {}
    /// The ZooKeeper image ([`super::ZooKeeperImage`]).
    #[derive(Debug)]
    pub enum ZooKeeper {}
}

/// A node image made from one mmrun binary.
pub type NodeImage = Image<kind::Node>;

impl<K> Clone for Image<K> {
    fn clone(&self) -> Self {
        Image::from_local(self.image.clone())
    }
}

impl<K> std::fmt::Debug for Image<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("tag", &self.image.tag)
            .finish()
    }
}

impl<K> Image<K> {
    fn from_local(image: LocalImage) -> Image<K> {
        Image {
            image,
            kind: std::marker::PhantomData,
        }
    }

    /// The same image under another repository name (tests build throwaway copies).
    pub fn with_repository(self, repository: &str) -> Image<K> {
        Image::from_local(self.image.with_repository(repository))
    }

    /// `<repository>:<content hash>`, e.g. `mmrun-node:0123456789abcdef`.
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

    /// Finds the image's files with `discover` (off the runtime's workers: it reads and
    /// hashes them all), makes sure the image exists and returns it.
    async fn discover_and_ensure(
        discover: fn() -> Result<Image<K>, NodeImageError>,
        docker: &Docker,
    ) -> Result<Image<K>, NodeImageError>
    where
        K: 'static,
    {
        let image =
            tokio::task::spawn_blocking(discover)
                .await
                .map_err(|e| NodeImageError::Read {
                    source: std::io::Error::other(e),
                })??;
        image.ensure(docker).await?;
        Ok(image)
    }
}

impl NodeImage {
    /// The image for the running mmrun binary.
    pub fn for_current_exe() -> Result<NodeImage, NodeImageError> {
        let exe =
            std::env::current_exe().map_err(|source| NodeImageError::CurrentExe { source })?;
        NodeImage::for_binary(&exe)
    }

    /// The image for the mmrun binary at `binary` (tests pass Cargo's `CARGO_BIN_EXE_mmrun`,
    /// as their own executable is the test harness). Reads and hashes every file: call it off
    /// the async runtime's worker threads.
    pub fn for_binary(binary: &Path) -> Result<NodeImage, NodeImageError> {
        NodeImage::for_binary_with(binary, &Userland::Detect)
    }

    /// [`NodeImage::for_binary`] with a chosen userland (tests build it from the host's tools
    /// where busybox is installed, as a machine without it would).
    pub fn for_binary_with(
        binary: &Path,
        userland: &Userland,
    ) -> Result<NodeImage, NodeImageError> {
        let sources = Sources::discover(Some(binary), userland)?;
        Ok(Image::from_local(LocalImage::new(
            &context::NODE,
            NODE_IMAGE_REPOSITORY,
            &sources,
        )?))
    }
}

/// Makes sure the node image for the running mmrun exists (building it on first use) and
/// returns its tag.
pub async fn ensure_node_image(docker: &Docker) -> Result<String, NodeImageError> {
    let image = Image::discover_and_ensure(NodeImage::for_current_exe, docker).await?;
    Ok(image.image.tag)
}
