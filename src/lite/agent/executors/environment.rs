//! What an executor is told: Mesos's `executorEnvironment` (`src/slave/slave.cpp`).

use crate::flags::format_duration;
use crate::lite::agent::{AgentCore, AgentShared, CustomExecutor, ExecutorKey};

/// The agent id the executor's tasks were launched with (the agent's own otherwise).
pub(super) fn executor_agent_id(core: &AgentCore, key: &ExecutorKey) -> String {
    core.tasks
        .values()
        .find(|t| t.framework_id == key.0 && t.executor.as_ref() == Some(&key.1))
        .map(|t| t.info.agent_id.value.clone())
        .or_else(|| core.agent_id.as_ref().map(|a| a.value.clone()))
        .unwrap_or_default()
}

/// The environment Mesos's agent gives executors (`executorEnvironment` in
/// `src/slave/slave.cpp`), then the command's own variables (which win). `directory` is the
/// sandbox on the agent's side, `sandbox` where the executor sees it. `LIBPROCESS_IP` is
/// where the executor runs: the caller's.
pub(super) fn executor_environment(
    agent: &AgentShared,
    core: &AgentCore,
    key: &ExecutorKey,
    executor: &CustomExecutor,
    directory: &str,
    sandbox: &str,
) -> Vec<(String, String)> {
    let (ip, port) = agent.advertised();
    let checkpoint = core.frameworks.get(&key.0).is_some_and(|f| f.checkpoint);
    let mut env: Vec<(String, String)> = [
        ("LIBPROCESS_PORT", "0".to_string()),
        ("MESOS_FRAMEWORK_ID", key.0.value.clone()),
        ("MESOS_EXECUTOR_ID", key.1.value.clone()),
        ("MESOS_DIRECTORY", directory.to_string()),
        ("MESOS_SANDBOX", sandbox.to_string()),
        ("MESOS_SLAVE_ID", executor_agent_id(core, key)),
        ("MESOS_SLAVE_PID", agent.pid()),
        ("MESOS_AGENT_ENDPOINT", format!("{ip}:{port}")),
        (
            "MESOS_CHECKPOINT",
            (if checkpoint { "1" } else { "0" }).into(),
        ),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "0".into()),
        (
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
            format_duration(agent.executor_grace(executor)),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if checkpoint {
        env.push((
            "MESOS_RECOVERY_TIMEOUT".into(),
            format_duration(agent.config.recovery_timeout),
        ));
        env.push((
            "MESOS_SUBSCRIPTION_BACKOFF_MAX".into(),
            format_duration(agent.config.executor_reregistration_timeout),
        ));
    }
    let own = executor.info.command.iter().flat_map(|c| &c.environment);
    env.extend(
        own.flat_map(|e| &e.variables)
            .map(|v| (v.name.clone(), v.value.clone())),
    );
    env
}
