//! Processes mmrun starts for others (tasks, executors): signalling their process groups, and
//! finding the ones that left their group. A leaf: it knows nothing of agents or clusters.

mod escaped;
mod signals;

pub use escaped::kill_marked;
pub use signals::{kill_group, signal_name};
