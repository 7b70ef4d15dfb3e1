//! A framework's methods: `launch`, `kill`, `teardown`, `await_task`, `task`, `tasks`.

use crate::framework::{
    AwaitError, ExecutorRequest, Framework, TaskNetwork, TaskRecord, TaskRequest,
};
use crate::mesos::health_check::{HealthCheck, HttpCheckInfo};
use crate::mesos::task::{CommandInfo, CommandUri, TaskState};
use crate::script::bindings::option_keys;
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
            "/// Queues a task (a map) or tasks (an array of maps); each launches on the first offer that\n/// fits. Task options: `name` (required, unique within the framework), `cmd` (required, run by /bin/sh -c), `cpus` (0.1),\n/// `mem` (32), `disk` (0), `env` (a map of environment variables).\n/// Docker tasks (agents with the Docker containerizer): `docker` (an image that exists on the\n/// daemon, e.g. `busybox_image()`; `cmd` optional: the image's own command runs without it),\n/// `network` (\"HOST\" (default), \"BRIDGE\", \"USER\" or \"NONE\"), `network_name` (the\n/// network, for USER), `ports` (container ports to publish, for BRIDGE and USER: each gets a\n/// host port from the offer).\n/// `uris`: files the agent fetches into the sandbox before the task starts, as Mesos's\n/// fetcher does: strings, or maps #{ value, executable, extract, output_file }. http://,\n/// https://, file:// and absolute paths; a relative path is a file beside the script\n/// (embedded backend only). Archives (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip, .gz) are\n/// extracted unless `extract: false`; `executable: true` makes the file executable instead.\n/// Custom executor: `executor: #{ id, cmd, uris, docker }` runs the task on that executor (one\n/// per id and agent, started by `cmd` with `sh -c` after fetching `uris`, each a string or\n/// `#{ value, executable, extract, output_file }`; `docker`: an image to run it in, as a container of its own, on agents with the Docker\n/// containerizer (Docker backend; `node_image()` holds the example executor)). The\n/// task's `cmd` then goes to the executor as the task's `data`; `c.example_executor()` is a\n/// ready executor that runs it with `sh -c`.\n/// Health check (Mesos's `HealthCheck`, run by the agent for a command task as Mesos's command\n/// executor runs it; a custom executor gets it with its task): `health_check: #{ http: 8080 }`\n/// (or `http: #{ port, path, scheme }`), `#{ tcp: 8080 }` or `#{ cmd: \"test -e ready\" }`, with\n/// `delay` (15s), `interval` (10s), `timeout` (20s; \"0s\": none), `grace_period` (10s) and\n/// `consecutive_failures` (3, then the task is killed). Health shows as a task's `healthy`;\n/// `await_task(name, \"TASK_RUNNING\", #{ healthy: true })` waits for it.",
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
            "/// Why task `name` has not launched yet, one line a reason: for each agent whose last\n/// offer it did not fit, what fell short (`agent-1: needs cpus 4, the offer holds 2 unreserved`),\n/// or that no offer has come since it was queued. Empty once it launched. Awaits that time\n/// out add these lines to their error.",
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
    let o = Options::new(map, &what, option_keys::TASK.keys)?;
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
    let executor = match o.get("executor") {
        None => None,
        Some(e) => Some(executor_request(e, &what, &name)?),
    };
    if executor.is_some() && image.is_some() {
        return script_error(format!(
            "{what} '{name}': a task runs either in a Docker container ('docker') or on a custom executor ('executor'); to run the executor in a container give the executor 'docker'"
        ));
    }
    if executor.is_some() && cmd.is_none() {
        return script_error(format!(
            "{what} '{name}': option 'cmd' is required: the executor gets it as the task's data"
        ));
    }
    let (network, ports) = docker_network(&o, &what, &name, image.is_some())?;
    let health_check = o
        .get("health_check")
        .map(|h| health_check(h, &what, &name))
        .transpose()?;
    let labels = task_labels(&o, &what, &name)?;
    Ok(TaskRequest {
        cpus: positive("cpus", 0.1)?,
        mem: positive("mem", 32.0)?,
        disk: positive("disk", 0.0)?,
        name,
        cmd: cmd.unwrap_or_default(),
        env,
        image,
        network,
        ports,
        uris: task_uris(&o, &what)?,
        health_check,
        executor,
        labels,
    })
}

