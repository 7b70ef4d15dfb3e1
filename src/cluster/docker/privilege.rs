//! What privileges agents' containers get: `--privileged`, as Mesos agents in containers are
//! run, or, on an engine that cannot grant it, every capability the engine has. Probing the
//! local daemon's capability bounding set lets a run choose at once instead of learning it from
//! a refused start.

/// How agents get the privileges a Mesos agent needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Privilege {
    /// `--privileged`, as Mesos agents in containers are run.
    Privileged,
    /// For engines that cannot grant `--privileged` (one itself confined to fewer capabilities
    /// than the kernel knows, as in some CI sandboxes): every capability the engine has, with
    /// seccomp and AppArmor lifted.
    Capabilities(Vec<String>),
}

impl Privilege {
    /// The fallback for this host: the capabilities in our own bounding set, which on a local
    /// engine are the ones it can hand out.
    pub fn host_capabilities() -> Privilege {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let mask = status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0);
        Privilege::Capabilities(capabilities_in(mask))
    }

    /// What agents of the daemon whose socket is `socket` (a local path; `None` for a remote
    /// daemon) get from the start. Learning that an engine cannot grant `--privileged` by
    /// trying costs every run a refused start and the agents' re-creation (about 1 s on our
    /// CI sandbox, 40% of a small scenario), so when the daemon is this machine's and its
    /// process is visibly confined — its bounding set lacks a capability that `--privileged`
    /// asks for — agents get the fallback at once. Anything unreadable (another PID namespace,
    /// no pid file, a remote daemon) means `--privileged`, with the refusal still handled at
    /// start as before.
    pub fn expected_for(socket: Option<&str>) -> Privilege {
        let mask = socket.and_then(daemon_bounding_set);
        let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok());
        match (mask, last_cap) {
            (Some(mask), Some(last_cap)) if refuses_privileged(mask, last_cap) => {
                Privilege::Capabilities(capabilities_in(mask))
            }
            _ => Privilege::Privileged,
        }
    }
}

/// The capability bounding set of the Docker daemon listening on `socket`, when it runs on this
/// machine in our PID namespace: dockerd writes its pid beside its socket by default
/// (`/var/run/docker.pid`, rootless `$XDG_RUNTIME_DIR/docker.pid`), and the process must be a
/// `dockerd` (a stale file, or a pid of another namespace, is not trusted).
fn daemon_bounding_set(socket: &str) -> Option<u64> {
    let pid_file = std::path::Path::new(socket).with_file_name("docker.pid");
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    if comm.trim() != "dockerd" {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// Whether a daemon with bounding set `mask` must refuse `--privileged`: runc then asks for
/// every capability the engine knows and the kernel has (bits up to `last_cap`), and cannot
/// grant one its own bounding set lacks ("unable to apply caps").
fn refuses_privileged(mask: u64, last_cap: usize) -> bool {
    (0..CAPABILITIES.len().min(last_cap + 1)).any(|bit| mask >> bit & 1 == 0)
}

/// Linux capability names by bit number, as Docker's `--cap-add` takes them: the ones Docker
/// 20.10 knows (it refuses PERFMON, BPF and CHECKPOINT_RESTORE, bits 38–40).
const CAPABILITIES: [&str; 38] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
];

fn capabilities_in(mask: u64) -> Vec<String> {
    CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask >> bit & 1 == 1)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// Whether a container start failed because the engine cannot grant `--privileged`.
pub fn is_privilege_refusal(message: &str) -> bool {
    message.contains("apply caps") || message.contains("operation not permitted: unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_lacking_a_capability_the_kernel_has_refuses_privileged() {
        // Our CI sandbox: everything but SYS_RESOURCE (bit 24), kernel up to bit 40.
        assert!(refuses_privileged(0x01ff_feff_ffff, 40));
        assert!(!refuses_privileged(0x01ff_ffff_ffff, 40));
        // Bits Docker 20.10 does not know (38–40) are not asked for.
        assert!(!refuses_privileged(0x003f_ffff_ffff, 40));
        // An older kernel knows fewer: the missing bits above its last are not asked for.
        assert!(!refuses_privileged(0x00ff_ffff_ffff >> 3, 36));
        // Without a readable local daemon, agents start privileged.
        assert_eq!(
            Privilege::expected_for(Some("/nonexistent/docker.sock")),
            Privilege::Privileged
        );
        assert_eq!(Privilege::expected_for(None), Privilege::Privileged);
    }

    #[test]
    fn a_mask_names_its_capabilities() {
        assert_eq!(
            capabilities_in(0b1_0000_0000_0000_0000_0000_0001),
            ["CHOWN", "SYS_RESOURCE"]
        );
    }
}
