use super::*;
use crate::report::testing::{attempt, scenario};
use crate::runner::timeline::TimelineEvent;

fn at(ms: u64, kind: EventKind) -> TimelineEvent {
    TimelineEvent {
        at: Duration::from_millis(ms),
        kind,
    }
}

fn task(ms: u64, id: &str, agent: &str, state: &str) -> TimelineEvent {
    at(
        ms,
        EventKind::Task {
            id: id.into(),
            task: id.into(),
            framework: "hello".into(),
            agent: agent.into(),
            state: state.into(),
        },
    )
}

/// A scenario that kills an agent and then waits in vain for its task to finish.
fn synthetic() -> Timeline {
    Timeline {
        events: vec![
            at(
                100,
                EventKind::Leader {
                    leader: "master@127.0.0.1:5050".into(),
                },
            ),
            at(
                150,
                EventKind::AgentAdded {
                    agent: "agent-1".into(),
                },
            ),
            at(
                160,
                EventKind::AgentAdded {
                    agent: "agent-2".into(),
                },
            ),
            at(
                200,
                EventKind::Framework {
                    framework: "hello".into(),
                    state: "active".into(),
                },
            ),
            task(300, "greet", "agent-1", "TASK_STAGING"),
            task(500, "greet", "agent-1", "TASK_RUNNING"),
            at(
                600,
                EventKind::Await {
                    what: "await_task(\"greet\", \"TASK_RUNNING\")".into(),
                    ended: Duration::from_millis(700),
                    end: AwaitEnd::Ok,
                },
            ),
            at(
                800,
                EventKind::Fault {
                    target: "agent-1".into(),
                    action: "kill()".into(),
                    count: 1,
                },
            ),
            at(
                900,
                EventKind::Await {
                    what: "await_task(\"greet\", \"TASK_FINISHED\")".into(),
                    ended: Duration::from_millis(3_000),
                    end: AwaitEnd::Failed,
                },
            ),
            task(2_000, "greet", "agent-1", "TASK_LOST"),
            at(
                2_100,
                EventKind::AgentGone {
                    agent: "agent-1".into(),
                },
            ),
            at(2_200, EventKind::Log("<b>not bold</b>".into())),
        ],
        ..Timeline::default()
    }
}

fn failed_result() -> ScenarioResult {
    let mut a = attempt(
        Outcome::Failed(
            "snapshot 'final' does not match the stored one:\n--- old\n+++ new\n@@ -1,2 +1,2 @@\n tasks:\n-  greet: TASK_FINISHED\n+  greet: TASK_LOST\n  written to x.snap.new"
                .into(),
        ),
        3_100,
        &["started <script>alert(1)</script>"],
    );
    a.timeline = synthetic();
    a.artifacts = vec!["target/mmrun-artifacts/scripts_lost/cluster-1/agent-1.log".into()];
    ScenarioResult::new(scenario("scripts/lost.rhai"), vec![a])
}

fn summary() -> RunSummary {
    RunSummary {
        total: 2,
        passed: 1,
        failed: 1,
        elapsed: Duration::from_millis(4_000),
        ..RunSummary::default()
    }
}

