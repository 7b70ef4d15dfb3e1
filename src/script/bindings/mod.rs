//! The script API, one file per namespace. Every function is registered with doc comments so
//! docs/script-api.md can be generated from the engine itself.

pub mod agent;
pub mod cluster;
pub mod containers;
pub mod framework;
pub mod general;
pub mod images;
pub mod masters;
pub mod observe;
pub mod option_keys;
pub mod snapshot;
pub mod task_options;

use rhai::Engine;

pub use crate::script::context::ClusterHandleRef;
pub use agent::AgentHandle;
pub use framework::FrameworkHandle;
pub use masters::MasterHandle;

/// Every property of the maps the API returns, for "did you mean" on a misspelt one.
pub const MAP_PROPERTIES: &[&str] = &framework::TASK_MAP_KEYS;

pub fn register(engine: &mut Engine, scenario: std::sync::Arc<super::context::ScenarioCtx>) {
    engine
        .register_type_with_name::<ClusterHandleRef>("Cluster")
        .register_type_with_name::<MasterHandle>("Master")
        .register_type_with_name::<AgentHandle>("Agent")
        .register_type_with_name::<FrameworkHandle>("Framework");
    general::register(engine, scenario.clone());
    images::register(engine, scenario.clone());
    cluster::register(engine, scenario.clone());
    containers::register(engine, scenario.clone());
    snapshot::register(engine, scenario);
    agent::register(engine);
    masters::register(engine);
    observe::register(engine);
    framework::register(engine);
}
