//! Fault primitives on the in-process cluster: a paused agent (frozen, as under `docker pause`)
//! and a disconnected one (a network partition), seen by a real framework over HTTP, the
//! master's state and the agent's own `/state` and processes.

use crate::common;

use common::*;
use mmrun::client::Subscription;
use mmrun::lite::agent::FaultError;
use mmrun::lite::cluster::{LocalCluster, NodeError};
use mmrun::mesos::state::{AgentState, MasterState};
use mmrun::mesos::task::TaskState::{self, *};
use mmrun::mesos::task::TaskStatus;
use std::time::Duration;

/// Subscribes a checkpointing framework (so only liveness decides agent loss) and runs
/// `tasks` (name, command) on the agent; returns the subscription and each task's pid.
async fn framework_with_tasks(
    master: &str,
    name: &str,
    partition_aware: bool,
    tasks: &[(&str, &str)],
) -> (Subscription, Vec<u32>) {
    let caps: &[&str] = if partition_aware {
        &["PARTITION_AWARE"]
    } else {
        &[]
    };
    let mut sub = subscribe_framework(master, checkpointing(framework_info(name, caps))).await;
    let offers = next_offers(&mut sub).await;
    let infos = tasks
        .iter()
        .map(|(task, cmd)| command_task(task, &offers[0], cmd, 0.1, 32.0))
        .collect();
    launch(&sub, &offers[0], infos).await;
    let wanted: Vec<(&str, TaskState)> = tasks.iter().map(|(t, _)| (*t, Running)).collect();
    let running = await_all(&mut sub, &wanted).await;
    let pids = running
        .iter()
        .map(|s| {
            s.container_status
                .as_ref()
                .and_then(|c| c.executor_pid)
                .expect("TASK_RUNNING carries the task's pid")
        })
        .collect();
    (sub, pids)
}

/// Waits until the agent holds no unacknowledged update: an acknowledgement still on its way
/// when a fault starts is lost or late, and the agent then sends the update again after the
/// fault (as Mesos does), which these tests do not mean to show.
async fn settled(c: &LocalCluster) {
    until("every update to be acknowledged on the agent", || {
        c.agent_unacknowledged_updates(0) == Some(0)
    })
    .await;
}

