use super::*;
use serde_json::json;
use std::fs;

const SOURCE: &str = "scripts/launch.rhai";

fn store_in(dir: &Path, mode: UpdateMode) -> SnapshotStore {
    SnapshotStore::new(dir.join("snapshots"), mode, false)
}

fn check(store: &SnapshotStore, value: Value) -> SnapshotCheck {
    store
        .check(Path::new(SOURCE), "launch", "final", &value)
        .unwrap()
}

fn snap_path(dir: &Path) -> PathBuf {
    dir.join("snapshots/launch__final.snap")
}

fn pending_path(dir: &Path) -> PathBuf {
    dir.join("snapshots/launch__final.snap.new")
}

const ONE_TASK: &str = "---\nsource: scripts/launch.rhai\nexpression: final\n---\ntasks: 1\n";

#[test]
fn a_new_snapshot_is_written_as_pending_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), UpdateMode::New);

    let result = check(&store, json!({"tasks": 1}));

    assert_eq!(
        result,
        SnapshotCheck::New {
            pending: Some(pending_path(dir.path())),
            forced_pass: false
        }
    );
    assert!(!result.passed());
    assert_eq!(
        fs::read_to_string(pending_path(dir.path())).unwrap(),
        ONE_TASK
    );
    assert!(!snap_path(dir.path()).exists());
}

#[test]
fn no_mode_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), UpdateMode::No);

    let result = check(&store, json!({"tasks": 1}));

    assert_eq!(
        result,
        SnapshotCheck::New {
            pending: None,
            forced_pass: false
        }
    );
    assert!(!dir.path().join("snapshots").exists());
}

#[test]
fn always_mode_writes_the_snap_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), UpdateMode::Always);

    let result = check(&store, json!({"tasks": 1}));

    assert_eq!(
        result,
        SnapshotCheck::Accepted {
            path: snap_path(dir.path())
        }
    );
    assert!(result.passed());
    assert_eq!(fs::read_to_string(snap_path(dir.path())).unwrap(), ONE_TASK);
}

#[test]
fn an_equal_value_matches_and_removes_a_stale_pending_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("snapshots")).unwrap();
    fs::write(snap_path(dir.path()), ONE_TASK).unwrap();
    fs::write(pending_path(dir.path()), "left from an earlier run").unwrap();

    let result = check(&store_in(dir.path(), UpdateMode::No), json!({"tasks": 1}));

    assert_eq!(result, SnapshotCheck::Matched);
    assert!(!pending_path(dir.path()).exists());
}

#[test]
fn trailing_whitespace_and_crlf_in_the_stored_file_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("snapshots")).unwrap();
    let edited = format!("{}\n\n   \n", ONE_TASK.replace('\n', "\r\n"));
    fs::write(snap_path(dir.path()), edited).unwrap();

    let result = check(&store_in(dir.path(), UpdateMode::No), json!({"tasks": 1}));

    assert_eq!(result, SnapshotCheck::Matched);
}

#[test]
fn a_changed_value_gives_a_diff_and_a_pending_file_and_keeps_the_snap() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("snapshots")).unwrap();
    fs::write(snap_path(dir.path()), ONE_TASK).unwrap();

    let result = check(&store_in(dir.path(), UpdateMode::New), json!({"tasks": 2}));

    assert_eq!(
        result,
        SnapshotCheck::Changed {
            diff: "--- old\n+++ new\n@@ -1 +1 @@\n-tasks: 1\n+tasks: 2\n".into(),
            pending: Some(pending_path(dir.path())),
            forced_pass: false,
        }
    );
    assert_eq!(fs::read_to_string(snap_path(dir.path())).unwrap(), ONE_TASK);
    assert_eq!(
        fs::read_to_string(pending_path(dir.path())).unwrap(),
        ONE_TASK.replace("tasks: 1", "tasks: 2")
    );
}

#[test]
fn always_mode_overwrites_a_changed_snap_and_drops_its_pending_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("snapshots")).unwrap();
    fs::write(snap_path(dir.path()), ONE_TASK).unwrap();
    fs::write(pending_path(dir.path()), "stale").unwrap();

    let result = check(
        &store_in(dir.path(), UpdateMode::Always),
        json!({"tasks": 2}),
    );

    assert!(result.passed());
    assert_eq!(
        fs::read_to_string(snap_path(dir.path())).unwrap(),
        ONE_TASK.replace("tasks: 1", "tasks: 2")
    );
    assert!(!pending_path(dir.path()).exists());
}

#[test]
fn force_pass_lets_a_mismatch_pass_but_still_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_in(dir.path(), UpdateMode::New);
    store.force_pass = true;

    let result = check(&store, json!({"tasks": 1}));

    assert!(matches!(
        result,
        SnapshotCheck::New {
            pending: Some(_),
            forced_pass: true
        }
    ));
    assert!(result.passed());
}

#[test]
fn snapshot_names_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), UpdateMode::Always);
    for bad in ["", "a/b", "a b", "ü", "x:y"] {
        let error = store
            .check(Path::new(SOURCE), "launch", bad, &json!(1))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "invalid snapshot name `{bad}`: use only ASCII letters, digits, `-`, `_` and `.` (e.g. `after-launch`)"
            )
        );
    }
    assert_eq!(
        store.snap_path("launch", "v1.after_start-2").unwrap(),
        dir.path().join("snapshots/launch__v1.after_start-2.snap")
    );
    assert!(store.snap_path("../up", "x").is_err());
}

#[test]
fn an_unreadable_snap_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("snapshots")).unwrap();
    fs::write(snap_path(dir.path()), "---\nsource: [unclosed\n---\nx\n").unwrap();

    let error = store_in(dir.path(), UpdateMode::New)
        .check(Path::new(SOURCE), "launch", "final", &json!(1))
        .unwrap_err();

    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot read snapshot {}: ",
            snap_path(dir.path()).display()
        )),
        "{message}"
    );
    assert!(message.ends_with("fix the file or delete it to record it anew"));
}

#[test]
fn settings_come_from_accept_insta_update_force_pass_and_ci() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    };
    let resolve = |accept, pairs| {
        let store = SnapshotStore::from_vars("s", accept, vars(pairs)).unwrap();
        (store.mode, store.force_pass)
    };

    assert_eq!(resolve(false, &[]), (UpdateMode::New, false));
    assert_eq!(resolve(false, &[("CI", "true")]), (UpdateMode::No, false));
    assert_eq!(
        resolve(true, &[("CI", "true"), ("INSTA_UPDATE", "no")]),
        (UpdateMode::Always, false)
    );
    assert_eq!(
        resolve(false, &[("INSTA_UPDATE", "always"), ("CI", "1")]),
        (UpdateMode::Always, false)
    );
    assert_eq!(
        resolve(false, &[("INSTA_FORCE_PASS", "1")]),
        (UpdateMode::New, true)
    );
    assert!(SnapshotStore::from_vars("s", false, vars(&[("INSTA_UPDATE", "x")])).is_err());
}

#[test]
fn pending_path_appends_new() {
    assert_eq!(
        pending_path_for(Path::new("/s/a__b.snap")),
        PathBuf::from("/s/a__b.snap.new")
    );
}
