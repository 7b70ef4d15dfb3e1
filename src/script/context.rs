//! Per-scenario state shared by every binding: the runtime the script's blocking thread calls
//! into, the cancellation token (timeout, fail-fast, Ctrl-C), the backend, the log, and every
//! cluster the script created, so teardown can find them whatever happens.

use crate::cluster::{Backend, ClusterHandle};
use crate::framework::Framework;
use rhai::EvalAltResult;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

pub type ScriptResult<T> = Result<T, Box<EvalAltResult>>;

pub fn script_error<T>(message: impl Into<String>) -> ScriptResult<T> {
    Err(message.into().into())
}

/// Raised for a backend's environment error: the scenario ends as ENV ERROR, not as a failure.
#[derive(Clone, Debug)]
pub struct EnvironmentFailure(pub String);

/// A backend error as the script sees it, after `what` failed (e.g. `agent-1.start()`): an
/// environment error ends the scenario as ENV ERROR, a missing install skips it, the rest fail
/// it where the script called.
/// What a binding called after the scenario's teardown gets: the handle is there from
/// `cluster()` until the teardown takes it, and a script may keep a closure that outlives it.
pub fn torn_down() -> crate::cluster::BackendError {
    crate::cluster::BackendError::failed("the cluster was torn down")
}

pub fn backend_error(what: &str, e: crate::cluster::BackendError) -> Box<EvalAltResult> {
    use crate::cluster::BackendError as B;
    // The whole chain: a failure's cause (an agent that did not register, a refused request)
    // is what the script's author needs.
    let text = crate::errors::error_chain(&e);
    let message = if what.is_empty() {
        text
    } else {
        format!("{what}: {text}")
    };
    match e {
        B::Environment(_) => Box::new(EvalAltResult::ErrorRuntime(
            rhai::Dynamic::from(EnvironmentFailure(message)),
            rhai::Position::NONE,
        )),
        B::NotInstalled(how) => skip(how),
        B::NeedsNodeControl(why) => skip(if what.is_empty() {
            why
        } else {
            format!("{what}: {why}")
        }),
        _ => message.into(),
    }
}

/// The environment error a script ended with, looking through nested function calls.
pub fn environment_failure(error: &EvalAltResult) -> Option<String> {
    match error {
        EvalAltResult::ErrorRuntime(value, _) => {
            value.clone().try_cast::<EnvironmentFailure>().map(|f| f.0)
        }
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => environment_failure(inner),
        _ => None,
    }
}

/// Raised by `requires_docker()` / `requires_embedded()` on another backend: the scenario ends as skipped.
#[derive(Clone, Debug)]
pub struct SkipScenario(pub String);

