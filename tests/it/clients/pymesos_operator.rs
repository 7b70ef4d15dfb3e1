//! An operator on the unmodified PyPI pymesos 0.3.15 (`MesosOperatorMasterDriver`,
//! tests/compat/operator_observer.py) watches the master's event stream while another
//! unmodified pymesos program (tests/compat/pymesos_framework.py) runs a task to the end: its
//! callbacks see the framework come, its task added and each new state, the framework go, and
//! an agent come and go.
//!
//! Needs the venv made by tests/compat/setup-python.sh (`.ci/run` makes it).

use crate::common;

use common::*;
use mmrun::lite::cluster::AgentOptions;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

fn compat(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compat")
        .join(script)
}

/// The observer's printed events, read one JSON line at a time.
struct Observer {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Observer {
    async fn start(python: &PathBuf, master: &str) -> Observer {
        let mut child = Command::new(python)
            .arg(compat("operator_observer.py"))
            .arg(master)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python runs");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Observer {
            _child: child,
            lines,
        }
    }

    /// The next event the operator's callbacks received (30 s for python to start and connect).
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("the observer prints an event in time")
            .expect("the observer's stdout reads")
            .expect("the observer is still running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    async fn expect(&mut self, kind: &str) -> Value {
        let event = self.next().await;
        assert_eq!(event["event"], kind, "{event}");
        event
    }
}

#[tokio::test]
async fn an_unmodified_pymesos_operator_watches_a_pymesos_framework_run_its_task() {
    let Some(python) = common::pymesos::python() else {
        return;
    };
    let mut c = cluster(1).await;
    let master = c.master_addr().to_string();
    let mut observer = Observer::start(&python, &master).await;
    let subscribed = observer.expect("subscribed").await;
    assert_eq!(subscribed["agents"], 1, "{subscribed}");
    assert_eq!(subscribed["frameworks"], 0, "{subscribed}");

    let framework = Command::new(&python)
        .arg(compat("pymesos_framework.py"))
        .arg(&master)
        .args(["--cmd", "echo observed; exit 0", "--timeout", "60"])
        .kill_on_drop(true)
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&framework.stdout);
    assert!(stdout.contains("RESULT TASK_FINISHED"), "{stdout}");

    let added = observer.expect("frameworkAdded").await;
    let name = &added["data"]["framework_info"]["name"];
    assert_eq!(name, "mmrun-pymesos-compat", "{added}");
    // Its SUBSCRIBE carried no id; the master's answer did, and so does the event.
    let framework_id = added["data"]["framework_info"]["id"]["value"].clone();
    assert!(framework_id.is_string(), "{added}");

    let task = observer.expect("taskAdded").await;
    assert_eq!(task["data"]["state"], "TASK_STAGING", "{task}");
    assert_eq!(task["data"]["framework_id"]["value"], framework_id);
    let mut told = Vec::new();
    loop {
        let updated = observer.expect("taskUpdated").await;
        assert_eq!(updated["data"]["framework_id"]["value"], framework_id);
        let state = updated["data"]["status"]["state"]
            .as_str()
            .unwrap()
            .to_string();
        told.push(state.clone());
        if state == "TASK_FINISHED" {
            assert_eq!(updated["data"]["state"], "TASK_FINISHED", "{updated}");
            break;
        }
    }
    assert_eq!(told, ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]);

    let removed = observer.expect("frameworkRemoved").await;
    assert_eq!(removed["data"]["id"]["value"], framework_id, "{removed}");

    let index = c.add_agent(AgentOptions::default()).await.unwrap();
    let agent_id = c.agent_id(index).unwrap().to_string();
    let agent = observer.expect("agentAdded").await;
    assert_eq!(agent["data"]["agent_info"]["id"]["value"], agent_id);
    c.stop_agent(index, true).await.unwrap();
    let gone = observer.expect("agentRemoved").await;
    assert_eq!(gone["data"], agent_id.as_str());
    c.shutdown().await;
}
