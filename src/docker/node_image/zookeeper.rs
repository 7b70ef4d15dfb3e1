//! The ZooKeeper image: a real Apache ZooKeeper server, `FROM scratch`, made of this host's own
//! files — its Java runtime and ZooKeeper's jars as [`ZooKeeperInstall`] finds them, and the
//! shared libraries they need — since there is no registry to pull one from. Tagged
//! `mmrun-zookeeper:<content hash>`, built on first use like the node image, under the same lock.
//!
//! What goes in, and what stays out to keep it lean:
//! - `/opt/java`: the runtime at a fixed path (the launcher finds its home from its own place),
//!   symlinks into `/etc/java-17-openjdk` resolved; only `bin/java` of the tools, and none of a
//!   JDK's extras (`jmods`, `ct.sym`, `src.zip`, headers, man pages) nor the desktop and
//!   debugger libraries a headless server never loads;
//! - `/opt/zookeeper/lib/*.jar`: the classpath's jars, flattened (the entrypoint's `-cp` is the
//!   wildcard, so the Dockerfile needs no host path); `/opt/zookeeper/zoo.cfg`;
//! - the libraries of `java` and of the runtime's `lib/**.so`, at their host paths;
//! - no shell: the entrypoint runs java directly, and readiness is checked from the host
//!   (`ruok` through the published port).

use super::context::{Entry, Recipe, with_base};
use super::libraries::shared_libraries_besides;
use super::{Image, LocalImage, NodeImageError, kind};
use crate::docker::client::Docker;
use crate::zookeeper::ZooKeeperInstall;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The repository part of ZooKeeper image tags.
pub const ZOOKEEPER_IMAGE_REPOSITORY: &str = "mmrun-zookeeper";

/// Where the Java runtime and ZooKeeper live in the image.
const JAVA_HOME: &str = "/opt/java";
const ZOOKEEPER_LIB: &str = "/opt/zookeeper/lib";
/// The server's data directory in the image (`docker stop` + `start` keep it).
pub const DATA_DIR: &str = "/var/lib/zookeeper";

