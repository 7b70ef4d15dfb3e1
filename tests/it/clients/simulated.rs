//! Third-party frameworks against ten thousand simulated agents (`mmrun up --agents 10000
//! --simulated`), both unmodified: Debian's mesos-go scheduler (protobuf) and a pymesos
//! framework (JSON) each get OFFERS for the whole cluster, launch a task on one offer, decline
//! the rest, see the task run and finish on a simulated agent, acknowledge and tear down. The
//! framework cannot tell: the agent id, the offer's agent URL and the updates are what a real
//! agent's would be (a simulated task reports TASK_RUNNING without TASK_STARTING).
//!
//! Needs what `clients::mesos_go` and `clients::pymesos` need (`.ci/run` installs both).

use crate::common;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const AGENTS: &str = "10000";

/// `mmrun up --simulated` as a child process, killed (with its whole cluster) when dropped.
struct Up {
    child: std::process::Child,
    master: String,
}

impl Up {
    fn simulated(agents: &str) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mmrun"))
            .args(["up", "--port", "0", "--agents", agents, "--simulated"])
            .args(["--sim-run", "300ms", "--sim-state", "TASK_FINISHED"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mmrun up starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = Vec::new();
        let master = lines
            .by_ref()
            .map_while(Result::ok)
            .inspect(|l| printed.push(l.clone()))
            .find_map(|l| l.strip_prefix("MESOS_MASTER=").map(String::from))
            .expect("mmrun up printed MESOS_MASTER");
        assert!(
            printed
                .iter()
                .any(|l| l.contains(&format!("{agents} simulated agent(s)"))),
            "{printed:?}"
        );
        std::thread::spawn(move || lines.for_each(drop));
        Up { child, master }
    }

    async fn state(&self) -> serde_json::Value {
        common::get_json(&format!("http://{}/master/state", self.master)).await
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The framework `name` is completed with one finished task, run on a simulated agent.
async fn assert_completed_on_a_simulated_agent(up: &Up, name: &str) {
    let state = up.state().await;
    assert_eq!(
        state["activated_slaves"], 10000.0,
        "every agent still active"
    );
    let fw = state["completed_frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in completed_frameworks"));
    let tasks = fw["completed_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["state"], "TASK_FINISHED");
    let agent = state["slaves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == tasks[0]["slave_id"])
        .expect("the task's agent is listed");
    // One process, many agents: each its own libprocess pid, as Mesos's in-process agents.
    let pid = agent["pid"].as_str().unwrap();
    assert!(pid.starts_with("slave("), "{pid}");
}

/// One cluster for both (bringing up ten thousand agents is the slow part of a debug build),
/// one framework after the other.
#[tokio::test(flavor = "multi_thread")]
async fn mesos_go_and_pymesos_run_tasks_on_ten_thousand_simulated_agents() {
    let (Some(programs), Some(python)) = (common::mesos_go::programs(), common::pymesos::python())
    else {
        return;
    };
    let up = Up::simulated(AGENTS);

    let out = tokio::process::Command::new(programs.join("mmrun-go-scheduler"))
        .args(["-cmd", "echo simulated"])
        .arg(format!("http://{}", up.master))
        .output()
        .await
        .expect("the Go scheduler runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the mesos-go scheduler failed ({})\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("UPDATE go-task "))
        .collect();
    // Status updates are delivered at least once, as in Mesos: an agent that re-registers
    // (ten thousand agents' pings on a loaded machine) resends what is unacknowledged.
    seen.dedup();
    assert_eq!(seen, ["TASK_RUNNING", "TASK_FINISHED"], "{stdout}");
    assert_completed_on_a_simulated_agent(&up, "mesos-go").await;

    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat/pymesos_framework.py");
    let out = tokio::process::Command::new(python)
        .arg(&script)
        .arg(&up.master)
        .args(["--cmd", "echo simulated", "--timeout", "240"])
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "pymesos framework failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut states: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("UPDATE "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    states.dedup(); // at least once, as above
    assert_eq!(states, ["TASK_RUNNING", "TASK_FINISHED"], "{stdout}");
    assert_completed_on_a_simulated_agent(&up, "mmrun-pymesos-compat").await;
}