/// `labels: #{ key: "value" }` and, for simulated agents, `sim: #{ run: "5s", state:
/// "TASK_FINISHED", start: "100ms" }` as the `mmrun.sim.*` labels those agents read.
fn task_labels(o: &Options, what: &str, name: &str) -> ScriptResult<Vec<(String, String)>> {
    let mut labels = Vec::new();
    if let Some(value) = o.get("labels") {
        let map = value
            .clone()
            .try_cast::<Map>()
            .ok_or_else(|| format!("{what} '{name}': 'labels' must be a map of strings"))?;
        for (k, v) in map {
            labels.push((k.to_string(), v.to_string()));
        }
    }
    if let Some(value) = o.get("sim") {
        use crate::lite::sim::behaviour::{Behaviour, RUN_LABEL, START_LABEL, STATE_LABEL};
        let map = value.clone().try_cast::<Map>().ok_or_else(|| {
            format!("{what} '{name}': 'sim' must be a map like #{{ run: \"5s\", state: \"TASK_FINISHED\" }}")
        })?;
        let sim_what = format!("{what} '{name}': sim");
        let s = Options::new(&map, &sim_what, option_keys::SIM.keys)?;
        // Checked here, so a typo fails the script rather than a task on an agent.
        let mut check = Behaviour::default();
        if let Some(run) = s.get("run") {
            let run = run.to_string();
            check
                .set_run(&run)
                .map_err(|e| format!("{sim_what}: {e}"))?;
            labels.push((RUN_LABEL.into(), run));
        }
        if let Some(state) = s.string("state")? {
            check
                .set_end(&state)
                .map_err(|e| format!("{sim_what}: {e}"))?;
            labels.push((STATE_LABEL.into(), state));
        }
        if let Some(start) = s.get("start") {
            let start = start.to_string();
            crate::lite::sim::behaviour::parse_duration("start", &start)
                .map_err(|e| format!("{sim_what}: {e}"))?;
            labels.push((START_LABEL.into(), start));
        }
    }
    Ok(labels)
}

/// A task's `health_check: #{ http: 8080 | #{ port, path, scheme }, tcp: 8080, cmd: "…",
/// delay, interval, timeout, grace_period, consecutive_failures }` as Mesos's `HealthCheck`;
/// what is left out takes Mesos's defaults (15 s delay, 10 s interval, 20 s timeout, 10 s grace
/// period, 3 failures).
fn health_check(value: &Dynamic, what: &str, task: &str) -> ScriptResult<HealthCheck> {
    let what = format!("{what} '{task}': health_check");
    let map = value
        .clone()
        .try_cast::<Map>()
        .ok_or_else(|| format!("{what} must be a map like #{{ http: 8080, interval: \"1s\" }}"))?;
    let o = Options::new(&map, &what, option_keys::HEALTH_CHECK.keys)?;
    let port = |v: &Dynamic, key: &str| -> ScriptResult<u32> {
        v.as_int()
            .ok()
            .filter(|p| (1..=65535).contains(p))
            .map(|p| p as u32)
            .ok_or_else(|| format!("{what}: '{key}' must be a port number (1-65535)").into())
    };
    let probes: Vec<&str> = ["http", "tcp", "cmd"]
        .into_iter()
        .filter(|k| o.get(k).is_some())
        .collect();
    let mut check = match probes.as_slice() {
        ["http"] => {
            let http = o.get("http").unwrap();
            let http = match http.clone().try_cast::<Map>() {
                None => HttpCheckInfo::new(port(http, "http")?),
                Some(m) => {
                    let http_what = format!("{what}.http");
                    let h = Options::new(&m, &http_what, option_keys::HTTP_CHECK.keys)?;
                    let p = h
                        .get("port")
                        .ok_or_else(|| format!("{what}.http: 'port' is required"))?;
                    HttpCheckInfo {
                        path: h.string("path")?,
                        scheme: h.string("scheme")?,
                        ..HttpCheckInfo::new(port(p, "http.port")?)
                    }
                }
            };
            HealthCheck::http(http)
        }
        ["tcp"] => HealthCheck::tcp(port(o.get("tcp").unwrap(), "tcp")?),
        ["cmd"] => HealthCheck::command(CommandInfo {
            value: Some(o.string("cmd")?.unwrap_or_default()),
            shell: true,
            arguments: vec![],
            environment: None,
            uris: vec![],
            user: None,
        }),
        _ => {
            return script_error(format!(
                "{what} needs exactly one of 'http', 'tcp' or 'cmd', e.g. #{{ http: 8080 }}"
            ));
        }
    };
    let seconds =
        |key: &str| -> ScriptResult<Option<f64>> { Ok(o.duration(key)?.map(|d| d.as_secs_f64())) };
    check.delay_seconds = seconds("delay")?;
    check.interval_seconds = seconds("interval")?;
    check.timeout_seconds = seconds("timeout")?;
    check.grace_period_seconds = seconds("grace_period")?;
    if let Some(n) = o.number("consecutive_failures")? {
        if n < 1.0 || n.fract() != 0.0 {
            return script_error(format!(
                "{what}: 'consecutive_failures' must be a whole number of at least 1"
            ));
        }
        check.consecutive_failures = Some(n.min(f64::from(u32::MAX)) as u32);
    }
    check.validate().map_err(|e| format!("{what}: {e}"))?;
    Ok(check)
}

