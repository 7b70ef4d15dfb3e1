//! `mmrun example-executor`: a small, real custom executor speaking the v1 executor API (JSON)
//! to the agent that started it, for scenarios and tests of custom executors. It finds the
//! agent and its identity in the `MESOS_*` environment every agent gives executors, subscribes,
//! and then:
//! - LAUNCH: runs the task's `data` (base64 in JSON, a shell command once decoded) with
//!   `sh -c`, and reports TASK_RUNNING, then TASK_FINISHED (exit 0)
//!   or TASK_FAILED. A task for a custom executor carries no `command` (Mesos refuses a task
//!   with both), which is why the command travels in `data`.
//! - KILL: SIGTERM to the task's shell (SIGKILL after the kill policy's grace period,
//!   default 3 s), then TASK_KILLED.
//! - MESSAGE: answers with a MESSAGE of `echo:` followed by the data it got.
//! - SHUTDOWN: kills every task (TASK_KILLED) and exits.
//!
//! It exits when its subscription ends, as a Mesos executor of a framework without
//! checkpointing does.
//!
//! With `--driver` it speaks to the agent as Mesos's executor drivers do (libprocess messages
//! both ways, `client::start_executor_driver`) instead of the v1 API: the same behaviour.

use super::{CliError, CliResult};
use crate::client::{ExecutorDriver, ExecutorDriverError, start_executor_driver};
use crate::errors::{WhileDoing, error_chain};
use crate::mesos::executor::{Call, CallType, Event, EventType, Message, Subscribe, Update};
use crate::mesos::ids::{ExecutorId, FrameworkId, TaskId};
use crate::mesos::recordio::Decoder;
use crate::mesos::task::{TaskInfo, TaskState, TaskStatus, source};
use base64::Engine;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);

struct Executor {
    transport: Transport,
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    /// Running tasks: where to send a kill (with its grace period).
    tasks: Mutex<BTreeMap<TaskId, mpsc::UnboundedSender<Duration>>>,
}

