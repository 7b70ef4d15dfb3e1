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
    match build_zookeeper(&docker).await {
        Err(Ok(not_installed)) => {
            eprintln!("mmrun image build: no ZooKeeper image: {not_installed}");
        }
        Err(Err(e)) => return Err(CliError::Environment(e)),
        Ok(built) => report(built, started),
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

/// The ZooKeeper image: its tag and whether this call built it, or why this host has none
/// (`Err(Ok(why))`: ZooKeeper is not installed, which only scenarios that use it mind).
async fn build_zookeeper(docker: &Docker) -> Result<(String, bool), Result<String, String>> {
    let image = match tokio::task::spawn_blocking(ZooKeeperImage::discover).await {
        Ok(Ok(image)) => image,
        Ok(Err(NodeImageError::ZooKeeperNotInstalled(e))) => return Err(Ok(e.to_string())),
        Ok(Err(e)) => return Err(Err(e.to_string())),
        Err(e) => return Err(Err(e.to_string())),
    };
    let built = image.ensure(docker).await.map_err(|e| Err(e.to_string()))?;
    Ok((image.tag().to_string(), built))
}
