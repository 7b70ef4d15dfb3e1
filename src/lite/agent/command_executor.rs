//! Runs command tasks as Mesos's command executor does: `/bin/sh -c <value>` when `shell` is
//! true, `value` with `arguments` as argv otherwise; in a per-task sandbox with `stdout` and
//! `stderr` files; with the task's environment plus the executor variables Mesos sets.
//! Each task gets its own process group so a kill reaches every process it started.
//! First the task's `CommandInfo.uris` are fetched into the sandbox (`fetcher`), as Mesos does
//! while launching the container; then DOCKER tasks on an agent with the Docker containerizer
//! go to `docker_tasks`.

use super::fetcher;
use super::health::{self, CheckContext};
use super::updates::complete_task;
use super::{AgentCore, AgentShared, RunningTask, TaskKey};
use crate::errors::error_chain;
use crate::lite::protocol::RunTask;
use crate::mesos::container::ContainerStatus;
use crate::mesos::framework::capability;
use crate::mesos::health_check::CheckPlan;
use crate::mesos::ids::ContainerId;
use crate::mesos::task::{KillPolicy, TaskState, TaskStatus, reason, source};
use crate::process::{kill_group, signal_name};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Mesos's default `KillPolicy.grace_period` for command tasks.
const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);

impl AgentShared {
    pub(super) fn run_task(self: &Arc<Self>, run: RunTask) {
        if let Some(info) = run.task.executor.clone() {
            return self.run_executor_task(run, info);
        }
        let key: TaskKey = (run.framework_id.clone(), run.task.task_id.clone());
        let container_id = ContainerId::new(uuid::Uuid::new_v4().to_string());
        let (kill_tx, kill_rx) = mpsc::unbounded_channel();
        {
            let mut core = self.core();
            if core.tasks.contains_key(&key) {
                tracing::warn!(
                    "task {} of {} is already running here; ignoring the duplicate",
                    key.1,
                    key.0
                );
                return;
            }
            // From the task: this agent may not have read its registration answer yet.
            let agent_id = run.task.agent_id.value.clone();
            let sandbox = self
                .config
                .work_dir
                .join("slaves")
                .join(agent_id)
                .join("frameworks")
                .join(&run.framework_id.value)
                .join("executors")
                .join(&run.task.task_id.value)
                .join("runs")
                .join(&container_id.value);
            core.frameworks
                .insert(run.framework_id.clone(), run.framework_info.clone());
            // The framework is back (the master shut it down here for a while, e.g. when this
            // agent returned after being unreachable): its updates go out again.
            core.shut_down.remove(&run.framework_id);
            core.tasks.insert(
                key.clone(),
                RunningTask {
                    framework_id: run.framework_id.clone(),
                    info: run.task.clone(),
                    state: TaskState::Staging,
                    statuses: vec![],
                    container_id: container_id.clone(),
                    sandbox,
                    pid: None,
                    container: None,
                    kill: kill_tx,
                    executor: None,
                },
            );
        }
        let agent = self.clone();
        let killing_state = run
            .framework_info
            .has_capability(capability::TASK_KILLING_STATE);
        crate::node_log::spawn(async move { supervise(agent, key, killing_state, kill_rx).await });
    }

    /// Kills a task with `grace` (the KILL's own policy), else the task's `kill_policy`, else
    /// 3 s: the order in which Mesos's command executor picks the grace period.
    /// The grace period of a kill the agent decides on (a failing health check): the task's
    /// `kill_policy`, else 3 s.
    fn task_grace_period(&self, key: &TaskKey) -> Duration {
        self.core()
            .tasks
            .get(key)
            .and_then(|t| grace_period(t.info.kill_policy.as_ref()))
            .unwrap_or(DEFAULT_KILL_GRACE)
    }

    pub(super) fn kill_task(&self, key: &TaskKey, grace: Option<Duration>) -> bool {
        let core = self.core();
        match core.tasks.get(key) {
            // A custom executor's task is killed by its executor (`kill_executor_task`).
            Some(task) if task.executor.is_some() => false,
            Some(task) if !task.state.is_terminal() => {
                let grace = grace
                    .or_else(|| grace_period(task.info.kill_policy.as_ref()))
                    .unwrap_or(DEFAULT_KILL_GRACE);
                let _ = task.kill.send(grace);
                true
            }
            _ => false,
        }
    }

