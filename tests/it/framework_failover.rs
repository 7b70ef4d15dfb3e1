//! Scheduler failover as Mesos does it (reference: mesos-ha-executors.md section 3), over raw
//! HTTP against an in-process cluster: a scheduler whose connection drops is kept, inactive and
//! disconnected, for its failover_timeout with its tasks running; its calls meanwhile are 403;
//! re-subscribing with its id on a new connection gets a new Mesos-Stream-Id and reconciles its
//! tasks; staying away past the timeout gets its tasks killed and the framework removed.

use crate::common;

use common::*;
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use mmrun::mesos::state::StateFramework;
use serde_json::{Value, json};

async fn with_agent() -> LocalCluster {
    let mut c = LocalCluster::start(ClusterOptions::default())
        .await
        .unwrap();
    c.add_agent(AgentOptions::default()).await.unwrap();
    c
}

/// Launches one long task named `name` on the first offer; returns once it runs.
async fn launch_long_task(sub: &mut RawSubscription, name: &str) {
    launch_task(sub, name, "sleep 600").await
}

/// Launches one task named `name` running `cmd` on the first offer; returns once it runs.
async fn launch_task(sub: &mut RawSubscription, name: &str, cmd: &str) {
    let offers = sub.next_of("OFFERS").await;
    let offer = &offers["offers"]["offers"][0];
    let agent = offer["agent_id"]["value"].as_str().unwrap();
    let task = json!({
        "name": name, "task_id": {"value": name}, "agent_id": {"value": agent},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}},
        ],
        "command": {"shell": true, "value": cmd},
    });
    let r = sub
        .call(json!({"type": "ACCEPT", "accept": {
            "offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
        }}))
        .await;
    assert_eq!(r.status, 202, "ACCEPT: {r:?}");
    loop {
        let update = sub.next_of("UPDATE").await;
        let status = &update["update"]["status"];
        if let Some(uuid) = status.get("uuid") {
            let ack = json!({"type": "ACKNOWLEDGE", "acknowledge": {
                "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": uuid,
            }});
            assert_eq!(sub.call(ack).await.status, 202);
        }
        if status["state"] == "TASK_RUNNING" {
            return;
        }
    }
}

fn framework<'a>(
    state: &'a mmrun::mesos::state::MasterState,
    id: &str,
) -> Option<&'a StateFramework> {
    state.frameworks.iter().find(|f| f.id == id)
}

