//! mmrun's exit codes, documented in the README and relied on by CI scripts.

/// Everything passed (or the command did what it was asked).
pub const OK: i32 = 0;
/// A scenario failed.
pub const SCENARIO_FAILED: i32 = 1;
/// `mmrun node`: the node stopped on its own, where Mesos's would `EXIT(EXIT_FAILURE)` (a
/// master that lost its ZooKeeper session or its leadership). Not 1, so a supervisor or a
/// script can tell an abort (start it again) from a failure.
pub const NODE_ABORTED: i32 = 5;
/// Bad usage: unknown flags, invalid values, scripts that do not compile.
pub const USAGE: i32 = 2;
/// The environment is not usable: a port in use, no usable backend, an unwritable directory.
pub const ENVIRONMENT: i32 = 3;
/// `mmrun check` (or `mmrun run`, before starting anything) found mistakes in scripts that
/// compile: unknown functions or methods, wrong argument counts, unknown option keys.
pub const CHECK_FAILED: i32 = 4;
/// Interrupted by Ctrl-C after cleaning up (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
