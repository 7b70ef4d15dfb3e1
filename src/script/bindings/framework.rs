//! A framework's methods: `launch`, `kill`, `teardown`, `await_task`, `task`, `tasks`.

use super::task_options::{task_requests, with_local_paths};
use crate::framework::{AwaitError, Framework, TaskRecord};
use crate::mesos::task::TaskState;
use crate::script::bindings::option_keys;
use crate::script::context::{ClusterCtx, ScriptResult, script_error};
use crate::script::values::Options;
use rhai::{Array, Dynamic, Engine, FuncRegistration, Map};
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
            "/// Queues a task (a map) or tasks (an array of maps); each launches on the first offer that\n\
            /// fits. Task options: `name` (required, unique within the framework), `cmd` (required, run by /bin/sh -c), `cpus` (0.1),\n\
            /// `mem` (32), `disk` (0), `env` (a map of environment variables).\n\
            /// Docker tasks (agents with the Docker containerizer): `docker` (an image that exists on the\n\
            /// daemon, e.g. `busybox_image()`; `cmd` optional: the image's own command runs without it),\n\
            /// `network` (\"HOST\" (default), \"BRIDGE\", \"USER\" or \"NONE\"), `network_name` (the\n\
            /// network, for USER), `ports` (container ports to publish, for BRIDGE and USER: each gets a\n\
            /// host port from the offer).\n\
            /// `uris`: files the agent fetches into the sandbox before the task starts, as Mesos's\n\
            /// fetcher does: strings, or maps #{ value, executable, extract, output_file }. http://,\n\
            /// https://, file:// and absolute paths; a relative path is a file beside the script\n\
            /// (embedded backend only). Archives (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip, .gz) are\n\
            /// extracted unless `extract: false`; `executable: true` makes the file executable instead.\n\
            /// Custom executor: `executor: #{ id, cmd, uris, docker }` runs the task on that executor (one\n\
            /// per id and agent, started by `cmd` with `sh -c` after fetching `uris`, each a string or\n\
            /// `#{ value, executable, extract, output_file }`; `docker`: an image to run it in, as a container of its own, on agents with the Docker\n\
            /// containerizer (Docker backend; `node_image()` holds the example executor)). The\n\
            /// task's `cmd` then goes to the executor as the task's `data`; `c.example_executor()` is a\n\
            /// ready executor that runs it with `sh -c`.\n\
            /// Health check (Mesos's `HealthCheck`, run by the agent for a command task as Mesos's command\n\
            /// executor runs it; a custom executor gets it with its task): `health_check: #{ http: 8080 }`\n\
            /// (or `http: #{ port, path, scheme }`), `#{ tcp: 8080 }` or `#{ cmd: \"test -e ready\" }`, with\n\
            /// `delay` (15s), `interval` (10s), `timeout` (20s; \"0s\": none), `grace_period` (10s) and\n\
            /// `consecutive_failures` (3, then the task is killed). Health shows as a task's `healthy`;\n\
            /// `await_task(name, \"TASK_RUNNING\", #{ healthy: true })` waits for it.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkHandle, tasks: Dynamic| -> ScriptResult<()> {
            let requests = task_requests(&tasks, "launch")?;
            f.framework
                .launch(with_local_paths(requests, &f.cluster)?)
                .map_err(|e| format!("launch: {e}").into())
        });
    FuncRegistration::new("kill")
        .with_params_info(["fw: Framework", "name: string", "()"])
        .with_comments(["/// Kills the task named `name`: it ends TASK_KILLED. A task still waiting for an offer\n/// ends at once, as Mesos's master reports a task killed before delivery to the agent\n/// (`SOURCE_MASTER`, `REASON_TASK_KILLED_DURING_LAUNCH`)."])
        .register_into_engine(
            engine,
            |f: &mut FrameworkHandle, name: &str| -> ScriptResult<()> {
                f.framework
                    .kill(name)
                    .map_err(|e| format!("kill: {e}").into())
            },
        );
    FuncRegistration::new("teardown")
        .with_params_info(["fw: Framework", "()"])
        .with_comments(["/// Tears the framework down: its tasks are killed and it moves to completed frameworks."])
        .register_into_engine(engine, |f: &mut FrameworkHandle| -> ScriptResult<()> {
            f.framework
                .teardown()
                .map_err(|e| format!("teardown: {e}").into())
        });
    FuncRegistration::new("await_task")
        .with_params_info(["fw: Framework", "name: string", "state: string", "map"])
        .with_comments(["/// Waits until this framework's task `name` reaches `state`; see `Cluster.await_task`."])
        .register_into_engine(engine, |f: &mut FrameworkHandle, name: &str, state: &str| -> ScriptResult<Map> {
            f.cluster.scenario.awaiting(|| format!("{}.await_task({name:?}, {state:?})", f.framework.name()), || await_in(&f.cluster, &f.framework, name, state, &Map::new()))
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
            "/// As `await_task(name, state)`, with options: `timeout` (e.g. \"10s\"), and `healthy`\n/// (true or false) to wait also until the task's health, as its latest status reporting one says,\n/// is that (a task with a `health_check`).",
        ])
        .register_into_engine(
            engine,
            |f: &mut FrameworkHandle, name: &str, state: &str, options: Map| -> ScriptResult<Map> {
                f.cluster.scenario.awaiting(|| format!("{}.await_task({name:?}, {state:?})", f.framework.name()), || await_in(&f.cluster, &f.framework, name, state, &options))
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
    FuncRegistration::new("count")
        .with_params_info(["fw: Framework", "state: string", "int"])
        .with_comments([
            "/// How many of this framework's tasks are in `state` now (e.g. \"TASK_RUNNING\"), without\n/// making a map of each: for frameworks with thousands of tasks.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkHandle, state: &str| -> ScriptResult<rhai::INT> {
            let wanted: TaskState = serde_json::from_value(serde_json::Value::String(state.into()))
                .map_err(|_| format!("count: '{state}' is not a task state (e.g. TASK_RUNNING)"))?;
            Ok(f.framework.count_in_state(wanted) as rhai::INT)
        });
    FuncRegistration::new("message")
        .with_params_info(["fw: Framework", "target: string", "data: string", "()"])
        .with_comments([
            "/// Sends `data` to a custom executor (a framework MESSAGE): `target` is a task name (that\n/// task's executor) or an executor id. No delivery guarantee, as in Mesos: an executor that\n/// has not subscribed yet does not get it.",
        ])
        .register_into_engine(
            engine,
            |f: &mut FrameworkHandle, target: &str, data: &str| -> ScriptResult<()> {
                f.framework
                    .message(target, data)
                    .map_err(|e| e.to_string().into())
            },
        );
    FuncRegistration::new("why")
        .with_params_info(["fw: Framework", "name: string", "array"])
        .with_comments([
            "/// Why task `name` has not launched yet, one line a reason: for each agent whose last\n\
            /// offer it did not fit, what fell short (`agent-1: needs cpus 4, the offer holds 2 unreserved`),\n\
            /// or that no offer has come since it was queued. Empty once it launched. Awaits that time\n\
            /// out add these lines to their error.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkHandle, name: &str| -> Array {
            why_lines(&f.cluster, &f.framework, name)
                .into_iter()
                .map(Dynamic::from)
                .collect()
        });
    FuncRegistration::new("messages")
        .with_params_info(["fw: Framework", "array"])
        .with_comments([
            "/// The messages this framework's executors sent it so far, oldest first, as maps\n/// `#{ executor, agent, data }` (`agent` is the agent's name).",
        ])
        .register_into_engine(engine, |f: &mut FrameworkHandle| -> Array {
            messages_array(&f.cluster, &f.framework.messages())
        });
    FuncRegistration::new("await_messages")
        .with_params_info(["fw: Framework", "count: int", "array"])
        .with_comments([
            "/// Waits (up to 30s) until at least `count` executor messages have arrived; returns them\n/// all, as `messages()` does.",
        ])
        .register_into_engine(
            engine,
            |f: &mut FrameworkHandle, count: i64| -> ScriptResult<Array> {
                let count = usize::try_from(count)
                    .map_err(|_| format!("await_messages: count must be >= 0, got {count}"))?;
                let cancel = f.cluster.scenario.cancel.clone();
                match f
                    .cluster
                    .scenario
                    .block(f.framework.await_messages(count, DEFAULT_AWAIT, &cancel))?
                {
                    Ok(m) => Ok(messages_array(&f.cluster, &m)),
                    Err(AwaitError::Cancelled) => script_error("the scenario was cancelled"),
                    Err(e) => script_error(e.to_string()),
                }
            },
        );
    FuncRegistration::new("name")
        .with_params_info(["fw: Framework", "string"])
        .with_comments(["/// The framework's name."])
        .register_into_engine(engine, |f: &mut FrameworkHandle| -> String {
            f.framework.name().to_string()
        });
}

fn messages_array(ctx: &ClusterCtx, messages: &[crate::framework::ExecutorMessage]) -> Array {
    messages
        .iter()
        .map(|m| {
            let mut map = Map::new();
            map.insert("executor".into(), m.executor_id.value.clone().into());
            map.insert("agent".into(), ctx.agent_name(&m.agent_id.value).into());
            map.insert("data".into(), m.data.clone().into());
            Dynamic::from_map(map)
        })
        .collect()
}

/// `TASK_FINISHED` or `FINISHED`. An unknown name gets a suggestion only when it is plausibly
/// a typo of one state (a wrong guess would send the script waiting for the wrong thing), and
/// the list of states otherwise.
pub fn parse_state(text: &str) -> ScriptResult<TaskState> {
    let upper = text.trim().to_ascii_uppercase();
    let full = if upper.starts_with("TASK_") {
        upper
    } else {
        format!("TASK_{upper}")
    };
    TaskState::from_name(&full).ok_or_else(|| {
        match typo_of(&full) {
            Some(state) => format!(
                "'{text}' is not a task state (did you mean \"{}\"?)",
                state.name()
            ),
            None => {
                let all: Vec<&str> = TaskState::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "'{text}' is not a task state; the states are {}",
                    all.join(", ")
                )
            }
        }
        .into()
    })
}

