//! `cargo bench --bench docker`: the Docker backend on the real engine, against the engine's own
//! floor, in the same run:
//!
//! - cluster ready: `create` (network) + a master and 3 agents started together, until the
//!   master lists all 3 agents as active;
//! - bare start: the same number of containers (4, of the same image, running `sleep`) created
//!   and started concurrently — what any tool pays before its nodes do anything;
//! - whole scenario: cluster up, one task run to TASK_FINISHED, teardown, through the runner's
//!   own `run_scenario`;
//! - each node container's memory (as `docker stats` counts it), in a 3-agent cluster;
//! - HA (`ha`): ZooKeeper + 3 masters + 3 agents ready, against 7 bare containers started
//!   concurrently in the same run; then in that cluster the leader stopped, and the next one
//!   killed: time to a new leader serving and to every agent re-registered with it
//!   (benches/ha/failover.rs).
//!
//! - whole process (`process`): a real `mmrun run --backend docker` process (the release
//!   binary) of a script that starts a master and 3 agents and ends, against the `docker` CLI
//!   making a fresh network and 4 containers, then removing them and the network, interleaved:
//!   with the busybox image (the floor) and with the node image; with where mmrun's time goes,
//!   from its `MMRUN_TIMING` lines.
//!
//! `cargo bench --bench docker -- ha` runs only the HA part; `-- process` only the whole
//! process; `-- ready` only the others.
//! Medians (min, max) over `MMRUN_BENCH_RUNS` runs (default 10) after one warm-up run. Targets
//! are printed as PASS/MISS; the bench never fails on timing. docs/benchmarks.md explains them.

#[path = "ha/failover.rs"]
mod failover;
#[path = "docker/process.rs"]
mod process;

use mmrun::cluster::docker::DockerBackend;
use mmrun::cluster::docker::specs::NodeImages;
use mmrun::cluster::{AgentSpec, Backend, ClusterSpec};
use mmrun::docker::labels::new_run_id;
use mmrun::docker::{ContainerSpec, Docker, NodeImage, Owner, Role, Selector, remove_labelled};
use mmrun::script::run::{ScenarioInput, run_scenario};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const AGENTS: usize = 3;
const READY_RATIO_TARGET: f64 = 1.2;
const SCENARIO_TARGET: Duration = Duration::from_secs(3);

