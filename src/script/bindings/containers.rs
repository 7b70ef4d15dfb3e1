//! The user's own framework (scheduler) against the cluster: `c.run_framework(…)` runs it as a
//! process on this host (every backend) or from an image (Docker backend), and the returned
//! `FrameworkRun` stops, kills and restarts it (a scheduler failover). Also `requires_docker()` and
//! `requires_embedded()`.
//! Everything goes through the backend (`ClusterHandle`): no process is spawned here.

use super::ClusterHandleRef;
use crate::cluster::{BackendError, ClusterHandle, FrameworkRequest, FrameworkStatus};
use crate::script::bindings::option_keys;
use crate::script::context::{ClusterCtx, ScenarioCtx, ScriptResult};
use crate::script::values::{Options, duration_value};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map, Position};
use std::sync::Arc;
use std::time::Duration;

/// Raised by `requires_docker()` / `requires_embedded()` on another backend: the scenario ends as skipped.
#[derive(Clone, Debug)]
pub struct SkipScenario(pub String);

/// The error that ends the scenario as skipped, saying why.
pub fn skip(reason: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(SkipScenario(reason)),
        Position::NONE,
    ))
}

/// The reason a script asked to be skipped, looking through nested function calls.
pub fn skip_reason(error: &EvalAltResult) -> Option<String> {
    match error {
        EvalAltResult::ErrorRuntime(value, _) => {
            value.clone().try_cast::<SkipScenario>().map(|s| s.0)
        }
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => skip_reason(inner),
        _ => None,
    }
}

/// A script's handle to one framework it runs (`FrameworkRun` in scripts).
#[derive(Clone)]
pub struct FrameworkRunHandle {
    cluster: Arc<ClusterCtx>,
    index: usize,
    name: String,
}

