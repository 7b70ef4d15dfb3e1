//! A framework's methods: `launch`, `kill`, `teardown`, `await_task`, `task`, `tasks`.

use crate::framework::{AwaitError, Framework, TaskRecord, TaskRequest};
use crate::mesos::task::TaskState;
use crate::script::context::{ClusterCtx, ScriptResult, script_error};
use crate::script::values::Options;
use rhai::{Array, Dynamic, Engine, FuncRegistration, Map};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A script's handle to one framework (`Framework` in scripts).
#[derive(Clone)]
pub struct FrameworkHandle {
    pub cluster: Arc<ClusterCtx>,
    pub framework: Framework,
}

const DEFAULT_AWAIT: Duration = Duration::from_secs(30);

pub fn register(engine: &mut Engine) {
    FuncRegistration::new("launch")
        .with_params_info(["fw: Framework", "tasks: map | array", "()"])
        .with_comments([
            "/// Queues a task (a map) or tasks (an array of maps); each launches on the first offer that\n/// fits. Task options: `name` (required), `cmd` (required, run by /bin/sh -c), `cpus` (0.1),\n/// `mem` (32), `disk` (0), `env` (a map of environment variables), `docker` (an image).",
        ])
        .register_into_engine(engine, |f: &mut FrameworkHandle, tasks: Dynamic| -> ScriptResult<()> {
            let requests = task_requests(&tasks, "launch")?;
            f.framework.launch(requests);
            Ok(())
        });
    FuncRegistration::new("kill")
        .with_params_info(["fw: Framework", "name: string", "()"])
        .with_comments(["/// Asks the master to kill the task named `name` (it ends TASK_KILLED)."])
        .register_into_engine(
            engine,
            |f: &mut FrameworkHandle, name: &str| -> ScriptResult<()> {
                f.framework.kill(name).map_err(Into::into)
            },
        );
    FuncRegistration::new("teardown")
        .with_params_info(["fw: Framework", "()"])
        .with_comments(["/// Tears the framework down: its tasks are killed and it moves to completed frameworks."])
        .register_into_engine(engine, |f: &mut FrameworkHandle| {
            f.framework.teardown();
        });
    FuncRegistration::new("await_task")
        .with_params_info(["fw: Framework", "name: string", "state: string", "map"])
        .with_comments(["/// Waits until this framework's task `name` reaches `state`; see `Cluster.await_task`."])
        .register_into_engine(engine, |f: &mut FrameworkHandle, name: &str, state: &str| -> ScriptResult<Map> {
            await_in(&f.cluster, &f.framework, name, state, &Map::new())
        });
    FuncRegistration::new("await_task")
        .with_params_info([
            "fw: Framework",
            "name: string",
            "state: string",
            "options: map",
            "map",
        ])
        .with_comments([
            "/// As `await_task(name, state)`, with options: `timeout` (e.g. \"10s\").",
        ])
        .register_into_engine(
            engine,
            |f: &mut FrameworkHandle, name: &str, state: &str, options: Map| -> ScriptResult<Map> {
                await_in(&f.cluster, &f.framework, name, state, &options)
            },
        );
    FuncRegistration::new("task")
        .with_params_info(["fw: Framework", "name: string", "map"])
        .with_comments(["/// This framework's task `name` as a map, or `()` if it has none."])
        .register_into_engine(engine, |f: &mut FrameworkHandle, name: &str| -> Dynamic {
            match f.framework.task(name) {
                Some(t) => Dynamic::from_map(task_map(&f.cluster, &f.framework, &t)),
                None => Dynamic::UNIT,
            }
        });
    FuncRegistration::new("tasks")
        .with_params_info(["fw: Framework", "array"])
        .with_comments(["/// Every task this framework launched, as maps."])
        .register_into_engine(engine, |f: &mut FrameworkHandle| -> Array {
            f.framework
                .tasks()
                .iter()
                .map(|t| Dynamic::from_map(task_map(&f.cluster, &f.framework, t)))
                .collect()
        });
    FuncRegistration::new("name")
        .with_params_info(["fw: Framework", "string"])
        .with_comments(["/// The framework's name."])
        .register_into_engine(engine, |f: &mut FrameworkHandle| -> String {
            f.framework.name().to_string()
        });
}

