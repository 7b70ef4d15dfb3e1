//! What tools and dashboards read, on the wire, from an in-process cluster: the v1 operator
//! API `POST /api/v1` (reference section 4), the legacy JSON endpoints of the master
//! (section 5), and the agent's `/state` and sandbox file endpoints.

use crate::common;

use common::*;
use mmrun::lite::cluster::{AgentOptions, LocalCluster};
use mmrun::mesos::encoding::{self, Encoding};
use mmrun::mesos::operator::{OperatorCall, OperatorResponse};
use serde_json::{Value, json};
use std::time::Duration;

fn addr(c: &LocalCluster) -> String {
    c.master_addr().to_string()
}

/// Launches `cmd` as task `name` from the next offer and waits (acknowledging) for `state`.
pub(super) async fn run_task(sub: &mut RawSubscription, name: &str, cmd: &str, state: &str) {
    let offers = sub.next_of("OFFERS").await;
    let offer = &offers["offers"]["offers"][0];
    let task = json!({
        "name": name,
        "task_id": {"value": name},
        "agent_id": offer["agent_id"],
        "resources": [scalar_json("cpus", 0.1), scalar_json("mem", 32.0)],
        "command": {"value": cmd},
    });
    let accept = json!({"type": "ACCEPT", "accept": {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
        "filters": {"refuse_seconds": 0.0},
    }});
    assert_eq!(sub.call(accept).await.status, 202);
    loop {
        let update = sub.next_of("UPDATE").await;
        let status = &update["update"]["status"];
        if status["uuid"].is_string() {
            let ack = json!({"type": "ACKNOWLEDGE", "acknowledge": {
                "agent_id": status["agent_id"], "task_id": status["task_id"],
                "uuid": status["uuid"],
            }});
            assert_eq!(sub.call(ack).await.status, 202);
        }
        if status["task_id"]["value"] == name && status["state"] == state {
            return;
        }
    }
}

/// A master, one agent, and a framework (kept subscribed) with task "sleeper" running.
async fn busy_cluster() -> (LocalCluster, RawSubscription) {
    let mut c = master_only().await;
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut info = framework_json("busy");
    info["webui_url"] = json!("http://busy.example:8080");
    let mut sub = raw_subscribe(&addr(&c), info).await;
    run_task(&mut sub, "sleeper", "sleep 60", "TASK_RUNNING").await;
    (c, sub)
}

async fn operator_raw(c: &LocalCluster, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    raw_round_trip(&addr(c), &http_request("POST", "/api/v1", headers, body)).await
}

/// An operator call of `kind`: asserts 200 JSON and the `{"type","get_x"}` envelope, and
/// returns the payload.
async fn operator(c: &LocalCluster, kind: &str) -> Value {
    let body = json!({"type": kind}).to_string();
    let r = operator_raw(
        c,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{kind}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["type"], kind);
    let key = kind.to_lowercase();
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    v[&key].clone()
}

