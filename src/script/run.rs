//! Runs one scenario: compile, execute on a blocking thread (Rhai has no async), and always
//! tear the clusters down afterwards — on success, failure, cancellation and panic.

use super::context::{ScenarioCtx, lock};
use super::engine;
use super::errors::{Source, render_eval_error, render_parse_error};
use crate::cluster::Backend;
use crate::runner::scenario::artifact_folder;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
pub enum ScenarioError {
    /// The script does not compile or cannot be read: deterministic, not retried.
    Script(String),
    /// The scenario failed: an assertion, a failed step, a snapshot mismatch.
    Failed(String),
    /// Cancelled by a timeout, --fail-fast or Ctrl-C.
    Cancelled(String),
    /// The script asked to be skipped (`requires_docker()` on another backend).
    Skipped(String),
    /// The machine could not run the scenario (the Docker daemon went away): not retried.
    Environment(String),
}

pub struct ScenarioRun {
    pub result: Result<(), ScenarioError>,
    pub logs: Vec<String>,
    /// Files saved because the scenario failed.
    pub artifacts: Vec<PathBuf>,
    /// What the script and its clusters did, in time.
    pub timeline: crate::runner::Timeline,
    /// The folder the artifacts are in, when the scenario failed and saved some.
    pub artifacts_folder: Option<PathBuf>,
}

pub struct ScenarioInput {
    pub path: PathBuf,
    /// How the scenario is named in reports, e.g. `scripts/hello.rhai`.
    pub display: String,
    pub backend: Arc<dyn Backend>,
    pub cancel: CancellationToken,
    pub snapshots: Option<Arc<crate::snapshot::store::SnapshotStore>>,
    /// Where a failed scenario's master state and node logs go (under a folder per scenario).
    pub artifacts_dir: Option<PathBuf>,
    /// Leave a failed scenario's clusters running (`--keep`).
    pub keep_failed: bool,
    /// How frameworks talk to the master unless the script says.
    pub framework_api: crate::framework::FrameworkApi,
}

/// How long the last read of the clusters' state for the timeline may take.
const LAST_READ: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run_scenario(input: ScenarioInput) -> ScenarioRun {
    let text = match tokio::fs::read_to_string(&input.path).await {
        Ok(t) => t,
        Err(e) => {
            return ScenarioRun {
                result: Err(ScenarioError::Script(format!(
                    "cannot read {}: {e}",
                    input.display
                ))),
                logs: vec![],
                artifacts: vec![],
                timeline: Default::default(),
                artifacts_folder: None,
            };
        }
    };
    let ctx = Arc::new(ScenarioCtx {
        rt: tokio::runtime::Handle::current(),
        cancel: input.cancel.clone(),
        backend: input.backend,
        scenario: input.display.clone(),
        script_path: input.path.clone(),
        logs: Default::default(),
        clusters: Default::default(),
        snapshot_failures: Default::default(),
        snapshots: input.snapshots,
        framework_api: input.framework_api,
        timeline: Default::default(),
    });
    let script_ctx = ctx.clone();
    let display = input.display.clone();
    let observing = CancellationToken::new();
    // `MMRUN_TIMELINE=off`: no reads of the clusters' state for the timeline (the script's own
    // steps are still recorded), to rule the observer out when measuring.
    let observe = std::env::var("MMRUN_TIMELINE").as_deref() != Ok("off");
    let observer = tokio::spawn({
        let (ctx, stop) = (ctx.clone(), observing.clone());
        async move {
            let mut observer = super::observer::Observer::default();
            if observe {
                observer.run(&ctx, &stop).await;
            }
            observer
        }
    });
    let executed = crate::timing::timed(
        "scenario.script",
        tokio::task::spawn_blocking(move || execute(script_ctx, &display, &text)),
    )
    .await;
    observing.cancel();
    if let Ok(mut observer) = observer.await
        && observe
        && !input.cancel.is_cancelled()
    {
        // The clusters as the script left them, before they are torn down: the state the
        // scenario ended in is the one a failure is read against.
        let last = tokio::time::timeout(LAST_READ, observer.read(&ctx));
        let _ = crate::timing::timed("scenario.timeline", last).await;
    }
    let failed = !matches!(
        executed,
        Ok(Ok(())) | Ok(Err(ScenarioError::Script(_) | ScenarioError::Skipped(_)))
    );
    let mut artifacts = Vec::new();
    let mut artifacts_folder = None;
    if failed && let Some(dir) = &input.artifacts_dir {
        let dir = dir.join(artifact_folder(&input.display));
        let _ = std::fs::remove_dir_all(&dir);
        artifacts = ctx.save_artifacts(&dir).await;
        artifacts_folder = Some(dir);
    }
    if failed && input.keep_failed && !input.cancel.is_cancelled() {
        for kept in ctx.keep().await {
            // Printed at once: the user needs it now, whatever the report does with logs.
            eprintln!("mmrun: --keep: {}'s {kept}", input.display);
        }
    }
    crate::timing::timed("scenario.teardown", ctx.teardown()).await;
    let mut result = match executed {
        Ok(r) => r,
        Err(join) => Err(ScenarioError::Failed(format!(
            "internal error: the scenario's thread panicked: {join}"
        ))),
    };
    if input.cancel.is_cancelled() && result.is_err() {
        let text = match result {
            Err(ScenarioError::Failed(t))
            | Err(ScenarioError::Cancelled(t))
            | Err(ScenarioError::Script(t))
            | Err(ScenarioError::Skipped(t))
            | Err(ScenarioError::Environment(t)) => t,
            Ok(()) => String::new(),
        };
        result = Err(ScenarioError::Cancelled(text));
    }
    let snapshot_failures: Vec<String> = lock(&ctx.snapshot_failures).drain(..).collect();
    if result.is_ok() && !snapshot_failures.is_empty() {
        result = Err(ScenarioError::Failed(snapshot_failures.join("\n")));
    }
    let logs = lock(&ctx.logs).clone();
    ScenarioRun {
        result,
        logs,
        artifacts,
        timeline: ctx.timeline.take(),
        artifacts_folder,
    }
}

