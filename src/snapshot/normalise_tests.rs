use super::*;

const S0: &str = "5c2a1f0e-8d3b-4c8e-9a51-3f2d0b7e6a11-S0";
const S1: &str = "5c2a1f0e-8d3b-4c8e-9a51-3f2d0b7e6a11-S1";
const S2: &str = "5c2a1f0e-8d3b-4c8e-9a51-3f2d0b7e6a11-S2";

/// A `/master/state` as Mesos 1.11 writes it: agent-1 active with attributes, agent-2
/// deactivated, agent-3 unreachable; framework `web` (running, finished and lost tasks) and
/// the completed MULTI_ROLE framework `batch` (killed and failed tasks).
fn fixture_json() -> Value {
    serde_json::from_str(include_str!("testdata/master_state.json")).unwrap()
}

fn state_from(json: Value) -> MasterState {
    serde_json::from_value(json).unwrap()
}

fn agent_ref(id: &str, name: &str) -> AgentRef {
    AgentRef {
        id: id.into(),
        name: name.into(),
    }
}

fn three_agents() -> Vec<AgentRef> {
    vec![
        agent_ref(S0, "agent-1"),
        agent_ref(S1, "agent-2"),
        agent_ref(S2, "agent-3"),
    ]
}

/// The fixture's framework `web` reduced to a name, a role and no tasks.
fn bare_framework(name: &str, role: &str) -> Value {
    let mut framework = fixture_json()["frameworks"][0].clone();
    framework["name"] = json!(name);
    framework["role"] = json!(role);
    for list in ["tasks", "completed_tasks", "unreachable_tasks", "offers"] {
        framework[list] = json!([]);
    }
    framework
}

fn task_named(name: &str, agent_id: &str, state: &str) -> Value {
    let mut task = fixture_json()["frameworks"][0]["tasks"][0].clone();
    task["name"] = json!(name);
    task["slave_id"] = json!(agent_id);
    task["state"] = json!(state);
    task
}

#[test]
fn fixture_snapshot() {
    let value = normalise(&state_from(fixture_json()), &three_agents());
    insta::assert_yaml_snapshot!("fixture", value);
}

#[test]
fn the_order_the_master_lists_things_in_does_not_show() {
    let expected = normalise(&state_from(fixture_json()), &three_agents());

    let mut shuffled = fixture_json();
    for path in [
        "/slaves",
        "/frameworks/0/tasks",
        "/completed_frameworks/0/completed_tasks",
    ] {
        shuffled
            .pointer_mut(path)
            .unwrap()
            .as_array_mut()
            .unwrap()
            .reverse();
    }
    // Volatile fields differing must not show either.
    let mut state = state_from(shuffled);
    state.frameworks[0].tasks[0].statuses[0].timestamp = 1.0;
    state.slaves[0].hostname = "elsewhere".into();
    state.slaves[0].port = 15051;

    assert_eq!(normalise(&state, &three_agents()), expected);
}

#[test]
fn nothing_volatile_survives() {
    let text = normalise(&state_from(fixture_json()), &three_agents()).to_string();
    for volatile in [
        "5c2a1f0e",  // master id, agent id prefix
        "0d9e7c3a",  // framework ids
        "2f3d-11ef", // task id uuids
        "172.17.",   // addresses
        "5050",
        "5051",
        "1718000", // timestamps
        "build-host",
        "web-principal",
        "slave(1)",
        "c2b7", // container id
    ] {
        assert!(!text.contains(volatile), "`{volatile}` survived in {text}");
    }
}

#[test]
fn integral_doubles_become_integers_and_fractions_stay() {
    let value = json!({"a": 1.0, "b": 0.1, "c": [2.0, -3.0, 2.5], "d": {"e": 1e20}, "f": "1.0"});
    assert_eq!(
        serde_json::to_string(&integral_numbers(&value)).unwrap(),
        r#"{"a":1,"b":0.1,"c":[2,-3,2.5],"d":{"e":1e+20},"f":"1.0"}"#
    );
}

#[test]
fn resources_keep_only_non_empty_entries() {
    let resources =
        json!({"cpus": 0.5, "gpus": 0.0, "mem": 0, "disk": 10.0, "ports": "", "x": "[]"});
    assert_eq!(
        non_zero_resources(&resources),
        json!({"cpus": 0.5, "disk": 10})
    );
    assert_eq!(non_zero_resources(&Value::Null), json!({}));
}

