//! `POST /api/v1/scheduler` on the wire, against an in-process cluster over raw HTTP/1.1:
//! the status codes in the order Mesos checks them (reference section 1), the SUBSCRIBE
//! response and its RecordIO records, failover, and what real clients do (section 8): missing
//! or repeated `Accept`, keep-alive connections, lenient JSON; both encodings, JSON and
//! protobuf (reference section 6 of mesos-ha-executors.md).

use crate::common;

use common::*;
use mmrun::lite::cluster::LocalCluster;
use mmrun::mesos::encoding::Encoding;
use mmrun::mesos::task::TaskState;
use serde_json::{Value, json};
use std::time::Duration;

fn addr(c: &LocalCluster) -> String {
    c.master_addr().to_string()
}

/// A POST to the scheduler endpoint with exactly these headers.
fn scheduler_post(headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    http_request("POST", "/api/v1/scheduler", headers, body)
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");

/// Asserts the status and that the body is a message containing `needle`.
fn assert_error(r: &RawResponse, status: u16, needle: &str) {
    assert_eq!(r.status, status, "body: {}", r.text());
    assert_eq!(
        r.header("content-length").map(str::parse::<usize>),
        Some(Ok(r.body.len())),
        "errors are framed by Content-Length"
    );
    assert!(
        r.text().contains(needle),
        "expected a message containing {needle:?}, got {:?}",
        r.text()
    );
}

/// 202 with an empty body, framed by `Content-Length: 0`: a 2xx without framing on a kept-alive
/// connection hangs clients that read until EOF.
fn assert_accepted(r: &RawResponse, what: &str) {
    assert_eq!(r.status, 202, "{what}: {}", r.text());
    assert!(r.body.is_empty(), "{what}: 202 carries no body");
    assert_eq!(
        r.header("content-length"),
        Some("0"),
        "{what}: {:?}",
        r.headers
    );
}

fn task_json(name: &str, agent_id: &str, cmd: &str) -> Value {
    json!({
        "name": name,
        "task_id": {"value": name},
        "agent_id": {"value": agent_id},
        "resources": [scalar_json("cpus", 0.1), scalar_json("mem", 32.0)],
        "command": {"value": cmd},
    })
}

fn offer_ids(offers_event: &Value) -> Vec<Value> {
    offers_event["offers"]["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].clone())
        .collect()
}

// --- Status codes, in Mesos's order ----------------------------------------------------------

/// A protobuf body that is not a Call is a 400 with Mesos's words and, unlike Mesos, the
/// reason; the master goes on serving.
#[tokio::test]
async fn malformed_protobuf_is_400() {
    let c = master_only().await;
    let cases: [(&str, &[u8]); 5] = [
        ("framework_id (a message) as a varint", b"\x08\x01"),
        ("subscribe cut short", b"\x10\x01\x1a\x10\x0a"),
        ("garbage", &[0xff; 12]),
        ("a length past the end", b"\x0a\x7f\x0a"),
        ("SUBSCRIBE without its framework_info", b"\x10\x01\x1a\x00"),
    ];
    for (what, body) in cases {
        let r = raw_round_trip(&addr(&c), &scheduler_post(&[PROTOBUF], body)).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(
            r.text()
                .starts_with("Failed to parse body into Call protobuf: "),
            "{what}: {}",
            r.text()
        );
    }
    raw_subscribe(&addr(&c), framework_json("still-serving")).await;
    c.shutdown().await;
}

#[tokio::test]
async fn json_that_is_not_a_call_is_400() {
    let c = master_only().await;
    for body in [
        &br#"{"hello": "world"}"#[..],
        b"[1, 2, 3]",
        b"\"SUBSCRIBE\"",
        b"",
    ] {
        let r = raw_round_trip(&addr(&c), &scheduler_post(&[JSON], body)).await;
        assert_error(&r, 400, "Call");
    }
    c.shutdown().await;
}

/// Who sends a case's call: nobody known, or a framework the case subscribes first.
#[derive(PartialEq)]
enum Sender {
    Stranger,
    Subscriber,
}

/// The `Mesos-Stream-Id` a case sends.
enum StreamId {
    Absent,
    /// The subscriber's own.
    Own,
    /// A well-formed id no subscription has.
    Foreign,
}

const FOREIGN_STREAM: &str = "0f2a6a6e-0000-4000-8000-000000000000";

struct CallCase {
    what: &'static str,
    sender: Sender,
    stream: StreamId,
    /// The call, given the subscriber's framework id (empty for a stranger).
    call: fn(&str) -> Value,
    status: u16,
    needle: &'static str,
}

/// The checks after a scheduler call is parsed, in Mesos's order: the call's own validation,
/// SUBSCRIBE's rules, the framework and stream lookups, then the call type. (The method and
/// media-type checks every v1 endpoint shares are in `media_types`.)
const CALL_CASES: &[CallCase] = &[
    CallCase {
        what: "SUBSCRIBE without its payload",
        sender: Sender::Stranger,
        stream: StreamId::Absent,
        call: |_| json!({"type": "SUBSCRIBE"}),
        status: 400,
        needle: "Expecting 'subscribe' to be present",
    },
    CallCase {
        what: "SUBSCRIBE carrying a stream id",
        sender: Sender::Stranger,
        stream: StreamId::Foreign,
        call: |_| subscribe_call(framework_json("x")),
        status: 400,
        needle: "Mesos-Stream-Id",
    },
    CallCase {
        what: "SUBSCRIBE whose framework_id differs from its framework_info's",
        sender: Sender::Stranger,
        stream: StreamId::Absent,
        call: |_| {
            let mut call = subscribe_call(framework_json("x"));
            call["framework_id"] = json!({"value": "some-id"});
            call
        },
        status: 400,
        needle: "framework_id",
    },
    CallCase {
        what: "a call type no Mesos has",
        sender: Sender::Subscriber,
        stream: StreamId::Own,
        call: |id| json!({"type": "FLY_TO_THE_MOON", "framework_id": {"value": id}}),
        status: 400,
        needle: "FLY_TO_THE_MOON",
    },
    CallCase {
        what: "a call without framework_id",
        sender: Sender::Subscriber,
        stream: StreamId::Own,
        call: |_| json!({"type": "REVIVE"}),
        status: 400,
        needle: "Expecting 'framework_id' to be present",
    },
    CallCase {
        what: "a call for an unknown framework",
        sender: Sender::Stranger,
        stream: StreamId::Foreign,
        call: |_| json!({"type": "REVIVE", "framework_id": {"value": "no-such-framework"}}),
        status: 400,
        needle: "Framework cannot be found",
    },
    CallCase {
        what: "a call without a stream id",
        sender: Sender::Subscriber,
        stream: StreamId::Absent,
        call: |id| json!({"type": "REVIVE", "framework_id": {"value": id}}),
        status: 400,
        needle: "Mesos-Stream-Id",
    },
    CallCase {
        what: "a call with another stream's id",
        sender: Sender::Subscriber,
        stream: StreamId::Foreign,
        call: |id| json!({"type": "REVIVE", "framework_id": {"value": id}}),
        status: 400,
        needle: "stream ID",
    },
    // UNKNOWN is the last check: Mesos looks the framework up before the switch that answers
    // 501, so UNKNOWN from a framework it does not know is a 400.
    CallCase {
        what: "UNKNOWN from an unknown framework",
        sender: Sender::Stranger,
        stream: StreamId::Foreign,
        call: |_| json!({"type": "UNKNOWN", "framework_id": {"value": "no-such-framework"}}),
        status: 400,
        needle: "Framework cannot be found",
    },
    CallCase {
        what: "UNKNOWN from a subscribed framework",
        sender: Sender::Subscriber,
        stream: StreamId::Own,
        call: |id| json!({"type": "UNKNOWN", "framework_id": {"value": id}}),
        status: 501,
        needle: "UNKNOWN",
    },
];

#[tokio::test]
async fn calls_get_mesos_status_codes_in_mesos_order() {
    let c = master_only().await;
    let mut failures = Vec::new();
    for case in CALL_CASES {
        let subscriber = match case.sender {
            Sender::Subscriber => Some(raw_subscribe(&addr(&c), framework_json(case.what)).await),
            Sender::Stranger => None,
        };
        let framework_id = subscriber.as_ref().map_or("", |s| s.framework_id.as_str());
        let stream_id = match case.stream {
            StreamId::Absent => None,
            StreamId::Own => subscriber.as_ref().map(|s| s.stream_id.as_str()),
            StreamId::Foreign => Some(FOREIGN_STREAM),
        };
        let r = post_call(&addr(&c), stream_id, &(case.call)(framework_id)).await;
        let framed = r.header("content-length").map(str::parse::<usize>) == Some(Ok(r.body.len()));
        if r.status != case.status || !r.text().contains(case.needle) || !framed {
            failures.push(format!(
                "{}: expected {} with {:?}, got {} {:?} (Content-Length framing: {framed})",
                case.what,
                case.status,
                case.needle,
                r.status,
                r.text()
            ));
        }
    }
    c.shutdown().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The stream is in the encoding `Accept` asks for, whatever the SUBSCRIBE's own encoding:
/// JSON when allowed (or no `Accept`), else protobuf. Its records decode as `Event`s, SUBSCRIBED
/// then HEARTBEAT, and calls in the SUBSCRIBE's encoding are answered.
#[tokio::test]
async fn subscribe_answers_in_the_encoding_accept_asks_for() {
    use Encoding::*;
    let c = master_only().await;
    let cases: [(Encoding, &[&str], Encoding); 6] = [
        (Protobuf, &[], Json),
        (Protobuf, &["application/x-protobuf"], Protobuf),
        (Json, &["application/x-protobuf"], Protobuf),
        (Protobuf, &["application/json"], Json),
        (
            Protobuf,
            &["application/x-protobuf", "application/json"],
            Json,
        ),
        (
            Json,
            &["application/json;q=0, application/x-protobuf"],
            Protobuf,
        ),
    ];
    for (i, (sent, accept, streamed)) in cases.into_iter().enumerate() {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let call = subscribe_call(framework_json(&format!("enc-{i}")));
        let mut sub = raw_subscribe_in(sent, &addr(&c), &call, &headers).await;
        let case = format!("{sent:?} accepting {accept:?}");
        assert_eq!(sub.encoding, streamed, "{case}");
        assert_subscribe_head_in(&sub.head, streamed);
        assert_eq!(
            sub.subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0,
            "{case}"
        );
        assert_eq!(
            sub.subscribed["subscribed"]["master_info"]["port"],
            c.master_addr().port(),
            "{case}"
        );
        let beat = sub.next_json(WAIT).await.expect("a HEARTBEAT");
        assert_eq!(beat["type"], "HEARTBEAT", "{case}");
        assert_accepted(&sub.call(json!({"type": "REVIVE"})).await, &case);
    }
    c.shutdown().await;
}

/// Every status code and message of the call checks is the same in protobuf as in JSON.
#[tokio::test]
async fn calls_in_both_encodings_get_the_same_status_codes() {
    let c = master_only().await;
    for encoding in [Encoding::Json, Encoding::Protobuf] {
        let sub = raw_subscribe_in(
            encoding,
            &addr(&c),
            &subscribe_call(framework_json(&format!("codes-{encoding:?}"))),
            &[],
        )
        .await;
        let fw = json!({"value": sub.framework_id});
        let stranger = json!({"value": "no-such-framework"});
        let stream = Some(sub.stream_id.as_str());
        let cases: Vec<(&str, Option<&str>, Value, u16, &str)> = vec![
            (
                "no framework_id",
                stream,
                json!({"type": "REVIVE"}),
                400,
                "Expecting 'framework_id' to be present",
            ),
            (
                "no payload",
                stream,
                json!({"type": "ACCEPT", "framework_id": fw}),
                400,
                "Expecting 'accept' to be present",
            ),
            (
                "unknown framework",
                stream,
                json!({"type": "REVIVE", "framework_id": stranger}),
                400,
                "Framework cannot be found",
            ),
            (
                "no stream id",
                None,
                json!({"type": "REVIVE", "framework_id": fw}),
                400,
                "Mesos-Stream-Id",
            ),
            (
                "wrong stream id",
                Some("0f2a6a6e-0000-4000-8000-000000000000"),
                json!({"type": "REVIVE", "framework_id": fw}),
                400,
                "didn't match",
            ),
            (
                "UNKNOWN",
                stream,
                json!({"type": "UNKNOWN", "framework_id": fw}),
                501,
                "UNKNOWN",
            ),
            (
                "SUBSCRIBE with a stream id",
                stream,
                subscribe_call(framework_json("again")),
                400,
                "should not include the 'Mesos-Stream-Id' header",
            ),
        ];
        for (what, stream_id, call, status, needle) in cases {
            let r = post_call_in(encoding, &addr(&c), stream_id, &call).await;
            assert_eq!(r.status, status, "{encoding:?} {what}: {}", r.text());
            assert!(
                r.text().contains(needle),
                "{encoding:?} {what}: {}",
                r.text()
            );
        }
        let revive = json!({"type": "REVIVE", "framework_id": fw});
        let r = post_call_in(encoding, &addr(&c), stream, &revive).await;
        assert_accepted(&r, &format!("{encoding:?} REVIVE"));
    }
    c.shutdown().await;
}

/// mmrun's own client speaking protobuf both ways runs a task to TASK_FINISHED through the
/// agent: offers, ACCEPT with a LAUNCH, updates with their uuids, ACKNOWLEDGE.
#[tokio::test]
async fn a_protobuf_framework_runs_a_task_to_task_finished() {
    let c = cluster(1).await;
    let mut sub = mmrun::client::subscribe_with(
        &c.master_url(),
        framework_info("protobuf", &["PARTITION_AWARE"]),
        Encoding::Protobuf,
    )
    .await
    .expect("a protobuf subscription");
    let offers = next_offers(&mut sub).await;
    let offer = &offers[0];
    assert!(offer.resources.iter().any(|r| r.name == "cpus"));
    launch(
        &sub,
        offer,
        vec![command_task("pb", offer, "echo over protobuf", 0.1, 32.0)],
    )
    .await;
    let events = await_state(&mut sub, "pb", TaskState::Finished).await;
    let seen = states(&events, "pb");
    assert_eq!(
        seen,
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
    let finished = events.last().unwrap().update.as_ref().unwrap();
    assert!(finished.status.uuid.is_some(), "agent updates carry a uuid");
    // The acknowledgement (sent in protobuf by await_state) completes the task.
    eventually(&c.master_url(), "pb completed", |state| {
        state.frameworks.iter().any(|f| {
            f.completed_tasks
                .iter()
                .any(|t| t.id == "pb" && t.state == "TASK_FINISHED")
        })
    })
    .await;
    c.shutdown().await;
}

/// A subscription the master refuses still gets the 200 stream, with exactly one ERROR event,
/// and then the stream closes.
#[tokio::test]
async fn a_refused_subscription_is_one_error_event_on_a_200_stream() {
    let c = master_only().await;
    // `roles` without the MULTI_ROLE capability is an invalid FrameworkInfo.
    let mut info = framework_json("refused");
    info["roles"] = json!(["a", "b"]);
    let r = post_call(&addr(&c), None, &subscribe_call(info)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("mesos-stream-id").is_some());
    let records = mmrun::mesos::recordio::Decoder::new()
        .feed(&r.body)
        .unwrap();
    assert_eq!(records.len(), 1, "{}", r.text());
    let event: Value = serde_json::from_slice(&records[0]).unwrap();
    assert_eq!(event["type"], "ERROR");
    assert!(
        event["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MULTI_ROLE"),
        "{event}"
    );
    let state = get_json(&format!("{}/master/state", c.master_url())).await;
    assert_eq!(state["frameworks"], json!([]));
    c.shutdown().await;
}

/// A framework whose stream closed is known until its failover timeout passes, but it is not
/// subscribed: its calls are 403, even with the stream id it used to have.
#[tokio::test]
async fn a_call_from_a_known_but_disconnected_framework_is_403() {
    let c = master_only().await;
    let mut info = framework_json("dropped");
    info["failover_timeout"] = json!(60);
    let sub = raw_subscribe(&addr(&c), info).await;
    let (framework_id, stream_id) = (sub.framework_id.clone(), sub.stream_id.clone());
    drop(sub);
    eventually(&c.master_url(), "framework disconnected", |s| {
        s.frameworks.len() == 1 && !s.frameworks[0].connected
    })
    .await;
    let call = json!({"type": "REVIVE", "framework_id": {"value": framework_id}});
    let r = post_call(&addr(&c), Some(&stream_id), &call).await;
    assert_error(&r, 403, "not subscribed");
    c.shutdown().await;
}

/// Every fire-and-forget call answers 202 with an empty body (reference section 1).
#[tokio::test]
async fn fire_and_forget_calls_are_202_with_an_empty_body() {
    let c = cluster(1).await;
    let mut sub = raw_subscribe(&addr(&c), framework_json("caller")).await;
    let offers = sub.next_of("OFFERS").await;
    let offer = &offers["offers"]["offers"][0];
    let agent_id = offer["agent_id"]["value"].as_str().unwrap().to_string();

    let accept = sub
        .call(json!({"type": "ACCEPT", "accept": {
            "offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task_json("t", &agent_id, "sleep 60")]}}],
            "filters": {"refuse_seconds": 0.0},
        }}))
        .await;
    assert_accepted(&accept, "ACCEPT");
    let update = sub.next_of("UPDATE").await;
    let status = &update["update"]["status"];
    assert_eq!(status["state"], "TASK_STARTING");
    let ack = sub
        .call(json!({"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"],
        }}))
        .await;
    assert_accepted(&ack, "ACKNOWLEDGE");

    let calls = [
        json!({"type": "RECONCILE", "reconcile": {"tasks": []}}),
        json!({"type": "RECONCILE", "reconcile": {"tasks": [{"task_id": {"value": "t"}}]}}),
        json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "no-such-offer"}]}}),
        json!({"type": "SUPPRESS", "suppress": {}}),
        json!({"type": "REVIVE", "revive": {}}),
        json!({"type": "SUPPRESS"}),
        json!({"type": "REVIVE"}),
        json!({"type": "MESSAGE", "message": {
            "agent_id": {"value": agent_id}, "executor_id": {"value": "t"}, "data": "aGVsbG8=",
        }}),
        json!({"type": "SHUTDOWN", "shutdown": {
            "agent_id": {"value": agent_id}, "executor_id": {"value": "nobody"},
        }}),
        json!({"type": "REQUEST", "request": {"requests": []}}),
        json!({"type": "KILL", "kill": {"task_id": {"value": "t"}, "agent_id": {"value": agent_id}}}),
        json!({"type": "TEARDOWN"}),
    ];
    for call in calls {
        let r = sub.call(call.clone()).await;
        assert_accepted(&r, &call.to_string());
    }
    let state = eventually(&c.master_url(), "torn down", |s| {
        s.completed_frameworks.len() == 1
    })
    .await;
    assert_eq!(
        state.completed_frameworks[0].completed_tasks[0].state,
        "TASK_KILLED"
    );
    c.shutdown().await;
}

