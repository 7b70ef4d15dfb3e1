//! `snapshot(name, value)` and `c.state()`: the normalised cluster state, compared with the
//! snapshot stored in insta's format. A mismatch does not stop the script: every snapshot of
//! the scenario is checked and all differences are reported together when it ends.

use super::ClusterHandleRef;
use crate::client::MasterClient;
use crate::mesos::state::MasterState;
use crate::script::context::{ScenarioCtx, ScriptResult, lock, script_error};
use crate::script::values::{to_dynamic, to_json};
use crate::snapshot::normalise::{AgentRef, normalise};
use crate::snapshot::store::SnapshotCheck;
use rhai::{Dynamic, Engine, FuncRegistration};
use std::sync::Arc;

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    FuncRegistration::new("state")
        .with_params_info(["c: Cluster", "map"])
        .with_comments([
            "/// The cluster's state, normalised for snapshots: agents by ordinal name, frameworks and\n/// tasks by name with their states in order, counts; no ids, times, ports or hostnames.",
        ])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<Dynamic> {
            let url = c.0.master_url()?;
            let mut state = c.0.scenario.block(MasterClient::new(url).state())?.map_err(|e| e.to_string())?;
            let agents: Vec<AgentRef> = lock(&c.0.agents)
                .iter()
                .map(|a| AgentRef { id: a.id.clone(), name: a.name.clone() })
                .collect();
            if c.0.scenario.backend.name() == "external" {
                let foreign = c.0.foreign_frameworks()?;
                scope_to_scenario(&mut state, &foreign, &agents);
            }
            to_dynamic(&normalise(&state, &agents))
        });
    let s = scenario;
    FuncRegistration::new("snapshot")
        .with_params_info(["name: string", "value: ?", "()"])
        .with_comments([
            "/// Compares `value` with the stored snapshot `name` (insta's format, under the snapshot\n/// directory). A new or changed snapshot fails the scenario with a diff and is written as\n/// `.snap.new` for `mmrun review`; `mmrun run --accept` writes it as accepted.",
        ])
        .register_into_engine(engine, move |name: &str, value: Dynamic| -> ScriptResult<()> {
            let Some(store) = &s.snapshots else {
                return script_error("snapshots are not configured for this run");
            };
            let json = to_json(&value)?;
            let stem = s.script_path.file_stem().map(|x| x.to_string_lossy().into_owned()).unwrap_or_default();
            let check = store
                .check(std::path::Path::new(&s.scenario), &stem, name, &json)
                .map_err(|e| format!("snapshot '{name}': {e}"))?;
            s.timeline.snapshot(name, check.passed());
            if !check.passed() {
                lock(&s.snapshot_failures).push(describe(name, &check));
            }
            Ok(())
        });
}

/// An external cluster's state as a fresh cluster's would be, as far as the scenario is
/// concerned: without the frameworks it held before the scenario attached, and with only the
/// agents the scenario attached to (the agent counters recounted over them).
fn scope_to_scenario(state: &mut MasterState, foreign: &[String], agents: &[AgentRef]) {
    state.frameworks.retain(|f| !foreign.contains(&f.id));
    state
        .completed_frameworks
        .retain(|f| !foreign.contains(&f.id));
    state.slaves.retain(|a| agents.iter().any(|r| r.id == a.id));
    let active = state.slaves.iter().filter(|a| a.active).count();
    state.activated_slaves = active as f64;
    state.deactivated_slaves = (state.slaves.len() - active) as f64;
    state.unreachable_slaves = 0.0;
}

fn describe(name: &str, check: &SnapshotCheck) -> String {
    let pending = |p: &Option<std::path::PathBuf>| {
        match p {
        Some(path) => format!("\n  written to {} (accept with `mmrun review` or `mmrun run --accept`)", path.display()),
        None => "\n  nothing written (CI or INSTA_UPDATE=no); run `mmrun run --accept` locally to record it".into(),
    }
    };
    match check {
        SnapshotCheck::New { pending: p, .. } => format!("snapshot '{name}' is new{}", pending(p)),
        SnapshotCheck::Changed {
            diff, pending: p, ..
        } => {
            format!(
                "snapshot '{name}' does not match the stored one:\n{diff}{}",
                pending(p)
            )
        }
        _ => format!("snapshot '{name}' failed"),
    }
}
