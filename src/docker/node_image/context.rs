//! The build context of the images mmrun builds offline: a tar, made in memory, holding a
//! `Dockerfile` and `rootfs/`. The layout is one list of entries; the content hash (the image
//! tag) and the tar are both made from it and the image's [`Recipe`], so the tag covers exactly
//! what the image holds.

use super::sources::{Programs, Sources};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where the mmrun binary lives in the image; the image's entrypoint.
pub const BINARY_PATH: &str = "/usr/local/bin/mmrun";

/// What sets one image apart from another built of the same kind of files.
#[derive(Debug)]
pub struct Recipe {
    /// Bump the version when the layout changes without any host file changing, so images get
    /// rebuilt.
    pub layout_version: &'static str,
    /// One instruction per layer or setting, as each costs the classic builder a commit. No
    /// ENV PATH: Docker gives containers the standard PATH when the image sets none.
    pub dockerfile: &'static str,
}

/// The node image: mmrun as the entrypoint.
pub const NODE: Recipe = Recipe {
    layout_version: "mmrun-node-layout-1",
    dockerfile: "\
FROM scratch
COPY rootfs/ /
LABEL io.mmrun.managed-by=\"mmrun\"
ENTRYPOINT [\"/usr/local/bin/mmrun\"]
",
};

/// The busybox image, for Docker tasks: a shell by default, like the `busybox` image.
pub const BUSYBOX: Recipe = Recipe {
    layout_version: "mmrun-busybox-layout-1",
    dockerfile: "\
FROM scratch
COPY rootfs/ /
LABEL io.mmrun.managed-by=\"mmrun\"
CMD [\"/bin/sh\"]
",
};

/// The minimum a process expects to find: root exists, /tmp is writable by all, and host names
/// resolve from /etc/hosts (which Docker mounts) before DNS. No CA certificates: nodes talk
/// plain HTTP.
const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";
const NSSWITCH: &str = "passwd: files\ngroup: files\nhosts: files dns\n";

/// One thing in the image, at an absolute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Dir {
        path: String,
        mode: u32,
    },
    File {
        path: String,
        source: PathBuf,
        mode: u32,
    },
    Text {
        path: String,
        text: &'static str,
    },
    Symlink {
        path: String,
        target: String,
    },
}

impl Entry {
    pub fn path(&self) -> &str {
        match self {
            Entry::Dir { path, .. }
            | Entry::File { path, .. }
            | Entry::Text { path, .. }
            | Entry::Symlink { path, .. } => path,
        }
    }
}

/// The image's file system, sorted by path (parents before children).
pub fn layout(sources: &Sources) -> Vec<Entry> {
    let mut entries = Vec::new();
    if let Some(binary) = &sources.binary {
        entries.push(Entry::File {
            path: BINARY_PATH.into(),
            source: binary.clone(),
            mode: 0o755,
        });
    }
    for lib in &sources.libraries {
        entries.push(Entry::File {
            path: lib.target.clone(),
            source: lib.source.clone(),
            mode: 0o755,
        });
    }
    entries.extend(userland(&sources.programs));
    with_base(entries)
}

/// `entries` and what every image has — `/tmp`, `/root`, `/etc/passwd`, … — with explicit
/// parent directories, sorted by path (parents before children).
pub fn with_base(mut entries: Vec<Entry>) -> Vec<Entry> {
    let dir = |path: &str, mode| Entry::Dir {
        path: path.to_string(),
        mode,
    };
    entries.extend([
        // Sticky and world-writable, like any /tmp: tasks and sandboxes write there.
        dir("/tmp", 0o1777),
        dir("/root", 0o700),
        dir("/etc", 0o755),
        Entry::Text {
            path: "/etc/passwd".into(),
            text: PASSWD,
        },
        Entry::Text {
            path: "/etc/group".into(),
            text: GROUP,
        },
        Entry::Text {
            path: "/etc/nsswitch.conf".into(),
            text: NSSWITCH,
        },
    ]);
    // Parent directories are implied by tar; make them explicit so their mode is ours.
    let mut parents: Vec<String> = entries
        .iter()
        .flat_map(|e| ancestors(e.path()))
        .filter(|p| !entries.iter().any(|e| e.path() == p))
        .collect();
    parents.sort();
    parents.dedup();
    entries.extend(parents.into_iter().map(|p| dir(&p, 0o755)));
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    // One entry per path: the first given wins (the sort is stable).
    entries.dedup_by(|later, first| later.path() == first.path());
    entries
}

