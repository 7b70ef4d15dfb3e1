//! The task options of `launch` and `submit_framework`: a script's task map (or array of
//! them) checked key by key and made into [`TaskRequest`]s, with errors that say which key of
//! which task is wrong and what would be right.

use crate::framework::{ExecutorRequest, TaskNetwork, TaskRequest};
use crate::mesos::health_check::{HealthCheck, HttpCheckInfo};
use crate::mesos::task::{CommandInfo, CommandUri};
use crate::script::bindings::option_keys;
use crate::script::context::{ClusterCtx, ScriptResult, script_error};
use crate::script::values::Options;
use rhai::{Dynamic, Map};
use std::collections::BTreeMap;

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

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Engine;

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
