use super::*;
use crate::snapshot::store::{SnapshotStore, UpdateMode};
use serde_json::{Value, json};

/// A snapshot directory with `a__one` changed (tasks 1 → 2) and `b__two`, `c__three` new.
fn three_pending() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let check = |mode, stem: &str, name: &str, value: Value| {
        let store = SnapshotStore::new(dir.path(), mode, false);
        let source = PathBuf::from(format!("scripts/{stem}.rhai"));
        store.check(&source, stem, name, &value).unwrap();
    };
    check(UpdateMode::Always, "a", "one", json!({"tasks": 1}));
    check(UpdateMode::New, "a", "one", json!({"tasks": 2}));
    check(UpdateMode::New, "b", "two", json!({"agents": ["agent-1"]}));
    check(UpdateMode::New, "c", "three", json!(3));
    dir
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn run_review(dir: &Path, answers: &str) -> (ReviewSummary, String) {
    let mut output = Vec::new();
    let summary = review(dir, &mut answers.as_bytes(), &mut output, false).unwrap();
    let text = String::from_utf8(output).unwrap();
    (summary, text.replace(&dir.display().to_string(), "<dir>"))
}

#[test]
fn pending_lists_only_snap_new_files_sorted() {
    let dir = three_pending();
    fs::write(dir.path().join(".mmrun-x.snap.new"), "").unwrap();
    fs::write(dir.path().join("notes.txt"), "").unwrap();

    let names: Vec<String> = pending(dir.path())
        .unwrap()
        .iter()
        .map(Pending::name)
        .collect();

    assert_eq!(names, ["a__one", "b__two", "c__three"]);
    assert_eq!(
        pending(dir.path()).unwrap()[0].snap_path,
        dir.path().join("a__one.snap")
    );
}

#[test]
fn a_missing_directory_has_nothing_pending() {
    assert_eq!(
        pending(Path::new("/nonexistent/mmrun/snapshots")).unwrap(),
        []
    );
}

#[test]
fn review_accepts_rejects_and_skips_as_answered() {
    let dir = three_pending();

    let (summary, output) = run_review(dir.path(), "a\nr\ns\n");

    assert_eq!(
        summary,
        ReviewSummary {
            accepted: 1,
            rejected: 1,
            skipped: 1
        }
    );
    assert_eq!(
        output,
        "[1/3] a__one\n  source: scripts/a.rhai\n  snapshot: one\n  file: <dir>/a__one.snap\n\
         --- old\n+++ new\n@@ -1 +1 @@\n-tasks: 1\n+tasks: 2\n\
         accept (a), reject (r), skip (s)? \
         [2/3] b__two\n  source: scripts/b.rhai\n  snapshot: two\n  file: <dir>/b__two.snap\n\
         new snapshot:\n+agents:\n+- agent-1\n\
         accept (a), reject (r), skip (s)? \
         [3/3] c__three\n  source: scripts/c.rhai\n  snapshot: three\n  file: <dir>/c__three.snap\n\
         new snapshot:\n+3\n\
         accept (a), reject (r), skip (s)? \
         1 accepted, 1 rejected, 1 skipped\n"
    );
    assert_eq!(file_names(dir.path()), ["a__one.snap", "c__three.snap.new"]);
    assert_eq!(
        fs::read_to_string(dir.path().join("a__one.snap")).unwrap(),
        "---\nsource: scripts/a.rhai\nexpression: one\n---\ntasks: 2\n"
    );
}

#[test]
fn an_unknown_answer_is_asked_again() {
    let dir = three_pending();

    let (summary, output) = run_review(dir.path(), "yes\nA\nreject\nskip\n");

    assert_eq!(
        (summary.accepted, summary.rejected, summary.skipped),
        (1, 1, 1)
    );
    assert!(output.contains(
        "accept (a), reject (r), skip (s)? `yes` is not an answer: type a, r or s\n\
         accept (a), reject (r), skip (s)? [2/3]"
    ));
}

#[test]
fn the_end_of_input_leaves_the_rest_pending() {
    let dir = three_pending();

    let (summary, output) = run_review(dir.path(), "r\n");

    assert_eq!(
        summary,
        ReviewSummary {
            accepted: 0,
            rejected: 1,
            skipped: 2
        }
    );
    assert!(output.ends_with("skip (s)? \n0 accepted, 1 rejected, 2 skipped\n"));
    assert_eq!(
        file_names(dir.path()),
        ["a__one.snap", "b__two.snap.new", "c__three.snap.new"]
    );
}

#[test]
fn nothing_pending_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, output) = run_review(dir.path(), "");
    assert_eq!(summary, ReviewSummary::default());
    assert_eq!(output, "no pending snapshots in <dir>\n");
}

#[test]
fn accept_all_turns_every_pending_file_into_the_snap() {
    let dir = three_pending();

    let summary = accept_all(dir.path()).unwrap();

    assert_eq!(summary.accepted, 3);
    assert_eq!(
        file_names(dir.path()),
        ["a__one.snap", "b__two.snap", "c__three.snap"]
    );
    assert!(
        fs::read_to_string(dir.path().join("a__one.snap"))
            .unwrap()
            .ends_with("tasks: 2\n")
    );
}

#[test]
fn reject_all_deletes_every_pending_file_and_keeps_the_snaps() {
    let dir = three_pending();

    let summary = reject_all(dir.path()).unwrap();

    assert_eq!(summary.rejected, 3);
    assert_eq!(file_names(dir.path()), ["a__one.snap"]);
    assert!(
        fs::read_to_string(dir.path().join("a__one.snap"))
            .unwrap()
            .ends_with("tasks: 1\n")
    );
}
