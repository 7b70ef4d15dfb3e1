//! The checks of Mesos's task validation (`master/validation.cpp`) that matter for the tasks
//! mmrun runs. A task that fails one ends TASK_ERROR (`REASON_TASK_INVALID`) with the error's
//! text as its message: Mesos's own words, which frameworks and tests match on.

use super::model::MasterCore;
use crate::mesos::executor::{ExecutorInfo, ExecutorType};
use crate::mesos::health_check::HealthCheckError;
use crate::mesos::ids::{AgentId, FrameworkId, TaskId};
use crate::mesos::resources::Resources;
use crate::mesos::task::TaskInfo;
use crate::mesos::values::InvalidValue;

/// Why a task of a LAUNCH is refused; its text is the TASK_ERROR's message.
#[derive(Debug, thiserror::Error)]
pub(super) enum TaskError {
    #[error("Task ID must not be empty")]
    NoId,
    #[error("Task has duplicate ID: {0}")]
    DuplicateId(TaskId),
    #[error("Task uses invalid agent: {task} (the offer is for {offer})")]
    WrongAgent { task: AgentId, offer: AgentId },
    #[error("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")]
    CommandXorExecutor,
    #[error("Task uses invalid health check: {0}")]
    HealthCheck(#[source] HealthCheckError),
    #[error(transparent)]
    Executor(#[from] ExecutorError),
    #[error("Executor uses invalid resources: {0}")]
    ExecutorResources(#[source] InvalidValue),
    #[error("Task uses invalid resources: {0}")]
    Resources(#[source] InvalidValue),
    #[error("Task uses no resources")]
    NoResources,
    /// Both are shown as Mesos shows them (`to_legacy_object`).
    #[error(
        "Total resources {required} required by task and its executor is more than available {available}"
    )]
    ExecutorTaskTooBig { required: String, available: String },
    #[error("Command task must have a 'command.value'")]
    NoCommandValue,
    #[error("Task uses more resources {required} than available {available}")]
    TooBig { required: String, available: String },
}

/// Why a LAUNCH's executor is refused (Mesos's `executor::internal` checks).
#[derive(Debug, thiserror::Error)]
pub(super) enum ExecutorError {
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("ExecutorInfo's 'shutdown_grace_period' must be non-negative")]
    NegativeGracePeriod,
    #[error("'ExecutorInfo.framework_id' must be set")]
    NoFrameworkId,
    #[error("ExecutorInfo has an invalid FrameworkID (Actual: {actual} vs Expected: {expected})")]
    WrongFrameworkId {
        actual: FrameworkId,
        expected: FrameworkId,
    },
    /// Both as JSON, as Mesos prints them.
    #[error(
        "ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID).\nExisting ExecutorInfo:\n{existing}\nExecutorInfo:\n{given}"
    )]
    Incompatible { existing: String, given: String },
    #[error("'ExecutorInfo.type' must be 'CUSTOM'")]
    NotCustom,
    #[error("'ExecutorInfo.command' must be set")]
    NoCommand,
}

/// An id Mesos's `common::validation::validateID` refuses.
#[derive(Debug, thiserror::Error)]
pub(super) enum IdError {
    #[error("ID must not be empty")]
    Empty,
    #[error("ID must not be greater than 255 characters")]
    TooLong,
    #[error("'{0}' is disallowed")]
    Disallowed(String),
    #[error("'{0}' contains invalid characters")]
    InvalidCharacters(String),
}

/// The task's resources (with its new executor's) if it may launch on `agent_id` out of `pool`.
pub(super) fn validate_task(
    core: &MasterCore,
    framework_id: &FrameworkId,
    agent_id: &AgentId,
    pool: &Resources,
    task: &TaskInfo,
) -> Result<Resources, TaskError> {
    let framework = &core.frameworks[framework_id];
    if task.task_id.value.is_empty() {
        return Err(TaskError::NoId);
    }
    if framework.tasks.contains_key(&task.task_id)
        || framework.unreachable_tasks.contains_key(&task.task_id)
    {
        return Err(TaskError::DuplicateId(task.task_id.clone()));
    }
    if &task.agent_id != agent_id {
        return Err(TaskError::WrongAgent {
            task: task.agent_id.clone(),
            offer: agent_id.clone(),
        });
    }
    if task.command.is_some() == task.executor.is_some() {
        return Err(TaskError::CommandXorExecutor);
    }
    if let Some(check) = &task.health_check {
        check.validate().map_err(TaskError::HealthCheck)?;
    }
    let mut total = Resources::new(task.resources.iter().cloned());
    if let Some(executor) = &task.executor {
        let agent = core.agents.get(agent_id);
        let running = agent.and_then(|a| {
            a.executors
                .get(&(framework_id.clone(), executor.executor_id.clone()))
        });
        validate_executor(executor, framework_id, running)?;
        for r in &executor.resources {
            r.validate().map_err(TaskError::ExecutorResources)?;
        }
        // A new executor's resources come out of this offer too; a running one has its own.
        if running.is_none() {
            total = total.add(&Resources::new(executor.resources.iter().cloned()));
        }
    }
    for r in &task.resources {
        r.validate().map_err(TaskError::Resources)?;
    }
    if Resources::new(task.resources.iter().cloned()).is_empty() {
        return Err(TaskError::NoResources);
    }
    let Some(command) = task.command.as_ref() else {
        if !pool.contains(&total) {
            return Err(TaskError::ExecutorTaskTooBig {
                required: total.to_legacy_object().to_string(),
                available: pool.to_legacy_object().to_string(),
            });
        }
        return Ok(total);
    };
    let is_docker = task.container.as_ref().is_some_and(|c| c.is_docker());
    if command.value.as_deref().unwrap_or("").is_empty() && !is_docker {
        return Err(TaskError::NoCommandValue);
    }
    if !pool.contains(&total) {
        return Err(TaskError::TooBig {
            required: total.to_legacy_object().to_string(),
            available: pool.to_legacy_object().to_string(),
        });
    }
    Ok(total)
}

/// Mesos's executor checks for a LAUNCH (`master/validation.cpp`, `executor::internal`), in its
/// order. `running` is the executor of that id already on the agent, if any.
fn validate_executor(
    executor: &ExecutorInfo,
    framework_id: &FrameworkId,
    running: Option<&ExecutorInfo>,
) -> Result<(), ExecutorError> {
    validate_id(&executor.executor_id.value)?;
    if let Some(grace) = &executor.shutdown_grace_period
        && grace.nanoseconds < 0
    {
        return Err(ExecutorError::NegativeGracePeriod);
    }
    match &executor.framework_id {
        None => return Err(ExecutorError::NoFrameworkId),
        Some(id) if id != framework_id => {
            return Err(ExecutorError::WrongFrameworkId {
                actual: id.clone(),
                expected: framework_id.clone(),
            });
        }
        Some(_) => {}
    }
    if let Some(running) = running
        && running != executor
    {
        return Err(ExecutorError::Incompatible {
            existing: serde_json::to_string(running).unwrap_or_default(),
            given: serde_json::to_string(executor).unwrap_or_default(),
        });
    }
    if executor.kind.is_some_and(|k| k != ExecutorType::Custom) {
        return Err(ExecutorError::NotCustom);
    }
    if executor.command.is_none() {
        return Err(ExecutorError::NoCommand);
    }
    Ok(())
}

/// Mesos's `common::validation::validateID`.
fn validate_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > 255 {
        return Err(IdError::TooLong);
    }
    if id == "." || id == ".." {
        return Err(IdError::Disallowed(id.into()));
    }
    if id.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(IdError::InvalidCharacters(id.into()));
    }
    Ok(())
}
