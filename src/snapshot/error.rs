//! What can go wrong storing a snapshot; every message names the file or setting and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "invalid snapshot name `{name}`: use only ASCII letters, digits, `-`, `_` and `.` (e.g. `after-launch`)"
    )]
    InvalidName { name: String },

    #[error(
        "invalid scenario name `{stem}` for snapshots: it must be a non-empty file stem without path separators"
    )]
    InvalidScenarioStem { stem: String },

    #[error("{variable}=`{value}` is not understood: use one of {expected}")]
    InvalidSetting {
        variable: &'static str,
        value: String,
        expected: &'static str,
    },

    #[error("cannot serialise snapshot `{name}` as YAML: {source}")]
    Serialise {
        name: String,
        #[source]
        source: serde_norway::Error,
    },

    #[error("cannot read snapshot {}: {reason}; fix the file or delete it to record it anew", path.display())]
    Read { path: PathBuf, reason: String },

    #[error("cannot write snapshot {}: {source}; check that the directory is writable", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
