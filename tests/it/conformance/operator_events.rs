//! The master's operator event stream (`SUBSCRIBE` on `POST /api/v1`, Mesos's
//! `mesos.v1.master.Event`), read over raw HTTP/1.1: the state first, then each change in the
//! order it happened, in JSON and in protobuf.

use crate::common;

use super::operator::run_task;
use common::*;
use mmrun::lite::cluster::{AgentOptions, LocalCluster};
use mmrun::mesos::encoding::{self, Encoding};
use mmrun::mesos::operator_event::OperatorEvent;
use mmrun::mesos::recordio::Decoder;
use serde_json::{Value, json};
use std::collections::VecDeque;

/// An open operator event stream.
struct OperatorStream {
    conn: RawConn,
    encoding: Encoding,
    decoder: Decoder,
    pending: VecDeque<bytes::Bytes>,
}

impl OperatorStream {
    /// SUBSCRIBEs at `path`, answers asked in `encoding`; asserts the response head.
    async fn open(c: &LocalCluster, path: &str, encoding: Encoding) -> OperatorStream {
        let mut conn = RawConn::connect(&c.master_addr().to_string()).await;
        let call = json!({"type": "SUBSCRIBE"}).to_string();
        conn.send(&http_request(
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("Accept", encoding.media_type()),
            ],
            call.as_bytes(),
        ))
        .await;
        let head = conn.read_head().await.expect("a SUBSCRIBE response");
        assert_eq!(head.status, 200, "{head:?}");
        assert_eq!(head.header("content-type"), Some(encoding.media_type()));
        OperatorStream {
            conn,
            encoding,
            decoder: Decoder::default(),
            pending: VecDeque::new(),
        }
    }

    /// The next event, as JSON (a protobuf record read through `OperatorEvent`).
    async fn next(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        let record = loop {
            if let Some(record) = self.pending.pop_front() {
                break record;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let chunk = self
                .conn
                .read_chunk(left)
                .await
                .expect("the stream stays open and an event comes");
            self.pending
                .extend(self.decoder.feed(&chunk).expect("valid RecordIO"));
        };
        match self.encoding {
            Encoding::Json => serde_json::from_slice(&record).expect("a JSON record"),
            Encoding::Protobuf => {
                let event: OperatorEvent =
                    encoding::decode(Encoding::Protobuf, &record).expect("a mesos.v1.master.Event");
                serde_json::to_value(event).unwrap()
            }
        }
    }

    /// The next event, asserted to be of `kind`; returns its payload.
    async fn expect(&mut self, kind: &str) -> Value {
        let event = self.next().await;
        assert_eq!(event["type"], kind, "{event:#}");
        event[kind.to_lowercase()].clone()
    }
}

/// An operator call, as JSON, answered in JSON.
async fn operator_call(c: &LocalCluster, call: Value) -> RawResponse {
    let body = call.to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    raw_round_trip(
        &c.master_addr().to_string(),
        &http_request("POST", "/api/v1", &headers, body.as_bytes()),
    )
    .await
}

