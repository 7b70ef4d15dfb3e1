//! Mesos wire types, defined once and shared by mmrun's master, agent and clients, so the
//! server and everything that reads it cannot drift apart. JSON rules (reference section 0):
//! snake_case proto field names, enum names as strings, ids as `{"value": …}`, unknown keys
//! ignored, `null` accepted for repeated fields.

pub mod agent_operator;
pub mod attributes;
pub mod container;
pub mod discovery;
pub mod encoding;
pub mod executor;
pub mod framework;
pub mod health_check;
pub mod ids;
pub mod internal;
pub mod lenient;
pub mod operator;
pub mod operator_event;
pub mod recordio;
pub mod resources;
pub mod scheduler;
pub mod state;
pub mod task;
pub mod values;
pub mod volume;

/// The Mesos release whose wire behaviour mmrun follows; clients parse it as `X.Y.Z`.
pub const MESOS_VERSION: &str = "1.11.0";
