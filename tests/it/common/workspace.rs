//! A scratch directory for tests that run the `mmrun` binary: it is also the run's TMPDIR, so
//! whatever a run leaves behind shows (`assert_clean`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A fresh directory named `<prefix>…` holding `tmp/` and the given subdirectories.
    pub fn new(prefix: &str, subdirs: &[&str]) -> Workspace {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
        for sub in ["tmp"].iter().chain(subdirs) {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Workspace { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The `mmrun` binary with `args`, its TMPDIR this workspace's `tmp/`, without colour and
    /// deaf to the caller's insta settings (a test decides what snapshots do).
    pub fn mmrun(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmrun"));
        cmd.args(args)
            .env("TMPDIR", self.path("tmp"))
            .env("NO_COLOR", "1")
            .env_remove("INSTA_UPDATE")
            .env_remove("INSTA_FORCE_PASS");
        cmd
    }

    /// Nothing a run created may outlive it.
    pub fn assert_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(self.path("tmp"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
    }
}

/// Exit code (-1 for a signal) and stdout followed by stderr.
pub fn code_and_text(out: &Output) -> (i32, String) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