/// The entrypoint uses the child process's JVM options (`zookeeper::server::JVM_OPTIONS`; a
/// unit test keeps them equal).
const ZOOKEEPER: Recipe = Recipe {
    layout_version: "mmrun-zookeeper-layout-1",
    dockerfile: "\
FROM scratch
COPY rootfs/ /
LABEL io.mmrun.managed-by=\"mmrun\"
ENTRYPOINT [\"/opt/java/bin/java\", \"-Xmx256m\", \"-XX:+UseSerialGC\", \"-XX:TieredStopAtLevel=1\", \"-XX:-UsePerfData\", \"-Djava.awt.headless=true\", \"-cp\", \"/opt/zookeeper/lib/*\", \"org.apache.zookeeper.server.ZooKeeperServerMain\", \"/opt/zookeeper/zoo.cfg\"]
",
};

/// A standalone server on every interface of the container, port 2181; no admin HTTP server;
/// the four-letter words readiness checks use; sessions as short as 1 s and a short tick (a
/// killed master loses its leadership quickly).
// tickTime, minSessionTimeout and maxSessionTimeout are `zookeeper::TICK`,
// `MIN_SESSION_TIMEOUT` and `MAX_SESSION_TIMEOUT`, as for the child process (a test holds them
// together).
const ZOO_CFG: &str = "tickTime=500
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
minSessionTimeout=1000
maxSessionTimeout=40000
";

/// Parts of a Java home a headless server never uses: a JDK's development files, the other
/// launchers, docs and legal notices.
const SKIPPED_DIRS: [&str; 7] = ["jmods", "include", "man", "legal", "docs", "demo", "sample"];
const SKIPPED_LIB_FILES: [&str; 2] = ["src.zip", "ct.sym"];
/// Desktop (AWT, sound, fonts, images), smartcard and debugger/agent libraries: only loaded by
/// modules a ZooKeeper server does not use, and some need X11 libraries a headless host may
/// lack. And the class-data archive for heaps over 32 GB (12 MB; the heap is 256 MB at most).
const SKIPPED_FILES: [&str; 16] = [
    "classes_nocoops.jsa",
    "libatk-wrapper.so",
    "libawt.so",
    "libawt_headless.so",
    "libawt_xawt.so",
    "libdt_socket.so",
    "libfontmanager.so",
    "libjavajpeg.so",
    "libjawt.so",
    "libj2pcsc.so",
    "libjdwp.so",
    "libjsound.so",
    "liblcms.so",
    "libmlib_image.so",
    "libsaproc.so",
    "libsplashscreen.so",
];

/// The ZooKeeper image made from this host's ZooKeeper and Java runtime.
pub type ZooKeeperImage = Image<kind::ZooKeeper>;

impl ZooKeeperImage {
    /// The image for the ZooKeeper [`ZooKeeperInstall::find`] finds (an error saying how to
    /// install it otherwise). Reads and hashes ~170 MB: call it off the runtime's workers.
    pub fn discover() -> Result<ZooKeeperImage, NodeImageError> {
        ZooKeeperImage::of(&ZooKeeperInstall::find()?)
    }

    /// The image of a given install.
    pub fn of(install: &ZooKeeperInstall) -> Result<ZooKeeperImage, NodeImageError> {
        Ok(Image::from_local(LocalImage::of_entries(
            &ZOOKEEPER,
            ZOOKEEPER_IMAGE_REPOSITORY,
            layout(install)?,
        )?))
    }
}

/// Makes sure the ZooKeeper image exists (building it on first use) and returns its tag.
/// Hashing the ~180 MB it is made of takes most of a second, so the tag is worked out once per
/// process (the host's Java and ZooKeeper do not change during a run); the check that the
/// image exists is made on every call.
pub async fn ensure_zookeeper_image(docker: &Docker) -> Result<String, NodeImageError> {
    static DISCOVERED: tokio::sync::OnceCell<ZooKeeperImage> = tokio::sync::OnceCell::const_new();
    let image = DISCOVERED
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(ZooKeeperImage::discover)
                .await
                .map_err(|e| NodeImageError::Read {
                    source: std::io::Error::other(e),
                })?
        })
        .await?;
    image.ensure(docker).await?;
    Ok(image.tag().to_string())
}

/// The image's file system.
fn layout(install: &ZooKeeperInstall) -> Result<Vec<Entry>, NodeImageError> {
    let read = |source| NodeImageError::Read { source };
    let mut runtime = Vec::new();
    java_files(&install.java_home, Path::new(""), &mut runtime).map_err(read)?;
    let mut entries: Vec<Entry> = runtime
        .iter()
        .map(|(relative, source, mode)| Entry::File {
            path: format!("{JAVA_HOME}/{}", relative.display()),
            source: source.clone(),
            mode: *mode,
        })
        .collect();
    for jar in install.jars() {
        let name = jar.file_name().unwrap_or_default().to_string_lossy();
        entries.push(Entry::File {
            path: format!("{ZOOKEEPER_LIB}/{name}"),
            source: jar.clone(),
            mode: 0o644,
        });
    }
    entries.push(Entry::Text {
        path: "/opt/zookeeper/zoo.cfg".into(),
        text: ZOO_CFG,
    });
    entries.push(Entry::Dir {
        path: DATA_DIR.into(),
        mode: 0o755,
    });
    // The libraries of the launcher and of the runtime's own libraries. Those inside the
    // runtime (`libjli.so`, found through `$ORIGIN`) are already in /opt/java.
    let binaries: Vec<PathBuf> = runtime
        .iter()
        .filter(|(relative, _, _)| {
            relative == Path::new("bin/java") || relative.extension().is_some_and(|e| e == "so")
        })
        .map(|(_, source, _)| source.clone())
        .collect();
    let home = install
        .java_home
        .canonicalize()
        .unwrap_or(install.java_home.clone());
    for lib in shared_libraries_besides(&binaries, &["libjvm.so"])? {
        let inside = lib
            .source
            .canonicalize()
            .is_ok_and(|real| real.starts_with(&home));
        if !inside {
            entries.push(Entry::File {
                path: lib.target,
                source: lib.source,
                mode: 0o755,
            });
        }
    }
    Ok(with_base(entries))
}

