//! Turns a `/master/state` into the value a snapshot records: what a scenario did to the
//! cluster, with everything that changes from run to run or from backend to backend left out.
//!
//! Left out: ids (agents are named by the order the script added them, `agent-1`, …),
//! timestamps, hostnames, network ports, pids, uuids, offers (their timing is the allocator's
//! business), executors and container details. Kept: agents' activity, resources and
//! attributes; frameworks' names, roles and tasks (name, state, agent, resources and the
//! states the task went through); a few counts.
//!
//! Order: lists are sorted by their natural key (agents by the script's order, frameworks by
//! name then role, tasks by name, agent, state) with the full entry as the final tie-break, so
//! the order the master happens to list things in never shows. Object keys come out in
//! alphabetical order because `serde_json`'s map is sorted.
//!
//! Numbers: Mesos writes counts and resources as doubles; integral ones are written as
//! integers (`1.0` → `1`) so the YAML reads naturally, others stay as they are (`0.1`).

use crate::mesos::state::{MasterState, StateAgent, StateFramework, StateTask};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// The name given to an agent the script never added (its id is not in the `agents` list).
pub const UNKNOWN_AGENT: &str = "agent-?";

/// An agent the script added: its Mesos id and its ordinal name (`agent-1`, `agent-2`, …).
///
/// An agent that re-registers under a new id (restarted without its work dir) may be listed
/// again with the same name: tasks on either id then show that name, and the agent appears
/// once, as whichever of its ids the master still lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRef {
    pub id: String,
    pub name: String,
}

/// The snapshot value for `state`: `{agents, frameworks, counts}`.
///
/// `agents` lists the agents in the order the script added them. Each agent entry is
/// `{name, active, resources, attributes}`; an added agent the master no longer lists in
/// `slaves` (unreachable, removed, or not registered yet — `/master/state` cannot tell which)
/// is `{name, missing: true}`. Agents the script never added follow, named `agent-?`.
pub fn normalise(state: &MasterState, agents: &[AgentRef]) -> Value {
    let names = AgentNames::new(agents);
    json!({
        "agents": agents_section(state, agents, &names),
        "frameworks": frameworks_section(state, &names),
        "counts": counts_section(state),
    })
}

/// Mesos agent id → the script's name for it.
struct AgentNames<'a> {
    by_id: HashMap<&'a str, &'a str>,
}

impl<'a> AgentNames<'a> {
    fn new(agents: &'a [AgentRef]) -> Self {
        let by_id = agents
            .iter()
            .map(|agent| (agent.id.as_str(), agent.name.as_str()))
            .collect();
        AgentNames { by_id }
    }

    fn name_of(&self, agent_id: &str) -> &'a str {
        self.by_id.get(agent_id).copied().unwrap_or(UNKNOWN_AGENT)
    }

    fn knows(&self, agent_id: &str) -> bool {
        self.by_id.contains_key(agent_id)
    }
}

fn agents_section(state: &MasterState, agents: &[AgentRef], names: &AgentNames) -> Vec<Value> {
    let registered: HashMap<&str, &StateAgent> = state
        .slaves
        .iter()
        .map(|agent| (agent.id.as_str(), agent))
        .collect();

    let mut section: Vec<Value> = Vec::new();
    let mut listed_names: Vec<&str> = Vec::new();
    for added in agents {
        if listed_names.contains(&added.name.as_str()) {
            continue;
        }
        listed_names.push(&added.name);
        let current = agents
            .iter()
            .filter(|other| other.name == added.name)
            .find_map(|other| registered.get(other.id.as_str()));
        section.push(match current {
            Some(agent) => agent_entry(&added.name, agent),
            None => json!({ "name": added.name, "missing": true }),
        });
    }

    let strangers = state
        .slaves
        .iter()
        .filter(|agent| !names.knows(&agent.id))
        .map(|agent| ((), agent_entry(UNKNOWN_AGENT, agent)))
        .collect();
    section.extend(sorted_by_key_then_content(strangers));
    section
}

fn agent_entry(name: &str, agent: &StateAgent) -> Value {
    json!({
        "name": name,
        "active": agent.active,
        "resources": non_zero_resources(&agent.resources),
        "attributes": attributes(&agent.attributes),
    })
}

fn frameworks_section(state: &MasterState, names: &AgentNames) -> Vec<Value> {
    // `frameworks` holds every registered framework, connected or not; `completed_frameworks`
    // those torn down or removed.
    let registered = state.frameworks.iter().map(|f| (f, false));
    let completed = state.completed_frameworks.iter().map(|f| (f, true));
    let keyed = registered
        .chain(completed)
        .map(|(framework, completed)| {
            let key = (framework.name.clone(), role_sort_key(framework));
            (key, framework_entry(framework, completed, names))
        })
        .collect();
    sorted_by_key_then_content(keyed)
}

