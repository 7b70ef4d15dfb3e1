//! Where this host's Apache ZooKeeper is: a Java runtime and the server's jars. mmrun runs the
//! real server (never a look-alike), as a child process (`super::server`) or in a container
//! whose image is built from these same files (`crate::docker::node_image::zookeeper`).
//!
//! Looked up, in order:
//! - the jars: `$MMRUN_ZOOKEEPER_HOME` — a directory holding `zookeeper.jar` (as Debian's
//!   `/usr/share/java`) or an Apache release (`lib/*.jar`, `conf/`) — else `/usr/share/java`,
//!   where Debian's `zookeeper` package puts them;
//! - java: `$JAVA_HOME/bin/java`, else `java` on `PATH`.
//!
//! Debian's `zookeeper.jar` names its dependencies in its manifest's `Class-Path` (absolute
//! paths under `/usr/share/java`); the classpath is that list's closure, as the JVM walks it,
//! minus what does not exist (`jline.jar`: only the CLI needs it). slf4j has no binding among
//! them, so the server would log nothing: `slf4j-simple.jar` (same Debian package as
//! `slf4j-api.jar`) is added, which logs to stderr with no configuration file.

use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Names the ZooKeeper to use (see the module comment).
pub const HOME_ENV: &str = "MMRUN_ZOOKEEPER_HOME";
/// Where Debian's `zookeeper` / `libzookeeper-java` packages put the jars.
const DEBIAN_JARS: &str = "/usr/share/java";
/// The class that runs a standalone server from a `zoo.cfg`.
pub const MAIN_CLASS: &str = "org.apache.zookeeper.server.ZooKeeperServerMain";

/// Why ZooKeeper cannot be run here; its message is one line saying how to install it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotInstalled(String);

/// A Java runtime and ZooKeeper's jars, found on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZooKeeperInstall {
    /// The `java` launcher (symlinks resolved).
    pub java: PathBuf,
    /// The runtime's home (`java`'s `bin/..`), e.g. `/usr/lib/jvm/java-17-openjdk-amd64`.
    pub java_home: PathBuf,
    /// Everything the server's classpath holds, in order: jars, and a configuration
    /// directory for an Apache release.
    pub classpath: Vec<PathBuf>,
}

impl ZooKeeperInstall {
    /// Finds java and ZooKeeper's jars (see the module comment).
    pub fn find() -> Result<ZooKeeperInstall, NotInstalled> {
        let home = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty());
        let classpath = match &home {
            Some(home) => classpath_in(Path::new(home)).ok_or_else(|| {
                NotInstalled(format!(
                    "{HOME_ENV}={} holds neither zookeeper.jar nor lib/zookeeper-*.jar: point it at a ZooKeeper release, or unset it and `apt-get install zookeeper`",
                    Path::new(home).display()
                ))
            })?,
            None => classpath_in(Path::new(DEBIAN_JARS)).ok_or_else(|| {
                NotInstalled(format!(
                    "ZooKeeper is not installed (no {DEBIAN_JARS}/zookeeper.jar): install it with `apt-get install zookeeper`, or set {HOME_ENV} to a ZooKeeper release"
                ))
            })?,
        };
        let java = find_java()?;
        let java_home = java
            .parent()
            .and_then(Path::parent)
            .filter(|home| home.join("lib").is_dir())
            .ok_or_else(|| {
                NotInstalled(format!(
                    "{} is not inside a Java runtime (no ../lib beside it): install one with `apt-get install default-jre-headless`, or set JAVA_HOME",
                    java.display()
                ))
            })?
            .to_path_buf();
        Ok(ZooKeeperInstall {
            java,
            java_home,
            classpath,
        })
    }

    /// The classpath as `java -cp` takes it.
    pub fn classpath_string(&self) -> String {
        let parts: Vec<String> = self
            .classpath
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        parts.join(":")
    }

    /// The jars alone (an Apache release's `conf/` left out).
    pub fn jars(&self) -> impl Iterator<Item = &PathBuf> {
        self.classpath.iter().filter(|p| p.is_file())
    }
}

/// `$JAVA_HOME/bin/java`, else `java` on `PATH`, symlinks resolved (Debian's `/usr/bin/java`
/// is an alternatives link into `/usr/lib/jvm/…`).
fn find_java() -> Result<PathBuf, NotInstalled> {
    let candidate = match std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
        Some(home) => Some(Path::new(&home).join("bin/java")).filter(|j| j.is_file()),
        None => std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("java"))
                .find(|j| j.is_file())
        }),
    };
    candidate
        .and_then(|java| java.canonicalize().ok())
        .ok_or_else(|| {
            NotInstalled(
                "ZooKeeper needs Java, and there is no java on PATH (nor in $JAVA_HOME/bin): install it with `apt-get install zookeeper` (which brings a Java runtime), or set JAVA_HOME"
                    .into(),
            )
        })
}

