//! Observing any framework, not only mmrun's own: `c.framework(name)`, `c.await_framework`,
//! `c.task(name)` and `c.await_task(name, state)`. A framework mmrun did not subscribe (the
//! user's own scheduler, run by `run_framework` or from elsewhere) is seen through the master's
//! `/master/state`, so these work against any Mesos master.

use super::ClusterHandleRef;
use super::framework::{await_in, parse_state, task_map};
use crate::client::{ClientError, MasterClient};
use crate::framework::Framework;
use crate::mesos::state::{MasterState, StateFramework, StateTask};
use crate::mesos::task::TaskState;
use crate::script::bindings::option_keys;
use crate::script::context::{ClusterCtx, ScriptResult, lock, script_error};
use crate::script::values::Options;
use rhai::{Array, Dynamic, Engine, FuncRegistration, Map};
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_AWAIT: Duration = Duration::from_secs(30);
/// How often the master's state is read while waiting: cheap, and quick to notice.
const POLL: Duration = Duration::from_millis(50);

pub fn register(engine: &mut Engine) {
    FuncRegistration::new("framework")
        .with_params_info(["c: Cluster", "name: string", "map"])
        .with_comments([
            "/// The framework named `name` (or with that id) as the master lists it, whoever runs it:\n/// a map with `name`, `id`, `state` (\"active\", \"inactive\" — disconnected, within its\n/// failover timeout — or \"completed\"), `active`, `connected`, `role`, `failover_timeout` and\n/// `tasks` (array of task maps, as `c.task`), or `()` when the master lists none. A registered\n/// framework wins over completed ones of the same name; two registered ones are an error (give\n/// the id).",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef, name: &str| -> ScriptResult<Dynamic> {
                let state = master_state(&c.0)?;
                Ok(match find_framework(&state, name)? {
                    Some(f) => Dynamic::from_map(framework_map(&c.0, f, completed(&state, f))),
                    None => Dynamic::UNIT,
                })
            },
        );
    FuncRegistration::new("await_framework")
        .with_params_info(["c: Cluster", "name: string", "state: string", "map"])
        .with_comments([
            "/// Waits until the framework named `name` (or with that id) is in `state`: \"active\"\n/// (subscribed and connected), \"inactive\" (disconnected, kept for its failover timeout) or\n/// \"completed\" (torn down, or removed when its failover timeout expired); returns it as\n/// `c.framework` does. Fails after 30 s.",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef, name: &str, state: &str| -> ScriptResult<Map> {
                c.0.scenario.awaiting(|| format!("await_framework({name:?}, {state:?})"), || await_framework(&c.0, name, state, &Map::new()))
            },
        );
    FuncRegistration::new("await_framework")
        .with_params_info([
            "c: Cluster",
            "name: string",
            "state: string",
            "options: map",
            "map",
        ])
        .with_comments([
            "/// As `await_framework(name, state)`, with options: `timeout` (e.g. \"10s\").",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef,
             name: &str,
             state: &str,
             options: Map|
             -> ScriptResult<Map> {
                c.0.scenario.awaiting(
                    || format!("await_framework({name:?}, {state:?})"),
                    || await_framework(&c.0, name, state, &options),
                )
            },
        );
    FuncRegistration::new("await_task")
        .with_params_info(["c: Cluster", "name: string", "state: string", "map"])
        .with_comments([
            "/// Waits until the task named `name`, of any framework (mmrun's own or one seen only in the\n/// master's state), reaches `state` (e.g. \"TASK_RUNNING\") and returns it as a map. Fails at\n/// once if it ends in another terminal state, or if several frameworks have a task of that\n/// name; after 30 s otherwise.",
        ])
        .register_into_engine(engine, |c: &mut ClusterHandleRef, name: &str, state: &str| -> ScriptResult<Map> {
            c.0.scenario.awaiting(|| format!("await_task({name:?}, {state:?})"), || await_task(&c.0, name, state, &Map::new()))
        });
    FuncRegistration::new("await_task")
        .with_params_info([
            "c: Cluster",
            "name: string",
            "state: string",
            "options: map",
            "map",
        ])
        .with_comments([
            "/// As `await_task(name, state)`, with options: `timeout` (e.g. \"10s\"), and `healthy`\n/// (true or false) to wait also until the task's health, as its latest status reporting one says,\n/// is that (a task with a `health_check`).",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef,
             name: &str,
             state: &str,
             options: Map|
             -> ScriptResult<Map> { c.0.scenario.awaiting(|| format!("await_task({name:?}, {state:?})"), || await_task(&c.0, name, state, &options)) },
        );
    FuncRegistration::new("why")
        .with_params_info(["c: Cluster", "name: string", "array"])
        .with_comments(["/// Why task `name` (of any framework) is not where a script waits for it, one line a\n/// reason. For an mmrun framework's task not launched yet: what each agent's last offer lacked,\n/// or that no offer came (see `fw.why`). For a task the master knows: its state and where. For\n/// a name the master does not know: what the master knows of the other frameworks' offers\n/// (outstanding, or none), since a framework launches only on offers."])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef, name: &str| -> ScriptResult<Array> {
                Ok(why(&c.0, name)?.into_iter().map(Dynamic::from).collect())
            },
        );
    FuncRegistration::new("task")
        .with_params_info(["c: Cluster", "name: string", "map"])
        .with_comments([
            "/// The task named `name`, of any framework, as a map (`name`, `framework`, `state`,\n/// `agent`, `states`, `message`, `reason`), or `()` if no framework has one. Several\n/// frameworks with a task of that name are an error.",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef, name: &str| -> ScriptResult<Dynamic> {
                Ok(match find_task(&c.0, name)? {
                    Found::None => Dynamic::UNIT,
                    Found::Own(f) => match f.task(name) {
                        Some(t) => Dynamic::from_map(task_map(&c.0, &f, &t)),
                        None => Dynamic::UNIT,
                    },
                    Found::Other(found) => Dynamic::from_map(state_task_map(
                        &c.0,
                        &found.0,
                        &found.1,
                        &task_details(&c.0),
                    )),
                })
            },
        );
}

/// How long a state query keeps asking again when the master it asked is gone and the cluster
/// has ZooKeeper: the leader may be changing, and the script's own detector hears of a new one
/// from a ZooKeeper watch — a moment after the backend does (`c.await_leader()` may already
/// have returned), or once the dead leader's session expires.
const LEADER_CHANGE_GRACE: Duration = Duration::from_secs(10);

fn master_state(ctx: &Arc<ClusterCtx>) -> ScriptResult<MasterState> {
    let deadline = std::time::Instant::now() + LEADER_CHANGE_GRACE;
    loop {
        let url = ctx.master_url()?;
        match ctx.scenario.block(MasterClient::new(url).state())? {
            Ok(mut state) => {
                // An external cluster's earlier frameworks are not the scenario's.
                let foreign = ctx.foreign_frameworks()?;
                if !foreign.is_empty() {
                    state.frameworks.retain(|f| !foreign.contains(&f.id));
                    state
                        .completed_frameworks
                        .retain(|f| !foreign.contains(&f.id));
                }
                return Ok(state);
            }
            Err(ClientError::Unreachable { .. })
                if ctx.spec.has_zookeeper() && std::time::Instant::now() < deadline =>
            {
                ctx.scenario
                    .block(tokio::time::sleep(Duration::from_millis(20)))?;
            }
            Err(e) => return Err(format!("cannot read the master's state: {e}").into()),
        }
    }
}

fn completed(state: &MasterState, f: &StateFramework) -> bool {
    !state.frameworks.iter().any(|r| r.id == f.id)
}

/// The framework named (or with id) `key`: a registered one first, else the completed one that
/// ended last.
fn find_framework<'a>(
    state: &'a MasterState,
    key: &str,
) -> ScriptResult<Option<&'a StateFramework>> {
    let registered: Vec<&StateFramework> = state
        .frameworks
        .iter()
        .filter(|f| f.name == key || f.id == key)
        .collect();
    match registered.as_slice() {
        [one] => return Ok(Some(one)),
        [] => {}
        several => {
            let ids: Vec<&str> = several.iter().map(|f| f.id.as_str()).collect();
            return script_error(format!(
                "several registered frameworks are named '{key}' ({}): give the id of the one you mean",
                ids.join(", ")
            ));
        }
    }
    Ok(state
        .completed_frameworks
        .iter()
        .filter(|f| f.name == key || f.id == key)
        .max_by(|a, b| a.unregistered_time.total_cmp(&b.unregistered_time)))
}

fn framework_state(f: &StateFramework, completed: bool) -> &'static str {
    if completed {
        "completed"
    } else if f.active {
        "active"
    } else {
        "inactive"
    }
}

fn framework_map(ctx: &ClusterCtx, f: &StateFramework, completed: bool) -> Map {
    let mut m = Map::new();
    m.insert("name".into(), f.name.clone().into());
    m.insert("id".into(), f.id.clone().into());
    m.insert("state".into(), framework_state(f, completed).into());
    m.insert("active".into(), (f.active && !completed).into());
    m.insert("connected".into(), (f.connected && !completed).into());
    m.insert(
        "role".into(),
        f.role
            .clone()
            .or_else(|| f.roles.as_ref().and_then(|r| r.first().cloned()))
            .map_or(Dynamic::UNIT, Into::into),
    );
    m.insert("failover_timeout".into(), f.failover_timeout.into());
    let details = task_details(ctx);
    let tasks: Array = all_tasks(f)
        .map(|t| Dynamic::from_map(state_task_map(ctx, f, t, &details)))
        .collect();
    m.insert("tasks".into(), tasks.into());
    m
}

fn all_tasks(f: &StateFramework) -> impl Iterator<Item = &StateTask> {
    f.tasks
        .iter()
        .chain(&f.unreachable_tasks)
        .chain(&f.completed_tasks)
}

/// The latest reason, message and source of every task the master knows, by (framework id,
/// task id): `/master/state` keeps a status's state and time only, the operator API's
/// GET_TASKS the whole status. Empty when the master cannot be asked (best effort: the task is
/// still shown, without them).
type TaskDetails = std::collections::HashMap<(String, String), [Option<String>; 3]>;

fn task_details(ctx: &ClusterCtx) -> TaskDetails {
    let Ok(url) = ctx.master_url() else {
        return TaskDetails::new();
    };
    let Ok(Ok(tasks)) = ctx.scenario.block(MasterClient::new(url).tasks()) else {
        return TaskDetails::new();
    };
    tasks
        .tasks
        .into_iter()
        .chain(tasks.unreachable_tasks)
        .chain(tasks.completed_tasks)
        .filter_map(|t| {
            let last = t.statuses.last()?;
            let key = (t.framework_id.value.clone(), t.task_id.value.clone());
            Some((
                key,
                [
                    last.reason.clone(),
                    last.message.clone(),
                    last.source.clone(),
                ],
            ))
        })
        .collect()
}

/// A task the master lists, as a map with the keys of mmrun's own tasks' maps.
fn state_task_map(
    ctx: &ClusterCtx,
    f: &StateFramework,
    t: &StateTask,
    details: &TaskDetails,
) -> Map {
    let mut m = Map::new();
    m.insert("name".into(), t.name.clone().into());
    m.insert("framework".into(), f.name.clone().into());
    m.insert("state".into(), t.state.clone().into());
    m.insert(
        "agent".into(),
        if t.slave_id.is_empty() {
            Dynamic::UNIT
        } else {
            ctx.agent_name(&t.slave_id).into()
        },
    );
    m.insert("states".into(), history(t).into());
    let [reason, message, source] = details
        .get(&(f.id.clone(), t.id.clone()))
        .cloned()
        .unwrap_or_default();
    let text = |v: Option<String>| v.map_or(Dynamic::UNIT, Into::into);
    m.insert("message".into(), text(message));
    m.insert("reason".into(), text(reason));
    m.insert("source".into(), text(source));
    m.insert(
        "healthy".into(),
        state_task_health(t).map_or(Dynamic::UNIT, Into::into),
    );
    m
}

/// The task's health, as its latest status that reports one says.
fn state_task_health(t: &StateTask) -> Option<bool> {
    t.statuses.iter().rev().find_map(|s| s.healthy)
}

/// The states a task went through, without repeats (reconciliation answers).
fn history(t: &StateTask) -> Array {
    let mut out: Vec<&str> = Vec::new();
    for s in &t.statuses {
        if out.last() != Some(&s.state.as_str()) {
            out.push(&s.state);
        }
    }
    if out.is_empty() {
        out.push(&t.state);
    }
    out.into_iter()
        .map(|s| Dynamic::from(s.to_string()))
        .collect()
}

fn is_terminal(state: &str) -> bool {
    TaskState::from_name(state).is_some_and(TaskState::is_terminal)
}

/// Of several tasks of one name in one framework (relaunched), the live one, else the one that
/// changed last.
fn current<'a>(candidates: &[&'a StateTask]) -> Option<&'a StateTask> {
    let last_change = |t: &StateTask| t.statuses.last().map_or(0.0, |s| s.timestamp);
    candidates.iter().copied().max_by(|a, b| {
        (!is_terminal(&a.state))
            .cmp(&!is_terminal(&b.state))
            .then(last_change(a).total_cmp(&last_change(b)))
    })
}

