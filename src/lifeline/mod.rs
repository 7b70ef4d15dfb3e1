//! Nothing a run starts outlives it, even when mmrun itself is killed with SIGKILL, which no
//! handler sees. Two watchers outlive mmrun and clean up when it is gone:
//!
//! - [`guard`]: a small child process (`mmrun guard`, in its own session) told the process
//!   groups mmrun starts on this host — task, executor and framework processes. When the pipe
//!   from mmrun closes (mmrun exited, however), it SIGKILLs every group still registered.
//! - the Docker reaper (`crate::docker::reaper`): a container whose stdin mmrun holds attached
//!   (the lifeline) and which, when the daemon closes that stdin because mmrun's connection
//!   ended, removes every container and network mmrun made.
//!
//! Both are started by the CLI (`run`, `up`); library users (tests) clean up through teardown
//! and `Drop` as before, and [`guard::watch_group`] is then a no-op.

pub mod guard;
