//! A real client of HA masters: an unmodified pymesos 0.3.15 framework
//! (tests/compat/zk_scheduler.py) given only `zk://…/mesos` finds the leader through
//! ZooKeeper (kazoo) and runs its task; with the leader killed while it is subscribed, it
//! finds the new leader, subscribes again with its framework id, and its task finishes there.
//!
//! Needs ZooKeeper and the pymesos venv (tests/compat/setup-python.sh); skips saying so
//! without them, unless MMRUN_REQUIRE_ZOOKEEPER=1 / MMRUN_REQUIRE_PYMESOS=1 (CI).

use crate::common;
use crate::common::workspace::code_and_text;

use common::ha::Ha;
use common::wait_for;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

const SESSION: Duration = Duration::from_secs(2);

/// The scheduler process: its stdout line by line as it comes, its stderr kept for messages.
struct Scheduler {
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Scheduler {
    fn start(python: &Path, zk_url: &str, cmd: &str) -> Scheduler {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat/zk_scheduler.py");
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .arg(zk_url)
            .args(["--cmd", cmd, "--timeout", "90"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut err, kept) = (child.stderr.take().unwrap(), stderr.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Scheduler {
            child,
            lines,
            stdout: vec![],
            stderr,
        }
    }

    fn transcript(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout.join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    /// The next stdout line starting with `prefix`, waiting up to `within`.
    async fn await_line(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.stdout.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Ok(None) => panic!(
                    "the scheduler ended before `{prefix}`\n{}",
                    self.transcript()
                ),
                Err(_) => panic!("no `{prefix}` within {within:?}\n{}", self.transcript()),
            }
        }
    }

    /// Waits for the scheduler to exit; asserts it ran its task to TASK_FINISHED.
    async fn finished(mut self) -> Vec<String> {
        self.await_line("RESULT ", Duration::from_secs(60)).await;
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the scheduler exits after its RESULT")
            .unwrap();
        while let Some(line) = self.lines.recv().await {
            self.stdout.push(line);
        }
        assert!(status.success(), "exit {status}\n{}", self.transcript());
        assert!(
            self.stdout.iter().any(|l| l == "RESULT TASK_FINISHED"),
            "{}",
            self.transcript()
        );
        self.stdout
    }
}

/// The leader's view of the framework once it tore itself down: completed, its task finished.
async fn assert_completed(ha: &Ha, framework_id: &str) {
    let leader = ha.leader().unwrap();
    let url = format!("{}/master/state", ha.url(leader));
    wait_for(
        "the framework is completed",
        Duration::from_secs(10),
        || {
            let url = url.clone();
            let id = framework_id.to_string();
            async move {
                let state: serde_json::Value =
                    reqwest::get(url).await.unwrap().json().await.unwrap();
                state["completed_frameworks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| {
                        f["id"] == id.as_str()
                            && f["completed_tasks"][0]["state"] == "TASK_FINISHED"
                    })
            }
        },
    )
    .await;
}

/// `SUBSCRIBED <id> <master>` or `RESUBSCRIBED <id> <master>`: (id, master).
fn subscribed(line: &str) -> (String, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[1].to_string(), words[2].to_string())
}

async fn ha_with_agent(test: &str) -> Option<(Ha, PathBuf)> {
    let python = common::pymesos::python()?;
    let mut ha = Ha::start(test, 3, SESSION).await?;
    ha.cluster.add_agent(Default::default()).await.unwrap();
    Some((ha, python))
}

