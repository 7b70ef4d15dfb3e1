//! Checking a scenario's value against its stored snapshot, writing new and changed ones as
//! the update mode says. Works from an installed binary: nothing here needs Cargo or a
//! workspace, only a snapshot directory.

use super::snap_file::{self, normalised_body};
use super::update_mode::{force_pass, is_ci};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub use super::diff::{render_added, render_diff};
pub use super::error::SnapshotError;
pub use super::snap_file::yaml_body;
pub use super::update_mode::UpdateMode;

/// Where snapshots live and what to do when one is new or differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotStore {
    pub snapshot_dir: PathBuf,
    /// `Auto` is resolved against `CI` at each check; [`SnapshotStore::from_env`] resolves it
    /// once instead.
    pub mode: UpdateMode,
    /// `INSTA_FORCE_PASS`: mismatches are reported but do not fail.
    pub force_pass: bool,
}

/// The result of one check. Only `Matched` and `Accepted` pass, unless forced (`forced_pass`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotCheck {
    /// Equal to the stored `.snap`.
    Matched,
    /// New or changed, and written as the `.snap` itself (`Always` mode).
    Accepted { path: PathBuf },
    /// There is no `.snap` yet; `pending` is the `.snap.new` written for review (none in `No` mode).
    New {
        pending: Option<PathBuf>,
        forced_pass: bool,
    },
    /// Differs from the stored `.snap`; `diff` is plain (uncoloured) [`render_diff`] output.
    Changed {
        diff: String,
        pending: Option<PathBuf>,
        forced_pass: bool,
    },
}

impl SnapshotCheck {
    pub fn passed(&self) -> bool {
        match self {
            SnapshotCheck::Matched | SnapshotCheck::Accepted { .. } => true,
            SnapshotCheck::New { forced_pass, .. } | SnapshotCheck::Changed { forced_pass, .. } => {
                *forced_pass
            }
        }
    }
}

impl SnapshotStore {
    pub fn new(snapshot_dir: impl Into<PathBuf>, mode: UpdateMode, force_pass: bool) -> Self {
        SnapshotStore {
            snapshot_dir: snapshot_dir.into(),
            mode,
            force_pass,
        }
    }

    /// From `--accept` and the process environment (`INSTA_UPDATE`, `INSTA_FORCE_PASS`, `CI`).
    pub fn from_env(snapshot_dir: impl Into<PathBuf>, accept: bool) -> Result<Self, SnapshotError> {
        Self::from_vars(snapshot_dir, accept, |name| std::env::var(name).ok())
    }

    /// Like [`SnapshotStore::from_env`], reading variables through `var`.
    pub fn from_vars(
        snapshot_dir: impl Into<PathBuf>,
        accept: bool,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SnapshotError> {
        let on_ci = is_ci(var("CI").as_deref());
        let mode = UpdateMode::resolve(accept, var("INSTA_UPDATE").as_deref())?.without_auto(on_ci);
        let force_pass = force_pass(var("INSTA_FORCE_PASS").as_deref())?;
        Ok(Self::new(snapshot_dir, mode, force_pass))
    }

    /// `<snapshot_dir>/<scenario stem>__<name>.snap`, after checking both parts.
    pub fn snap_path(&self, scenario_stem: &str, name: &str) -> Result<PathBuf, SnapshotError> {
        validate_name(name)?;
        validate_stem(scenario_stem)?;
        Ok(self
            .snapshot_dir
            .join(format!("{scenario_stem}__{name}.snap")))
    }

    /// Compares `value` with the stored snapshot `name` of the scenario and acts on the
    /// result as the mode says. `source` is the script path, recorded as given.
    pub fn check(
        &self,
        source: &Path,
        scenario_stem: &str,
        name: &str,
        value: &Value,
    ) -> Result<SnapshotCheck, SnapshotError> {
        let snap_path = self.snap_path(scenario_stem, name)?;
        let pending_path = pending_path_for(&snap_path);
        let new_body = normalised_body(&snap_file::yaml_body(name, value)?);
        let contents = snap_file::render(&source.to_string_lossy(), name, &new_body)?;
        let old_body = if snap_path.exists() {
            Some(snap_file::read(&snap_path)?.body)
        } else {
            None
        };

        if old_body.as_deref() == Some(new_body.as_str()) {
            remove_stale(&pending_path)?;
            return Ok(SnapshotCheck::Matched);
        }
        let mode = self
            .mode
            .without_auto(is_ci(std::env::var("CI").ok().as_deref()));
        let pending = match mode {
            UpdateMode::Always => {
                snap_file::write_atomically(&snap_path, &contents)?;
                remove_stale(&pending_path)?;
                return Ok(SnapshotCheck::Accepted { path: snap_path });
            }
            UpdateMode::New | UpdateMode::Auto => {
                snap_file::write_atomically(&pending_path, &contents)?;
                Some(pending_path)
            }
            UpdateMode::No => None,
        };
        let forced_pass = self.force_pass;
        Ok(match old_body {
            None => SnapshotCheck::New {
                pending,
                forced_pass,
            },
            Some(old_body) => SnapshotCheck::Changed {
                diff: render_diff(&old_body, &new_body, false),
                pending,
                forced_pass,
            },
        })
    }
}

/// `x.snap` → `x.snap.new`, where insta keeps a snapshot waiting for review.
pub fn pending_path_for(snap_path: &Path) -> PathBuf {
    let mut name = snap_path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn validate_name(name: &str) -> Result<(), SnapshotError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(SnapshotError::InvalidName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn validate_stem(stem: &str) -> Result<(), SnapshotError> {
    if stem.is_empty() || stem.contains(['/', '\\']) || stem == "." || stem == ".." {
        return Err(SnapshotError::InvalidScenarioStem {
            stem: stem.to_owned(),
        });
    }
    Ok(())
}

/// A `.snap.new` left from an earlier run describes a value that is no longer current.
fn remove_stale(pending_path: &Path) -> Result<(), SnapshotError> {
    match std::fs::remove_file(pending_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SnapshotError::Write {
            path: pending_path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