    /// Kills every task of a framework, at once (the framework is gone), and forgets its
    /// pending updates. As in Mesos, nothing more is sent for it: its tasks complete as soon as
    /// they are terminal (see `send_update`), so they are not reported on re-registration and
    /// their ids can be launched again.
    pub(super) fn shutdown_framework(
        self: &Arc<Self>,
        framework_id: &crate::mesos::ids::FrameworkId,
    ) {
        let keys: Vec<TaskKey> = {
            let mut core = self.core();
            core.shut_down.insert(framework_id.clone());
            core.updates.retain(|key, _| &key.0 != framework_id);
            let keys: Vec<TaskKey> = core
                .tasks
                .keys()
                .filter(|k| &k.0 == framework_id)
                .cloned()
                .collect();
            // Tasks of custom executors end with their executor, shut down below.
            // Those already terminal were only waiting for acknowledgements that cannot come.
            for key in &keys {
                if core.tasks[key].state.is_terminal() {
                    complete_task(&mut core, key);
                }
            }
            keys
        };
        for key in keys {
            self.kill_task(&key, Some(Duration::ZERO));
        }
        self.shutdown_framework_executors(framework_id);
    }
}

/// A `KillPolicy`'s grace period, if it has one (negative counts as none at all).
pub(super) fn grace_period(policy: Option<&KillPolicy>) -> Option<Duration> {
    policy
        .and_then(|p| p.grace_period.as_ref())
        .map(|g| Duration::from_nanos(g.nanoseconds.max(0) as u64))
}

fn status(key: &TaskKey, state: TaskState, message: impl Into<String>) -> TaskStatus {
    let mut s = TaskStatus::new(key.1.clone(), state);
    s.message = Some(message.into());
    s
}

async fn supervise(
    agent: Arc<AgentShared>,
    key: TaskKey,
    killing_state: bool,
    mut kill_rx: mpsc::UnboundedReceiver<Duration>,
) {
    if !fetch_uris(&agent, &key, &mut kill_rx).await {
        return;
    }
    agent.send_update(&key, status(&key, TaskState::Starting, "Starting task"));
    if agent.config.runs_docker_tasks() && is_docker_task(&agent, &key) {
        return super::docker_tasks::supervise(agent, key, killing_state, kill_rx).await;
    }
    let prepared = prepare(&agent, &key).and_then(|mut p| {
        p.command
            .spawn()
            .map(|child| (child, p))
            .map_err(CommandLaunchError::Spawn)
    });
    let (mut child, prepared) = match prepared {
        Ok(started) => started,
        Err(error) => {
            let mut s = status(&key, TaskState::Failed, error_chain(&error));
            s.reason = Some(reason::COMMAND_EXECUTOR_FAILED.into());
            agent.send_update(&key, s);
            return;
        }
    };
    let pid = child.id();
    // Registered until this function ends, after the group was killed and the child reaped.
    let _watched = crate::process::guard::watch_group(pid);
    let marker = prepared.marker.clone();
    let _marked = crate::process::guard::watch_marker(&marker);
    {
        let mut core = agent.core();
        if let Some(task) = core.tasks.get_mut(&key) {
            task.pid = pid;
        }
        // Started just as the agent was paused (`Agent::pause` froze the tasks it knew of,
        // under this same lock): freeze this one too.
        if agent.faults.current().paused {
            kill_group(pid, libc::SIGSTOP);
        }
    }
    let mut running = status(&key, TaskState::Running, "Command started");
    running.container_status = Some(ContainerStatus {
        container_id: Some(prepared.container_id),
        executor_pid: pid,
        ..ContainerStatus::default()
    });
    agent.send_update(&key, running.clone());
    // Checked from TASK_RUNNING on, as Mesos's command executor starts its health checker.
    let mut health = prepared
        .health_check
        .map(|(check, context)| health::spawn(key.1.value.clone(), check, context));

    let mut killed_by_health_check = false;
    let mut final_status = loop {
        tokio::select! {
            exit = child.wait() => {
                kill_group(pid, libc::SIGKILL);
                break match exit {
                    Ok(s) if s.success() => status(&key, TaskState::Finished, "Command exited with status 0"),
                    Ok(s) => match (s.code(), s.signal()) {
                        (Some(code), _) => status(&key, TaskState::Failed, format!("Command exited with status {code}")),
                        (None, Some(sig)) => status(&key, TaskState::Failed, format!("Command terminated with signal {}", signal_name(sig))),
                        _ => status(&key, TaskState::Failed, "Command exited"),
                    },
                    Err(e) => status(&key, TaskState::Failed, format!("Failed to wait for the command: {e}")),
                };
            }
            grace = kill_rx.recv() => {
                health = None;
                let grace = grace.unwrap_or(Duration::ZERO);
                break kill_and_reap(&agent, &key, &mut child, pid, grace, killing_state).await;
            }
            verdict = next_verdict(&mut health) => {
                let Some(verdict) = verdict else {
                    health = None;
                    continue;
                };
                // The last TASK_RUNNING, with its health: what Mesos's command executor sends.
                let mut update = running.clone();
                update.healthy = Some(verdict.healthy);
                update.reason = Some(reason::TASK_HEALTH_CHECK_STATUS_UPDATED.into());
                agent.send_update(&key, update);
                if verdict.kill {
                    health = None;
                    killed_by_health_check = true;
                    let grace = agent.task_grace_period(&key);
                    break kill_and_reap(&agent, &key, &mut child, pid, grace, killing_state).await;
                }
            }
        }
    };
    if killed_by_health_check {
        final_status.healthy = Some(false);
    }
    drop(health);
    // What the task started in a session or group of its own ends with it, as Mesos's
    // launcher destroys the whole container (the group kill above cannot reach it).
    crate::process::kill_marked(&marker);
    agent.send_update(&key, final_status);
}