/// The one state `name` (`TASK_…`, upper case) is a plausible typo of: the same first letter
/// after `TASK_` and at most one edit per four letters (a slip, not another word: `TASK_DONE`
/// is not `TASK_GONE`), or a prefix of it (`FINISH`).
fn typo_of(name: &str) -> Option<TaskState> {
    let word = name.trim_start_matches("TASK_");
    let plausible: Vec<(usize, TaskState)> = TaskState::ALL
        .iter()
        .filter_map(|state| {
            let candidate = state.name().trim_start_matches("TASK_");
            if word.len() >= 4 && candidate.starts_with(word) {
                return Some((0, *state));
            }
            let distance = strsim::damerau_levenshtein(word, candidate);
            let same_start = word.chars().next() == candidate.chars().next();
            (same_start && distance <= (candidate.len() / 4).max(1)).then_some((distance, *state))
        })
        .collect();
    let best = plausible.iter().map(|(d, _)| *d).min()?;
    let mut closest = plausible.iter().filter(|(d, _)| *d == best);
    match (closest.next(), closest.next()) {
        (Some((_, state)), None) => Some(*state),
        _ => None,
    }
}

pub fn await_in(
    ctx: &Arc<ClusterCtx>,
    framework: &Framework,
    name: &str,
    state: &str,
    options: &Map,
) -> ScriptResult<Map> {
    let wanted = parse_state(state)?;
    let o = Options::new(options, "await_task", option_keys::AWAIT_TASK.keys)?;
    let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_AWAIT);
    let healthy = o.bool("healthy")?;
    let cancel = ctx.scenario.cancel.clone();
    match ctx
        .scenario
        .block(framework.await_task_health(name, wanted, healthy, timeout, &cancel))?
    {
        Ok(task) => Ok(task_map(ctx, framework, &task)),
        Err(AwaitError::Cancelled) => script_error("the scenario was cancelled"),
        Err(e @ AwaitError::Timeout(_)) => {
            let why = why_text(ctx, framework, name);
            script_error(format!("{e}{why}"))
        }
        Err(e) => script_error(e.to_string()),
    }
}