/// Where a task name was found.
enum Found {
    None,
    Own(Framework),
    Other(Box<(StateFramework, StateTask)>),
}

/// The one framework with a task named `name`: mmrun's own frameworks, then every other the
/// master lists. Several are an error that names them.
fn find_task(ctx: &Arc<ClusterCtx>, name: &str) -> ScriptResult<Found> {
    let own: Vec<Framework> = lock(&ctx.frameworks)
        .iter()
        .filter(|f| f.tasks().iter().any(|t| t.name == name))
        .cloned()
        .collect();
    let state = match master_state(ctx) {
        Ok(s) => s,
        // The master may be down (restarting, stopped): mmrun's own records still answer.
        Err(_) if own.len() == 1 => return Ok(Found::Own(own[0].clone())),
        Err(e) => return Err(e),
    };
    let own_ids: Vec<String> = lock(&ctx.frameworks)
        .iter()
        .map(|f| f.id().value.clone())
        .collect();
    let others: Vec<(&StateFramework, &StateTask)> = state
        .frameworks
        .iter()
        .chain(&state.completed_frameworks)
        .filter(|f| !own_ids.contains(&f.id))
        .filter_map(|f| {
            let named: Vec<&StateTask> = all_tasks(f).filter(|t| t.name == name).collect();
            current(&named).map(|t| (f, t))
        })
        .collect();
    if own.len() + others.len() > 1 {
        let mut names: Vec<String> = own
            .iter()
            .map(|f| format!("'{}' (mmrun's)", f.name()))
            .collect();
        names.extend(
            others
                .iter()
                .map(|(f, _)| format!("'{}' ({})", f.name, f.id)),
        );
        return script_error(format!(
            "several frameworks have a task named '{name}': {}. Ask the one you mean: fw.task(\"{name}\") / fw.await_task(\"{name}\", …) on an mmrun framework, or look in c.framework(\"<name or id>\").tasks",
            names.join(", ")
        ));
    }
    Ok(match (own.into_iter().next(), others.into_iter().next()) {
        (Some(f), _) => Found::Own(f),
        (None, Some((f, t))) => Found::Other(Box::new((f.clone(), t.clone()))),
        (None, None) => Found::None,
    })
}

