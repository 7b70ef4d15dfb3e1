use super::*;

fn task(id: &str, slave: &str, state: &str) -> SlimTask {
    SlimTask {
        id: id.into(),
        name: id.into(),
        slave_id: slave.into(),
        state: state.into(),
        statuses: vec![],
    }
}

fn state(leader: &str, agents: &[(&str, bool)], tasks: Vec<SlimTask>) -> SlimState {
    SlimState {
        leader: Some(leader.into()),
        elected_time: None,
        slaves: agents
            .iter()
            .map(|(id, active)| SlimAgent {
                id: id.to_string(),
                active: *active,
                registered_time: 0.0,
            })
            .collect(),
        frameworks: vec![SlimFramework {
            id: "fw-1".into(),
            name: "hello".into(),
            active: true,
            registered_time: 0.0,
            tasks,
            unreachable_tasks: vec![],
            completed_tasks: vec![],
        }],
    }
}

fn kinds(recorder: &TimelineRecorder) -> Vec<EventKind> {
    recorder.take().events.into_iter().map(|e| e.kind).collect()
}

#[test]
fn the_observer_records_what_changed_between_two_reads() {
    let r = TimelineRecorder::new();
    let mut seen = Seen::default();
    let names = |id: &str| Some(id.replace("id-", "agent-"));
    seen.diff(
        &state(
            "master@1",
            &[("id-1", true)],
            vec![task("t1", "id-1", "TASK_STAGING")],
        ),
        &names,
        &r,
    );
    // The same state again: nothing new.
    seen.diff(
        &state(
            "master@1",
            &[("id-1", true)],
            vec![task("t1", "id-1", "TASK_STAGING")],
        ),
        &names,
        &r,
    );
    seen.diff(
        &state(
            "master@2",
            &[("id-2", true)],
            vec![task("t1", "id-1", "TASK_LOST")],
        ),
        &names,
        &r,
    );
    let text: Vec<String> = kinds(&r).iter().map(|k| format!("{k:?}")).collect();
    assert_eq!(
        text,
        [
            "Leader { leader: \"1\" }",
            "AgentAdded { agent: \"agent-1\" }",
            "Framework { framework: \"hello\", state: \"active\" }",
            "Task { id: \"t1\", task: \"t1\", framework: \"hello\", agent: \"agent-1\", state: \"TASK_STAGING\" }",
            "Leader { leader: \"2\" }",
            "AgentAdded { agent: \"agent-2\" }",
            "AgentGone { agent: \"agent-1\" }",
            "Task { id: \"t1\", task: \"t1\", framework: \"hello\", agent: \"agent-1\", state: \"TASK_LOST\" }",
        ]
    );
}

#[test]
fn task_states_are_placed_at_their_statuses_times() {
    let r = TimelineRecorder::new();
    std::thread::sleep(Duration::from_millis(30));
    let mut seen = Seen::default();
    let mut t = task("t1", "id-1", "TASK_RUNNING");
    let start = r.started_epoch;
    t.statuses = vec![
        SlimStatus {
            state: "TASK_STARTING".into(),
            timestamp: start + 0.0105,
        },
        SlimStatus {
            state: "TASK_RUNNING".into(),
            timestamp: start + 0.0205,
        },
        // A health update: the same state again.
        SlimStatus {
            state: "TASK_RUNNING".into(),
            timestamp: start + 0.025,
        },
    ];
    seen.diff(&state("m", &[], vec![t]), &|id| Some(id.to_string()), &r);
    let tasks: Vec<(u128, String)> = r
        .take()
        .events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Task { state, .. } => Some((e.at.as_millis(), state)),
            _ => None,
        })
        .collect();
    assert_eq!(
        tasks,
        [
            (10, "TASK_STARTING".to_string()),
            (20, "TASK_RUNNING".to_string())
        ]
    );
}

#[test]
fn an_agent_is_recorded_under_the_scripts_name_once_it_knows_it() {
    let r = TimelineRecorder::new();
    let mut seen = Seen::default();
    let known = std::cell::Cell::new(false);
    let names = |id: &str| known.get().then(|| id.replace("id-", "agent-"));
    let read = || {
        state(
            "m",
            &[("id-1", true)],
            vec![task("t1", "id-1", "TASK_RUNNING")],
        )
    };
    seen.diff(&read(), &names, &r);
    known.set(true);
    seen.diff(&read(), &names, &r);
    // An agent the script never names gets one from its id after a few reads.
    let stranger = || state("m", &[("id-1", true), ("0123-S99", true)], vec![]);
    for _ in 0..UNNAMED_READS {
        seen.diff(&stranger(), &names_or_none, &r);
    }
    let agents: Vec<String> = r
        .take()
        .events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::AgentAdded { agent } => Some(agent),
            EventKind::Task { agent, .. } => Some(format!("task on {agent}")),
            _ => None,
        })
        .collect();
    assert_eq!(agents, ["agent-1", "task on agent-1", "agent …23-S99"]);
}

fn names_or_none(id: &str) -> Option<String> {
    (id == "id-1").then(|| "agent-1".to_string())
}
