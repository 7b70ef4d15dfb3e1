//! `mmrun review` / `accept` / `reject`: deciding about pending `.snap.new` files.
//!
//! `cargo insta review` finds snapshots only inside a Cargo package; mmrun's users keep theirs
//! next to their scripts, so mmrun does the same job itself on one snapshot directory.

use super::diff::{render_added, render_diff};
use super::snap_file;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

const PENDING_SUFFIX: &str = ".snap.new";

/// A snapshot waiting for a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// `<stem>__<name>.snap.new`, the proposed snapshot.
    pub new_path: PathBuf,
    /// `<stem>__<name>.snap`, which accepting replaces (it may not exist yet).
    pub snap_path: PathBuf,
}

impl Pending {
    /// `<stem>__<name>`: the file name without `.snap.new`.
    pub fn name(&self) -> String {
        let file_name = self.new_path.file_name().unwrap_or_default();
        let file_name = file_name.to_string_lossy();
        file_name
            .strip_suffix(PENDING_SUFFIX)
            .unwrap_or(&file_name)
            .to_owned()
    }

    /// Moves the `.snap.new` over the `.snap` (a rename: atomic for readers).
    pub fn accept(&self) -> io::Result<()> {
        fs::rename(&self.new_path, &self.snap_path)
            .map_err(|e| with_path(e, "cannot accept", &self.new_path))
    }

    /// Deletes the `.snap.new`; the `.snap` stays as it was.
    pub fn reject(&self) -> io::Result<()> {
        fs::remove_file(&self.new_path).map_err(|e| with_path(e, "cannot reject", &self.new_path))
    }
}

/// How many pending snapshots were accepted, rejected and left for later.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReviewSummary {
    pub accepted: usize,
    pub rejected: usize,
    pub skipped: usize,
}

/// Every `*.snap.new` directly in `snapshot_dir`, sorted by path; none if the directory does
/// not exist (no scenario has written a snapshot yet).
pub fn pending(snapshot_dir: &Path) -> io::Result<Vec<Pending>> {
    let entries = match fs::read_dir(snapshot_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(with_path(e, "cannot list snapshots in", snapshot_dir)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let new_path = entry
            .map_err(|e| with_path(e, "cannot list snapshots in", snapshot_dir))?
            .path();
        let Some(stem) = pending_stem(&new_path) else {
            continue;
        };
        let snap_path = new_path.with_file_name(format!("{stem}.snap"));
        found.push(Pending {
            new_path,
            snap_path,
        });
    }
    found.sort_by(|a, b| a.new_path.cmp(&b.new_path));
    Ok(found)
}

/// `x` for `x.snap.new` (not for hidden files, such as a write still in progress).
fn pending_stem(path: &Path) -> Option<String> {
    let name = path.file_name().and_then(OsStr::to_str)?;
    let stem = name.strip_suffix(PENDING_SUFFIX)?;
    (!stem.is_empty() && !name.starts_with('.') && path.is_file()).then(|| stem.to_owned())
}

/// Shows each pending snapshot (source, name, diff against the stored one or the whole new
/// one) and asks what to do. At the end of `input` the rest are left pending.
pub fn review(
    snapshot_dir: &Path,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    color: bool,
) -> io::Result<ReviewSummary> {
    let all = pending(snapshot_dir)?;
    let mut summary = ReviewSummary::default();
    if all.is_empty() {
        writeln!(output, "no pending snapshots in {}", snapshot_dir.display())?;
        return Ok(summary);
    }
    for (index, pending) in all.iter().enumerate() {
        writeln!(output, "[{}/{}] {}", index + 1, all.len(), pending.name())?;
        if let Err(e) = show(pending, output, color) {
            writeln!(output, "{e}; skipped")?;
            summary.skipped += 1;
            continue;
        }
        match ask(input, output)? {
            Some(Decision::Accept) => {
                pending.accept()?;
                summary.accepted += 1;
            }
            Some(Decision::Reject) => {
                pending.reject()?;
                summary.rejected += 1;
            }
            Some(Decision::Skip) => summary.skipped += 1,
            None => {
                summary.skipped += all.len() - index;
                break;
            }
        }
    }
    writeln!(
        output,
        "{} accepted, {} rejected, {} skipped",
        summary.accepted, summary.rejected, summary.skipped
    )?;
    Ok(summary)
}

fn show(
    pending: &Pending,
    output: &mut dyn Write,
    color: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let proposed = snap_file::read(&pending.new_path)?;
    writeln!(
        output,
        "  source: {}",
        proposed.source.as_deref().unwrap_or("?")
    )?;
    writeln!(
        output,
        "  snapshot: {}",
        proposed.expression.as_deref().unwrap_or("?")
    )?;
    writeln!(output, "  file: {}", pending.snap_path.display())?;
    if pending.snap_path.exists() {
        let stored = snap_file::read(&pending.snap_path)?;
        write!(
            output,
            "{}",
            render_diff(&stored.body, &proposed.body, color)
        )?;
    } else {
        writeln!(output, "new snapshot:")?;
        write!(output, "{}", render_added(&proposed.body, color))?;
    }
    Ok(())
}

enum Decision {
    Accept,
    Reject,
    Skip,
}

/// `None` at the end of the input.
fn ask(input: &mut dyn BufRead, output: &mut dyn Write) -> io::Result<Option<Decision>> {
    loop {
        write!(output, "accept (a), reject (r), skip (s)? ")?;
        output.flush()?;
        let mut answer = String::new();
        if input.read_line(&mut answer)? == 0 {
            writeln!(output)?;
            return Ok(None);
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "a" | "accept" => return Ok(Some(Decision::Accept)),
            "r" | "reject" => return Ok(Some(Decision::Reject)),
            "s" | "skip" => return Ok(Some(Decision::Skip)),
            other => writeln!(output, "`{other}` is not an answer: type a, r or s")?,
        }
    }
}

/// Accepts every pending snapshot in `snapshot_dir`.
pub fn accept_all(snapshot_dir: &Path) -> io::Result<ReviewSummary> {
    let all = pending(snapshot_dir)?;
    for pending in &all {
        pending.accept()?;
    }
    Ok(ReviewSummary {
        accepted: all.len(),
        ..ReviewSummary::default()
    })
}

/// Rejects (deletes) every pending snapshot in `snapshot_dir`.
pub fn reject_all(snapshot_dir: &Path) -> io::Result<ReviewSummary> {
    let all = pending(snapshot_dir)?;
    for pending in &all {
        pending.reject()?;
    }
    Ok(ReviewSummary {
        rejected: all.len(),
        ..ReviewSummary::default()
    })
}

fn with_path(error: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{what} {}: {error}", path.display()))
}

#[cfg(test)]
#[path = "review_tests.rs"]
mod tests;