#[test]
fn agents_the_script_never_added_follow_as_unknown_sorted_by_content() {
    let mut json = fixture_json();
    let mut big = json["slaves"][1].clone();
    big["id"] = json!("zzz-S8");
    big["resources"]["cpus"] = json!(8.0);
    let mut small = json["slaves"][1].clone();
    small["id"] = json!("aaa-S9");
    small["resources"]["cpus"] = json!(4.0);
    // Listed with the bigger one first, and with ids that sort the other way.
    json["slaves"].as_array_mut().unwrap().extend([big, small]);

    let value = normalise(&state_from(json), &[agent_ref(S1, "agent-1")]);

    let agents: Vec<(String, Value)> = value["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["resources"]["cpus"].clone(),
            )
        })
        .collect();
    assert_eq!(
        agents,
        vec![
            ("agent-1".to_owned(), json!(1)),
            ("agent-?".to_owned(), json!(2)),
            ("agent-?".to_owned(), json!(4)),
            ("agent-?".to_owned(), json!(8)),
        ]
    );
}

#[test]
fn an_added_agent_the_master_no_longer_lists_is_missing() {
    let value = normalise(&state_from(fixture_json()), &three_agents());
    assert_eq!(
        value["agents"][2],
        json!({"name": "agent-3", "missing": true})
    );
}

#[test]
fn an_agent_listed_again_under_a_new_id_appears_once_and_names_tasks_on_both_ids() {
    let mut json = fixture_json();
    json["frameworks"][0]["tasks"][1]["slave_id"] = json!("old-S0");
    let agents = [
        agent_ref("old-S0", "agent-1"),
        agent_ref(S0, "agent-1"),
        agent_ref(S1, "agent-2"),
    ];

    let value = normalise(&state_from(json), &agents);

    let names: Vec<&str> = value["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["agent-1", "agent-2"]);
    assert_eq!(value["agents"][0]["active"], json!(true));
    let web_1 = &value["frameworks"][1]["tasks"][0];
    assert_eq!(
        (&web_1["name"], &web_1["agent"]),
        (&json!("web-1"), &json!("agent-1"))
    );
}

#[test]
fn frameworks_sort_by_name_then_role_and_empty_task_lists_are_omitted() {
    let mut json = fixture_json();
    json["frameworks"] = json!([
        bare_framework("b", "y"),
        bare_framework("a", "z"),
        bare_framework("b", "x"),
    ]);
    let mut completed = bare_framework("a", "a");
    completed["active"] = json!(false);
    json["completed_frameworks"] = json!([completed]);

    let value = normalise(&state_from(json), &[]);

    assert_eq!(
        value["frameworks"],
        json!([
            {"name": "a", "role": "a", "active": false, "completed": true},
            {"name": "a", "role": "z", "active": true},
            {"name": "b", "role": "x", "active": true},
            {"name": "b", "role": "y", "active": true},
        ])
    );
}

#[test]
fn tasks_sort_by_name_then_agent_then_state() {
    let mut json = fixture_json();
    let mut framework = bare_framework("f", "r");
    framework["tasks"] = json!([
        task_named("t2", S0, "TASK_RUNNING"),
        task_named("t1", S1, "TASK_RUNNING"),
        task_named("t1", S0, "TASK_STAGING"),
        task_named("t1", S0, "TASK_RUNNING"),
    ]);
    json["frameworks"] = json!([framework]);
    json["completed_frameworks"] = json!([]);

    let value = normalise(
        &state_from(json),
        &[agent_ref(S0, "agent-1"), agent_ref(S1, "agent-2")],
    );

    let order: Vec<String> = value["frameworks"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{} {} {}", t["name"], t["agent"], t["state"]).replace('"', ""))
        .collect();
    assert_eq!(
        order,
        [
            "t1 agent-1 TASK_RUNNING",
            "t1 agent-1 TASK_STAGING",
            "t1 agent-2 TASK_RUNNING",
            "t2 agent-1 TASK_RUNNING",
        ]
    );
}

#[test]
fn counts_cover_every_task_list_of_every_framework() {
    let value = normalise(&state_from(fixture_json()), &three_agents());
    assert_eq!(
        value["counts"],
        json!({
            "agents_active": 1,
            "agents_inactive": 1,
            "agents_unreachable": 1,
            "frameworks_active": 1,
            "frameworks_inactive": 0,
            "frameworks_completed": 1,
            "tasks": {
                "TASK_FAILED": 1,
                "TASK_FINISHED": 1,
                "TASK_KILLED": 1,
                "TASK_LOST": 1,
                "TASK_RUNNING": 2,
            },
        })
    );
}
