//! `mmrun image build` (hidden): builds the node image now instead of on first use, so CI can
//! build it once up front (or check it is cached). Prints the tag on stdout.

use crate::docker::{Docker, NodeImage};
use crate::exit_codes;
use clap::Subcommand;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ImageAction {
    /// Build the node image for this mmrun binary unless it exists; print its tag.
    Build,
}

pub async fn run(action: ImageAction) -> i32 {
    let ImageAction::Build = action;
    let started = Instant::now();
    match build().await {
        Ok((image, built)) => {
            let what = if built { "built" } else { "already present" };
            eprintln!(
                "mmrun image build: {} {what} ({:.1} s)",
                image.tag(),
                started.elapsed().as_secs_f64()
            );
            println!("{}", image.tag());
            exit_codes::OK
        }
        Err(e) => {
            eprintln!("mmrun image build: {e}");
            exit_codes::ENVIRONMENT
        }
    }
}

/// The image and whether this call built it.
async fn build() -> Result<(NodeImage, bool), String> {
    let docker = Docker::connect().await.map_err(|e| e.to_string())?;
    let image = tokio::task::spawn_blocking(NodeImage::for_current_exe)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let built = image.ensure(&docker).await.map_err(|e| e.to_string())?;
    Ok((image, built))
}