/// The shell and tools: busybox and a symlink per applet, or the host's programs in `/bin`
/// (one copy of a file that several names share, e.g. a multi-call binary, the other names
/// linking to it) with `/usr/bin` links, so `#!/usr/bin/env` lines work too.
fn userland(programs: &Programs) -> Vec<Entry> {
    let mut entries = Vec::new();
    match programs {
        Programs::Busybox { path, applets } => {
            entries.push(Entry::File {
                path: "/bin/busybox".into(),
                source: path.clone(),
                mode: 0o755,
            });
            entries.extend(applets.iter().map(|applet| Entry::Symlink {
                path: format!("/{applet}"),
                target: "/bin/busybox".into(),
            }));
        }
        Programs::Host { tools } => {
            let mut copied: Vec<(&PathBuf, &str)> = Vec::new();
            for (name, source) in tools {
                let path = format!("/bin/{name}");
                match copied.iter().find(|(s, _)| *s == source) {
                    Some((_, first)) => entries.push(Entry::Symlink {
                        path,
                        target: format!("/bin/{first}"),
                    }),
                    None => {
                        copied.push((source, name));
                        entries.push(Entry::File {
                            path,
                            source: source.clone(),
                            mode: 0o755,
                        });
                    }
                }
                entries.push(Entry::Symlink {
                    path: format!("/usr/bin/{name}"),
                    target: format!("/bin/{name}"),
                });
            }
        }
    }
    entries
}

/// `/a/b/c` → `/a`, `/a/b`.
fn ancestors(path: &str) -> Vec<String> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    (1..parts.len())
        .map(|n| format!("/{}", parts[..n].join("/")))
        .collect()
}

/// A content hash of the recipe, the layout and every file in it (hex, 64 digits).
pub fn content_hash(recipe: &Recipe, entries: &[Entry]) -> std::io::Result<String> {
    layout_hash(recipe, entries, |hash, source, mode| {
        let mut file = open(source)?;
        hash.update(format!("file {mode:o} {}\0", file.metadata()?.len()));
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hash.update(&buffer[..n]);
        }
        Ok(())
    })
}

/// A hash of the recipe and the layout (hex, 64 digits), each file hashed by `file` (its
/// bytes for the tag, its identity for the tag's cache).
pub(super) fn layout_hash(
    recipe: &Recipe,
    entries: &[Entry],
    mut file: impl FnMut(&mut Sha256, &Path, u32) -> std::io::Result<()>,
) -> std::io::Result<String> {
    let mut hash = Sha256::new();
    hash.update(recipe.layout_version);
    hash.update(recipe.dockerfile);
    for entry in entries {
        // Separators keep distinct layouts from hashing the same bytes.
        hash.update(format!("\0{}\0", entry.path()));
        match entry {
            Entry::Dir { mode, .. } => hash.update(format!("dir {mode:o}")),
            Entry::Text { text, .. } => hash.update(format!("text {}\0{text}", text.len())),
            Entry::Symlink { target, .. } => hash.update(format!("link {target}")),
            Entry::File { source, mode, .. } => file(&mut hash, source, *mode)?,
        }
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The build context as an uncompressed tar. Deterministic: fixed times and owners.
pub fn tar(recipe: &Recipe, entries: &[Entry]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let header = |kind, mode, size| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h
    };
    let dockerfile = recipe.dockerfile;
    let mut h = header(tar::EntryType::Regular, 0o644, dockerfile.len() as u64);
    builder.append_data(&mut h, "Dockerfile", dockerfile.as_bytes())?;
    for entry in entries {
        let path = format!("rootfs{}", entry.path());
        match entry {
            Entry::Dir { mode, .. } => {
                let mut h = header(tar::EntryType::Directory, *mode, 0);
                builder.append_data(&mut h, &path, std::io::empty())?;
            }
            Entry::Text { text, .. } => {
                let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64);
                builder.append_data(&mut h, &path, text.as_bytes())?;
            }
            Entry::Symlink { target, .. } => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                builder.append_link(&mut h, &path, target)?;
            }
            Entry::File { source, mode, .. } => {
                let file = open(source)?;
                let mut h = header(tar::EntryType::Regular, *mode, file.metadata()?.len());
                builder.append_data(&mut h, &path, file)?;
            }
        }
    }
    builder.into_inner()
}

