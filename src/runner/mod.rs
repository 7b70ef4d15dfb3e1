//! Finding scenarios and running them, each against its own fresh cluster, emitting events.

pub mod discover;
pub mod scenario;
pub mod select;

pub use discover::{DEFAULT_SCENARIO_DIR, DiscoverError, discover};
pub use scenario::{Attempt, Executor, Outcome, RunContext, Scenario};
pub use select::{Filter, SelectError, Shard, select};