fn framework_entry(framework: &StateFramework, completed: bool, names: &AgentNames) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(framework.name));
    entry.insert("active".into(), json!(framework.active));
    if completed {
        entry.insert("completed".into(), json!(true));
    }
    // Mesos writes `roles` for MULTI_ROLE frameworks and `role` for the others; keep whichever
    // the framework has, so the snapshot shows how it registered.
    if let Some(roles) = &framework.roles {
        entry.insert("roles".into(), json!(roles));
    } else if let Some(role) = &framework.role {
        entry.insert("role".into(), json!(role));
    }
    for (key, tasks) in [
        ("tasks", &framework.tasks),
        ("completed_tasks", &framework.completed_tasks),
        ("unreachable_tasks", &framework.unreachable_tasks),
    ] {
        if !tasks.is_empty() {
            entry.insert(key.into(), Value::Array(task_list(tasks, names)));
        }
    }
    // Custom executors: id and agent only (their command holds paths that differ per machine).
    if !framework.executors.is_empty() {
        let keyed = framework
            .executors
            .iter()
            .map(|e| {
                let id = e["executor_id"].as_str().unwrap_or_default().to_string();
                let agent = names.name_of(e["slave_id"].as_str().unwrap_or_default());
                ((id.clone(), agent), json!({"id": id, "agent": agent}))
            })
            .collect();
        entry.insert(
            "executors".into(),
            Value::Array(sorted_by_key_then_content(keyed)),
        );
    }
    Value::Object(entry)
}

fn role_sort_key(framework: &StateFramework) -> String {
    match (&framework.roles, &framework.role) {
        (Some(roles), _) => roles.join(","),
        (None, Some(role)) => role.clone(),
        (None, None) => String::new(),
    }
}

fn task_list(tasks: &[StateTask], names: &AgentNames) -> Vec<Value> {
    let keyed = tasks
        .iter()
        .map(|task| {
            let agent = names.name_of(&task.slave_id);
            let key = (task.name.as_str(), agent, task.state.as_str());
            (key, task_entry(task, agent))
        })
        .collect();
    sorted_by_key_then_content(keyed)
}

fn task_entry(task: &StateTask, agent: &str) -> Value {
    let states: Vec<&str> = task.statuses.iter().map(|s| s.state.as_str()).collect();
    let mut entry = json!({
        "name": task.name,
        "state": task.state,
        "agent": agent,
        "resources": non_zero_resources(&task.resources),
        "states": states,
    });
    // Command tasks have none (`""`); a custom executor's task names it.
    if !task.executor_id.is_empty() {
        entry["executor"] = json!(task.executor_id);
    }
    entry
}

/// The master's own counters for agents (so the snapshot pins them too, not just a recount of
/// the agent list), framework counts, and tasks per state over every task list.
fn counts_section(state: &MasterState) -> Value {
    let all_frameworks = state.frameworks.iter().chain(&state.completed_frameworks);
    let mut tasks_by_state: BTreeMap<&str, u64> = BTreeMap::new();
    for framework in all_frameworks {
        let lists = [
            &framework.tasks,
            &framework.completed_tasks,
            &framework.unreachable_tasks,
        ];
        for task in lists.into_iter().flatten() {
            *tasks_by_state.entry(task.state.as_str()).or_default() += 1;
        }
    }
    let active_frameworks = state.frameworks.iter().filter(|f| f.active).count();
    json!({
        "agents_active": counter(state.activated_slaves),
        "agents_inactive": counter(state.deactivated_slaves),
        "agents_unreachable": counter(state.unreachable_slaves),
        "frameworks_active": active_frameworks,
        "frameworks_inactive": state.frameworks.len() - active_frameworks,
        "frameworks_completed": state.completed_frameworks.len(),
        "tasks": tasks_by_state,
    })
}

/// Mesos writes counters as doubles (`1.0`).
fn counter(value: f64) -> u64 {
    value.max(0.0).round() as u64
}

/// A legacy resources object without its empty entries (`gpus: 0`, `disk: 0`, no ports).
fn non_zero_resources(resources: &Value) -> Value {
    let Value::Object(entries) = resources else {
        return json!({});
    };
    let kept: Map<String, Value> = entries
        .iter()
        .filter(|(_, value)| !is_empty_resource(value))
        .map(|(name, value)| (name.clone(), integral_numbers(value)))
        .collect();
    Value::Object(kept)
}

fn is_empty_resource(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        // Ranges and sets are strings (`"[31000-32000]"`, `"{a,b}"`).
        Value::String(s) => matches!(s.trim(), "" | "[]" | "{}"),
        Value::Array(items) => items.is_empty(),
        Value::Object(entries) => entries.is_empty(),
        Value::Bool(_) => false,
    }
}

/// Legacy attributes are `{name: number|string}`; agents without any may write `null`.
fn attributes(attributes: &Value) -> Value {
    match attributes {
        Value::Object(_) => integral_numbers(attributes),
        _ => json!({}),
    }
}

/// Writes integral doubles as integers, recursively: `1.0` → `1`, `0.1` stays `0.1`.
fn integral_numbers(value: &Value) -> Value {
    // Beyond 2^53 a double no longer holds every integer, so converting would invent digits.
    const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= EXACT_LIMIT => json!(f as i64),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(integral_numbers).collect()),
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), integral_numbers(value)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// Entries with equal keys (two tasks both named `sleep` on agent-1, say) still need one order
/// whatever order the master listed them in: their whole content decides.
fn sorted_by_key_then_content<K: Ord>(mut keyed: Vec<(K, Value)>) -> Vec<Value> {
    keyed.sort_by(|(key_a, entry_a), (key_b, entry_b)| {
        key_a
            .cmp(key_b)
            .then_with(|| entry_a.to_string().cmp(&entry_b.to_string()))
    });
    keyed.into_iter().map(|(_, entry)| entry).collect()
}

#[cfg(test)]
#[path = "normalise_tests.rs"]
mod tests;
