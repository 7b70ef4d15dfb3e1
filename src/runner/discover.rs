//! Finding scenario files: `mmrun run [PATH]...` takes files as given and searches directories
//! for `*.rhai`, in a deterministic order so that runs, shards and reports are reproducible.

use super::scenario::Scenario;
use std::collections::HashSet;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Where scenarios are looked for when no path is given.
pub const DEFAULT_SCENARIO_DIR: &str = "scripts";

/// The extension of scenario files.
const EXTENSION: &str = "rhai";

/// Directories never searched: insta-style snapshots live next to the scripts they belong to.
const SNAPSHOTS_DIR: &str = "snapshots";

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}: no such file or directory", .path.display())]
    NotFound { path: PathBuf },
    #[error("{} is not a scenario: scenario files end in .{EXTENSION}", .path.display())]
    NotAScenario { path: PathBuf },
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error(
        "no scenarios found: the default directory {DEFAULT_SCENARIO_DIR}/ does not exist here; \
             write scenarios as {DEFAULT_SCENARIO_DIR}/NAME.{EXTENSION}, or name the files or \
             directories to run: mmrun run PATH..."
    )]
    NoDefaultDir,
    #[error("no scenarios found: no .{EXTENSION} file in {}; \
             name the files or directories that hold your scenarios: mmrun run PATH...",
             display_list(.searched))]
    NoneFound { searched: Vec<PathBuf> },
    /// Snapshots are named `<file stem>__<name>.snap` in one directory: two scenarios with one
    /// file name would overwrite each other's (and `--accept` would pass both, once).
    #[error(
        "{} and {} have the same file name, so they would write the same snapshots \
         ({stem}__*.snap): rename one of them",
        .first.display(),
        .second.display()
    )]
    SameName {
        stem: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// Finds the scenarios named by `paths` (or in `scripts/` when there are none).
///
/// Files are taken as given and must end in `.rhai`; directories are searched recursively,
/// skipping hidden and `snapshots` directories, in path order. A file named twice (or found
/// through two arguments) runs once, where it first appeared.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Scenario>, DiscoverError> {
    discover_or_default(paths, Path::new(DEFAULT_SCENARIO_DIR))
}

fn discover_or_default(
    paths: &[PathBuf],
    default_dir: &Path,
) -> Result<Vec<Scenario>, DiscoverError> {
    let defaulted = paths.is_empty();
    let default_paths = [default_dir.to_path_buf()];
    let paths = if defaulted { &default_paths[..] } else { paths };

    let mut found = Vec::new();
    for path in paths {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(if defaulted {
                    DiscoverError::NoDefaultDir
                } else {
                    DiscoverError::NotFound { path: path.clone() }
                });
            }
            Err(source) => {
                return Err(DiscoverError::Unreadable {
                    path: path.clone(),
                    source,
                });
            }
        };
        if metadata.is_dir() {
            let mut in_dir = Vec::new();
            search_dir(path, &mut in_dir)?;
            in_dir.sort();
            found.extend(in_dir);
        } else if is_scenario_file(path) {
            found.push(path.clone());
        } else {
            return Err(DiscoverError::NotAScenario { path: path.clone() });
        }
    }

    let scenarios = without_duplicates(found);
    if scenarios.is_empty() {
        return Err(DiscoverError::NoneFound {
            searched: paths.to_vec(),
        });
    }
    refuse_shared_names(&scenarios)?;
    Ok(scenarios)
}

/// Two scenarios whose files share a stem (`a/smoke.rhai`, `b/smoke.rhai`) are refused: their
/// snapshots would collide.
fn refuse_shared_names(scenarios: &[Scenario]) -> Result<(), DiscoverError> {
    let mut by_stem: std::collections::HashMap<String, &Path> = Default::default();
    for scenario in scenarios {
        let stem = scenario
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(first) = by_stem.insert(stem.clone(), &scenario.path) {
            return Err(DiscoverError::SameName {
                stem,
                first: first.to_path_buf(),
                second: scenario.path.clone(),
            });
        }
    }
    Ok(())
}

fn search_dir(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), DiscoverError> {
    let unreadable = |source| DiscoverError::Unreadable {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name();
        // Hidden entries are tool state (.git) or editor droppings (.#x.rhai), never scenarios.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // `file_type` does not follow symlinks, so a symlinked directory cannot make us loop;
        // a symlink to a scenario file is still found below.
        let file_type = entry.file_type().map_err(unreadable)?;
        if file_type.is_dir() {
            if name != SNAPSHOTS_DIR {
                search_dir(&path, found)?;
            }
        } else if is_scenario_file(&path) && path.is_file() {
            found.push(path);
        }
    }
    Ok(())
}

fn is_scenario_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == EXTENSION)
}

