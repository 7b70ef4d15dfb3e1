//! Processes mmrun starts on this host (tasks, executors, framework processes, ZooKeeper), and
//! the promise that none outlives a run, even when mmrun itself is killed with SIGKILL, which
//! no handler sees: process groups, the death signal, signalling a group, finding the processes
//! that left their group, and the guard that outlives mmrun. A leaf: it knows nothing of agents
//! or clusters.
//!
//! - [`guard`]: a small child process (`mmrun guard`, in its own session) told the process
//!   groups mmrun starts on this host. When the pipe from mmrun closes (mmrun exited,
//!   however), it SIGKILLs every group still registered. It is started by the CLI (`run`,
//!   `up`); library users (tests) clean up through teardown and `Drop`, and
//!   [`guard::watch_group`] is then a no-op.
//! - [`supervised`]: one process with its log, spawned in a group of its own with the death
//!   signal and registered with the guard.
//!
//! Docker objects have a watcher of their own, the reaper container (`crate::docker::reaper`).

mod command_line;
mod escaped;
pub mod guard;
mod signals;
mod supervised;

pub use command_line::command_line;
pub use escaped::kill_marked;
pub use signals::{kill_group, signal_name};
pub use supervised::{
    FrameworkProcess, FrameworkStatus, ProcessError, ProcessRequest, STOP_GRACE, TEARDOWN_GRACE,
    save_logs,
};
