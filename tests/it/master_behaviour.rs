//! The master's finer behaviour, end to end over HTTP: resending unacknowledged updates,
//! offer filters, SUPPRESS / REVIVE, reconciliation, fair sharing, task validation, and a
//! master restart with agents re-registering their running tasks.

use crate::common;

use common::*;
use mmrun::lite::cluster::{AgentOptions, ClusterOptions};
use mmrun::mesos::ids::{AgentId, TaskId};
use mmrun::mesos::scheduler::{Call, CallType, EventType, Reconcile, ReconcileTask, Roles};
use mmrun::mesos::task::TaskState::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn unacknowledged_updates_are_resent_and_the_next_waits() {
    let options = ClusterOptions {
        status_update_retry: Duration::from_millis(200),
        ..Default::default()
    };
    let c = cluster_with(options, &[AgentOptions::default()]).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("slow-acker", &[])).await;
    let offers = next_offers(&mut sub).await;
    launch(
        &sub,
        &offers[0],
        vec![command_task("t", &offers[0], "sleep 30", 0.1, 32.0)],
    )
    .await;
    // Do not acknowledge STARTING: it comes again with the same uuid, and RUNNING waits.
    let first = next_update(&mut sub).await;
    assert_eq!(first.state, Starting);
    let again = next_update(&mut sub).await;
    assert_eq!((again.state, &again.uuid), (Starting, &first.uuid));
    // The master already knows the task runs (the agent reports its latest state).
    let state = eventually(&c.master_url(), "task running in state", |s| {
        s.frameworks[0]
            .tasks
            .first()
            .is_some_and(|t| t.state == "TASK_RUNNING")
    })
    .await;
    assert_eq!(state.frameworks[0].tasks[0].statuses.len(), 1);
    ack(&sub, &again).await;
    let running = next_update(&mut sub).await;
    assert_eq!(running.state, Running);
    c.shutdown().await;
}

#[tokio::test]
async fn declined_offers_come_back_after_the_filter_and_revive_clears_it() {
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("decliner", &[])).await;
    let offers = next_offers(&mut sub).await;
    let declined_at = Instant::now();
    decline_all(&sub, &offers, 0.3).await;
    let again = next_offers(&mut sub).await;
    let waited = declined_at.elapsed();
    assert!(
        waited >= Duration::from_millis(290),
        "re-offered after {waited:?}, before the 0.3 s filter"
    );
    assert!(
        waited < Duration::from_secs(3),
        "re-offered only after {waited:?}"
    );
    // A long filter, then REVIVE: offers come at once.
    decline_all(&sub, &again, 3600.0).await;
    assert!(
        sub.next_event(Duration::from_millis(300)).await.is_none(),
        "offered despite the filter"
    );
    sub.call(Call {
        revive: Some(Roles::default()),
        ..Call::new(CallType::Revive, None)
    })
    .await
    .unwrap();
    next_offers(&mut sub).await;
    c.shutdown().await;
}

#[tokio::test]
async fn suppressed_frameworks_get_no_offers_until_revive() {
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("quiet", &[])).await;
    let offers = next_offers(&mut sub).await;
    sub.call(Call {
        suppress: Some(Roles::default()),
        ..Call::new(CallType::Suppress, None)
    })
    .await
    .unwrap();
    decline_all(&sub, &offers, 0.0).await;
    assert!(
        sub.next_event(Duration::from_millis(300)).await.is_none(),
        "a suppressed framework got offers"
    );
    sub.call(Call {
        revive: Some(Roles::default()),
        ..Call::new(CallType::Revive, None)
    })
    .await
    .unwrap();
    next_offers(&mut sub).await;
    c.shutdown().await;
}

#[tokio::test]
async fn reconciliation_answers_known_and_unknown_tasks() {
    let c = cluster(1).await;
    let mut sub =
        subscribe_framework(&c.master_url(), framework_info("rec", &["PARTITION_AWARE"])).await;
    let offers = next_offers(&mut sub).await;
    let agent = offers[0].agent_id.clone();
    launch(
        &sub,
        &offers[0],
        vec![command_task("known", &offers[0], "sleep 30", 0.1, 32.0)],
    )
    .await;
    await_state(&mut sub, "known", Running).await;

    let reconcile = |tasks: Vec<ReconcileTask>| Call {
        reconcile: Some(Reconcile { tasks }),
        ..Call::new(CallType::Reconcile, None)
    };
    sub.call(reconcile(vec![])).await.unwrap();
    let implicit = next_update(&mut sub).await;
    assert_eq!(
        (implicit.task_id.as_str(), implicit.state),
        ("known", Running)
    );
    assert_eq!(implicit.reason.as_deref(), Some("REASON_RECONCILIATION"));
    assert_eq!(implicit.source.as_deref(), Some("SOURCE_MASTER"));
    assert!(implicit.uuid.is_none());

    let unknown = |id: &str, agent: Option<AgentId>| ReconcileTask {
        task_id: TaskId::new(id),
        agent_id: agent,
    };
    sub.call(reconcile(vec![
        unknown("known", None),
        unknown("nope", Some(agent)),
        unknown("nowhere", None),
    ]))
    .await
    .unwrap();
    let mut answers = Vec::new();
    while answers.len() < 3 {
        let e = sub.next_event(WAIT).await.unwrap();
        if let Some(u) = e.update {
            answers.push((u.status.task_id.value, u.status.state));
        }
    }
    answers.sort();
    assert_eq!(
        answers,
        [
            ("known".into(), Running),
            ("nope".into(), Gone),
            ("nowhere".into(), Unknown)
        ]
    );
    c.shutdown().await;
}

