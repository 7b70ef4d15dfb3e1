//! Custom executors end to end on an in-process cluster: mmrun's framework launches tasks on
//! `mmrun example-executor` (a real v1 executor over HTTP, run by the agent as a process), and
//! the master's and agent's state endpoints are checked as Mesos shows executors.

use crate::common;

use common::wait_for;

use mmrun::framework::{ExecutorRequest, Framework, FrameworkOptions, TaskRequest};
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use mmrun::mesos::state::{AgentState, MasterState};
use mmrun::mesos::task::TaskState;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn example_executor(id: &str) -> ExecutorRequest {
    ExecutorRequest {
        id: id.into(),
        cmd: format!("'{}' example-executor", env!("CARGO_BIN_EXE_mmrun")),
        uris: vec![],
        docker: None,
    }
}

fn task(name: &str, cmd: &str, executor: &ExecutorRequest) -> TaskRequest {
    TaskRequest {
        executor: Some(executor.clone()),
        ..TaskRequest::command(name, cmd)
    }
}

async fn cluster(options: ClusterOptions) -> (LocalCluster, Framework) {
    let mut c = LocalCluster::start(options).await.unwrap();
    c.add_agent(AgentOptions::default()).await.unwrap();
    let fw = Framework::subscribe(&c.master_url(), FrameworkOptions::named("exec"))
        .await
        .unwrap();
    (c, fw)
}