/// The next verdict of the task's health checker; never, without one.
async fn next_verdict(
    health: &mut Option<mpsc::UnboundedReceiver<health::Verdict>>,
) -> Option<health::Verdict> {
    match health {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// SIGTERM to the task's group (after TASK_KILLING for frameworks that take it), SIGKILL after
/// `grace`; the TASK_KILLED that says how it ended.
async fn kill_and_reap(
    agent: &AgentShared,
    key: &TaskKey,
    child: &mut tokio::process::Child,
    pid: Option<u32>,
    grace: Duration,
    killing_state: bool,
) -> TaskStatus {
    if killing_state {
        agent.send_update(key, status(key, TaskState::Killing, "Killing task"));
    }
    kill_group(pid, libc::SIGTERM);
    let exit = match tokio::time::timeout(grace, child.wait()).await {
        Ok(exit) => exit,
        Err(_) => {
            kill_group(pid, libc::SIGKILL);
            child.wait().await
        }
    };
    kill_group(pid, libc::SIGKILL);
    let how = match exit.ok().and_then(|s| s.signal()) {
        Some(sig) => format!("Command terminated with signal {}", signal_name(sig)),
        None => "Command was killed".into(),
    };
    status(key, TaskState::Killed, how)
}

/// Fetches the task's `CommandInfo.uris` into its sandbox. In Mesos the fetcher runs while the
/// container is launched, before the executor exists: a failed fetch is the task's first
/// update (TASK_FAILED from the agent), and a kill meanwhile ends it without any other.
/// Returns whether the task goes on.
async fn fetch_uris(
    agent: &Arc<AgentShared>,
    key: &TaskKey,
    kill_rx: &mut mpsc::UnboundedReceiver<Duration>,
) -> bool {
    let (uris, sandbox, container_id) = {
        let core = agent.core();
        let Some(task) = core.tasks.get(key) else {
            return false;
        };
        let uris = task
            .info
            .command
            .as_ref()
            .map(|c| c.uris.clone())
            .unwrap_or_default();
        (uris, task.sandbox.clone(), task.container_id.clone())
    };
    if uris.is_empty() {
        return true;
    }
    let mut ended = tokio::select! {
        fetched = fetcher::fetch_uris(&uris, &sandbox) => match fetched {
            Ok(()) => return true,
            Err(e) => {
                let mut s = status(key, TaskState::Failed, format!(
                    "Failed to launch container: Failed to fetch all URIs for container '{container_id}': {}",
                    error_chain(&e)
                ));
                s.reason = Some(reason::CONTAINER_LAUNCH_FAILED.into());
                s
            }
        },
        _ = kill_rx.recv() => {
            let mut s = status(key, TaskState::Killed, "Killed before delivery to the executor");
            s.reason = Some(reason::TASK_KILLED_DURING_LAUNCH.into());
            s
        }
        // A crash: the fetch stops, nothing is said.
        _ = agent.stopped.cancelled() => return false,
    };
    ended.source = Some(source::AGENT.into());
    agent.send_update(key, ended);
    false
}

/// Whether the task asks for a Docker container (`container.type: DOCKER`).
fn is_docker_task(agent: &AgentShared, key: &TaskKey) -> bool {
    agent
        .core()
        .tasks
        .get(key)
        .is_some_and(|t| t.info.container.as_ref().is_some_and(|c| c.is_docker()))
}

/// Why a command task did not start. Rendered by `error_chain`, it is the message of the
/// TASK_FAILED the task earns.
#[derive(Debug, thiserror::Error)]
enum CommandLaunchError {
    #[error("the task was removed before it started")]
    TaskGone,
    #[error(
        "Docker containerizer is not enabled on this agent (start it with --containerizers=docker,mesos)"
    )]
    NoDocker,
    #[error("the task has no command")]
    NoCommand,
    #[error("Failed to create sandbox {}", .sandbox.display())]
    Sandbox {
        sandbox: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error("Failed to create {file}")]
    OutputFile {
        file: &'static str,
        #[source]
        cause: std::io::Error,
    },
    #[error("Failed to launch the command")]
    Spawn(#[source] std::io::Error),
}

/// Builds the command: sandbox, stdout/stderr files, environment, process group.
fn prepare(agent: &Arc<AgentShared>, key: &TaskKey) -> Result<Prepared, CommandLaunchError> {
    let core = agent.core();
    let task = core.tasks.get(key).ok_or(CommandLaunchError::TaskGone)?;
    if task.info.container.as_ref().is_some_and(|c| c.is_docker()) {
        return Err(CommandLaunchError::NoDocker);
    }
    let command = task
        .info
        .command
        .clone()
        .ok_or(CommandLaunchError::NoCommand)?;
    let sandbox: PathBuf = task.sandbox.clone();
    std::fs::create_dir_all(&sandbox).map_err(|cause| CommandLaunchError::Sandbox {
        sandbox: sandbox.clone(),
        cause,
    })?;
    // Appended to: the fetcher's log is already in `stderr`.
    let open = |file: &'static str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(sandbox.join(file))
            .map_err(|cause| CommandLaunchError::OutputFile { file, cause })
    };
    let (stdout, stderr) = (open("stdout")?, open("stderr")?);
    let mut cmd = crate::process::command_line(&command);
    let (ip, port) = agent.advertised();
    let sandbox_text = sandbox.display().to_string();
    let mut env: Vec<(String, String)> = [
        ("MESOS_SANDBOX", sandbox_text.clone()),
        ("MESOS_DIRECTORY", sandbox_text),
        ("MESOS_TASK_ID", key.1.value.clone()),
        ("MESOS_FRAMEWORK_ID", key.0.value.clone()),
        ("MESOS_EXECUTOR_ID", key.1.value.clone()),
        ("MESOS_AGENT_ENDPOINT", format!("{ip}:{port}")),
        ("MESOS_SLAVE_ID", task.info.agent_id.value.clone()),
        (
            "MESOS_CONTAINER_NAME",
            format!("mesos-{}", task.container_id),
        ),
        ("LIBPROCESS_IP", ip.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    env.extend(
        command
            .environment
            .iter()
            .flat_map(|e| &e.variables)
            .map(|v| (v.name.clone(), v.value.clone())),
    );
    cmd.current_dir(&sandbox)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .envs(env.iter().cloned());
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let health_check = match task.info.health_check.as_ref().map(|c| c.validate()) {
        Some(Ok(check)) => Some((check, CheckContext { sandbox, env })),
        // The master refuses an invalid check; one that slipped through is not run.
        Some(Err(e)) => {
            tracing::warn!("task {}: its health check is not run: {e}", key.1);
            None
        }
        None => None,
    };
    Ok(Prepared {
        command: cmd,
        container_id: task.container_id.clone(),
        health_check,
        marker: sandbox_marker(&task.sandbox),
    })
}

/// What every process of a task or executor inherits and nothing else has: how the ones that
/// left its process group are found (`crate::process::kill_marked`).
pub(super) fn sandbox_marker(sandbox: &std::path::Path) -> String {
    format!("MESOS_SANDBOX={}", sandbox.display())
}

/// A command task ready to start.
struct Prepared {
    command: tokio::process::Command,
    container_id: ContainerId,
    /// Its health check, with what a COMMAND check runs in.
    health_check: Option<(CheckPlan, CheckContext)>,
    /// `MESOS_SANDBOX=<sandbox>`, inherited by all it starts.
    marker: String,
}

/// Kills every task and waits for them to end: with a grace period (graceful stop) or at once.
/// A crash leaves DOCKER tasks to `docker_tasks::remove_all`.
pub async fn kill_all(agent: &Arc<AgentShared>, grace: Option<Duration>) {
    let keys: Vec<TaskKey> = agent.core().tasks.keys().cloned().collect();
    match grace {
        // A crash: SIGKILL only, and no waiting for states that a stopped agent no longer
        // reports. The graceful kill path would report TASK_KILLING/KILLED.
        None => return kill_all_now(agent),
        Some(grace) => {
            for key in &keys {
                agent.kill_task(key, Some(grace));
            }
        }
    }
    let deadline =
        std::time::Instant::now() + grace.unwrap_or(Duration::ZERO) + Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        let running = agent
            .core()
            .tasks
            .values()
            .any(|t| !t.state.is_terminal() && (t.pid.is_some() || t.container.is_some()));
        if !running {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Sends `signal` to every running task's process group: SIGSTOP when the agent is paused and
/// SIGCONT when it is thawed, the in-process stand-in for the cgroup freezer behind
/// `docker pause`. SIGKILL still ends a stopped process at once, so a paused agent can crash.
/// Called with the agent's lock held, which `supervise` also takes to record a new task's
/// process, so no task escapes a pause.
pub(super) fn signal_tasks(core: &AgentCore, signal: i32) {
    for task in core.tasks.values() {
        if !task.state.is_terminal() {
            kill_group(task.pid, signal);
        }
    }
    for executor in core.executors.values() {
        kill_group(executor.pid, signal);
    }
}

/// SIGKILLs every running task's process group, synchronously (crash, drop). An ended task's
/// group is gone (its supervisor killed it) and its pid may be another process's by now.
pub fn kill_all_now(agent: &AgentShared) {
    for task in agent.core().tasks.values() {
        if !task.state.is_terminal() {
            kill_group(task.pid, libc::SIGKILL);
            if task.pid.is_some() {
                crate::process::kill_marked(&sandbox_marker(&task.sandbox));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lite::agent::{Agent, AgentConfig};
    use crate::mesos::ids::FrameworkId;

    /// `kill_all_now` must not signal the process group recorded for a task that has ended:
    /// that pid may belong to an unrelated process by now.
    #[tokio::test]
    async fn kill_all_now_spares_the_process_groups_of_ended_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // No master listens there: the agent never registers, which does not matter here.
        let config = AgentConfig::in_process("127.0.0.1:9".parse().unwrap(), dir.path().into());
        let agent = Agent::start_on(listener, config, None).unwrap();
        // A process group of its own, standing for whoever got an ended task's pid.
        let mut bystander = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let info: crate::mesos::task::TaskInfo = serde_json::from_value(serde_json::json!(
            {"name": "t", "task_id": {"value": "t"}, "agent_id": {"value": "a"}}
        ))
        .unwrap();
        let framework_id = FrameworkId::new("f");
        let (kill, _) = mpsc::unbounded_channel();
        agent.shared.core().tasks.insert(
            (framework_id.clone(), info.task_id.clone()),
            RunningTask {
                framework_id,
                info,
                state: TaskState::Finished,
                statuses: vec![],
                container_id: ContainerId::new("c"),
                sandbox: dir.path().into(),
                pid: Some(bystander.id()),
                container: None,
                kill,
                executor: None,
            },
        );
        kill_all_now(&agent.shared);
        std::thread::sleep(Duration::from_millis(100));
        let alive = bystander.try_wait().unwrap().is_none();
        let _ = bystander.kill();
        let _ = bystander.wait();
        agent.crash().await;
        assert!(alive, "an ended task's process group was signalled");
    }
}
