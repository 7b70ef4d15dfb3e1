//! The host files an image is made of: the mmrun binary (node image only), a userland, and the
//! shared libraries and dynamic loader of every binary (see [`super::libraries`]), copied to the
//! same paths. The userland is busybox when the host has it; otherwise the host's own `/bin/sh`
//! and core tools, which every Linux machine has — so a machine with nothing but a Docker
//! daemon builds the images without installing anything.

use super::NodeImageError;
use super::libraries::{HostFile, shared_libraries};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where busybox is looked for; Debian's `busybox-static` installs the first.
const BUSYBOX_CANDIDATES: [&str; 2] = ["/bin/busybox", "/usr/bin/busybox"];

/// Names the busybox to use (`MMRUN_BUSYBOX=/opt/busybox`), or, set empty, builds from the
/// host's tools even where busybox is installed.
pub const BUSYBOX_ENV: &str = "MMRUN_BUSYBOX";

/// Where the host's tools are looked for, in order.
const TOOL_DIRS: [&str; 4] = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/// The commands taken from the host when there is no busybox: what task commands and scripts
/// commonly run (POSIX utilities, coreutils, grep, sed, awk, find, ps). `sh` is required; the
/// others are copied when the host has them. Each brings its shared libraries.
const HOST_TOOLS: &[&str] = &[
    "sh",
    "[",
    "awk",
    "base64",
    "basename",
    "cat",
    "chmod",
    "cp",
    "cut",
    "date",
    "dd",
    "df",
    "dirname",
    "du",
    "echo",
    "env",
    "expr",
    "false",
    "find",
    "grep",
    "gzip",
    "head",
    "hostname",
    "id",
    "kill",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mktemp",
    "mv",
    "nohup",
    "nproc",
    "od",
    "printenv",
    "printf",
    "ps",
    "pwd",
    "readlink",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "sync",
    "tail",
    "tar",
    "tee",
    "test",
    "timeout",
    "touch",
    "tr",
    "true",
    "uname",
    "uniq",
    "wc",
    "which",
    "xargs",
    "yes",
];

/// Which userland an image gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Userland {
    /// Busybox if the host has one (`MMRUN_BUSYBOX`, else the usual paths), else the host's
    /// own shell and tools.
    Detect,
    /// This busybox.
    Busybox(PathBuf),
    /// The host's own `/bin/sh` and core tools, even where busybox is installed.
    HostTools,
}

impl Userland {
    /// What [`Userland::Detect`] finds on this host.
    fn resolve(&self) -> Result<Userland, NodeImageError> {
        if *self != Userland::Detect {
            return Ok(self.clone());
        }
        match std::env::var_os(BUSYBOX_ENV) {
            Some(path) if path.is_empty() => Ok(Userland::HostTools),
            Some(path) => {
                let path = PathBuf::from(path);
                if path.is_file() {
                    Ok(Userland::Busybox(path))
                } else {
                    Err(NodeImageError::NoBusyboxAt { path })
                }
            }
            None => Ok(BUSYBOX_CANDIDATES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .map_or(Userland::HostTools, Userland::Busybox)),
        }
    }
}

/// The programs that make the image's userland.
#[derive(Clone, Debug)]
pub enum Programs {
    /// Installed as `/bin/busybox`, with a symlink per applet path relative to `/` (e.g.
    /// `bin/sh`, `usr/bin/env`).
    Busybox { path: PathBuf, applets: Vec<String> },
    /// Host programs by command name (`sh`, `sleep`, …), each installed as `/bin/<name>`.
    Host { tools: Vec<(String, PathBuf)> },
}

/// Everything taken from the host, resolved once.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The mmrun binary, installed as `/usr/local/bin/mmrun`; none in the shell image.
    pub binary: Option<PathBuf>,
    pub programs: Programs,
    /// Shared libraries and the loader of the binary and of the programs, at their host paths.
    pub libraries: Vec<HostFile>,
}