/// `stop()`'s SIGTERM-to-SIGKILL time when the script gives none.
const STOP_GRACE: Duration = crate::cluster::process::STOP_GRACE;
/// `wait()`'s timeout when the script gives none.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often `wait` checks.
const WAIT_POLL: Duration = Duration::from_millis(20);

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    engine.register_type_with_name::<FrameworkRunHandle>("FrameworkRun");
    let s = scenario;
    let embedded = s.clone();
    FuncRegistration::new("requires_docker")
        .with_params_info(["()"])
        .with_comments([
            "/// Ends the scenario as skipped unless it runs on the Docker backend. Call it first in\n/// scenarios that use Docker-only features (framework containers, Docker-image tasks).",
        ])
        .register_into_engine(engine, move || -> ScriptResult<()> {
            let backend = s.backend.name();
            if backend == "docker" {
                return Ok(());
            }
            Err(Box::new(EvalAltResult::ErrorRuntime(
                Dynamic::from(SkipScenario(format!(
                    "needs the Docker backend; this run uses the {backend} backend"
                ))),
                Position::NONE,
            )))
        });
    FuncRegistration::new("requires_embedded")
        .with_params_info(["()"])
        .with_comments([
            "/// Ends the scenario as skipped unless it runs on the embedded backend. Call it first in\n/// scenarios whose tasks fetch files beside the script (`uris`): agents in containers\n/// cannot read this machine's files.",
        ])
        .register_into_engine(engine, move || -> ScriptResult<()> {
            let backend = embedded.backend.name();
            if backend == "embedded" {
                return Ok(());
            }
            Err(Box::new(EvalAltResult::ErrorRuntime(
                Dynamic::from(SkipScenario(format!(
                    "needs the embedded backend (its tasks fetch files from this machine); this run uses the {backend} backend"
                ))),
                Position::NONE,
            )))
        });
    FuncRegistration::new("run_framework")
        .with_params_info(["c: Cluster", "options: map", "FrameworkRun"])
        .with_comments([
            "/// Runs your own framework (scheduler) against the cluster. Options: `cmd` (an array\n/// `[program, args…]`, or a string run by `sh -c`), `env` (a map), and either `cwd` or `image`.\n/// Without `image` (every backend) it runs as a process on this host, in its own process group,\n/// in `cwd` (relative to the scenario's directory; default: a fresh temporary directory removed\n/// afterwards). With `image` (Docker backend) it runs as a container on the cluster network;\n/// `image: \"mmrun-node\"` is mmrun's node image (`cmd: [\"example-framework\"]`).\n/// Either way it gets `MESOS_MASTER` (the master's host:port as reachable from where it runs),\n/// `LIBPROCESS_IP` and `LIBPROCESS_ADVERTISE_IP`; a process also gets `MMRUN` (this mmrun\n/// binary) and `MMRUN_SCENARIO_DIR`. Nothing of it outlives the scenario.",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef, options: Map| -> ScriptResult<FrameworkRunHandle> {
                run_framework(&c.0, &options)
            },
        );
    FuncRegistration::new("name")
        .with_params_info(["f: FrameworkRun", "string"])
        .with_comments([
            "/// What it is called: `framework-1 (python3)` for a process, the container's name\n/// (`mmrun-3f2a9c1b-scenario-framework-1`) for a container.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkRunHandle| -> String {
            f.name.clone()
        });
    FuncRegistration::new("logs")
        .with_params_info(["f: FrameworkRun", "string"])
        .with_comments([
            "/// Everything it has written so far (stdout and stderr), across restarts.",
        ])
        .register_into_engine(
            engine,
            |f: &mut FrameworkRunHandle| -> ScriptResult<String> {
                let index = f.index;
                f.call(async move |h| h.framework_logs(index).await)
            },
        );
    FuncRegistration::new("running")
        .with_params_info(["f: FrameworkRun", "bool"])
        .with_comments(["/// Whether it is running (it was started and has not ended)."])
        .register_into_engine(engine, |f: &mut FrameworkRunHandle| -> ScriptResult<bool> {
            Ok(f.status()? == FrameworkStatus::Running)
        });
    FuncRegistration::new("stop")
        .with_params_info(["f: FrameworkRun", "()"])
        .with_comments([
            "/// Stops it: SIGTERM (to its whole process group), then SIGKILL after 5 s. Returns once\n/// it has ended; nothing if it already had.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkRunHandle| -> ScriptResult<()> {
            f.stop(Some(STOP_GRACE))
        });
    FuncRegistration::new("stop")
        .with_params_info(["f: FrameworkRun", "grace: string", "()"])
        .with_comments(["/// As `stop()`, with SIGKILL after `grace` (e.g. \"10s\")."])
        .register_into_engine(
            engine,
            |f: &mut FrameworkRunHandle, grace: Dynamic| -> ScriptResult<()> {
                let grace = duration_value(&grace, "stop: grace")?;
                f.stop(Some(grace))
            },
        );
    FuncRegistration::new("kill")
        .with_params_info(["f: FrameworkRun", "()"])
        .with_comments([
            "/// Kills it at once (SIGKILL, as a crash): its connection to the master just drops, and\n/// the master keeps the framework for its failover_timeout.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkRunHandle| -> ScriptResult<()> {
            f.stop(None)
        });
    FuncRegistration::new("start")
        .with_params_info(["f: FrameworkRun", "()"])
        .with_comments([
            "/// Starts the same command again once it has ended (after `stop()`, `kill()` or its own\n/// exit): a scheduler failover. A process keeps its working directory.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkRunHandle| -> ScriptResult<()> {
            f.cluster.scenario.timeline.fault(&f.name, "start()");
            let index = f.index;
            f.call(async move |h| h.start_framework(index).await)
        });
    FuncRegistration::new("wait")
        .with_params_info(["f: FrameworkRun", "int"])
        .with_comments([
            "/// Waits until it ends and returns its exit code (128 + the signal's number when a signal\n/// ended it, e.g. 137 after `kill()`). Fails after 30 s.",
        ])
        .register_into_engine(engine, |f: &mut FrameworkRunHandle| -> ScriptResult<i64> {
            f.wait(WAIT_TIMEOUT)
        });
    FuncRegistration::new("wait")
        .with_params_info(["f: FrameworkRun", "timeout: string", "int"])
        .with_comments(["/// As `wait()`, failing after `timeout` (e.g. \"10s\")."])
        .register_into_engine(
            engine,
            |f: &mut FrameworkRunHandle, timeout: Dynamic| -> ScriptResult<i64> {
                let timeout = duration_value(&timeout, "wait: timeout")?;
                f.wait(timeout)
            },
        );
}

impl FrameworkRunHandle {
    /// Runs `op` on the cluster's backend; errors name the framework.
    fn call<T>(
        &self,
        op: impl AsyncFnOnce(&mut dyn ClusterHandle) -> Result<T, BackendError>,
    ) -> ScriptResult<T> {
        let ctx = self.cluster.clone();
        let result = ctx.scenario.block(async {
            let mut handle = ctx.handle.lock().await;
            match handle.as_mut() {
                Some(h) => op(h.as_mut()).await,
                None => Err(BackendError::failed("the cluster was torn down")),
            }
        })?;
        result.map_err(|e| crate::script::context::backend_error(&self.name, e))
    }

    fn status(&self) -> ScriptResult<FrameworkStatus> {
        let index = self.index;
        self.call(async move |h| h.framework_status(index).await)
    }

    fn stop(&self, grace: Option<Duration>) -> ScriptResult<()> {
        let action = if grace.is_some() { "stop()" } else { "kill()" };
        self.cluster.scenario.timeline.fault(&self.name, action);
        let index = self.index;
        self.call(async move |h| h.stop_framework(index, grace).await)
    }

