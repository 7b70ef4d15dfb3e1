//! `mmrun clean`: removes the containers and networks that runs whose process is gone left
//! behind (a SIGKILL, a crash, a cancelled CI job). Every run does the same when it starts.

use crate::docker::{self, Docker, Selector};
use crate::exit_codes;
use clap::Args;

#[derive(Args)]
pub struct CleanArgs {
    /// Remove everything mmrun created, including the clusters of runs still going.
    #[arg(long)]
    all: bool,
}

pub async fn run(args: CleanArgs) -> i32 {
    let docker = match Docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mmrun clean: {e}");
            return exit_codes::ENVIRONMENT;
        }
    };
    let removed = if args.all {
        docker::remove_labelled(&docker, &Selector::managed()).await
    } else {
        docker::reap_orphans(&docker).await
    };
    match removed {
        Ok(removed) if removed.is_empty() => {
            println!("nothing to clean");
            exit_codes::OK
        }
        Ok(removed) => {
            for name in removed.containers.iter().chain(&removed.networks) {
                println!("removed {name}");
            }
            println!(
                "removed {} containers and {} networks",
                removed.containers.len(),
                removed.networks.len()
            );
            exit_codes::OK
        }
        Err(e) => {
            eprintln!("mmrun clean: {e}");
            exit_codes::ENVIRONMENT
        }
    }
}