/// The error that ends the scenario as skipped, saying why.
pub fn skip(reason: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        rhai::Dynamic::from(SkipScenario(reason)),
        rhai::Position::NONE,
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

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A script's handle to one cluster (`Cluster` in scripts).
#[derive(Clone)]
pub struct ClusterHandleRef(pub Arc<ClusterCtx>);

pub struct ScenarioCtx {
    pub rt: tokio::runtime::Handle,
    pub cancel: CancellationToken,
    pub backend: Arc<dyn Backend>,
    /// The scenario's display name, e.g. `scripts/hello.rhai`.
    pub scenario: String,
    pub script_path: PathBuf,
    pub logs: Mutex<Vec<String>>,
    pub clusters: Mutex<Vec<Arc<ClusterCtx>>>,
    /// Snapshot mismatches: reported together when the script ends.
    pub snapshot_failures: Mutex<Vec<String>>,
    /// Where `snapshot()` compares and records; `None` when the run has no snapshot store.
    pub snapshots: Option<Arc<crate::snapshot::store::SnapshotStore>>,
    /// How frameworks talk to the master unless the script says (`mmrun run --framework-api`).
    pub framework_api: crate::framework::FrameworkApi,
    /// What the script and its clusters did, in time, for the HTML report.
    pub timeline: super::timeline::TimelineRecorder,
}

impl ScenarioCtx {
    /// Runs `future` to completion from the script's thread, or fails when the scenario is
    /// cancelled: a native call blocked in I/O does not tick Rhai's operation counter.
    pub fn block<F: Future>(&self, future: F) -> ScriptResult<F::Output> {
        let cancel = self.cancel.clone();
        self.rt.block_on(async move {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => script_error("the scenario was cancelled (timeout, --fail-fast or Ctrl-C)"),
                out = future => Ok(out),
            }
        })
    }

    /// The scenario's own directory, absolute: what relative paths in a script are relative
    /// to. A script named without a directory (`mmrun x.rhai`) is in the current one.
    pub fn dir(&self) -> PathBuf {
        scenario_dir(&self.script_path)
    }

    pub fn log(&self, line: String) {
        self.timeline.log(&line);
        lock(&self.logs).push(line);
    }

    /// Saves each cluster's master state and node logs under `dir/cluster-<n>/`, for a failed
    /// scenario; returns the files written.
    pub async fn save_artifacts(&self, dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let clusters: Vec<Arc<ClusterCtx>> = lock(&self.clusters).clone();
        let mut saved = Vec::new();
        for (i, c) in clusters.iter().enumerate() {
            let dir = dir.join(format!("cluster-{}", i + 1));
            if std::fs::create_dir_all(&dir).is_err() {
                continue;
            }
            let url = lock(&c.master_url).clone();
            if let Some(url) = url {
                let state = crate::client::MasterClient::new(url).raw_state().await;
                let text = match state {
                    Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                    Err(e) => format!("{{\"error\": {:?}}}", e.to_string()),
                };
                let path = dir.join("master-state.json");
                if std::fs::write(&path, text).is_ok() {
                    saved.push(path);
                }
            }
            if let Some(handle) = c.handle.lock().await.as_ref() {
                saved.extend(handle.save_artifacts(&dir).await);
            }
        }
        saved
    }

    /// Leaves every cluster that can outlive the run running (`--keep`); returns how to reach
    /// each. Clusters that cannot are left for `teardown`.
    pub async fn keep(&self) -> Vec<String> {
        let clusters: Vec<Arc<ClusterCtx>> = lock(&self.clusters).clone();
        let mut kept = Vec::new();
        for c in clusters {
            let mut handle = c.handle.lock().await;
            if let Some(text) = handle.as_ref().and_then(|h| h.how_to_reach()) {
                // Dropped without teardown: the containers stay until `mmrun down`.
                handle.take();
                kept.push(text);
            }
        }
        kept
    }

    /// Tears down every cluster the script created; idempotent.
    pub async fn teardown(&self) {
        let clusters: Vec<Arc<ClusterCtx>> = lock(&self.clusters).drain(..).collect();
        for c in clusters {
            c.teardown().await;
        }
    }
}

pub struct AgentEntry {
    pub name: String,
    pub id: String,
}

/// One cluster a script created.
pub struct ClusterCtx {
    pub scenario: Arc<ScenarioCtx>,
    pub spec: crate::cluster::ClusterSpec,
    pub handle: tokio::sync::Mutex<Option<Box<dyn ClusterHandle>>>,
    pub agents: Mutex<Vec<AgentEntry>>,
    pub frameworks: Mutex<Vec<Framework>>,
    /// How many frameworks the script runs itself (`run_framework`): their tasks may appear
    /// any time, so waiting for an unknown task name is not a mistake then.
    pub framework_runs: std::sync::atomic::AtomicUsize,
    pub master_url: Mutex<Option<String>>,
    /// Follows the leading master through ZooKeeper, when the cluster has it.
    pub leader: Mutex<Option<Arc<crate::zookeeper::LeaderDetector>>>,
    /// What `submit_framework` speaks unless told otherwise (`cluster(#{ encoding })`).
    pub encoding: crate::mesos::encoding::Encoding,
    /// How `submit_framework`'s frameworks talk to the master unless told (`cluster(#{ api })`).
    pub api: crate::framework::FrameworkApi,
}

impl ScenarioCtx {
    /// Runs the await `step` (a script step that waits for `what`), recording it on the
    /// timeline: how long it waited and whether it held. A failure after the scenario was
    /// cancelled is `Unfinished`: the await did not fail, the scenario was stopped.
    pub fn awaiting<T>(
        &self,
        what: impl FnOnce() -> String,
        step: impl FnOnce() -> ScriptResult<T>,
    ) -> ScriptResult<T> {
        let id = self.timeline.start_await(what());
        let result = step();
        let end = match (&result, self.cancel.is_cancelled()) {
            (Ok(_), _) => crate::runner::timeline::AwaitEnd::Ok,
            (Err(_), true) => crate::runner::timeline::AwaitEnd::Unfinished,
            (Err(_), false) => crate::runner::timeline::AwaitEnd::Failed,
        };
        self.timeline.end_await(id, end);
        result
    }
}

