//! `mmrun image build` (hidden): builds mmrun's images now instead of on first use, so CI can
//! build them once up front (or check they are cached): the node image, then the busybox image
//! Docker tasks use, then the ZooKeeper image when this host has ZooKeeper (otherwise it says
//! so and goes on). Prints their tags on stdout, one a line, the node image's first.

use super::{CliError, CliResult};
use crate::docker::{BusyboxImage, Docker, NodeImage, NodeImageError, ZooKeeperImage};
use clap::Subcommand;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ImageAction {
    /// Build the node image for this mmrun binary, the busybox image and the ZooKeeper image
    /// unless they exist; print their tags.
    Build,
}

/// Every image that cannot be had is the machine's problem (an environment error).
pub async fn run(action: ImageAction) -> CliResult {
    let ImageAction::Build = action;
    let docker = Docker::connect().await?;
    let started = Instant::now();
    report(build_node(&docker).await?, started);
    let started = Instant::now();
    report(build_busybox(&docker).await?, started);
    let started = Instant::now();
    if let Some(built) = build_zookeeper(&docker).await? {
        report(built, started);
    }
    Ok(())
}

/// Says what became of one image: its tag on stdout, whether it was built on stderr.
fn report((tag, built): (String, bool), started: Instant) {
    let what = if built { "built" } else { "already present" };
    eprintln!(
        "mmrun image build: {tag} {what} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("{tag}");
}

/// The node image for this binary: its tag and whether this call built it.
async fn build_node(docker: &Docker) -> Result<(String, bool), CliError> {
    let image = tokio::task::spawn_blocking(NodeImage::for_current_exe)
        .await
        .map_err(CliError::environment)?
        .map_err(CliError::environment)?;
    let built = image.ensure(docker).await?;
    Ok((image.tag().to_string(), built))
}

/// The busybox image: its tag and whether this call built it.
async fn build_busybox(docker: &Docker) -> Result<(String, bool), CliError> {
    let image = tokio::task::spawn_blocking(BusyboxImage::discover)
        .await
        .map_err(CliError::environment)?
        .map_err(CliError::environment)?;
    let built = image.ensure(docker).await?;
    Ok((image.tag().to_string(), built))
}

/// The ZooKeeper image: its tag and whether this call built it; `None` (saying why) when this
/// host has no ZooKeeper installed, which only scenarios that use it mind.
async fn build_zookeeper(docker: &Docker) -> Result<Option<(String, bool)>, CliError> {
    let discovered = tokio::task::spawn_blocking(ZooKeeperImage::discover)
        .await
        .map_err(CliError::environment)?;
    let image = match discovered {
        Ok(image) => image,
        Err(NodeImageError::ZooKeeperNotInstalled(e)) => {
            eprintln!("mmrun image build: no ZooKeeper image: {e}");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let built = image.ensure(docker).await?;
    Ok(Some((image.tag().to_string(), built)))
}
