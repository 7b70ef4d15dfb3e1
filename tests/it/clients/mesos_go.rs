//! Compatibility with software nobody here wrote, over protobuf: an unmodified scheduler on
//! Debian's mesos-go library (tests/compat/go/src/mmrun-go-scheduler), with the library's
//! default codec — protobuf both ways — runs against `mmrun up`: it subscribes, launches a
//! task on an offer, acknowledges its updates, sees TASK_FINISHED and tears down. The task is a
//! command task, or runs on an executor built on the same library (mmrun-go-executor, also
//! protobuf), which gets a framework message and answers it before finishing the task.
//!
//! Needs golang-go and golang-github-mesos-mesos-go-dev (`.ci/go-setup.sh`); without them the
//! test skips with a message, unless MMRUN_REQUIRE_MESOS_GO=1 (set in CI) makes that a failure.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// `mmrun up` as a child process, killed when dropped.
struct Up {
    child: std::process::Child,
    master: String,
}

impl Up {
    fn start() -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mmrun"))
            .args(["up", "--port", "0", "--agents", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mmrun up starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let master = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("MESOS_MASTER=").map(String::from))
            .expect("mmrun up printed MESOS_MASTER");
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Up { child, master }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the Go scheduler with `args` against a fresh `mmrun up`; asserts it succeeded, saw
/// `states` for its task and tore down with the task completed; returns its output.
async fn run_scheduler(args: &[&str], states: &[&str]) -> String {
    let Some(programs) = common::mesos_go::programs() else {
        return String::new();
    };
    let up = Up::start();
    let executor = programs.join("mmrun-go-executor");
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{executor}", &executor.display().to_string()))
        .collect();
    let out = Command::new(programs.join("mmrun-go-scheduler"))
        .args(&args)
        .arg(format!("http://{}", up.master))
        .output()
        .expect("the Go scheduler runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the mesos-go scheduler failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let seen: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("UPDATE go-task "))
        .collect();
    assert_eq!(seen, states, "{stdout}");

    // The acknowledgements and the TEARDOWN, sent in protobuf, reached the master.
    let state = common::get_json(&format!("http://{}/master/state", up.master)).await;
    let fw = state["completed_frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "mesos-go")
        .unwrap_or_else(|| panic!("mesos-go not in completed_frameworks: {state:#}"));
    let tasks = fw["completed_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["state"], "TASK_FINISHED");
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn unmodified_mesos_go_scheduler_over_protobuf_runs_a_task_to_finished() {
    run_scheduler(
        &["-cmd", "echo from mesos-go; exit 0"],
        &["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unmodified_mesos_go_executor_over_protobuf_runs_the_task_and_echoes_a_message() {
    let stdout = run_scheduler(
        &["-executor", "{executor}"],
        &["TASK_RUNNING", "TASK_FINISHED"],
    )
    .await;
    if !stdout.is_empty() {
        assert!(
            stdout.contains("MESSAGE echo:ping from go-executor"),
            "{stdout}"
        );
    }
}
