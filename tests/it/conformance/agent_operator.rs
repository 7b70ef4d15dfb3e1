//! `POST /api/v1` on an agent: the agent's v1 operator API (Mesos's `mesos.v1.agent.Call`) in
//! both encodings, against an agent running a task and holding a finished one. The request
//! checks it shares with every v1 endpoint are in `media_types`.

use crate::common::{cluster, get_json, same_json, wait_for, without_empty_lists};
use base64::Engine;
use mmrun::framework::{Framework, FrameworkOptions, TaskRequest};
use mmrun::lite::cluster::LocalCluster;
use mmrun::mesos::agent_operator::{AgentCall, AgentResponse};
use mmrun::mesos::encoding::{self, Encoding};
use mmrun::mesos::task::TaskState;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

/// An agent running `sleeper` (sleep 600) and holding `greeter` (echo), finished.
struct World {
    cluster: LocalCluster,
    framework: Framework,
    url: String,
}

impl World {
    async fn new() -> World {
        let cluster = cluster(1).await;
        let framework = Framework::subscribe(&cluster.master_url(), FrameworkOptions::named("ops"))
            .await
            .unwrap();
        framework
            .launch(vec![
                TaskRequest::command("sleeper", "sleep 600"),
                TaskRequest::command("greeter", "echo hello from the sandbox"),
            ])
            .unwrap();
        let never = CancellationToken::new();
        for (task, state) in [
            ("sleeper", TaskState::Running),
            ("greeter", TaskState::Finished),
        ] {
            framework
                .await_task(task, state, WAIT, &never)
                .await
                .unwrap();
        }
        // The agent completes a task once its last update is acknowledged: wait for that, so
        // `greeter` is among the completed tasks and executors, not the terminated ones.
        let greeter = framework.task("greeter").unwrap().id.value;
        let state_url = format!("{}/state", cluster.agent_url(0).unwrap());
        wait_for("greeter to complete", WAIT, || async {
            let state = get_json(&state_url).await;
            let completed = state["frameworks"][0]["completed_executors"]
                .as_array()
                .is_some_and(|done| done.iter().any(|e| e["id"] == greeter.as_str()));
            match completed {
                true => Ok(()),
                false => Err(state.to_string()),
            }
        })
        .await;
        let url = format!("{}/api/v1", cluster.agent_url(0).unwrap());
        World {
            cluster,
            framework,
            url,
        }
    }

    /// Status and body of `call` sent in `encoding`, answered in the same encoding (as JSON).
    async fn call_in(&self, encoding: Encoding, call: Value) -> (u16, Value, String) {
        let call: AgentCall = serde_json::from_value(call).unwrap();
        let response = reqwest::Client::new()
            .post(&self.url)
            .header("Content-Type", encoding.media_type())
            .header("Accept", encoding.media_type())
            .body(encoding::encode(encoding, &call).unwrap())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let ok = response.status().is_success();
        let bytes = response.bytes().await.unwrap();
        if !ok {
            return (status, Value::Null, String::from_utf8_lossy(&bytes).into());
        }
        let answer: AgentResponse = encoding::decode(encoding, &bytes)
            .unwrap_or_else(|e| panic!("not an agent Response in {encoding:?}: {e}"));
        (status, answer.0, String::new())
    }

    async fn call(&self, call: Value) -> Value {
        let (status, answer, text) = self.call_in(Encoding::Json, call.clone()).await;
        assert_eq!(status, 200, "{call}: {text}");
        answer
    }

    fn task_id(&self, name: &str) -> String {
        self.framework.task(name).unwrap().id.value
    }
}

