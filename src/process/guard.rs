//! The process-group guard. mmrun starts it once (`start`), then registers every process group
//! it creates (`watch_group`), the environment marker of every task and executor it starts
//! (`watch_marker`) and every temporary directory of a cluster (`watch_dir`), each
//! unregistered when the returned [`Watched`] drops. The guard (`mmrun guard`, [`run`]) reads
//! `+g<pgid>` / `-g<pgid>` / `+m<NAME=value>` / `-m…` / `+d<path>` / `-d<path>` lines from its
//! stdin; at end of file — mmrun exited, gracefully or by SIGKILL, since the kernel closes the
//! pipe either way — it SIGKILLs every group still registered and every process carrying a
//! registered marker (those that left their group: `setsid`, daemons), removes every directory
//! still registered, and exits.
//!
//! Why a separate process and not PR_SET_PDEATHSIG: the death signal fires when the *thread*
//! that forked exits (tokio's blocking threads come and go), and it reaches only the direct
//! child, not what a `sh -c` forks. A group kill reaches every process that stayed in the
//! group; one that leaves it (`setsid`, a daemon) is found by the marker it inherited
//! (`crate::process::kill_marked`).
//!
//! Groups must be unregistered once empty: a pgid can be reused after its group is gone, and
//! the guard must never signal a stranger's group. Callers drop their [`Watched`] only after
//! they killed the group and reaped its leader.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

static GUARD: OnceLock<Mutex<ChildStdin>> = OnceLock::new();

/// Starts the guard for this process (once; later calls do nothing). `program` is the mmrun
/// binary (the guard is `program guard`).
pub fn start(program: &std::path::Path) -> std::io::Result<()> {
    if GUARD.get().is_some() {
        return Ok(());
    }
    let mut command = Command::new(program);
    command
        .arg("guard")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // SAFETY: setsid(2) is async-signal-safe. A session of its own keeps the guard out of the
    // terminal's process group, so Ctrl-C or a kill of mmrun's group does not end it first.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("the guard's stdin is not a pipe"))?;
    // The guard outlives us by design; it is not waited for (the init process reaps it).
    std::mem::forget(child);
    let _ = GUARD.set(Mutex::new(stdin));
    Ok(())
}

/// Whether a guard is watching (the CLI started one).
pub fn is_active() -> bool {
    GUARD.get().is_some()
}

/// Something registered with the guard (its line without the `+`/`-`); unregisters on drop.
#[must_use = "it is unregistered when this drops"]
pub struct Watched(Option<String>);

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(item) = &self.0 {
            send(&format!("-{item}\n"));
        }
    }
}

/// Registers the process group `pgid` (a child started with `process_group(0)` has its own
/// pid as pgid) with the guard, if there is one.
pub fn watch_group(pgid: Option<u32>) -> Watched {
    let pgid = pgid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1);
    watch(pgid.map(|p| format!("g{p}")))
}

/// Registers an environment entry (`MESOS_SANDBOX=<sandbox>`) whose processes are killed
/// should mmrun die: they may have left every process group mmrun knows.
pub fn watch_marker(entry: &str) -> Watched {
    let ok = entry.contains('=') && !entry.contains('\n');
    watch(ok.then(|| format!("m{entry}")))
}

/// Registers a directory for removal should mmrun die before removing it itself.
pub fn watch_dir(dir: &std::path::Path) -> Watched {
    let text = dir
        .to_str()
        .filter(|t| dir.is_absolute() && !t.contains('\n'));
    watch(text.map(|t| format!("d{t}")))
}

fn watch(item: Option<String>) -> Watched {
    match item {
        Some(item) if is_active() => {
            send(&format!("+{item}\n"));
            Watched(Some(item))
        }
        _ => Watched(None),
    }
}

fn send(line: &str) {
    if let Some(stdin) = GUARD.get() {
        let mut stdin = stdin.lock().unwrap_or_else(|e| e.into_inner());
        // A guard that died cannot be helped; the run goes on without it.
        let _ = stdin.write_all(line.as_bytes());
    }
}

/// The guard's own main loop (`mmrun guard`): registered groups are killed when stdin ends.
pub fn run(input: impl BufRead) -> i32 {
    // SAFETY: ignoring signals with signal(2) has no memory-safety preconditions.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
    let left = track(input);
    kill_groups(&left.groups);
    for marker in &left.markers {
        crate::process::kill_marked(marker);
    }
    for dir in &left.dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    0
}

/// What is still registered when the input ends.
#[derive(Debug, Default, PartialEq)]
struct Registered {
    groups: BTreeSet<i32>,
    markers: BTreeSet<String>,
    dirs: BTreeSet<std::path::PathBuf>,
}

/// Reads registrations until end of input; returns what is still registered.
fn track(input: impl BufRead) -> Registered {
    let mut left = Registered::default();
    for line in input.lines() {
        let Ok(line) = line else { break };
        let Some((add, rest)) = line
            .strip_prefix('+')
            .map(|r| (true, r))
            .or_else(|| line.strip_prefix('-').map(|r| (false, r)))
        else {
            continue;
        };
        if let Some(pgid) = rest.strip_prefix('g') {
            let Ok(pgid) = pgid.parse::<i32>() else {
                continue;
            };
            if !add {
                left.groups.remove(&pgid);
            } else if pgid > 1 {
                left.groups.insert(pgid);
            }
        } else if let Some(marker) = rest.strip_prefix('m') {
            if !add {
                left.markers.remove(marker);
            } else if marker.contains('=') {
                left.markers.insert(marker.to_string());
            }
        } else if let Some(dir) = rest.strip_prefix('d') {
            let dir = std::path::PathBuf::from(dir);
            if !add {
                left.dirs.remove(&dir);
            } else if dir.is_absolute() && dir.parent().is_some() {
                left.dirs.insert(dir);
            }
        }
    }
    left
}

fn kill_groups(groups: &BTreeSet<i32>) {
    for pgid in groups {
        // SAFETY: kill(2) with a negative pid signals that process group.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_registered_and_not_unregistered_is_what_is_left() {
        let input = "+g100\n+g200\n-g100\n+g300\ngarbage\n+g1\n+g-5\n-g999\n+d/tmp/a\n+d/tmp/b\n-d/tmp/a\n+drelative\n+d/\n+mMESOS_SANDBOX=/s/1\n+mMESOS_SANDBOX=/s/2\n-mMESOS_SANDBOX=/s/1\n+mnoequals\n";
        assert_eq!(
            track(std::io::Cursor::new(input)),
            Registered {
                groups: BTreeSet::from([200, 300]),
                markers: BTreeSet::from(["MESOS_SANDBOX=/s/2".into()]),
                dirs: BTreeSet::from(["/tmp/b".into()]),
            }
        );
    }

    #[test]
    fn without_a_guard_watching_is_a_no_op() {
        // No guard was started in unit tests.
        let w = watch_group(Some(12345));
        assert!(w.0.is_none());
    }

    #[test]
    fn the_guard_kills_a_registered_group_at_end_of_input() {
        use std::os::unix::process::CommandExt;
        let mut victim = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = victim.id() as i32;
        let input = format!("+g{pgid}\n");
        kill_groups(&track(std::io::Cursor::new(input)).groups);
        let status = victim.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}
