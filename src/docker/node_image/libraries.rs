//! The shared libraries and dynamic loader a binary needs, found on the host so they can be
//! copied into an image at the same paths.

use super::NodeImageError;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A host file and where it goes in the image (a library at its own path, a program under
/// `/bin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFile {
    pub source: PathBuf,
    /// Absolute path in the image.
    pub target: String,
}

/// The shared libraries of `executables` and their dynamic loader; none for static binaries
/// and scripts. This runs on every `mmrun run`, so instead of `ldd` (a shell script, about
/// 10 ms a file) each dynamic binary's own loader lists them, as `ldd` has it do, all at once;
/// `ldd` answers only for what that could not.
pub fn shared_libraries(executables: &[PathBuf]) -> Result<Vec<HostFile>, NodeImageError> {
    shared_libraries_besides(executables, &[])
}

/// [`shared_libraries`] of files that may need libraries the image provides otherwise, named
/// in `provided`: a Java runtime's `lib/*.so` need `libjvm.so`, which the loader finds only
/// once the JVM has loaded it, so `ldd` reports it "not found".
pub fn shared_libraries_besides(
    executables: &[PathBuf],
    provided: &[&str],
) -> Result<Vec<HostFile>, NodeImageError> {
    // Shared libraries name no loader of their own (no `PT_INTERP`); the executables' loader
    // lists theirs as well.
    let default_loader = executables.iter().find_map(|file| elf_interpreter(file));
    let traced: Vec<(&PathBuf, Option<std::process::Child>)> = executables
        .iter()
        .filter_map(|file| match elf_interpreter(file) {
            Some(loader) => Some((file, loader)),
            None if is_shared_library(file) => Some((file, default_loader.clone()?)),
            None => None,
        })
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
    // Shared libraries without an executable to lend its loader: `ldd` lists theirs.
    let mut for_ldd: Vec<PathBuf> = executables
        .iter()
        .filter(|file| default_loader.is_none() && is_shared_library(file))
        .cloned()
        .collect();
    for (file, child) in traced {
        let listed = child
            .and_then(|c| c.wait_with_output().ok())
            .filter(|out| out.status.success())
            .and_then(|out| parse_ldd(&String::from_utf8_lossy(&out.stdout), provided).ok())
            .filter(|libs| !libs.is_empty());
        match listed {
            Some(libs) => libraries.extend(libs),
            None => for_ldd.push(file.clone()),
        }
    }
    libraries.extend(ldd(&for_ldd, provided)?);
    Ok(libraries)
}

/// `lib….so` or `lib….so.N`, by name.
fn is_shared_library(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".so") || n.contains(".so."))
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
fn ldd(executables: &[PathBuf], provided: &[&str]) -> Result<Vec<HostFile>, NodeImageError> {
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
        if executables.len() == 1 && !output.status.success() && provided.is_empty() {
            return Err(failed(binary, section.trim().to_string()));
        }
        libraries.extend(
            parse_ldd(section, provided).map_err(|missing| failed(binary, missing.to_string()))?,
        );
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

/// A library `ldd` does not find on this host.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("the library {0} is not found on this host")]
struct MissingLibrary(String);

/// Parses `ldd` output: `name => /path (0x…)`, `/path (0x…)` for the loader, and
/// `linux-vdso.so.1 (0x…)` for the kernel's virtual library, which has no file.
/// A library named in `provided` may be "not found".
fn parse_ldd(text: &str, provided: &[&str]) -> Result<Vec<HostFile>, MissingLibrary> {
    let mut files = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let resolved = match line.split_once(" => ") {
            Some((name, rest)) if rest.starts_with("not found") && provided.contains(&name) => {
                continue;
            }
            Some((name, rest)) if rest.starts_with("not found") => {
                return Err(MissingLibrary(name.to_string()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_libraries_and_loader_but_not_the_vdso() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f01)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f03)\n";
        let targets: Vec<_> = parse_ldd(text, &[])
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
    fn a_missing_library_is_named_unless_provided() {
        let e = parse_ldd("\tlibfoo.so.1 => not found\n", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the library libfoo.so.1 is not found on this host"
        );
        let text = "\tlibjvm.so => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n";
        let found = parse_ldd(text, &["libjvm.so"]).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].target, "/lib/libc.so.6");
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
        let mut slow = ldd(&[exe], &[]).unwrap();
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
}