/// Acknowledges updates until every (task, state) was seen, in any order; returns the
/// matching statuses in the order asked.
async fn await_all(sub: &mut Subscription, wanted: &[(&str, TaskState)]) -> Vec<TaskStatus> {
    let mut found: Vec<Option<TaskStatus>> = vec![None; wanted.len()];
    while found.iter().any(Option::is_none) {
        let status = next_update(sub).await;
        ack(sub, &status).await;
        if let Some(i) = wanted
            .iter()
            .position(|(t, s)| status.task_id.value == *t && status.state == *s)
        {
            found[i] = Some(status);
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

/// A process's state letter from `/proc/<pid>/stat` (`T` when stopped), or None once it is gone.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Alive and not stopped (running, sleeping, or briefly in disk sleep while it starts).
fn running(pid: u32) -> bool {
    matches!(process_state(pid), Some(s) if s != 'T' && s != 'Z')
}

/// Dead: gone, or a zombie its supervisor has not reaped yet.
fn gone(pid: u32) -> bool {
    matches!(process_state(pid), None | Some('Z'))
}

async fn until(what: &str, check: impl Fn() -> bool) {
    wait_for(what, WAIT, || async { check() }).await
}

/// (task, state, statuses) for one framework's list in the master's state.
fn master_tasks(state: &MasterState, list: &str) -> Vec<(String, String, Vec<String>)> {
    let value = serde_json::to_value(state).unwrap();
    value["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f[list].as_array().cloned().unwrap_or_default())
        .map(|t| {
            let statuses = t["statuses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["state"].as_str().unwrap().to_string())
                .collect();
            (
                t["name"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap().to_string(),
                statuses,
            )
        })
        .collect()
}

fn agent_active(state: &MasterState) -> bool {
    state.slaves.len() == 1 && state.slaves[0].active && state.unreachable_slaves == 0.0
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_paused_agent_is_unreachable_and_comes_back_with_its_task_when_unpaused() {
    let c = cluster(1).await;
    let master = c.master_url();
    let agent_url = c.agent_url(0).unwrap();
    let (mut sub, pids) =
        framework_with_tasks(&master, "aware", true, &[("frozen", "sleep 600")]).await;
    let pid = pids[0];
    // Settled: `sh` waiting for `sleep` (or `sleep` itself). Just after the start `sh` may be
    // in the middle of a vfork, where a SIGSTOP freezes it in uninterruptible sleep ('D')
    // rather than as stopped ('T'): frozen all the same, but not what this test reads.
    until("the task to settle", || process_state(pid) == Some('S')).await;

    settled(&c).await;
    c.pause_agent(0).unwrap();
    assert!(c.agent_faults(0).unwrap().paused);
    assert!(c.is_agent_running(0), "a paused agent is still running");
    // Its task is frozen with it, and it answers nothing.
    until("the task to be stopped", || process_state(pid) == Some('T')).await;
    let asked = reqwest::Client::new()
        .get(format!("{agent_url}/state"))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(
        asked.as_ref().is_err_and(|e| e.is_timeout()),
        "a paused agent answered: {asked:?}"
    );

    let unreachable = await_all(&mut sub, &[("frozen", Unreachable)]).await;
    assert_eq!(
        unreachable[0].reason.as_deref(),
        Some("REASON_AGENT_REMOVED")
    );
    eventually(&master, "agent unreachable", |s| {
        s.unreachable_slaves == 1.0
    })
    .await;
    assert_eq!(
        process_state(pid),
        Some('T'),
        "the task ran during the pause"
    );

    c.unpause_agent(0).unwrap();
    let state = eventually(&master, "agent back with its task", |s| {
        agent_active(s) && master_tasks(s, "tasks").len() == 1
    })
    .await;
    // The task is the agent's again, history included: TASK_UNREACHABLE was the master's word.
    assert_eq!(
        master_tasks(&state, "tasks"),
        [(
            "frozen".into(),
            "TASK_RUNNING".into(),
            strings(&["TASK_STARTING", "TASK_RUNNING"])
        )]
    );
    assert!(master_tasks(&state, "unreachable_tasks").is_empty());
    until("the task to run again", || running(pid)).await;
    assert!(!c.agent_faults(0).unwrap().paused);
    c.shutdown().await;
    until("the task to die with the cluster", || gone(pid)).await;
}

#[tokio::test]
async fn a_disconnected_agent_comes_back_with_its_tasks_and_reports_those_that_ended() {
    let c = cluster(1).await;
    let master = c.master_url();
    let (mut sub, pids) = framework_with_tasks(
        &master,
        "aware",
        true,
        &[("long", "sleep 600"), ("short", "sleep 1")],
    )
    .await;

    settled(&c).await;
    c.disconnect_agent(0).unwrap();
    assert!(
        c.is_agent_running(0),
        "a disconnected agent is still running"
    );
    let unreachable = await_all(&mut sub, &[("long", Unreachable), ("short", Unreachable)]).await;
    assert!(unreachable.iter().all(|s| s.uuid.is_none()));
    eventually(&master, "agent unreachable", |s| {
        s.unreachable_slaves == 1.0
    })
    .await;
    // The agent keeps running: the short task ends during the partition, the long one runs on.
    until("the short task to end", || gone(pids[1])).await;
    assert!(running(pids[0]));

    c.reconnect_agent(0).unwrap();
    // The agent re-registers and delivers the update it could not send meanwhile.
    let finished = await_all(&mut sub, &[("short", Finished)]).await;
    assert!(finished[0].uuid.is_some(), "the agent's own update");
    let state = eventually(&master, "agent back, short task completed", |s| {
        agent_active(s) && master_tasks(s, "completed_tasks").len() == 1
    })
    .await;
    assert_eq!(
        master_tasks(&state, "tasks"),
        [(
            "long".into(),
            "TASK_RUNNING".into(),
            strings(&["TASK_STARTING", "TASK_RUNNING"])
        )]
    );
    assert_eq!(
        master_tasks(&state, "completed_tasks"),
        [(
            "short".into(),
            "TASK_FINISHED".into(),
            strings(&["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"])
        )]
    );
    assert!(master_tasks(&state, "unreachable_tasks").is_empty());
    c.shutdown().await;
}

#[tokio::test]
async fn a_non_partition_aware_task_on_a_partitioned_agent_is_lost_then_killed_there() {
    let c = cluster(1).await;
    let master = c.master_url();
    let agent_url = c.agent_url(0).unwrap();
    let (mut sub, pids) =
        framework_with_tasks(&master, "classic", false, &[("doomed", "sleep 600")]).await;

    settled(&c).await;
    c.disconnect_agent(0).unwrap();
    let lost = await_all(&mut sub, &[("doomed", Lost)]).await;
    assert_eq!(lost[0].reason.as_deref(), Some("REASON_AGENT_REMOVED"));
    eventually(&master, "agent unreachable", |s| {
        s.unreachable_slaves == 1.0
    })
    .await;
    assert_eq!(
        process_state(pids[0]),
        Some('S'),
        "killed while partitioned"
    );

    c.reconnect_agent(0).unwrap();
    // Mesos shuts the framework down on the returning agent: the task is killed there.
    let state = eventually(&master, "agent back", agent_active).await;
    assert!(master_tasks(&state, "tasks").is_empty());
    assert!(master_tasks(&state, "unreachable_tasks").is_empty());
    assert_eq!(
        master_tasks(&state, "completed_tasks"),
        [(
            "doomed".into(),
            "TASK_LOST".into(),
            strings(&["TASK_STARTING", "TASK_RUNNING", "TASK_LOST"])
        )]
    );
    until("the task's process to end", || gone(pids[0])).await;
    let agent_state: AgentState = reqwest::get(format!("{agent_url}/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let killed: Vec<_> = agent_state
        .frameworks
        .iter()
        .flat_map(|f| &f.completed_executors)
        .flat_map(|e| &e.completed_tasks)
        .map(|t| (t.id.as_str(), t.state.as_str()))
        .collect();
    assert_eq!(killed, [("doomed", "TASK_KILLED")]);
    c.shutdown().await;
}

#[tokio::test]
async fn faults_that_do_not_apply_are_refused_with_clear_errors() {
    let mut c = cluster(1).await;
    let master = c.master_url();
    let (_sub, pids) = framework_with_tasks(&master, "aware", true, &[("t", "sleep 600")]).await;

    assert!(matches!(
        c.pause_agent(7),
        Err(NodeError::NoSuchNode {
            role: "agent",
            index: 7
        })
    ));
    let not = |r: Result<(), NodeError>| match r {
        Err(NodeError::Fault { index: 0, error }) => error,
        other => panic!("expected a fault error, got {other:?}"),
    };
    assert_eq!(not(c.unpause_agent(0)), FaultError::NotPaused);
    assert_eq!(not(c.reconnect_agent(0)), FaultError::NotDisconnected);
    c.disconnect_agent(0).unwrap();
    assert_eq!(not(c.disconnect_agent(0)), FaultError::AlreadyDisconnected);
    c.pause_agent(0).unwrap();
    let e = c.pause_agent(0).unwrap_err();
    assert_eq!(e.to_string(), "agent 0: the agent is already paused");

    // A paused agent cannot say goodbye, but it can crash, frozen tasks and all.
    let e = c.stop_agent(0, true).await.unwrap_err();
    assert!(matches!(e, NodeError::Paused(0)), "{e}");
    c.stop_agent(0, false).await.unwrap();
    until("the frozen task to die", || gone(pids[0])).await;
    assert!(matches!(
        c.pause_agent(0),
        Err(NodeError::NotRunning {
            role: "agent",
            index: 0
        })
    ));
    assert!(c.agent_faults(0).is_none());

    // Started again, it is a fresh process: neither paused nor disconnected.
    c.start_agent(0).await.unwrap();
    let faults = c.agent_faults(0).unwrap();
    assert!(!faults.paused && !faults.disconnected);
    c.shutdown().await;
}

/// The status update manager keeps an update until it is acknowledged, across a partition: one
/// unacknowledged when the agent is cut off is sent again, with the same uuid, once it is back.
#[tokio::test]
async fn an_update_unacknowledged_when_the_partition_starts_is_sent_again_after_it() {
    let c = cluster(1).await;
    let master = c.master_url();
    let info = checkpointing(framework_info("slow", &["PARTITION_AWARE"]));
    let mut sub = subscribe_framework(&master, info).await;
    let offers = next_offers(&mut sub).await;
    let task = command_task("t", &offers[0], "sleep 600", 0.1, 32.0);
    launch(&sub, &offers[0], vec![task]).await;
    // TASK_STARTING is acknowledged, TASK_RUNNING is not.
    let running = loop {
        let status = next_update(&mut sub).await;
        match status.state {
            Starting => ack(&sub, &status).await,
            Running => break status,
            other => panic!("unexpected {other}"),
        }
    };
    c.disconnect_agent(0).unwrap();
    assert_eq!(next_update(&mut sub).await.state, Unreachable);
    c.reconnect_agent(0).unwrap();
    let again = next_update(&mut sub).await;
    assert_eq!((again.state, &again.uuid), (Running, &running.uuid));
    ack(&sub, &again).await;
    until("the acknowledgement to reach the agent", || {
        c.agent_unacknowledged_updates(0) == Some(0)
    })
    .await;
    c.shutdown().await;
}
