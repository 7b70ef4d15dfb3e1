use super::*;
use crate::report::testing::{Captured, fail_fast_run, sample_run};

fn render_with(events: &[RunEvent], color: bool, progress: Option<ProgressDrawTarget>) -> String {
    let sink = Captured::default();
    let mut reporter =
        TerminalReporter::with_progress_target(Box::new(sink.clone()), color, progress);
    for event in events {
        reporter.report(event);
    }
    reporter.finish().unwrap();
    sink.text()
}

fn render(events: &[RunEvent]) -> String {
    render_with(events, false, None)
}

#[test]
fn plain_output_of_a_mixed_run() {
    let expected = "     Starting 4 scenarios, at most 2 at a time
         PASS [   0.412s] scripts/pass.rhai
   TRY 1 FAIL [   1.002s] scripts/flaky.rhai
              expected 2 offers, got 1
                at scripts/flaky.rhai:7:3
         FAIL [   0.305s] scripts/net/fail.rhai
              assertion failed at scripts/net/fail.rhai:3:5: expected 3 tasks, got 2
                 3 | assert_eq(tasks.len(), 3);
                   |     ^
              script log:
                task t1 RUNNING
        FLAKY [   2.000s] scripts/flaky.rhai
      TIMEOUT [ 120.000s] scripts/slow.rhai
              timed out after 120s
------------
      Summary [ 121.317s] 4 scenarios run: 2 passed (1 flaky), 1 failed, 1 timed out, 0 skipped
         FAIL [   0.305s] scripts/net/fail.rhai
              assertion failed at scripts/net/fail.rhai:3:5: expected 3 tasks, got 2
                 3 | assert_eq(tasks.len(), 3);
                   |     ^
        FLAKY [   2.000s] scripts/flaky.rhai
      TIMEOUT [ 120.000s] scripts/slow.rhai
              timed out after 120s
";
    assert_eq!(render(&sample_run()), expected);
}

#[test]
fn plain_output_of_a_fail_fast_stop() {
    let expected = "     Starting 3 scenarios, at most 2 at a time
         FAIL [   0.100s] scripts/a.rhai
              boom
   Cancelling due to scenario failure: 1 scenario still running
       CANCEL [   0.150s] scripts/b.rhai
------------
      Summary [   0.160s] 2 scenarios run: 0 passed, 1 failed, 1 cancelled, 1 skipped
         FAIL [   0.100s] scripts/a.rhai
              boom
warning: 1/3 scenarios were not run due to a scenario failure (run without --fail-fast to run them all)
";
    assert_eq!(render(&fail_fast_run()), expected);
}

#[test]
fn colour_only_adds_escape_codes() {
    let coloured = render_with(&sample_run(), true, None);
    assert_eq!(console::strip_ansi_codes(&coloured), render(&sample_run()));
    let line_of = |needle: &str| {
        coloured
            .lines()
            .find(|l| l.contains(needle))
            .unwrap()
            .to_string()
    };
    // green, yellow and red labels; reasons and names stay plain.
    assert!(
        line_of("PASS").starts_with("\u{1b}[32m\u{1b}[1m"),
        "{coloured}"
    );
    assert!(
        line_of("FLAKY").starts_with("\u{1b}[33m\u{1b}[1m"),
        "{coloured}"
    );
    assert!(
        line_of("TIMEOUT").starts_with("\u{1b}[31m\u{1b}[1m"),
        "{coloured}"
    );
    assert!(
        line_of("TRY 1").starts_with("\u{1b}[35m\u{1b}[1m"),
        "TRY line: {coloured}"
    );
    assert!(line_of("expected 2 offers").starts_with("  "), "{coloured}");
}

#[test]
fn the_progress_line_does_not_change_what_is_written() {
    let with_progress = render_with(&sample_run(), false, Some(ProgressDrawTarget::hidden()));
    assert_eq!(with_progress, render(&sample_run()));
}