// --- The SUBSCRIBE response ------------------------------------------------------------------

fn assert_subscribe_head(head: &RawResponse) {
    assert_subscribe_head_in(head, Encoding::Json);
}

fn assert_subscribe_head_in(head: &RawResponse, encoding: Encoding) {
    assert_eq!(head.status, 200);
    assert_eq!(head.version, "HTTP/1.1");
    assert_eq!(head.header("content-type"), Some(encoding.media_type()));
    let stream_id = head.header("mesos-stream-id").expect("Mesos-Stream-Id");
    assert!(
        uuid::Uuid::parse_str(stream_id).is_ok(),
        "stream id {stream_id:?} is a UUID"
    );
    // Exactly one Transfer-Encoding header, whose value is exactly `chunked`.
    let encodings: Vec<_> = head
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(encodings, ["chunked"], "{:?}", head.headers);
    assert_eq!(head.header("content-length"), None);
}

#[tokio::test]
async fn subscribe_answers_200_json_chunked_with_a_stream_id() {
    let c = master_only().await;
    let sub = raw_subscribe(&addr(&c), framework_json("x")).await;
    assert_subscribe_head(&sub.head);
    c.shutdown().await;
}

/// Some clients subscribe over HTTP/1.1 with `Connection: close`; the stream must still be
/// chunked (not close-delimited) and carry the stream id.
#[tokio::test]
async fn subscribe_with_connection_close_is_still_chunked() {
    let c = master_only().await;
    let mut sub = raw_subscribe_with(
        &addr(&c),
        &subscribe_call(framework_json("x")),
        &[("Connection", "close")],
    )
    .await;
    assert_subscribe_head(&sub.head);
    assert_eq!(sub.next_json(WAIT).await.unwrap()["type"], "HEARTBEAT");
    c.shutdown().await;
}

