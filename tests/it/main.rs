//! mmrun's integration tests: one crate, linked once.
//!
//! Every test here drives mmrun from the outside — its library's public API, its binary, real
//! HTTP, a real Docker daemon, real ZooKeeper and unmodified third-party clients — and shares
//! one harness (`common`). They used to be 24 crates, each linking mmrun and its dependencies on
//! its own; on 2 cores that linking was most of `cargo test`'s build.
//!
//! Pick a group with a filter: `cargo test --test it conformance::`, `docker::`, `clients::`,
//! `ha::`, `ui::`, or one test by name.

mod common;

mod clients;
mod cluster;
mod conformance;
mod docker;
mod executors;
mod external;
mod faults;
mod fetcher;
mod framework_failover;
mod framework_process;
mod ha;
mod health_checks;
mod master_behaviour;
mod regressions;
mod robustness;
mod run_cli;
mod script_api_docs;
mod ui;
