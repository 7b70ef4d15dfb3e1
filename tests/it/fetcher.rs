//! The fetcher end to end: command tasks on an in-process cluster whose `CommandInfo.uris` are
//! fetched from a real HTTP server and the local disk before the command starts, and fetches
//! that fail or are killed before the task ever starts.

use crate::common;

use common::*;
use mmrun::lite::cluster::LocalCluster;
use mmrun::mesos::scheduler::{Call, CallType, Kill, Offer};
use mmrun::mesos::task::TaskState::*;
use mmrun::mesos::task::{CommandUri, TaskInfo};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A file server for the fetcher: its base URL, its task, and how many requests reached
/// `/stall/…` (so a test knows the fetch is under way).
struct Served {
    base: String,
    server: tokio::task::JoinHandle<()>,
    stalled: Arc<AtomicUsize>,
}

/// Serves `/ok/<anything>` with `body`, `/stall/<anything>` never answers, 404 otherwise.
async fn serve(body: &'static [u8]) -> Served {
    let stalled = Arc::new(AtomicUsize::new(0));
    let counter = stalled.clone();
    let app = axum::Router::new()
        .route(
            "/ok/{name}",
            axum::routing::get(move || async move { body }),
        )
        .route(
            "/stall/{name}",
            axum::routing::get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<&'static str>()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Served {
        base,
        server,
        stalled,
    }
}

/// A `.tar.gz` holding `bundle/hello.txt` and an executable `bundle/run.sh`.
fn bundle() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, mode, data) in [
        ("bundle/hello.txt", 0o644, &b"hello from the tarball\n"[..]),
        ("bundle/run.sh", 0o755, &b"#!/bin/sh\necho script ran\n"[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, path, data).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

fn task_with_uris(name: &str, offer: &Offer, cmd: &str, uris: Vec<CommandUri>) -> TaskInfo {
    let mut task = command_task(name, offer, cmd, 0.1, 32.0);
    task.command.as_mut().unwrap().uris = uris;
    task
}

/// A sandbox file of the task's (completed) executor, through the agent's /files API.
async fn sandbox_file(c: &LocalCluster, file: &str) -> String {
    let agent = c.agent_url(0).unwrap();
    let state: mmrun::mesos::state::AgentState = reqwest::get(format!("{agent}/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exec = &state.frameworks[0].completed_executors[0];
    let read: serde_json::Value = reqwest::get(format!(
        "{agent}/files/read?path={}/{file}&offset=0",
        exec.directory
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    read["data"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_task_runs_with_its_uris_fetched_into_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("bundle.tar.gz");
    std::fs::write(&archive, bundle()).unwrap();
    let Served { base, server, .. } = serve(b"served over http\n").await;
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("fetch", &[])).await;
    let offers = next_offers(&mut sub).await;
    let page = format!("{base}/ok/page.txt");
    let task = task_with_uris(
        "fetching",
        &offers[0],
        "cat bundle/hello.txt page.txt && ./bundle/run.sh && echo task stderr >&2",
        vec![
            CommandUri::new(format!("file://{}", archive.display())),
            CommandUri::new(&page),
        ],
    );
    launch(&sub, &offers[0], vec![task]).await;
    let events = await_state(&mut sub, "fetching", Finished).await;
    assert_eq!(
        states(&events, "fetching"),
        vec![Starting, Running, Finished]
    );
    assert_eq!(
        sandbox_file(&c, "stdout").await,
        "hello from the tarball\nserved over http\nscript ran\n"
    );
    // The fetcher's log comes first in stderr, a line per URI, then the task's own output.
    let stderr = sandbox_file(&c, "stderr").await;
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("Fetched 'file://{}' to '", archive.display()))
            && lines[0].contains("and extracted it into '"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!("Fetched '{page}' to '"))
            && lines[1].contains("not extracted"),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with("Successfully fetched all URIs into '"),
        "{stderr}"
    );
    assert_eq!(lines[3], "task stderr");
    server.abort();
    c.shutdown().await;
}

#[tokio::test]
async fn a_failed_fetch_fails_the_task_before_it_starts() {
    let Served { base, server, .. } = serve(b"").await;
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("fetch", &[])).await;
    let offers = next_offers(&mut sub).await;
    let missing = format!("{base}/missing.tgz");
    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let task = task_with_uris(
        "unfetched",
        &offers[0],
        &format!("touch {}", ran.display()),
        vec![CommandUri::new(&missing)],
    );
    launch(&sub, &offers[0], vec![task]).await;
    let events = await_state(&mut sub, "unfetched", Failed).await;
    // As in Mesos, the fetch is part of launching the container: no TASK_STARTING before it.
    assert_eq!(states(&events, "unfetched"), vec![Failed]);
    let failed = &events.last().unwrap().update.as_ref().unwrap().status;
    assert_eq!(
        failed.reason.as_deref(),
        Some("REASON_CONTAINER_LAUNCH_FAILED")
    );
    assert_eq!(failed.source.as_deref(), Some("SOURCE_AGENT"));
    let message = failed.message.as_deref().unwrap();
    assert!(
        message.starts_with("Failed to launch container: Failed to fetch all URIs for container '")
            && message.ends_with(&format!(
                "Failed to fetch '{missing}': Error downloading resource, received HTTP return code 404"
            )),
        "{message}"
    );
    assert!(!ran.exists(), "the command must not run");
    // The same line is in the sandbox's stderr.
    let stderr = sandbox_file(&c, "stderr").await;
    assert!(
        stderr.contains(&format!("Failed to fetch '{missing}'")),
        "{stderr}"
    );
    server.abort();
    c.shutdown().await;
}

#[tokio::test]
async fn killing_a_task_while_it_fetches_ends_it_without_running_it() {
    let Served {
        base,
        server,
        stalled,
    } = serve(b"").await;
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("fetch", &[])).await;
    let offers = next_offers(&mut sub).await;
    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let task = task_with_uris(
        "slow",
        &offers[0],
        &format!("touch {}", ran.display()),
        vec![CommandUri::new(format!("{base}/stall/big.tgz"))],
    );
    let agent_id = offers[0].agent_id.clone();
    launch(&sub, &offers[0], vec![task]).await;
    // The fetch hangs; the task has no update until it is killed.
    wait_for("the agent to fetch", WAIT, || async {
        stalled.load(Ordering::SeqCst) > 0
    })
    .await;
    let kill = Call {
        kill: Some(Kill {
            task_id: mmrun::mesos::ids::TaskId::new("slow"),
            agent_id: Some(agent_id),
            kill_policy: None,
        }),
        ..Call::new(CallType::Kill, None)
    };
    sub.call(kill).await.unwrap();
    let events = await_state(&mut sub, "slow", Killed).await;
    assert_eq!(states(&events, "slow"), vec![Killed]);
    let killed = &events.last().unwrap().update.as_ref().unwrap().status;
    assert_eq!(
        killed.reason.as_deref(),
        Some("REASON_TASK_KILLED_DURING_LAUNCH")
    );
    // Nothing to wait for: the command must not run, now or a moment later (the time a
    // wrongly started one would take to touch its file).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!ran.exists(), "the command must never run");
    server.abort();
    c.shutdown().await;
}