#[test]
fn the_progress_message_counts_running_and_failed() {
    let mut tally = Tally {
        running: 3,
        ..Tally::default()
    };
    assert_eq!(tally.progress_message(), "3 running");
    tally.record(Status::Fail);
    tally.record(Status::Pass);
    assert_eq!(tally.progress_message(), "1 running, 1 failed");
    assert_eq!(tally.finished, 2);
    tally.cancelling = true;
    assert_eq!(tally.progress_message(), "1 running, 1 failed, cancelling");
}

#[test]
fn summary_names_only_what_happened() {
    let summary = RunSummary {
        total: 5,
        passed: 1,
        script_errors: 2,
        environment_errors: 1,
        skipped: 1,
        ..RunSummary::default()
    };
    assert_eq!(
        summary_counts(&summary),
        "4 scenarios run: 1 passed, 2 script errors, 1 environment error, 1 skipped"
    );
    let single = RunSummary {
        total: 1,
        passed: 1,
        ..RunSummary::default()
    };
    assert_eq!(
        summary_counts(&single),
        "1 scenario run: 1 passed, 0 skipped"
    );
}

#[test]
fn an_interrupted_run_says_what_was_not_run() {
    let summary = RunSummary {
        total: 4,
        cancelled: 1,
        skipped: 3,
        interrupted: true,
        stopped_early: Some(CancelReason::Interrupt),
        ..RunSummary::default()
    };
    let text = render(&[RunEvent::RunFinished(summary)]);
    assert!(
        text.ends_with(
            "1 scenario run: 0 passed, 1 cancelled, 3 skipped\n\
             warning: 3/4 scenarios were not run due to interrupt\n"
        ),
        "{text}"
    );
}

#[test]
fn write_errors_are_kept_for_finish() {
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut reporter = TerminalReporter::with_progress_target(Box::new(Closed), false, None);
    for event in sample_run() {
        reporter.report(&event);
    }
    let error = reporter.finish().unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot write to the terminal: pipe closed"
    );
}

#[test]
fn a_failure_shows_the_last_lines_of_its_script_log() {
    let lines: Vec<String> = (1..=25).map(|n| format!("step {n}")).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let result = ScenarioResult::new(
        crate::report::testing::scenario("scripts/long.rhai"),
        vec![crate::report::testing::attempt(
            Outcome::Failed("boom".into()),
            10,
            &lines,
        )],
    );
    let out = render(&[RunEvent::ScenarioFinished(result)]);
    assert!(
        out.contains("boom\n              script log (last 20 of 25 lines; all in the JUnit report):\n                step 6\n"),
        "{out}"
    );
    assert!(out.ends_with("                step 25\n"), "{out}");
    assert!(!out.contains("step 5\n"), "{out}");
}

#[test]
fn artifacts_are_described_by_what_was_saved() {
    let failed = |files: &[&str]| {
        let mut attempt = crate::report::testing::attempt(Outcome::Failed("boom".into()), 10, &[]);
        attempt.artifacts = files
            .iter()
            .map(|f| match f.strip_prefix("../") {
                Some(beside) => std::path::PathBuf::from(format!("target/a/s/{beside}")),
                None => std::path::PathBuf::from(format!("target/a/s/cluster-1/{f}")),
            })
            .collect();
        let result = ScenarioResult::new(
            crate::report::testing::scenario("scripts/s.rhai"),
            vec![attempt],
        );
        render(&[RunEvent::ScenarioFinished(result)])
    };
    // The embedded backend: the master's and the agents' states, no logs.
    let out = failed(&["master-state.json", "agent-1-state.json"]);
    assert!(
        out.contains("artifacts (master state, agent states): target/a/s\n"),
        "{out}"
    );
    let out = failed(&["master-state.json", "master.log", "agent-1.log"]);
    assert!(
        out.contains("artifacts (node logs, master state): target/a/s\n"),
        "{out}"
    );
    // The scenario's report.html sits in the folder itself, not in a cluster's.
    let out = failed(&["../report.html", "master.log"]);
    assert!(
        out.contains("artifacts (node logs, report.html): target/a/s\n"),
        "{out}"
    );
}
