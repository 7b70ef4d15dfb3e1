//! Test helpers: a minimal framework driven step by step over the real v1 scheduler API.
#![allow(dead_code)]

use mmrun::client::{Subscription, subscribe};
use mmrun::mesos::framework::{Capability, FrameworkInfo};
use mmrun::mesos::ids::TaskId;
use mmrun::mesos::resources::Resource;
use mmrun::mesos::scheduler::{
    Accept, Acknowledge, Call, CallType, Event, EventType, Filters, Launch, Offer, Operation,
};
use mmrun::mesos::task::{CommandInfo, TaskInfo, TaskState, TaskStatus};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(10);

pub fn framework_info(name: &str, capabilities: &[&str]) -> FrameworkInfo {
    serde_json::from_value(serde_json::json!({
        "user": "root",
        "name": name,
        "capabilities": capabilities.iter().map(|c| serde_json::json!({"type": c})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

pub fn checkpointing(mut info: FrameworkInfo) -> FrameworkInfo {
    info.checkpoint = true;
    info
}

pub fn capability(name: &str) -> Capability {
    Capability { kind: name.into() }
}

pub async fn subscribe_framework(master: &str, info: FrameworkInfo) -> Subscription {
    subscribe(master, info).await.expect("subscribe")
}

pub fn command_task(name: &str, offer: &Offer, cmd: &str, cpus: f64, mem: f64) -> TaskInfo {
    TaskInfo {
        name: name.into(),
        task_id: TaskId::new(name),
        agent_id: offer.agent_id.clone(),
        resources: vec![Resource::scalar("cpus", cpus), Resource::scalar("mem", mem)],
        executor: None,
        command: Some(CommandInfo {
            value: Some(cmd.into()),
            shell: true,
            arguments: vec![],
            environment: None,
            uris: vec![],
            user: None,
        }),
        container: None,
        health_check: None,
        kill_policy: None,
        labels: None,
        discovery: None,
        data: None,
    }
}

/// Waits for an OFFERS event and returns its offers.
pub async fn next_offers(sub: &mut Subscription) -> Vec<Offer> {
    loop {
        let e = sub.next_event(WAIT).await.expect("an OFFERS event");
        if e.kind == EventType::Offers {
            return e.offers.unwrap().offers;
        }
    }
}

pub async fn launch(sub: &Subscription, offer: &Offer, tasks: Vec<TaskInfo>) {
    let call = Call {
        accept: Some(Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![Operation {
                kind: "LAUNCH".into(),
                launch: Some(Launch { task_infos: tasks }),
            }],
            filters: Some(Filters {
                refuse_seconds: Some(0.0),
            }),
        }),
        ..Call::new(CallType::Accept, None)
    };
    assert_eq!(sub.call(call).await.unwrap(), 202);
}

pub async fn ack(sub: &Subscription, status: &TaskStatus) {
    if let (Some(uuid), Some(agent_id)) = (&status.uuid, &status.agent_id) {
        let call = Call {
            acknowledge: Some(Acknowledge {
                agent_id: agent_id.clone(),
                task_id: status.task_id.clone(),
                uuid: uuid.clone(),
            }),
            ..Call::new(CallType::Acknowledge, None)
        };
        sub.call(call).await.expect("acknowledge");
    }
}

/// Acknowledges updates as they come until `task` reaches `state`; returns the updates seen.
/// Other events (offers, failures) are returned too so tests can look at them.
pub async fn await_state(sub: &mut Subscription, task: &str, state: TaskState) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let e = sub
            .next_event(WAIT)
            .await
            .unwrap_or_else(|| panic!("task {task} did not reach {state}; saw {seen:#?}"));
        if let Some(u) = &e.update {
            ack(sub, &u.status).await;
            if u.status.task_id.value == task && u.status.state == state {
                seen.push(e);
                return seen;
            }
        }
        seen.push(e);
    }
}

pub fn states(events: &[Event], task: &str) -> Vec<TaskState> {
    events
        .iter()
        .filter_map(|e| e.update.as_ref())
        .filter(|u| u.status.task_id.value == task)
        .map(|u| u.status.state)
        .collect()
}

pub async fn decline_all(sub: &Subscription, offers: &[Offer], refuse_seconds: f64) {
    let call = Call {
        decline: Some(mmrun::mesos::scheduler::Decline {
            offer_ids: offers.iter().map(|o| o.id.clone()).collect(),
            filters: Some(Filters {
                refuse_seconds: Some(refuse_seconds),
            }),
        }),
        ..Call::new(CallType::Decline, None)
    };
    sub.call(call).await.unwrap();
}

/// Polls until `check` holds for the master state, or panics with the last state.
pub async fn eventually<F: Fn(&mmrun::mesos::state::MasterState) -> bool>(
    master: &str,
    what: &str,
    check: F,
) -> mmrun::mesos::state::MasterState {
    let client = mmrun::client::MasterClient::new(master);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let state = client.state().await.unwrap();
        if check(&state) {
            return state;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; state: {}",
                serde_json::to_string_pretty(&state).unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next UPDATE's status, skipping offers and other events.
pub async fn next_update(sub: &mut Subscription) -> TaskStatus {
    loop {
        let e = sub.next_event(WAIT).await.expect("an UPDATE event");
        if let Some(u) = e.update {
            return u.status;
        }
    }
}
