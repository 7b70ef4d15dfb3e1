//! Whether this process can hold one more in-process agent: each needs a few file
//! descriptors, and an agent that cannot get them would only fail to register, seconds later.

use super::error::NodeError;

/// What an in-process agent holds open: its listener, the master's two connections to it
/// (messages and pings), its own connection to the master, and one spare (measured: about 5
/// per agent with 2 000 agents up).
const DESCRIPTORS_PER_AGENT: u64 = 5;
/// Kept free for everything else (frameworks, clients, files).
const DESCRIPTORS_RESERVE: u64 = 256;

/// Refuses agent `index` when this process could not give it the descriptors it needs:
/// counting them costs a directory read, so only once the limit is within reach.
pub(super) fn descriptors_for_one_more_agent(index: usize) -> Result<(), NodeError> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Ok(());
    }
    let limit = limit.rlim_cur;
    let estimate = (index as u64 + 1) * DESCRIPTORS_PER_AGENT + DESCRIPTORS_RESERVE;
    if estimate < limit / 2 {
        return Ok(());
    }
    let Ok(open) = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64) else {
        return Ok(());
    };
    if open + DESCRIPTORS_PER_AGENT + DESCRIPTORS_RESERVE > limit {
        return Err(NodeError::Descriptors {
            index,
            open,
            limit,
            per_agent: DESCRIPTORS_PER_AGENT,
        });
    }
    Ok(())
}
