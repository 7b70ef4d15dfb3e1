//! mmrun: fresh Mesos clusters for testing Mesos frameworks.

pub mod cli;
pub mod client;
pub mod cluster;
pub mod docker;
pub mod errors;
pub mod exit_codes;
pub mod flags;
pub mod framework;
pub mod http_client;
pub mod libprocess;
pub mod lite;
pub mod mesos;
pub mod node_log;
pub mod process;
pub mod report;
pub mod runner;
pub mod script;
pub mod snapshot;
pub mod timing;
pub mod wait;
pub mod zookeeper;

/// mimalloc, not glibc's malloc, for every binary built on this crate (mmrun, its tests and
/// benches): a master of ten thousand agents lives on many small, short-lived allocations
/// (offers, status updates, encoded events), and glibc's arenas spent a third of its time in
/// `sysmalloc`, page faults and consolidation. Measured with `cargo bench --bench scale`
/// (docs/benchmarks.md): registering 10 000 agents and the first OFFERS 30-45 % faster.
/// mimalloc 2 (the `v2` feature), as Debian ships it, with its arenas committed on demand
/// (`.cargo/config.toml`): committed eagerly, as both 2 and 3 do by default where the kernel
/// overcommits, the same master held 1.3 GiB resident, not 180 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
