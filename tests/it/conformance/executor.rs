//! `/api/v1/executor` over raw HTTP, checked against Mesos's `Http::executor` (status codes and
//! messages in its order). The test itself plays the executor: the agent starts a process that
//! never subscribes (so the executor is REGISTERING), and the test subscribes in its place.

use crate::common::wait_for;
use base64::Engine;
use futures::StreamExt;
use mmrun::framework::{ExecutorRequest, Framework, FrameworkOptions, TaskRequest};
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use mmrun::mesos::encoding::{self, Encoding};
use mmrun::mesos::executor;
use mmrun::mesos::recordio::Decoder;
use mmrun::mesos::task::TaskState;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

struct World {
    cluster: LocalCluster,
    framework: Framework,
    url: String,
    /// What the test's calls are sent in, as an executor on the same library would.
    encoding: Encoding,
}

impl World {
    async fn new(encoding: Encoding) -> World {
        let mut cluster = LocalCluster::start(ClusterOptions::default())
            .await
            .unwrap();
        cluster.add_agent(AgentOptions::default()).await.unwrap();
        let framework = Framework::subscribe(&cluster.master_url(), FrameworkOptions::named("raw"))
            .await
            .unwrap();
        // An executor process that never subscribes: the test speaks for it.
        framework
            .launch(vec![TaskRequest {
                executor: Some(ExecutorRequest {
                    id: "manual".into(),
                    cmd: "exec sleep 600".into(),
                    uris: vec![],
                    docker: None,
                }),
                ..TaskRequest::command("work", "do it")
            }])
            .unwrap();
        let url = format!("{}/api/v1/executor", cluster.agent_url(0).unwrap());
        let world = World {
            cluster,
            framework,
            url,
            encoding,
        };
        // Wait until the agent knows the executor.
        wait_for("the agent to know the executor", WAIT, || async {
            let state: Value =
                reqwest::get(format!("{}/state", world.cluster.agent_url(0).unwrap()))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            match state["frameworks"][0]["executors"][0]["id"] == "manual" {
                true => Ok(()),
                false => Err(state.to_string()),
            }
        })
        .await;
        world
    }

    fn call(&self, kind: &str) -> Value {
        json!({
            "type": kind,
            "framework_id": {"value": self.framework.id().value},
            "executor_id": {"value": "manual"},
        })
    }

    async fn post(&self, body: &Value) -> (u16, String) {
        self.post_with(body, &[]).await
    }

