//! Builds the Rhai engine a scenario runs in: the script API plus limits that stop runaway
//! scripts (endless loops, runaway memory) with a clear message.

use super::bindings;
use super::context::ScenarioCtx;
use super::limits::{
    CANCELLED, MAX_ARRAY_LEN, MAX_CALL_LEVELS, MAX_MAP_LEN, MAX_OPERATIONS, MAX_STRING_BYTES,
};
use rhai::{Dynamic, Engine};
use std::sync::Arc;

pub fn build(scenario: Arc<ScenarioCtx>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_string_size(MAX_STRING_BYTES)
        .set_max_array_size(MAX_ARRAY_LEN)
        .set_max_map_size(MAX_MAP_LEN)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true);
    let cancel = scenario.cancel.clone();
    engine.on_progress(move |_| cancel.is_cancelled().then(|| Dynamic::from(CANCELLED)));
    bindings::register(&mut engine, scenario);
    engine
}

/// The engine with the script API but no scenario behind it: for names and generated docs.
pub fn for_metadata() -> Engine {
    // A current-thread runtime without drivers (no I/O, no timers) opens nothing: building
    // it only allocates. Metadata never runs a script on it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime for metadata");
    let ctx = Arc::new(ScenarioCtx {
        rt: rt.handle().clone(),
        cancel: Default::default(),
        backend: Arc::new(crate::cluster::embedded::Embedded),
        scenario: String::new(),
        script_path: Default::default(),
        logs: Default::default(),
        clusters: Default::default(),
        snapshot_failures: Default::default(),
        snapshots: None,
        framework_api: Default::default(),
        timeline: Default::default(),
    });
    build(ctx)
}

/// What error hints draw on: the API's function names and signatures, and the properties of
/// the maps it returns. The script's own functions are added by the caller.
pub fn known(engine: &Engine) -> super::errors::Known {
    super::errors::Known {
        functions: function_names(engine),
        signatures: super::docs::signatures(engine),
        properties: bindings::MAP_PROPERTIES
            .iter()
            .map(|p| p.to_string())
            .collect(),
    }
}

/// Names of every function a script can call, for "did you mean" suggestions.
pub fn function_names(engine: &Engine) -> Vec<String> {
    let mut names: Vec<String> = engine
        .gen_fn_signatures(true)
        .iter()
        .filter_map(|sig| sig.split(['(', ' ']).next().map(String::from))
        .map(|n| n.rsplit('.').next().unwrap_or(&n).to_string())
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
