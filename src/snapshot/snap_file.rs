//! One snapshot file in insta's format, so `cargo insta` and editors that know insta read it:
//!
//! ```text
//! ---
//! source: scripts/launch.rhai
//! expression: after-launch
//! ---
//! <the value as YAML>
//! ```
//!
//! Reading goes through insta's public `Snapshot::from_file`, so mmrun parses the front matter
//! and the body exactly as insta does, and comparison uses insta's normalisation of the body
//! (trailing whitespace and CRLF ignored). Writing is ours: insta has no public API to write a
//! snapshot file (`Snapshot::save` is hidden and there is no public constructor).
//!
//! YAML is written with `serde_norway`, the maintained fork of `serde_yaml` (dtolnay's crate is
//! archived; `serde_yml` is archived and flagged by RustSec advisories). insta's own YAML writer is reachable only
//! through its hidden `_macro_support` module, which is not public API and may change in any
//! release. The one visible difference from `assert_yaml_snapshot!` output: list items under a
//! key are not indented (`agents:\n- name: …` rather than `agents:\n  - name: …`); both are
//! the same YAML, and mmrun always writes the same way, so runs compare equal.

use super::error::SnapshotError;
use insta::TextSnapshotKind;
use insta::internals::TextSnapshotContents;
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// The front matter mmrun writes (insta also knows `info`, `description`, `input_file`).
#[derive(Serialize)]
struct FrontMatter<'a> {
    source: &'a str,
    expression: &'a str,
}

/// A snapshot file's contents as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapFile {
    pub source: Option<String>,
    pub expression: Option<String>,
    /// The body, normalised as insta compares it.
    pub body: String,
}

/// `value` as the YAML body of a snapshot.
pub fn yaml_body(name: &str, value: &Value) -> Result<String, SnapshotError> {
    serde_norway::to_string(value).map_err(|source| SnapshotError::Serialise {
        name: name.to_owned(),
        source,
    })
}

/// The text insta compares: trailing whitespace dropped, CRLF as LF.
pub fn normalised_body(body: &str) -> String {
    TextSnapshotContents::new(body.to_owned(), TextSnapshotKind::File).to_string()
}

/// The whole file: `---`, front matter, `---`, body, one final newline.
pub fn render(source: &str, expression: &str, body: &str) -> Result<String, SnapshotError> {
    let front_matter = FrontMatter { source, expression };
    let header =
        serde_norway::to_string(&front_matter).map_err(|source| SnapshotError::Serialise {
            name: expression.to_owned(),
            source,
        })?;
    Ok(format!("---\n{header}---\n{}\n", normalised_body(body)))
}

/// Reads a `.snap` or `.snap.new` file.
pub fn read(path: &Path) -> Result<SnapFile, SnapshotError> {
    let read_error = |reason: String| SnapshotError::Read {
        path: path.to_owned(),
        reason,
    };
    let snapshot = insta::Snapshot::from_file(path).map_err(|e| read_error(e.to_string()))?;
    let body = snapshot
        .as_text()
        .ok_or_else(|| read_error("it is a binary snapshot; mmrun writes text only".into()))?
        .to_string();
    let metadata = snapshot.metadata();
    Ok(SnapFile {
        source: metadata.source().map(str::to_owned),
        expression: metadata.expression().map(str::to_owned),
        body,
    })
}

/// Writes through a temporary file in the same directory and renames it into place, so a
/// reader (another scenario, `mmrun review`) sees the old file or the new one, never half of
/// one. The temporary name starts with `.` and does not end in `.snap.new`, so it is never
/// taken for a pending snapshot.
pub fn write_atomically(path: &Path, contents: &str) -> Result<(), SnapshotError> {
    let write_error = |source| SnapshotError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".mmrun-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_error)?;
    temp.write_all(contents.as_bytes()).map_err(write_error)?;
    temp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_insta_front_matter_then_the_yaml_body() {
        let body = yaml_body("final", &json!({"b": [1, 0.5], "a": "[31000-32000]"})).unwrap();
        assert_eq!(
            render("scripts/launch.rhai", "final", &body).unwrap(),
            "---\nsource: scripts/launch.rhai\nexpression: final\n---\n\
             a: '[31000-32000]'\nb:\n- 1\n- 0.5\n"
        );
    }

    #[test]
    fn insta_reads_back_what_we_write_even_with_awkward_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x__final.snap");
        let source = "scripts/it's: #1 \"odd\".rhai";
        let body = yaml_body("final", &json!({"k": "v"})).unwrap();
        write_atomically(&path, &render(source, "final", &body).unwrap()).unwrap();

        assert_eq!(
            read(&path).unwrap(),
            SnapFile {
                source: Some(source.to_owned()),
                expression: Some("final".to_owned()),
                body: "k: v".to_owned(),
            }
        );
    }

    #[test]
    fn normalisation_ignores_trailing_whitespace_and_crlf() {
        assert_eq!(normalised_body("a: 1\r\nb: 2\r\n\n  "), "a: 1\nb: 2");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/s__n.snap");
        write_atomically(&path, "one").unwrap();
        write_atomically(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["s__n.snap"]);
    }
}
