//! `mmrun ps` and `mmrun down`: the Docker clusters mmrun is running (or kept with `--keep`),
//! listed and removed by label.

use super::{CliError, CliResult};
use crate::docker::labels::{PID, ROLE, RUN, SCENARIO};
use crate::docker::{self, ContainerSummary, Docker, Selector};
use clap::Args;
use std::collections::BTreeMap;

#[derive(Args)]
pub struct DownArgs {
    /// The clusters to remove, by run id (as `mmrun ps` lists them).
    #[arg(required_unless_present = "all")]
    runs: Vec<String>,
    /// Remove every mmrun cluster on this daemon, running or kept.
    #[arg(long)]
    all: bool,
}

/// Prints one line per cluster: run id, scenario, nodes, state, and the creating process.
pub async fn ps() -> CliResult {
    let docker = Docker::connect().await?;
    let containers = docker.list_containers(&Selector::managed()).await?;
    let mut runs: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for c in containers {
        let run = c.labels.get(RUN).cloned().unwrap_or_default();
        runs.entry(run).or_default().push(c);
    }
    if runs.is_empty() {
        println!("no mmrun clusters");
        return Ok(());
    }
    println!(
        "{:<10} {:<36} {:<26} {:<8} PROCESS",
        "RUN", "SCENARIO", "NODES", "STATE"
    );
    for (run, containers) in runs {
        let first = &containers[0];
        let scenario = first.labels.get(SCENARIO).cloned().unwrap_or_default();
        let pid = first.labels.get(PID).cloned().unwrap_or_default();
        let count = |role: &str| {
            containers
                .iter()
                .filter(|c| c.labels.get(ROLE).is_some_and(|r| r == role))
                .count()
        };
        let nodes = format!(
            "{} master, {} agent(s), {} task(s)",
            count("master"),
            count("agent"),
            count("task")
        );
        let running = containers.iter().filter(|c| c.state == "running").count();
        let state = if running == containers.len() {
            "up"
        } else {
            "partly"
        };
        let kept = first
            .labels
            .get(crate::docker::labels::KEEP)
            .is_some_and(|v| v == "true");
        let owner = if docker::cleanup::process_is_alive(pid.parse().unwrap_or(0)) {
            format!("pid {pid}")
        } else if kept {
            format!("pid {pid} (gone; kept by --keep)")
        } else {
            format!("pid {pid} (gone)")
        };
        println!("{run:<10} {scenario:<36} {nodes:<26} {state:<8} {owner}");
    }
    Ok(())
}

/// Removes the named clusters (or all): every container, task containers too, and networks.
pub async fn down(args: DownArgs) -> CliResult {
    let docker = Docker::connect().await?;
    // (what to remove, the run id the user named)
    let targets: Vec<(Selector, Option<&String>)> = if args.all {
        vec![(Selector::managed(), None)]
    } else {
        args.runs
            .iter()
            .map(|r| (Selector::run(r), Some(r)))
            .collect()
    };
    let mut total = 0;
    for (selector, run) in targets {
        let removed = docker::remove_labelled(&docker, &selector).await?;
        if let Some(run) = run.filter(|_| removed.is_empty()) {
            return Err(CliError::usage(format!(
                "there is no cluster {run} (`mmrun ps` lists them)"
            )));
        }
        for name in removed.containers.iter().chain(&removed.networks) {
            println!("removed {name}");
        }
        total += removed.containers.len() + removed.networks.len();
    }
    println!("removed {total} object(s)");
    Ok(())
}