/// The classpath of the ZooKeeper in `home`, or `None` when there is none there.
fn classpath_in(home: &Path) -> Option<Vec<PathBuf>> {
    let lib = home.join("lib");
    let release_jars = jars_in(&lib);
    if release_jars
        .iter()
        .any(|j| file_name(j).starts_with("zookeeper-"))
    {
        // An Apache release: every jar in lib/, and conf/ for its logging configuration.
        let mut classpath: Vec<PathBuf> = Some(home.join("conf"))
            .filter(|c| c.is_dir())
            .into_iter()
            .collect();
        classpath.extend(release_jars);
        return Some(classpath);
    }
    let main = home.join("zookeeper.jar");
    if !main.is_file() {
        return None;
    }
    let mut classpath = manifest_closure(&main);
    let has_binding = classpath.iter().any(|j| {
        let name = file_name(j);
        [
            "slf4j-simple",
            "slf4j-log4j12",
            "slf4j-reload4j",
            "logback-classic",
        ]
        .iter()
        .any(|b| name.starts_with(b))
    });
    if !has_binding
        && let Some(api) = classpath
            .iter()
            .find(|j| file_name(j).starts_with("slf4j-api"))
        && let Some(simple) = api
            .parent()
            .map(|d| d.join("slf4j-simple.jar"))
            .filter(|s| s.is_file())
    {
        classpath.push(simple);
    }
    Some(classpath)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `*.jar` files directly in `dir`, sorted.
fn jars_in(dir: &Path) -> Vec<PathBuf> {
    let mut jars: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jar") && p.is_file())
        .collect();
    jars.sort();
    jars
}

/// `jar` and every jar its manifest's `Class-Path` names, transitively, as the JVM resolves
/// them (relative to the naming jar's directory); missing ones are left out, as the JVM
/// ignores them.
pub fn manifest_closure(jar: &Path) -> Vec<PathBuf> {
    let mut closure = vec![jar.to_path_buf()];
    let mut next = 0;
    while next < closure.len() {
        let current = closure[next].clone();
        next += 1;
        let dir = current.parent().unwrap_or(Path::new("/")).to_path_buf();
        for entry in class_path(&current) {
            let path = dir.join(&entry);
            if path.is_file() && !closure.contains(&path) {
                closure.push(path);
            }
        }
    }
    closure
}

/// The `Class-Path` entries of a jar's manifest (none if it has no manifest or no such line).
fn class_path(jar: &Path) -> Vec<String> {
    let manifest = std::fs::File::open(jar)
        .ok()
        .and_then(|f| zip::ZipArchive::new(f).ok())
        .and_then(|mut zip| {
            let mut text = String::new();
            zip.by_name("META-INF/MANIFEST.MF")
                .ok()?
                .read_to_string(&mut text)
                .ok()?;
            Some(text)
        })
        .unwrap_or_default();
    parse_class_path(&manifest)
}

/// The `Class-Path` attribute of a manifest: its lines are wrapped at 72 bytes, each
/// continuation starting with one space.
fn parse_class_path(manifest: &str) -> Vec<String> {
    let mut value: Option<String> = None;
    for line in manifest.lines() {
        match (&mut value, line.strip_prefix(' ')) {
            (Some(v), Some(continued)) => v.push_str(continued),
            (Some(_), None) => break,
            (None, _) => {
                if let Some(rest) = line.strip_prefix("Class-Path:") {
                    value = Some(rest.trim_start().to_string());
                }
            }
        }
    }
    value
        .unwrap_or_default()
        .split_whitespace()
        // `file:` URLs and relative paths alike; other schemes cannot be files here.
        .filter_map(|e| match e.strip_prefix("file:") {
            Some(path) => Some(path.to_string()),
            None if e.contains("://") => None,
            None => Some(e.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_path_lines_are_unwrapped() {
        let manifest = "Manifest-Version: 1.0\r\nClass-Path: /usr/share/java/commons-cli.jar /usr/share/java/commons-io.j\r\n ar lib/x.jar\r\nCreated-By: Maven\r\n";
        assert_eq!(
            parse_class_path(manifest),
            [
                "/usr/share/java/commons-cli.jar",
                "/usr/share/java/commons-io.jar",
                "lib/x.jar"
            ]
        );
        assert!(parse_class_path("Manifest-Version: 1.0\n").is_empty());
    }

    #[test]
    fn the_closure_follows_manifests_and_skips_missing_jars() {
        let dir = tempfile::tempdir().unwrap();
        let jar = |name: &str, class_path: Option<&str>| {
            let path = dir.path().join(name);
            let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
            zip.start_file(
                "META-INF/MANIFEST.MF",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            let manifest = match class_path {
                Some(cp) => format!("Manifest-Version: 1.0\nClass-Path: {cp}\n"),
                None => "Manifest-Version: 1.0\n".to_string(),
            };
            std::io::Write::write_all(&mut zip, manifest.as_bytes()).unwrap();
            zip.finish().unwrap();
            path
        };
        let main = jar("zookeeper.jar", Some("a.jar missing.jar"));
        let a = jar("a.jar", Some("b.jar zookeeper.jar"));
        let b = jar("b.jar", None);
        assert_eq!(manifest_closure(&main), [main.clone(), a, b.clone()]);
        // No slf4j-api among them: no binding is added.
        assert_eq!(classpath_in(dir.path()).unwrap().len(), 3);
        assert_eq!(classpath_in(&dir.path().join("nothing")), None);
    }

    #[test]
    fn not_installed_says_how_to_install_in_one_line() {
        let e = NotInstalled("x".into());
        assert_eq!(e.to_string(), "x");
        if let Err(e) = ZooKeeperInstall::find() {
            let text = e.to_string();
            assert!(
                !text.contains('\n') && text.contains("apt-get install"),
                "{text}"
            );
        }
    }
}
