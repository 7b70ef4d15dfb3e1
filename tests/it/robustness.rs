//! Bad input and misbehaving clients against an in-process master: malformed and oversized
//! bodies, wrong media types, unknown calls and frameworks, clients that vanish mid-request
//! or mid-stream, and bytes that are not HTTP at all. After each, the master must keep
//! serving everyone else: a bystander framework's calls and stream, and `/master/state`.

use crate::common;

use common::*;
use mmrun::lite::MAX_REQUEST_BODY_BYTES;
use mmrun::lite::cluster::{AgentOptions, LocalCluster};
use serde_json::json;
use tokio::io::AsyncWriteExt;

fn addr(c: &LocalCluster) -> String {
    c.master_addr().to_string()
}

/// Whether the server on `port` still holds open (established, or closed by the client only)
/// a connection from one of `clients` (ports on 127.0.0.1), as `/proc/net/tcp` lists it.
fn holds_open(port: u16, clients: &[u16]) -> bool {
    const ESTABLISHED: &str = "01";
    const CLOSE_WAIT: &str = "08";
    let port_of = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .any(|f| {
            f.len() > 3
                && port_of(f[1]) == Some(port)
                && port_of(f[2]).is_some_and(|p| clients.contains(&p))
                && (f[3] == ESTABLISHED || f[3] == CLOSE_WAIT)
        })
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// The master still serves a framework that did nothing wrong: its calls are answered, its
/// stream delivers events, and `/master/state` shows it connected.
async fn assert_still_serving(c: &LocalCluster, bystander: &mut RawSubscription) {
    let reconcile =
        json!({"type": "RECONCILE", "reconcile": {"tasks": [{"task_id": {"value": "ghost"}}]}});
    let r = bystander.call(reconcile).await;
    assert_eq!(r.status, 202, "the bystander's call: {}", r.text());
    let update = bystander.next_of("UPDATE").await;
    assert_eq!(update["update"]["status"]["task_id"]["value"], "ghost");
    let state = get_json(&format!("{}/master/state", c.master_url())).await;
    let me = state["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == bystander.framework_id.as_str())
        .expect("the bystander is still registered");
    assert_eq!(me["connected"], true);
    let health = raw_round_trip(&addr(c), &http_request("GET", "/master/health", &[], b"")).await;
    assert_eq!(health.status, 200);
}

async fn with_bystander() -> (LocalCluster, RawSubscription) {
    let c = master_only().await;
    let sub = raw_subscribe(&addr(&c), framework_json("bystander")).await;
    (c, sub)
}

#[tokio::test]
async fn malformed_json_is_400_and_the_master_keeps_serving() {
    let (c, mut bystander) = with_bystander().await;
    let bodies: [&[u8]; 5] = [
        b"{",
        b"{\"type\": \"SUBSCRIBE\", }",
        b"\xff\xfe\x00garbage",
        b"null",
        &[b'['; 10_000],
    ];
    // A SUBSCRIBE whose FrameworkInfo has the wrong types is not a Call either.
    let bad_info = br#"{"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": 1}}}"#;
    let cases = bodies
        .iter()
        .flat_map(|b| [("/api/v1/scheduler", *b), ("/api/v1", *b)])
        .chain([("/api/v1/scheduler", &bad_info[..])]);
    for (path, body) in cases {
        let r = raw_round_trip(&addr(&c), &http_request("POST", path, &[JSON], body)).await;
        assert_eq!(r.status, 400, "{path} {:?}", String::from_utf8_lossy(body));
        assert!(!r.body.is_empty(), "a 400 explains itself");
    }
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn wrong_content_types_are_refused_and_the_master_keeps_serving() {
    let (c, mut bystander) = with_bystander().await;
    let body = br#"{"type":"GET_HEALTH"}"#;
    // Both read protobuf: this body is not a protobuf Call, so 400.
    for (media, status) in [
        ("text/plain", 415),
        ("application/x-protobuf", 400),
        ("application/xml", 415),
        ("multipart/form-data; boundary=x", 415),
        ("", 415),
        ("application/jsonx", 415),
    ] {
        for path in ["/api/v1/scheduler", "/api/v1"] {
            let r = raw_round_trip(
                &addr(&c),
                &http_request("POST", path, &[("Content-Type", media)], body),
            )
            .await;
            assert_eq!(r.status, status, "{path} with {media:?}: {}", r.text());
            assert!(!r.body.is_empty());
        }
    }
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn unknown_call_types_are_400_and_the_master_keeps_serving() {
    let (c, mut bystander) = with_bystander().await;
    for kind in [
        json!("LAUNCH_ROCKET"),
        json!(""),
        json!(7),
        json!(null),
        json!({"x": 1}),
    ] {
        let call = json!({"type": kind, "framework_id": {"value": bystander.framework_id}});
        let r = post_call(&addr(&c), Some(&bystander.stream_id), &call).await;
        assert_eq!(r.status, 400, "type {kind}: {}", r.text());
        let r = raw_round_trip(
            &addr(&c),
            &http_request(
                "POST",
                "/api/v1",
                &[JSON],
                json!({"type": kind}).to_string().as_bytes(),
            ),
        )
        .await;
        assert_eq!(r.status, 400, "operator type {kind}: {}", r.text());
    }
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn calls_for_unknown_frameworks_are_400_and_the_master_keeps_serving() {
    let (c, mut bystander) = with_bystander().await;
    let long = "x".repeat(100_000);
    for id in ["", "nope", "../../etc/passwd", "ünïcödé-🦀", long.as_str()] {
        for kind in ["TEARDOWN", "REVIVE", "DECLINE", "RECONCILE"] {
            let call = json!({"type": kind, "framework_id": {"value": id},
                              "decline": {"offer_ids": []}, "reconcile": {"tasks": []}});
            let r = post_call(&addr(&c), Some(&bystander.stream_id), &call).await;
            assert_eq!(r.status, 400, "{kind} for {:.20}: {}", id, r.text());
            assert_eq!(r.text(), "Framework cannot be found");
        }
    }
    // Someone else's framework id with the wrong stream id does not touch it either.
    let teardown = json!({"type": "TEARDOWN", "framework_id": {"value": bystander.framework_id}});
    let r = post_call(&addr(&c), Some("not-the-stream"), &teardown).await;
    assert_eq!(r.status, 400);
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

/// Writes `head` then `body_len` bytes of body (chunked when `chunked`) from another task,
/// while reading the response: the server may answer before the body is through.
async fn send_oversized(addr: &str, path: &str, body_len: usize, chunked: bool) -> RawResponse {
    let mut conn = RawConn::connect(addr).await;
    let mut writer = conn.take_writer();
    let head = if chunked {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
    } else {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
        )
    };
    let sender = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let piece = vec![b' '; 1024 * 1024];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(piece.len());
            if chunked {
                writer.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                writer.write_all(&piece[..n]).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(&piece[..n]).await?;
            }
            left -= n;
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        std::io::Result::Ok(writer)
    });
    let response = conn
        .read_response()
        .await
        .expect("an answer to the oversized body");
    sender.abort();
    response
}

#[tokio::test]
async fn an_oversized_body_is_413_with_a_message() {
    let (c, mut bystander) = with_bystander().await;
    let too_big = MAX_REQUEST_BODY_BYTES + 1024 * 1024;
    for path in ["/api/v1/scheduler", "/api/v1"] {
        for chunked in [false, true] {
            let r = send_oversized(&addr(&c), path, too_big, chunked).await;
            assert_eq!(r.status, 413, "{path} chunked={chunked}: {}", r.text());
            assert!(
                r.text().contains(&MAX_REQUEST_BODY_BYTES.to_string()),
                "the 413 names the limit: {}",
                r.text()
            );
            // The server will not read the rest, so it must say it closes the connection.
            assert_eq!(r.header("connection"), Some("close"), "{:?}", r.headers);
        }
    }
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_read() {
    let (c, mut bystander) = with_bystander().await;
    // Valid JSON padded with whitespace to almost the limit: parsed, not refused for size.
    let call = json!({"type": "GET_HEALTH"}).to_string();
    let mut body = vec![b' '; MAX_REQUEST_BODY_BYTES - call.len()];
    body.extend_from_slice(call.as_bytes());
    let r = raw_round_trip(&addr(&c), &http_request("POST", "/api/v1", &[JSON], &body)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn a_client_that_disconnects_mid_body_does_not_disturb_others() {
    let (c, mut bystander) = with_bystander().await;
    for path in ["/api/v1/scheduler", "/api/v1", "/master/teardown"] {
        let mut conn = RawConn::connect(&addr(&c)).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        );
        conn.send(head.as_bytes()).await;
        conn.send(br#"{"type": "SUBSCRIBE", "subscribe": {"framework_info": {"#)
            .await;
        drop(conn);
    }
    // And one that stops in the middle of its headers and stays connected.
    let mut stalled = RawConn::connect(&addr(&c)).await;
    stalled
        .send(b"POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Ty")
        .await;
    assert_still_serving(&c, &mut bystander).await;
    let state = get_json(&format!("{}/master/state", c.master_url())).await;
    assert_eq!(
        state["frameworks"].as_array().unwrap().len(),
        1,
        "no half-sent SUBSCRIBE registered"
    );
    drop(stalled);
    c.shutdown().await;
}

#[tokio::test]
async fn a_subscriber_that_disconnects_is_marked_disconnected() {
    let (c, mut bystander) = with_bystander().await;
    let mut info = framework_json("leaver");
    info["failover_timeout"] = json!(60);
    let leaver = raw_subscribe(&addr(&c), info).await;
    let id = leaver.framework_id.clone();
    drop(leaver);
    let state = eventually(&c.master_url(), "leaver disconnected", |s| {
        s.frameworks.iter().any(|f| f.id == id && !f.connected)
    })
    .await;
    let leaver = state.frameworks.iter().find(|f| f.id == id).unwrap();
    assert!(!leaver.active);
    assert!(leaver.unregistered_time > 0.0);
    let metrics = get_json(&format!("{}/metrics/snapshot", c.master_url())).await;
    assert_eq!(metrics["master/frameworks_connected"], json!(1.0));
    assert_eq!(metrics["master/frameworks_disconnected"], json!(1.0));
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn a_subscriber_without_failover_timeout_that_disconnects_is_completed() {
    let (c, mut bystander) = with_bystander().await;
    let mut info = framework_json("leaver");
    info["failover_timeout"] = json!(0);
    let leaver = raw_subscribe(&addr(&c), info).await;
    let id = leaver.framework_id.clone();
    drop(leaver);
    let state = eventually(&c.master_url(), "leaver completed", |s| {
        s.completed_frameworks.iter().any(|f| f.id == id)
    })
    .await;
    assert!(state.frameworks.iter().all(|f| f.id != id));
    let done = state
        .completed_frameworks
        .iter()
        .find(|f| f.id == id)
        .unwrap();
    assert!(!done.connected && !done.active);
    // Its id is spent: subscribing with it again is refused on the stream.
    let mut again = framework_json("leaver");
    again["id"] = json!({"value": id});
    let mut conn = RawConn::connect(&addr(&c)).await;
    conn.send(&http_request(
        "POST",
        "/api/v1/scheduler",
        &[JSON],
        subscribe_call(again).to_string().as_bytes(),
    ))
    .await;
    let r = conn.read_response().await.unwrap();
    assert_eq!(r.status, 200);
    let records = mmrun::mesos::recordio::Decoder::new()
        .feed(&r.body)
        .unwrap();
    assert_eq!(
        records.len(),
        1,
        "exactly one ERROR, then the stream closes"
    );
    let error: serde_json::Value = serde_json::from_slice(&records[0]).unwrap();
    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["error"]["message"], "Framework has been removed");
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

/// A framework that vanishes while holding an offer gives the resources back to others.
#[tokio::test]
async fn a_vanished_subscribers_offers_go_to_others() {
    let mut c = master_only().await;
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut info = framework_json("hoarder");
    info["failover_timeout"] = json!(60);
    let mut hoarder = raw_subscribe(&addr(&c), info).await;
    hoarder.next_of("OFFERS").await;
    let mut other = raw_subscribe(&addr(&c), framework_json("patient")).await;
    drop(hoarder);
    let offers = other.next_of("OFFERS").await;
    assert_eq!(
        offers["offers"]["offers"][0]["agent_id"]["value"],
        c.agent_id(0).unwrap().value
    );
    c.shutdown().await;
}

#[tokio::test]
async fn bytes_that_are_not_http_get_400_and_the_master_keeps_serving() {
    let (c, mut bystander) = with_bystander().await;
    let tls_client_hello = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    let cases: [&[u8]; 4] = [
        b"\x00\x01\x02\x03 hello there\r\n\r\n",
        &tls_client_hello,
        b"HELLO WORLD\r\n\r\n",
        b"POST /api/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n",
    ];
    for bytes in cases {
        let mut conn = RawConn::connect(&addr(&c)).await;
        conn.send(bytes).await;
        let r = conn
            .read_response()
            .await
            .expect("an answer before the close");
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(bytes));
        assert!(conn.closed_within(WAIT).await, "the connection closes");
    }
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn a_huge_header_is_431_and_the_master_keeps_serving() {
    let (c, mut bystander) = with_bystander().await;
    let mut request = b"GET /master/state HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    request.extend(vec![b'a'; 1024 * 1024]);
    request.extend(b"\r\n\r\n");
    let mut conn = RawConn::connect(&addr(&c)).await;
    let _ = conn.try_send(&request).await;
    let r = conn.read_response().await.expect("an answer");
    assert_eq!(r.status, 431);
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn random_bytes_after_a_good_request_close_only_that_connection() {
    let (c, mut bystander) = with_bystander().await;
    let mut conn = RawConn::connect(&addr(&c)).await;
    let ok = conn
        .round_trip(&http_request("GET", "/master/health", &[], b""))
        .await;
    assert_eq!(ok.status, 200);
    conn.send(b"\x7f\x45\x4c\x46 not a request\r\n\r\n").await;
    let r = conn.read_response().await.expect("an answer");
    assert_eq!(r.status, 400);
    assert!(conn.closed_within(WAIT).await);
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

#[tokio::test]
async fn many_concurrent_clients_are_all_answered() {
    let (c, mut bystander) = with_bystander().await;
    let a = addr(&c);
    let mut clients = Vec::new();
    for i in 0..50 {
        let a = a.clone();
        clients.push(tokio::spawn(async move {
            let request = if i % 2 == 0 {
                http_request("GET", "/master/state", &[], b"")
            } else {
                http_request("POST", "/api/v1", &[JSON], br#"{"type":"GET_STATE"}"#)
            };
            raw_round_trip(&a, &request).await.status
        }));
    }
    for client in clients {
        assert_eq!(client.await.unwrap(), 200);
    }
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

/// The master↔agent protocol endpoints on both sides refuse malformed messages with 400, and
/// the agent stays registered and working.
#[tokio::test]
async fn malformed_peer_messages_are_400_and_the_agent_stays_registered() {
    let mut c = master_only().await;
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut bystander = raw_subscribe(&addr(&c), framework_json("bystander")).await;
    bystander.next_of("OFFERS").await;
    let agent = host_port(&c.agent_url(0).unwrap());
    let master_paths = [
        "/api/mmrun/v1/agent/register",
        "/api/mmrun/v1/agent/unregister",
        "/api/mmrun/v1/agent/status_update",
    ];
    let agent_paths = [
        "/api/mmrun/v1/ping",
        "/api/mmrun/v1/run_task",
        "/api/mmrun/v1/kill_task",
        "/api/mmrun/v1/acknowledge",
        "/api/mmrun/v1/shutdown_framework",
    ];
    let targets = master_paths
        .iter()
        .map(|p| (addr(&c), *p))
        .chain(agent_paths.iter().map(|p| (agent.clone(), *p)));
    for (to, path) in targets {
        for body in [&b"{"[..], b"{}", b"[]", b"\x00\x01"] {
            let r = raw_round_trip(&to, &http_request("POST", path, &[JSON], body)).await;
            assert_eq!(r.status, 400, "{path} {:?}: {}", body, r.text());
        }
    }
    // A status update from an agent the master does not know is refused, not applied.
    let forged = json!({
        "agent_id": {"value": "forged-S9"},
        "framework_id": {"value": bystander.framework_id},
        "status": {"task_id": {"value": "ghost"}, "state": "TASK_RUNNING"},
        "latest_state": "TASK_RUNNING",
    });
    let r = raw_round_trip(
        &addr(&c),
        &http_request(
            "POST",
            "/api/mmrun/v1/agent/status_update",
            &[JSON],
            forged.to_string().as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let state = get_json(&format!("{}/master/state", c.master_url())).await;
    assert_eq!(state["slaves"][0]["active"], true);
    assert_eq!(state["frameworks"][0]["tasks"], json!([]));
    let agent_state = get_json(&format!("{}/state", c.agent_url(0).unwrap())).await;
    assert_eq!(agent_state["id"], c.agent_id(0).unwrap().value);
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}

/// A client that sends SUBSCRIBE and hangs up before reading the answer leaves no framework
/// that looks connected.
#[tokio::test]
async fn a_subscriber_that_hangs_up_before_the_answer_is_not_left_connected() {
    let (c, mut bystander) = with_bystander().await;
    let mut info = framework_json("hasty");
    info["failover_timeout"] = json!(60);
    let mut hasty = Vec::new();
    for _ in 0..5 {
        let mut conn = RawConn::connect(&addr(&c)).await;
        hasty.push(conn.local_port());
        conn.send(&http_request(
            "POST",
            "/api/v1/scheduler",
            &[JSON],
            subscribe_call(info.clone()).to_string().as_bytes(),
        ))
        .await;
        drop(conn);
    }
    // The master has handled what it read of each request once it closed its end of the
    // connection: look at the state only then.
    let master_port = c.master_addr().port();
    wait_for(
        "the master to close the hasty connections",
        WAIT,
        || async { !holds_open(master_port, &hasty) },
    )
    .await;
    eventually(&c.master_url(), "only the bystander connected", |s| {
        s.frameworks
            .iter()
            .all(|f| f.connected == (f.id == bystander.framework_id))
    })
    .await;
    assert_still_serving(&c, &mut bystander).await;
    c.shutdown().await;
}