/// Why an mmrun framework's task waits, as lines to follow an error (empty when it does not).
pub fn why_text(ctx: &ClusterCtx, framework: &Framework, name: &str) -> String {
    let reasons = why_lines(ctx, framework, name);
    if reasons.is_empty() {
        return String::new();
    }
    format!("\nwhy it waits:\n    {}", reasons.join("\n    "))
}

/// One line a reason: `agent-1: needs cpus 4, the offer holds 2 unreserved`.
pub fn why_lines(ctx: &ClusterCtx, framework: &Framework, name: &str) -> Vec<String> {
    framework
        .why(name)
        .into_iter()
        .map(|(agent, why)| match agent {
            Some(a) => format!("{}: {why}", ctx.agent_name(&a.value)),
            None => why,
        })
        .collect()
}

/// The keys of a task map, in the order [`task_map`] fills them (and for "did you mean").
pub const TASK_MAP_KEYS: [&str; 9] = [
    "name",
    "framework",
    "state",
    "agent",
    "states",
    "message",
    "reason",
    "source",
    "healthy",
];

pub fn task_map(ctx: &ClusterCtx, framework: &Framework, task: &TaskRecord) -> Map {
    let states: Array = task
        .history()
        .iter()
        .map(|s| Dynamic::from(s.name().to_string()))
        .collect();
    let last = task.statuses.last();
    let values: [Dynamic; TASK_MAP_KEYS.len()] = [
        task.name.clone().into(),
        framework.name().to_string().into(),
        task.state()
            .map_or(Dynamic::UNIT, |s| s.name().to_string().into()),
        task.agent_id
            .as_ref()
            .map_or(Dynamic::UNIT, |a| ctx.agent_name(&a.value).into()),
        states.into(),
        last.and_then(|s| s.message.clone())
            .map_or(Dynamic::UNIT, Into::into),
        last.and_then(|s| s.reason.clone())
            .map_or(Dynamic::UNIT, Into::into),
        last.and_then(|s| s.source.clone())
            .map_or(Dynamic::UNIT, Into::into),
        task.healthy().map_or(Dynamic::UNIT, Into::into),
    ];
    TASK_MAP_KEYS
        .iter()
        .map(|k| rhai::Identifier::from(*k))
        .zip(values)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_suggest_only_plausible_typos() {
        let suggestion = |text: &str| parse_state(text).unwrap_err().to_string();
        assert_eq!(parse_state("finished").unwrap(), TaskState::Finished);
        assert_eq!(parse_state("TASK_RUNNING").unwrap(), TaskState::Running);
        for (typo, meant) in [
            ("TASK_FINSHED", "TASK_FINISHED"),
            ("runing", "TASK_RUNNING"),
            ("TASK_KILED", "TASK_KILLED"),
            ("TASK_ERORR", "TASK_ERROR"),
            ("finish", "TASK_FINISHED"),
            ("TASK_UNREACHABEL", "TASK_UNREACHABLE"),
        ] {
            let e = suggestion(typo);
            assert!(
                e.contains(&format!("(did you mean \"{meant}\"?)")),
                "{typo}: {e}"
            );
        }
        // Another word, not a slip: no guess, the list instead.
        for other in ["TASK_DONE", "TASK_OK", "completed", "TASK_DEAD"] {
            let e = suggestion(other);
            assert!(!e.contains("did you mean"), "{other}: {e}");
            assert!(
                e.contains("the states are TASK_STAGING, TASK_STARTING"),
                "{e}"
            );
        }
    }
}
