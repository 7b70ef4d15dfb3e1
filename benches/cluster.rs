//! `cargo bench --bench cluster`: how fast an in-process cluster starts, how long a task
//! takes from ACCEPT to TASK_RUNNING (as a command task and through a custom executor, over the
//! v1 API and as Mesos's drivers speak), how many messages a driver scheduler gets through the
//! master, and how much memory each node takes as its own process.
//!
//! Every time is a median (with min and max) over `MMRUN_BENCH_RUNS` runs (default 20), after
//! one warm-up run whose figure is shown apart as "first". Targets are printed next to the
//! figures as PASS/MISS; the bench never fails on timing. docs/benchmarks.md explains each
//! figure. `cargo bench --bench cluster -- task` runs only the parts named (start, task,
//! executor, driver, rss, failover). `failover` needs this host's ZooKeeper (`apt-get install
//! zookeeper`): ZooKeeper + 3 masters + 3 agents, the leader stopped, then the next one killed.

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "ha/failover.rs"]
mod failover;

use common::*;
use mmrun::client::MasterClient;
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use mmrun::mesos::executor::{ExecutorInfo, ExecutorType};
use mmrun::mesos::ids::ExecutorId;
use mmrun::mesos::scheduler::{Call, CallType, Kill, Offer};
use mmrun::mesos::task::{CommandInfo, TaskInfo, TaskState};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const AGENTS: usize = 3;
const CLUSTER_START_TARGET: Duration = Duration::from_millis(20);
const TASK_LATENCY_TARGET: Duration = Duration::from_millis(20);
const RSS_TARGET_KIB: u64 = 15 * 1024;

fn main() {
    let runs: usize = match std::env::var("MMRUN_BENCH_RUNS") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("MMRUN_BENCH_RUNS={v} is not a positive number")),
        Err(_) => 20,
    };
    // `cargo bench` passes `--bench`; a filter argument selects parts (start, task, executor,
    // rss).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |part: &str| only.is_empty() || only.iter().any(|o| part.contains(o.as_str()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    println!("mmrun cluster bench: {runs} runs per figure after 1 warm-up run (\"first\")");
    println!();
    let mut table = Table::default();
    if wants("start") {
        let s = rt.block_on(cluster_start(runs));
        table.time(
            "cluster start: master + 3 agents active",
            &s.returned,
            1,
            Some(CLUSTER_START_TARGET),
        );
        table.time(
            "  ... including the GET /master/state check",
            &s.verified,
            1,
            None,
        );
        table.time("  ... of which LocalCluster::start", &s.master, 1, None);
        table.time("  ... of which one add_agent", &s.agent, AGENTS, None);
    }
    if wants("task") {
        let t = rt.block_on(task_latency(runs, command, Api::Http));
        table.time(
            "task latency: ACCEPT(LAUNCH) -> TASK_RUNNING",
            &t.running,
            1,
            Some(TASK_LATENCY_TARGET),
        );
        table.time(
            "  ... of which ACCEPT -> TASK_STARTING",
            &t.starting,
            1,
            None,
        );
        table.time(
            "  ... of which STARTING (+ its ACK) -> RUNNING",
            &t.after_starting,
            1,
            None,
        );
        let spawns = rt.block_on(spawn_reference(runs));
        table.time(
            "  reference: spawning `sh -c` in this process",
            &spawns,
            1,
            None,
        );
    }
    if wants("executor") {
        let fresh = rt.block_on(task_latency(runs, on_new_executor, Api::Http));
        table.time(
            "executor task latency: ACCEPT -> TASK_RUNNING, a new executor per task",
            &fresh.running,
            1,
            None,
        );
        let shared = rt.block_on(task_latency(runs, on_shared_executor, Api::Http));
        table.time(
            "executor task latency: ACCEPT -> TASK_RUNNING, executor already running",
            &shared.running,
            1,
            None,
        );
    }
    if wants("driver") {
        let command_task = rt.block_on(task_latency(runs, command, Api::Driver));
        table.time(
            "driver task latency: LAUNCH -> TASK_RUNNING, command task (scheduler driver)",
            &command_task.running,
            1,
            None,
        );
        let fresh = rt.block_on(task_latency(runs, on_new_driver_executor, Api::Driver));
        table.time(
            "driver task latency: LAUNCH -> TASK_RUNNING, a new executor driver per task",
            &fresh.running,
            1,
            None,
        );
        let shared = rt.block_on(task_latency(runs, on_shared_driver_executor, Api::Driver));
        table.time(
            "driver task latency: LAUNCH -> TASK_RUNNING, executor driver already running",
            &shared.running,
            1,
            None,
        );
        let rate = rt.block_on(driver_message_rate(runs));
        table.time(
            &format!("driver messages: {RECONCILE_CALLS} RECONCILE calls and their answers"),
            &rate,
            1,
            None,
        );
        let per_second = RECONCILE_CALLS as f64 * 2.0 / median(&rate).as_secs_f64();
        println!(
            "driver messages: {per_second:.0} messages/s through the master (a call out, an update back, per reconciled task; median run)"
        );
    }
    if wants("failover") {
        failover_figures(&rt, runs, &mut table);
    }
    table.print();
    if wants("rss") {
        println!();
        node_memory(&rt);
    }
}