/// `c.why(name)`.
fn why(ctx: &Arc<ClusterCtx>, name: &str) -> ScriptResult<Vec<String>> {
    Ok(match find_task(ctx, name)? {
        Found::Own(f) => super::framework::why_lines(ctx, &f, name),
        Found::Other(found) => {
            let (f, t) = *found;
            let agent = if t.slave_id.is_empty() {
                "no agent".to_string()
            } else {
                ctx.agent_name(&t.slave_id)
            };
            vec![format!(
                "task '{name}' of framework '{}' is {} on {agent}",
                f.name, t.state
            )]
        }
        Found::None => {
            let mut lines = vec![format!("no framework has launched a task named '{name}'")];
            lines.extend(offers_view(ctx, &master_state(ctx)?));
            lines
        }
    })
}

/// What the master knows of the offers of frameworks other than mmrun's, one line each: a
/// framework launches only on offers, so these say where a task it has not launched waits.
fn offers_view(ctx: &ClusterCtx, state: &MasterState) -> Vec<String> {
    let own: Vec<String> = lock(&ctx.frameworks)
        .iter()
        .map(|f| f.id().value.clone())
        .collect();
    state
        .frameworks
        .iter()
        .filter(|f| !own.contains(&f.id))
        .map(|f| {
            let status = if !f.active {
                " (inactive: it gets no offers until its scheduler subscribes again)"
            } else {
                ""
            };
            if f.offers.is_empty() {
                format!(
                    "framework '{}' holds no offer{status}: it declined them (its filters keep those agents' resources from it for a while), suppressed offers, or no agent has free resources for its roles",
                    f.name
                )
            } else {
                let agents: Vec<String> = f
                    .offers
                    .iter()
                    .map(|o| ctx.agent_name(&o.slave_id))
                    .collect();
                format!(
                    "framework '{}' holds {} offer(s) it has neither used nor declined, on {}{status}",
                    f.name,
                    f.offers.len(),
                    agents.join(", ")
                )
            }
        })
        .collect()
}