fn assert_error(r: &RawResponse, status: u16, needle: &str) {
    assert_eq!(r.status, status, "body: {}", r.text());
    assert!(
        r.text().contains(needle),
        "expected a message containing {needle:?}, got {:?}",
        r.text()
    );
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

fn assert_has_keys(v: &Value, expected: &[&str]) {
    let present = keys(v);
    let missing: Vec<_> = expected.iter().filter(|k| !present.contains(k)).collect();
    assert!(missing.is_empty(), "missing {missing:?} in {v}");
}

/// A legacy resources object: cpus/gpus/mem/disk always there, as plain numbers.
fn assert_resources_object(v: &Value) {
    for name in ["cpus", "gpus", "mem", "disk"] {
        assert!(v[name].is_number(), "{name} is a number in {v}");
    }
}

// --- Operator API: the calls mmrun answers ---------------------------------------------------

#[tokio::test]
async fn get_health_is_healthy() {
    let c = master_only().await;
    assert_eq!(operator(&c, "GET_HEALTH").await, json!({"healthy": true}));
    c.shutdown().await;
}

#[tokio::test]
async fn get_version_has_version_info() {
    let c = master_only().await;
    let v = operator(&c, "GET_VERSION").await;
    let info = &v["version_info"];
    assert_eq!(
        keys(info),
        ["build_date", "build_time", "build_user", "version"]
    );
    assert_eq!(info["version"], "1.11.0");
    assert!(info["build_time"].is_number());
    c.shutdown().await;
}

#[tokio::test]
async fn get_master_has_master_info_and_times() {
    let c = master_only().await;
    let v = operator(&c, "GET_MASTER").await;
    let port = c.master_addr().port();
    let info = &v["master_info"];
    assert_eq!(info["port"], port);
    assert_eq!(info["pid"], format!("master@127.0.0.1:{port}"));
    assert_eq!(
        info["ip"], 16777343u32,
        "127.0.0.1 packed as Mesos packs it"
    );
    assert_eq!(
        info["address"],
        json!({"hostname": "127.0.0.1", "ip": "127.0.0.1", "port": port})
    );
    assert!(uuid::Uuid::parse_str(info["id"].as_str().unwrap()).is_ok());
    assert!(v["start_time"].as_f64().unwrap() > 1.6e9);
    assert!(v["elected_time"].is_number());
    c.shutdown().await;
}

#[tokio::test]
async fn get_agents_lists_the_agent() {
    let (c, _sub) = busy_cluster().await;
    let v = operator(&c, "GET_AGENTS").await;
    assert_eq!(v["recovered_agents"], json!([]));
    let agents = v["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1);
    let a = &agents[0];
    assert_has_keys(
        a,
        &[
            "agent_info",
            "active",
            "version",
            "pid",
            "registered_time",
            "total_resources",
            "allocated_resources",
            "offered_resources",
            "capabilities",
        ],
    );
    let agent_port = host_port(&c.agent_url(0).unwrap())
        .rsplit_once(':')
        .unwrap()
        .1
        .parse::<u16>()
        .unwrap();
    assert_eq!(a["agent_info"]["id"]["value"], c.agent_id(0).unwrap().value);
    assert_eq!(a["agent_info"]["hostname"], "127.0.0.1");
    assert_eq!(a["agent_info"]["port"], agent_port);
    assert_eq!(a["pid"], format!("slave(1)@127.0.0.1:{agent_port}"));
    assert_eq!(a["active"], true);
    assert!(a["registered_time"]["nanoseconds"].is_i64());
    let names: Vec<_> = a["agent_info"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for name in ["cpus", "mem", "disk", "ports"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let allocated_cpus: f64 = a["allocated_resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "cpus")
        .map(|r| r["scalar"]["value"].as_f64().unwrap())
        .sum();
    assert_eq!(allocated_cpus, 0.1);
    // The same capabilities the legacy view reports, as v1 Capability objects.
    let caps: Vec<_> = a["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert!(caps.contains(&"MULTI_ROLE"), "{caps:?}");
    c.shutdown().await;
}

#[tokio::test]
async fn get_frameworks_lists_the_framework() {
    let (c, sub) = busy_cluster().await;
    let v = operator(&c, "GET_FRAMEWORKS").await;
    assert_eq!(v["completed_frameworks"], json!([]));
    let f = &v["frameworks"][0];
    assert_eq!(
        f["framework_info"]["id"]["value"],
        sub.framework_id.as_str()
    );
    assert_eq!(f["framework_info"]["name"], "busy");
    assert_eq!(f["framework_info"]["user"], "root");
    assert_eq!(f["framework_info"]["failover_timeout"], json!(0.0));
    assert_eq!(f["framework_info"]["checkpoint"], false);
    assert_eq!(f["framework_info"]["role"], "*");
    assert_eq!(
        (&f["active"], &f["connected"], &f["recovered"]),
        (&json!(true), &json!(true), &json!(false))
    );
    assert!(f["registered_time"]["nanoseconds"].is_i64());
    assert!(f["allocated_resources"].is_array());
    c.shutdown().await;
}

#[tokio::test]
async fn get_tasks_lists_the_running_task() {
    let (c, sub) = busy_cluster().await;
    let v = operator(&c, "GET_TASKS").await;
    let t = &v["tasks"][0];
    assert_eq!(t["name"], "sleeper");
    assert_eq!(t["task_id"], json!({"value": "sleeper"}));
    assert_eq!(t["framework_id"]["value"], sub.framework_id.as_str());
    assert_eq!(t["agent_id"]["value"], c.agent_id(0).unwrap().value);
    assert_eq!(t["state"], "TASK_RUNNING");
    assert_eq!(t["status_update_state"], "TASK_RUNNING");
    assert!(t["status_update_uuid"].is_string());
    assert_eq!(t["resources"].as_array().unwrap().len(), 2);
    let states: Vec<_> = t["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["TASK_STARTING", "TASK_RUNNING"]);
    assert!(t["statuses"][0]["timestamp"].is_f64());
    c.shutdown().await;
}

#[tokio::test]
async fn get_state_holds_tasks_executors_frameworks_and_agents() {
    let (c, _sub) = busy_cluster().await;
    let v = operator(&c, "GET_STATE").await;
    assert_eq!(
        keys(&v),
        ["get_agents", "get_executors", "get_frameworks", "get_tasks"]
    );
    assert_eq!(v["get_tasks"]["tasks"][0]["name"], "sleeper");
    assert_eq!(
        v["get_frameworks"]["frameworks"][0]["framework_info"]["name"],
        "busy"
    );
    assert_eq!(v["get_agents"]["agents"].as_array().unwrap().len(), 1);
    c.shutdown().await;
}

// --- Operator API: the same request checks as the scheduler endpoint -------------------------

fn operator_call(kind: &str, payload: Value) -> OperatorCall {
    let mut call = payload;
    call["type"] = json!(kind);
    serde_json::from_value(call).unwrap()
}

/// An operator call in protobuf, accepting only protobuf: 200 and a serialized
/// `mesos.v1.master.Response`, returned as JSON.
async fn operator_in_protobuf(c: &LocalCluster, kind: &str) -> Value {
    let body = encoding::encode(Encoding::Protobuf, &operator_call(kind, json!({}))).unwrap();
    let r = operator_raw(
        c,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Accept", "application/x-protobuf"),
        ],
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{kind}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    let answer: OperatorResponse = encoding::decode(Encoding::Protobuf, &r.body)
        .unwrap_or_else(|e| panic!("{kind}: not a protobuf Response: {e}"));
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(answer["type"], kind);
    answer[kind.to_lowercase()].clone()
}

/// Every answer in protobuf decodes to exactly the JSON answer: nothing the master writes is
/// lost for want of a field in proto/mesos/v1 (the drift test, on real answers of a cluster
/// running a task). Offers may be renewed between two calls, so a difference is retried.
#[tokio::test]
async fn operator_answers_in_protobuf_are_the_json_answers() {
    let (c, _sub) = busy_cluster().await;
    for kind in [
        "GET_HEALTH",
        "GET_VERSION",
        "GET_FLAGS",
        "GET_MASTER",
        "GET_AGENTS",
        "GET_FRAMEWORKS",
        "GET_EXECUTORS",
        "GET_TASKS",
        "GET_STATE",
    ] {
        // The state may change between the two calls: five tries, 200 ms apart.
        WaitFor::new(
            format!("{kind} to answer alike in both encodings"),
            Duration::from_millis(800),
        )
        .every(Duration::from_millis(200))
        .until(|| async {
            let (protobuf, json) = (
                without_empty_lists(operator_in_protobuf(&c, kind).await),
                without_empty_lists(operator(&c, kind).await),
            );
            match same_json(&protobuf, &json) {
                true => Ok(()),
                false => Err(format!("protobuf {protobuf:#}\njson {json:#}")),
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // Metrics change by the second: the same names, each with a number.
    let names = |metrics: &Value| -> Vec<String> {
        metrics["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert!(m["value"].is_number(), "{m}");
                m["name"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let protobuf = operator_in_protobuf(&c, "GET_METRICS").await;
    assert_eq!(names(&protobuf), names(&operator(&c, "GET_METRICS").await));
    c.shutdown().await;
}

#[tokio::test]
async fn operator_calls_in_protobuf_are_checked_and_served() {
    let (c, sub) = busy_cluster().await;
    // Not a Call: 400 with the reason.
    let r = operator_raw(
        &c,
        &[("Content-Type", "application/x-protobuf")],
        b"\x0a\x7f",
    )
    .await;
    assert_error(&r, 400, "Failed to parse body into Call protobuf: ");
    // Accepting neither encoding: 406, as for JSON.
    let health = encoding::encode(Encoding::Protobuf, &operator_call("GET_HEALTH", json!({})));
    let r = operator_raw(
        &c,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Accept", "text/html"),
        ],
        &health.unwrap(),
    )
    .await;
    assert_error(&r, 406, "Expecting 'Accept' to allow");
    // A protobuf call with no Accept is answered in JSON, as Mesos does.
    let r = operator_raw(
        &c,
        &[("Content-Type", "application/x-protobuf")],
        &encoding::encode(Encoding::Protobuf, &operator_call("GET_HEALTH", json!({}))).unwrap(),
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"type": "GET_HEALTH", "get_health": {"healthy": true}})
    );
    // TEARDOWN with its payload.
    let teardown = operator_call(
        "TEARDOWN",
        json!({"teardown": {"framework_id": {"value": sub.framework_id}}}),
    );
    let r = operator_raw(
        &c,
        &[("Content-Type", "application/x-protobuf")],
        &encoding::encode(Encoding::Protobuf, &teardown).unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let frameworks = operator(&c, "GET_FRAMEWORKS").await;
    assert_eq!(
        frameworks["completed_frameworks"][0]["framework_info"]["id"]["value"],
        sub.framework_id
    );
    c.shutdown().await;
}

#[tokio::test]
async fn operator_malformed_or_non_call_json_is_400() {
    let c = master_only().await;
    for body in [&b"{\"type\":"[..], b"{\"hello\":1}", b"42", b""] {
        let r = operator_raw(&c, &[("Content-Type", "application/json")], body).await;
        assert_error(&r, 400, "Call");
    }
    c.shutdown().await;
}

#[tokio::test]
async fn operator_unknown_call_type_is_400() {
    let c = master_only().await;
    let r = operator_raw(
        &c,
        &[("Content-Type", "application/json")],
        br#"{"type":"GET_EVERYTHING"}"#,
    )
    .await;
    assert_error(&r, 400, "GET_EVERYTHING");
    c.shutdown().await;
}

#[tokio::test]
async fn operator_without_accept_answers_json() {
    let c = master_only().await;
    let r = operator_raw(
        &c,
        &[("Content-Type", "application/json")],
        br#"{"type":"GET_HEALTH"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    c.shutdown().await;
}

#[tokio::test]
async fn unsupported_operator_calls_are_501_with_a_message() {
    let c = master_only().await;
    for kind in ["GET_ROLES", "GET_QUOTA", "RESERVE_RESOURCES", "UNKNOWN"] {
        let body = json!({"type": kind}).to_string();
        let r = operator_raw(&c, &[("Content-Type", "application/json")], body.as_bytes()).await;
        assert_error(&r, 501, kind);
    }
    c.shutdown().await;
}

// --- Legacy master endpoints -----------------------------------------------------------------

#[tokio::test]
async fn master_state_has_mesos_top_level_fields() {
    let (c, _sub) = busy_cluster().await;
    let s = get_json(&format!("{}/master/state", c.master_url())).await;
    assert_has_keys(
        &s,
        &[
            "version",
            "build_date",
            "build_time",
            "build_user",
            "start_time",
            "elected_time",
            "id",
            "pid",
            "hostname",
            "capabilities",
            "activated_slaves",
            "deactivated_slaves",
            "unreachable_slaves",
            "leader",
            "leader_info",
            "flags",
            "slaves",
            "recovered_slaves",
            "frameworks",
            "completed_frameworks",
            "orphan_tasks",
            "unregistered_frameworks",
        ],
    );
    let port = c.master_addr().port();
    assert_eq!(s["pid"], format!("master@127.0.0.1:{port}"));
    assert_eq!(s["leader"], s["pid"]);
    assert_eq!(
        s["leader_info"],
        json!({"id": s["id"], "pid": s["pid"], "port": port, "hostname": "127.0.0.1"})
    );
    assert_eq!(s["activated_slaves"], json!(1.0));
    assert_eq!(s["deactivated_slaves"], json!(0.0));
    assert_eq!(s["unreachable_slaves"], json!(0.0));
    assert!(s["start_time"].is_number() && s["build_time"].is_number());
    assert_eq!(s["orphan_tasks"], json!([]));
    assert_eq!(s["unregistered_frameworks"], json!([]));
    for (name, value) in s["flags"].as_object().unwrap() {
        assert!(value.is_string(), "flag {name} is a string: {value}");
    }
    // `/state` on the master port is the same document.
    let again = get_json(&format!("{}/state", c.master_url())).await;
    assert_eq!(keys(&again), keys(&s));
    assert_eq!(again["id"], s["id"]);
    c.shutdown().await;
}

#[tokio::test]
async fn master_state_slave_shape() {
    let (c, _sub) = busy_cluster().await;
    let s = get_json(&format!("{}/master/state", c.master_url())).await;
    let slave = &s["slaves"][0];
    assert_has_keys(
        slave,
        &[
            "id",
            "hostname",
            "port",
            "attributes",
            "pid",
            "registered_time",
            "resources",
            "used_resources",
            "offered_resources",
            "unreserved_resources",
            "reserved_resources",
            "active",
            "deactivated",
            "version",
            "capabilities",
        ],
    );
    let agent_addr = host_port(&c.agent_url(0).unwrap());
    assert_eq!(slave["pid"], format!("slave(1)@{agent_addr}"));
    assert_eq!(slave["id"], c.agent_id(0).unwrap().value);
    assert!(slave["port"].is_u64());
    assert!(slave["registered_time"].is_f64());
    assert_eq!(slave["attributes"], json!({}));
    assert_eq!(slave["reserved_resources"], json!({}));
    assert_eq!(
        (&slave["active"], &slave["deactivated"]),
        (&json!(true), &json!(false))
    );
    for key in [
        "resources",
        "used_resources",
        "offered_resources",
        "unreserved_resources",
    ] {
        assert_resources_object(&slave[key]);
    }
    assert_eq!(slave["resources"]["ports"], "[31000-32000]");
    assert_eq!(slave["used_resources"]["cpus"], json!(0.1));
    assert_eq!(slave["used_resources"]["mem"], json!(32.0));
    c.shutdown().await;
}

/// Attributes are `{name: number|string}`; reserved resources are split out by role, on the
/// master's view of the agent and on the agent's own `/state` alike.
#[tokio::test]
async fn attributes_and_reservations_in_master_and_agent_state() {
    let mut c = master_only().await;
    c.add_agent(AgentOptions {
        resources: Some("cpus:2;mem:512;cpus(web):1;ports:[31000-31009,32000-32004]".into()),
        attributes: Some("rack:a;u:1".into()),
    })
    .await
    .unwrap();
    let s = get_json(&format!("{}/master/state", c.master_url())).await;
    let agent = get_json(&format!("{}/state", c.agent_url(0).unwrap())).await;
    for (who, v) in [("master", &s["slaves"][0]), ("agent", &agent)] {
        assert_eq!(v["attributes"], json!({"rack": "a", "u": 1.0}), "{who}");
        assert_eq!(v["resources"]["cpus"], json!(3.0), "{who}");
        assert_eq!(
            v["resources"]["ports"], "[31000-31009, 32000-32004]",
            "{who}"
        );
        assert_eq!(v["unreserved_resources"]["cpus"], json!(2.0), "{who}");
        assert_eq!(v["unreserved_resources"]["mem"], json!(512.0), "{who}");
        let web = &v["reserved_resources"]["web"];
        assert_resources_object(web);
        assert_eq!(web["cpus"], json!(1.0), "{who}");
        assert_eq!(keys(&v["reserved_resources"]), ["web"], "{who}");
    }
    c.shutdown().await;
}

/// `/master/state.json` was removed in Mesos 1.8; a 1.11 master does not serve it.
#[tokio::test]
async fn master_state_json_is_not_served() {
    let c = master_only().await;
    let r = raw_round_trip(
        &addr(&c),
        &http_request("GET", "/master/state.json", &[], b""),
    )
    .await;
    assert_eq!(r.status, 404);
    c.shutdown().await;
}

#[tokio::test]
async fn master_state_framework_and_task_shape() {
    let (c, sub) = busy_cluster().await;
    let s = get_json(&format!("{}/master/state", c.master_url())).await;
    let f = &s["frameworks"][0];
    assert_has_keys(
        f,
        &[
            "id",
            "name",
            "used_resources",
            "offered_resources",
            "resources",
            "capabilities",
            "hostname",
            "webui_url",
            "active",
            "connected",
            "recovered",
            "user",
            "failover_timeout",
            "checkpoint",
            "registered_time",
            "unregistered_time",
            "role",
            "tasks",
            "unreachable_tasks",
            "completed_tasks",
            "offers",
            "executors",
        ],
    );
    assert!(f.get("pid").is_none(), "no pid for an HTTP framework: {f}");
    assert_eq!(f["id"], sub.framework_id.as_str());
    assert_eq!(f["webui_url"], "http://busy.example:8080");
    assert_eq!(f["role"], "*");
    assert_eq!(f["failover_timeout"], json!(0.0));
    assert_eq!(f["unregistered_time"], json!(0.0));
    for key in ["used_resources", "offered_resources", "resources"] {
        assert_resources_object(&f[key]);
    }
    let t = &f["tasks"][0];
    assert_has_keys(
        t,
        &[
            "id",
            "name",
            "framework_id",
            "executor_id",
            "slave_id",
            "state",
            "resources",
            "role",
            "statuses",
        ],
    );
    assert_eq!(t["id"], "sleeper");
    assert_eq!(t["executor_id"], "");
    assert_eq!(t["framework_id"], sub.framework_id.as_str());
    assert_eq!(t["slave_id"], c.agent_id(0).unwrap().value);
    assert_eq!(t["state"], "TASK_RUNNING");
    assert_resources_object(&t["resources"]);
    assert_eq!(t["resources"]["cpus"], json!(0.1));
    for status in t["statuses"].as_array().unwrap() {
        assert!(status["state"].is_string());
        assert!(status["timestamp"].is_f64(), "{status}");
        assert!(status.get("reason").is_none() && status.get("source").is_none());
    }
    c.shutdown().await;
}

#[tokio::test]
async fn master_state_offer_shape() {
    let mut c = master_only().await;
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut sub = raw_subscribe(&addr(&c), framework_json("offered")).await;
    sub.next_of("OFFERS").await;
    let s = get_json(&format!("{}/master/state", c.master_url())).await;
    let o = &s["frameworks"][0]["offers"][0];
    assert_eq!(
        keys(o),
        [
            "allocation_info",
            "framework_id",
            "id",
            "resources",
            "slave_id"
        ]
    );
    assert_eq!(o["allocation_info"], json!({"role": "*"}));
    assert_eq!(o["slave_id"], c.agent_id(0).unwrap().value);
    assert_resources_object(&o["resources"]);
    c.shutdown().await;
}

#[tokio::test]
async fn master_state_summary_shape() {
    let (c, sub) = busy_cluster().await;
    let s = get_json(&format!("{}/master/state-summary", c.master_url())).await;
    assert_has_keys(&s, &["hostname", "slaves", "frameworks"]);
    assert_eq!(s["slaves"][0]["id"], c.agent_id(0).unwrap().value);
    let f = &s["frameworks"][0];
    assert_eq!(f["id"], sub.framework_id.as_str());
    assert!(f.get("pid").is_none(), "no pid for an HTTP framework: {f}");
    assert_eq!(f["TASK_RUNNING"], json!(1));
    assert_eq!(f["TASK_FINISHED"], json!(0));
    assert_resources_object(&f["used_resources"]);
    c.shutdown().await;
}

#[tokio::test]
async fn master_teardown_removes_a_framework_by_form_field() {
    let (c, sub) = busy_cluster().await;
    let teardown = |id: &str| {
        let body = format!("frameworkId={id}");
        http_request(
            "POST",
            "/master/teardown",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    };
    let r = raw_round_trip(&addr(&c), &teardown("no-such-framework")).await;
    assert_error(&r, 400, "no-such-framework");
    let r = raw_round_trip(&addr(&c), &teardown(&sub.framework_id)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let s = eventually(&c.master_url(), "torn down", |s| {
        s.completed_frameworks.len() == 1
    })
    .await;
    assert_eq!(s.completed_frameworks[0].id, sub.framework_id);
    assert_eq!(
        s.completed_frameworks[0].completed_tasks[0].state,
        "TASK_KILLED"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn master_health_is_200_with_an_empty_body() {
    let c = master_only().await;
    for path in ["/master/health", "/health"] {
        let r = raw_round_trip(&addr(&c), &http_request("GET", path, &[], b"")).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.is_empty(), "{path}: {:?}", r.text());
    }
    c.shutdown().await;
}

#[tokio::test]
async fn master_redirect_is_307_to_the_leader() {
    let c = master_only().await;
    let r = raw_round_trip(
        &addr(&c),
        &http_request("GET", "/master/redirect", &[], b""),
    )
    .await;
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("location"),
        Some(format!("//127.0.0.1:{}", c.master_addr().port()).as_str())
    );
    c.shutdown().await;
}

#[tokio::test]
async fn version_endpoint_has_the_four_fields() {
    let c = master_only().await;
    let v = get_json(&format!("{}/version", c.master_url())).await;
    assert_eq!(
        keys(&v),
        ["build_date", "build_time", "build_user", "version"]
    );
    assert!(v["build_time"].is_number());
    c.shutdown().await;
}

#[tokio::test]
async fn metrics_snapshot_is_a_flat_map_of_numbers() {
    let (c, _sub) = busy_cluster().await;
    let m = get_json(&format!("{}/metrics/snapshot", c.master_url())).await;
    for (name, value) in m.as_object().unwrap() {
        assert!(value.is_number(), "{name} is a number: {value}");
    }
    let mut expected = vec![
        "master/elected",
        "master/uptime_secs",
        "master/slaves_active",
        "master/slaves_inactive",
        "master/slaves_connected",
        "master/slaves_disconnected",
        "master/slaves_unreachable",
        "master/frameworks_active",
        "master/frameworks_connected",
        "master/outstanding_offers",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for state in [
        "staging",
        "starting",
        "running",
        "killing",
        "finished",
        "failed",
        "killed",
        "lost",
        "error",
        "unreachable",
        "gone",
    ] {
        expected.push(format!("master/tasks_{state}"));
    }
    for r in ["cpus", "mem", "disk", "gpus"] {
        for k in ["total", "used", "percent"] {
            expected.push(format!("master/{r}_{k}"));
        }
    }
    for key in &expected {
        assert!(m.get(key).is_some(), "{key} missing from {m}");
    }
    assert_eq!(m["master/elected"], json!(1.0));
    assert_eq!(m["master/slaves_active"], json!(1.0));
    assert_eq!(m["master/frameworks_active"], json!(1.0));
    assert_eq!(m["master/tasks_running"], json!(1.0));
    assert_eq!(m["master/cpus_used"], json!(0.1));
    let s = get_json(&format!("{}/master/state", c.master_url())).await;
    assert_eq!(m["master/cpus_total"], s["slaves"][0]["resources"]["cpus"]);
    assert_eq!(m["master/mem_total"], s["slaves"][0]["resources"]["mem"]);
    c.shutdown().await;
}

#[tokio::test]
async fn master_slaves_frameworks_tasks_and_flags() {
    let (c, _sub) = busy_cluster().await;
    let url = c.master_url();
    let slaves = get_json(&format!("{url}/master/slaves")).await;
    assert_eq!(keys(&slaves), ["recovered_slaves", "slaves"]);
    assert_eq!(slaves["slaves"][0]["id"], c.agent_id(0).unwrap().value);
    let frameworks = get_json(&format!("{url}/master/frameworks")).await;
    assert_eq!(
        keys(&frameworks),
        [
            "completed_frameworks",
            "frameworks",
            "unregistered_frameworks"
        ]
    );
    assert_eq!(frameworks["frameworks"][0]["name"], "busy");
    let tasks = get_json(&format!("{url}/master/tasks")).await;
    assert_eq!(keys(&tasks), ["tasks"]);
    assert_eq!(tasks["tasks"][0]["id"], "sleeper");
    assert_eq!(tasks["tasks"][0]["executor_id"], "");
    let flags = get_json(&format!("{url}/master/flags")).await;
    assert_eq!(keys(&flags), ["flags"]);
    let flags = flags["flags"].as_object().unwrap();
    assert!(!flags.is_empty());
    assert!(flags.values().all(Value::is_string), "{flags:?}");
    c.shutdown().await;
}

// --- Agent endpoints -------------------------------------------------------------------------

#[tokio::test]
async fn agent_state_shape_on_both_paths() {
    let (c, sub) = busy_cluster().await;
    let agent = c.agent_url(0).unwrap();
    let s = get_json(&format!("{agent}/state")).await;
    assert_has_keys(
        &s,
        &[
            "version",
            "start_time",
            "id",
            "pid",
            "hostname",
            "capabilities",
            "resources",
            "reserved_resources",
            "unreserved_resources",
            "attributes",
            "master_hostname",
            "flags",
            "frameworks",
            "completed_frameworks",
        ],
    );
    assert_eq!(s["id"], c.agent_id(0).unwrap().value);
    assert_eq!(s["pid"], format!("slave(1)@{}", host_port(&agent)));
    assert_eq!(s["master_hostname"], "127.0.0.1");
    assert_resources_object(&s["resources"]);
    assert_eq!(s["resources"]["ports"], "[31000-32000]");
    let f = &s["frameworks"][0];
    assert_eq!(f["id"], sub.framework_id.as_str());
    assert_eq!((&f["name"], &f["user"]), (&json!("busy"), &json!("root")));
    let e = &f["executors"][0];
    assert_eq!(
        keys(e),
        [
            "completed_tasks",
            "container",
            "directory",
            "id",
            "name",
            "queued_tasks",
            "resources",
            "source",
            "tasks"
        ]
    );
    assert_eq!(e["id"], "sleeper");
    assert_eq!(e["tasks"][0]["state"], "TASK_RUNNING");
    assert!(e["directory"].as_str().unwrap().starts_with('/'));
    let again = get_json(&format!("{agent}/slave(1)/state")).await;
    assert_eq!(keys(&again), keys(&s));
    assert_eq!(again["id"], s["id"]);
    c.shutdown().await;
}

/// Runs a task that leaves known files in its sandbox; returns the cluster and the sandbox.
async fn finished_sandbox(cmd: &str) -> (LocalCluster, String) {
    let mut c = master_only().await;
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut sub = raw_subscribe(&addr(&c), framework_json("files")).await;
    run_task(&mut sub, "writer", cmd, "TASK_FINISHED").await;
    let s = get_json(&format!("{}/state", c.agent_url(0).unwrap())).await;
    let dir = s["frameworks"][0]["completed_executors"][0]["directory"]
        .as_str()
        .expect("a completed executor with a directory")
        .to_string();
    (c, dir)
}

fn files_url(c: &LocalCluster, endpoint: &str, query: &[(&str, &str)]) -> String {
    format!(
        "{}/files/{endpoint}?{}",
        c.agent_url(0).unwrap(),
        serde_urlencoded::to_string(query).unwrap()
    )
}

#[tokio::test]
async fn files_read_pages_through_a_sandbox_file() {
    let (c, dir) = finished_sandbox("printf 0123456789").await;
    let path = format!("{dir}/stdout");
    // The URL of a read of the sandbox's stdout with extra query parameters.
    let read = |extra: &[(&str, &str)]| {
        let mut query = vec![("path", path.as_str())];
        query.extend_from_slice(extra);
        files_url(&c, "read", &query)
    };
    assert_eq!(
        get_json(&read(&[("offset", "0")])).await,
        json!({"data": "0123456789", "offset": 0})
    );
    assert_eq!(
        get_json(&read(&[("offset", "3"), ("length", "4")])).await,
        json!({"data": "3456", "offset": 3})
    );
    // offset=-1 asks for the size only.
    assert_eq!(
        get_json(&read(&[("offset", "-1")])).await,
        json!({"data": "", "offset": 10})
    );
    assert_eq!(
        get_json(&read(&[("offset", "100")])).await,
        json!({"data": "", "offset": 10})
    );
    // length=-1 (what Mesos's web UI pailer sends) means "to the end".
    assert_eq!(
        get_json(&read(&[("offset", "8"), ("length", "-1")])).await,
        json!({"data": "89", "offset": 8})
    );
    // Other negative numbers, and things that are not numbers, are 400.
    for (key, value) in [
        ("offset", "-2"),
        ("length", "-2"),
        ("offset", "abc"),
        ("length", "1.5"),
    ] {
        let r = reqwest::get(read(&[(key, value)])).await.unwrap();
        assert_eq!(r.status(), 400, "{key}={value}");
    }
    c.shutdown().await;
}

#[tokio::test]
async fn files_download_returns_the_bytes() {
    let (c, dir) = finished_sandbox("printf 'line one\\nline two\\n' > notes.txt").await;
    let r = reqwest::get(files_url(
        &c,
        "download",
        &[("path", &format!("{dir}/notes.txt"))],
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"line one\nline two\n");
    c.shutdown().await;
}

#[tokio::test]
async fn files_read_without_a_path_is_400_and_a_missing_file_404() {
    let (c, dir) = finished_sandbox("true").await;
    let r = reqwest::get(format!("{}/files/read?offset=0", c.agent_url(0).unwrap()))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = reqwest::get(files_url(&c, "read", &[("path", &format!("{dir}/nope"))]))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    c.shutdown().await;
}

/// Only the agent's work dir is served: absolute paths elsewhere, `..` escapes and symlinks
/// out of a sandbox are all 404, on every file endpoint.
#[tokio::test]
async fn files_outside_the_work_dir_are_404() {
    let (c, dir) = finished_sandbox("ln -s /etc/passwd leak && ln -s / root").await;
    let escapes = [
        "/etc/passwd".to_string(),
        format!("{dir}/../../../../../../../../../../etc/passwd"),
        format!("{dir}/../../../../../../../../.."),
        format!("{dir}/leak"),
        format!("{dir}/root/etc/passwd"),
        "../../../../../../etc/passwd".to_string(),
    ];
    for path in &escapes {
        for endpoint in ["read", "download", "browse"] {
            let r = reqwest::get(files_url(&c, endpoint, &[("path", path), ("offset", "0")]))
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "/files/{endpoint} of {path}");
            let body = r.text().await.unwrap();
            assert!(!body.contains("root:"), "leaked: {body}");
        }
    }
    c.shutdown().await;
}
