//! The host files a node image is made of: the mmrun binary, the shared libraries and dynamic
//! loader it needs (found with `ldd`, copied to the same paths), and busybox as the userland.

use super::NodeImageError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where busybox is looked for; Debian's `busybox-static` installs the first.
const BUSYBOX_CANDIDATES: [&str; 2] = ["/bin/busybox", "/usr/bin/busybox"];

/// A host file and where it goes in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFile {
    pub source: PathBuf,
    /// Absolute path in the image.
    pub target: String,
}

/// Everything taken from the host, resolved once.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The mmrun binary, installed as `/usr/local/bin/mmrun`; none in the busybox image.
    pub binary: Option<PathBuf>,
    /// Installed as `/bin/busybox`.
    pub busybox: PathBuf,
    /// Shared libraries and the loader of the binary and of busybox, at their host paths.
    pub libraries: Vec<HostFile>,
    /// Applet paths relative to `/` (e.g. `bin/sh`), each a symlink to busybox.
    pub applets: Vec<String>,
}

impl Sources {
    /// Resolves the sources for `binary`, with the host's busybox.
    pub fn discover(binary: &Path) -> Result<Sources, NodeImageError> {
        Sources::with_busybox(Some(binary), &find_busybox()?)
    }

    /// The host's busybox alone (and its libraries, if it is not static).
    pub fn busybox_only() -> Result<Sources, NodeImageError> {
        Sources::with_busybox(None, &find_busybox()?)
    }

    pub fn with_busybox(binary: Option<&Path>, busybox: &Path) -> Result<Sources, NodeImageError> {
        let mut libraries = Vec::new();
        if let Some(binary) = binary {
            if !binary.is_file() {
                return Err(NodeImageError::NoBinary {
                    path: binary.to_path_buf(),
                });
            }
            libraries = shared_libraries(binary)?;
        }
        // A dynamically linked busybox (Debian's `busybox` rather than `busybox-static`) works
        // too, as long as its libraries come along.
        for lib in shared_libraries(busybox)? {
            if !libraries.contains(&lib) {
                libraries.push(lib);
            }
        }
        libraries.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(Sources {
            binary: binary.map(Path::to_path_buf),
            busybox: busybox.to_path_buf(),
            libraries,
            applets: applets(busybox)?,
        })
    }
}

fn find_busybox() -> Result<PathBuf, NodeImageError> {
    BUSYBOX_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or(NodeImageError::NoBusybox)
}

/// The shared libraries `ldd` resolves for `binary`, plus the dynamic loader; none for a
/// static binary.
fn shared_libraries(binary: &Path) -> Result<Vec<HostFile>, NodeImageError> {
    let failed = |reason: String| NodeImageError::Ldd {
        binary: binary.to_path_buf(),
        reason,
    };
    let output = Command::new("ldd").arg(binary).output().map_err(|e| {
        failed(format!(
            "cannot run ldd ({e}); install it (Debian: libc-bin)"
        ))
    })?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &*String::from_utf8_lossy(&output.stderr);
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    if !output.status.success() {
        return Err(failed(text.trim().to_string()));
    }
    parse_ldd(&text).map_err(failed)
}

/// Parses `ldd` output: `name => /path (0x…)`, `/path (0x…)` for the loader, and
/// `linux-vdso.so.1 (0x…)` for the kernel's virtual library, which has no file.
fn parse_ldd(text: &str) -> Result<Vec<HostFile>, String> {
    let mut files = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let resolved = match line.split_once(" => ") {
            Some((name, rest)) if rest.starts_with("not found") => {
                return Err(format!("the library {name} is not found on this host"));
            }
            Some((_, rest)) => rest,
            None => line,
        };
        let path = resolved.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            files.push(HostFile {
                source: PathBuf::from(path),
                target: path.to_string(),
            });
        }
    }
    Ok(files)
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
    fn ldd_output_gives_libraries_and_loader_but_not_the_vdso() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f01)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f03)\n";
        let targets: Vec<_> = parse_ldd(text)
            .unwrap()
            .into_iter()
            .map(|f| f.target)
            .collect();
        assert_eq!(
            targets,
            [
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
    }

    #[test]
    fn a_missing_library_is_named() {
        let e = parse_ldd("\tlibfoo.so.1 => not found\n").unwrap_err();
        assert_eq!(e, "the library libfoo.so.1 is not found on this host");
    }

    #[test]
    fn this_test_binary_has_libc_and_the_loader() {
        let exe = std::env::current_exe().unwrap();
        let libs = shared_libraries(&exe).unwrap();
        assert!(
            libs.iter().any(|l| l.target.contains("libc.so")),
            "{libs:?}"
        );
        assert!(
            libs.iter().any(|l| l.target.contains("ld-linux")),
            "{libs:?}"
        );
    }
}
