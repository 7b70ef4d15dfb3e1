//! The host files an image is made of: the mmrun binary (node image only), a userland, and the
//! shared libraries and dynamic loader of every binary (found with `ldd`, copied to the same
//! paths). The userland is busybox when the host has it; otherwise the host's own `/bin/sh`
//! and core tools, which every Linux machine has — so a machine with nothing but a Docker
//! daemon builds the images without installing anything.

use super::NodeImageError;
use std::collections::BTreeMap;
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

/// A host file and where it goes in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFile {
    pub source: PathBuf,
    /// Absolute path in the image.
    pub target: String,
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

/// The shared libraries of `executables` and their dynamic loader; none for static binaries
/// and scripts. This runs on every `mmrun run`, so instead of `ldd` (a shell script, about
/// 10 ms a file) each dynamic binary's own loader lists them, as `ldd` has it do, all at once;
/// `ldd` answers only for what that could not.
fn shared_libraries(executables: &[PathBuf]) -> Result<Vec<HostFile>, NodeImageError> {
    let traced: Vec<(&PathBuf, Option<std::process::Child>)> = executables
        .iter()
        .filter_map(|file| Some((file, elf_interpreter(file)?)))
        .map(|(file, loader)| {
            let child = Command::new(loader)
                .arg(file)
                .env("LD_TRACE_LOADED_OBJECTS", "1")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok();
            (file, child)
        })
        .collect();
    let mut libraries = Vec::new();
    let mut for_ldd = Vec::new();
    for (file, child) in traced {
        let listed = child
            .and_then(|c| c.wait_with_output().ok())
            .filter(|out| out.status.success())
            .and_then(|out| parse_ldd(&String::from_utf8_lossy(&out.stdout)).ok())
            .filter(|libs| !libs.is_empty());
        match listed {
            Some(libs) => libraries.extend(libs),
            None => for_ldd.push(file.clone()),
        }
    }
    libraries.extend(ldd(&for_ldd)?);
    Ok(libraries)
}

/// The program interpreter (dynamic loader) an ELF file names in its `PT_INTERP` header;
/// `None` for a static binary, a script, or what this cannot read (`ldd` then decides).
fn elf_interpreter(path: &Path) -> Option<PathBuf> {
    let mut head = vec![0u8; 64 * 1024];
    let read = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let head = &head[..read];
    if !head.starts_with(b"\x7fELF") || head.get(5) != Some(&1) {
        return None; // not ELF, or big-endian: leave it to ldd
    }
    let wide = match head.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let int = |at: usize, len: usize| -> Option<usize> {
        let bytes = head.get(at..at + len)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0usize, |n, b| (n << 8) | usize::from(*b)),
        )
    };
    let (phoff, phentsize, phnum) = if wide {
        (int(0x20, 8)?, int(0x36, 2)?, int(0x38, 2)?)
    } else {
        (int(0x1c, 4)?, int(0x2a, 2)?, int(0x2c, 2)?)
    };
    const PT_INTERP: usize = 3;
    (0..phnum).find_map(|i| {
        let header = phoff + i * phentsize;
        if int(header, 4)? != PT_INTERP {
            return None;
        }
        let (offset, size) = if wide {
            (int(header + 0x08, 8)?, int(header + 0x20, 8)?)
        } else {
            (int(header + 0x04, 4)?, int(header + 0x10, 4)?)
        };
        let name = head.get(offset..offset + size)?;
        let name = name.strip_suffix(&[0]).unwrap_or(name);
        Some(PathBuf::from(std::str::from_utf8(name).ok()?))
    })
}

/// The shared libraries `ldd` resolves for `executables`; one `ldd` for all of them.
fn ldd(executables: &[PathBuf]) -> Result<Vec<HostFile>, NodeImageError> {
    let Some(first) = executables.first() else {
        return Ok(Vec::new());
    };
    let failed = |binary: &Path, reason: String| NodeImageError::Ldd {
        binary: binary.to_path_buf(),
        reason,
    };
    let output = Command::new("ldd")
        .args(executables)
        .output()
        .map_err(|e| {
            failed(
                first,
                format!("cannot run ldd ({e}); install it (Debian: libc-bin)"),
            )
        })?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &*String::from_utf8_lossy(&output.stderr);
    let sections = ldd_sections(&text, executables);
    if sections.len() != executables.len() {
        return Err(failed(first, text.trim().to_string()));
    }
    let mut libraries = Vec::new();
    for (binary, section) in sections {
        if section.contains("not a dynamic executable") || section.contains("statically linked") {
            continue;
        }
        // `ldd` fails as a whole when any file is static; alone, a failure is the file's.
        if executables.len() == 1 && !output.status.success() {
            return Err(failed(binary, section.trim().to_string()));
        }
        libraries.extend(parse_ldd(section).map_err(|reason| failed(binary, reason))?);
    }
    Ok(libraries)
}

/// `ldd a b` prints `a:` and `b:` before each file's lines; `ldd a` prints no header.
fn ldd_sections<'a>(text: &'a str, executables: &'a [PathBuf]) -> Vec<(&'a Path, &'a str)> {
    if executables.len() == 1 {
        return vec![(&executables[0], text)];
    }
    let headers: BTreeMap<String, &Path> = executables
        .iter()
        .map(|p| (format!("{}:", p.display()), p.as_path()))
        .collect();
    let mut sections = Vec::new();
    let mut current: Option<(&Path, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(binary) = headers.get(line.trim_end()) {
            if let Some((b, start)) = current {
                sections.push((b, &text[start..offset]));
            }
            current = Some((binary, offset + line.len()));
        }
        offset += line.len();
    }
    if let Some((b, start)) = current {
        sections.push((b, &text[start..]));
    }
    sections
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
    fn ldd_of_several_files_is_split_per_file() {
        let files = [PathBuf::from("/usr/bin/ls"), PathBuf::from("/bin/static")];
        let text = "/usr/bin/ls:\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n/bin/static:\n\tnot a dynamic executable\n";
        let sections = ldd_sections(text, &files);
        assert_eq!(
            sections,
            [
                (files[0].as_path(), "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"),
                (files[1].as_path(), "\tnot a dynamic executable\n"),
            ]
        );
    }

    #[test]
    fn the_loader_of_a_dynamic_binary_is_read_from_its_elf_header() {
        let exe = std::env::current_exe().unwrap();
        let loader = elf_interpreter(&exe).expect("the test binary is dynamically linked");
        assert!(loader.to_string_lossy().contains("ld-"), "{loader:?}");
        assert!(loader.is_file(), "{loader:?}");
        // Not ELF: no loader, and no libraries.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("script");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(elf_interpreter(&script), None);
        assert_eq!(shared_libraries(&[script]).unwrap(), []);
    }

    #[test]
    fn the_fast_listing_agrees_with_ldd() {
        let exe = std::env::current_exe().unwrap();
        let mut fast = shared_libraries(std::slice::from_ref(&exe)).unwrap();
        let mut slow = ldd(&[exe]).unwrap();
        fast.sort_by(|a, b| a.target.cmp(&b.target));
        slow.sort_by(|a, b| a.target.cmp(&b.target));
        assert_eq!(fast, slow);
    }

    #[test]
    fn this_test_binary_has_libc_and_the_loader() {
        let exe = std::env::current_exe().unwrap();
        let libs = shared_libraries(&[exe]).unwrap();
        assert!(
            libs.iter().any(|l| l.target.contains("libc.so")),
            "{libs:?}"
        );
        assert!(
            libs.iter().any(|l| l.target.contains("ld-linux")),
            "{libs:?}"
        );
    }

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
