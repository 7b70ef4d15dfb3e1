//! Data-center scale on one machine: `cargo bench --bench scale`.
//!
//! For N simulated agents (`MMRUN_BENCH_SCALE_N`, default 100,1000,10000,50000), each in a
//! process of its own (so each memory figure is that size's alone), on a fresh in-process
//! cluster with Mesos's liveness defaults (pings every 15 s, 5 misses):
//! how long until all N are registered and the process's memory then (master and the
//! simulated agents' host share it); a framework's first OFFERS after SUBSCRIBE in JSON and
//! in protobuf (one allocation pass over N agents, encoded); `GET /master/state` and the
//! operator GET_STATE; 10 000 tasks launched from one framework until all are TASK_RUNNING
//! (every update acknowledged); an implicit reconciliation of them. Then, with ZooKeeper
//! installed, a leader failover on an HA cluster (ZooKeeper + 3 masters) with
//! `MMRUN_BENCH_SCALE_FAILOVER` simulated agents (default 10 000; 0 skips it): the leader
//! stopped, then the new leader killed, each timed to another master elected and to every
//! agent re-registered and active with it (`benches/ha/failover.rs`). Figures, not assertions:
//! targets are printed as PASS/MISS and the bench never fails. docs/benchmarks.md has the
//! figures measured here.

#[path = "../tests/it/common/mod.rs"]
mod common;
// `ha_cluster` is for the benches with a few agents; this one sizes its own cluster.
#[allow(dead_code)]
#[path = "ha/failover.rs"]
mod failover;

use common::*;
use mmrun::client::Subscription;
use mmrun::cluster::{AgentSpec, Backend, ClusterSpec};
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use mmrun::lite::sim::Behaviour;
use mmrun::mesos::encoding::Encoding;
use mmrun::mesos::scheduler::{Call, CallType, EventType, Offer, Reconcile};
use mmrun::mesos::task::TaskState;
use std::time::{Duration, Instant};

const TASKS: usize = 10_000;
/// 0.1 cpus each on 4-cpu agents, below the brim (forty would sum to just over 4.0).
const TASKS_PER_AGENT: usize = 39;
const AGENT_RESOURCES: &str = "cpus:4;mem:8192;disk:100000";
const STATE_RUNS: usize = 5;

/// The issue's targets at 10 000 agents.
const REGISTERED_TARGET: Duration = Duration::from_secs(5);
const RSS_TARGET_MIB: f64 = 300.0;
const OFFERS_TARGET: Duration = Duration::from_millis(300);
const STATE_TARGET: Duration = Duration::from_millis(300);
const TASKS_TARGET: Duration = Duration::from_secs(10);

/// Simulated agents in the failover figure, unless `MMRUN_BENCH_SCALE_FAILOVER` says.
const FAILOVER_AGENTS: usize = 10_000;
/// How often the failover is polled: often enough for a figure of seconds, rarely enough
/// that rendering the new leader's metrics does not slow its re-registrations.
const FAILOVER_POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Default)]
struct Figures {
    agents: usize,
    registered: Duration,
    rss_mib: f64,
    rss_delta_mib: f64,
    offers_json: Duration,
    offers_protobuf: Duration,
    state: Duration,
    get_state: Duration,
    launched: usize,
    running: Duration,
    reconciled: Duration,
}

