//! An executor whose `ExecutorInfo.container` is DOCKER, on an agent with the Docker
//! containerizer: its life here, its container in `docker_tasks/executor.rs`.

use super::environment::{executor_agent_id, executor_environment};
use super::{launch_failed, registration_timed_out};
use crate::errors::error_chain;
use crate::lite::agent::docker_tasks;
use crate::lite::agent::{AgentShared, ExecutorKey};
use crate::mesos::ids::ContainerId;
use crate::process::signal_name;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Runs an executor whose `ExecutorInfo.container` is DOCKER, as a sibling container (see
/// `docker_tasks/executor.rs`), from launch to exit, as `process::supervise` runs a process.
pub(super) async fn supervise(
    agent: Arc<AgentShared>,
    key: ExecutorKey,
    container_id: ContainerId,
    mut destroy: mpsc::UnboundedReceiver<()>,
) {
    if !agent.config.runs_docker_tasks() {
        let message = "Failed to launch container: Docker containerizer is not enabled on this agent (start it with --containerizers=docker,mesos)".to_string();
        return launch_failed(&agent, &key, &container_id, message);
    }
    let agent_id = executor_agent_id(&agent.core(), &key);
    let plan = match docker_tasks::executor_plan(&agent, &key, &agent_id) {
        Ok(plan) => plan,
        Err(e) => {
            let message = format!("Failed to launch container: {}", error_chain(&e));
            return launch_failed(&agent, &key, &container_id, message);
        }
    };
    let environment = |sandbox: &str| {
        let core = agent.core();
        match core.executors.get(&key) {
            Some(executor) => {
                let directory = executor.sandbox.display().to_string();
                executor_environment(&agent, &core, &key, executor, &directory, sandbox)
            }
            None => vec![],
        }
    };
    // Not cut short by a stop: a create cut short could leave a container nobody knows of.
    let launched = docker_tasks::ExecutorContainer::launch(&agent, &plan, environment).await;
    let container = match launched {
        Ok(container) => container,
        Err(error) => {
            docker_tasks::forget_container(&agent, &plan.name);
            return launch_failed(&agent, &key, &container_id, error_chain(&error));
        }
    };
    if let Some(e) = agent.core().executors.get_mut(&key) {
        e.pid = container.pid;
    }
    let registration = tokio::time::sleep(agent.config.executor_registration_timeout);
    tokio::pin!(registration);
    let mut registration_pending = true;
    let exit = loop {
        tokio::select! {
            exit = container.wait() => break Some(exit),
            Some(()) = destroy.recv() => {
                tracing::info!("killing executor container {} of framework {}", container.name, key.0);
                container.kill().await;
            }
            () = &mut registration, if registration_pending => {
                registration_pending = false;
                if registration_timed_out(&agent, &key) {
                    container.kill().await;
                }
            }
            // A crash (or a stop that gave up waiting), possibly while the container was
            // being created, after the agent's own sweep: remove it, say nothing.
            _ = agent.stopped.cancelled() => break None,
        }
    };
    container.finish(&agent).await;
    let Some(exit) = exit else {
        return;
    };
    let (status, how) = match exit {
        // A wait status, as for a process: exit codes above 128 are deaths by signal.
        Ok(code) if code > 128 && code < 160 => {
            let sig = (code - 128) as i32;
            (sig, format!("terminated with signal {}", signal_name(sig)))
        }
        Ok(code) => (
            ((code & 0xff) as i32) << 8,
            format!("exited with status {code}"),
        ),
        Err(e) => (-1, format!("was lost: {e}")),
    };
    agent.executor_terminated(&key, &container_id, status, &how);
}
