//! `mmrun run [PATHS…]`: every `.rhai` scenario against its own fresh cluster, reported like
//! cargo-nextest, with snapshots checked in insta's format.

use super::backend::{self, BackendChoice};
use super::{CliError, CliResult};
use crate::framework::FrameworkApi;
use crate::report::{
    FanOut, Reporter, html::HtmlReporter, junit::JunitReporter, terminal::TerminalReporter,
};
use crate::runner::{self, Filter, RunOptions, Shard};
use crate::script::executor::ScriptExecutor;
use crate::snapshot::store::SnapshotStore;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct RunArgs {
    /// Scenario files or directories (searched for *.rhai); default: scripts/
    paths: Vec<PathBuf>,
    /// Scenarios run at once (default: number of cores).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Where clusters run.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto, env = "MMRUN_BACKEND")]
    backend: BackendChoice,
    /// The cluster to run against with `--backend external` (implied by this option):
    /// `http://host:5050`, `host:5050` or `zk://host:2181/mesos` (the leader ZooKeeper names).
    #[arg(long, value_name = "URL", env = "MMRUN_MASTER")]
    master: Option<String>,
    /// Run real Mesos from this image (holding mesos-master and mesos-agent) instead of
    /// mmrun's nodes; it must already be in the Docker engine.
    #[arg(long, value_name = "IMAGE")]
    mesos_image: Option<String>,
    /// When a scenario fails, leave its cluster running and print how to reach it
    /// (Docker backend; remove it with `mmrun down`).
    #[arg(long)]
    keep: bool,
    /// Where failed scenarios' node logs and master state (embedded: agent states too) are saved.
    #[arg(long, default_value = "target/mmrun-artifacts", value_name = "DIR")]
    artifacts_dir: PathBuf,
    /// Run only scenarios whose name matches this regular expression.
    #[arg(long)]
    filter: Option<String>,
    /// Leave out scenarios whose name matches this regular expression (after --filter).
    #[arg(long, value_name = "REGEX")]
    skip: Option<String>,
    /// Run the K-th of N slices of the suite (1-based), e.g. --shard 2/3 on CI machine 2.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Limit per scenario attempt, e.g. 60s or 2m.
    #[arg(long, default_value = "120s", value_parser = crate::script::values::parse_duration)]
    timeout: Duration,
    /// Retry a failed scenario up to N times; a pass on retry is reported as flaky.
    #[arg(long, default_value_t = 0)]
    retries: u32,
    /// Stop at the first failure: cancel running scenarios and skip the rest.
    #[arg(long)]
    fail_fast: bool,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write an HTML report here: one self-contained file with every scenario's status,
    /// log, failure and timeline (see docs/report.md).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Accept new and changed snapshots (write them as .snap).
    #[arg(long)]
    accept: bool,
    /// Where snapshots live.
    #[arg(long, default_value = "snapshots", env = "MMRUN_SNAPSHOT_DIR")]
    snapshot_dir: PathBuf,
    /// How mmrun's frameworks (`submit_framework`) talk to the master unless a script says:
    /// `http` (the v1 scheduler API) or `driver` (libprocess, as the Mesos scheduler driver).
    /// Running a suite both ways checks that a master treats both alike.
    #[arg(long, value_enum, default_value_t = ApiChoice::Http, env = "MMRUN_FRAMEWORK_API")]
    framework_api: ApiChoice,
    /// Run without checking the scripts first (`mmrun check`: unknown functions, methods and
    /// option keys stop the run before any cluster starts).
    #[arg(long)]
    no_check: bool,
}

/// `--framework-api`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ApiChoice {
    Http,
    Driver,
}

impl From<ApiChoice> for FrameworkApi {
    fn from(choice: ApiChoice) -> FrameworkApi {
        match choice {
            ApiChoice::Http => FrameworkApi::Http,
            ApiChoice::Driver => FrameworkApi::Driver,
        }
    }
}

