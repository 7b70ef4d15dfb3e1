//! `mmrun review`: accept or reject pending snapshots (`*.snap.new`) one by one. Works from an
//! installed binary outside any Cargo workspace, unlike `cargo insta review`.

use super::{CliError, CliResult};
use crate::snapshot::review;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub struct ReviewArgs {
    /// Where snapshots live.
    #[arg(long, default_value = "snapshots", env = "MMRUN_SNAPSHOT_DIR")]
    snapshot_dir: PathBuf,
    /// Accept every pending snapshot without asking.
    #[arg(long, conflicts_with = "reject_all")]
    accept_all: bool,
    /// Reject (delete) every pending snapshot without asking.
    #[arg(long)]
    reject_all: bool,
}

/// Snapshot files that cannot be read or written are the machine's problem.
pub fn run(args: ReviewArgs) -> CliResult {
    let dir = &args.snapshot_dir;
    let result = if args.accept_all {
        review::accept_all(dir).map(|s| {
            println!(
                "{} accepted, {} rejected, {} skipped",
                s.accepted, s.rejected, s.skipped
            )
        })
    } else if args.reject_all {
        review::reject_all(dir).map(|s| {
            println!(
                "{} accepted, {} rejected, {} skipped",
                s.accepted, s.rejected, s.skipped
            )
        })
    } else {
        if review::pending(dir).map(|p| p.is_empty()).unwrap_or(false) {
            println!("no pending snapshots in {}", dir.display());
            return Ok(());
        }
        let stdin = std::io::stdin();
        let color = std::io::stdout().is_terminal();
        review::review(dir, &mut stdin.lock(), &mut std::io::stdout(), color).map(|s| {
            println!(
                "{} accepted, {} rejected, {} skipped",
                s.accepted, s.rejected, s.skipped
            )
        })
    };
    result.map_err(CliError::environment)
}