#[tokio::test]
async fn two_frameworks_share_agents_fairly() {
    let mut c = cluster(0).await;
    let mut a = subscribe_framework(&c.master_url(), framework_info("a", &[])).await;
    let mut b = subscribe_framework(&c.master_url(), framework_info("b", &[])).await;
    // Each agent that joins goes to the framework with the lower dominant share (DRF), so
    // four equal agents split two and two, whatever the order.
    for _ in 0..4 {
        c.add_agent(AgentOptions::default()).await.unwrap();
    }
    let mut got = Vec::new();
    for sub in [&mut a, &mut b] {
        let mut agents = std::collections::BTreeSet::new();
        while agents.len() < 2 {
            for o in next_offers(sub).await {
                agents.insert(o.agent_id.value.clone());
            }
        }
        assert!(
            sub.next_event(Duration::from_millis(200)).await.is_none(),
            "a third agent was offered"
        );
        got.push(agents);
    }
    assert!(
        got[0].is_disjoint(&got[1]),
        "both were offered the same agent: {got:?}"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn invalid_tasks_get_task_error_and_stale_offers_task_lost() {
    let c = cluster(1).await;
    let mut sub = subscribe_framework(&c.master_url(), framework_info("invalid", &[])).await;
    let offers = next_offers(&mut sub).await;
    let too_big = command_task("huge", &offers[0], "true", 64.0, 32.0);
    launch(&sub, &offers[0], vec![too_big]).await;
    let events = await_state(&mut sub, "huge", Error).await;
    let status = &events.last().unwrap().update.as_ref().unwrap().status;
    assert_eq!(status.reason.as_deref(), Some("REASON_TASK_INVALID"));
    assert!(
        status
            .message
            .as_deref()
            .unwrap()
            .contains("more resources"),
        "{status:?}"
    );
    // The offer is used up: accepting it again is an invalid offer.
    launch(
        &sub,
        &offers[0],
        vec![command_task("late", &offers[0], "true", 0.1, 32.0)],
    )
    .await;
    let events = await_state(&mut sub, "late", Lost).await;
    let status = &events.last().unwrap().update.as_ref().unwrap().status;
    assert_eq!(status.reason.as_deref(), Some("REASON_INVALID_OFFERS"));
    c.shutdown().await;
}

#[tokio::test]
async fn a_restarted_master_rebuilds_its_view_from_re_registering_agents() {
    let mut c = cluster(2).await;
    let master = c.master_url();
    let mut info = checkpointing(framework_info("survivor", &[]));
    info.failover_timeout = 600.0;
    let mut sub = subscribe_framework(&master, info.clone()).await;
    launch_running(&mut sub, "long", "sleep 60").await;
    let framework_id = sub.framework_id.clone();
    let old_state = mmrun::client::MasterClient::new(&master)
        .state()
        .await
        .unwrap();
    drop(sub);

    c.restart_master().await.unwrap();
    // Both agents come back; the running task and its framework (recovered, inactive) too.
    let state = eventually(&master, "agents re-registered", |s| {
        s.activated_slaves == 2.0 && s.frameworks.iter().any(|f| !f.tasks.is_empty())
    })
    .await;
    assert_ne!(state.id, old_state.id, "a restarted master has a new id");
    let fw = &state.frameworks[0];
    assert_eq!(fw.id, framework_id.value);
    assert!(fw.recovered && !fw.active);
    assert_eq!(fw.tasks[0].state, "TASK_RUNNING");
    let agent_ids: std::collections::BTreeSet<_> =
        state.slaves.iter().map(|a| a.id.clone()).collect();
    let old_ids: std::collections::BTreeSet<_> =
        old_state.slaves.iter().map(|a| a.id.clone()).collect();
    assert_eq!(
        agent_ids, old_ids,
        "agents keep their ids across a master restart"
    );

    // The scheduler subscribes again with its id and can still kill its task.
    info.id = Some(framework_id);
    let mut sub = subscribe_framework(&master, info).await;
    let kill = Call {
        kill: Some(mmrun::mesos::scheduler::Kill {
            task_id: TaskId::new("long"),
            agent_id: None,
            kill_policy: None,
        }),
        ..Call::new(CallType::Kill, None)
    };
    sub.call(kill).await.unwrap();
    await_state(&mut sub, "long", Killed).await;
    let state = mmrun::client::MasterClient::new(&master)
        .state()
        .await
        .unwrap();
    assert!(state.frameworks[0].active && !state.frameworks[0].recovered);
    c.shutdown().await;
}

#[tokio::test]
async fn a_crashed_agent_that_restarts_re_registers_and_its_tasks_are_lost() {
    let mut c = cluster(1).await;
    let master = c.master_url();
    let mut sub = subscribe_framework(&master, checkpointing(framework_info("restart", &[]))).await;
    launch_running(&mut sub, "t", "sleep 60").await;
    let id = c.agent_id(0).unwrap();
    c.stop_agent(0, false).await.unwrap();
    // Restarted quickly (before it is unreachable) with the same id and no tasks.
    assert_eq!(c.start_agent(0).await.unwrap(), id);
    let events = await_state(&mut sub, "t", Lost).await;
    let status = &events.last().unwrap().update.as_ref().unwrap().status;
    assert_eq!(status.reason.as_deref(), Some("REASON_AGENT_RESTARTED"));
    let state = eventually(&master, "agent active again", |s| s.activated_slaves == 1.0).await;
    assert_eq!(state.slaves[0].id, id.value);
    assert!(state.frameworks[0].tasks.is_empty());
    assert!(
        sub.next_event(WAIT)
            .await
            .is_some_and(|e| e.kind == EventType::Offers || e.kind == EventType::Rescind)
    );
    c.shutdown().await;
}