fn execute(ctx: Arc<ScenarioCtx>, display: &str, text: &str) -> Result<(), ScenarioError> {
    let engine = engine::build(ctx);
    let source = Source {
        path: display,
        text,
    };
    let ast = engine
        .compile(text)
        .map_err(|e| ScenarioError::Script(render_parse_error(&source, &e)))?;
    engine.run_ast(&ast).map_err(|e| {
        if let Some(reason) = super::context::skip_reason(&e) {
            return ScenarioError::Skipped(reason);
        }
        if let Some(reason) = super::context::environment_failure(&e) {
            let (line, column) = (e.position().line(), e.position().position());
            let at = match (line, column) {
                (Some(line), Some(column)) => format!("\n  --> {display}:{line}:{column}"),
                _ => String::new(),
            };
            return ScenarioError::Environment(format!("{reason}{at}"));
        }
        let mut known = engine::known(&engine);
        known
            .functions
            .extend(ast.iter_functions().map(|f| f.name.to_string()));
        ScenarioError::Failed(render_eval_error(&source, &e, &known))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{BackendError, ClusterHandle, ClusterSpec};

    /// A backend whose clusters cannot be created, for the reason given.
    struct Broken(fn() -> BackendError);

    #[async_trait::async_trait]
    impl Backend for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }
        async fn create(&self, _: ClusterSpec) -> Result<Box<dyn ClusterHandle>, BackendError> {
            Err((self.0)())
        }
    }

    async fn run_on(backend: Broken, script: &str) -> Result<(), ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.rhai");
        std::fs::write(&path, script).unwrap();
        let run = run_scenario(ScenarioInput {
            path,
            display: "scripts/s.rhai".into(),
            backend: Arc::new(backend),
            cancel: CancellationToken::new(),
            snapshots: None,
            artifacts_dir: None,
            keep_failed: false,
            framework_api: Default::default(),
        })
        .await;
        run.result
    }

    /// The machine failing (the Docker daemon gone) is an environment error, not the
    /// scenario's failure, and says where the script was; a missing install skips.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backend_errors_keep_their_kind_up_to_the_scenario_result() {
        let env = run_on(
            Broken(|| BackendError::Environment("cannot reach the Docker daemon".into())),
            "let x = 1;\nlet c = cluster();\n",
        )
        .await;
        match env {
            Err(ScenarioError::Environment(text)) => {
                assert!(text.contains("cannot reach the Docker daemon"), "{text}");
                assert!(text.contains("scripts/s.rhai:2:"), "{text}");
            }
            other => panic!("expected an environment error, got {other:?}"),
        }
        let missing = run_on(
            Broken(|| {
                BackendError::NotInstalled("install it with `apt-get install zookeeper`".into())
            }),
            "let c = cluster(#{ zookeeper: true });\n",
        )
        .await;
        assert!(
            matches!(&missing, Err(ScenarioError::Skipped(t)) if t.contains("apt-get install zookeeper")),
            "{missing:?}"
        );
        let failed = run_on(
            Broken(|| BackendError::failed("the master did not start")),
            "let c = cluster();\n",
        )
        .await;
        assert!(
            matches!(&failed, Err(ScenarioError::Failed(t)) if t.contains("the master did not start")),
            "{failed:?}"
        );
    }

    /// Records the spec it is asked for and refuses to build it.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Option<ClusterSpec>>);

    #[async_trait::async_trait]
    impl Backend for Arc<Recording> {
        fn name(&self) -> &'static str {
            "recording"
        }
        async fn create(&self, spec: ClusterSpec) -> Result<Box<dyn ClusterHandle>, BackendError> {
            *self.0.lock().unwrap() = Some(spec);
            Err(BackendError::failed("recorded"))
        }
    }

    async fn spec_of(script: &str) -> (Result<(), ScenarioError>, Option<ClusterSpec>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.rhai");
        std::fs::write(&path, script).unwrap();
        let recording = Arc::new(Recording::default());
        let run = run_scenario(ScenarioInput {
            path,
            display: "scripts/s.rhai".into(),
            backend: Arc::new(recording.clone()),
            cancel: CancellationToken::new(),
            snapshots: None,
            artifacts_dir: None,
            keep_failed: false,
            framework_api: Default::default(),
        })
        .await;
        let spec = recording.0.lock().unwrap().take();
        (run.result, spec)
    }

    /// `zk_session_timeout` reaches the backend; one ZooKeeper would not grant is refused
    /// before anything starts, saying the range.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_zookeeper_session_timeout_is_a_cluster_option_within_what_zookeeper_grants() {
        let (_, spec) =
            spec_of("cluster(#{ zookeeper: true, zk_session_timeout: \"10s\" });").await;
        let spec = spec.expect("the backend was asked for a cluster");
        assert_eq!(spec.zk_session_timeout, std::time::Duration::from_secs(10));
        let (_, default) = spec_of("cluster(#{ zookeeper: true });").await;
        assert_eq!(
            default.unwrap().zk_session_timeout,
            crate::cluster::ZK_SESSION_TIMEOUT
        );
        let (refused, spec) =
            spec_of("cluster(#{ zookeeper: true, zk_session_timeout: \"100ms\" });").await;
        assert!(spec.is_none(), "nothing may start with a refused option");
        assert!(
            matches!(&refused, Err(ScenarioError::Failed(t)) if t.contains("between 1s and 40s")),
            "{refused:?}"
        );
    }
}