#[tokio::test]
async fn records_are_compact_json_subscribed_then_heartbeat() {
    let c = master_only().await;
    let mut sub = raw_subscribe(&addr(&c), framework_json("x")).await;
    let subscribed = &sub.subscribed;
    let payload = &subscribed["subscribed"];
    assert_eq!(payload["heartbeat_interval_seconds"], json!(15.0));
    let master_info = &payload["master_info"];
    assert_eq!(master_info["address"]["ip"], "127.0.0.1");
    assert_eq!(
        master_info["address"]["port"],
        json!(c.master_addr().port())
    );
    assert_eq!(master_info["port"], json!(c.master_addr().port()));
    let master_id = master_info["id"].as_str().unwrap();
    assert_eq!(sub.framework_id, format!("{master_id}-0000"));
    // Records are single-line JSON: some clients split events on newlines.
    let heartbeat = sub.next_record(WAIT).await.unwrap();
    assert_eq!(heartbeat, r#"{"type":"HEARTBEAT"}"#);
    c.shutdown().await;
}

#[tokio::test]
async fn every_record_is_a_single_line() {
    let c = cluster(1).await;
    let mut sub = raw_subscribe(&addr(&c), framework_json("x")).await;
    // SUBSCRIBED, HEARTBEAT and OFFERS: the largest records a framework gets.
    for _ in 0..3 {
        let record = sub.next_record(WAIT).await.expect("a record");
        assert!(!record.contains('\n'), "multi-line record: {record}");
        let event: Value = serde_json::from_str(&record).unwrap();
        if event["type"] == "OFFERS" {
            return c.shutdown().await;
        }
    }
    panic!("no OFFERS among the first records");
}

#[tokio::test]
async fn resubscribing_sends_framework_failed_over_and_closes_the_old_stream() {
    let c = master_only().await;
    let mut info = framework_json("twice");
    info["failover_timeout"] = json!(60);
    let mut old = raw_subscribe(&addr(&c), info.clone()).await;
    info["id"] = json!({"value": old.framework_id});
    let new = raw_subscribe(&addr(&c), info).await;
    assert_eq!(new.framework_id, old.framework_id);
    assert_ne!(new.stream_id, old.stream_id);
    let error = old.next_of("ERROR").await;
    assert_eq!(error["error"]["message"], "Framework failed over");
    assert_eq!(old.next_record(WAIT).await, None, "the old stream closes");
    // Only the new stream id is valid now.
    let revive = json!({"type": "REVIVE", "framework_id": {"value": new.framework_id}});
    let r = post_call(&addr(&c), Some(&old.stream_id), &revive).await;
    assert_error(&r, 400, "stream ID");
    assert_accepted(&new.call(json!({"type": "REVIVE"})).await, "REVIVE");
    c.shutdown().await;
}

/// TEARDOWN over a call connection ends the framework's stream too: clients such as pymesos
/// send it before they close their stream socket.
#[tokio::test]
async fn teardown_closes_the_subscription_stream() {
    let c = master_only().await;
    let mut sub = raw_subscribe(&addr(&c), framework_json("leaving")).await;
    assert_accepted(&sub.call(json!({"type": "TEARDOWN"})).await, "TEARDOWN");
    loop {
        match sub.next_json(WAIT).await {
            None => break,
            Some(e) => assert_eq!(e["type"], "HEARTBEAT", "unexpected {e}"),
        }
    }
    c.shutdown().await;
}

// --- What real clients do (reference section 8) ----------------------------------------------

#[tokio::test]
async fn calls_without_an_accept_header_are_answered() {
    let c = master_only().await;
    // http_request adds no Accept header: SUBSCRIBE and the calls go without one.
    let sub = raw_subscribe(&addr(&c), framework_json("no-accept")).await;
    assert_eq!(sub.head.header("content-type"), Some("application/json"));
    assert_accepted(&sub.call(json!({"type": "REVIVE"})).await, "REVIVE");
    c.shutdown().await;
}

#[tokio::test]
async fn a_repeated_accept_header_allowing_json_is_honoured() {
    let c = master_only().await;
    let sub = raw_subscribe_with(
        &addr(&c),
        &subscribe_call(framework_json("repeated")),
        &[
            ("Accept", "application/x-protobuf"),
            ("Accept", "application/json"),
        ],
    )
    .await;
    assert_subscribe_head(&sub.head);
    let sub = raw_subscribe_with(
        &addr(&c),
        &subscribe_call(framework_json("wildcard")),
        &[("Accept", "text/html"), ("Accept", "*/*")],
    )
    .await;
    assert_subscribe_head(&sub.head);
    c.shutdown().await;
}

/// `Accept-Encoding: gzip` is a wish, not a requirement: the answer may be plain, and must
/// then not claim an encoding.
#[tokio::test]
async fn accept_encoding_gzip_gets_a_readable_answer() {
    let c = master_only().await;
    let mut sub = raw_subscribe_with(
        &addr(&c),
        &subscribe_call(framework_json("gzip")),
        &[("Accept-Encoding", "gzip, deflate")],
    )
    .await;
    assert_eq!(sub.head.header("content-encoding"), None);
    assert_eq!(sub.next_json(WAIT).await.unwrap()["type"], "HEARTBEAT");
    let call = json!({"type": "REVIVE", "framework_id": {"value": sub.framework_id}});
    let r = raw_round_trip(
        &addr(&c),
        &scheduler_post(
            &[
                JSON,
                ("Mesos-Stream-Id", &sub.stream_id),
                ("Accept-Encoding", "gzip"),
            ],
            call.to_string().as_bytes(),
        ),
    )
    .await;
    assert_accepted(&r, "REVIVE with Accept-Encoding: gzip");
    c.shutdown().await;
}

/// Clients that keep one connection for every call: each call is answered and the connection
/// stays open, also after it sat idle.
#[tokio::test]
async fn many_calls_share_one_keep_alive_connection() {
    let c = master_only().await;
    let sub = raw_subscribe(&addr(&c), framework_json("keep-alive")).await;
    let mut conn = RawConn::connect(&addr(&c)).await;
    let request = |kind: &str| {
        let call = json!({"type": kind, "framework_id": {"value": sub.framework_id}});
        scheduler_post(
            &[JSON, ("Mesos-Stream-Id", &sub.stream_id)],
            call.to_string().as_bytes(),
        )
    };
    for kind in ["SUPPRESS", "REVIVE", "SUPPRESS", "REVIVE", "SUPPRESS"] {
        let r = conn.round_trip(&request(kind)).await;
        assert_accepted(&r, kind);
        assert_ne!(r.header("connection"), Some("close"));
    }
    assert!(
        !conn.closed_within(Duration::from_millis(1200)).await,
        "the server closed an idle keep-alive connection"
    );
    assert_accepted(&conn.round_trip(&request("REVIVE")).await, "after idling");
    // An error answer does not cost the connection either.
    let bad = conn
        .round_trip(&scheduler_post(&[JSON], b"{not json"))
        .await;
    assert_eq!(bad.status, 400);
    assert_accepted(&conn.round_trip(&request("REVIVE")).await, "after a 400");
    c.shutdown().await;
}

/// Requests written back to back, before any answer (HTTP/1.1 pipelining), are answered in
/// order on the same connection.
#[tokio::test]
async fn pipelined_calls_are_answered_in_order() {
    let c = master_only().await;
    let sub = raw_subscribe(&addr(&c), framework_json("pipeliner")).await;
    let call = json!({"type": "REVIVE", "framework_id": {"value": sub.framework_id}});
    let good = scheduler_post(
        &[JSON, ("Mesos-Stream-Id", &sub.stream_id)],
        call.to_string().as_bytes(),
    );
    let bad = scheduler_post(&[("Content-Type", "text/plain")], b"x");
    let mut conn = RawConn::connect(&addr(&c)).await;
    conn.send(&[good.clone(), bad, good].concat()).await;
    let statuses = [
        conn.read_response().await.unwrap().status,
        conn.read_response().await.unwrap().status,
        conn.read_response().await.unwrap().status,
    ];
    assert_eq!(statuses, [202, 415, 202]);
    c.shutdown().await;
}

/// curl and other clients send `Expect: 100-continue` before a larger body and wait for the
/// interim answer before they send it.
#[tokio::test]
async fn expect_100_continue_is_honoured() {
    let c = master_only().await;
    let body = serde_json::to_vec(&subscribe_call(framework_json("curl"))).unwrap();
    let mut conn = RawConn::connect(&addr(&c)).await;
    let head = scheduler_post(
        &[
            JSON,
            ("Expect", "100-continue"),
            ("Content-Length", &body.len().to_string()),
        ],
        b"",
    );
    // scheduler_post added `Content-Length: 0` for the empty body; keep only ours.
    let head = String::from_utf8(head)
        .unwrap()
        .replace("Content-Length: 0\r\n", "");
    conn.send(head.as_bytes()).await;
    let interim = conn.read_head().await.expect("an interim answer");
    assert_eq!(interim.status, 100);
    conn.send(&body).await;
    let head = conn.read_head().await.expect("the SUBSCRIBE answer");
    assert_eq!(head.status, 200);
    assert!(head.header("mesos-stream-id").is_some());
    c.shutdown().await;
}

#[tokio::test]
async fn a_new_connection_per_call_works() {
    let c = master_only().await;
    let sub = raw_subscribe(&addr(&c), framework_json("per-call")).await;
    for kind in ["SUPPRESS", "REVIVE", "SUPPRESS", "REVIVE"] {
        let mut conn = RawConn::connect(&addr(&c)).await;
        let call = json!({"type": kind, "framework_id": {"value": sub.framework_id}});
        let r = conn
            .round_trip(&scheduler_post(
                &[
                    JSON,
                    ("Mesos-Stream-Id", &sub.stream_id),
                    ("Connection", "close"),
                ],
                call.to_string().as_bytes(),
            ))
            .await;
        assert_accepted(&r, kind);
        assert!(conn.closed_within(WAIT).await, "Connection: close honoured");
    }
    c.shutdown().await;
}

/// FrameworkInfo as lenient clients send it: integers for doubles, `null` lists, unknown keys.
#[tokio::test]
async fn subscribe_accepts_lenient_framework_info() {
    let c = master_only().await;
    let info = json!({
        "user": "root",
        "name": "lenient",
        "failover_timeout": 60,
        "checkpoint": true,
        "capabilities": null,
        "roles": null,
        "labels": {"labels": null},
        "some_future_field": {"nested": [1, 2]},
    });
    let sub = raw_subscribe(&addr(&c), info).await;
    let state = get_json(&format!("{}/master/state", c.master_url())).await;
    let fw = &state["frameworks"][0];
    assert_eq!(fw["id"], sub.framework_id.as_str());
    assert_eq!(fw["failover_timeout"], json!(60.0));
    assert_eq!(fw["checkpoint"], true);
    c.shutdown().await;
}

/// A v0 `slave_id` next to `agent_id`, `null` lists, integer scalars and fractional
/// `refuse_seconds`: the task launches and runs.
#[tokio::test]
async fn calls_accept_lenient_json() {
    let c = cluster(1).await;
    let mut sub = raw_subscribe(&addr(&c), framework_json("lenient")).await;
    let offers = sub.next_of("OFFERS").await;
    let offer = &offers["offers"]["offers"][0];
    let agent = offer["agent_id"].clone();
    let task = json!({
        "name": "t",
        "task_id": {"value": "t"},
        "agent_id": agent,
        "slave_id": agent,
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "role": "*"},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
        ],
        "command": {"value": "sleep 60", "uris": null, "arguments": null,
                    "environment": {"variables": null}},
        "labels": {"labels": null},
    });
    let accept = json!({"type": "ACCEPT", "accept": {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
        "filters": {"refuse_seconds": 0.25},
    }});
    assert_accepted(&sub.call(accept).await, "lenient ACCEPT");
    loop {
        let update = sub.next_of("UPDATE").await;
        let status = &update["update"]["status"];
        // An update to acknowledge carries the agent id the ACKNOWLEDGE needs.
        assert!(status["uuid"].is_string() && status["agent_id"].is_object());
        let ack = json!({"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": status["agent_id"], "slave_id": status["agent_id"],
            "task_id": status["task_id"], "uuid": status["uuid"],
        }});
        assert_accepted(&sub.call(ack).await, "lenient ACKNOWLEDGE");
        if status["state"] == "TASK_RUNNING" {
            break;
        }
        assert_eq!(status["state"], "TASK_STARTING");
    }
    let reconcile = json!({"type": "RECONCILE", "reconcile": {"tasks": null}});
    assert_accepted(&sub.call(reconcile).await, "RECONCILE with null tasks");
    let reconciled = sub.next_of("UPDATE").await;
    assert_eq!(
        reconciled["update"]["status"]["reason"],
        "REASON_RECONCILIATION"
    );
    // int64 as a numeric string, as protobuf's JSON mapping writes it.
    let kill = json!({"type": "KILL", "kill": {
        "task_id": {"value": "t"}, "agent_id": agent, "slave_id": agent,
        "kill_policy": {"grace_period": {"nanoseconds": "1000000000"}},
    }});
    assert_accepted(&sub.call(kill).await, "KILL with slave_id");
    loop {
        let update = sub.next_of("UPDATE").await;
        if update["update"]["status"]["state"] == "TASK_KILLED" {
            break;
        }
    }
    c.shutdown().await;
}