impl Sources {
    /// Resolves the sources for `binary` (none: the shell image) with `userland`.
    pub fn discover(binary: Option<&Path>, userland: &Userland) -> Result<Sources, NodeImageError> {
        let mut executables = Vec::new();
        if let Some(binary) = binary {
            if !binary.is_file() {
                return Err(NodeImageError::NoBinary {
                    path: binary.to_path_buf(),
                });
            }
            executables.push(binary.to_path_buf());
        }
        let programs = match userland.resolve()? {
            Userland::Busybox(path) => Programs::Busybox {
                applets: applets(&path)?,
                path,
            },
            _ => Programs::Host {
                tools: host_tools()?,
            },
        };
        // A dynamically linked busybox (Debian's `busybox` rather than `busybox-static`) or host
        // tool works too, as long as its libraries come along.
        match &programs {
            Programs::Busybox { path, .. } => executables.push(path.clone()),
            Programs::Host { tools } => executables.extend(tools.iter().map(|(_, p)| p.clone())),
        }
        let mut seen = std::collections::BTreeSet::new();
        executables.retain(|p| seen.insert(p.clone()));
        let mut libraries = shared_libraries(&executables)?;
        libraries.sort_by(|a, b| a.target.cmp(&b.target));
        libraries.dedup();
        Ok(Sources {
            binary: binary.map(Path::to_path_buf),
            programs,
            libraries,
        })
    }
}

/// The host's tools from [`HOST_TOOLS`], resolved to real files; `/bin/sh` must be there.
fn host_tools() -> Result<Vec<(String, PathBuf)>, NodeImageError> {
    let mut tools = Vec::new();
    for name in HOST_TOOLS {
        let found = TOOL_DIRS
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| p.is_file())
            .and_then(|p| p.canonicalize().ok())
            .filter(|p| runnable_in_image(p));
        match found {
            Some(path) => tools.push((name.to_string(), path)),
            None if *name == "sh" => return Err(NodeImageError::NoShell),
            None => {}
        }
    }
    Ok(tools)
}

/// Whether a host program can run in the image: a binary (its libraries come along) or a
/// script for `/bin/sh` (which is there); not a script for an interpreter the image lacks.
fn runnable_in_image(path: &Path) -> bool {
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..read];
    head.starts_with(b"\x7fELF")
        || head.starts_with(b"#!/bin/sh")
        || head.starts_with(b"#! /bin/sh")
}

/// Busybox's applets with their standard paths (`bin/sh`, `usr/bin/env`, …), from
/// `busybox --list-full`, so scripts with `#!/usr/bin/env` lines work too.
fn applets(busybox: &Path) -> Result<Vec<String>, NodeImageError> {
    let failed = |reason: String| NodeImageError::Busybox {
        path: busybox.to_path_buf(),
        reason,
    };
    let output = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let mut applets: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_string())
        // The applet `busybox` itself would overwrite the binary with a symlink to itself.
        .filter(|l| !l.is_empty() && !l.ends_with("/busybox") && !l.contains(".."))
        .collect();
    if !applets.iter().any(|a| a == "bin/sh") {
        return Err(failed("it has no `sh` applet".to_string()));
    }
    applets.sort();
    applets.dedup();
    Ok(applets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_userland_has_sh_and_core_tools_with_their_libraries() {
        let sources = Sources::discover(None, &Userland::HostTools).unwrap();
        let Programs::Host { tools } = &sources.programs else {
            panic!("asked for the host's tools: {:?}", sources.programs);
        };
        let names: Vec<&str> = tools.iter().map(|(n, _)| n.as_str()).collect();
        for needed in ["sh", "sleep", "cat", "echo", "ls"] {
            assert!(names.contains(&needed), "{needed} missing from {names:?}");
        }
        // Dynamically linked on any distribution that is not all-static: libc comes along.
        let dynamic = tools.iter().any(|(_, p)| {
            !shared_libraries(std::slice::from_ref(p))
                .unwrap()
                .is_empty()
        });
        if dynamic {
            assert!(
                sources
                    .libraries
                    .iter()
                    .any(|l| l.target.contains("libc.so")),
                "{:?}",
                sources.libraries
            );
        }
    }
}
