//! The framework's event loop: events in, calls out, in order; subscribing again when the
//! master goes away.

use super::*;

/// ACCEPT and DECLINE calls of one batch of offers, or acknowledgements of one batch of
/// updates, in flight at once.
const CALLS_IN_FLIGHT: usize = 16;

/// Updates already received that are handled as one batch.
const UPDATES_AT_ONCE: usize = 1024;

/// The framework's event loop: events in, calls out, in order. When the master goes away (the
/// stream ends, a call cannot reach it, or ZooKeeper names another leader) it subscribes again.
pub(super) async fn drive(
    shared: Arc<Shared>,
    finder: MasterFinder,
    mut sub: Subscription,
    mut calls: mpsc::UnboundedReceiver<Call>,
    stop: CancellationToken,
) {
    let mut leader_changes = finder.changes();
    loop {
        let current_master = sub.master().to_string();
        tokio::select! {
            event = sub.events.recv() => match event {
                Some(e) if e.kind == EventType::Update => {
                    // Updates already waiting are handled together (see handle_updates); an
                    // event of another kind met on the way is handled after them, in order.
                    let mut batch = vec![e];
                    let mut after = None;
                    while batch.len() < UPDATES_AT_ONCE {
                        match sub.events.try_recv() {
                            Ok(next) if next.kind == EventType::Update => batch.push(next),
                            Ok(other) => {
                                after = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    handle_updates(&shared, &sub, batch).await;
                    if let Some(other) = after {
                        handle_event(&shared, &sub, other).await;
                    }
                }
                Some(e) => handle_event(&shared, &sub, e).await,
                None => {
                    if shared.state().torn_down {
                        end(&shared, "was torn down".into());
                        return;
                    }
                    match resubscribe(&shared, &finder, &stop).await {
                        Some(new) => sub = new,
                        None => return,
                    }
                }
            },
            call = calls.recv() => {
                let Some(call) = call else { return };
                // A call to a master that vanished (a killed container) can hang until the
                // client's timeout: give up on it as soon as another master leads.
                let sent = tokio::select! {
                    sent = sub.call(call.clone()) => Some(sent),
                    _ = new_leader(&mut leader_changes, &current_master) => None,
                };
                match sent {
                    Some(Ok(_)) => {}
                    Some(Err(e)) if !master_gone(&e) => {
                        tracing::warn!("framework {}: call failed: {e}", shared.options.name);
                    }
                    lost => {
                        if let Some(Err(e)) = lost {
                            tracing::info!("framework {}: {e}; subscribing again", shared.options.name);
                        }
                        match resubscribe(&shared, &finder, &stop).await {
                            Some(new) => sub = new,
                            None => return,
                        }
                        if let Err(e) = sub.call(call).await {
                            tracing::warn!("framework {}: call failed: {e}", shared.options.name);
                        }
                    }
                }
            },
            _ = new_leader(&mut leader_changes, &current_master) => {
                tracing::info!("framework {}: a new master leads; subscribing again", shared.options.name);
                match resubscribe(&shared, &finder, &stop).await {
                    Some(new) => sub = new,
                    None => return,
                }
            },
            _ = stop.cancelled() => {
                end(&shared, "was disconnected".into());
                return;
            }
        }
    }
}

/// Subscribes (or registers, as a driver) over the API the options name.
pub(super) async fn connect(
    master_url: &str,
    info: FrameworkInfo,
    options: &FrameworkOptions,
) -> Result<Subscription, ClientError> {
    match options.api {
        FrameworkApi::Http => subscribe_with(master_url, info, options.encoding).await,
        FrameworkApi::Driver => subscribe_driver(master_url, info).await,
    }
}

pub(super) fn end(shared: &Shared, why: String) {
    shared.state().ended.get_or_insert(why);
    shared.changed.notify_waiters();
}

/// Whether a failed call means the master went away (rather than refusing the call).
pub(super) fn master_gone(e: &ClientError) -> bool {
    match e {
        ClientError::Unreachable { .. } => true,
        ClientError::Refused { status, .. } => matches!(
            status.as_u16(),
            // 403: the master does not know this subscription (a new master); 307/503: not
            // the leader, or no leader yet.
            403 | 307 | 503
        ),
        ClientError::Protocol { .. } => false,
    }
}

/// Resolves once ZooKeeper names a leader other than the subscription's master; never, for a
/// fixed master.
pub(super) async fn new_leader(
    changes: &mut Option<tokio::sync::watch::Receiver<crate::zookeeper::Leadership>>,
    current_master: &str,
) {
    loop {
        let Some(rx) = changes else {
            return std::future::pending().await;
        };
        if rx.changed().await.is_err() {
            *changes = None;
            continue;
        }
        let leader = rx.borrow_and_update().info().cloned();
        if leader.is_some_and(|info| {
            format!("http://{}:{}", info.address.ip, info.address.port) != current_master
        }) {
            return;
        }
    }
}

/// Subscribes again with the framework's id, then asks for every task's state (implicit
/// reconciliation). Gives up after `RESUBSCRIBE_WITHIN`, or at once when the master refuses
/// the framework (e.g. it was removed after its failover timeout): the framework then ends
/// with the reason, so every later call fails saying so instead of going nowhere.
pub(super) async fn resubscribe(
    shared: &Arc<Shared>,
    finder: &MasterFinder,
    stop: &CancellationToken,
) -> Option<Subscription> {
    let deadline = tokio::time::Instant::now() + RESUBSCRIBE_WITHIN;
    let mut last_error = "no leading master".to_string();
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if remaining.is_zero() {
            end(
                shared,
                format!(
                    "lost its master and could not subscribe again within {RESUBSCRIBE_WITHIN:?} ({}: {last_error})",
                    finder.describe()
                ),
            );
            return None;
        }
        let attempt = async {
            let url = finder.leader(remaining).await?;
            let mut info = shared.options.info();
            info.id = Some(shared.framework_id.clone());
            Some(connect(&url, info, &shared.options).await)
        };
        let attempt = tokio::select! {
            attempt = attempt => attempt,
            _ = stop.cancelled() => {
                end(shared, "was disconnected".into());
                return None;
            }
        };
        match attempt {
            Some(Ok(sub)) => {
                tracing::info!(
                    "framework {} subscribed again to {}",
                    shared.options.name,
                    sub.master()
                );
                let reconcile = Call {
                    reconcile: Some(Reconcile::default()),
                    ..Call::new(CallType::Reconcile, None)
                };
                if let Err(e) = sub.call(reconcile).await {
                    tracing::warn!("framework {}: reconcile failed: {e}", shared.options.name);
                }
                shared.state().resubscriptions += 1;
                shared.changed.notify_waiters();
                return Some(sub);
            }
            // An ERROR event in place of SUBSCRIBED: the master refuses this framework.
            Some(Err(ClientError::Refused { status, body, .. }))
                if status == reqwest::StatusCode::OK =>
            {
                end(
                    shared,
                    format!("lost its master, and the new one refused it: {body}"),
                );
                return None;
            }
            Some(Err(e)) => last_error = e.to_string(),
            None => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.cancelled() => {
                end(shared, "was disconnected".into());
                return None;
            }
        }
    }
}

pub(super) async fn handle_event(shared: &Arc<Shared>, sub: &Subscription, event: Event) {
    match event.kind {
        EventType::Offers => {
            let offers = event.offers.map(|o| o.offers).unwrap_or_default();
            // One ACCEPT per agent's offer (Mesos refuses offers of several agents in one),
            // independent of each other: a few in flight at once, so a batch of thousands of
            // offers is not thousands of round trips in a row.
            let calls = planner::plan_offers(&mut shared.state(), offers);
            futures::stream::iter(calls)
                .for_each_concurrent(CALLS_IN_FLIGHT, |call| async move {
                    if let Err(e) = sub.call(call).await {
                        tracing::warn!("framework {}: offer call failed: {e}", shared.options.name);
                    }
                })
                .await;
        }
        EventType::Update => handle_updates(shared, sub, vec![event]).await,
        EventType::Message => {
            let Some(message) = event.message else { return };
            let data = base64::engine::general_purpose::STANDARD
                .decode(&message.data)
                .map(|d| String::from_utf8_lossy(&d).into_owned())
                .unwrap_or(message.data);
            shared.state().messages.push(ExecutorMessage {
                executor_id: message.executor_id,
                agent_id: message.agent_id,
                data,
            });
            shared.changed.notify_waiters();
        }
        EventType::Failure => {
            if let Some(agent) = event.failure.and_then(|f| f.agent_id) {
                shared.state().lost_agents.push(agent);
                shared.changed.notify_waiters();
            }
        }
        EventType::Error => {
            let message = event.error.map(|e| e.message).unwrap_or_default();
            shared.state().ended = Some(format!(
                "lost its master connection (the master sent ERROR: {message})"
            ));
            shared.changed.notify_waiters();
        }
        _ => {}
    }
}

/// Updates waiting together: each task's in order, different tasks' a few at once, so that
/// thousands of updates are not thousands of acknowledgement round trips in a row.
pub(super) async fn handle_updates(shared: &Arc<Shared>, sub: &Subscription, events: Vec<Event>) {
    let mut per_task: BTreeMap<TaskId, Vec<TaskStatus>> = BTreeMap::new();
    for update in events.into_iter().filter_map(|e| e.update) {
        let status = update.status;
        per_task
            .entry(status.task_id.clone())
            .or_default()
            .push(status);
    }
    futures::stream::iter(per_task.into_values())
        .for_each_concurrent(CALLS_IN_FLIGHT, |statuses| async move {
            for status in statuses {
                handle_update(shared, sub, status).await;
            }
        })
        .await;
}

pub(super) async fn handle_update(shared: &Arc<Shared>, sub: &Subscription, status: TaskStatus) {
    // Acknowledge first, record after: the master handles ACKNOWLEDGE before answering,
    // so once a script sees a state, the master's view of the task has settled too
    // (a finished task is already among completed tasks), and snapshots are stable.
    if let (Some(uuid), Some(agent_id)) = (status.uuid.clone(), status.agent_id.clone()) {
        let ack = Call {
            acknowledge: Some(Acknowledge {
                agent_id,
                task_id: status.task_id.clone(),
                uuid,
            }),
            ..Call::new(CallType::Acknowledge, None)
        };
        if let Err(e) = sub.call(ack).await {
            tracing::warn!("framework {}: acknowledge failed: {e}", shared.options.name);
        }
    }
    {
        let mut state = shared.state();
        if let Some(task) = state.tasks.get_mut(&status.task_id) {
            if task.agent_id.is_none() {
                task.agent_id = status.agent_id.clone();
            }
            task.statuses.push(status);
        }
    }
    shared.changed.notify_waiters();
}