/// Drops later mentions of a file already found, comparing real paths so that `./a.rhai`,
/// `a.rhai` and `dir/../a.rhai` are one scenario.
fn without_duplicates(paths: Vec<PathBuf>) -> Vec<Scenario> {
    let mut seen = HashSet::new();
    paths
        .into_iter()
        .filter(|path| seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())))
        .map(|path| Scenario::from_path(tidy(&path)))
        .collect()
}

/// The path without `.` components, so `./scripts/a.rhai` is displayed as `scripts/a.rhai`.
fn tidy(path: &Path) -> PathBuf {
    let tidied: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if tidied.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        tidied
    }
}

fn display_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "// scenario\n").unwrap();
    }

    /// Names relative to `root`, for readable assertions.
    fn names(root: &Path, scenarios: &[Scenario]) -> Vec<String> {
        scenarios
            .iter()
            .map(|s| {
                s.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn searches_directories_recursively_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "b.rhai",
            "a.rhai",
            "sub/z.rhai",
            "sub/deeper/c.rhai",
            "a0.rhai",
            "notes.md",
        ] {
            touch(root, file);
        }
        let found = discover(&[root.to_path_buf()]).unwrap();
        assert_eq!(
            names(root, &found),
            [
                "a.rhai",
                "a0.rhai",
                "b.rhai",
                "sub/deeper/c.rhai",
                "sub/z.rhai"
            ]
        );
        assert_eq!(found[0].name, root.join("a.rhai").to_string_lossy());
    }

    #[test]
    fn two_scenarios_with_one_file_name_are_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, "a/smoke.rhai");
        touch(root, "b/smoke.rhai");
        let err = discover(&[root.to_path_buf()]).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DiscoverError::SameName { .. }), "{text}");
        assert!(
            text.contains("a/smoke.rhai") && text.contains("b/smoke.rhai"),
            "{text}"
        );
        assert!(
            text.contains("smoke__*.snap") && text.contains("rename"),
            "{text}"
        );
        // Either alone is fine.
        assert_eq!(discover(&[root.join("a")]).unwrap().len(), 1);
    }

    #[test]
    fn skips_hidden_and_snapshot_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "kept.rhai",
            ".git/hook.rhai",
            ".#kept.rhai",
            "snapshots/old.rhai",
            "sub/snapshots/old.rhai",
        ] {
            touch(root, file);
        }
        let found = discover(&[root.to_path_buf()]).unwrap();
        assert_eq!(names(root, &found), ["kept.rhai"]);
    }

    #[test]
    fn files_are_taken_as_given_and_duplicates_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, "a.rhai");
        touch(root, "b.rhai");
        let found = discover(&[
            root.join("b.rhai"),
            root.to_path_buf(),
            root.join("./a.rhai"),
        ])
        .unwrap();
        assert_eq!(names(root, &found), ["b.rhai", "a.rhai"]);
    }

    #[test]
    fn displayed_names_drop_dot_components() {
        assert_eq!(
            tidy(Path::new("./scripts/./a.rhai")),
            Path::new("scripts/a.rhai")
        );
        assert_eq!(tidy(Path::new(".")), Path::new("."));
    }

    #[test]
    fn a_file_must_exist_and_be_a_scenario() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, "notes.md");

        let missing = discover(&[root.join("missing.rhai")]).unwrap_err();
        assert!(matches!(missing, DiscoverError::NotFound { .. }));
        assert!(
            missing
                .to_string()
                .ends_with("missing.rhai: no such file or directory")
        );

        let not_rhai = discover(&[root.join("notes.md")]).unwrap_err();
        assert!(
            not_rhai
                .to_string()
                .ends_with("notes.md is not a scenario: scenario files end in .rhai"),
            "{not_rhai}"
        );
    }

    #[test]
    fn finding_nothing_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "snapshots/a.rhai");
        let error = discover(&[dir.path().to_path_buf()]).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, DiscoverError::NoneFound { .. }));
        assert!(
            message.starts_with("no scenarios found: no .rhai file in "),
            "{message}"
        );
        assert!(message.contains("mmrun run PATH..."), "{message}");
    }

    #[test]
    fn the_default_directory_is_searched_when_no_path_is_given() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "scripts/a.rhai");
        let found = discover_or_default(&[], &dir.path().join("scripts")).unwrap();
        assert_eq!(names(dir.path(), &found), ["scripts/a.rhai"]);
    }

    #[test]
    fn a_missing_default_directory_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let error = discover_or_default(&[], &dir.path().join("scripts")).unwrap_err();
        assert!(matches!(error, DiscoverError::NoDefaultDir));
        let message = error.to_string();
        assert!(message.contains("scripts/ does not exist"), "{message}");
        assert!(message.contains("scripts/NAME.rhai"), "{message}");
    }
}
