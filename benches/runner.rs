//! The scenario runner's speed: `cargo bench --bench runner`.
//!
//! Prints medians (and min/max) over MMRUN_BENCH_RUNS runs (default 20) of:
//! - the shipped suite (scripts/) at -j 1 and -j 2, wall time through the real runner;
//! - the overhead per scenario: an empty script (engine build + compile + run), and a scenario
//!   that only brings a cluster up (master + 1 agent) and tears it down.
//!
//! Target: ≤ 50 ms overhead per scenario in-process. Figures, not assertions: this never fails.

use mmrun::cluster::embedded::Embedded;
use mmrun::report::Reporter;
use mmrun::runner::{self, RunEvent, RunOptions};
use mmrun::script::executor::ScriptExecutor;
use mmrun::script::run::{ScenarioInput, run_scenario};
use mmrun::snapshot::store::SnapshotStore;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Quiet;
impl Reporter for Quiet {
    fn report(&mut self, _: &RunEvent) {}
    fn finish(&mut self) -> Result<(), mmrun::report::ReportError> {
        Ok(())
    }
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

fn row(what: &str, samples: Vec<Duration>, target: Option<Duration>) {
    let (median, min, max) = stats(samples);
    let verdict = target.map_or(String::new(), |t| {
        format!(
            "  target ≤ {:.0} ms: {}",
            t.as_secs_f64() * 1e3,
            if median <= t { "PASS" } else { "MISS" }
        )
    });
    println!(
        "{what:<44} median {:>8.2} ms   min {:>8.2} ms   max {:>8.2} ms{verdict}",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}

async fn one_script(path: PathBuf) -> Duration {
    let started = Instant::now();
    let run = run_scenario(ScenarioInput {
        path,
        display: "bench".into(),
        backend: Arc::new(Embedded),
        cancel: Default::default(),
        snapshots: None,
        artifacts_dir: None,
        keep_failed: false,
        framework_api: Default::default(),
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result.err());
    started.elapsed()
}

fn main() {
    let runs: usize = std::env::var("MMRUN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(&root).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let empty = scratch.path().join("empty.rhai");
    std::fs::write(&empty, "let x = 1;\n").unwrap();
    let up_down = scratch.path().join("up_down.rhai");
    std::fs::write(
        &up_down,
        "let c = cluster();\nc.start_master();\nc.add_agent();\n",
    )
    .unwrap();

    println!(
        "mmrun runner benchmark: {runs} runs each, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    rt.block_on(async {
        let scenarios = runner::discover(&[root.join("scripts")]).unwrap();
        let count = scenarios.len();
        for jobs in [1, 2] {
            let mut samples = Vec::new();
            for _ in 0..runs {
                let store = Arc::new(
                    SnapshotStore::from_vars(root.join("snapshots"), false, |k| {
                        (k == "CI").then(|| "true".into())
                    })
                    .unwrap(),
                );
                let executor = Arc::new(ScriptExecutor {
                    backend: Arc::new(Embedded),
                    snapshots: store,
                    artifacts_dir: None,
                    keep_failed: false,
                    framework_api: Default::default(),
                });
                let options = RunOptions {
                    jobs,
                    ..RunOptions::default()
                };
                let started = Instant::now();
                let summary = runner::run(
                    scenarios.clone(),
                    executor,
                    options,
                    &mut Quiet,
                    Default::default(),
                )
                .await;
                samples.push(started.elapsed());
                assert_eq!(summary.exit_code(), 0, "the suite must pass to be timed");
            }
            row(
                &format!("suite of {count} scenarios, -j {jobs}"),
                samples,
                None,
            );
        }
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(one_script(empty.clone()).await);
        }
        row(
            "empty scenario (engine, compile, run)",
            samples,
            Some(Duration::from_millis(50)),
        );
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(one_script(up_down.clone()).await);
        }
        row(
            "cluster up (master + 1 agent) and down",
            samples,
            Some(Duration::from_millis(50)),
        );
    });
}
