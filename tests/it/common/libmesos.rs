//! The real libmesos 1.11 scheduler driver (the C++ MesosSchedulerDriver behind the Java, Scala,
//! Python and C++ APIs) through its Python 2.7 binding, built by `.ci/libmesos-setup.sh` under
//! target/libmesos-ext (or $MMRUN_LIBMESOS_EXT), for the tests that run
//! tests/compat/libmesos/driver_scheduler.py: its interpreter, or `None` after saying why the
//! test skips (a panic under MMRUN_REQUIRE_LIBMESOS=1, as in CI).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `python2-mesos`: Python 2.7 with `mesos.interface` and `mesos.scheduler` on its path, and
/// LIBPROCESS_IP defaulting to 127.0.0.1.
pub fn python2_mesos() -> Option<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match FOUND.get_or_init(find) {
        Ok(python) => Some(python.clone()),
        Err(message) => {
            if std::env::var("MMRUN_REQUIRE_LIBMESOS").is_ok_and(|v| v == "1") {
                panic!("{message}");
            }
            eprintln!("SKIPPED: {message}");
            None
        }
    }
}

/// The driver scheduler program (same flags and stdout protocol as mmrun-go-v0-scheduler).
pub fn driver_scheduler() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/libmesos/driver_scheduler.py")
}

fn find() -> Result<PathBuf, String> {
    let ext = std::env::var_os("MMRUN_LIBMESOS_EXT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/libmesos-ext"));
    let python = ext.join("libmesos/bin/python2-mesos");
    if !python.exists() {
        return Err(format!(
            "libmesos (the real Mesos scheduler driver) not found at {}: run .ci/libmesos-setup.sh",
            python.display()
        ));
    }
    // mesos.interface (protobuf) first: importing mesos.scheduler alone segfaults.
    let import = Command::new(&python)
        .args([
            "-c",
            "from mesos.interface import mesos_pb2; from mesos.scheduler import MesosSchedulerDriver",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !import.status.success() {
        // There but broken (moved, half built): a broken test setup, never a skip.
        panic!(
            "{} cannot import the driver (rerun .ci/libmesos-setup.sh after deleting {}):\n{}",
            python.display(),
            ext.join("libmesos").display(),
            String::from_utf8_lossy(&import.stderr)
        );
    }
    Ok(python)
}