async fn reach(fw: &Framework, name: &str, state: TaskState) -> mmrun::framework::TaskRecord {
    fw.await_task(name, state, WAIT, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn agent_state(c: &LocalCluster) -> AgentState {
    reqwest::get(format!("{}/state", c.agent_url(0).unwrap()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn master_state(c: &LocalCluster) -> MasterState {
    reqwest::get(format!("{}/master/state", c.master_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls the agent's /state until `done` holds.
async fn agent_state_until(
    c: &LocalCluster,
    what: &str,
    done: impl Fn(&AgentState) -> bool,
) -> AgentState {
    wait_for(what, WAIT, || async {
        let state = agent_state(c).await;
        match done(&state) {
            true => Ok(state),
            false => Err(format!("{state:#?}")),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tasks_share_one_executor_that_echoes_messages_kills_and_shuts_down() {
    let (c, fw) = cluster(ClusterOptions::default()).await;
    let executor = example_executor("echoer");
    fw.launch(vec![
        task("quick", "echo quick", &executor),
        task("long", "sleep 600", &executor),
    ])
    .unwrap();
    let quick = reach(&fw, "quick", TaskState::Finished).await;
    assert_eq!(quick.history(), [TaskState::Running, TaskState::Finished]);
    let long = reach(&fw, "long", TaskState::Running).await;
    // Both ran in the one executor's container.
    let container = |t: &mmrun::framework::TaskRecord| {
        t.statuses[0]
            .container_status
            .as_ref()
            .and_then(|c| c.container_id.clone())
            .expect("executor updates carry the container id")
    };
    assert_eq!(container(&quick), container(&long));
    let running = &long.statuses[0];
    assert_eq!(running.source.as_deref(), Some("SOURCE_EXECUTOR"));
    assert_eq!(
        running.executor_id.as_ref().map(|e| e.value.as_str()),
        Some("echoer")
    );

    // One executor on the agent, with the running task; the finished one completed.
    let state = agent_state_until(&c, "the finished task completed", |s| {
        s.frameworks
            .first()
            .and_then(|f| f.executors.first())
            .is_some_and(|e| e.completed_tasks.len() == 1)
    })
    .await;
    let framework = &state.frameworks[0];
    assert_eq!(framework.executors.len(), 1, "{framework:#?}");
    let e = &framework.executors[0];
    assert_eq!(e.id, "echoer");
    assert_eq!(e.kind.as_deref(), Some("CUSTOM"));
    assert_eq!(e.container, container(&long).value);
    assert!(
        e.directory.ends_with(&format!(
            "/frameworks/{}/executors/echoer/runs/{}",
            fw.id(),
            e.container
        )),
        "{}",
        e.directory
    );
    assert_eq!(e.tasks.len(), 1);
    assert_eq!(e.tasks[0].executor_id, "echoer");
    assert_eq!(e.completed_tasks[0].state, "TASK_FINISHED");
    // The master lists the executor too (`executors` with `slave_id`), and so does GET_EXECUTORS.
    let master = master_state(&c).await;
    let executors = &master.frameworks[0].executors;
    assert_eq!(executors.len(), 1, "{executors:#?}");
    assert_eq!(executors[0]["executor_id"], "echoer");
    assert_eq!(executors[0]["slave_id"], c.agent_id(0).unwrap().value);
    assert_eq!(executors[0]["type"], "CUSTOM");
    assert_eq!(master.frameworks[0].tasks[0].executor_id, "echoer");
    let v1: Value = reqwest::Client::new()
        .post(format!("{}/api/v1", c.master_url()))
        .json(&json!({"type": "GET_EXECUTORS"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = &v1["get_executors"]["executors"];
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{v1}");
    assert_eq!(listed[0]["executor_info"]["executor_id"]["value"], "echoer");
    assert_eq!(listed[0]["agent_id"]["value"], c.agent_id(0).unwrap().value);

    // A framework message reaches the executor and its answer comes back.
    fw.message("long", "ping").unwrap();
    let messages = fw
        .await_messages(1, WAIT, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(messages[0].data, "echo:ping");
    assert_eq!(messages[0].executor_id.value, "echoer");
    assert_eq!(&messages[0].agent_id, &c.agent_id(0).unwrap());

    // KILL goes to the executor, which kills the task; the executor itself keeps running.
    fw.kill("long").unwrap();
    let killed = reach(&fw, "long", TaskState::Killed).await;
    assert_eq!(
        killed.statuses.last().unwrap().source.as_deref(),
        Some("SOURCE_EXECUTOR")
    );
    let state = agent_state(&c).await;
    assert_eq!(state.frameworks[0].executors.len(), 1);
    assert!(state.frameworks[0].completed_executors.is_empty());

    // Teardown: the agent sends SHUTDOWN, the executor exits by itself.
    fw.teardown().unwrap();
    let state = agent_state_until(&c, "the executor completed", |s| {
        s.frameworks
            .first()
            .is_some_and(|f| f.executors.is_empty() && f.completed_executors.len() == 1)
    })
    .await;
    let done = &state.frameworks[0].completed_executors[0];
    assert_eq!(done.id, "echoer");
    let stdout = std::fs::read_to_string(format!("{}/stdout", done.directory)).unwrap();
    assert!(
        stdout.contains("SHUTDOWN"),
        "the executor never got SHUTDOWN: {stdout}"
    );
    let master = master_state(&c).await;
    assert!(master.completed_frameworks[0].executors.is_empty());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executor_that_exits_fails_its_unfinished_tasks() {
    let (c, fw) = cluster(ClusterOptions::default()).await;
    let executor = example_executor("fragile");
    fw.launch(vec![task("victim", "sleep 600", &executor)])
        .unwrap();
    reach(&fw, "victim", TaskState::Running).await;
    // The second task kills its executor (its parent), leaving the first one unfinished.
    fw.launch(vec![task("assassin", "kill -9 $PPID", &executor)])
        .unwrap();
    let failed = reach(&fw, "victim", TaskState::Failed).await;
    let last = failed.statuses.last().unwrap();
    assert_eq!(last.reason.as_deref(), Some("REASON_EXECUTOR_TERMINATED"));
    assert_eq!(last.source.as_deref(), Some("SOURCE_AGENT"));
    assert_eq!(last.message.as_deref(), Some("Executor terminated"));
    // The master forgot the executor (and its resources) once the agent reported its exit.
    wait_for("the master to forget the executor", WAIT, || async {
        master_state(&c).await.frameworks[0].executors.is_empty()
    })
    .await;
    let state = agent_state(&c).await;
    assert_eq!(state.frameworks[0].completed_executors.len(), 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executor_that_never_subscribes_is_killed_and_its_task_fails() {
    let options = ClusterOptions {
        executor_registration_timeout: Duration::from_millis(500),
        ..ClusterOptions::default()
    };
    let (c, fw) = cluster(options).await;
    let silent = ExecutorRequest {
        id: "silent".into(),
        cmd: "echo $$ > pid; exec sleep 600".into(),
        uris: vec![],
        docker: None,
    };
    fw.launch(vec![task("waiting", "true", &silent)]).unwrap();
    let failed = reach(&fw, "waiting", TaskState::Failed).await;
    let last = failed.statuses.last().unwrap();
    assert_eq!(
        last.reason.as_deref(),
        Some("REASON_EXECUTOR_REGISTRATION_TIMEOUT")
    );
    assert_eq!(
        last.message.as_deref(),
        Some("Executor did not register within 500ms")
    );
    // The executor process is gone.
    let state = agent_state(&c).await;
    let done = &state.frameworks[0].completed_executors[0];
    let pid: i32 = std::fs::read_to_string(format!("{}/pid", done.directory))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signal 0 only checks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the executor (pid {pid}) was not killed");
    c.shutdown().await;
}

/// A task for executor `id`, built as a third-party framework would send it.
fn executor_task(
    name: &str,
    offer: &mmrun::mesos::scheduler::Offer,
    executor: Value,
) -> mmrun::mesos::task::TaskInfo {
    serde_json::from_value(json!({
        "name": name, "task_id": {"value": name}, "agent_id": offer.agent_id,
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
        "executor": executor,
        "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "sleep 600"),
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_master_validates_executors_as_mesos_and_counts_their_resources() {
    use common::{framework_info, launch, next_offers, subscribe_framework};
    let mut c = LocalCluster::start(ClusterOptions::default())
        .await
        .unwrap();
    c.add_agent(AgentOptions::default()).await.unwrap();
    let mut sub = subscribe_framework(&c.master_url(), framework_info("raw", &[])).await;
    let offers = next_offers(&mut sub).await;
    let command = json!({"value": format!("'{}' example-executor", env!("CARGO_BIN_EXE_mmrun"))});
    let good = json!({"executor_id": {"value": "e1"}, "command": command,
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}]});
    let mut other_fw = good.clone();
    other_fw["framework_id"] = json!({"value": "someone-else"});
    let mut differs = good.clone();
    differs["name"] = json!("not the same");
    let mut default_type = good.clone();
    default_type["type"] = json!("DEFAULT");
    default_type["executor_id"] = json!({"value": "e2"});
    let mut no_command = good.clone();
    no_command.as_object_mut().unwrap().remove("command");
    no_command["executor_id"] = json!({"value": "e3"});
    let mut bad_id = good.clone();
    bad_id["executor_id"] = json!({"value": "a/b"});
    let mut both: mmrun::mesos::task::TaskInfo = executor_task("both", &offers[0], good.clone());
    both.command = serde_json::from_value(json!({"value": "true"})).unwrap();
    launch(
        &sub,
        &offers[0],
        vec![
            executor_task("ok", &offers[0], good.clone()),
            executor_task("same-executor", &offers[0], good.clone()),
            executor_task("other-fw", &offers[0], other_fw),
            executor_task("differs", &offers[0], differs),
            executor_task("default", &offers[0], default_type),
            executor_task("no-command", &offers[0], no_command),
            executor_task("bad-id", &offers[0], bad_id),
            both,
        ],
    )
    .await;
    let mut errors = BTreeMap::new();
    let mut running = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while errors.len() < 6 || running.len() < 2 {
        let event = tokio::time::timeout_at(deadline, async { sub.next_event(WAIT).await })
            .await
            .unwrap_or_else(|_| panic!("errors {errors:#?}, running {running:?}"))
            .expect("an event");
        let Some(u) = event.update else { continue };
        common::ack(&sub, &u.status).await;
        match u.status.state {
            TaskState::Error => {
                errors.insert(
                    u.status.task_id.value.clone(),
                    u.status.message.unwrap_or_default(),
                );
            }
            TaskState::Running => {
                running.insert(u.status.task_id.value.clone());
            }
            _ => {}
        }
    }
    // Two tasks (0.1 cpus, 32 MB each) and their one executor (0.5 cpus, 64 MB).
    let state = master_state(&c).await;
    assert_eq!(state.slaves[0].used_resources["cpus"], 0.7);
    assert_eq!(state.slaves[0].used_resources["mem"], 128.0);
    assert_eq!(state.frameworks[0].used_resources["cpus"], 0.7);
    let executors = &state.frameworks[0].executors;
    assert_eq!(executors.len(), 1);
    assert_eq!(executors[0]["resources"]["cpus"], 0.5);
    assert_eq!(executors[0]["role"], "*");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executors_uris_are_fetched_before_it_starts_and_a_failed_fetch_fails_its_tasks() {
    use mmrun::mesos::task::CommandUri;
    let (c, fw) = cluster(ClusterOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let launcher = dir.path().join("launch-executor.sh");
    std::fs::write(
        &launcher,
        format!(
            "#!/bin/sh\necho fetched launcher ran\nexec '{}' example-executor\n",
            env!("CARGO_BIN_EXE_mmrun")
        ),
    )
    .unwrap();
    let fetched = ExecutorRequest {
        id: "fetched".into(),
        cmd: "./launch-executor.sh".into(),
        uris: vec![CommandUri {
            executable: true,
            ..CommandUri::new(launcher.display().to_string())
        }],
        docker: None,
    };
    fw.launch(vec![task("via-fetched", "echo hi", &fetched)])
        .unwrap();
    reach(&fw, "via-fetched", TaskState::Finished).await;
    let state = agent_state(&c).await;
    let executor = &state.frameworks[0].executors[0];
    let stdout = std::fs::read_to_string(format!("{}/stdout", executor.directory)).unwrap();
    assert!(stdout.starts_with("fetched launcher ran\n"), "{stdout}");

    let missing = dir.path().join("no-such-executor.tgz");
    let broken = ExecutorRequest {
        id: "broken".into(),
        cmd: "./never-here".into(),
        uris: vec![CommandUri::new(missing.display().to_string())],
        docker: None,
    };
    fw.launch(vec![task("via-broken", "echo hi", &broken)])
        .unwrap();
    let failed = reach(&fw, "via-broken", TaskState::Failed).await;
    let last = failed.statuses.last().unwrap();
    assert_eq!(
        last.reason.as_deref(),
        Some("REASON_CONTAINER_LAUNCH_FAILED")
    );
    let message = last.message.clone().unwrap_or_default();
    assert!(
        message.starts_with("Failed to launch container: Failed to fetch all URIs")
            && message.contains(&missing.display().to_string()),
        "{message}"
    );
    c.shutdown().await;
}

/// The next offer the raw subscription gets.
async fn next_offer(s: &mut mmrun::client::Subscription) -> mmrun::mesos::scheduler::Offer {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = s.next_event(left).await.expect("an offer in time");
        if let Some(offers) = event.offers {
            return offers.offers.into_iter().next().expect("one offer");
        }
    }
}

/// As Mesos's master does, an offer lists the framework's executors running on its agent
/// (`Offer.executor_ids`), so a framework can reuse them; other frameworks' are not listed.
#[tokio::test(flavor = "multi_thread")]
async fn offers_list_the_frameworks_executors_on_their_agent() {
    let mut c = LocalCluster::start(ClusterOptions::default())
        .await
        .unwrap();
    c.add_agent(AgentOptions::default()).await.unwrap();
    let info = |name: &str| serde_json::from_value(json!({"user": "test", "name": name})).unwrap();
    let mut s = mmrun::client::subscribe(&c.master_url(), info("offers"))
        .await
        .unwrap();
    let first = next_offer(&mut s).await;
    assert!(first.executor_ids.is_empty(), "{first:?}");
    let executor = example_executor("echoer").to_executor_info();
    let resources = json!([
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
    ]);
    let accept = json!({
        "type": "ACCEPT",
        "framework_id": s.framework_id,
        "accept": {
            "offer_ids": [first.id],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "long", "task_id": {"value": "long"}, "agent_id": first.agent_id,
                "resources": resources, "executor": executor,
                "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "sleep 600"),
            }]}}],
            // The unused part comes back at once.
            "filters": {"refuse_seconds": 0},
        },
    });
    let status = s
        .call(serde_json::from_value(accept).unwrap())
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 202);
    let second = next_offer(&mut s).await;
    assert_eq!(second.agent_id, first.agent_id);
    let ids: Vec<&str> = second
        .executor_ids
        .iter()
        .map(|e| e.value.as_str())
        .collect();
    assert_eq!(ids, ["echoer"]);

    // Another framework, offered the agent once the first declines it, sees none of them.
    let decline = json!({"type": "DECLINE", "framework_id": s.framework_id,
        "decline": {"offer_ids": [second.id], "filters": {"refuse_seconds": 3600}}});
    s.call(serde_json::from_value(decline).unwrap())
        .await
        .unwrap();
    let mut other = mmrun::client::subscribe(&c.master_url(), info("other"))
        .await
        .unwrap();
    let theirs = next_offer(&mut other).await;
    assert!(theirs.executor_ids.is_empty(), "{theirs:?}");
    other.close();
    s.close();
}

/// An executor in a Docker image needs the Docker containerizer, which in-process agents of the
/// embedded backend do not have: its task fails at once, saying so, as a DOCKER task does.
#[tokio::test(flavor = "multi_thread")]
async fn an_executor_container_without_the_docker_containerizer_fails_its_task_saying_so() {
    let (_c, fw) = cluster(ClusterOptions::default()).await;
    let executor = ExecutorRequest {
        docker: Some("my/executor:dev".into()),
        ..example_executor("boxed")
    };
    fw.launch(vec![task("boxed-task", "true", &executor)])
        .unwrap();
    let failed = reach(&fw, "boxed-task", TaskState::Failed).await;
    let status = failed.statuses.last().unwrap();
    assert_eq!(
        status.reason.as_deref(),
        Some("REASON_CONTAINER_LAUNCH_FAILED")
    );
    assert_eq!(
        status.message.as_deref(),
        Some(
            "Failed to launch container: Docker containerizer is not enabled on this agent (start it with --containerizers=docker,mesos)"
        )
    );
}