/// A task's `executor: #{ id, cmd, uris, docker }`.
fn executor_request(value: &Dynamic, what: &str, task: &str) -> ScriptResult<ExecutorRequest> {
    let what = format!("{what} '{task}': executor");
    let map = value.clone().try_cast::<Map>().ok_or_else(|| {
        format!("{what} must be a map like #{{ id: \"e1\", cmd: \"./my-executor\" }}")
    })?;
    let o = Options::new(&map, &what, option_keys::EXECUTOR.keys)?;
    let id = o
        .string("id")?
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("{what}: option 'id' is required (a non-empty executor id)"))?;
    let cmd = o.string("cmd")?.ok_or_else(|| {
        format!("{what} '{id}': option 'cmd' is required (the executor's shell command)")
    })?;
    // The same `uris` as a task's, fetched into the executor's sandbox.
    let uris = task_uris(&o, &format!("{what} '{id}'"))?;
    Ok(ExecutorRequest {
        id,
        cmd,
        uris,
        docker: o.string("docker")?,
    })
}

/// `network`, `network_name` and `ports`, which only Docker tasks take.
fn docker_network(
    o: &Options,
    what: &str,
    name: &str,
    is_docker: bool,
) -> ScriptResult<(TaskNetwork, Vec<u16>)> {
    let mode = o.string("network")?;
    let network_name = o.string("network_name")?;
    let ports = match o.get("ports") {
        None => vec![],
        Some(p) => {
            let items = p.clone().into_array().map_err(|t| {
                format!("{what} '{name}': 'ports' must be an array of container ports, got {t}")
            })?;
            items
                .iter()
                .map(|p| {
                    p.as_int()
                        .ok()
                        .and_then(|p| u16::try_from(p).ok())
                        .filter(|p| *p > 0)
                        .ok_or_else(|| {
                            format!(
                                "{what} '{name}': 'ports' must hold port numbers (1-65535), got {p}"
                            )
                            .into()
                        })
                })
                .collect::<ScriptResult<Vec<u16>>>()?
        }
    };
    if !is_docker && (mode.is_some() || network_name.is_some() || !ports.is_empty()) {
        return script_error(format!(
            "{what} '{name}': 'network', 'network_name' and 'ports' are for Docker tasks; add docker: \"<image>\""
        ));
    }
    let network = match mode.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("HOST") => TaskNetwork::Host,
        Some("BRIDGE") => TaskNetwork::Bridge,
        Some("NONE") => TaskNetwork::None,
        Some("USER") => TaskNetwork::User(network_name.clone().ok_or_else(|| {
            format!(
                "{what} '{name}': network \"USER\" needs 'network_name', the Docker network to join"
            )
        })?),
        Some(_) => {
            return script_error(format!(
                "{what} '{name}': 'network' must be \"HOST\", \"BRIDGE\", \"USER\" or \"NONE\", got \"{}\"",
                mode.unwrap_or_default()
            ));
        }
    };
    if network_name.is_some() && !matches!(network, TaskNetwork::User(_)) {
        return script_error(format!(
            "{what} '{name}': 'network_name' is for network: \"USER\""
        ));
    }
    if !ports.is_empty() && matches!(network, TaskNetwork::Host | TaskNetwork::None) {
        return script_error(format!(
            "{what} '{name}': 'ports' are published on BRIDGE and USER networks only (a HOST task listens on the host's ports itself)"
        ));
    }
    Ok((network, ports))
}

