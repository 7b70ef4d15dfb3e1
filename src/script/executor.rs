//! Runs scenario scripts for the runner: one fresh cluster per attempt from the chosen backend.

use super::run::{ScenarioError, ScenarioInput, run_scenario};
use crate::cluster::Backend;
use crate::runner::{Attempt, Executor, Outcome, RunContext, Scenario};
use crate::snapshot::store::SnapshotStore;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Instant;

pub struct ScriptExecutor {
    pub backend: Arc<dyn Backend>,
    pub snapshots: Arc<SnapshotStore>,
    pub artifacts_dir: Option<std::path::PathBuf>,
    pub keep_failed: bool,
    /// How frameworks talk to the master unless a script says (`--framework-api`).
    pub framework_api: crate::framework::FrameworkApi,
}

impl Executor for ScriptExecutor {
    fn run(&self, scenario: Scenario, ctx: RunContext) -> BoxFuture<'static, Attempt> {
        let input = ScenarioInput {
            path: scenario.path,
            display: scenario.name,
            backend: self.backend.clone(),
            cancel: ctx.cancel,
            snapshots: Some(self.snapshots.clone()),
            artifacts_dir: self.artifacts_dir.clone(),
            keep_failed: self.keep_failed,
            framework_api: self.framework_api,
        };
        let name = input.display.clone();
        let path = input.path.clone();
        Box::pin(async move {
            let started = Instant::now();
            let run = run_scenario(input).await;
            let outcome = match run.result {
                Ok(()) => Outcome::Passed,
                Err(ScenarioError::Script(reason)) => Outcome::ScriptError(reason),
                Err(ScenarioError::Skipped(reason)) => Outcome::Skipped(reason),
                Err(ScenarioError::Environment(reason)) => Outcome::EnvironmentError(reason),
                Err(ScenarioError::Failed(reason)) => Outcome::Failed(reason),
                // Cancelled by the runner: after a timeout it reports "timed out after …" and
                // appends this reason, which keeps the script line the scenario was stuck on.
                Err(ScenarioError::Cancelled(reason)) => Outcome::Failed(reason),
            };
            let mut attempt = Attempt {
                outcome,
                duration: started.elapsed(),
                output: run.logs,
                artifacts: run.artifacts,
                timeline: run.timeline,
            };
            // The failed attempt's own page, beside its node logs: what a CI artifact of that
            // folder alone shows.
            if let Some(folder) = &run.artifacts_folder {
                let scenario = Scenario { path, name };
                match crate::report::html::write_scenario_page(folder, &scenario, &attempt) {
                    Ok(page) => attempt.artifacts.insert(0, page),
                    Err(e) => attempt.output.push(format!(
                        "mmrun: cannot write {}/report.html: {e}",
                        folder.display()
                    )),
                }
            }
            attempt
        })
    }
}
