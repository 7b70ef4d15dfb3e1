//! An executor as a process group on the agent's host, in its sandbox (the usual case, and
//! the only one on agents without the Docker containerizer).

use super::environment::executor_environment;
use super::{launch_failed, registration_timed_out};
use crate::errors::error_chain;
use crate::lite::agent::command_executor::sandbox_marker;

use crate::lite::agent::{AgentShared, ExecutorKey};
use crate::mesos::ids::ContainerId;
use crate::process::{kill_group, signal_name};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs the executor's command from its start to its exit (its URIs are fetched already).
pub(super) async fn supervise(
    agent: Arc<AgentShared>,
    key: ExecutorKey,
    container_id: ContainerId,
    mut destroy: mpsc::UnboundedReceiver<()>,
) {
    let mut child = match prepare(&agent, &key)
        .and_then(|mut cmd| cmd.spawn().map_err(ExecutorLaunchError::Spawn))
    {
        Ok(child) => child,
        Err(error) => {
            let message = format!("Failed to launch container: {}", error_chain(&error));
            return launch_failed(&agent, &key, &container_id, message);
        }
    };
    let pid = child.id();
    // Registered until this function ends, after the group was killed and the child reaped:
    // should mmrun die, its guard kills the executor's process group.
    let _watched = crate::process::guard::watch_group(pid);
    let marker = agent
        .core()
        .executors
        .get(&key)
        .map(|e| sandbox_marker(&e.sandbox))
        .unwrap_or_default();
    let _marked = crate::process::guard::watch_marker(&marker);
    {
        let mut core = agent.core();
        if let Some(e) = core.executors.get_mut(&key) {
            e.pid = pid;
        }
        if agent.faults.current().paused {
            kill_group(pid, libc::SIGSTOP);
        }
    }
    let registration = tokio::time::sleep(agent.config.executor_registration_timeout);
    tokio::pin!(registration);
    let mut registration_pending = true;
    let exit = loop {
        tokio::select! {
            exit = child.wait() => break exit,
            Some(()) = destroy.recv() => {
                tracing::info!("killing executor {} of framework {}", key.1, key.0);
                kill_group(pid, libc::SIGKILL);
            }
            () = &mut registration, if registration_pending => {
                registration_pending = false;
                if registration_timed_out(&agent, &key) {
                    kill_group(pid, libc::SIGKILL);
                }
            }
        }
    };
    // Whatever the executor started goes with it, in its group or not.
    kill_group(pid, libc::SIGKILL);
    crate::process::kill_marked(&marker);
    let (status, how) = match exit {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => (s.into_raw(), format!("exited with status {code}")),
            (None, Some(sig)) => (
                s.into_raw(),
                format!("terminated with signal {}", signal_name(sig)),
            ),
            _ => (s.into_raw(), "exited".to_string()),
        },
        Err(e) => (-1, format!("could not be waited for: {e}")),
    };
    agent.executor_terminated(&key, &container_id, status, &how);
}

/// Why an executor's process did not start. Rendered by `error_chain` after "Failed to launch
/// container: ", it is the message of the TASK_FAILED its tasks earn.
#[derive(Debug, thiserror::Error)]
enum ExecutorLaunchError {
    #[error("the executor was removed before it started")]
    ExecutorGone,
    #[error("the executor has no command")]
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
    #[error("Failed to launch the executor")]
    Spawn(#[source] std::io::Error),
}

/// The executor's command in its sandbox, with the environment Mesos's agent gives executors
/// (`executorEnvironment` in `src/slave/slave.cpp`) and the command's own variables on top.
fn prepare(
    agent: &Arc<AgentShared>,
    key: &ExecutorKey,
) -> Result<tokio::process::Command, ExecutorLaunchError> {
    let core = agent.core();
    let executor = core
        .executors
        .get(key)
        .ok_or(ExecutorLaunchError::ExecutorGone)?;
    let command = executor
        .info
        .command
        .clone()
        .ok_or(ExecutorLaunchError::NoCommand)?;
    let sandbox: PathBuf = executor.sandbox.clone();
    std::fs::create_dir_all(&sandbox).map_err(|cause| ExecutorLaunchError::Sandbox {
        sandbox: sandbox.clone(),
        cause,
    })?;
    // Appended to: the fetcher's log is already in `stderr`.
    let open = |file: &'static str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(sandbox.join(file))
            .map_err(|cause| ExecutorLaunchError::OutputFile { file, cause })
    };
    let (stdout, stderr) = (open("stdout")?, open("stderr")?);
    let mut cmd = crate::process::command_line(&command);
    let sandbox_text = sandbox.display().to_string();
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.current_dir(&sandbox)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .env("LIBPROCESS_IP", agent.advertised().0)
        .envs(executor_environment(
            agent,
            &core,
            key,
            executor,
            &sandbox_text,
            &sandbox_text,
        ));
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    Ok(cmd)
}
