//! Compatibility with software nobody here wrote: an unmodified framework on the PyPI library
//! pymesos 0.3.15 (tests/compat/pymesos_framework.py) runs against `mmrun up`: it subscribes,
//! launches a command task, acknowledges its updates, sees TASK_FINISHED and tears down.
//!
//! Needs the venv made by tests/compat/setup-python.sh (`.ci/run` makes it). Without it the test
//! skips with a message, unless MMRUN_REQUIRE_PYMESOS=1 (set in CI) makes that a failure.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `mmrun up` as a child process, stopped with SIGINT (as Ctrl-C) when dropped.
struct Up {
    child: std::process::Child,
    master: String,
    files: Option<PathBuf>,
}

impl Up {
    fn start(agents: usize) -> Up {
        Up::with(&["--port", "0", "--agents", &agents.to_string()], None).0
    }

    /// `mmrun up <args>`; also returns every line printed up to `MESOS_MASTER=`.
    fn with(args: &[&str], tmpdir: Option<&std::path::Path>) -> (Up, Vec<String>) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mmrun"));
        command
            .arg("up")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(dir) = tmpdir {
            command.env("TMPDIR", dir);
        }
        let mut child = command.spawn().expect("mmrun up starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut master, mut files) = (None, None);
        let mut printed = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            printed.push(line.clone());
            if let Some(path) = line.trim().strip_prefix("files") {
                files = path.split_whitespace().next().map(PathBuf::from);
            }
            if let Some(m) = line.strip_prefix("MESOS_MASTER=") {
                master = Some(m.to_string());
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (
            Up {
                child,
                master: master.expect("mmrun up printed MESOS_MASTER"),
                files,
            },
            printed,
        )
    }

    fn interrupt(&mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        common::exit_within(&mut self.child, Duration::from_secs(10))
            .expect("mmrun up stops within 10s of Ctrl-C")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn unmodified_pymesos_framework_runs_a_task_to_finished_and_tears_down() {
    let Some(python) = common::pymesos::python() else {
        return;
    };
    let mut up = Up::start(2);
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat/pymesos_framework.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(&up.master)
        .args(["--cmd", "echo compat; exit 0", "--timeout", "60"])
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pymesos framework failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("RESULT TASK_FINISHED"), "{stdout}");
    let states: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("UPDATE "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        states,
        ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"],
        "{stdout}"
    );

    // The master saw the TEARDOWN: the framework is completed with its finished task.
    let state: mmrun::mesos::state::MasterState =
        reqwest::blocking_get(&format!("http://{}/master/state", up.master));
    assert!(
        state.frameworks.is_empty(),
        "framework still registered: {:?}",
        state.frameworks
    );
    let fw = state
        .completed_frameworks
        .iter()
        .find(|f| f.name == "mmrun-pymesos-compat")
        .expect("the framework is in completed_frameworks");
    assert_eq!(fw.completed_tasks.len(), 1);
    assert_eq!(fw.completed_tasks[0].state, "TASK_FINISHED");

    // Ctrl-C stops the cluster cleanly and removes its files.
    let status = up.interrupt();
    assert!(status.success(), "mmrun up exited with {status}");
    let files = up
        .files
        .clone()
        .expect("mmrun up printed its files directory");
    assert!(!files.exists(), "{} was left behind", files.display());
}

mod reqwest {
    /// A blocking GET + JSON decode on a throwaway runtime (the test itself is synchronous).
    pub fn blocking_get<T: serde::de::DeserializeOwned>(url: &str) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { ::reqwest::get(url).await.unwrap().json().await.unwrap() })
    }
}

/// `mmrun up --masters 3` runs a real ZooKeeper and three masters in this process: it prints
/// the zk:// URL as MESOS_MASTER and every master, exactly one marked as the leader; the others
/// redirect to it as Mesos's non-leaders do; Ctrl-C stops everything and removes every file
/// (ZooKeeper's data directory included).
#[test]
fn up_with_three_masters_elects_one_leader_through_zookeeper_and_leaves_nothing() {
    if let Err(e) = mmrun::zookeeper::ZooKeeperInstall::find() {
        if std::env::var("MMRUN_REQUIRE_ZOOKEEPER").is_ok_and(|v| v == "1") {
            panic!("MMRUN_REQUIRE_ZOOKEEPER=1 but {e}");
        }
        eprintln!("SKIPPED: up --masters 3: {e}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (mut up, printed) = Up::with(&["--masters", "3", "--agents", "1"], Some(tmp.path()));
    assert!(up.master.starts_with("zk://127.0.0.1:"), "{printed:?}");
    assert!(up.master.ends_with("/mesos"), "{printed:?}");
    let masters: Vec<&String> = printed
        .iter()
        .filter(|l| l.trim_start().starts_with("master-"))
        .collect();
    assert_eq!(masters.len(), 3, "{printed:?}");
    let leaders: Vec<&&String> = masters.iter().filter(|l| l.contains("(leader)")).collect();
    assert_eq!(leaders.len(), 1, "{printed:?}");
    let url_of = |line: &str| line.split_whitespace().nth(1).unwrap().to_string();
    let leader = url_of(leaders[0]);
    let follower = masters
        .iter()
        .map(|l| url_of(l))
        .find(|u| *u != leader)
        .unwrap();
    let answer = mmrun_get_no_redirect(&format!("{follower}/master/state?x=1"));
    assert_eq!(answer.0, 307, "a follower redirects: {answer:?}");
    let leader_hostport = leader.trim_start_matches("http://");
    assert_eq!(
        answer.1.as_deref(),
        Some(format!("//{leader_hostport}/master/state?x=1").as_str())
    );

    let status = up.interrupt();
    assert!(status.success(), "mmrun up exited with {status}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// GET without following redirects: (status, Location).
fn mmrun_get_no_redirect(url: &str) -> (u16, Option<String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = ::reqwest::Client::builder()
            .no_proxy()
            .redirect(::reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client.get(url).send().await.unwrap();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        (r.status().as_u16(), location)
    })
}
