//! `mmrun run --backend external`: scenarios against a cluster mmrun did not start — here
//! `mmrun up`, run as a separate process (one master; three masters through zk:// when this
//! host has ZooKeeper). The scenario's framework runs its task and is torn down at the end; a
//! scenario that kills an agent is SKIP with the reason; the cluster keeps running and a
//! framework that was there before is not touched.

use crate::common;
use crate::common::workspace::{Workspace, code_and_text};

use mmrun::framework::{Framework, FrameworkOptions};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `mmrun up` as a child process: interrupted (as Ctrl-C) when dropped, so it stops its nodes
/// and ZooKeeper, and killed if it does not end.
struct Up {
    child: Child,
    /// `MESOS_MASTER` as `up` printed it: `host:port` or `zk://…`.
    mesos_master: String,
    /// The leader's `http://host:port` (the first master `up` lists).
    url: String,
}

impl Up {
    fn start(args: &[&str]) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mmrun"))
            .arg("up")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mmrun up starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut url = None;
        let mut mesos_master = None;
        for line in lines.by_ref().map_while(Result::ok) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if url.is_none()
                && words.len() >= 2
                && words[0].starts_with("master")
                && words[1].starts_with("http://")
                && (words.len() == 2 || line.contains("(leader)"))
            {
                url = Some(words[1].to_string());
            }
            if let Some(m) = line.strip_prefix("MESOS_MASTER=") {
                mesos_master = Some(m.to_string());
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let (Some(mesos_master), Some(url)) = (mesos_master, url) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mmrun up {args:?} did not print its master and MESOS_MASTER");
        };
        Up {
            child,
            mesos_master,
            url,
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        if common::exit_within(&mut self.child, Duration::from_secs(10)).is_some() {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PASSING: &str = r#"
let c = cluster(#{ agents: 2 });
c.submit_framework(#{ name: "ext-fw", tasks: [#{ name: "ext-task", cmd: "sleep 0.3" }] });
c.await_task("ext-task", "TASK_RUNNING");
c.await_task("ext-task", "TASK_FINISHED");
snapshot("final", c.state());
"#;

const KILLS_AN_AGENT: &str = r#"
let c = cluster();
c.start_master();
let agent = c.add_agent();
agent.kill();
"#;

const TOO_MANY_AGENTS: &str = r#"
let c = cluster(#{ agents: 3 });
"#;

/// Runs the three scenarios against `up` (`master` given to `--master`) with a bystander
/// framework subscribed beforehand; checks what the run and the cluster show after.
async fn scenarios_against(up: &Up, master: &str) {
    let bystander = Framework::subscribe(&up.url, FrameworkOptions::named("bystander"))
        .await
        .expect("the bystander subscribes");
    let bystander_id = bystander.id().value.clone();

    let ws = Workspace::new("mmrun-external-test-", &["scripts"]);
    for (name, text) in [
        ("passing.rhai", PASSING),
        ("kills_an_agent.rhai", KILLS_AN_AGENT),
        ("too_many_agents.rhai", TOO_MANY_AGENTS),
    ] {
        std::fs::write(ws.path(&format!("scripts/{name}")), text).unwrap();
    }
    let mut cmd = ws.mmrun(&[
        "run",
        "--backend",
        "external",
        "--master",
        master,
        "--accept",
    ]);
    cmd.current_dir(ws.root()).env_remove("CI");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let (code, text) = code_and_text(&out);
    assert_ne!(code, 0, "one scenario fails:\n{text}");
    assert!(
        text.contains("PASS") && text.contains("scripts/passing.rhai"),
        "{text}"
    );
    assert!(
        text.contains("SKIP")
            && text.contains(
                "agent-1.kill(): killing an agent needs control over the cluster's nodes"
            ),
        "{text}"
    );
    assert!(
        text.contains("the external cluster has 2 active agent(s); the scenario asks for more"),
        "{text}"
    );
    assert!(text.contains("1 passed, 1 failed, 1 skipped"), "{text}");

    // The snapshot holds the scenario's framework and agents only: not the bystander.
    let snap = std::fs::read_to_string(ws.path("snapshots/scripts/passing__final.snap"))
        .or_else(|_| {
            let found = walk(&ws.path("snapshots"));
            std::fs::read_to_string(found.first().expect("a snapshot was written"))
        })
        .unwrap();
    assert!(snap.contains("name: ext-fw"), "{snap}");
    assert!(!snap.contains("bystander"), "{snap}");
    assert!(snap.contains("TASK_FINISHED: 1"), "{snap}");

    // The cluster still runs: the scenario's framework was torn down, the bystander not.
    let state = common::get_json(&format!("{}/master/state", up.url)).await;
    let names = |key: &str| -> Vec<String> {
        state[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("frameworks"), ["bystander"], "{state:#}");
    assert_eq!(names("completed_frameworks"), ["ext-fw"], "{state:#}");
    assert_eq!(state["frameworks"][0]["id"], bystander_id.as_str());
    assert_eq!(state["frameworks"][0]["active"], true);
    assert_eq!(state["activated_slaves"].as_f64(), Some(2.0), "{state:#}");
    bystander.disconnect();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "snap") {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_run_against_mmrun_up_as_an_external_cluster() {
    let up = Up::start(&["--port", "0", "--agents", "2"]);
    let master = format!("http://{}", up.mesos_master);
    scenarios_against(&up, &master).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_run_against_three_masters_found_through_zookeeper() {
    if common::zookeeper::install_or_skip("external cluster through zk://").is_none() {
        return;
    }
    let up = Up::start(&["--masters", "3", "--agents", "2"]);
    assert!(up.mesos_master.starts_with("zk://"), "{}", up.mesos_master);
    let master = up.mesos_master.clone();
    scenarios_against(&up, &master).await;
}

#[test]
fn the_external_backend_needs_a_master() {
    let ws = Workspace::new("mmrun-external-test-", &["scripts"]);
    std::fs::write(ws.path("scripts/x.rhai"), "let c = cluster();\n").unwrap();
    let mut cmd = ws.mmrun(&["run", "--backend", "external"]);
    cmd.current_dir(ws.root()).env_remove("MMRUN_MASTER");
    let (code, text) = code_and_text(&cmd.output().unwrap());
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--backend external needs the cluster's master"),
        "{text}"
    );

    // --master names an external cluster: with another backend it is a mistake.
    let mut cmd = ws.mmrun(&["run", "--backend", "embedded", "--master", "127.0.0.1:5050"]);
    cmd.current_dir(ws.root());
    let (code, text) = code_and_text(&cmd.output().unwrap());
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("use it with --backend external, not embedded"),
        "{text}"
    );
}

/// The shipped scenarios against `mmrun up --agents 3`, one after the other on the one cluster:
/// each passes with its committed snapshot (what the cluster held before is left out of what
/// the script reads) or is SKIP for what needs node control; none fails. The cluster ends with
/// no framework left registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_scenarios_pass_or_skip_against_an_external_cluster() {
    let up = Up::start(&["--port", "0", "--agents", "3"]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmrun"));
    cmd.args([
        "run",
        "scripts",
        "--backend",
        "external",
        "--master",
        &up.url,
    ])
    .current_dir(root)
    .env("CI", "true")
    .env("NO_COLOR", "1")
    .env_remove("INSTA_UPDATE")
    .env_remove("MMRUN_BACKEND");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let (code, text) = code_and_text(&out);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    for scenario in ["framework_teardown", "kill_running_task", "custom_executor"] {
        let passed = text
            .lines()
            .any(|l| l.contains("PASS [") && l.contains(&format!("scripts/{scenario}.rhai")));
        assert!(passed, "{scenario} did not pass: {text}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains("SKIP [") && l.contains("scripts/agent_lost.rhai")),
        "{text}"
    );
    let state = common::get_json(&format!("{}/master/state", up.url)).await;
    assert_eq!(
        state["frameworks"].as_array().map(Vec::len),
        Some(0),
        "{state:#}"
    );
    assert_eq!(state["activated_slaves"].as_f64(), Some(3.0), "{state:#}");
}
