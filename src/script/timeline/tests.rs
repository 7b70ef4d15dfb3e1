use super::*;

fn kinds(recorder: &TimelineRecorder) -> Vec<EventKind> {
    recorder.take().events.into_iter().map(|e| e.kind).collect()
}

#[test]
fn faults_on_many_nodes_at_once_are_one_event_counting_them() {
    let r = TimelineRecorder::new();
    for i in 1..=3 {
        r.fault(&format!("agent-{i}"), "disconnect()");
    }
    r.fault("agent-1", "reconnect()");
    assert_eq!(
        kinds(&r),
        [
            EventKind::Fault {
                target: "agent-1".into(),
                action: "disconnect()".into(),
                count: 3
            },
            EventKind::Fault {
                target: "agent-1".into(),
                action: "reconnect()".into(),
                count: 1
            },
        ]
    );
}

#[test]
fn awaits_record_how_they_ended_and_open_ones_end_unfinished() {
    let r = TimelineRecorder::new();
    let ok = r.start_await("await_task(\"a\", \"TASK_RUNNING\")".into());
    r.end_await(ok, AwaitEnd::Ok);
    let failed = r.start_await("await_task(\"b\", \"TASK_FINISHED\")".into());
    r.end_await(failed, AwaitEnd::Failed);
    r.start_await("await_leader()".into());
    r.log("hello");
    r.snapshot("final", false);
    let ends: Vec<_> = kinds(&r)
        .into_iter()
        .map(|k| match k {
            EventKind::Await { what, end, .. } => format!("{what} {end:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ends,
        [
            "await_task(\"a\", \"TASK_RUNNING\") Ok",
            "await_task(\"b\", \"TASK_FINISHED\") Failed",
            "await_leader() Unfinished",
            "Log(\"hello\")",
            "Snapshot { name: \"final\", matched: false }",
        ]
    );
}

#[test]
fn cluster_events_beyond_the_cap_are_counted_not_kept() {
    let r = TimelineRecorder::new();
    for i in 0..MAX_CLUSTER_EVENTS + 5 {
        r.cluster(EventKind::AgentAdded {
            agent: format!("agent-{i}"),
        });
    }
    r.log("still kept");
    let timeline = r.take();
    assert_eq!(timeline.dropped, 5);
    assert_eq!(timeline.events.len(), MAX_CLUSTER_EVENTS + 1);
}
