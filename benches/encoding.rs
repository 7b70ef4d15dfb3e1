//! JSON vs protobuf on the v1 APIs: `cargo bench --bench encoding`.
//!
//! Encodes and decodes, through `mmrun::mesos::encoding` (the code the servers and the client
//! use), a large OFFERS event (1 000 offers of 4 resources and 3 attributes) and a large
//! GET_STATE answer (100 agents, 10 frameworks, 2 000 tasks with 3 statuses each). Prints
//! medians (and min/max) over MMRUN_BENCH_RUNS runs (default 20) and the encoded sizes. With
//! MMRUN_BENCH_SCALING set it prints OFFERS events of 100 to 1 600 offers instead, to see how
//! the cost grows. Figures, not assertions: this never fails.

use mmrun::mesos::encoding::{self, Encoding, WireMessage};
use mmrun::mesos::operator::OperatorResponse;
use mmrun::mesos::scheduler::Event;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn id(v: String) -> Value {
    json!({ "value": v })
}

fn resources() -> Value {
    json!([
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}, "role": "*"},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 8192.0}, "role": "*"},
        {"name": "disk", "type": "SCALAR", "scalar": {"value": 100000.0}, "role": "*"},
        {"name": "ports", "type": "RANGES", "role": "*",
         "ranges": {"range": [{"begin": 31000, "end": 32000}]}},
    ])
}

fn attributes(i: usize) -> Value {
    json!([
        {"name": "rack", "type": "TEXT", "text": {"value": format!("rack-{}", i % 10)}},
        {"name": "zone", "type": "TEXT", "text": {"value": "a"}},
        {"name": "ssd", "type": "SCALAR", "scalar": {"value": 1.0}},
    ])
}

fn offers_event() -> Event {
    offers_of(1000)
}

fn offers_of(n: usize) -> Event {
    let offers: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "id": id(format!("5f1c9c1e-0000-4000-8000-000000000000-O{i}")),
                "framework_id": id("5f1c9c1e-0000-4000-8000-000000000000-0000".into()),
                "agent_id": id(format!("5f1c9c1e-0000-4000-8000-000000000000-S{i}")),
                "hostname": format!("agent-{i}.example.com"),
                "resources": resources(),
                "attributes": attributes(i),
            })
        })
        .collect();
    serde_json::from_value(json!({"type": "OFFERS", "offers": {"offers": offers}})).unwrap()
}

fn get_state() -> OperatorResponse {
    let master = "5f1c9c1e-0000-4000-8000-000000000000";
    let status = |task: &str, state: &str, t: f64| {
        json!({"task_id": id(task.into()), "state": state, "source": "SOURCE_EXECUTOR",
               "agent_id": id(format!("{master}-S1")), "timestamp": t,
               "uuid": "q83vEjRWeJA+q83vEjRWeA==", "container_status": {
                   "container_id": id("0b6f1c9c-0000-4000-8000-000000000000".into())}})
    };
    let tasks: Vec<Value> = (0..2000)
        .map(|i| {
            let name = format!("task-{i}");
            json!({
                "name": name, "task_id": id(name.clone()),
                "framework_id": id(format!("{master}-{:04}", i % 10)),
                "agent_id": id(format!("{master}-S{}", i % 100)), "state": "TASK_RUNNING",
                "resources": resources(),
                "statuses": [status(&name, "TASK_STARTING", 1.0), status(&name, "TASK_RUNNING", 2.0)],
                "status_update_state": "TASK_RUNNING", "status_update_uuid": "q83vEjRWeJA+q83vEjRWeA==",
            })
        })
        .collect();
    let agents: Vec<Value> = (0..100)
        .map(|i| {
            json!({
                "agent_info": {"hostname": format!("agent-{i}"), "port": 5051,
                               "resources": resources(), "attributes": attributes(i),
                               "id": id(format!("{master}-S{i}"))},
                "active": true, "version": "1.11.0", "pid": format!("slave(1)@10.0.0.{i}:5051"),
                "registered_time": {"nanoseconds": 1_767_225_600_000_000_000_i64},
                "total_resources": resources(), "allocated_resources": resources(),
                "offered_resources": [], "capabilities": [{"type": "MULTI_ROLE"}],
            })
        })
        .collect();
    let frameworks: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "framework_info": {"user": "root", "name": format!("fw-{i}"),
                                   "id": id(format!("{master}-{i:04}")), "failover_timeout": 0.0,
                                   "checkpoint": true, "role": "*"},
                "active": true, "connected": true, "recovered": false,
                "registered_time": {"nanoseconds": 1}, "allocated_resources": resources(),
            })
        })
        .collect();
    serde_json::from_value(json!({"type": "GET_STATE", "get_state": {
        "get_tasks": {"tasks": tasks}, "get_executors": {},
        "get_frameworks": {"frameworks": frameworks}, "get_agents": {"agents": agents},
    }}))
    .unwrap()
}

fn median(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn measure<M: WireMessage>(what: &str, message: &M, runs: usize) {
    for encoding in [Encoding::Json, Encoding::Protobuf] {
        let bytes = encoding::encode(encoding, message).unwrap();
        let (mut enc, mut dec) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let start = Instant::now();
            std::hint::black_box(encoding::encode(encoding, message).unwrap());
            enc.push(start.elapsed());
            let start = Instant::now();
            std::hint::black_box(encoding::decode::<M>(encoding, &bytes).unwrap());
            dec.push(start.elapsed());
        }
        let (e, emin, emax) = median(enc);
        let (d, dmin, dmax) = median(dec);
        println!(
            "| {what} | {encoding:?} | {:.0} KiB | {} ({}–{}) | {} ({}–{}) |",
            bytes.len() as f64 / 1024.0,
            ms(e),
            ms(emin),
            ms(emax),
            ms(d),
            ms(dmin),
            ms(dmax)
        );
    }
}

fn main() {
    let runs: usize = std::env::var("MMRUN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    println!("| message | encoding | size | encode median (min–max) | decode median (min–max) |");
    println!("|---|---|---|---|---|");
    if std::env::var("MMRUN_BENCH_SCALING").is_ok() {
        for n in [100, 200, 400, 800, 1600] {
            measure(&format!("OFFERS, {n} offers"), &offers_of(n), 5);
        }
        return;
    }
    measure("OFFERS, 1 000 offers", &offers_event(), runs);
    measure("GET_STATE, 2 000 tasks", &get_state(), runs);
}
