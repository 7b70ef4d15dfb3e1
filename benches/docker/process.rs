//! The Docker scenario's cost as a whole process, against bare containers, in one run
//! (`cargo bench --bench docker -- process`; docs/benchmarks.md):
//!
//! - mmrun: the release binary (`CARGO_BIN_EXE_mmrun`; benches build in the release profile)
//!   runs `run --backend docker` of a script that starts a master and 3 agents and ends,
//!   timed from spawning it to its exit, which must be 0: start, reaper, teardown, everything;
//! - bare: the `docker` CLI makes a fresh network, `docker run -d`s 4 containers on it
//!   (concurrently, `sleep`), then `docker rm -f`s them and removes the network, all in the
//!   timed span; once with mmrun's node image (what the containers alone cost), once with the
//!   busybox image (the floor any tool pays: a userland of 2 MB, nothing of mmrun's weight).
//!
//! The three alternate run by run, so they see the same engine and machine load. mmrun runs
//! with `MMRUN_TIMING=1`; its phase lines give the breakdown (median start and duration of
//! each phase, in ms since mmrun's `main`). `MMRUN_BENCH_MMRUN=/path/to/mmrun` times another
//! build of mmrun instead (an older one, for a before/after figure).

use super::{median, report, verdict};
use mmrun::docker::labels::new_run_id;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// mmrun against the busybox floor (issue #17).
const RATIO_TARGET: f64 = 1.2;
const NODES: usize = 4;
const SCRIPT: &str = "// A master and 3 agents, started together; the scenario ends once all are active.\nlet c = cluster(#{ agents: 3 });\n";

/// `node_image`: mmrun's node image; `busybox_image`: the busybox image (the floor).
pub async fn bench(node_image: &str, busybox_image: &str, runs: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let script = dir.path().join("master_and_3_agents.rhai");
    std::fs::write(&script, SCRIPT).expect("the script");
    let (mut mmrun, mut bare_node, mut bare_busybox) = (Vec::new(), Vec::new(), Vec::new());
    let mut phases: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for run in 0..=runs {
        let (dir_path, script) = (dir.path().to_path_buf(), script.clone());
        let (took, timings) = tokio::task::spawn_blocking(move || mmrun_run(&dir_path, &script))
            .await
            .expect("the mmrun run");
        let node = bare_run(node_image).await;
        let busybox = bare_run(busybox_image).await;
        // The first run of each warms up (page cache, the engine's image layers).
        if run > 0 {
            mmrun.push(took);
            bare_node.push(node);
            bare_busybox.push(busybox);
            for (name, start, took) in timings {
                phases.entry(name).or_default().push((start, took));
            }
        }
    }
    report("mmrun run: master + 3 agents, whole process", &mmrun, None);
    report(
        "docker CLI: 4 busybox containers (the floor)",
        &bare_busybox,
        None,
    );
    report("docker CLI: 4 node-image containers", &bare_node, None);
    let ratio = |bare: &[Duration]| median(&mmrun).as_secs_f64() / median(bare).as_secs_f64();
    let floor = ratio(&bare_busybox);
    println!(
        "  ratio mmrun / busybox floor: {floor:.2}   target <= {RATIO_TARGET}  {}",
        verdict(floor <= RATIO_TARGET)
    );
    println!(
        "  ratio mmrun / node-image containers: {:.2}",
        ratio(&bare_node)
    );
    println!("where mmrun's time goes (MMRUN_TIMING phases; median start and duration, ms):");
    let mut rows: Vec<(String, f64, f64, usize)> = phases
        .into_iter()
        .map(|(name, v)| {
            let count = v.len() / runs.max(1);
            let starts: Vec<f64> = v.iter().map(|p| p.0).collect();
            let tooks: Vec<f64> = v.iter().map(|p| p.1).collect();
            (name, median_f(&starts), median_f(&tooks), count)
        })
        .collect();
    rows.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (name, start, took, count) in rows {
        let times = if count > 1 {
            format!("   ({count} per run)")
        } else {
            String::new()
        };
        println!("  {name:<28} at {start:>7.1}  took {took:>7.1}{times}");
    }
}

/// One [`bare_cli`] run of `image`, off the runtime's workers.
async fn bare_run(image: &str) -> Duration {
    let image = image.to_string();
    tokio::task::spawn_blocking(move || bare_cli(&image))
        .await
        .expect("the bare run")
}

fn median_f(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One `mmrun run` to its end: its duration and its timing lines.
fn mmrun_run(dir: &Path, script: &Path) -> (Duration, Vec<(String, f64, f64)>) {
    // Another mmrun build (an older one, for a before/after figure) when named.
    let mmrun =
        std::env::var_os("MMRUN_BENCH_MMRUN").unwrap_or_else(|| env!("CARGO_BIN_EXE_mmrun").into());
    let started = Instant::now();
    let out = Command::new(mmrun)
        .args(["run", "--backend", "docker", "-j", "1"])
        .arg(script)
        .args(["--snapshot-dir"])
        .arg(dir.join("snapshots"))
        .args(["--artifacts-dir"])
        .arg(dir.join("artifacts"))
        .current_dir(dir)
        .env("MMRUN_TIMING", "1")
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .expect("mmrun runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mmrun run failed ({}):\n{}\n{stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let timings = stderr
        .lines()
        .filter_map(mmrun::timing::parse)
        .map(|(n, s, t)| (n.to_string(), s, t))
        .collect();
    (took, timings)
}

/// What the bare run made, removed when it drops, whatever happened.
struct BareObjects {
    network: String,
    containers: Vec<String>,
}

impl Drop for BareObjects {
    fn drop(&mut self) {
        if !self.containers.is_empty() {
            let _ = docker(&[&["rm", "-f"][..], &to_strs(&self.containers)].concat());
        }
        if !self.network.is_empty() {
            let _ = docker(&["network", "rm", &self.network]);
        }
    }
}

fn to_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the docker CLI runs")
}

fn must(out: Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh network, 4 containers of `image` started on it, then all removed, through the
/// `docker` CLI as a user would do it by hand.
fn bare_cli(image: &str) -> Duration {
    let run = new_run_id();
    let label = format!("io.mmrun.run={run}");
    let mut objects = BareObjects {
        network: format!("mmrun-{run}-bench-bare-network"),
        containers: (1..=NODES)
            .map(|i| format!("mmrun-{run}-bench-bare-{i}"))
            .collect(),
    };
    let started = Instant::now();
    must(
        docker(&[
            "network",
            "create",
            "--label",
            "io.mmrun.managed-by=mmrun",
            "--label",
            &label,
            &objects.network,
        ]),
        "docker network create",
    );
    let children: Vec<_> = objects
        .containers
        .iter()
        .map(|name| {
            Command::new("docker")
                .args(["run", "-d", "--network", &objects.network, "--name", name])
                .args(["--label", "io.mmrun.managed-by=mmrun", "--label", &label])
                // Busybox's applet or the host's own `sleep`, whichever the image holds.
                .args(["--entrypoint", "/bin/sleep", image, "600"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("docker run")
        })
        .collect();
    for child in children {
        must(child.wait_with_output().expect("docker run"), "docker run");
    }
    must(
        docker(&[&["rm", "-f"][..], &to_strs(&objects.containers)].concat()),
        "docker rm -f",
    );
    objects.containers.clear();
    must(
        docker(&["network", "rm", &objects.network]),
        "docker network rm",
    );
    objects.network.clear();
    started.elapsed()
}
