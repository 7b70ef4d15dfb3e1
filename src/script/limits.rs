//! The limits a scenario's engine runs under, which stop runaway scripts (endless loops,
//! runaway memory), and the marker of a cancelled one: set by `engine`, explained to the
//! script's author by `errors`.

/// Far more than any real scenario needs (they spend their time waiting on the cluster, which
/// costs no operations); an endless loop reaches it in about a second.
pub const MAX_OPERATIONS: u64 = 10_000_000;
pub const MAX_CALL_LEVELS: usize = 64;
pub const MAX_STRING_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_ARRAY_LEN: usize = 100_000;
pub const MAX_MAP_LEN: usize = 100_000;

/// The marker `on_progress` returns when the scenario is cancelled.
pub const CANCELLED: &str = "mmrun: scenario cancelled";
