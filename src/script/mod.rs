//! Scenario scripts: the Rhai engine, the script API (`bindings`), errors people can act on,
//! and running one scenario against a fresh cluster from a backend.

pub mod bindings;
pub mod check;
pub mod context;
pub mod docs;
pub mod engine;
pub mod errors;
pub mod executor;
pub mod limits;
pub mod observer;
pub mod run;
pub mod timeline;
pub mod values;
