//! What only a containerized cluster has: `requires_docker()` (and its opposite,
//! `requires_embedded()`), and framework (scheduler) containers through `c.run_framework(…)`.

use super::ClusterHandleRef;
use crate::cluster::FrameworkContainer;
use crate::script::context::{ClusterCtx, ScenarioCtx, ScriptResult};
use crate::script::values::Options;
use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map, Position};
use std::sync::Arc;

/// Raised by `requires_docker()` / `requires_embedded()` on another backend: the scenario ends as skipped.
#[derive(Clone, Debug)]
pub struct SkipScenario(pub String);

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

/// A script's handle to a framework container (`FrameworkContainer` in scripts).
#[derive(Clone)]
pub struct FrameworkContainerHandle {
    cluster: Arc<ClusterCtx>,
    index: usize,
    name: String,
}

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    engine.register_type_with_name::<FrameworkContainerHandle>("FrameworkContainer");
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
        .with_params_info(["c: Cluster", "options: map", "FrameworkContainer"])
        .with_comments([
            "/// Runs a framework (scheduler) container on the cluster's network (Docker backend), with\n/// `MESOS_MASTER` set to the master and `LIBPROCESS_IP` to its own address. Options:\n/// `image` (default: mmrun's node image, whose entrypoint is `mmrun`), `cmd` (array of\n/// strings, or a string run by `sh -c`), `env` (map). Removed with the cluster.",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef, options: Map| -> ScriptResult<FrameworkContainerHandle> {
                run_framework(&c.0, &options)
            },
        );
    FuncRegistration::new("name")
        .with_params_info(["f: FrameworkContainer", "string"])
        .with_comments(["/// The container's name, e.g. `mmrun-3f2a9c1b-scenario-framework-1`."])
        .register_into_engine(engine, |f: &mut FrameworkContainerHandle| -> String {
            f.name.clone()
        });
    FuncRegistration::new("logs")
        .with_params_info(["f: FrameworkContainer", "string"])
        .with_comments(["/// Everything the container has written so far (stdout and stderr)."])
        .register_into_engine(
            engine,
            |f: &mut FrameworkContainerHandle| -> ScriptResult<String> {
                let ctx = f.cluster.clone();
                let index = f.index;
                let logs = ctx.scenario.block(async {
                    let handle = ctx.handle.lock().await;
                    match handle.as_ref() {
                        Some(h) => h.framework_logs(index).await,
                        None => Ok(String::new()),
                    }
                })?;
                logs.map_err(|e| format!("{}: {e}", f.name).into())
            },
        );
}

fn run_framework(ctx: &Arc<ClusterCtx>, options: &Map) -> ScriptResult<FrameworkContainerHandle> {
    let o = Options::new(options, "run_framework", &["image", "cmd", "env"])?;
    let cmd = match o.get("cmd") {
        None => vec![],
        Some(v) if v.is_string() => vec!["sh".into(), "-c".into(), v.to_string()],
        Some(v) => v
            .clone()
            .try_cast::<Array>()
            .ok_or("run_framework: cmd must be a string or an array of strings")?
            .into_iter()
            .map(|item| item.to_string())
            .collect(),
    };
    let env = match o.get("env") {
        None => vec![],
        Some(v) => v
            .clone()
            .try_cast::<Map>()
            .ok_or("run_framework: env must be a map, e.g. #{ FOO: \"bar\" }")?
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
    };
    let request = FrameworkContainer {
        image: o.string("image")?.unwrap_or_default(),
        cmd,
        env,
    };
    ctx.master_url()?;
    let started = ctx.scenario.block(async {
        let mut handle = ctx.handle.lock().await;
        let handle = handle.as_mut().expect("created with the cluster");
        handle.run_framework(request).await
    })?;
    let (index, name) = started.map_err(|e| format!("run_framework: {e}"))?;
    Ok(FrameworkContainerHandle {
        cluster: ctx.clone(),
        index,
        name,
    })
}