// ---------------------------------------------------------------------------------------------
// 1. In-process cluster start

#[derive(Default)]
struct StartTimes {
    /// To the third `add_agent` returning.
    returned: Vec<Duration>,
    /// To the confirming GET /master/state answering.
    verified: Vec<Duration>,
    /// `LocalCluster::start` alone (the master).
    master: Vec<Duration>,
    /// Each `add_agent` call (3 per run).
    agent: Vec<Duration>,
}

async fn cluster_start(runs: usize) -> StartTimes {
    let mut times = StartTimes::default();
    // Run 0 is the warm-up.
    for _ in 0..=runs {
        let t0 = Instant::now();
        let mut c = LocalCluster::start(ClusterOptions::default())
            .await
            .expect("master starts");
        let t_master = t0.elapsed();
        let mut agents = Vec::with_capacity(AGENTS);
        for _ in 0..AGENTS {
            let t = Instant::now();
            c.add_agent(AgentOptions::default())
                .await
                .expect("agent registers");
            agents.push(t.elapsed());
        }
        let t_agents = t0.elapsed();
        let state = MasterClient::new(c.master_url())
            .state()
            .await
            .expect("master state");
        let t_state = t0.elapsed();
        assert_eq!(
            state.activated_slaves, AGENTS as f64,
            "the master should have {AGENTS} active agents"
        );
        c.shutdown().await;
        times.returned.push(t_agents);
        times.verified.push(t_state);
        times.master.push(t_master);
        times.agent.extend(agents);
    }
    times
}

// ---------------------------------------------------------------------------------------------
// Leader failover (benches/ha/failover.rs), in-process, with a real ZooKeeper child process

fn failover_figures(rt: &tokio::runtime::Runtime, runs: usize, table: &mut Table) {
    if let Err(e) = mmrun::zookeeper::ZooKeeperInstall::find() {
        println!("failover: skipped: {e}");
        return;
    }
    let (mut stopped, mut killed) = (Vec::new(), Vec::new());
    for _ in 0..=runs {
        rt.block_on(async {
            let mut cluster = failover::ha_cluster(
                &mmrun::cluster::embedded::Embedded,
                "bench-failover",
                AGENTS,
            )
            .await;
            stopped.push(failover::fail_over(cluster.as_mut(), true, AGENTS, failover::POLL).await);
            // The new leader of the two left, killed: the last one leads once its session ends.
            killed.push(failover::fail_over(cluster.as_mut(), false, AGENTS, failover::POLL).await);
            cluster.teardown().await;
        });
    }
    let leader = |f: &[failover::Failover]| f.iter().map(|f| f.leader).collect::<Vec<_>>();
    let agents = |f: &[failover::Failover]| f.iter().map(|f| f.agents).collect::<Vec<_>>();
    table.time(
        "failover, leader stopped: -> another master elected",
        &leader(&stopped),
        1,
        None,
    );
    table.time(
        "  ... -> 3 agents re-registered with it",
        &agents(&stopped),
        1,
        None,
    );
    table.time(
        "failover, leader killed (2 s session): -> elected",
        &leader(&killed),
        1,
        None,
    );
    table.time(
        "  ... -> 3 agents re-registered with it",
        &agents(&killed),
        1,
        None,
    );
}

// ---------------------------------------------------------------------------------------------
// 2. ACCEPT(LAUNCH) -> TASK_RUNNING

#[derive(Default)]
struct TaskTimes {
    /// ACCEPT sent -> TASK_RUNNING received.
    running: Vec<Duration>,
    /// ACCEPT sent -> TASK_STARTING received.
    starting: Vec<Duration>,
    /// TASK_STARTING received -> TASK_RUNNING received (includes acknowledging STARTING).
    after_starting: Vec<Duration>,
}