fn await_task(ctx: &Arc<ClusterCtx>, name: &str, state: &str, options: &Map) -> ScriptResult<Map> {
    let wanted = parse_state(state)?;
    let o = Options::new(options, "await_task", option_keys::AWAIT_TASK.keys)?;
    let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_AWAIT);
    let healthy = o.bool("healthy")?;
    let deadline = std::time::Instant::now() + timeout;
    let mut last = String::new();
    loop {
        match find_task(ctx, name)? {
            Found::Own(f) => {
                let remaining = deadline.saturating_duration_since(std::time::Instant::now());
                let mut options = Map::new();
                options.insert(
                    "timeout".into(),
                    format!("{}ms", remaining.as_millis()).into(),
                );
                if let Some(h) = healthy {
                    options.insert("healthy".into(), h.into());
                }
                return await_in(ctx, &f, name, state, &options);
            }
            Found::Other(found) => {
                let (f, t) = *found;
                let reached =
                    t.statuses.iter().any(|s| s.state == wanted.name()) || t.state == wanted.name();
                if reached && healthy.is_none_or(|h| state_task_health(&t) == Some(h)) {
                    return Ok(state_task_map(ctx, &f, &t, &task_details(ctx)));
                }
                let states: Vec<String> = history(&t).iter().map(|s| s.to_string()).collect();
                last = format!(
                    "task '{name}' of framework '{}' is {}; history: [{}]",
                    f.name,
                    t.state,
                    states.join(", ")
                );
                if is_terminal(&t.state) {
                    return script_error(format!(
                        "expected task '{name}' to reach {wanted}, but it ended {}: {last}",
                        t.state
                    ));
                }
            }
            Found::None if no_other_frameworks(ctx)? => {
                return script_error(format!(
                    "await_task: no framework has a task named '{name}' (launch it first)"
                ));
            }
            // Unknown to the master, and every scheduler the script started has exited: no
            // one is left to launch it. Say so now rather than after the timeout.
            Found::None
                if super::containers::every_run_exited(ctx) && lock(&ctx.frameworks).is_empty() =>
            {
                return script_error(format!(
                    "await_task: no framework has a task named '{name}', and every framework process this scenario started has exited:{}",
                    super::containers::ended_runs(ctx)
                ));
            }
            Found::None => {}
        }
        if std::time::Instant::now() >= deadline {
            let why = if last.is_empty() {
                let mut why = format!("no framework has a task named '{name}'");
                if let Ok(state) = master_state(ctx) {
                    for line in offers_view(ctx, &state) {
                        why.push_str(&format!("\n    {line}"));
                    }
                }
                why
            } else {
                last
            };
            return script_error(format!(
                "timed out after {timeout:?} waiting for task '{name}' to reach {wanted}; {why}{}",
                super::containers::ended_runs(ctx)
            ));
        }
        ctx.scenario.block(tokio::time::sleep(POLL))?;
    }
}

