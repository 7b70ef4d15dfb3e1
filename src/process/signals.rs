//! Signals to process groups, and their names as Mesos's executors report them.

/// Sends `signal` to the process group led by `pid` (a child started with
/// `process_group(0)`). Nothing without a pid.
pub fn kill_group(pid: Option<u32>, signal: i32) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
        // SAFETY: kill(2) with a negative pid signals the task's own process group.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// The name Mesos's command executor gives a terminating signal ("Command terminated with
/// signal Killed").
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "Terminated",
        libc::SIGKILL => "Killed",
        libc::SIGINT => "Interrupt",
        libc::SIGSEGV => "Segmentation fault",
        libc::SIGABRT => "Aborted",
        libc::SIGHUP => "Hangup",
        _ => "Unknown signal",
    }
}