/// Per run: time from sending ACCEPT to receiving TASK_RUNNING (TASK_STARTING acknowledged
/// on the way), and the part of it from TASK_STARTING's arrival to TASK_RUNNING's.
/// How the bench's framework (and, for executor tasks, its executor) talks to the cluster.
#[derive(Clone, Copy, PartialEq)]
enum Api {
    /// The v1 scheduler and executor APIs.
    Http,
    /// Libprocess, as Mesos's scheduler and executor drivers.
    Driver,
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// Explicit reconciliation of this many unknown tasks per run.
const RECONCILE_CALLS: usize = 500;

/// A driver scheduler sends RECONCILE calls for tasks the master does not know, one message
/// each, and the master answers each with an update: the time for all of them, per run.
async fn driver_message_rate(runs: usize) -> Vec<Duration> {
    use mmrun::mesos::ids::TaskId;
    use mmrun::mesos::scheduler::{Reconcile, ReconcileTask};
    let c = LocalCluster::start(ClusterOptions::default())
        .await
        .expect("master starts");
    let mut sub = mmrun::client::subscribe_driver(&c.master_url(), framework_info("bench", &[]))
        .await
        .expect("the driver registers");
    let mut times = Vec::with_capacity(runs + 1);
    for run in 0..=runs {
        let t0 = Instant::now();
        for n in 0..RECONCILE_CALLS {
            let call = Call {
                reconcile: Some(Reconcile {
                    tasks: vec![ReconcileTask {
                        task_id: TaskId::new(format!("unknown-{run}-{n}")),
                        agent_id: None,
                    }],
                }),
                ..Call::new(CallType::Reconcile, None)
            };
            sub.call(call).await.expect("the master takes the call");
        }
        let mut answered = 0;
        while answered < RECONCILE_CALLS {
            let e = sub
                .next_event(WAIT)
                .await
                .expect("every reconciliation answered");
            if e.update.is_some() {
                answered += 1;
            }
        }
        times.push(t0.elapsed());
    }
    drop(sub);
    c.shutdown().await;
    times
}

async fn task_latency(runs: usize, make_task: TaskMaker, api: Api) -> TaskTimes {
    let mut c = LocalCluster::start(ClusterOptions::default())
        .await
        .expect("master starts");
    c.add_agent(AgentOptions::default())
        .await
        .expect("agent registers");
    let mut sub = match api {
        Api::Http => subscribe_framework(&c.master_url(), framework_info("bench", &[])).await,
        Api::Driver => {
            mmrun::client::subscribe_driver(&c.master_url(), framework_info("bench", &[]))
                .await
                .expect("the driver registers")
        }
    };
    let mut offers: Vec<Offer> = Vec::new();
    let mut times = TaskTimes::default();
    for run in 0..=runs {
        // Hold an offer before the clock starts.
        while offers.is_empty() {
            offers.extend(next_offers(&mut sub).await);
        }
        let offer = offers.remove(0);
        let name = format!("bench-{run}");
        let task = make_task(&name, &offer, run);

        let t0 = Instant::now();
        launch(&sub, &offer, vec![task]).await;
        let mut t_starting = None;
        let t_running = loop {
            let e = sub.next_event(WAIT).await.expect("TASK_RUNNING in time");
            let now = t0.elapsed();
            if let Some(u) = &e.update {
                let ours = u.status.task_id.value == name;
                if ours && u.status.state == TaskState::Starting {
                    t_starting = Some(now);
                }
                // Acknowledging RUNNING happens after the clock stopped.
                ack(&sub, &u.status).await;
                if ours && u.status.state == TaskState::Running {
                    break now;
                }
            } else if let Some(o) = e.offers {
                offers.extend(o.offers);
            } else if let Some(r) = e.rescind {
                offers.retain(|o| o.id != r.offer_id);
            }
        };
        // Untimed: kill the task and wait for its end so its resources come back and no
        // process outlives the bench.
        kill_and_wait(&mut sub, &name, &mut offers).await;
        times.running.push(t_running);
        // The agent's command executor sends TASK_STARTING; a custom executor may not (mmrun's
        // example executor goes straight to TASK_RUNNING, as many real ones do).
        if let Some(t_starting) = t_starting {
            times.starting.push(t_starting);
            times.after_starting.push(t_running - t_starting);
        }
    }
    drop(sub);
    c.shutdown().await;
    times
}

/// Builds the task of run `n` on `offer`.
type TaskMaker = fn(&str, &Offer, usize) -> TaskInfo;

/// A command task (the agent's own command executor).
fn command(name: &str, offer: &Offer, _run: usize) -> TaskInfo {
    command_task(name, offer, "sleep 5", 0.1, 32.0)
}

/// A task for a custom executor, `mmrun example-executor` (a real v1 executor process that
/// subscribes over HTTP, gets LAUNCH, runs the task's `data` and sends TASK_RUNNING as an
/// UPDATE call).
fn executor_task(name: &str, offer: &Offer, executor_id: &str) -> TaskInfo {
    executor_task_on(name, offer, executor_id, "")
}

/// The same task for the example executor speaking as an executor driver (libprocess).
fn driver_executor_task(name: &str, offer: &Offer, executor_id: &str) -> TaskInfo {
    executor_task_on(name, offer, executor_id, " --driver")
}

fn executor_task_on(name: &str, offer: &Offer, executor_id: &str, flags: &str) -> TaskInfo {
    use base64::Engine as _;
    let mut task = command_task(name, offer, "", 0.1, 32.0);
    task.command = None;
    task.data = Some(base64::engine::general_purpose::STANDARD.encode("sleep 5"));
    task.executor = Some(ExecutorInfo {
        kind: Some(ExecutorType::Custom),
        executor_id: ExecutorId::new(executor_id),
        framework_id: None,
        command: Some(CommandInfo {
            value: Some(format!(
                "'{}' example-executor{flags}",
                env!("CARGO_BIN_EXE_mmrun")
            )),
            shell: true,
            arguments: vec![],
            environment: None,
            uris: vec![],
            user: None,
        }),
        container: None,
        resources: vec![],
        name: None,
        source: None,
        data: None,
        discovery: None,
        shutdown_grace_period: None,
        labels: None,
    });
    task
}

/// Every task starts its own executor: the executor's start and subscription are timed.
fn on_new_executor(name: &str, offer: &Offer, run: usize) -> TaskInfo {
    executor_task(name, offer, &format!("bench-executor-{run}"))
}

/// Every task goes to one executor, started by the warm-up run.
fn on_shared_executor(name: &str, offer: &Offer, _run: usize) -> TaskInfo {
    executor_task(name, offer, "bench-executor")
}

fn on_new_driver_executor(name: &str, offer: &Offer, run: usize) -> TaskInfo {
    driver_executor_task(name, offer, &format!("bench-driver-executor-{run}"))
}

fn on_shared_driver_executor(name: &str, offer: &Offer, _run: usize) -> TaskInfo {
    driver_executor_task(name, offer, "bench-driver-executor")
}

/// For comparison with the task latency: how long spawning the task's shell takes here, as
/// the agent does it (own process group, output to files), without any HTTP.
async fn spawn_reference(runs: usize) -> Vec<Duration> {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut times = Vec::with_capacity(runs + 1);
    for _ in 0..=runs {
        let t0 = Instant::now();
        let out = std::fs::File::create(dir.path().join("stdout")).expect("stdout");
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg("sleep 5")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .expect("sh starts");
        times.push(t0.elapsed());
        child.kill().await.expect("kill");
    }
    times
}

async fn kill_and_wait(sub: &mut mmrun::client::Subscription, task: &str, offers: &mut Vec<Offer>) {
    let kill = Call {
        kill: Some(Kill {
            task_id: task.into(),
            agent_id: None,
            kill_policy: None,
        }),
        ..Call::new(CallType::Kill, None)
    };
    sub.call(kill).await.expect("KILL accepted");
    loop {
        let e = sub.next_event(WAIT).await.expect("TASK_KILLED in time");
        if let Some(u) = &e.update {
            ack(sub, &u.status).await;
            if u.status.task_id.value == task && u.status.state.is_terminal() {
                return;
            }
        } else if let Some(o) = e.offers {
            offers.extend(o.offers);
        } else if let Some(r) = e.rescind {
            offers.retain(|o| o.id != r.offer_id);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Resident memory of `mmrun node` processes

/// The processes and files of a multi-process cluster; killed and removed on drop (also when
/// the bench panics).
struct Nodes {
    children: Vec<(String, Child)>,
    dir: Option<tempfile::TempDir>,
}

impl Nodes {
    fn dir(&self) -> &Path {
        self.dir.as_ref().expect("not dropped").path()
    }

    /// Starts `mmrun node <args>`; its stderr goes to `<dir>/<name>.log`. Returns the first
    /// line it prints on stdout (the address it serves at).
    fn start(&mut self, name: &str, args: &[String]) -> String {
        let log = std::fs::File::create(self.dir().join(format!("{name}.log"))).expect("log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mmrun"))
            .arg("node")
            .args(args)
            .env_remove("MESOS_MASTER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("mmrun starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        self.children.push((name.to_string(), child));
        if !matches!(read, Ok(n) if n > 0) {
            let log = std::fs::read_to_string(self.dir().join(format!("{name}.log")));
            panic!("{name} did not start: {}", log.unwrap_or_default());
        }
        line.trim().to_string()
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        // SIGTERM to the agents first (each kills its tasks on the way out), then the master.
        for (_, child) in self.children.iter_mut().rev() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: plain kill(2) on a child we started and have not reaped.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for (name, child) in &mut self.children {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    _ => {
                        eprintln!("{name} ignored SIGTERM; killing it");
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
    /// Of the RSS: heap and stacks, and mapped files (mostly the binary's own pages).
    anon_kib: u64,
    file_kib: u64,
    threads: u64,
}

fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        anon_kib: field("RssAnon:"),
        file_kib: field("RssFile:"),
        threads: field("Threads:"),
    }
}

fn node_memory(rt: &tokio::runtime::Runtime) {
    let dir = tempfile::Builder::new()
        .prefix("mmrun-bench-")
        .tempdir()
        .expect("temp dir");
    let mut nodes = Nodes {
        children: Vec::new(),
        dir: Some(dir),
    };
    let master_dir: PathBuf = nodes.dir().join("master");
    let line = nodes.start(
        "master",
        &[
            "master".into(),
            "--ip=127.0.0.1".into(),
            "--port=0".into(),
            "--hostname=127.0.0.1".into(),
            format!("--work_dir={}", master_dir.display()),
        ],
    );
    // "master <id> serving at http://127.0.0.1:<port>"
    let master_url = line
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected master output: {line}"))
        .to_string();
    let master_hostport = master_url.trim_start_matches("http://").to_string();
    for i in 0..AGENTS {
        let work_dir = nodes.dir().join(format!("agent-{i}"));
        nodes.start(
            &format!("agent-{i}"),
            &[
                "agent".into(),
                format!("--master={master_hostport}"),
                "--ip=127.0.0.1".into(),
                "--port=0".into(),
                "--hostname=127.0.0.1".into(),
                format!("--work_dir={}", work_dir.display()),
            ],
        );
    }
    rt.block_on(async {
        eventually(&master_url, "3 active agents", |s| {
            s.activated_slaves == AGENTS as f64
        })
        .await;
        let mut sub = subscribe_framework(&master_url, framework_info("bench-rss", &[])).await;
        let offers = next_offers(&mut sub).await;
        let task = command_task("rss-task", &offers[0], "echo hello", 0.1, 32.0);
        launch(&sub, &offers[0], vec![task]).await;
        await_state(&mut sub, "rss-task", TaskState::Finished).await;
    });

    println!("resident memory per node (separate processes, after one task; target <= 15 MiB)");
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>10} {:>10} {:>8}  target",
        "node", "pid", "VmRSS", "VmHWM", "RssAnon", "RssFile", "threads"
    );
    for (name, child) in &nodes.children {
        let m = memory(child.id());
        println!(
            "{:<10} {:>8} {:>10} {:>10} {:>10} {:>10} {:>8}  {}",
            name,
            child.id(),
            mib(m.rss_kib),
            mib(m.hwm_kib),
            mib(m.anon_kib),
            mib(m.file_kib),
            m.threads,
            verdict(m.rss_kib <= RSS_TARGET_KIB)
        );
    }
    drop(nodes);
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

#[derive(Default)]
struct Table {
    rows: Vec<[String; 6]>,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

impl Table {
    /// Adds a row for `samples`, of which the first `warm_up` come from the warm-up run: the
    /// very first is shown apart as "first"; median, min and max are over the rest.
    fn time(&mut self, what: &str, samples: &[Duration], warm_up: usize, target: Option<Duration>) {
        let first = samples[0];
        let mut sorted = samples[warm_up..].to_vec();
        sorted.sort();
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        };
        let target = match target {
            Some(t) => format!("<= {} {}", ms(t), verdict(median <= t)),
            None => String::new(),
        };
        self.rows.push([
            what.to_string(),
            ms(median),
            ms(sorted[0]),
            ms(sorted[n - 1]),
            ms(first),
            target,
        ]);
    }

    fn print(&self) {
        if self.rows.is_empty() {
            return;
        }
        let w = self.rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
        println!(
            "{:<w$} {:>10} {:>10} {:>10} {:>10}  target (on the median)",
            "figure", "median", "min", "max", "first"
        );
        for r in &self.rows {
            println!(
                "{:<w$} {:>10} {:>10} {:>10} {:>10}  {}",
                r[0], r[1], r[2], r[3], r[4], r[5]
            );
        }
    }
}