/// Whether every framework there is is mmrun's own: the script runs none itself and the master
/// lists no other. A task name none of them has is then a mistake now, not something another
/// framework may launch later.
fn no_other_frameworks(ctx: &Arc<ClusterCtx>) -> ScriptResult<bool> {
    if ctx
        .framework_runs
        .load(std::sync::atomic::Ordering::Relaxed)
        > 0
    {
        return Ok(false);
    }
    let state = master_state(ctx)?;
    let own_ids: Vec<String> = lock(&ctx.frameworks)
        .iter()
        .map(|f| f.id().value.clone())
        .collect();
    Ok(state
        .frameworks
        .iter()
        .chain(&state.completed_frameworks)
        .all(|f| own_ids.contains(&f.id)))
}

fn await_framework(
    ctx: &Arc<ClusterCtx>,
    name: &str,
    wanted: &str,
    options: &Map,
) -> ScriptResult<Map> {
    let wanted = match wanted.trim().to_ascii_lowercase().as_str() {
        w @ ("active" | "inactive" | "completed") => w.to_string(),
        _ => {
            return script_error(format!(
                "await_framework: '{wanted}' is not a framework state: use \"active\", \"inactive\" or \"completed\""
            ));
        }
    };
    let o = Options::new(
        options,
        "await_framework",
        option_keys::AWAIT_FRAMEWORK.keys,
    )?;
    let timeout = o.duration("timeout")?.unwrap_or(DEFAULT_AWAIT);
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let state = master_state(ctx)?;
        let seen = match find_framework(&state, name)? {
            Some(f) => {
                let done = completed(&state, f);
                if framework_state(f, done) == wanted {
                    return Ok(framework_map(ctx, f, done));
                }
                // A removed framework never comes back (Mesos refuses its id).
                if done {
                    return script_error(format!(
                        "await_framework: framework '{name}' is completed (removed), so it will never be {wanted}{}",
                        super::containers::ended_runs(ctx)
                    ));
                }
                format!("it is {}", framework_state(f, done))
            }
            None if super::containers::every_run_exited(ctx) => {
                return script_error(format!(
                    "await_framework: the master lists no framework '{name}', and every framework process this scenario started has exited:{}",
                    super::containers::ended_runs(ctx)
                ));
            }
            None => "the master lists no framework of that name or id".to_string(),
        };
        if std::time::Instant::now() >= deadline {
            return script_error(format!(
                "timed out after {timeout:?} waiting for framework '{name}' to be {wanted}: {seen}{}",
                super::containers::ended_runs(ctx)
            ));
        }
        ctx.scenario.block(tokio::time::sleep(POLL))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mesos 1.11's `/master/state` (the normaliser's fixture): `web` registered and active,
    /// `batch` completed.
    fn fixture() -> MasterState {
        serde_json::from_str(include_str!("../../snapshot/testdata/master_state.json")).unwrap()
    }

    #[test]
    fn frameworks_are_found_by_name_or_id_registered_first() {
        let mut state = fixture();
        let web = find_framework(&state, "web").unwrap().unwrap();
        assert_eq!(framework_state(web, completed(&state, web)), "active");
        let by_id = find_framework(&state, &web.id.clone()).unwrap().unwrap();
        assert_eq!(by_id.name, "web");
        let batch = find_framework(&state, "batch").unwrap().unwrap();
        assert_eq!(
            framework_state(batch, completed(&state, batch)),
            "completed"
        );
        assert!(find_framework(&state, "nobody").unwrap().is_none());

        // A disconnected framework within its failover timeout is inactive.
        state.frameworks[0].active = false;
        state.frameworks[0].connected = false;
        let web = find_framework(&state, "web").unwrap().unwrap();
        assert_eq!(framework_state(web, completed(&state, web)), "inactive");

        // A new `batch` registered wins over the completed one of that name.
        let mut again = state.frameworks[0].clone();
        again.name = "batch".into();
        again.id = "new".into();
        state.frameworks.push(again.clone());
        assert_eq!(find_framework(&state, "batch").unwrap().unwrap().id, "new");
        // Two registered ones of a name: the id is needed.
        again.id = "newer".into();
        state.frameworks.push(again);
        let e = find_framework(&state, "batch").unwrap_err().to_string();
        assert!(e.contains("new, newer") && e.contains("give the id"), "{e}");
        assert_eq!(
            find_framework(&state, "newer").unwrap().unwrap().id,
            "newer"
        );
    }

    #[test]
    fn of_a_relaunched_name_the_live_task_counts() {
        let state = fixture();
        let web = &state.frameworks[0];
        let mut finished = web.completed_tasks[0].clone();
        assert_eq!(finished.state, "TASK_FINISHED");
        let mut running = web.tasks[0].clone();
        running.name = finished.name.clone();
        // The finished one changed last, yet the running one is the task now.
        finished.statuses.last_mut().unwrap().timestamp = f64::MAX;
        assert_eq!(
            current(&[&finished, &running]).unwrap().state,
            "TASK_RUNNING"
        );
        let mut older = finished.clone();
        older.statuses.last_mut().unwrap().timestamp = 1.0;
        older.state = "TASK_FAILED".into();
        assert_eq!(
            current(&[&older, &finished]).unwrap().state,
            "TASK_FINISHED"
        );
        let states: Vec<String> = history(&finished).iter().map(|s| s.to_string()).collect();
        assert_eq!(states, ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]);
    }
}
