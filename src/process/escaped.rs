//! Finding and killing the processes a task or executor started that left its process group —
//! `setsid`, a daemon's double fork, Python's `start_new_session=True` — which no group kill
//! reaches. Mesos's Linux launcher finds them through the container's cgroup; mmrun finds them
//! by the environment they inherited: every task and executor gets `MESOS_SANDBOX=<its
//! sandbox>`, a path no other process has, and children keep their parent's environment unless
//! they clear it on purpose.

use std::path::Path;

/// How many sweeps to make: a process may fork while its siblings are being killed.
const SWEEPS: usize = 5;

/// SIGKILLs every process (but this one) whose environment holds `entry` exactly (e.g.
/// `MESOS_SANDBOX=/tmp/…/runs/<container>`). Returns how many it killed. Processes it may not
/// read (another user's) are left alone.
pub fn kill_marked(entry: &str) -> usize {
    if entry.is_empty() || !entry.contains('=') {
        return 0;
    }
    let me = std::process::id();
    let mut killed = std::collections::BTreeSet::new();
    for _ in 0..SWEEPS {
        // Those killed already may linger as zombies until their parent reaps them.
        let found: Vec<u32> = marked(Path::new("/proc"), entry, me)
            .into_iter()
            .filter(|pid| !killed.contains(pid))
            .collect();
        if found.is_empty() {
            break;
        }
        for pid in found {
            // SAFETY: kill(2) on a positive pid found under /proc.
            if unsafe { libc::kill(pid as i32, libc::SIGKILL) } == 0 {
                killed.insert(pid);
            }
        }
    }
    let killed = killed.len();
    if killed > 0 {
        tracing::info!(
            "killed {killed} process(es) that left their task's process group ({entry})"
        );
    }
    killed
}

/// The pids under `proc` (a procfs) whose environment holds `entry`, but `me`.
fn marked(proc: &Path, entry: &str, me: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir(proc) else {
        return vec![];
    };
    let wanted = entry.as_bytes();
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me && *pid > 1)
        .filter(|pid| {
            std::fs::read(proc.join(pid.to_string()).join("environ"))
                .is_ok_and(|environ| environ.split(|b| *b == 0).any(|e| e == wanted))
        })
        .filter(|pid| !is_zombie(proc, *pid))
        .collect()
}

/// A zombie is dead already (its parent has yet to reap it): nothing to kill.
fn is_zombie(proc: &Path, pid: u32) -> bool {
    std::fs::read_to_string(proc.join(pid.to_string()).join("stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    fn alive(pid: u32) -> bool {
        // A zombie (reaped by nobody yet) counts as gone.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    #[test]
    fn kills_marked_processes_in_sessions_of_their_own_and_spares_the_rest() {
        let marker = format!(
            "MESOS_SANDBOX=/tmp/mmrun-escape-test-{}",
            std::process::id()
        );
        let (name, value) = marker.split_once('=').unwrap();
        // One in a session of its own (what `setsid` does), one in the group: both marked.
        let mut escaped = std::process::Command::new("sleep");
        escaped.arg("30").env(name, value);
        // SAFETY: setsid(2) is async-signal-safe.
        unsafe {
            escaped.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut escaped = escaped.spawn().unwrap();
        let mut grouped = std::process::Command::new("sleep")
            .arg("30")
            .env(name, value)
            .spawn()
            .unwrap();
        let mut bystander = std::process::Command::new("sleep")
            .arg("30")
            .env(name, format!("{value}-other"))
            .spawn()
            .unwrap();
        // spawn() returns once the child is past the point of no return of execve, which is
        // before the kernel has laid out the new image's environment: until then its
        // /proc/<pid>/environ is empty. Wait until both show the marker.
        let me = std::process::id();
        let ready = Instant::now() + Duration::from_secs(5);
        while marked(Path::new("/proc"), &marker, me).len() < 2 && Instant::now() < ready {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(kill_marked(&marker), 2);
        let deadline = Instant::now() + Duration::from_secs(5);
        let _ = escaped.wait();
        let _ = grouped.wait();
        assert!(Instant::now() < deadline);
        assert!(alive(bystander.id()), "an unmarked process is spared");
        let _ = bystander.kill();
        let _ = bystander.wait();
        assert_eq!(kill_marked(&marker), 0, "nothing left");
        assert_eq!(kill_marked(""), 0);
    }
}