#[tokio::test]
async fn a_disconnected_scheduler_fails_over_with_its_tasks_and_reconciles_them() {
    let c = with_agent().await;
    let addr = c.master_addr().to_string();
    let mut info = framework_json("phoenix");
    info["failover_timeout"] = json!(60);
    info["checkpoint"] = json!(true);
    let mut first = raw_subscribe(&addr, info.clone()).await;
    launch_long_task(&mut first, "long").await;
    let id = first.framework_id.clone();
    let old_stream = first.stream_id.clone();
    drop(first);

    // Away: kept, neither active nor connected, its task still running; calls are 403.
    let state = eventually(&c.master_url(), "disconnected", |s| {
        framework(s, &id).is_some_and(|f| !f.connected)
    })
    .await;
    let away = framework(&state, &id).unwrap();
    assert!(!away.active && !away.connected && !away.recovered);
    assert_eq!(away.tasks[0].state, "TASK_RUNNING");
    assert!(state.completed_frameworks.is_empty());
    let revive = json!({"type": "REVIVE", "framework_id": {"value": id}});
    let r = post_call(&addr, Some(&old_stream), &revive).await;
    assert_eq!(r.status, 403, "{r:?}");
    let r = post_call(&addr, None, &revive).await;
    assert_eq!(
        r.status, 403,
        "not subscribed comes before the missing stream id: {r:?}"
    );

    // Back, on a new connection, with the id both in framework_info and at the top level.
    info["id"] = json!({"value": id});
    let mut call = subscribe_call(info);
    call["framework_id"] = json!({"value": id});
    let mut back = raw_subscribe_with(&addr, &call, &[]).await;
    assert_eq!(back.framework_id, id);
    assert_ne!(back.stream_id, old_stream, "a new Mesos-Stream-Id");
    let state = eventually(&c.master_url(), "reconnected", |s| {
        framework(s, &id).is_some_and(|f| f.active && f.connected)
    })
    .await;
    let f = framework(&state, &id).unwrap();
    assert!(f.reregistered_time.is_some());
    assert_eq!(f.tasks.len(), 1);

    // Implicit reconciliation answers for the task it kept.
    let r = back
        .call(json!({"type": "RECONCILE", "reconcile": {"tasks": []}}))
        .await;
    assert_eq!(r.status, 202);
    let update: Value = back.next_of("UPDATE").await;
    let status = &update["update"]["status"];
    assert_eq!(status["task_id"]["value"], "long");
    assert_eq!(status["state"], "TASK_RUNNING");
    assert_eq!(status["reason"], "REASON_RECONCILIATION");
    assert!(
        status.get("uuid").is_none(),
        "reconciliation updates are not acknowledged"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn past_its_failover_timeout_a_scheduler_loses_its_tasks_and_framework() {
    let c = with_agent().await;
    let addr = c.master_addr().to_string();
    let mut info = framework_json("brief");
    info["failover_timeout"] = json!(0.5);
    let mut sub = raw_subscribe(&addr, info.clone()).await;
    launch_long_task(&mut sub, "doomed").await;
    let id = sub.framework_id.clone();
    drop(sub);

    let state = eventually(&c.master_url(), "removed", |s| {
        s.completed_frameworks.iter().any(|f| f.id == id)
    })
    .await;
    assert!(framework(&state, &id).is_none());
    let done = state
        .completed_frameworks
        .iter()
        .find(|f| f.id == id)
        .unwrap();
    assert!(!done.active && !done.connected);
    assert_eq!(done.completed_tasks[0].state, "TASK_KILLED");
    // The agent killed the task too: it lists nothing running for it.
    let agent = eventually(&c.master_url(), "task gone from the agent", |s| {
        s.slaves
            .iter()
            .all(|a| a.used_resources["cpus"].as_f64() == Some(0.0))
    })
    .await;
    assert_eq!(agent.slaves.len(), 1);

    // Too late to fail over: the id is spent.
    info["id"] = json!({"value": id});
    let mut conn = RawConn::connect(&addr).await;
    conn.send(&http_request(
        "POST",
        "/api/v1/scheduler",
        &[("Content-Type", "application/json")],
        subscribe_call(info).to_string().as_bytes(),
    ))
    .await;
    let r = conn.read_response().await.unwrap();
    assert_eq!(r.status, 200);
    let records = mmrun::mesos::recordio::Decoder::new()
        .feed(&r.body)
        .unwrap();
    let error: Value = serde_json::from_slice(&records[0]).unwrap();
    assert_eq!(error["error"]["message"], "Framework has been removed");
    c.shutdown().await;
}

/// A task that ends while its scheduler is away: the master records the state at once (so
/// reconciliation and `/master/state` tell the truth), and the agent keeps resending the update
/// until the failed-over scheduler acknowledges it.
#[tokio::test]
async fn an_update_missed_while_away_is_delivered_after_the_failover() {
    let mut c = LocalCluster::start(ClusterOptions {
        status_update_retry: std::time::Duration::from_millis(300),
        ..ClusterOptions::default()
    })
    .await
    .unwrap();
    c.add_agent(AgentOptions::default()).await.unwrap();
    let addr = c.master_addr().to_string();
    let mut info = framework_json("absent");
    info["failover_timeout"] = json!(60);
    let mut sub = raw_subscribe(&addr, info.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let cmd = format!("while [ ! -e {go:?} ]; do sleep 0.05; done; exit 3");
    launch_task(&mut sub, "short", &cmd).await;
    let id = sub.framework_id.clone();
    drop(sub);
    eventually(&c.master_url(), "disconnected", |s| {
        framework(s, &id).is_some_and(|f| !f.connected)
    })
    .await;
    // The task fails while nobody listens.
    std::fs::write(&go, "").unwrap();
    let state = eventually(&c.master_url(), "the master knows the task ended", |s| {
        framework(s, &id).is_some_and(|f| {
            f.tasks
                .iter()
                .chain(&f.completed_tasks)
                .any(|t| t.state == "TASK_FAILED")
        })
    })
    .await;
    let f = framework(&state, &id).unwrap();
    assert!(!f.connected);

    info["id"] = json!({"value": id});
    let mut back = raw_subscribe(&addr, info).await;
    let update = back.next_of("UPDATE").await;
    let status = &update["update"]["status"];
    assert_eq!(status["task_id"]["value"], "short");
    assert_eq!(status["state"], "TASK_FAILED");
    assert!(
        status.get("uuid").is_some(),
        "the agent's own update, to acknowledge"
    );
    c.shutdown().await;
}