impl ClusterCtx {
    /// Runs `op` on the cluster's backend handle, on the runtime; its error reads as the
    /// script's, after `what` (e.g. `master-2.stop()`; empty: the error alone).
    pub fn with_handle<T>(
        &self,
        what: &str,
        op: impl AsyncFnOnce(&mut dyn ClusterHandle) -> Result<T, crate::cluster::BackendError>,
    ) -> ScriptResult<T> {
        let result = self.scenario.block(async {
            let mut handle = self.handle.lock().await;
            match handle.as_mut() {
                Some(h) => op(h.as_mut()).await,
                None => Err(torn_down()),
            }
        })?;
        result.map_err(|e| backend_error(what, e))
    }

    /// The master to ask: the leader ZooKeeper names now (or the last one it named), else the
    /// one master.
    pub fn master_url(&self) -> ScriptResult<String> {
        let detected = lock(&self.leader).as_ref().and_then(|d| {
            d.current()
                .info()
                .map(|i| format!("http://{}:{}", i.address.ip, i.address.port))
        });
        if let Some(url) = detected {
            *lock(&self.master_url) = Some(url);
        }
        lock(&self.master_url)
            .clone()
            .ok_or_else(|| "the cluster has no master yet: call c.start_master() first".into())
    }

    /// Frameworks the cluster held before the scenario attached (`--backend external`): left
    /// out of what the script reads of the master's state. Empty for a fresh cluster.
    pub fn foreign_frameworks(&self) -> ScriptResult<Vec<String>> {
        // Only a cluster mmrun attached to holds any: the others are not asked at all.
        if self.scenario.backend.name() != "external" {
            return Ok(Vec::new());
        }
        self.scenario.block(async {
            self.handle
                .lock()
                .await
                .as_ref()
                .map(|h| h.foreign_frameworks())
                .unwrap_or_default()
        })
    }

    pub fn agent_name(&self, id: &str) -> String {
        lock(&self.agents)
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "agent-?".into())
    }

    async fn teardown(&self) {
        let frameworks: Vec<Framework> = lock(&self.frameworks).drain(..).collect();
        let ids: Vec<String> = frameworks.iter().map(|f| f.id().value.clone()).collect();
        for f in frameworks {
            f.disconnect();
        }
        if let Some(mut handle) = self.handle.lock().await.take() {
            if !ids.is_empty() {
                handle.end_frameworks(ids).await;
            }
            handle.teardown().await;
        }
    }
}

/// The absolute directory of `script`, with no `.` components: `x.rhai` and `./x.rhai` are in
/// the current directory (an empty parent used to make relative paths resolve nowhere).
pub fn scenario_dir(script: &std::path::Path) -> PathBuf {
    let dir = script
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute.components().collect()
}

#[cfg(test)]
mod backend_error_tests {
    use super::{backend_error, skip_reason};
    use crate::cluster::BackendError;

    /// A refusal for lack of node control (`--backend external`) skips the scenario, saying
    /// which call and why; other backend errors fail it.
    #[test]
    fn needing_node_control_skips_the_scenario_with_the_reason() {
        let e = backend_error(
            "agent-1.kill()",
            BackendError::NeedsNodeControl("killing an agent needs control".into()),
        );
        assert_eq!(
            skip_reason(&e).as_deref(),
            Some("agent-1.kill(): killing an agent needs control")
        );
        let failed = backend_error("agent-1.kill()", BackendError::failed("no"));
        assert_eq!(skip_reason(&failed), None);
    }
}

#[cfg(test)]
mod scenario_dir_tests {
    use super::scenario_dir;
    use std::path::Path;

    #[test]
    fn a_script_named_without_a_directory_is_in_the_current_one() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(scenario_dir(Path::new("x.rhai")), here);
        assert_eq!(scenario_dir(Path::new("./x.rhai")), here);
        assert_eq!(scenario_dir(Path::new("sub/x.rhai")), here.join("sub"));
        assert_eq!(
            scenario_dir(Path::new("/abs/dir/x.rhai")),
            Path::new("/abs/dir")
        );
    }
}