    /// POSTs `body` (a call as JSON) in the world's encoding: protobuf goes through the serde
    /// type, so every call here must be one `executor::Call` reads.
    async fn post_with(&self, body: &Value, headers: &[(&str, &str)]) -> (u16, String) {
        let bytes = match self.encoding {
            Encoding::Json => body.to_string().into_bytes(),
            Encoding::Protobuf => {
                let call: executor::Call = serde_json::from_value(body.clone()).unwrap();
                encoding::encode(Encoding::Protobuf, &call).unwrap()
            }
        };
        let mut request = reqwest::Client::new()
            .post(&self.url)
            .header("Content-Type", self.encoding.media_type())
            .body(bytes);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

fn uuid() -> String {
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}

fn update(world: &World, state: &str, uuid: &str) -> Value {
    let mut call = world.call("UPDATE");
    call["update"] = json!({"status": {
        "task_id": {"value": world.framework.task("work").unwrap().id.value},
        "state": state, "source": "SOURCE_EXECUTOR", "uuid": uuid,
    }});
    call
}

#[tokio::test(flavor = "multi_thread")]
async fn executor_calls_get_mesos_status_codes() {
    status_codes(Encoding::Json).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn executor_calls_in_protobuf_get_the_same_status_codes() {
    status_codes(Encoding::Protobuf).await;
}

/// What an executor call's answer must say.
enum Says {
    Exactly(&'static str),
    Containing(&'static str),
    Anything,
}

/// The checks after the body is read, in Mesos's order (the method and media-type checks every
/// v1 endpoint shares are in `media_types`): validation, then the lookups, then SUBSCRIBE first.
async fn status_codes(encoding: Encoding) {
    let w = World::new(encoding).await;
    let without = |mut call: Value, pointer: &str, key: &str| {
        call.pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .unwrap()
            .remove(key);
        call
    };
    let mut stranger = w.call("MESSAGE");
    stranger["message"] = json!({"data": "aGk="});
    stranger["framework_id"]["value"] = json!("nobody");
    let mut unknown_executor = stranger.clone();
    unknown_executor["framework_id"]["value"] = json!(w.framework.id().value);
    unknown_executor["executor_id"]["value"] = json!("nobody");
    let mut heartbeat = w.call("HEARTBEAT");
    heartbeat["framework_id"]["value"] = json!("nobody");

    let cases: Vec<(&str, Value, u16, Says)> = vec![
        (
            "SUBSCRIBE without ids",
            json!({"type": "SUBSCRIBE", "subscribe": {}}),
            400,
            Says::Containing("Missing required fields: executor_id, framework_id"),
        ),
        (
            "a call without its type",
            without(w.call("SUBSCRIBE"), "", "type"),
            400,
            Says::Exactly("Failed to validate Executor::Call: Expecting 'type' to be present"),
        ),
        (
            "SUBSCRIBE without its payload",
            w.call("SUBSCRIBE"),
            400,
            Says::Exactly("Failed to validate Executor::Call: Expecting 'subscribe' to be present"),
        ),
        (
            "UPDATE without its payload",
            w.call("UPDATE"),
            400,
            Says::Exactly("Failed to validate Executor::Call: Expecting 'update' to be present"),
        ),
        (
            "MESSAGE without its payload",
            w.call("MESSAGE"),
            400,
            Says::Exactly("Failed to validate Executor::Call: Expecting 'message' to be present"),
        ),
        (
            "an UPDATE to TASK_STAGING",
            update(&w, "TASK_STAGING", &uuid()),
            400,
            Says::Containing("Received TASK_STAGING from executor manual"),
        ),
        (
            "an UPDATE without a source",
            without(
                update(&w, "TASK_RUNNING", &uuid()),
                "/update/status",
                "source",
            ),
            400,
            Says::Containing("with invalid source, expecting 'SOURCE_EXECUTOR'"),
        ),
        (
            "an UPDATE whose uuid is not a UUID",
            update(&w, "TASK_RUNNING", "bm90IGEgdXVpZA=="),
            400,
            Says::Anything,
        ),
        (
            "HEARTBEAT, accepted before any lookup",
            heartbeat,
            202,
            Says::Anything,
        ),
        (
            "an unknown framework",
            stranger,
            400,
            Says::Exactly("Framework cannot be found"),
        ),
        (
            "an unknown executor",
            unknown_executor,
            400,
            Says::Exactly("Executor cannot be found"),
        ),
        (
            "an UPDATE before SUBSCRIBE",
            update(&w, "TASK_RUNNING", &uuid()),
            403,
            Says::Exactly("Executor is not subscribed"),
        ),
    ];
    let mut failures = Vec::new();
    for (what, call, status, says) in &cases {
        let (code, text) = w.post(call).await;
        let said = match says {
            Says::Exactly(expected) => text == *expected,
            Says::Containing(needle) => text.contains(needle),
            Says::Anything => true,
        };
        if code != *status || !said {
            failures.push(format!("{what}: expected {status}, got {code} {text:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // SUBSCRIBE must accept JSON or protobuf.
    let mut subscribe = w.call("SUBSCRIBE");
    subscribe["subscribe"] = json!({"unacknowledged_tasks": [], "unacknowledged_updates": []});
    let (code, _) = w.post_with(&subscribe, &[("Accept", "text/html")]).await;
    assert_eq!(code, 406);
    w.cluster.shutdown().await;
}

/// Reads events off a subscription until `count` have arrived.
/// The next `count` events, as JSON whatever the stream's encoding.
async fn next_events(
    encoding: Encoding,
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    decoder: &mut Decoder,
    pending: &mut Vec<Value>,
    count: usize,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while pending.len() < count {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("no event in time")
            .expect("the stream ended")
            .unwrap();
        for record in decoder.feed(&chunk).unwrap() {
            let event: executor::Event = encoding::decode(encoding, &record).unwrap();
            pending.push(serde_json::to_value(event).unwrap());
        }
    }
    pending.drain(..count).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscribed_executor_gets_its_task_and_its_updates_are_acknowledged() {
    executor_lifecycle(Encoding::Json).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_executor_lifecycle_in_protobuf() {
    executor_lifecycle(Encoding::Protobuf).await;
}

async fn executor_lifecycle(encoding: Encoding) {
    let w = World::new(encoding).await;
    let mut subscribe = w.call("SUBSCRIBE");
    subscribe["subscribe"] = json!({});
    let subscribe: executor::Call = serde_json::from_value(subscribe).unwrap();
    let response = reqwest::Client::new()
        .post(&w.url)
        .header("Content-Type", encoding.media_type())
        .header("Accept", encoding.media_type())
        .body(encoding::encode(encoding, &subscribe).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], encoding.media_type());
    let mut body = response.bytes_stream();
    let (mut decoder, mut pending) = (Decoder::new(), vec![]);

    // SUBSCRIBED, then the queued task as LAUNCH.
    let events = next_events(encoding, &mut body, &mut decoder, &mut pending, 2).await;
    assert_eq!(events[0]["type"], "SUBSCRIBED");
    let subscribed = &events[0]["subscribed"];
    assert_eq!(
        subscribed["executor_info"]["executor_id"]["value"],
        "manual"
    );
    assert_eq!(
        subscribed["executor_info"]["framework_id"]["value"],
        w.framework.id().value
    );
    assert_eq!(
        subscribed["framework_info"]["id"]["value"],
        w.framework.id().value
    );
    assert_eq!(subscribed["framework_info"]["name"], "raw");
    assert_eq!(
        subscribed["agent_info"]["id"]["value"],
        w.cluster.agent_id(0).unwrap().value
    );
    assert!(subscribed["container_id"]["value"].is_string());
    assert_eq!(events[1]["type"], "LAUNCH");
    let task = &events[1]["launch"]["task"];
    assert_eq!(task["name"], "work");
    let data = base64::engine::general_purpose::STANDARD
        .decode(task["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, b"do it");

    // UPDATE: 202, ACKNOWLEDGED on the stream with the same uuid, and the framework sees it
    // under that uuid.
    let running = uuid();
    let (code, _) = w.post(&update(&w, "TASK_RUNNING", &running)).await;
    assert_eq!(code, 202);
    let ack = next_events(encoding, &mut body, &mut decoder, &mut pending, 1).await;
    assert_eq!(ack[0]["type"], "ACKNOWLEDGED");
    assert_eq!(ack[0]["acknowledged"]["uuid"], running);
    assert_eq!(ack[0]["acknowledged"]["task_id"], task["task_id"]);
    let record = w
        .framework
        .await_task("work", TaskState::Running, WAIT, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(record.statuses[0].uuid.as_deref(), Some(running.as_str()));
    // A repeat of that update is acknowledged again but not forwarded twice.
    assert_eq!(w.post(&update(&w, "TASK_RUNNING", &running)).await.0, 202);
    let again = next_events(encoding, &mut body, &mut decoder, &mut pending, 1).await;
    assert_eq!(again[0]["type"], "ACKNOWLEDGED");

    // MESSAGE both ways.
    let mut message = w.call("MESSAGE");
    message["message"] = json!({"data": base64::engine::general_purpose::STANDARD.encode("hello")});
    assert_eq!(w.post(&message).await.0, 202);
    let got = w
        .framework
        .await_messages(1, WAIT, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(got[0].data, "hello");
    w.framework.message("work", "to you").unwrap();
    let event = next_events(encoding, &mut body, &mut decoder, &mut pending, 1).await;
    assert_eq!(event[0]["type"], "MESSAGE");
    assert_eq!(
        event[0]["message"]["data"],
        base64::engine::general_purpose::STANDARD.encode("to you")
    );

    // KILL arrives as an event; the agent does not end the task itself.
    w.framework.kill("work").unwrap();
    let kill = next_events(encoding, &mut body, &mut decoder, &mut pending, 1).await;
    assert_eq!(kill[0]["type"], "KILL");
    assert_eq!(kill[0]["kill"]["task_id"], task["task_id"]);
    assert_eq!(
        w.framework.task("work").unwrap().state(),
        Some(TaskState::Running)
    );
    assert_eq!(w.post(&update(&w, "TASK_KILLED", &uuid())).await.0, 202);
    w.framework
        .await_task("work", TaskState::Killed, WAIT, &CancellationToken::new())
        .await
        .unwrap();

    // Teardown: SHUTDOWN on the stream.
    w.framework.teardown().unwrap();
    let events = next_events(encoding, &mut body, &mut decoder, &mut pending, 2).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"SHUTDOWN"), "{kinds:?}");
    w.cluster.shutdown().await;
}