#[test]
fn everything_from_the_scenarios_is_escaped() {
    assert_eq!(
        escape("<a href=\"x\">'&'</a>\x1b"),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
    let html = render_run(
        &[Entry::Finished(failed_result())],
        &summary(),
        Path::new("."),
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("started &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;not bold&lt;/b&gt;"));
    assert!(!html.contains("<b>not bold"));
}

#[test]
fn the_page_is_self_contained() {
    let html = render_run(
        &[Entry::Finished(failed_result())],
        &summary(),
        Path::new("."),
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    for external in ["<script", "<link", "src=\"http", "@import", "url("] {
        assert!(!html.contains(external), "{external} in the page");
    }
}

#[test]
fn the_timeline_has_a_lane_per_agent_and_framework_with_task_states() {
    let svg = svg::timeline_svg("timeline-x", &synthetic(), Duration::from_millis(3_100));
    assert!(
        svg.starts_with(r#"<svg class="timeline" id="timeline-x""#),
        "{svg}"
    );
    for lane in [
        r#"class="lane script" data-lane="script""#,
        r#"class="lane leader" data-lane="leader""#,
        r#"class="lane agent" data-lane="agent-1""#,
        r#"class="lane agent" data-lane="agent-2""#,
        r#"class="lane framework" data-lane="hello""#,
    ] {
        assert!(svg.contains(lane), "no {lane} in {svg}");
    }
    for state in ["TASK_STAGING", "TASK_RUNNING", "TASK_LOST"] {
        assert!(svg.contains(&format!(r#"class="task {state}""#)), "{state}");
    }
    assert!(svg.contains(r#"class="fault""#));
    assert!(svg.contains("agent-1.kill() at 800ms"));
    assert!(svg.contains(r#"class="mark gone""#));
}

#[test]
fn the_failed_await_is_marked() {
    let svg = svg::timeline_svg("t", &synthetic(), Duration::from_millis(3_100));
    assert_eq!(svg.matches(r#"class="await failed""#).count(), 1);
    assert_eq!(svg.matches(r#"class="await ok""#).count(), 1);
    assert!(svg.contains(r#"class="failure-line""#));
    assert!(svg.contains("await_task(&quot;greet&quot;, &quot;TASK_FINISHED&quot;) failed here"));
    let html = render_run(
        &[Entry::Finished(failed_result())],
        &summary(),
        Path::new("."),
    );
    assert!(html.contains(r#"<tr class="await failed">"#), "{html}");
    assert!(html.contains(r#"<tr class="fault">"#));
}

#[test]
fn a_failures_snapshot_diff_is_shown_coloured() {
    let html = render_run(
        &[Entry::Finished(failed_result())],
        &summary(),
        Path::new("."),
    );
    assert!(
        html.contains(r#"<span class="del">-  greet: TASK_FINISHED</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="add">+  greet: TASK_LOST</span>"#));
    assert!(html.contains(r#"<span class="hunk">@@ -1,2 +1,2 @@</span>"#));
    // Text after the diff is not coloured.
    assert!(html.contains("\n  written to x.snap.new\n"));
    assert!(html.contains(r#"id="scenario-scripts_lost" data-status="fail""#));
    assert!(html.contains(r#"id="timeline-scripts_lost""#));
}

#[test]
fn scenarios_are_summarised_and_listed() {
    let passed = ScenarioResult::new(
        scenario("scripts/ok.rhai"),
        vec![attempt(Outcome::Passed, 900, &[])],
    );
    let html = render_run(
        &[
            Entry::Finished(passed),
            Entry::Finished(failed_result()),
            Entry::NotRun {
                scenario: scenario("scripts/later.rhai"),
                reason: CancelReason::FailFast,
            },
        ],
        &summary(),
        Path::new("."),
    );
    assert!(
        html.contains("2 scenarios run: 1 passed, 1 failed — in 4s"),
        "{html}"
    );
    assert!(html.contains(r##"<a href="#scenario-scripts_ok">scripts/ok.rhai</a>"##));
    assert!(html.contains(r#"data-status="pass""#));
    assert!(html.contains(r#"data-status="not-run""#));
    assert!(html.contains("--fail-fast"));
}

#[test]
fn links_to_node_logs_are_relative_to_the_page() {
    assert_eq!(
        relative_link(Path::new("out"), Path::new("target/a b/agent-1.log")),
        "../target/a%20b/agent-1.log"
    );
    assert_eq!(
        relative_link(
            Path::new("target/mmrun-artifacts/s"),
            Path::new("target/mmrun-artifacts/s/cluster-1/master.log")
        ),
        "cluster-1/master.log"
    );
    assert_eq!(
        relative_link(Path::new(""), Path::new("x/y.log")),
        "x/y.log"
    );
    let html = render_run(
        &[Entry::Finished(failed_result())],
        &summary(),
        Path::new("target"),
    );
    assert!(
        html.contains(r#"<a href="mmrun-artifacts/scripts_lost/cluster-1/agent-1.log">"#),
        "{html}"
    );
}

#[test]
fn a_lane_of_many_tasks_shows_counts_and_many_agents_share_one_lane() {
    let mut events = Vec::new();
    for i in 0..2_000 {
        let agent = format!("agent-{}", i % 100);
        events.push(at(
            10,
            EventKind::AgentAdded {
                agent: agent.clone(),
            },
        ));
        events.push(task(100, &format!("t{i}"), &agent, "TASK_RUNNING"));
        events.push(task(900, &format!("t{i}"), &agent, "TASK_FINISHED"));
    }
    let timeline = Timeline {
        events,
        ..Timeline::default()
    };
    let svg = svg::timeline_svg("t", &timeline, Duration::from_secs(1));
    assert!(svg.contains(r#"data-lane="100 agents""#));
    assert_eq!(svg.matches(r#"class="lane agent""#).count(), 1);
    assert!(svg.contains("2000 tasks at"), "counts, not a bar per task");
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
}

#[test]
fn a_scenario_page_stands_alone() {
    let result = failed_result();
    let html = render_scenario(
        &result.scenario,
        &result.attempts[0],
        Path::new("target/mmrun-artifacts/scripts_lost"),
    );
    assert!(html.contains("<h1>scripts/lost.rhai</h1>"));
    assert!(
        html.contains(r#"<a href="cluster-1/agent-1.log">"#),
        "{html}"
    );
    assert!(html.contains(r#"class="await failed""#));
}