/// An ACCEPT without operations declines the offers, with its filter.
#[tokio::test]
async fn accept_without_operations_declines() {
    let c = cluster(1).await;
    let mut sub = raw_subscribe(&addr(&c), framework_json("decliner")).await;
    let first = sub.next_of("OFFERS").await;
    let ids = offer_ids(&first);
    let accept = json!({"type": "ACCEPT", "accept": {
        "offer_ids": ids, "operations": [], "filters": {"refuse_seconds": 0.5},
    }});
    let declined_at = std::time::Instant::now();
    assert_accepted(&sub.call(accept).await, "empty ACCEPT");
    let state = eventually(&c.master_url(), "offer gone", |s| {
        s.frameworks[0].offers.is_empty()
    })
    .await;
    assert_eq!(state.frameworks[0].tasks.len(), 0);
    assert_eq!(state.frameworks[0].used_resources["cpus"], 0.0);
    // The resources come back once the filter expires, as a new offer.
    let again = sub.next_of("OFFERS").await;
    assert!(declined_at.elapsed() >= Duration::from_millis(450));
    assert_ne!(offer_ids(&again), ids);
    c.shutdown().await;
}

#[tokio::test]
async fn resubscribe_with_the_id_only_in_framework_info() {
    let c = master_only().await;
    let mut info = framework_json("returning");
    info["failover_timeout"] = json!(60);
    let first = raw_subscribe(&addr(&c), info.clone()).await;
    let id = first.framework_id.clone();
    drop(first);
    eventually(&c.master_url(), "disconnected", |s| {
        s.frameworks.len() == 1 && !s.frameworks[0].connected
    })
    .await;
    info["id"] = json!({"value": id});
    let again = raw_subscribe(&addr(&c), info).await;
    assert_eq!(again.framework_id, id);
    let state = eventually(&c.master_url(), "reconnected", |s| {
        s.frameworks.len() == 1 && s.frameworks[0].connected
    })
    .await;
    assert!(state.frameworks[0].active);
    assert_accepted(&again.call(json!({"type": "REVIVE"})).await, "REVIVE");
    c.shutdown().await;
}

/// Clients parse `version` as dot-separated integers: a suffix would crash them.
#[tokio::test]
async fn version_is_plain_dotted_integers() {
    let c = master_only().await;
    let v = get_json(&format!("{}/version", c.master_url())).await;
    let version = v["version"].as_str().unwrap();
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("{version} has a non-integer part"))
        })
        .collect();
    assert_eq!(parts.len(), 3, "{version}");
    assert!(parts[0] >= 1);
    c.shutdown().await;
}
