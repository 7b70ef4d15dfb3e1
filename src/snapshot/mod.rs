//! Snapshots of the Mesos state a scenario leaves behind, stored in insta's file format.
//!
//! Three steps, one file each:
//! - [`normalise`]: `/master/state` → a value without ids, times, hosts or ports, in a fixed
//!   order, so the same scenario gives the same snapshot on every run and every backend.
//! - [`store`]: compares that value with the stored snapshot and writes new or changed ones as
//!   the update mode says.
//! - [`review`]: `mmrun review` / `accept` / `reject` on the pending ones.
//!
//! # Files
//!
//! ```text
//! <snapshot_dir>/<scenario stem>__<snapshot name>.snap       the accepted snapshot
//! <snapshot_dir>/<scenario stem>__<snapshot name>.snap.new   a new or changed one, pending review
//! ```
//!
//! e.g. the snapshot `after-launch` taken by `scripts/launch.rhai` is `launch__after-launch.snap`.
//! Snapshot names may use ASCII letters, digits, `-`, `_` and `.`. Each file is insta's
//! format: YAML front matter (`source:` the script path, `expression:` the snapshot name)
//! between `---` lines, then the value as YAML. Files are compared as insta compares them
//! (trailing whitespace and line endings ignored) and written atomically, so scenarios running
//! in parallel never see half a file.
//!
//! # Update modes
//!
//! | mode | chosen by | new or changed value | passes? |
//! |---|---|---|---|
//! | `Always` | `--accept`, `INSTA_UPDATE=always` | written as the `.snap` | yes |
//! | `New` | `INSTA_UPDATE=new` (or `unseen`); `Auto` off CI | written as `.snap.new` | no |
//! | `No` | `INSTA_UPDATE=no`; `Auto` on CI (`CI` set, not `0`/`false`) | not written | no |
//!
//! `Auto` (`INSTA_UPDATE` unset or `auto`) is the default. `INSTA_FORCE_PASS=1` makes a new or
//! changed snapshot pass while still reporting it. A value that matches removes a leftover
//! `.snap.new` of the same snapshot.

mod diff;
mod error;
pub mod normalise;
pub mod review;
mod snap_file;
pub mod store;
mod update_mode;
