use super::*;
use crate::report::testing::{
    FAIL_REASON, FLAKY_REASON, attempt, fail_fast_run, sample_run, scenario,
};
use crate::runner::ScenarioResult;
use std::time::Duration;

fn write_report(events: &[RunEvent]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reports/junit.xml");
    let mut reporter = JunitReporter::new(&path);
    for event in events {
        reporter.report(event);
    }
    reporter.finish().unwrap();
    std::fs::read_to_string(path).unwrap()
}

fn parse(xml: &str) -> TestSuite {
    let mut report = Report::deserialize_from_str(xml).unwrap();
    assert_eq!(report.test_suites.len(), 1);
    report.test_suites.remove(0)
}

fn case<'a>(suite: &'a TestSuite, name: &str) -> &'a TestCase {
    suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("no test case {name}"))
}

#[test]
fn report_of_a_mixed_run() {
    let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="mmrun" tests="4" skipped="0" failures="2" errors="0" time="121.317">
    <testsuite name="mmrun" tests="4" skipped="0" errors="0" failures="2" time="121.317">
        <testcase name="scripts/pass.rhai" classname="scripts" time="0.412">
            <system-out>started
done</system-out>
        </testcase>
        <testcase name="scripts/net/fail.rhai" classname="scripts/net" time="0.305">
            <failure message="assertion failed at scripts/net/fail.rhai:3:5: expected 3 tasks, got 2" type="failure">assertion failed at scripts/net/fail.rhai:3:5: expected 3 tasks, got 2
   3 | assert_eq(tasks.len(), 3);
     |     ^</failure>
            <system-out>task t1 RUNNING</system-out>
        </testcase>
        <testcase name="scripts/flaky.rhai" classname="scripts" time="2.000">
            <flakyFailure time="1.002" message="expected 2 offers, got 1">
                <stackTrace>expected 2 offers, got 1
  at scripts/flaky.rhai:7:3</stackTrace>
                <system-out>offer 1</system-out>
            </flakyFailure>
            <system-out>offer 1
offer 2</system-out>
        </testcase>
        <testcase name="scripts/slow.rhai" classname="scripts" time="120.000">
            <failure message="timed out after 120s" type="timeout">timed out after 120s</failure>
        </testcase>
    </testsuite>
</testsuites>
"#;
    assert_eq!(write_report(&sample_run()), expected);
}

#[test]
fn the_full_failure_reason_survives_a_round_trip() {
    let suite = parse(&write_report(&sample_run()));
    let TestCaseStatus::NonSuccess {
        kind,
        message,
        description,
        ..
    } = &case(&suite, "scripts/net/fail.rhai").status
    else {
        panic!("the failed scenario is not a failure");
    };
    assert_eq!(*kind, NonSuccessKind::Failure);
    assert_eq!(
        message.as_ref().unwrap().as_str(),
        FAIL_REASON.lines().next().unwrap()
    );
    assert_eq!(description.as_ref().unwrap().as_str(), FAIL_REASON);

    let TestCaseStatus::Success { flaky_runs } = &case(&suite, "scripts/flaky.rhai").status else {
        panic!("a flaky pass is a success");
    };
    assert_eq!(flaky_runs.len(), 1);
    assert_eq!(
        flaky_runs[0].stack_trace.as_ref().unwrap().as_str(),
        FLAKY_REASON
    );
}

#[test]
fn cancelled_and_not_run_scenarios_are_skipped() {
    let suite = parse(&write_report(&fail_fast_run()));
    let skip_message = |name| match &case(&suite, name).status {
        TestCaseStatus::Skipped { message, .. } => message.as_ref().unwrap().to_string(),
        other => panic!("{name} is not skipped: {other:?}"),
    };
    assert_eq!(
        skip_message("scripts/b.rhai"),
        "cancelled while running: a scenario failed and --fail-fast is set"
    );
    assert_eq!(
        skip_message("scripts/c.rhai"),
        "not run: a scenario failed and --fail-fast is set"
    );
    assert_eq!(
        case(&suite, "scripts/b.rhai")
            .system_out
            .as_ref()
            .unwrap()
            .as_str(),
        "waiting"
    );
}

#[test]
fn errors_are_distinguished_from_failures_and_retries_are_kept() {
    let script = ScenarioResult::new(
        scenario("broken.rhai"),
        vec![attempt(
            Outcome::ScriptError("syntax error at broken.rhai:1:1".into()),
            5,
            &[],
        )],
    );
    let retried = ScenarioResult::new(
        scenario("scripts/retried.rhai"),
        vec![
            attempt(Outcome::Failed("first".into()), 10, &[]),
            attempt(Outcome::Failed("second".into()), 10, &[]),
        ],
    );
    let xml = write_report(&[
        RunEvent::ScenarioFinished(script),
        RunEvent::ScenarioFinished(retried),
        RunEvent::RunFinished(RunSummary::default()),
    ]);
    assert!(
        xml.contains(
            r#"<testcase name="broken.rhai" classname="." time="0.005">
            <error message="syntax error at broken.rhai:1:1" type="script error">"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<rerunFailure time="0.010" message="first">"#),
        "{xml}"
    );
    assert!(xml.contains(r#"<failure message="second" type="failure">second</failure>"#));
}

#[test]
fn artifacts_are_attached_the_way_ci_servers_read_them() {
    let result = ScenarioResult::new(
        scenario("scripts/a.rhai"),
        vec![Attempt {
            outcome: Outcome::Passed,
            duration: Duration::from_millis(1),
            output: vec!["hello".into()],
            artifacts: vec!["target/mmrun/a/state.json".into()],
            timeline: Default::default(),
        }],
    );
    let suite = parse(&write_report(&[
        RunEvent::ScenarioFinished(result),
        RunEvent::RunFinished(RunSummary::default()),
    ]));
    assert_eq!(
        case(&suite, "scripts/a.rhai")
            .system_out
            .as_ref()
            .unwrap()
            .as_str(),
        "hello\n[[ATTACHMENT|target/mmrun/a/state.json]]"
    );
}

#[test]
fn an_unwritable_path_is_reported_by_finish() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let mut reporter = JunitReporter::new(blocker.join("junit.xml"));
    reporter.report(&RunEvent::RunFinished(RunSummary::default()));
    let message = reporter.finish().unwrap_err().to_string();
    assert!(
        message.starts_with("cannot write the JUnit report "),
        "{message}"
    );
    assert!(message.contains("junit.xml: "), "{message}");
}