/// Why the executor could not start, or a call or the subscription failed.
#[derive(Debug, thiserror::Error)]
enum ExecutorError {
    #[error(
        "{0} is not set: example-executor must be started by a Mesos agent as a task's executor"
    )]
    NotStartedByAnAgent(&'static str),
    #[error("the agent did not take it")]
    NotTaken,
    #[error("not speaking the v1 API")]
    NotHttp,
    #[error("cannot reach the agent at {url}")]
    Unreachable {
        url: String,
        #[source]
        cause: reqwest::Error,
    },
    #[error("the agent answered {status}: {text}")]
    Refused {
        status: reqwest::StatusCode,
        text: String,
    },
    #[error("subscription broken")]
    SubscriptionBroken(#[source] reqwest::Error),
    #[error(transparent)]
    Framing(#[from] crate::mesos::recordio::RecordIoError),
    #[error("unreadable event")]
    UnreadableEvent(#[source] serde_json::Error),
}

fn env(name: &'static str) -> Result<String, ExecutorError> {
    std::env::var(name).map_err(|_| ExecutorError::NotStartedByAnAgent(name))
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// How the executor reaches its agent.
enum Transport {
    /// The v1 executor API at this URL.
    Http { url: String, http: reqwest::Client },
    /// Libprocess, as an executor driver; the agent's messages arrive as events.
    Driver {
        driver: Box<ExecutorDriver>,
        events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    },
}

/// Started by an agent as a task's executor; without the environment one gives, a usage error.
/// `driver`: speak libprocess as an executor driver instead of the v1 API.
pub async fn run(driver: bool) -> CliResult {
    let transport = if driver {
        let (driver, events) = start_executor_driver().await.map_err(|e| match e {
            ExecutorDriverError::Listen { .. } => CliError::environment(e),
            _ => CliError::usage(e),
        })?;
        Transport::Driver {
            driver: Box::new(driver),
            events: tokio::sync::Mutex::new(events),
        }
    } else {
        let url = env("MESOS_AGENT_ENDPOINT").map_err(CliError::usage)?;
        Transport::Http {
            url: format!("http://{url}/api/v1/executor"),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(CliError::environment)?,
        }
    };
    let executor = match (|| -> Result<Executor, ExecutorError> {
        Ok(Executor {
            transport,
            framework_id: FrameworkId::new(env("MESOS_FRAMEWORK_ID")?),
            executor_id: ExecutorId::new(env("MESOS_EXECUTOR_ID")?),
            tasks: Mutex::new(BTreeMap::new()),
        })
    })() {
        Ok(e) => Arc::new(e),
        Err(e) => return Err(CliError::usage(e)),
    };
    executor
        .clone()
        .serve()
        .await
        .map_err(|e| CliError::environment(WhileDoing::new(executor.executor_id.to_string(), e)))
}

impl Executor {
    fn call(&self, kind: CallType) -> Call {
        Call {
            kind: Some(kind),
            executor_id: Some(self.executor_id.clone()),
            framework_id: Some(self.framework_id.clone()),
            subscribe: None,
            update: None,
            message: None,
        }
    }

    /// Sends a call (UPDATE, MESSAGE) over whichever API the executor speaks.
    async fn send(&self, call: &Call) -> Result<(), ExecutorError> {
        match &self.transport {
            Transport::Http { .. } => self.post(call).await.map(drop),
            Transport::Driver { driver, .. } => {
                if driver.send(call.clone()).await {
                    Ok(())
                } else {
                    Err(ExecutorError::NotTaken)
                }
            }
        }
    }

    async fn post(&self, call: &Call) -> Result<reqwest::Response, ExecutorError> {
        let Transport::Http { url, http } = &self.transport else {
            return Err(ExecutorError::NotHttp);
        };
        let response = http
            .post(url)
            .header("Accept", "application/json")
            .json(call)
            .send()
            .await
            .map_err(|cause| ExecutorError::Unreachable {
                url: url.clone(),
                cause,
            })?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            return Err(ExecutorError::Refused { status, text });
        }
        Ok(response)
    }

    async fn serve(self: Arc<Self>) -> Result<(), ExecutorError> {
        if let Transport::Driver { driver, events } = &self.transport {
            println!(
                "example-executor {}: registering as {} (executor driver)",
                self.executor_id, driver.pid
            );
            let gone = driver.agent_gone();
            let mut events = events.lock().await;
            loop {
                let event = tokio::select! {
                    event = events.recv() => event,
                    _ = gone.cancelled() => None,
                };
                let Some(event) = event else { break };
                if event.kind == EventType::Shutdown {
                    println!("example-executor {}: SHUTDOWN", self.executor_id);
                    self.kill_all().await;
                    return Ok(());
                }
                self.clone().handle(event).await;
            }
            println!("example-executor {}: the agent is gone", self.executor_id);
            self.kill_all().await;
            return Ok(());
        }
        let url = match &self.transport {
            Transport::Http { url, .. } => url.clone(),
            Transport::Driver { .. } => unreachable!("handled above"),
        };
        let subscribe = Call {
            subscribe: Some(Subscribe::default()),
            ..self.call(CallType::Subscribe)
        };
        let response = self.post(&subscribe).await?;
        println!("example-executor {}: subscribed to {url}", self.executor_id);
        let mut body = response.bytes_stream();
        let mut decoder = Decoder::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(ExecutorError::SubscriptionBroken)?;
            for record in decoder.feed(&chunk)? {
                let event: Event =
                    serde_json::from_slice(&record).map_err(ExecutorError::UnreadableEvent)?;
                if event.kind == EventType::Shutdown {
                    println!("example-executor {}: SHUTDOWN", self.executor_id);
                    self.kill_all().await;
                    return Ok(());
                }
                self.clone().handle(event).await;
            }
        }
        println!("example-executor {}: subscription ended", self.executor_id);
        self.kill_all().await;
        Ok(())
    }

    async fn handle(self: Arc<Self>, event: Event) {
        match event.kind {
            EventType::Launch => {
                if let Some(launch) = event.launch {
                    tokio::spawn(self.run_task(launch.task));
                }
            }
            EventType::Kill => {
                if let Some(kill) = event.kill {
                    let grace = kill
                        .kill_policy
                        .and_then(|p| p.grace_period)
                        .map(|g| Duration::from_nanos(g.nanoseconds.max(0) as u64))
                        .unwrap_or(DEFAULT_KILL_GRACE);
                    let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(kill_tx) = tasks.get(&kill.task_id) {
                        let _ = kill_tx.send(grace);
                    }
                }
            }
            EventType::Message => {
                if let Some(message) = event.message {
                    let text = b64()
                        .decode(&message.data)
                        .map(|d| String::from_utf8_lossy(&d).into_owned())
                        .unwrap_or_default();
                    println!("example-executor {}: message '{text}'", self.executor_id);
                    let reply = Call {
                        message: Some(Message {
                            data: b64().encode(format!("echo:{text}")),
                        }),
                        ..self.call(CallType::Message)
                    };
                    if let Err(e) = self.send(&reply).await {
                        eprintln!(
                            "example-executor: cannot answer the message: {}",
                            error_chain(&e)
                        );
                    }
                }
            }
            EventType::Error => {
                let message = event.error.map(|e| e.message).unwrap_or_default();
                eprintln!(
                    "example-executor {}: ERROR from the agent: {message}",
                    self.executor_id
                );
            }
            // SUBSCRIBED, ACKNOWLEDGED (updates are not resent: no re-subscription) and
            // HEARTBEAT need nothing.
            _ => {}
        }
    }

    async fn update(&self, task_id: &TaskId, state: TaskState, message: &str) {
        let mut status = TaskStatus::new(task_id.clone(), state);
        status.source = Some(source::EXECUTOR.into());
        status.message = Some(message.into());
        status.executor_id = Some(self.executor_id.clone());
        status.uuid = Some(b64().encode(uuid::Uuid::new_v4().as_bytes()));
        let call = Call {
            update: Some(Update { status }),
            ..self.call(CallType::Update)
        };
        if let Err(e) = self.send(&call).await {
            eprintln!(
                "example-executor: cannot send {state} for {task_id}: {}",
                error_chain(&e)
            );
        }
    }

    async fn run_task(self: Arc<Self>, task: TaskInfo) {
        let task_id = task.task_id.clone();
        let command = task
            .data
            .as_deref()
            .and_then(|d| b64().decode(d).ok())
            .map(|d| String::from_utf8_lossy(&d).into_owned());
        let Some(command) = command.filter(|c| !c.trim().is_empty()) else {
            let why =
                "example-executor runs the task's `data` as a shell command; this task has none";
            self.update(&task_id, TaskState::Failed, why).await;
            return;
        };
        let (kill_tx, mut kill_rx) = mpsc::unbounded_channel();
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(task_id.clone(), kill_tx);
        let spawned = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&command)
            .env("MESOS_TASK_ID", &task_id.value)
            // In the executor's own process group, which the agent kills when the executor
            // ends however it ends (as Mesos destroys an executor's container): no task
            // outlives its executor.
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                self.forget(&task_id);
                self.update(&task_id, TaskState::Failed, &format!("cannot start: {e}"))
                    .await;
                return;
            }
        };
        let pid = child.id().and_then(|p| i32::try_from(p).ok());
        // `sh -c` runs a simple command in place (exec), so the signal reaches it.
        self.update(&task_id, TaskState::Running, "running").await;
        let (state, message) = tokio::select! {
            exit = child.wait() => match exit {
                Ok(s) if s.success() => (TaskState::Finished, "Command exited with status 0".to_string()),
                Ok(s) => match s.code() {
                    Some(code) => (TaskState::Failed, format!("Command exited with status {code}")),
                    None => (TaskState::Failed, format!("Command terminated by signal {}", s.signal().unwrap_or(0))),
                },
                Err(e) => (TaskState::Failed, format!("cannot wait for the command: {e}")),
            },
            grace = kill_rx.recv() => {
                signal_task(pid, libc::SIGTERM);
                let grace = grace.unwrap_or(Duration::ZERO);
                if tokio::time::timeout(grace, child.wait()).await.is_err() {
                    signal_task(pid, libc::SIGKILL);
                    let _ = child.wait().await;
                }
                (TaskState::Killed, "Command was killed".to_string())
            }
        };
        // Reported before it is forgotten, so `kill_all` waits for the report.
        self.update(&task_id, state, &message).await;
        self.forget(&task_id);
    }

    fn forget(&self, task_id: &TaskId) {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(task_id);
    }

    /// Kills every running task at once and waits (briefly) for their TASK_KILLED to go out.
    async fn kill_all(&self) {
        for kill in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            let _ = kill.send(Duration::ZERO);
        }
        for _ in 0..200 {
            if self
                .tasks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The last update's request is on its way; give it a moment to be answered.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn signal_task(pid: Option<i32>, signal: i32) {
    if let Some(pid) = pid.filter(|p| *p > 0) {
        // SAFETY: kill(2) on the task's own (positive) pid.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}
