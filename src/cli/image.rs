//! `mmrun image build` (hidden): builds mmrun's images now instead of on first use, so CI can
//! build them once up front (or check they are cached): the node image, then the busybox image
//! Docker tasks use, then the ZooKeeper image when this host has ZooKeeper (otherwise it says
//! so and goes on). Prints their tags on stdout, one a line, the node image's first.

use crate::docker::{BusyboxImage, Docker, NodeImage, NodeImageError, ZooKeeperImage};
use crate::exit_codes;
use clap::Subcommand;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ImageAction {
    /// Build the node image for this mmrun binary, the busybox image and the ZooKeeper image
    /// unless they exist; print their tags.
    Build,
}

pub async fn run(action: ImageAction) -> i32 {
    let ImageAction::Build = action;
    let docker = match Docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mmrun image build: {e}");
            return exit_codes::ENVIRONMENT;
        }
    };
    let started = Instant::now();
    let node = build_node(&docker).await;
    if !report(node, started) {
        return exit_codes::ENVIRONMENT;
    }
    let started = Instant::now();
    let busybox = build_busybox(&docker).await;
    if !report(busybox, started) {
        return exit_codes::ENVIRONMENT;
    }
    let started = Instant::now();
    match build_zookeeper(&docker).await {
        Err(Ok(not_installed)) => {
            eprintln!("mmrun image build: no ZooKeeper image: {not_installed}");
        }
        Err(Err(e)) => {
            report(Err(e), started);
            return exit_codes::ENVIRONMENT;
        }
        Ok(built) => {
            report(Ok(built), started);
        }
    }
    exit_codes::OK
}

/// Says what became of one image (its tag on stdout); false when it could not be had.
fn report(result: Result<(String, bool), String>, started: Instant) -> bool {
    match result {
        Ok((tag, built)) => {
            let what = if built { "built" } else { "already present" };
            eprintln!(
                "mmrun image build: {tag} {what} ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
            println!("{tag}");
            true
        }
        Err(e) => {
            eprintln!("mmrun image build: {e}");
            false
        }
    }
}

/// The node image for this binary: its tag and whether this call built it.
async fn build_node(docker: &Docker) -> Result<(String, bool), String> {
    let image = tokio::task::spawn_blocking(NodeImage::for_current_exe)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let built = image.ensure(docker).await.map_err(|e| e.to_string())?;
    Ok((image.tag().to_string(), built))
}

/// The busybox image: its tag and whether this call built it.
async fn build_busybox(docker: &Docker) -> Result<(String, bool), String> {
    let image = tokio::task::spawn_blocking(BusyboxImage::discover)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let built = image.ensure(docker).await.map_err(|e| e.to_string())?;
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