#[tokio::test]
async fn the_operator_stream_gives_the_state_then_each_change_in_order() {
    let mut c = master_only().await;
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut events = OperatorStream::open(&c, "/api/v1", Encoding::Json).await;
    let subscribed = events.expect("SUBSCRIBED").await;
    assert_eq!(subscribed["heartbeat_interval_seconds"], 15.0);
    let state = &subscribed["get_state"];
    assert_eq!(state["get_agents"]["agents"].as_array().unwrap().len(), 1);
    assert!(
        state["get_frameworks"]["frameworks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // What GET_STATE answers now is what SUBSCRIBED held.
    let get_state = operator_call(&c, json!({"type": "GET_STATE"})).await;
    assert_eq!(get_state.status, 200);
    let get_state: Value = serde_json::from_slice(&get_state.body).unwrap();
    assert_eq!(get_state["get_state"], *state);

    let mut sub = raw_subscribe(&c.master_addr().to_string(), framework_json("watched")).await;
    let added = events.expect("FRAMEWORK_ADDED").await;
    assert_eq!(added["framework"]["framework_info"]["name"], "watched");
    assert_eq!(
        added["framework"]["framework_info"]["id"]["value"],
        sub.framework_id
    );
    assert_eq!(added["framework"]["active"], true);

    run_task(&mut sub, "sleeper", "sleep 60", "TASK_RUNNING").await;
    let task = events.expect("TASK_ADDED").await["task"].clone();
    assert_eq!(task["task_id"]["value"], "sleeper");
    assert_eq!(task["state"], "TASK_STAGING");
    // One TASK_UPDATED per status update that changes the task's state, up to TASK_RUNNING.
    // `state` is the task's latest state, which may run ahead of the update being told: the
    // agent's TASK_RUNNING can reach the master before the scheduler acknowledged
    // TASK_STARTING, as in Mesos (a task's `state` against its `status_update_state`).
    loop {
        let updated = events.expect("TASK_UPDATED").await;
        assert_eq!(updated["framework_id"]["value"], sub.framework_id);
        assert_eq!(updated["status"]["task_id"]["value"], "sleeper");
        let latest = updated["state"].as_str().unwrap();
        assert!(
            ["TASK_STARTING", "TASK_RUNNING"].contains(&latest),
            "{updated}"
        );
        match updated["status"]["state"].as_str().unwrap() {
            "TASK_RUNNING" => {
                assert_eq!(latest, "TASK_RUNNING");
                break;
            }
            "TASK_STARTING" => {}
            other => panic!("unexpected {other}: {updated}"),
        }
    }

    // The operator tears the framework down: its task is killed, then it is removed.
    let teardown =
        json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": sub.framework_id}}});
    assert_eq!(operator_call(&c, teardown).await.status, 200);
    let killed = events.expect("TASK_UPDATED").await;
    assert_eq!(killed["state"], "TASK_KILLED");
    assert_eq!(killed["status"]["reason"], "REASON_FRAMEWORK_REMOVED");
    let removed = events.expect("FRAMEWORK_REMOVED").await;
    assert_eq!(removed["framework_info"]["name"], "watched");

    // An agent joins, then leaves for good.
    let index = c.add_agent(AgentOptions::default()).await.unwrap();
    let agent_id = c.agent_id(index).unwrap().to_string();
    let agent = events.expect("AGENT_ADDED").await["agent"].clone();
    assert_eq!(agent["agent_info"]["id"]["value"], agent_id);
    assert_eq!(agent["active"], true);
    c.stop_agent(index, true).await.unwrap();
    let removed = events.expect("AGENT_REMOVED").await;
    assert_eq!(removed["agent_id"]["value"], agent_id);
    c.shutdown().await;
}

/// In protobuf, and at `/api/v1/operator`, where libprocess's longest-prefix routing takes
/// Mesos's own operator API (pymesos's operator drivers call it there).
#[tokio::test]
async fn the_operator_stream_speaks_protobuf_at_api_v1_operator_too() {
    let mut c = master_only().await;
    let mut events = OperatorStream::open(&c, "/api/v1/operator", Encoding::Protobuf).await;
    let subscribed = events.expect("SUBSCRIBED").await;
    assert_eq!(subscribed["heartbeat_interval_seconds"], 15.0);
    let index = c.add_agent(AgentOptions::default()).await.unwrap();
    let agent = events.expect("AGENT_ADDED").await["agent"].clone();
    assert_eq!(
        agent["agent_info"]["id"]["value"],
        c.agent_id(index).unwrap().to_string()
    );
    c.shutdown().await;
}

/// A master restarted with an empty registry learns the framework and its running task from
/// the re-registering agent: FRAMEWORK_ADDED before the TASK_ADDED that names it, then
/// AGENT_ADDED, as Mesos's `addSlave` orders them.
#[tokio::test]
async fn a_restarted_master_tells_its_subscribers_what_the_agents_bring_back() {
    let mut c = master_only().await;
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut info = framework_json("kept");
    info["failover_timeout"] = json!(60.0);
    let mut sub = raw_subscribe(&c.master_addr().to_string(), info).await;
    run_task(&mut sub, "sleeper", "sleep 60", "TASK_RUNNING").await;

    // Frozen, the agent re-registers only once the stream is open.
    c.pause_agent(0).unwrap();
    c.restart_master().await.unwrap();
    let mut events = OperatorStream::open(&c, "/api/v1", Encoding::Json).await;
    let subscribed = events.expect("SUBSCRIBED").await;
    let agents = &subscribed["get_state"]["get_agents"]["agents"];
    assert_eq!(agents, &json!([]), "{subscribed:#}");
    c.unpause_agent(0).unwrap();

    let framework = events.expect("FRAMEWORK_ADDED").await["framework"].clone();
    assert_eq!(framework["framework_info"]["name"], "kept");
    assert_eq!(framework["recovered"], true);
    let task = events.expect("TASK_ADDED").await["task"].clone();
    assert_eq!(task["task_id"]["value"], "sleeper");
    assert_eq!(task["state"], "TASK_RUNNING");
    let agent = events.expect("AGENT_ADDED").await["agent"].clone();
    assert_eq!(
        agent["agent_info"]["id"]["value"],
        c.agent_id(0).unwrap().to_string()
    );
    c.shutdown().await;
}
