//! Health checks of command tasks, end to end on an in-process cluster: the master validates
//! them as Mesos does, the agent runs them as Mesos's command executor does (TASK_RUNNING
//! updates carrying `healthy` with REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, a kill after
//! `consecutive_failures`), and the state shows them.

use crate::common::{cluster, get_json};
use mmrun::framework::{Framework, FrameworkOptions, TaskRequest};
use mmrun::mesos::health_check::HealthCheck;
use mmrun::mesos::task::TaskState;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

/// A health check written as a framework's JSON.
fn check(json: serde_json::Value) -> HealthCheck {
    serde_json::from_value(json).unwrap()
}

/// Serves `/health`: 200 while `healthy` holds, 503 after.
async fn health_endpoint(healthy: Arc<AtomicBool>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let healthy = healthy.clone();
            async move {
                if healthy.load(Ordering::SeqCst) {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_check_reports_health_and_kills_the_task_after_its_failures() {
    let c = cluster(1).await;
    let healthy = Arc::new(AtomicBool::new(true));
    let port = health_endpoint(healthy.clone()).await;
    let fw = Framework::subscribe(&c.master_url(), FrameworkOptions::named("checked"))
        .await
        .unwrap();
    fw.launch(vec![TaskRequest {
        health_check: Some(check(json!({
            "type": "HTTP", "http": {"port": port, "path": "/health"},
            "delay_seconds": 0, "interval_seconds": 0.05, "grace_period_seconds": 0,
            "consecutive_failures": 3,
        }))),
        ..TaskRequest::command("web", "sleep 600")
    }])
    .unwrap();
    let never = CancellationToken::new();
    let up = fw
        .await_task_health("web", TaskState::Running, Some(true), WAIT, &never)
        .await
        .unwrap();
    let update = up
        .statuses
        .iter()
        .find(|s| s.healthy == Some(true))
        .unwrap();
    assert_eq!(
        update.reason.as_deref(),
        Some("REASON_TASK_HEALTH_CHECK_STATUS_UPDATED")
    );
    assert_eq!(update.state, TaskState::Running);
    assert!(
        update.container_status.is_some(),
        "the last RUNNING's details are kept"
    );
    // The master's state shows the health.
    let state = get_json(&format!("{}/master/state", c.master_url())).await;
    let statuses = &state["frameworks"][0]["tasks"][0]["statuses"];
    assert!(
        statuses
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["healthy"] == true),
        "{statuses}"
    );

    healthy.store(false, Ordering::SeqCst);
    let killed = fw
        .await_task("web", TaskState::Killed, WAIT, &never)
        .await
        .unwrap();
    let unhealthy: Vec<_> = killed
        .statuses
        .iter()
        .filter(|s| s.state == TaskState::Running && s.healthy == Some(false))
        .collect();
    assert_eq!(
        unhealthy.len(),
        3,
        "one update per failure: {:#?}",
        killed.statuses
    );
    let last = killed.statuses.last().unwrap();
    assert_eq!(last.healthy, Some(false), "killed for its health");
    assert_eq!(killed.healthy(), Some(false));
    c.shutdown().await;
}

/// A COMMAND check runs in the task's sandbox with its environment; failures before the first
/// success are ignored during the grace period, and a TCP check probes the loopback.
#[tokio::test(flavor = "multi_thread")]
async fn command_and_tcp_checks_run_beside_the_task() {
    let c = cluster(1).await;
    let fw = Framework::subscribe(&c.master_url(), FrameworkOptions::named("checked"))
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut slow = TaskRequest::command("slow", "sleep 0.5; echo ok > ready; sleep 600");
    slow.env.insert("WANTED".into(), "ok".into());
    slow.health_check = Some(check(json!({
        "type": "COMMAND",
        "command": {"value": "test \"$(cat \"$MESOS_SANDBOX/ready\")\" = \"$WANTED\""},
        "delay_seconds": 0, "interval_seconds": 0.05, "grace_period_seconds": 30,
        "consecutive_failures": 1,
    })));
    let tcp = TaskRequest {
        health_check: Some(check(json!({
            "type": "TCP", "tcp": {"port": port}, "delay_seconds": 0, "interval_seconds": 0.05,
        }))),
        ..TaskRequest::command("tcp", "sleep 600")
    };
    fw.launch(vec![slow, tcp]).unwrap();
    let never = CancellationToken::new();
    for name in ["slow", "tcp"] {
        let task = fw
            .await_task_health(name, TaskState::Running, Some(true), WAIT, &never)
            .await
            .unwrap();
        // The grace period swallowed the failures before the file appeared.
        assert!(
            task.statuses.iter().all(|s| s.healthy != Some(false)),
            "{name}: {:#?}",
            task.statuses
        );
    }
    drop(listener);
    c.shutdown().await;
}

/// An invalid health check is the task's error, in Mesos's words, before any agent sees it.
#[tokio::test(flavor = "multi_thread")]
async fn the_master_refuses_an_invalid_health_check() {
    let c = cluster(1).await;
    let fw = Framework::subscribe(&c.master_url(), FrameworkOptions::named("checked"))
        .await
        .unwrap();
    fw.launch(vec![TaskRequest {
        health_check: Some(check(
            json!({"type": "HTTP", "http": {"port": 80, "path": "health"}}),
        )),
        ..TaskRequest::command("bad", "sleep 600")
    }])
    .unwrap();
    let never = CancellationToken::new();
    let error = fw
        .await_task("bad", TaskState::Error, WAIT, &never)
        .await
        .unwrap();
    let last = error.statuses.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("REASON_TASK_INVALID"));
    assert_eq!(
        last.message.as_deref(),
        Some(
            "Task uses invalid health check: The path 'health' of HTTP health check must start with '/'"
        )
    );
    c.shutdown().await;
}