const SCENARIO: &str = r#"
let c = cluster(#{ agents: 1 });
c.submit_framework(#{ name: "bench", tasks: [#{ name: "t", cmd: "true" }] });
c.await_task("t", "TASK_FINISHED");
"#;

fn main() {
    let runs: usize = std::env::var("MMRUN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10);
    // `cargo bench` passes `--bench`; a filter argument selects parts.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(bench(runs, &only));
}

async fn bench(runs: usize, only: &[String]) {
    let wants = |part: &str| only.is_empty() || only.iter().any(|o| part.contains(o.as_str()));
    let docker = match Docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            println!("mmrun docker bench: skipped: {e}");
            return;
        }
    };
    let binary = Path::new(env!("CARGO_BIN_EXE_mmrun")).to_path_buf();
    let image = tokio::task::spawn_blocking(move || NodeImage::for_binary(&binary))
        .await
        .unwrap()
        .expect("the node image's files");
    let built = Instant::now();
    if image.ensure(&docker).await.expect("the node image") {
        println!(
            "built {} in {:.2} s",
            image.tag(),
            built.elapsed().as_secs_f64()
        );
    }
    let tag = image.tag().to_string();
    let backend = Arc::new(DockerBackend::new(
        docker.clone(),
        NodeImages::Mmrun { image: tag.clone() },
    ));
    println!("mmrun docker bench: {runs} runs per figure after 1 warm-up run, image {tag}");

    if wants("ha") {
        ha(&backend, &docker, &tag, runs).await;
    }
    if wants("process") {
        let busybox = mmrun::docker::ensure_busybox_image(&docker)
            .await
            .expect("the busybox image");
        process::bench(&tag, &busybox, runs).await;
    }
    if !wants("ready") {
        return;
    }
    let mut ready = Vec::new();
    let mut bare = Vec::new();
    let mut network = Vec::new();
    let mut scenario = Vec::new();
    for run in 0..=runs {
        // Interleaved, so all see the same engine and machine load.
        let r = cluster_ready(&backend).await;
        let b = bare_start(&docker, &tag, AGENTS + 1).await;
        let n = network_create(&docker).await;
        let s = whole_scenario(&backend).await;
        if run > 0 {
            ready.push(r);
            bare.push(b);
            network.push(n);
            scenario.push(s);
        }
    }
    let (ready_median, bare_median) = (median(&ready), median(&bare));
    report("cluster ready (master + 3 agents active)", &ready, None);
    report("bare start (4 containers, concurrently)", &bare, None);
    report("  of which a cluster also pays: a network", &network, None);
    let ratio = ready_median.as_secs_f64() / bare_median.as_secs_f64();
    println!(
        "  ratio ready / bare: {ratio:.2}   target <= {READY_RATIO_TARGET}  {}",
        verdict(ratio <= READY_RATIO_TARGET)
    );
    report(
        "whole scenario (up, 1 task finished, down)",
        &scenario,
        Some(SCENARIO_TARGET),
    );
    memory(&backend, &docker).await;
}

/// ZooKeeper + 3 masters + 3 agents: ready (the leader lists every agent active) against the
/// same number of bare containers, interleaved; then failover in that cluster.
async fn ha(backend: &Arc<DockerBackend>, docker: &Docker, image: &str, runs: usize) {
    let nodes = 1 + failover::MASTERS + AGENTS;
    let (mut ready, mut bare, mut stopped, mut killed) = (vec![], vec![], vec![], vec![]);
    for run in 0..=runs {
        let started = Instant::now();
        let mut cluster = failover::ha_cluster(backend.as_ref(), "bench-ha", AGENTS).await;
        let r = started.elapsed();
        let s = failover::fail_over(cluster.as_mut(), true, AGENTS, failover::POLL).await;
        // The new leader of the two left, killed: the last one leads once its session ends.
        let k = failover::fail_over(cluster.as_mut(), false, AGENTS, failover::POLL).await;
        cluster.teardown().await;
        let b = bare_start(docker, image, nodes).await;
        if run > 0 {
            ready.push(r);
            bare.push(b);
            stopped.push(s);
            killed.push(k);
        }
    }
    report("HA cluster ready (ZK + 3 masters + 3 agents)", &ready, None);
    report(
        &format!("bare start ({nodes} containers, concurrently)"),
        &bare,
        None,
    );
    println!(
        "  ratio ready / bare: {:.2}",
        median(&ready).as_secs_f64() / median(&bare).as_secs_f64()
    );
    let leader = |f: &[failover::Failover]| f.iter().map(|f| f.leader).collect::<Vec<_>>();
    let agents = |f: &[failover::Failover]| f.iter().map(|f| f.agents).collect::<Vec<_>>();
    report("leader stopped -> another elected", &leader(&stopped), None);
    report(
        "  ... -> 3 agents re-registered with it",
        &agents(&stopped),
        None,
    );
    report(
        "leader killed (2 s session) -> elected",
        &leader(&killed),
        None,
    );
    report(
        "  ... -> 3 agents re-registered with it",
        &agents(&killed),
        None,
    );
}

async fn cluster_ready(backend: &Arc<DockerBackend>) -> Duration {
    let started = Instant::now();
    let mut cluster = backend
        .create(spec("bench-ready"))
        .await
        .expect("a cluster");
    cluster
        .start_cluster(vec![AgentSpec::default(); AGENTS])
        .await
        .expect("the cluster starts");
    let took = started.elapsed();
    cluster.teardown().await;
    took
}

/// `count` containers of `image` running `sleep`, created and started concurrently.
async fn bare_start(docker: &Docker, image: &str, count: usize) -> Duration {
    let owner = Owner::new(&new_run_id(), "bench-bare");
    let specs: Vec<ContainerSpec> = (0..count)
        .map(|i| ContainerSpec {
            name: owner.name(Role::Agent, Some(i + 1)),
            image: image.to_string(),
            // Busybox's applet or the host's own `sleep`, whichever the image was made of.
            entrypoint: Some(vec!["/bin/sleep".into()]),
            cmd: vec!["600".into()],
            labels: owner.labels(Role::Agent),
            ..ContainerSpec::default()
        })
        .collect();
    let started = Instant::now();
    futures::future::join_all(specs.iter().map(|s| async {
        let id = docker.create_container(s).await.expect("created");
        docker.start_container(&id).await.expect("started");
    }))
    .await;
    let took = started.elapsed();
    remove_labelled(docker, &Selector::run(&owner.run))
        .await
        .expect("removed");
    took
}

/// Creating (and removing) a user-defined network on a chosen subnet, as each cluster does.
async fn network_create(docker: &Docker) -> Duration {
    let owner = Owner::new(&new_run_id(), "bench-network");
    let started = Instant::now();
    let mut subnet = 200u8;
    while docker
        .create_network_on(
            &owner.name(Role::Network, None),
            &owner.labels(Role::Network),
            &format!("10.213.{subnet}.0/24"),
        )
        .await
        .expect("a network")
        .is_none()
    {
        subnet = subnet.wrapping_add(1);
    }
    let took = started.elapsed();
    remove_labelled(docker, &Selector::run(&owner.run))
        .await
        .expect("removed");
    took
}

async fn whole_scenario(backend: &Arc<DockerBackend>) -> Duration {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("bench.rhai");
    std::fs::write(&path, SCENARIO).expect("the script");
    let started = Instant::now();
    let run = run_scenario(ScenarioInput {
        path,
        display: "bench-scenario".into(),
        backend: backend.clone(),
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

async fn memory(backend: &Arc<DockerBackend>, docker: &Docker) {
    let mut cluster = backend
        .create(spec("bench-memory"))
        .await
        .expect("a cluster");
    cluster
        .start_cluster(vec![AgentSpec::default(); AGENTS])
        .await
        .expect("the cluster starts");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let nodes = docker
        .list_containers(&Selector::managed().with("io.mmrun.scenario", "bench-memory"))
        .await
        .expect("listed");
    println!("node container memory (docker stats, after 1 s idle):");
    let mut rows: Vec<(String, u64)> = Vec::new();
    for n in nodes {
        let bytes = docker.container_memory(&n.id).await.unwrap_or(0);
        rows.push((n.name, bytes));
    }
    rows.sort();
    for (name, bytes) in rows {
        println!("  {name:<60} {:>6.1} MiB", bytes as f64 / 1048576.0);
    }
    cluster.teardown().await;
}

fn spec(scenario: &str) -> ClusterSpec {
    ClusterSpec {
        scenario: scenario.into(),
        ..ClusterSpec::default()
    }
}

fn median(values: &[Duration]) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn report(what: &str, values: &[Duration], target: Option<Duration>) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (min, max) = (values.iter().min().unwrap(), values.iter().max().unwrap());
    let mut line = format!(
        "{what:<46} median {:>8.1} ms  (min {:.1}, max {:.1})",
        ms(median(values)),
        ms(*min),
        ms(*max)
    );
    if let Some(t) = target {
        line.push_str(&format!(
            "   target <= {:.0} ms  {}",
            ms(t),
            verdict(median(values) <= t)
        ));
    }
    println!("{line}");
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}
