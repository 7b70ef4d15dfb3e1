//! Health checks of command tasks, run as Mesos's command executor runs them
//! (`src/checks/health_checker.cpp` in Apache Mesos): after `delay`, one check every
//! `interval`, each within `timeout`; failures before the first success are ignored during the
//! `grace_period`. The task's supervisor (`executor.rs`) hears a verdict on the first success,
//! on the first success after failures, and on every failure that counts, and kills the task
//! once `consecutive_failures` failed in a row.

use crate::errors::error_chain;
use crate::mesos::health_check::{CheckPlan, Probe};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the supervisor hears.
#[derive(Debug, PartialEq)]
pub struct Verdict {
    pub healthy: bool,
    /// `consecutive_failures` failed in a row: the task is to be killed.
    pub kill: bool,
}

/// Why one check failed, as Mesos's health checker says it (in the agent's log).
#[derive(Debug, thiserror::Error)]
enum CheckFailure {
    #[error("cannot connect to 127.0.0.1:{port}")]
    Connect {
        port: u16,
        #[source]
        cause: std::io::Error,
    },
    #[error("the check has not returned after {0:?}; aborting")]
    TimedOut(std::time::Duration),
    #[error("cannot make an HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("GET {url}")]
    Get {
        url: String,
        #[source]
        cause: reqwest::Error,
    },
    #[error("Unexpected HTTP response code: {0}")]
    Status(reqwest::StatusCode),
    #[error("Failed to create subprocess")]
    Spawn(#[source] std::io::Error),
    #[error("Failed to reap the command process")]
    Reap(#[source] std::io::Error),
    #[error("Command returned exited with status {0}")]
    Exited(i32),
    #[error("Command returned terminated by a signal")]
    Signalled,
}

/// Where a COMMAND check runs: the task's sandbox and environment.
pub struct CheckContext {
    pub sandbox: PathBuf,
    pub env: Vec<(String, String)>,
}

/// Starts checking; stops when the receiver is dropped (the task ended or is being killed).
pub fn spawn(
    task: String,
    check: CheckPlan,
    context: CheckContext,
) -> mpsc::UnboundedReceiver<Verdict> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let started = Instant::now();
        tokio::select! {
            _ = tokio::time::sleep(check.delay) => {}
            _ = tx.closed() => return,
        }
        let mut succeeded_once = false;
        let mut failures = 0u32;
        loop {
            let outcome = tokio::select! {
                outcome = probe_once(&check, &context) => outcome,
                _ = tx.closed() => return,
            };
            let verdict = match outcome {
                Ok(()) => {
                    let news = !succeeded_once || failures > 0;
                    succeeded_once = true;
                    failures = 0;
                    news.then_some(Verdict {
                        healthy: true,
                        kill: false,
                    })
                }
                Err(why) if !succeeded_once && started.elapsed() <= check.grace_period => {
                    tracing::info!(
                        "task {task}: {} health check failed within the grace period: {}",
                        check.kind(),
                        error_chain(&why)
                    );
                    None
                }
                Err(why) => {
                    failures += 1;
                    tracing::warn!(
                        "task {task}: {} health check failed {failures} times consecutively: {}",
                        check.kind(),
                        error_chain(&why)
                    );
                    Some(Verdict {
                        healthy: false,
                        kill: failures >= check.consecutive_failures,
                    })
                }
            };
            if let Some(verdict) = verdict
                && tx.send(verdict).is_err()
            {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(check.interval) => {}
                _ = tx.closed() => return,
            }
        }
    });
    rx
}

/// One check, within the check's timeout.
async fn probe_once(check: &CheckPlan, context: &CheckContext) -> Result<(), CheckFailure> {
    let probe = async {
        match &check.probe {
            Probe::Http { scheme, port, path } => http(scheme, *port, path).await,
            Probe::Tcp { port } => tokio::net::TcpStream::connect(("127.0.0.1", *port))
                .await
                .map(drop)
                .map_err(|cause| CheckFailure::Connect { port: *port, cause }),
            Probe::Command(command) => run_command(command, context).await,
        }
    };
    match check.timeout {
        Some(timeout) => tokio::time::timeout(timeout, probe)
            .await
            .map_err(|_| CheckFailure::TimedOut(timeout))?,
        None => probe.await,
    }
}

/// GET as Mesos's `curl -s -S -L -k`: redirects followed, certificates not verified, and the
/// final status 200–399 is healthy.
async fn http(scheme: &str, port: u16, path: &str) -> Result<(), CheckFailure> {
    let url = format!("{scheme}://127.0.0.1:{port}{path}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(CheckFailure::Client)?;
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(cause) => return Err(CheckFailure::Get { url, cause }),
    };
    let status = response.status();
    if (200..400).contains(&status.as_u16()) {
        Ok(())
    } else {
        Err(CheckFailure::Status(status))
    }
}

/// The command in the task's sandbox and environment (plus the check's own variables), in a
/// process group of its own that is killed with it on a timeout.
async fn run_command(
    command: &crate::mesos::task::CommandInfo,
    context: &CheckContext,
) -> Result<(), CheckFailure> {
    let value = command.value.clone().unwrap_or_default();
    let mut cmd = if command.shell {
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(&value);
        c
    } else {
        let mut c = tokio::process::Command::new(&value);
        c.args(command.arguments.iter().skip(1));
        c
    };
    cmd.current_dir(&context.sandbox)
        .envs(context.env.iter().cloned())
        .envs(
            command
                .environment
                .iter()
                .flat_map(|e| &e.variables)
                .map(|v| (v.name.clone(), v.value.clone())),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(CheckFailure::Spawn)?;
    // Dropped on a timeout: kill the whole group, not only the shell.
    let group = GroupGuard(child.id());
    let status = child.wait().await.map_err(CheckFailure::Reap)?;
    drop(group);
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(CheckFailure::Exited(code)),
        None => Err(CheckFailure::Signalled),
    }
}