#[tokio::test(flavor = "multi_thread")]
async fn pymesos_finds_the_leader_through_zookeeper_and_runs_its_task() {
    let Some((ha, python)) = ha_with_agent("pymesos through ZooKeeper").await else {
        return;
    };
    let mut scheduler = Scheduler::start(&python, &ha.url.to_string(), "echo through zk");
    let (id, master) = subscribed(
        &scheduler
            .await_line("SUBSCRIBED ", Duration::from_secs(30))
            .await,
    );
    assert_eq!(
        master,
        ha.host_port(ha.leader().unwrap()),
        "it found the leader"
    );
    let stdout = scheduler.finished().await;
    let states: Vec<&str> = stdout
        .iter()
        .filter_map(|l| l.strip_prefix("UPDATE "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(states, ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]);
    assert_completed(&ha, &id).await;
    ha.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pymesos_follows_a_killed_leader_to_the_new_one_and_its_task_finishes() {
    let Some((mut ha, python)) = ha_with_agent("pymesos leader killed").await else {
        return;
    };
    // The task runs until the test lets it finish: after the failover.
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let cmd = format!(
        "while [ ! -e '{}' ]; do sleep 0.05; done; echo finished on the new leader",
        go.display()
    );
    let mut scheduler = Scheduler::start(&python, &ha.url.to_string(), &cmd);
    let (id, first) = subscribed(
        &scheduler
            .await_line("SUBSCRIBED ", Duration::from_secs(30))
            .await,
    );
    let old = ha.leader().unwrap();
    assert_eq!(first, ha.host_port(old));
    let running = scheduler
        .await_line("UPDATE ", Duration::from_secs(30))
        .await;
    let running = if running.ends_with("TASK_RUNNING") {
        running
    } else {
        scheduler
            .await_line("UPDATE ", Duration::from_secs(30))
            .await
    };
    assert!(running.ends_with("TASK_RUNNING"), "{running}");

    ha.cluster.stop_master(old, false).await.unwrap();
    let new = ha
        .await_leader(Some(old), SESSION + Duration::from_secs(6))
        .await;
    let line = scheduler
        .await_line("RESUBSCRIBED ", Duration::from_secs(40))
        .await;
    assert_eq!(
        subscribed(&line),
        (id.clone(), ha.host_port(new)),
        "same framework, new leader"
    );

    std::fs::write(&go, b"").unwrap();
    let stdout = scheduler.finished().await;
    let after: Vec<&String> = stdout
        .iter()
        .skip_while(|l| !l.starts_with("RESUBSCRIBED "))
        .collect();
    assert!(
        after.iter().any(|l| l.ends_with("TASK_FINISHED")),
        "TASK_FINISHED came from the new leader: {after:?}"
    );
    assert_completed(&ha, &id).await;
    ha.shutdown().await;
}

/// The same failover as a scenario (tests/scenarios/pymesos_zk_failover.rhai) through the real
/// `mmrun run`: `c.run_framework` hands the scheduler the zk:// URL as MESOS_MASTER.
fn run_zk_failover_scenario(backend: &str) {
    let Some(python) = common::pymesos::python() else {
        return;
    };
    // Embedded: the scenario needs this host's ZooKeeper (else it would report SKIP).
    if backend == "embedded" && common::zookeeper::install_or_skip("pymesos zk scenario").is_none()
    {
        return;
    }
    // Its TMPDIR, so whatever the run leaves behind shows.
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mmrun"))
        .args(["run", "tests/scenarios/pymesos_zk_failover.rhai"])
        .args(["--backend", backend])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TMPDIR", tmp.path())
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("PYMESOS_PYTHON", &python)
        .env_remove("INSTA_UPDATE")
        .output()
        .unwrap();
    let (_, text) = code_and_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("PASS [").count(), 1, "{text}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
}

#[test]
fn a_pymesos_scheduler_follows_the_leader_in_a_scenario_on_the_embedded_backend() {
    run_zk_failover_scenario("embedded");
}

/// Every node a container, the scheduler on this host: ZooKeeper's published port in
/// MESOS_MASTER, the masters at their cluster-network addresses (reachable from the host).
#[test]
fn a_pymesos_scheduler_follows_the_leader_in_a_scenario_on_the_docker_backend() {
    if !common::docker::docker_available("pymesos zk scenario on Docker") {
        return;
    }
    run_zk_failover_scenario("docker");
}