/// The backend `--backend` and `--master` ask for, connected; its reaper not started yet.
async fn choose_backend(args: &RunArgs) -> Result<backend::Chosen, CliError> {
    Ok(match (args.backend, &args.master) {
        (BackendChoice::External, master) | (BackendChoice::Auto, master @ Some(_)) => {
            backend::external(master.as_deref(), args.mesos_image.as_deref())?
        }
        (choice, Some(_)) => {
            return Err(CliError::usage(format!(
                "--master (or MMRUN_MASTER) names an external cluster: use it with --backend external, not {}",
                choice
                    .to_possible_value()
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            )));
        }
        (choice, None) => {
            backend::choose_before_reaper(choice, args.mesos_image.as_deref(), args.keep).await?
        }
    })
}

/// Runs the scenarios; their outcome is the summary's exit code, reported by the reporters.
pub async fn run(args: RunArgs) -> CliResult {
    let scenarios = runner::discover(&args.paths).map_err(CliError::usage)?;
    let filter = args
        .filter
        .as_deref()
        .map(Filter::new)
        .transpose()
        .map_err(CliError::usage)?;
    let shard = args
        .shard
        .as_deref()
        .map(str::parse::<Shard>)
        .transpose()
        .map_err(CliError::usage)?;
    let skip = args
        .skip
        .as_deref()
        .map(Filter::new)
        .transpose()
        .map_err(CliError::usage)?;
    let mut scenarios =
        runner::select(scenarios, filter.as_ref(), shard).map_err(CliError::usage)?;
    if let Some(skip) = &skip {
        scenarios.retain(|s| !skip.matches(s));
    }
    // The scripts are checked while the backend is connected (the Docker image check and the
    // leftovers scan cost daemon round trips): neither needs the other. A run with a mistake
    // in a script still starts nothing: the reaper starts only once both are done.
    let chosen = {
        let check = async {
            match args.no_check {
                true => Ok(()),
                false => {
                    crate::timing::timed("scripts.check", super::check::before_run(&scenarios))
                        .await
                }
            }
        };
        let choosing = choose_backend(&args);
        tokio::pin!(check, choosing);
        tokio::select! {
            checked = &mut check => {
                checked?;
                choosing.await?
            }
            chosen = &mut choosing => {
                // A mistake in a script is reported first, whatever the backend said.
                check.await?;
                chosen?
            }
        }
    }
    .with_reaper();
    eprintln!("mmrun: {}", chosen.description);
    let backend = chosen.backend.clone();
    let snapshots = Arc::new(
        SnapshotStore::from_env(args.snapshot_dir.clone(), args.accept).map_err(CliError::usage)?,
    );
    let executor = Arc::new(ScriptExecutor {
        backend,
        snapshots,
        artifacts_dir: Some(args.artifacts_dir.clone()),
        keep_failed: args.keep,
        framework_api: args.framework_api.into(),
    });
    let mut options = RunOptions {
        timeout: args.timeout,
        retries: args.retries,
        fail_fast: args.fail_fast,
        ..RunOptions::default()
    };
    if let Some(j) = args.jobs {
        options.jobs = j.max(1);
    } else if chosen.backend.name() == "external" {
        // Scenarios at once would share the one cluster: each would see the others'
        // frameworks in its snapshots and compete for its agents.
        options.jobs = 1;
    }
    let mut reporter = FanOut::new().with(TerminalReporter::stdout());
    if let Some(path) = &args.junit {
        reporter = reporter.with(JunitReporter::new(path.clone()));
    }
    if let Some(path) = &args.html {
        reporter = reporter.with(HtmlReporter::new(path.clone()));
    }
    let interrupt = CancellationToken::new();
    let on_signal = interrupt.clone();
    let watcher = tokio::spawn(async move {
        super::interrupted().await;
        eprintln!("mmrun: interrupted; stopping scenarios and tearing their clusters down");
        on_signal.cancel();
    });
    let summary = crate::timing::timed(
        "runner.run",
        runner::run(scenarios, executor, options, &mut reporter, interrupt),
    )
    .await;
    watcher.abort();
    chosen.release().await;
    reporter.finish().map_err(CliError::environment)?;
    CliError::from_exit_code(summary.exit_code())
}