    fn wait(&self, timeout: Duration) -> ScriptResult<i64> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let FrameworkStatus::Exited(code) = self.status()? {
                return Ok(code.into());
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "{}: still running after {timeout:?} (stop() or kill() it, or wait longer)",
                    self.name
                )
                .into());
            }
            self.cluster.scenario.block(tokio::time::sleep(WAIT_POLL))?;
        }
    }
}

fn run_framework(ctx: &Arc<ClusterCtx>, options: &Map) -> ScriptResult<FrameworkRunHandle> {
    let o = Options::new(options, "run_framework", option_keys::RUN_FRAMEWORK.keys)?;
    let cmd = match o.get("cmd") {
        None => vec![],
        Some(v) if v.is_string() => vec!["sh".into(), "-c".into(), v.to_string()],
        Some(v) => {
            let items = v.clone().try_cast::<Array>().ok_or(
                "run_framework: cmd must be a string (run by sh -c) or an array of strings, e.g. cmd: [\"python3\", \"scheduler.py\"]",
            )?;
            items
                .into_iter()
                .map(|item| {
                    item.into_string().map_err(|t| {
                        format!("run_framework: each item of cmd must be a string, not {t}").into()
                    })
                })
                .collect::<ScriptResult<Vec<String>>>()?
        }
    };
    let image = o.string("image")?;
    if image.is_none() && cmd.is_empty() {
        return Err("run_framework: give the framework's command, e.g. cmd: [\"python3\", \"scheduler.py\"] (or an image, on the Docker backend)".into());
    }
    let script_dir = ctx.scenario.dir();
    let mut env = Vec::new();
    if image.is_none() {
        env.push((
            "MMRUN_SCENARIO_DIR".to_string(),
            script_dir.display().to_string(),
        ));
    }
    if let Some(v) = o.get("env") {
        let map = v
            .clone()
            .try_cast::<Map>()
            .ok_or("run_framework: env must be a map, e.g. env: #{ FOO: \"bar\" }")?;
        env.extend(map.into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }
    let cwd = o.string("cwd")?.map(|c| script_dir.join(c));
    let request = FrameworkRequest {
        image,
        cmd,
        env,
        cwd,
    };
    ctx.master_url()?;
    let started = ctx.scenario.block(async {
        let mut handle = ctx.handle.lock().await;
        let handle = handle.as_mut().expect("created with the cluster");
        handle.run_framework(request).await
    })?;
    let (index, name) = started.map_err(|e| format!("run_framework: {e}"))?;
    ctx.framework_runs
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ctx.scenario.log(format!("run_framework: started {name}"));
    Ok(FrameworkRunHandle {
        cluster: ctx.clone(),
        index,
        name,
    })
}

/// How many of a framework's last log lines a failure shows.
const LOG_LINES: usize = 15;

/// For a wait that timed out: the frameworks the script ran that have ended, with their exit
/// codes and last log lines (a scheduler that crashed at start is the usual reason). Empty
/// when none has ended.
/// Whether the script started framework processes and every one has exited: nothing can
/// launch a task the master does not know yet.
pub fn every_run_exited(ctx: &Arc<ClusterCtx>) -> bool {
    let runs = ctx
        .framework_runs
        .load(std::sync::atomic::Ordering::Relaxed);
    if runs == 0 {
        return false;
    }
    let exited = ctx.scenario.block(async {
        let mut handle = ctx.handle.lock().await;
        let Some(h) = handle.as_mut() else {
            return false;
        };
        for index in 0..runs {
            if !matches!(
                h.framework_status(index).await,
                Ok(FrameworkStatus::Exited(_))
            ) {
                return false;
            }
        }
        true
    });
    exited.unwrap_or(false)
}

pub fn ended_runs(ctx: &Arc<ClusterCtx>) -> String {
    let runs = ctx
        .framework_runs
        .load(std::sync::atomic::Ordering::Relaxed);
    let described = ctx.scenario.block(async {
        let mut handle = ctx.handle.lock().await;
        let Some(h) = handle.as_mut() else {
            return String::new();
        };
        let mut text = String::new();
        for index in 0..runs {
            let Ok(FrameworkStatus::Exited(code)) = h.framework_status(index).await else {
                continue;
            };
            let logs = h.framework_logs(index).await.unwrap_or_default();
            let lines: Vec<&str> = logs.lines().collect();
            let tail = lines[lines.len().saturating_sub(LOG_LINES)..].join("\n    ");
            text.push_str(&format!(
                "\nframework-{} exited with code {code}; its last lines:\n    {tail}",
                index + 1
            ));
        }
        text
    });
    described.unwrap_or_default()
}
