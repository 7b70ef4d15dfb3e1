//! Debian's mesos-go (golang-github-mesos-mesos-go-dev, with golang-go; `.ci/go-setup.sh`
//! installs both) for the tests that run unmodified mesos-go code: the programs of
//! tests/compat/go/, built once per test binary, or `None` after saying why the test skips (a
//! panic under MMRUN_REQUIRE_MESOS_GO=1, as in CI).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const LIBRARY: &str =
    "/usr/share/gocode/src/github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched";

/// The directory holding the built programs (`mmrun-go-scheduler`).
pub fn programs() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build) {
        Ok(dir) => Some(dir.clone()),
        Err(message) => {
            if std::env::var("MMRUN_REQUIRE_MESOS_GO").is_ok_and(|v| v == "1") {
                panic!("{message}");
            }
            eprintln!("SKIPPED: {message}");
            None
        }
    }
}

fn build() -> Result<PathBuf, String> {
    let has_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_go || !Path::new(LIBRARY).is_dir() {
        return Err(
            "Go or Debian's mesos-go not installed: run .ci/go-setup.sh \
             (apt-get install golang-go golang-github-mesos-mesos-go-dev)"
                .into(),
        );
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/mesos-go");
    let built = Command::new("bash")
        .arg(root.join("tests/compat/go/build.sh"))
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run tests/compat/go/build.sh: {e}"))?;
    if !built.status.success() {
        // A build failure is a broken test, not a missing tool: never a skip.
        panic!(
            "tests/compat/go/build.sh failed:\n{}{}",
            String::from_utf8_lossy(&built.stdout),
            String::from_utf8_lossy(&built.stderr)
        );
    }
    Ok(out)
}
