//! The watchers that outlive mmrun (see `crate::process`): starting the process-group guard
//! for `run` and `up`, and `mmrun reaper`, the Docker reaper's main inside its container.

use super::{CliError, CliResult};
use crate::docker::Docker;
use clap::Args;

/// Starts the guard; a run without one still cleans up on every path but SIGKILL, so a failure
/// is a warning.
pub fn start_guard() {
    let started = std::env::current_exe().and_then(|exe| crate::process::guard::start(&exe));
    if let Err(e) = started {
        eprintln!(
            "mmrun: warning: cannot start the process guard ({e}); processes of a run killed with SIGKILL may survive it"
        );
    }
}

#[derive(Args)]
pub struct ReaperArgs {
    /// The mmrun process whose objects to remove.
    #[arg(long)]
    pid: u32,
    /// That process's host (objects carry it in their labels).
    #[arg(long)]
    host: String,
}

pub async fn reaper(args: ReaperArgs) -> CliResult {
    let docker = Docker::connect().await?;
    // The lifeline is stdin, which the daemon closes when mmrun's attached connection ends.
    crate::docker::reaper::serve(
        &docker,
        tokio::io::stdin(),
        tokio::io::stdout(),
        args.pid,
        &args.host,
    )
    .await
    .map_err(CliError::environment)?;
    Ok(())
}
