//! `mmrun ps` and `mmrun down`: the Docker clusters mmrun is running (or kept with `--keep`),
//! listed and removed by label.

use crate::docker::labels::{PID, ROLE, RUN, SCENARIO};
use crate::docker::{self, ContainerSummary, Docker, Selector};
use crate::exit_codes;
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
pub async fn ps() -> i32 {
    let docker = match Docker::connect().await {
        Ok(d) => d,
        Err(e) => return fail("ps", e),
    };
    let containers = match docker.list_containers(&Selector::managed()).await {
        Ok(c) => c,
        Err(e) => return fail("ps", e),
    };
    let mut runs: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for c in containers {
        let run = c.labels.get(RUN).cloned().unwrap_or_default();
        runs.entry(run).or_default().push(c);
    }
    if runs.is_empty() {
        println!("no mmrun clusters");
        return exit_codes::OK;
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
    exit_codes::OK
}

/// Removes the named clusters (or all): every container, task containers too, and networks.
pub async fn down(args: DownArgs) -> i32 {
    let docker = match Docker::connect().await {
        Ok(d) => d,
        Err(e) => return fail("down", e),
    };
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
        match docker::remove_labelled(&docker, &selector).await {
            Ok(removed) if removed.is_empty() && run.is_some() => {
                eprintln!(
                    "mmrun down: there is no cluster {} (`mmrun ps` lists them)",
                    run.map(String::as_str).unwrap_or_default()
                );
                return exit_codes::USAGE;
            }
            Ok(removed) => {
                for name in removed.containers.iter().chain(&removed.networks) {
                    println!("removed {name}");
                }
                total += removed.containers.len() + removed.networks.len();
            }
            Err(e) => return fail("down", e),
        }
    }
    println!("removed {total} object(s)");
    exit_codes::OK
}

fn fail(command: &str, e: impl std::fmt::Display) -> i32 {
    eprintln!("mmrun {command}: {e}");
    exit_codes::ENVIRONMENT
}