/// Parses one task map or an array of them.
pub fn task_requests(value: &Dynamic, function: &str) -> ScriptResult<Vec<TaskRequest>> {
    let maps: Vec<Dynamic> = if value.is_array() {
        value
            .clone()
            .into_array()
            .map_err(|t| format!("{function}: expected an array of task maps, got {t}"))?
    } else {
        vec![value.clone()]
    };
    maps.iter()
        .map(|m| {
            let map = m.clone().try_cast::<Map>().ok_or_else(|| {
                format!(
                    "{function}: a task must be a map like #{{ name: \"t\", cmd: \"echo hi\" }}"
                )
            })?;
            task_request(&map, function)
        })
        .collect()
}

fn task_request(map: &Map, function: &str) -> ScriptResult<TaskRequest> {
    let what = format!("{function} task");
    let o = Options::new(
        map,
        &what,
        &["name", "cmd", "cpus", "mem", "disk", "env", "docker"],
    )?;
    let name = o
        .string("name")?
        .ok_or_else(|| format!("{what}: option 'name' is required"))?;
    if name.is_empty() {
        return script_error(format!("{what}: 'name' must not be empty"));
    }
    let image = o.string("docker")?;
    let cmd = o.string("cmd")?;
    if cmd.is_none() && image.is_none() {
        return script_error(format!(
            "{what} '{name}': option 'cmd' is required, e.g. cmd: \"echo hi\""
        ));
    }
    let mut env = BTreeMap::new();
    if let Some(e) = o.get("env") {
        let e = e
            .clone()
            .try_cast::<Map>()
            .ok_or_else(|| format!("{what} '{name}': 'env' must be a map"))?;
        for (k, v) in e {
            env.insert(k.to_string(), v.to_string());
        }
    }
    let positive = |key: &str, default: f64| -> ScriptResult<f64> {
        let v = o.number(key)?.unwrap_or(default);
        if v < 0.0 || !v.is_finite() {
            return script_error(format!(
                "{what} '{name}': '{key}' must be a non-negative number"
            ));
        }
        Ok(v)
    };
    Ok(TaskRequest {
        cpus: positive("cpus", 0.1)?,
        mem: positive("mem", 32.0)?,
        disk: positive("disk", 0.0)?,
        name,
        cmd: cmd.unwrap_or_default(),
        env,
        image,
    })
}

/// `TASK_FINISHED` or `FINISHED`; unknown names get a suggestion.
pub fn parse_state(text: &str) -> ScriptResult<TaskState> {
    let upper = text.trim().to_ascii_uppercase();
    let full = if upper.starts_with("TASK_") {
        upper
    } else {
        format!("TASK_{upper}")
    };
    TaskState::from_name(&full).ok_or_else(|| {
        let nearest = TaskState::ALL
            .iter()
            .min_by_key(|s| strsim::levenshtein(s.name(), &full))
            .map(|s| s.name())
            .unwrap_or("TASK_FINISHED");
        format!("'{text}' is not a task state (did you mean \"{nearest}\"?)").into()
    })
}

pub fn await_in(
    ctx: &Arc<ClusterCtx>,
    framework: &Framework,
    name: &str,
    state: &str,
    options: &Map,
) -> ScriptResult<Map> {
    let wanted = parse_state(state)?;
    let o = Options::new(options, "await_task", &["timeout"])?;
    let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_AWAIT);
    let cancel = ctx.scenario.cancel.clone();
    match ctx
        .scenario
        .block(framework.await_task(name, wanted, timeout, &cancel))?
    {
        Ok(task) => Ok(task_map(ctx, framework, &task)),
        Err(AwaitError::Cancelled) => script_error("the scenario was cancelled"),
        Err(e) => script_error(e.to_string()),
    }
}

pub fn task_map(ctx: &ClusterCtx, framework: &Framework, task: &TaskRecord) -> Map {
    let mut m = Map::new();
    m.insert("name".into(), task.name.clone().into());
    m.insert("framework".into(), framework.name().to_string().into());
    m.insert(
        "state".into(),
        task.state()
            .map_or(Dynamic::UNIT, |s| s.name().to_string().into()),
    );
    m.insert(
        "agent".into(),
        task.agent_id
            .as_ref()
            .map_or(Dynamic::UNIT, |a| ctx.agent_name(&a.value).into()),
    );
    let states: Array = task
        .history()
        .iter()
        .map(|s| Dynamic::from(s.name().to_string()))
        .collect();
    m.insert("states".into(), states.into());
    let last = task.statuses.last();
    m.insert(
        "message".into(),
        last.and_then(|s| s.message.clone())
            .map_or(Dynamic::UNIT, Into::into),
    );
    m.insert(
        "reason".into(),
        last.and_then(|s| s.reason.clone())
            .map_or(Dynamic::UNIT, Into::into),
    );
    m
}
