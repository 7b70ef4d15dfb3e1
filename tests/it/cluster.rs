//! In-process clusters driven by a real framework over HTTP: the task life of reference
//! section 3, asserted on both the event stream and the master's state endpoints.

use crate::common;

use common::*;
use mmrun::mesos::scheduler::{Call, CallType, EventType, Kill};
use mmrun::mesos::task::TaskState::*;

#[tokio::test]
async fn a_command_task_runs_to_finished() {
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("hello", &[])).await;
    let offers = next_offers(&mut sub).await;
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].hostname, "127.0.0.1");
    let task = command_task(
        "greet",
        &offers[0],
        "echo hello from $MESOS_TASK_ID",
        0.1,
        32.0,
    );
    launch(&sub, &offers[0], vec![task]).await;
    let events = await_state(&mut sub, "greet", Finished).await;
    assert_eq!(states(&events, "greet"), vec![Starting, Running, Finished]);
    let finished = events.last().unwrap().update.as_ref().unwrap();
    assert_eq!(finished.status.source.as_deref(), Some("SOURCE_EXECUTOR"));
    assert!(finished.status.uuid.is_some());

    // Once the terminal update is acknowledged the task is completed.
    let state = eventually(&c.master_url(), "greet completed", |s| {
        s.frameworks
            .first()
            .is_some_and(|f| f.completed_tasks.len() == 1)
    })
    .await;
    let fw = &state.frameworks[0];
    assert!(fw.tasks.is_empty());
    let done = &fw.completed_tasks[0];
    assert_eq!(done.state, "TASK_FINISHED");
    assert_eq!(done.resources["cpus"], 0.1);
    let history: Vec<_> = done.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(history, ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]);

    // The sandbox holds the task's output, served by the agent's /files API.
    let agent_state: mmrun::mesos::state::AgentState =
        reqwest::get(format!("{}/state", c.agent_url(0).unwrap()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let exec = &agent_state.frameworks[0].completed_executors[0];
    let read: serde_json::Value = reqwest::get(format!(
        "{}/files/read?path={}/stdout&offset=0",
        c.agent_url(0).unwrap(),
        exec.directory
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(read["data"], "hello from greet\n");
    c.shutdown().await;
}

#[tokio::test]
async fn a_failing_command_is_task_failed() {
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("fails", &[])).await;
    let offers = next_offers(&mut sub).await;
    launch(
        &sub,
        &offers[0],
        vec![command_task("bad", &offers[0], "exit 3", 0.1, 32.0)],
    )
    .await;
    let events = await_state(&mut sub, "bad", Failed).await;
    let failed = events.last().unwrap().update.as_ref().unwrap();
    assert_eq!(
        failed.status.message.as_deref(),
        Some("Command exited with status 3")
    );
    c.shutdown().await;
}

#[tokio::test]
async fn kill_ends_a_running_task_as_killed() {
    let c = cluster(1).await;
    let mut sub = subscribe_framework(
        &c.master_url(),
        framework_info("killer", &["TASK_KILLING_STATE"]),
    )
    .await;
    launch_running(&mut sub, "sleeper", "sleep 60").await;
    let kill = Call {
        kill: Some(Kill {
            task_id: "sleeper".into(),
            agent_id: None,
            kill_policy: None,
        }),
        ..Call::new(CallType::Kill, None)
    };
    assert_eq!(sub.call(kill).await.unwrap(), 202);
    let events = await_state(&mut sub, "sleeper", Killed).await;
    assert_eq!(states(&events, "sleeper"), vec![Killing, Killed]);
    c.shutdown().await;
}

#[tokio::test]
async fn a_lost_agent_makes_tasks_lost_or_unreachable() {
    let mut c = cluster(1).await;
    let master = c.master_url();
    let mut plain = subscribe_framework(&master, checkpointing(framework_info("plain", &[]))).await;
    let mut aware = subscribe_framework(
        &master,
        checkpointing(framework_info("aware", &["PARTITION_AWARE"])),
    )
    .await;
    // The agent's resources go to one framework at a time; launch one task from each.
    for (sub, name) in [(&mut plain, "p"), (&mut aware, "a")] {
        let offers = next_offers(sub).await;
        launch(
            sub,
            &offers[0],
            vec![command_task(name, &offers[0], "sleep 60", 0.1, 32.0)],
        )
        .await;
        await_state(sub, name, Running).await;
    }
    c.stop_agent(0, false).await.unwrap();
    let lost = await_state(&mut plain, "p", Lost).await;
    let status = &lost.last().unwrap().update.as_ref().unwrap().status;
    assert_eq!(status.reason.as_deref(), Some("REASON_AGENT_REMOVED"));
    assert_eq!(status.source.as_deref(), Some("SOURCE_MASTER"));
    assert!(status.uuid.is_none());
    assert!(status.unreachable_time.is_some());
    await_state(&mut aware, "a", Unreachable).await;
    // Every framework hears about the agent.
    let failure = aware.next_event(WAIT).await.unwrap();
    assert_eq!(failure.kind, EventType::Failure);
    let state = eventually(&master, "agent unreachable", |s| {
        s.unreachable_slaves == 1.0
    })
    .await;
    assert!(state.slaves.is_empty());
    for f in &state.frameworks {
        assert_eq!(f.unreachable_tasks.len(), 1, "{}", f.name);
        assert!(f.tasks.is_empty());
    }
    c.shutdown().await;
}

#[tokio::test]
async fn teardown_kills_tasks_and_completes_the_framework() {
    let c = cluster(1).await;
    let master = c.master_url();
    let mut sub = subscribe_framework(&master, framework_info("gone", &[])).await;
    launch_running(&mut sub, "t", "sleep 60").await;
    let id = sub.framework_id.clone();
    assert_eq!(
        sub.call(Call::new(CallType::Teardown, None)).await.unwrap(),
        202
    );
    let state = eventually(&master, "framework completed", |s| {
        s.completed_frameworks.len() == 1
    })
    .await;
    assert!(state.frameworks.is_empty());
    let fw = &state.completed_frameworks[0];
    assert!(!fw.active);
    assert_eq!(fw.completed_tasks[0].state, "TASK_KILLED");
    // The agent killed the process and forgot the framework's tasks.
    let agent = c.agent_url(0).unwrap();
    wait_for("the agent to kill the task", WAIT, || async {
        let s: mmrun::mesos::state::AgentState = reqwest::get(format!("{agent}/state"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let killed = s.frameworks.iter().all(|f| {
            f.executors
                .iter()
                .all(|e| e.tasks.iter().all(|t| t.state == "TASK_KILLED"))
        });
        match killed {
            true => Ok(()),
            false => Err(format!("{s:#?}")),
        }
    })
    .await;
    // Re-subscribing with the removed id is refused with an ERROR event.
    let mut info = framework_info("gone", &[]);
    info.id = Some(id);
    let err = mmrun::client::subscribe(&master, info).await.err().unwrap();
    assert!(
        err.to_string().contains("Framework has been removed"),
        "{err}"
    );
    c.shutdown().await;
}