fn main() {
    let sizes: Vec<usize> = std::env::var("MMRUN_BENCH_SCALE_N")
        .unwrap_or_else(|_| "100,1000,10000,50000".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("MMRUN_BENCH_SCALE_N: numbers, e.g. 100,1000")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if std::env::var_os(CHILD).is_some() {
        // One size in a process of its own (see `measure_apart`): the figures, then one line
        // the parent reads them back from.
        for n in sizes {
            let f = rt.block_on(measure(n));
            print(&f);
            println!("{FIGURES_LINE}{}", f.to_line());
        }
        return;
    }
    println!("mmrun scale bench: simulated agents, {AGENT_RESOURCES} each");
    let all: Vec<Figures> = sizes.into_iter().map(measure_apart).collect();
    growth(&all);
    failover_figures(&rt);
}

/// Set in the process that measures one size.
const CHILD: &str = "MMRUN_BENCH_SCALE_CHILD";
const FIGURES_LINE: &str = "figures: ";

/// Measures `agents` in a fresh process of this bench, so that its memory figure is its own:
/// an allocator keeps what an earlier, smaller cluster freed, and the process's RSS would count
/// it again.
fn measure_apart(agents: usize) -> Figures {
    let exe = std::env::current_exe().expect("the bench's own path");
    let out = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD, "1")
        .env("MMRUN_BENCH_SCALE_N", agents.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the bench runs itself for one size");
    assert!(out.status.success(), "measuring {agents} agents failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut figures = None;
    for line in text.lines() {
        match line.strip_prefix(FIGURES_LINE) {
            Some(values) => figures = Figures::from_line(values),
            None => println!("{line}"),
        }
    }
    figures.expect("the child's figures line")
}

impl Figures {
    /// Every figure, as numbers (durations in microseconds), in field order.
    fn to_line(&self) -> String {
        let us = |d: Duration| d.as_micros().to_string();
        [
            self.agents.to_string(),
            us(self.registered),
            self.rss_mib.to_string(),
            self.rss_delta_mib.to_string(),
            us(self.offers_json),
            us(self.offers_protobuf),
            us(self.state),
            us(self.get_state),
            self.launched.to_string(),
            us(self.running),
            us(self.reconciled),
        ]
        .join(" ")
    }

    fn from_line(line: &str) -> Option<Figures> {
        let v: Vec<f64> = line
            .split(' ')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let us = |x: f64| Duration::from_micros(x as u64);
        let [
            agents,
            registered,
            rss,
            delta,
            json,
            protobuf,
            state,
            get_state,
            launched,
            running,
            reconciled,
        ] = v[..]
        else {
            return None;
        };
        Some(Figures {
            agents: agents as usize,
            registered: us(registered),
            rss_mib: rss,
            rss_delta_mib: delta,
            offers_json: us(json),
            offers_protobuf: us(protobuf),
            state: us(state),
            get_state: us(get_state),
            launched: launched as usize,
            running: us(running),
            reconciled: us(reconciled),
        })
    }
}

async fn measure(agents: usize) -> Figures {
    let options = ClusterOptions {
        agent_ping_timeout: Duration::from_secs(15),
        max_agent_ping_timeouts: 5,
        ..ClusterOptions::default()
    };
    let mut c = LocalCluster::start(options).await.expect("master starts");
    let rss_before = rss_mib();
    let t0 = Instant::now();
    c.add_simulated_agents(
        agents,
        AgentOptions {
            resources: Some(AGENT_RESOURCES.into()),
            attributes: Some("rack:r1".into()),
        },
        Behaviour::default(),
    )
    .await
    .expect("simulated agents register");
    let mut f = Figures {
        agents,
        registered: t0.elapsed(),
        ..Figures::default()
    };
    f.rss_mib = rss_mib();
    f.rss_delta_mib = f.rss_mib - rss_before;
    let master = c.master_url();

    // First OFFERS after SUBSCRIBE, protobuf first (its framework then leaves), then JSON.
    let (protobuf, sub, _) = first_offers(&master, Encoding::Protobuf, "bench-protobuf").await;
    f.offers_protobuf = protobuf;
    teardown(&sub).await;
    let (json, mut sub, offers) = first_offers(&master, Encoding::Json, "bench-json").await;
    f.offers_json = json;

    let http = reqwest::Client::new();
    f.state = median_of(STATE_RUNS, || async {
        let t = Instant::now();
        let body = http
            .get(format!("{master}/master/state"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(!body.is_empty());
        t.elapsed()
    })
    .await;
    f.get_state = median_of(STATE_RUNS, || async {
        let t = Instant::now();
        let body = http
            .post(format!("{master}/api/v1"))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(r#"{"type":"GET_STATE"}"#)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(!body.is_empty());
        t.elapsed()
    })
    .await;

    let (launched, running) = launch_all(&mut sub, offers).await;
    f.launched = launched;
    f.running = running;
    f.reconciled = reconcile(&mut sub, launched).await;
    drop(sub);
    c.shutdown().await;
    f
}

async fn first_offers(
    master: &str,
    encoding: Encoding,
    name: &str,
) -> (Duration, Subscription, Vec<Offer>) {
    let t = Instant::now();
    let mut sub = mmrun::client::subscribe_with(master, framework_info(name, &[]), encoding)
        .await
        .expect("subscribes");
    let offers = next_offers(&mut sub).await;
    let took = t.elapsed();
    assert!(!offers.is_empty());
    (took, sub, offers)
}

/// Longer than the master ever waits before an allocation pass (passes are coalesced: one
/// waits four times as long as the last one took, at most a second).
const ALLOCATION_SETTLES: Duration = Duration::from_millis(1_200);

async fn teardown(sub: &Subscription) {
    let _ = sub.call(Call::new(CallType::Teardown, None)).await;
    // Its offers go back to the allocator, and the pass that follows has run, before the next
    // framework subscribes: otherwise that framework's first OFFERS would wait out the
    // coalescing delay set by the previous framework's pass over every agent, and the figure
    // would time that delay rather than a pass.
    tokio::time::sleep(ALLOCATION_SETTLES).await;
}

/// ACCEPTs as many tasks per offer as fit until `TASKS` are launched, acknowledging every
/// update, until all launched are TASK_RUNNING. Returns how many and how long.
async fn launch_all(sub: &mut Subscription, mut offers: Vec<Offer>) -> (usize, Duration) {
    let t = Instant::now();
    let mut launched = 0;
    let mut running = 0;
    let mut failed = 0;
    loop {
        while launched < TASKS
            && let Some(offer) = offers.pop()
        {
            // What the offer holds, in 0.1-cpu, 32 MB tasks (a re-offered remainder holds few).
            let held = mmrun::mesos::resources::Resources::new(offer.resources.iter().cloned());
            let fits = ((held.scalar("cpus") * 10.0 + 1e-6).floor() as usize)
                .min((held.scalar("mem") / 32.0) as usize);
            let count = TASKS_PER_AGENT.min(fits).min(TASKS - launched);
            if count == 0 {
                continue;
            }
            let tasks = (launched..launched + count)
                .map(|i| command_task(&format!("t{i}"), &offer, "serve", 0.1, 32.0))
                .collect();
            launch(sub, &offer, tasks).await;
            launched += count;
        }
        if running + failed == launched && (launched == TASKS || offers.is_empty()) {
            assert_eq!(failed, 0, "{failed} tasks did not reach TASK_RUNNING");
            return (launched, t.elapsed());
        }
        let e = sub.next_event(WAIT).await.expect("events while launching");
        match e.kind {
            EventType::Offers => offers.extend(e.offers.unwrap().offers),
            EventType::Update => {
                let status = e.update.unwrap().status;
                ack(sub, &status).await;
                if status.state == TaskState::Running {
                    running += 1;
                } else if status.state.is_terminal() {
                    failed += 1;
                }
            }
            _ => {}
        }
    }
}

/// An implicit RECONCILE: how long until an update for every task came.
async fn reconcile(sub: &mut Subscription, tasks: usize) -> Duration {
    let t = Instant::now();
    sub.call(Call {
        reconcile: Some(Reconcile { tasks: vec![] }),
        ..Call::new(CallType::Reconcile, None)
    })
    .await
    .expect("RECONCILE");
    let mut seen = 0;
    while seen < tasks {
        let e = sub.next_event(WAIT).await.expect("reconciliation updates");
        if e.kind == EventType::Update {
            seen += 1;
        }
    }
    t.elapsed()
}

async fn median_of<F, Fut>(runs: usize, mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut times = Vec::new();
    for _ in 0..runs {
        times.push(run().await);
    }
    times.sort();
    times[times.len() / 2]
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn verdict(at_10k: bool, pass: bool) -> &'static str {
    match (at_10k, pass) {
        (false, _) => "",
        (true, true) => "  PASS",
        (true, false) => "  MISS",
    }
}

fn print(f: &Figures) {
    let t = f.agents == 10_000;
    println!();
    println!("N = {} simulated agents", f.agents);
    println!(
        "  all registered                     {:>12}{}",
        ms(f.registered),
        verdict(t, f.registered <= REGISTERED_TARGET)
    );
    println!(
        "  process RSS (master + agents)      {:>9.0} MiB{}  (+{:.0} MiB over the empty master)",
        f.rss_mib,
        verdict(t, f.rss_mib <= RSS_TARGET_MIB),
        f.rss_delta_mib
    );
    println!(
        "  first OFFERS after SUBSCRIBE, JSON {:>12}{}",
        ms(f.offers_json),
        verdict(t, f.offers_json <= OFFERS_TARGET)
    );
    println!(
        "  ... protobuf                       {:>12}{}",
        ms(f.offers_protobuf),
        verdict(t, f.offers_protobuf <= OFFERS_TARGET)
    );
    println!(
        "  GET /master/state (median of {STATE_RUNS})     {:>12}{}",
        ms(f.state),
        verdict(t, f.state <= STATE_TARGET)
    );
    println!(
        "  GET_STATE (median of {STATE_RUNS})             {:>12}{}",
        ms(f.get_state),
        verdict(t, f.get_state <= STATE_TARGET)
    );
    println!(
        "  {} tasks launched -> all RUNNING {:>12}{}  ({:.0} tasks/s)",
        f.launched,
        ms(f.running),
        verdict(t, f.running <= TASKS_TARGET),
        f.launched as f64 / f.running.as_secs_f64()
    );
    println!(
        "  implicit reconciliation of them    {:>12}",
        ms(f.reconciled)
    );
}

/// How each figure grows from one measured size to the next from 1 000 agents up (1 000 →
/// 10 000 → 50 000): linear growth is the ratio of the sizes.
fn growth(all: &[Figures]) {
    let sizes: Vec<&Figures> = all.iter().filter(|f| f.agents >= 1_000).collect();
    for pair in sizes.windows(2) {
        let (small, big) = (pair[0], pair[1]);
        let r = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64().max(1e-9);
        println!();
        println!(
            "growth from {} to {} agents ({:.0}x; linear = {:.0}):",
            small.agents,
            big.agents,
            big.agents as f64 / small.agents as f64,
            big.agents as f64 / small.agents as f64
        );
        println!("  registered {:.1}x", r(small.registered, big.registered));
        println!(
            "  RSS delta {:.1}x",
            big.rss_delta_mib / small.rss_delta_mib.max(1e-9)
        );
        println!(
            "  first OFFERS JSON {:.1}x, protobuf {:.1}x",
            r(small.offers_json, big.offers_json),
            r(small.offers_protobuf, big.offers_protobuf)
        );
        println!(
            "  /master/state {:.1}x, GET_STATE {:.1}x",
            r(small.state, big.state),
            r(small.get_state, big.get_state)
        );
        println!(
            "  10 000 tasks RUNNING {:.1}x",
            r(small.running, big.running)
        );
    }
}

/// A leader failover with thousands of simulated agents re-registering (see the module
/// comment): the leader stopped (it leaves the election at once), then the new leader
/// killed (it leads until its 2 s ZooKeeper session ends).
fn failover_figures(rt: &tokio::runtime::Runtime) {
    let agents: usize = std::env::var("MMRUN_BENCH_SCALE_FAILOVER")
        .ok()
        .map(|n| {
            n.trim()
                .parse()
                .expect("MMRUN_BENCH_SCALE_FAILOVER: a number")
        })
        .unwrap_or(FAILOVER_AGENTS);
    if agents == 0 {
        return;
    }
    if let Err(e) = mmrun::zookeeper::ZooKeeperInstall::find() {
        println!("\nfailover: skipped: {e}");
        return;
    }
    rt.block_on(async {
        // Mesos's liveness defaults, as for the sizes above.
        let spec = ClusterSpec {
            agent_ping_timeout: Duration::from_secs(15),
            max_agent_ping_timeouts: 5,
            ..failover::ha_spec("bench-scale-failover")
        };
        let mut cluster = mmrun::cluster::embedded::Embedded
            .create(spec)
            .await
            .expect("an HA cluster");
        cluster
            .start_cluster(Vec::new())
            .await
            .expect("ZooKeeper and the masters start");
        let t = Instant::now();
        let agent = AgentSpec {
            resources: Some(AGENT_RESOURCES.into()),
            attributes: Some("rack:r1".into()),
        };
        cluster
            .add_simulated_agents(agents, agent, Behaviour::default())
            .await
            .expect("simulated agents register");
        let registered = t.elapsed();
        let stopped = failover::fail_over(cluster.as_mut(), true, agents, FAILOVER_POLL).await;
        let killed = failover::fail_over(cluster.as_mut(), false, agents, FAILOVER_POLL).await;
        cluster.teardown().await;
        println!();
        println!(
            "leader failover, ZooKeeper + {} masters, {agents} simulated agents",
            failover::MASTERS
        );
        println!(
            "  all registered with the first leader {:>12}",
            ms(registered)
        );
        println!(
            "  leader stopped -> another elected    {:>12}",
            ms(stopped.leader)
        );
        println!(
            "  ... -> all {agents} re-registered, active {:>12}",
            ms(stopped.agents)
        );
        println!(
            "  leader killed (2 s session) -> elected {:>10}",
            ms(killed.leader)
        );
        println!(
            "  ... -> all {agents} re-registered, active {:>12}",
            ms(killed.agents)
        );
    });
}