/// `uris`: an array of strings or of maps #{ value, executable, extract, output_file }.
fn task_uris(o: &Options, what: &str) -> ScriptResult<Vec<CommandUri>> {
    let Some(uris) = o.get("uris") else {
        return Ok(vec![]);
    };
    let example =
        r#"e.g. uris: ["http://host/app.tgz", #{ value: "/opt/run.sh", executable: true }]"#;
    let items = uris
        .clone()
        .into_array()
        .map_err(|t| format!("{what}: 'uris' must be an array, got {t}; {example}"))?;
    items
        .iter()
        .map(|item| {
            if item.is_string() {
                return Ok(CommandUri::new(item.to_string()));
            }
            let map = item.clone().try_cast::<Map>().ok_or_else(|| {
                format!(
                    "{what}: each of 'uris' must be a string or a map, got {}; {example}",
                    item.type_name()
                )
            })?;
            let uri_what = format!("{what} uri");
            let u = Options::new(&map, &uri_what, option_keys::URI.keys)?;
            let value = u
                .string("value")?
                .ok_or_else(|| format!("{uri_what}: option 'value' is required; {example}"))?;
            Ok(CommandUri {
                executable: u.bool("executable")?.unwrap_or(false),
                extract: u.bool("extract")?.unwrap_or(true),
                output_file: u.string("output_file")?,
                ..CommandUri::new(value)
            })
        })
        .collect()
}

