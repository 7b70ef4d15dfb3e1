//! The request checks every v1 endpoint makes before it reads a call, in Mesos's order (the
//! method, then `Content-Type`, then the body, then `Accept`), as one table: each case is sent
//! to each endpoint, over raw HTTP/1.1, and every mismatch is reported together.

use crate::common::{RawResponse, http_request, raw_round_trip};
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};

/// Which node serves an endpoint.
#[derive(Clone, Copy)]
enum Node {
    Master,
    Agent,
}

struct Endpoint {
    node: Node,
    path: &'static str,
    /// A JSON call the endpoint serves with no other state, for the `Accept` case; `None` where
    /// every call needs a subscriber (the executor API's 406 is checked in `executor`).
    plain_call: Option<&'static str>,
}

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        node: Node::Master,
        path: "/api/v1/scheduler",
        plain_call: Some(
            r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#,
        ),
    },
    Endpoint {
        node: Node::Master,
        path: "/api/v1",
        plain_call: Some(r#"{"type":"GET_HEALTH"}"#),
    },
    Endpoint {
        node: Node::Agent,
        path: "/api/v1",
        plain_call: Some(r#"{"type":"GET_HEALTH"}"#),
    },
    Endpoint {
        node: Node::Agent,
        path: "/api/v1/executor",
        plain_call: None,
    },
];

/// The body a case sends.
enum Body {
    Bytes(&'static [u8]),
    /// The endpoint's `plain_call`; the case is skipped where it has none.
    PlainCall,
}

struct Case {
    what: &'static str,
    method: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Body,
    status: u16,
    /// The answer's body starts with this.
    message: &'static str,
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");

const CASES: &[Case] = &[
    Case {
        what: "GET",
        method: "GET",
        headers: &[],
        body: Body::Bytes(b""),
        status: 405,
        message: "Expecting a 'POST' request, received 'GET'",
    },
    Case {
        what: "PUT",
        method: "PUT",
        headers: &[JSON],
        body: Body::PlainCall,
        status: 405,
        message: "Expecting a 'POST' request, received 'PUT'",
    },
    Case {
        what: "no Content-Type",
        method: "POST",
        headers: &[],
        body: Body::PlainCall,
        status: 400,
        message: "Expecting 'Content-Type' to be present",
    },
    Case {
        what: "text/plain",
        method: "POST",
        headers: &[("Content-Type", "text/plain")],
        body: Body::PlainCall,
        status: 415,
        message: "Expecting 'Content-Type' of application/json or application/x-protobuf",
    },
    Case {
        what: "JSON cut short",
        method: "POST",
        headers: &[JSON],
        body: Body::Bytes(br#"{"type": "SUBSCRIBE", "subscribe": {"#),
        status: 400,
        message: "Failed to parse body into ",
    },
    Case {
        what: "JSON that is not an object",
        method: "POST",
        headers: &[JSON],
        body: Body::Bytes(b"[1, 2, 3]"),
        status: 400,
        // Valid JSON: the executor API says "Failed to convert JSON into Call protobuf", as
        // Mesos's does; the others "Failed to parse body into Call".
        message: "Failed to ",
    },
    Case {
        what: "an empty JSON body",
        method: "POST",
        headers: &[JSON],
        body: Body::Bytes(b""),
        status: 400,
        message: "Failed to parse body into ",
    },
    Case {
        what: "protobuf with a length past the end",
        method: "POST",
        headers: &[PROTOBUF],
        body: Body::Bytes(b"\x0a\x7f\x0a"),
        status: 400,
        message: "Failed to parse body into Call protobuf: ",
    },
    Case {
        what: "protobuf garbage",
        method: "POST",
        headers: &[PROTOBUF],
        body: Body::Bytes(&[0xff; 12]),
        status: 400,
        message: "Failed to parse body into Call protobuf: ",
    },
    Case {
        what: "Accept: text/html only",
        method: "POST",
        headers: &[JSON, ("Accept", "text/html")],
        body: Body::PlainCall,
        status: 406,
        message: "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'",
    },
];

/// What is wrong with `r` as the answer to `case`, if anything.
fn mismatch(case: &Case, r: &RawResponse) -> Option<String> {
    let text = r.text();
    if r.status != case.status || !text.starts_with(case.message) {
        return Some(format!(
            "{} {}, got {} {text:?}",
            case.status, case.message, r.status
        ));
    }
    // Errors are framed by Content-Length: a kept-alive client would otherwise hang.
    if r.header("content-length").map(str::parse::<usize>) != Some(Ok(r.body.len())) {
        return Some(format!("no Content-Length framing: {:?}", r.headers));
    }
    if r.status == 405 && r.header("allow") != Some("POST") {
        return Some(format!("a 405 without `Allow: POST`: {:?}", r.headers));
    }
    None
}

#[tokio::test]
async fn every_v1_endpoint_checks_method_media_types_and_body_alike() {
    let mut cluster = LocalCluster::start(ClusterOptions::default())
        .await
        .unwrap();
    cluster.add_agent(AgentOptions::default()).await.unwrap();
    let agent = crate::common::host_port(&cluster.agent_url(0).unwrap());
    let master = cluster.master_addr().to_string();

    let mut failures = Vec::new();
    let mut checked = 0;
    for endpoint in ENDPOINTS {
        let addr = match endpoint.node {
            Node::Master => &master,
            Node::Agent => &agent,
        };
        for case in CASES {
            let body = match (&case.body, endpoint.plain_call) {
                (Body::Bytes(bytes), _) => *bytes,
                (Body::PlainCall, Some(call)) => call.as_bytes(),
                (Body::PlainCall, None) => continue,
            };
            let request = http_request(case.method, endpoint.path, case.headers, body);
            let r = raw_round_trip(addr, &request).await;
            checked += 1;
            if let Some(wrong) = mismatch(case, &r) {
                let node = match endpoint.node {
                    Node::Master => "master",
                    Node::Agent => "agent",
                };
                failures.push(format!("{node} {}: {}: {wrong}", endpoint.path, case.what));
            }
        }
    }
    cluster.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