/// Opens a source file; the error names it.
fn open(source: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(source)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", source.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::labels::{MANAGED_BY, MANAGED_BY_VALUE};
    use crate::docker::node_image::libraries::HostFile;
    use std::collections::BTreeMap;

    fn sources(dir: &std::path::Path) -> Sources {
        let file = |name: &str, content: &str| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            path
        };
        Sources {
            binary: Some(file("mmrun", "binary v1")),
            programs: Programs::Busybox {
                path: file("busybox", "busybox"),
                applets: vec!["bin/sh".into(), "usr/bin/env".into()],
            },
            libraries: vec![HostFile {
                source: file("libc.so.6", "libc"),
                target: "/lib/x86_64-linux-gnu/libc.so.6".into(),
            }],
        }
    }

    /// Path → (kind, mode, link target or content) of every tar member.
    fn members(tar: &[u8]) -> BTreeMap<String, (String, u32, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let kind = format!("{:?}", e.header().entry_type());
                let mode = e.header().mode().unwrap();
                let mut detail = String::new();
                if let Some(link) = e.link_name().unwrap() {
                    detail = link.to_string_lossy().into_owned();
                } else {
                    e.read_to_string(&mut detail).unwrap();
                }
                (path, (kind, mode, detail))
            })
            .collect()
    }

    #[test]
    fn the_context_holds_dockerfile_binary_libraries_and_userland() {
        let dir = tempfile::tempdir().unwrap();
        let m = members(&tar(&NODE, &layout(&sources(dir.path()))).unwrap());
        assert!(m["Dockerfile"].2.starts_with("FROM scratch\n"));
        assert!(
            m["Dockerfile"]
                .2
                .contains("ENTRYPOINT [\"/usr/local/bin/mmrun\"]")
        );
        let label = format!("LABEL {MANAGED_BY}=\"{MANAGED_BY_VALUE}\"\n");
        assert!(m["Dockerfile"].2.contains(&label));
        assert_eq!(
            m["rootfs/usr/local/bin/mmrun"],
            ("Regular".into(), 0o755, "binary v1".into())
        );
        assert_eq!(m["rootfs/lib/x86_64-linux-gnu/libc.so.6"].2, "libc");
        assert_eq!(
            m["rootfs/bin/sh"],
            ("Symlink".into(), 0o777, "/bin/busybox".into())
        );
        assert_eq!(m["rootfs/usr/bin/env"].2, "/bin/busybox");
        assert_eq!(m["rootfs/tmp"].1, 0o1777);
        assert_eq!(m["rootfs/usr/local"].0, "Directory");
        assert!(m["rootfs/etc/passwd"].2.starts_with("root:x:0:0:"));
    }

    #[test]
    fn the_context_is_deterministic_and_parents_come_first() {
        let dir = tempfile::tempdir().unwrap();
        let entries = layout(&sources(dir.path()));
        assert_eq!(tar(&NODE, &entries).unwrap(), tar(&NODE, &entries).unwrap());
        let lib = entries
            .iter()
            .position(|e| e.path() == "/lib/x86_64-linux-gnu/libc.so.6");
        let parent = entries
            .iter()
            .position(|e| e.path() == "/lib/x86_64-linux-gnu");
        assert!(parent < lib);
    }

    #[test]
    fn the_hash_changes_with_the_binary_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let s = sources(dir.path());
        let before = content_hash(&NODE, &layout(&s)).unwrap();
        assert_eq!(before, content_hash(&NODE, &layout(&s)).unwrap());
        assert_eq!(before.len(), 64);
        std::fs::write(s.binary.as_ref().unwrap(), "binary v2").unwrap();
        assert_ne!(before, content_hash(&NODE, &layout(&s)).unwrap());
    }

    #[test]
    fn the_busybox_context_is_busybox_and_its_userland_without_mmrun() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sources {
            binary: None,
            ..sources(dir.path())
        };
        let entries = layout(&s);
        let m = members(&tar(&BUSYBOX, &entries).unwrap());
        assert!(m["Dockerfile"].2.ends_with("CMD [\"/bin/sh\"]\n"));
        assert!(!m["Dockerfile"].2.contains("ENTRYPOINT"));
        assert!(!m.contains_key("rootfs/usr/local/bin/mmrun"));
        assert_eq!(m["rootfs/bin/busybox"].2, "busybox");
        assert_eq!(m["rootfs/bin/sh"].2, "/bin/busybox");
        assert_eq!(m["rootfs/tmp"].1, 0o1777);
        // Same files, another recipe: another image.
        assert_ne!(
            content_hash(&BUSYBOX, &entries).unwrap(),
            content_hash(&NODE, &entries).unwrap()
        );
    }

    #[test]
    fn without_busybox_the_hosts_programs_go_in_bin_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, name).unwrap();
            path
        };
        let (dash, sleep, multi) = (file("dash"), file("sleep"), file("coreutils"));
        let s = Sources {
            programs: Programs::Host {
                tools: vec![
                    ("sh".into(), dash),
                    ("cat".into(), multi.clone()),
                    ("sleep".into(), sleep),
                    ("ls".into(), multi),
                ],
            },
            ..sources(dir.path())
        };
        let entries = layout(&s);
        let m = members(&tar(&NODE, &entries).unwrap());
        assert!(!m.contains_key("rootfs/bin/busybox"));
        assert_eq!(m["rootfs/bin/sh"], ("Regular".into(), 0o755, "dash".into()));
        assert_eq!(m["rootfs/bin/sleep"].2, "sleep");
        // One copy of a file two names share; the second name links to it.
        assert_eq!(m["rootfs/bin/cat"].2, "coreutils");
        assert_eq!(
            m["rootfs/bin/ls"],
            ("Symlink".into(), 0o777, "/bin/cat".into())
        );
        assert_eq!(m["rootfs/usr/bin/sleep"].2, "/bin/sleep");
        assert_eq!(m["rootfs/usr/local/bin/mmrun"].2, "binary v1");
        // Another userland, another image.
        assert_ne!(
            content_hash(&NODE, &entries).unwrap(),
            content_hash(&NODE, &layout(&sources(dir.path()))).unwrap()
        );
    }
}
