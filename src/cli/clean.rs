//! `mmrun clean`: removes the containers and networks that runs whose process is gone left
//! behind (a SIGKILL, a crash, a cancelled CI job). Every run does the same when it starts.
//! `--images` also removes node images of other mmrun builds, which pile up while developing.

use super::{CliError, CliResult};
use crate::docker::node_image::{
    BUSYBOX_IMAGE_REPOSITORY, BusyboxImage, NODE_IMAGE_REPOSITORY, ZOOKEEPER_IMAGE_REPOSITORY,
    ZooKeeperImage,
};
use crate::docker::{self, Docker, NodeImage, Selector};
use clap::Args;

#[derive(Args)]
pub struct CleanArgs {
    /// Remove everything mmrun created, including the clusters of runs still going.
    #[arg(long)]
    all: bool,
    /// Also remove the node images of other mmrun builds, and old busybox and ZooKeeper images
    /// (the current ones, and those in use, are kept).
    #[arg(long)]
    images: bool,
}

/// Everything that can fail here is the machine's (the daemon, its images).
pub async fn run(args: CleanArgs) -> CliResult {
    let docker = Docker::connect().await?;
    let removed = if args.all {
        docker::remove_labelled(&docker, &Selector::managed()).await
    } else {
        docker::reap_orphans(&docker).await
    }?;
    for name in removed.containers.iter().chain(&removed.networks) {
        println!("removed {name}");
    }
    println!(
        "removed {} containers and {} networks",
        removed.containers.len(),
        removed.networks.len()
    );
    if args.images {
        clean_images(&docker).await?;
    }
    Ok(())
}

/// Removes every `mmrun-node:*` image but this binary's, and every `mmrun-busybox:*` and
/// `mmrun-zookeeper:*` but the current one. Docker refuses to remove an image a
/// container uses, so a run in progress keeps its image.
async fn clean_images(docker: &Docker) -> CliResult {
    let current = tokio::task::spawn_blocking(NodeImage::for_current_exe)
        .await
        .map_err(CliError::environment)?
        .map_err(CliError::environment)?;
    let busybox = tokio::task::spawn_blocking(BusyboxImage::discover)
        .await
        .map_err(CliError::environment)?
        .map_err(CliError::environment)?;
    // The image of this host's ZooKeeper, if it has one; without it, every ZooKeeper image goes.
    let zookeeper = tokio::task::spawn_blocking(ZooKeeperImage::discover)
        .await
        .map_err(CliError::environment)?
        .ok();
    let zookeeper = zookeeper.as_ref().map_or("", |z| z.tag());
    for (repository, keep) in [
        (NODE_IMAGE_REPOSITORY, current.tag()),
        (BUSYBOX_IMAGE_REPOSITORY, busybox.tag()),
        (ZOOKEEPER_IMAGE_REPOSITORY, zookeeper),
    ] {
        let tags = docker.list_image_tags(repository).await?;
        for tag in tags.into_iter().filter(|t| t != keep) {
            match docker.remove_image(&tag).await {
                Ok(()) => println!("removed {tag}"),
                Err(e) => println!("kept {tag}: {e}"),
            }
        }
    }
    Ok(())
}
