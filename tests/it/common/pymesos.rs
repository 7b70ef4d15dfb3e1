//! The pymesos venv (tests/compat/setup-python.sh; `.ci/run` makes it) for the tests that run
//! unmodified pymesos code: its python, or `None` after saying why the test skips (a panic
//! under MMRUN_REQUIRE_PYMESOS=1, as in CI).

use std::path::PathBuf;

pub fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("MMRUN_PYENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv"));
    let python = venv.join("bin/python");
    if python.exists() {
        return Some(python);
    }
    let message = format!(
        "pymesos venv not found at {}: run tests/compat/setup-python.sh",
        venv.display()
    );
    if std::env::var("MMRUN_REQUIRE_PYMESOS").is_ok_and(|v| v == "1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    None
}