/// Kills a check command's process group when the check is over, however it ended.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        crate::process::kill_group(self.0, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn plan(check: serde_json::Value) -> CheckPlan {
        serde_json::from_value::<crate::mesos::health_check::HealthCheck>(check)
            .unwrap()
            .validate()
            .unwrap()
    }

    fn check(extra: serde_json::Value) -> CheckPlan {
        let mut base = json!({"type": "COMMAND", "command": {"value": "test -e healthy"},
                              "delay_seconds": 0, "interval_seconds": 0.02,
                              "grace_period_seconds": 0, "consecutive_failures": 2});
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        plan(base)
    }

    async fn next_verdict(rx: &mut mpsc::UnboundedReceiver<Verdict>) -> Verdict {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a verdict in time")
            .unwrap()
    }

    /// The verdicts of a COMMAND check over a file the test creates and removes: healthy once
    /// it exists, then unhealthy on each failure after it is removed, the second one a kill.
    #[tokio::test]
    async fn verdicts_follow_mesos_s_health_checker() {
        let sandbox = tempfile::tempdir().unwrap();
        let context = CheckContext {
            sandbox: sandbox.path().to_path_buf(),
            env: vec![],
        };
        let mut rx = spawn("t".into(), check(json!({})), context);
        // Without a grace period the first failures count.
        assert_eq!(
            next_verdict(&mut rx).await,
            Verdict {
                healthy: false,
                kill: false
            }
        );
        std::fs::write(sandbox.path().join("healthy"), "").unwrap();
        // A success after failures is news; the following successes are not.
        loop {
            let v = next_verdict(&mut rx).await;
            if v.healthy {
                assert!(!v.kill);
                break;
            }
        }
        std::fs::remove_file(sandbox.path().join("healthy")).unwrap();
        assert_eq!(
            next_verdict(&mut rx).await,
            Verdict {
                healthy: false,
                kill: false
            }
        );
        assert_eq!(
            next_verdict(&mut rx).await,
            Verdict {
                healthy: false,
                kill: true
            }
        );
    }

    #[tokio::test]
    async fn failures_in_the_grace_period_before_a_success_are_ignored() {
        let sandbox = tempfile::tempdir().unwrap();
        let context = CheckContext {
            sandbox: sandbox.path().to_path_buf(),
            env: vec![],
        };
        let mut rx = spawn(
            "t".into(),
            check(json!({"grace_period_seconds": 30})),
            context,
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            rx.try_recv().is_err(),
            "failures in the grace period say nothing"
        );
        std::fs::write(sandbox.path().join("healthy"), "").unwrap();
        let v = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            v,
            Verdict {
                healthy: true,
                kill: false
            }
        );
    }

    #[tokio::test]
    async fn a_check_slower_than_its_timeout_fails_and_its_process_group_dies() {
        let sandbox = tempfile::tempdir().unwrap();
        let context = CheckContext {
            sandbox: sandbox.path().to_path_buf(),
            env: vec![],
        };
        let slow = check(
            json!({"command": {"value": "echo $$ > pid; sleep 30 & wait"},
                                "timeout_seconds": 0.2}),
        );
        let started = std::time::Instant::now();
        let outcome = probe_once(&slow, &context).await;
        assert!(
            outcome
                .unwrap_err()
                .to_string()
                .contains("has not returned after")
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(sandbox.path().join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The shell led its own group; nothing of that group may live on (zombies waiting for
        // their reaper are dead).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let alive: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .filter(|stat| {
                // After the command's closing parenthesis: state, ppid, pgrp.
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map_or("", |(_, rest)| rest)
                    .split_whitespace()
                    .collect();
                fields.get(2) == Some(&pid.to_string().as_str()) && fields.first() != Some(&"Z")
            })
            .collect();
        assert!(
            alive.is_empty(),
            "the check's process group lives on: {alive:?}"
        );
    }

    #[tokio::test]
    async fn http_and_tcp_checks_probe_the_loopback() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new()
            .route("/ok", axum::routing::get(|| async { "fine" }))
            .route(
                "/moved",
                axum::routing::get(|| async { axum::response::Redirect::temporary("/ok") }),
            )
            .route(
                "/sick",
                axum::routing::get(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let context = CheckContext {
            sandbox: std::env::temp_dir(),
            env: vec![],
        };
        let http = |path: &str| plan(json!({"type": "HTTP", "http": {"port": port, "path": path}}));
        probe_once(&http("/ok"), &context).await.unwrap();
        probe_once(&http("/moved"), &context).await.unwrap();
        let sick = probe_once(&http("/sick"), &context)
            .await
            .unwrap_err()
            .to_string();
        assert!(sick.contains("503"), "{sick}");
        let tcp = |port: u16| plan(json!({"type": "TCP", "tcp": {"port": port}}));
        probe_once(&tcp(port), &context).await.unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        assert!(probe_once(&tcp(closed_port), &context).await.is_err());
    }
}