/// The runtime's files under `home/relative`, as (path relative to home, source, mode),
/// sorted; symlinks followed (Debian links `conf/` and `lib/jvm.cfg` into `/etc`), dangling
/// ones (an uninstalled `cacerts`) left out, as is what a server does not need.
fn java_files(
    home: &Path,
    relative: &Path,
    out: &mut Vec<(PathBuf, PathBuf, u32)>,
) -> std::io::Result<()> {
    let dir = home.join(relative);
    let mut names: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let rel = relative.join(&name);
        let name = name.to_string_lossy();
        let top = relative.as_os_str().is_empty();
        let skipped = (top && SKIPPED_DIRS.contains(&&*name))
            || (relative == Path::new("bin") && name != "java")
            || (relative == Path::new("lib") && SKIPPED_LIB_FILES.contains(&&*name))
            || SKIPPED_FILES.contains(&&*name);
        if skipped {
            continue;
        }
        let source = home.join(&rel);
        let Ok(metadata) = std::fs::metadata(&source) else {
            continue;
        };
        if metadata.is_dir() {
            // Deep enough for any runtime; a symlink loop ends here.
            if rel.components().count() < 8 {
                java_files(home, &rel, out)?;
            }
        } else if metadata.is_file() {
            out.push((rel, source, metadata.permissions().mode() & 0o777));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entrypoint_runs_the_server_with_the_child_processes_options() {
        let dockerfile = ZOOKEEPER.dockerfile;
        for option in crate::zookeeper::server::JVM_OPTIONS {
            assert!(dockerfile.contains(&format!("\"{option}\"")), "{option}");
        }
        assert!(dockerfile.contains(crate::zookeeper::install::MAIN_CLASS));
        assert!(ZOO_CFG.contains("clientPort=2181\n"));
        assert!(ZOO_CFG.contains(&format!("dataDir={DATA_DIR}\n")));
        // The same session timing as the child process.
        use crate::zookeeper::{MAX_SESSION_TIMEOUT, MIN_SESSION_TIMEOUT, TICK};
        for (key, value) in [
            ("tickTime", TICK),
            ("minSessionTimeout", MIN_SESSION_TIMEOUT),
            ("maxSessionTimeout", MAX_SESSION_TIMEOUT),
        ] {
            let line = format!("{key}={}\n", value.as_millis());
            assert!(ZOO_CFG.contains(&line), "{line}");
        }
    }

    #[test]
    fn a_java_home_keeps_the_runtime_and_drops_the_jdk_and_desktop() {
        let home = tempfile::tempdir().unwrap();
        let etc = tempfile::tempdir().unwrap();
        let file = |path: &str| {
            let path = home.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "x").unwrap();
        };
        for path in [
            "bin/java",
            "bin/javac",
            "lib/modules",
            "lib/libjava.so",
            "lib/libawt_xawt.so",
            "lib/server/libjvm.so",
            "lib/ct.sym",
            "jmods/java.base.jmod",
            "include/jni.h",
        ] {
            file(path);
        }
        std::fs::write(etc.path().join("net.properties"), "y").unwrap();
        std::fs::create_dir(home.path().join("conf")).unwrap();
        std::os::unix::fs::symlink(
            etc.path().join("net.properties"),
            home.path().join("conf/net.properties"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/nonexistent", home.path().join("lib/cacerts")).unwrap();
        let mut files = Vec::new();
        java_files(home.path(), Path::new(""), &mut files).unwrap();
        let kept: Vec<String> = files
            .iter()
            .map(|(rel, _, _)| rel.display().to_string())
            .collect();
        assert_eq!(
            kept,
            [
                "bin/java",
                "conf/net.properties",
                "lib/libjava.so",
                "lib/modules",
                "lib/server/libjvm.so"
            ]
        );
    }
}