/// Makes the tasks' relative `uris` paths absolute, beside the script. Mesos would resolve them
/// against the agent's `--frameworks_home`; a scenario's files live beside it instead. Agents
/// on the Docker backend run in containers and cannot read this machine's files.
pub fn with_local_paths(
    mut requests: Vec<TaskRequest>,
    ctx: &ClusterCtx,
) -> ScriptResult<Vec<TaskRequest>> {
    let script_dir = ctx.scenario.dir();
    for uri in requests.iter_mut().flat_map(|r| {
        r.uris
            .iter_mut()
            .chain(r.executor.iter_mut().flat_map(|e| e.uris.iter_mut()))
    }) {
        let value = uri.value.trim_start();
        if value.contains("://") || value.starts_with('/') {
            continue;
        }
        let backend = ctx.scenario.backend.name();
        if backend != "embedded" {
            return script_error(format!(
                "uri '{value}' is a file beside the script, but agents on the {backend} backend \
                 run in containers and cannot read this machine's files: serve it over http:// \
                 or run the scenario with --backend embedded"
            ));
        }
        let path = std::path::absolute(script_dir.join(value))
            .map_err(|e| format!("uri '{value}': {e}"))?;
        uri.value = path.display().to_string();
    }
    Ok(requests)
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

    fn parse(script: &str) -> ScriptResult<Vec<TaskRequest>> {
        let map: Dynamic = Engine::new().eval(script).unwrap();
        task_requests(&map, "launch")
    }

    fn error(script: &str) -> String {
        parse(script).err().unwrap().to_string()
    }

    #[test]
    fn health_checks_become_mesos_s_and_mistakes_say_how() {
        let tasks = parse(
            r#"#{ name: "t", cmd: "x", health_check: #{ http: #{ port: 8080, path: "/up" },
                   interval: "1s", consecutive_failures: 2 } }"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&tasks[0].health_check).unwrap(),
            serde_json::json!({"type": "HTTP", "http": {"port": 8080, "path": "/up"},
                               "interval_seconds": 1.0, "consecutive_failures": 2})
        );
        let tcp = parse(r#"#{ name: "t", cmd: "x", health_check: #{ tcp: 9 } }"#).unwrap();
        assert_eq!(
            serde_json::to_value(&tcp[0].health_check).unwrap(),
            serde_json::json!({"type": "TCP", "tcp": {"port": 9}})
        );
        for (script, needle) in [
            (
                r#"#{ name: "t", cmd: "x", health_check: #{ interval: "1s" } }"#,
                "needs exactly one of 'http', 'tcp' or 'cmd'",
            ),
            (
                r#"#{ name: "t", cmd: "x", health_check: #{ tcp: 9, cmd: "true" } }"#,
                "needs exactly one of",
            ),
            (
                r#"#{ name: "t", cmd: "x", health_check: #{ tcp: 0 } }"#,
                "'tcp' must be a port number (1-65535)",
            ),
            (
                r#"#{ name: "t", cmd: "x", health_check: #{ http: #{ port: 80, path: "up" } } }"#,
                "The path 'up' of HTTP health check must start with '/'",
            ),
            (
                r#"#{ name: "t", cmd: "x", health_check: #{ tcp: 9, consecutive_failures: 0 } }"#,
                "at least 1",
            ),
            (
                r#"#{ name: "t", cmd: "x", health_check: #{ tcp: 9, intervall: "1s" } }"#,
                "interval",
            ),
            (
                r#"#{ name: "t", cmd: "x", health_check: 8080 }"#,
                "must be a map like",
            ),
        ] {
            let e = error(script);
            assert!(e.contains(needle), "{script}: {e}");
            assert!(e.contains("task 't': health_check"), "{script}: {e}");
        }
    }

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

    #[test]
    fn docker_tasks_take_a_network_and_ports() {
        let r =
            parse(r#"#{ name: "web", docker: "img", network: "bridge", ports: [8080] }"#).unwrap();
        assert_eq!(r[0].image.as_deref(), Some("img"));
        assert_eq!(r[0].network, TaskNetwork::Bridge);
        assert_eq!(r[0].ports, [8080]);
        assert_eq!(r[0].cmd, "");
        let r =
            parse(r#"#{ name: "u", docker: "img", network: "USER", network_name: "n1" }"#).unwrap();
        assert_eq!(r[0].network, TaskNetwork::User("n1".into()));
        let r = parse(r#"#{ name: "h", docker: "img", cmd: "true" }"#).unwrap();
        assert_eq!(
            (r[0].network.clone(), r[0].ports.len()),
            (TaskNetwork::Host, 0)
        );
    }

    #[test]
    fn uris_are_strings_or_maps() {
        let r = parse(
            r#"#{ name: "t", cmd: "true", uris: ["http://h/a.tgz",
                #{ value: "/opt/run.sh", executable: true, extract: false, output_file: "bin/run" }] }"#,
        )
        .unwrap();
        assert_eq!(r[0].uris[0], CommandUri::new("http://h/a.tgz"));
        let second = &r[0].uris[1];
        assert_eq!(second.value, "/opt/run.sh");
        assert!(second.executable && !second.extract);
        assert_eq!(second.output_file.as_deref(), Some("bin/run"));
        assert!(
            parse(r#"#{ name: "t", cmd: "true" }"#).unwrap()[0]
                .uris
                .is_empty()
        );
        let e = error(r#"#{ name: "t", cmd: "true", uris: "http://h/a" }"#);
        assert!(e.contains("'uris' must be an array"), "{e}");
        let e = error(r#"#{ name: "t", cmd: "true", uris: [#{ executable: true }] }"#);
        assert!(e.contains("option 'value' is required"), "{e}");
        let e = error(r#"#{ name: "t", cmd: "true", uris: [#{ value: "/x", exec: true }] }"#);
        assert!(e.contains("unknown option 'exec'"), "{e}");
        let e = error(r#"#{ name: "t", cmd: "true", uris: [42] }"#);
        assert!(e.contains("must be a string or a map"), "{e}");
    }

    #[test]
    fn docker_options_are_checked() {
        let e = error(r#"#{ name: "t", cmd: "true", network: "BRIDGE" }"#);
        assert!(e.contains("are for Docker tasks"), "{e}");
        let e = error(r#"#{ name: "t", docker: "img", network: "OVERLAY" }"#);
        assert!(e.contains(r#"'network' must be "HOST""#), "{e}");
        let e = error(r#"#{ name: "t", docker: "img", network: "USER" }"#);
        assert!(e.contains("needs 'network_name'"), "{e}");
        let e = error(r#"#{ name: "t", docker: "img", ports: [80] }"#);
        assert!(e.contains("BRIDGE and USER networks only"), "{e}");
        let e = error(r#"#{ name: "t", docker: "img", network: "BRIDGE", ports: [70000] }"#);
        assert!(e.contains("port numbers"), "{e}");
        let e = error(r#"#{ name: "t", docker: "img", network: "HOST", network_name: "x" }"#);
        assert!(e.contains("is for network: \"USER\""), "{e}");
        let e = error(r#"#{ name: "t", docker: "img", port: [80] }"#);
        assert!(
            e.contains("unknown option 'port' (did you mean 'ports'?)"),
            "{e}"
        );
    }
}
