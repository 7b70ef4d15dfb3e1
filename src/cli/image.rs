//! `mmrun image build` (hidden): builds mmrun's images now instead of on first use, so CI can
//! build them once up front (or check they are cached): the node image, then the busybox image
//! Docker tasks use. Prints their tags on stdout, one a line, the node image's first.

use crate::docker::{BusyboxImage, Docker, NodeImage};
use crate::exit_codes;
use clap::Subcommand;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ImageAction {
    /// Build the node image for this mmrun binary and the busybox image unless they exist;
    /// print their tags.
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