fn ids(tasks: &Value) -> Vec<&str> {
    tasks
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {tasks}"))
        .iter()
        .map(|t| t["task_id"]["value"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_answers_its_operator_calls_from_its_state() {
    let w = World::new().await;
    let (sleeper, greeter) = (w.task_id("sleeper"), w.task_id("greeter"));
    let agent_id = w.cluster.agent_id(0).unwrap();

    let health = w.call(json!({"type": "GET_HEALTH"})).await;
    assert_eq!(
        health,
        json!({"type": "GET_HEALTH", "get_health": {"healthy": true}})
    );

    let tasks = &w.call(json!({"type": "GET_TASKS"})).await["get_tasks"];
    assert_eq!(
        ids(&tasks["launched_tasks"]),
        [sleeper.as_str()],
        "{tasks:#}"
    );
    assert_eq!(
        ids(&tasks["completed_tasks"]),
        [greeter.as_str()],
        "{tasks:#}"
    );
    let running = &tasks["launched_tasks"][0];
    assert_eq!(running["state"], "TASK_RUNNING");
    assert_eq!(running["agent_id"]["value"], agent_id.value.as_str());
    assert_eq!(
        running["framework_id"]["value"],
        w.framework.id().value.as_str()
    );
    assert_eq!(running["status_update_state"], "TASK_RUNNING");

    let executors = &w.call(json!({"type": "GET_EXECUTORS"})).await["get_executors"];
    assert_eq!(
        executors["executors"][0]["executor_info"]["executor_id"]["value"],
        sleeper.as_str()
    );
    assert!(
        executors["executors"][0]["executor_info"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Command Executor (Task: "),
        "{executors:#}"
    );
    assert_eq!(
        executors["completed_executors"][0]["executor_info"]["executor_id"]["value"],
        greeter.as_str()
    );

    let frameworks = &w.call(json!({"type": "GET_FRAMEWORKS"})).await["get_frameworks"];
    assert_eq!(
        frameworks["frameworks"][0]["framework_info"]["id"]["value"],
        w.framework.id().value.as_str()
    );
    assert_eq!(frameworks["frameworks"][0]["framework_info"]["name"], "ops");

    let state = &w.call(json!({"type": "GET_STATE"})).await["get_state"];
    assert_eq!(state["get_tasks"], *tasks);
    assert_eq!(state["get_executors"], *executors);
    assert_eq!(state["get_frameworks"], *frameworks);

    let containers = &w.call(json!({"type": "GET_CONTAINERS"})).await["get_containers"];
    let container = &containers["containers"][0];
    assert_eq!(containers["containers"].as_array().unwrap().len(), 1);
    assert_eq!(container["executor_id"]["value"], sleeper.as_str());
    let pid = container["container_status"]["executor_pid"]
        .as_u64()
        .unwrap();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "{container}"
    );

    let agent = &w.call(json!({"type": "GET_AGENT"})).await["get_agent"]["agent_info"];
    assert_eq!(agent["id"]["value"], agent_id.value.as_str());
    assert!(agent["port"].as_u64().unwrap() > 0);
    assert!(!agent["resources"].as_array().unwrap().is_empty());

    let flags = &w.call(json!({"type": "GET_FLAGS"})).await["get_flags"]["flags"];
    assert!(
        flags
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "work_dir"),
        "{flags}"
    );
    let metrics = &w.call(json!({"type": "GET_METRICS"})).await["get_metrics"]["metrics"];
    let metric = |name: &str| {
        metrics
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(metric("slave/registered"), 1.0);
    assert_eq!(metric("slave/tasks_running"), 1.0);
    assert_eq!(metric("slave/executors_running"), 1.0);
    assert_eq!(metric("slave/cpus_used"), 0.1);
    let snapshot = get_json(&format!(
        "{}/metrics/snapshot",
        w.cluster.agent_url(0).unwrap()
    ))
    .await;
    assert_eq!(snapshot["slave/tasks_running"], 1.0);
    let level = w.call(json!({"type": "GET_LOGGING_LEVEL"})).await;
    assert_eq!(level["get_logging_level"]["level"], 0);
    let version = w.call(json!({"type": "GET_VERSION"})).await;
    assert_eq!(version["get_version"]["version_info"]["version"], "1.11.0");
    w.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_files_and_read_file_serve_the_sandboxes_only() {
    let w = World::new().await;
    let sandbox = w.framework.task("greeter").unwrap();
    let state = get_json(&format!("{}/state", w.cluster.agent_url(0).unwrap())).await;
    let directory = state["frameworks"][0]["completed_executors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == sandbox.id.value.as_str())
        .unwrap()["directory"]
        .as_str()
        .unwrap()
        .to_string();

    let listing = w
        .call(json!({"type": "LIST_FILES", "list_files": {"path": directory}}))
        .await;
    let stdout_path = format!("{directory}/stdout");
    let stdout = listing["list_files"]["file_infos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == stdout_path.as_str())
        .unwrap_or_else(|| panic!("no stdout in {listing:#}"))
        .clone();
    let text = "hello from the sandbox\n";
    assert_eq!(stdout["size"], text.len());
    assert_eq!(stdout["nlink"], 1);
    assert_eq!(
        stdout["mode"].as_u64().unwrap() & 0o170000,
        0o100000,
        "a regular file"
    );
    assert!(stdout["mtime"]["nanoseconds"].as_i64().unwrap() > 0);
    let uid = stdout["uid"].as_str().unwrap();
    assert!(
        !uid.chars().all(|c| c.is_ascii_digit()),
        "owners by name: {stdout}"
    );

    let read = w
        .call(json!({"type": "READ_FILE",
                     "read_file": {"path": stdout_path, "offset": 6, "length": 4}}))
        .await;
    let data = base64::engine::general_purpose::STANDARD
        .decode(read["read_file"]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        (read["read_file"]["size"].as_u64(), data),
        (Some(23), b"from".to_vec())
    );
    let past_the_end = w
        .call(json!({"type": "READ_FILE", "read_file": {"path": stdout_path, "offset": 999}}))
        .await;
    assert_eq!(past_the_end["read_file"], json!({"size": 23, "data": ""}));

    let refused = [
        (
            json!({"type": "READ_FILE", "read_file": {"path": "/etc/passwd", "offset": 0}}),
            404,
            "not found",
        ),
        (
            json!({"type": "LIST_FILES", "list_files": {"path": "/"}}),
            404,
            "not found",
        ),
        (
            json!({"type": "LIST_FILES", "list_files": {"path": format!("{directory}/{}", "../".repeat(30))}}),
            404,
            "not found",
        ),
        (
            json!({"type": "READ_FILE", "read_file": {"path": directory, "offset": 0}}),
            400,
            "directory",
        ),
        (
            json!({"type": "LIST_FILES"}),
            400,
            "Expecting 'list_files' to be present",
        ),
        (
            json!({"type": "READ_FILE", "read_file": {"offset": 0}}),
            400,
            "read_file",
        ),
    ];
    for (call, status, needle) in refused {
        let (code, _, text) = w.call_in(Encoding::Json, call.clone()).await;
        assert_eq!(code, status, "{call}: {text}");
        assert!(text.contains(needle), "{call}: {text}");
    }
    w.cluster.shutdown().await;
}

/// Every answer in protobuf decodes to exactly the JSON answer: nothing the agent writes is
/// lost for want of a field in proto/mesos/v1/agent.
#[tokio::test(flavor = "multi_thread")]
async fn agent_answers_in_protobuf_are_the_json_answers() {
    let w = World::new().await;
    for kind in [
        "GET_HEALTH",
        "GET_FLAGS",
        "GET_VERSION",
        "GET_LOGGING_LEVEL",
        "GET_STATE",
        "GET_CONTAINERS",
        "GET_FRAMEWORKS",
        "GET_EXECUTORS",
        "GET_TASKS",
        "GET_AGENT",
    ] {
        let call = json!({ "type": kind });
        let (status, protobuf, text) = w.call_in(Encoding::Protobuf, call.clone()).await;
        assert_eq!(status, 200, "{kind}: {text}");
        let (protobuf, json) = (
            without_empty_lists(protobuf),
            without_empty_lists(w.call(call).await),
        );
        assert!(
            same_json(&protobuf, &json),
            "{kind}: protobuf {protobuf:#}\njson {json:#}"
        );
    }
    w.cluster.shutdown().await;
}

/// What mmrun's agent does not do is 501 with a message naming the call, in both encodings.
#[tokio::test(flavor = "multi_thread")]
async fn calls_mmrun_does_not_serve_are_501_with_the_reason() {
    let w = World::new().await;
    for encoding in [Encoding::Json, Encoding::Protobuf] {
        for kind in [
            "UNKNOWN",
            "SET_LOGGING_LEVEL",
            "LAUNCH_NESTED_CONTAINER",
            "ATTACH_CONTAINER_OUTPUT",
            "KILL_CONTAINER",
            "GET_RESOURCE_PROVIDERS",
            "PRUNE_IMAGES",
        ] {
            let (status, _, text) = w.call_in(encoding, json!({ "type": kind })).await;
            assert_eq!(status, 501, "{kind} in {encoding:?}: {text}");
            assert!(
                text.starts_with(&format!("mmrun does not support the agent call {kind}: ")),
                "{text}"
            );
        }
    }
    // A type no Mesos has is not a call at all.
    let r = reqwest::Client::new()
        .post(&w.url)
        .header("Content-Type", "application/json")
        .body(r#"{"type": "GET_EVERYTHING"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("GET_EVERYTHING"));
    w.cluster.shutdown().await;
}
