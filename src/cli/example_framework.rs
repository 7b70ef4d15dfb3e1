//! `mmrun example-framework`: a small, real v1 scheduler for trying framework containers
//! (`c.run_framework(…)` runs it from mmrun's node image). Like any framework in a container it
//! finds the master through `MESOS_MASTER` and its own address through `LIBPROCESS_IP`; it
//! launches its tasks, reports each state, and stays subscribed until stopped so the cluster's
//! state still shows it.

use super::{CliError, CliResult};
use crate::errors::WhileDoing;
use crate::framework::{Framework, FrameworkOptions, TaskRequest};
use crate::mesos::task::TaskState;
use clap::Args;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct ExampleFrameworkArgs {
    /// The master, host:port; default: $MESOS_MASTER.
    #[arg(long, env = "MESOS_MASTER")]
    master: String,
    /// The framework's name.
    #[arg(long, default_value = "example")]
    name: String,
    /// How many tasks to launch (named task-1, task-2, …).
    #[arg(long, default_value_t = 1)]
    tasks: usize,
    /// Each task's shell command.
    #[arg(long, default_value = "echo hello from $MESOS_TASK_ID")]
    cmd: String,
    /// How long each task may take to finish.
    #[arg(long, default_value = "60s", value_parser = crate::script::values::parse_duration)]
    timeout: Duration,
}

pub async fn run(args: ExampleFrameworkArgs) -> CliResult {
    let url = format!(
        "http://{}",
        args.master
            .trim_start_matches("http://")
            .trim_end_matches('/')
    );
    let libprocess_ip = std::env::var("LIBPROCESS_IP").unwrap_or_else(|_| "(unset)".into());
    println!(
        "example-framework {}: master {url}, LIBPROCESS_IP {libprocess_ip}",
        args.name
    );
    let framework = Framework::subscribe(&url, FrameworkOptions::named(&args.name))
        .await
        .map_err(|e| {
            CliError::environment(WhileDoing::new(format!("cannot subscribe to {url}"), e))
        })?;
    println!("subscribed as {}", framework.id());
    let names: Vec<String> = (1..=args.tasks).map(|i| format!("task-{i}")).collect();
    let launched = framework.launch(
        names
            .iter()
            .map(|name| TaskRequest::command(name, &args.cmd))
            .collect(),
    );
    launched.map_err(CliError::failed)?;
    let never = CancellationToken::new();
    let mut unfinished = Vec::new();
    for name in &names {
        match framework
            .await_task(name, TaskState::Finished, args.timeout, &never)
            .await
        {
            Ok(_) => println!("{name}: TASK_FINISHED"),
            Err(e) => {
                println!("{name}: {e}");
                unfinished.push(name.as_str());
            }
        }
    }
    if unfinished.is_empty() {
        println!("all {} tasks finished", names.len());
    }
    // Stay subscribed, so the master keeps listing the framework, until stopped.
    super::interrupted().await;
    framework.disconnect();
    match unfinished.as_slice() {
        [] => Ok(()),
        tasks => Err(CliError::failed(format!(
            "{} did not finish",
            tasks.join(", ")
        ))),
    }
}
