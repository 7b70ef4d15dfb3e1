//! Renders the master's registry as Mesos's JSON: the legacy `/master/*` shapes (section 5)
//! and the v1 operator payloads (section 4). Read-only.

use super::MasterShared;
use super::model::{Agent, AgentUsage, Framework, MasterCore, Task};
use crate::mesos::attributes::attributes_to_legacy_object;
use crate::mesos::executor::ExecutorInfo;
use crate::mesos::framework::capability;
use crate::mesos::ids::AgentId;
use crate::mesos::resources::Resources;
use crate::mesos::state::{
    LeaderInfo, LegacyLabel, MasterState, StateAgent, StateFramework, StateOffer, StateTask,
    StateTaskStatus, VersionInfo,
};
use crate::mesos::task::TaskState;
use serde_json::{Map, Value, json};

pub const BUILD_USER: &str = "mmrun";

pub fn version_info() -> VersionInfo {
    VersionInfo {
        version: crate::mesos::MESOS_VERSION.into(),
        build_date: "2026-01-01 00:00:00".into(),
        build_time: 1767225600.0,
        build_user: BUILD_USER.into(),
    }
}

fn legacy_labels(labels: &Option<crate::mesos::task::Labels>) -> Option<Vec<LegacyLabel>> {
    labels.as_ref().filter(|l| !l.labels.is_empty()).map(|l| {
        l.labels
            .iter()
            .map(|x| LegacyLabel {
                key: x.key.clone(),
                value: x.value.clone(),
            })
            .collect()
    })
}

pub fn state_task(task: &Task) -> StateTask {
    StateTask {
        id: task.info.task_id.value.clone(),
        name: task.info.name.clone(),
        framework_id: task.framework_id.value.clone(),
        executor_id: task
            .info
            .executor
            .as_ref()
            .map(|e| e.executor_id.value.clone())
            .unwrap_or_default(),
        slave_id: task.agent_id().value.clone(),
        state: task.state.name().into(),
        resources: task.resources().to_legacy_object(),
        role: Some(task.role.clone()),
        statuses: task.statuses.iter().map(StateTaskStatus::from).collect(),
        user: task.user.clone(),
        labels: legacy_labels(&task.info.labels),
        container: task.info.container.clone(),
        discovery: task.info.discovery.clone(),
    }
}

fn state_offer(core: &MasterCore, id: &crate::mesos::ids::OfferId) -> Option<StateOffer> {
    let o = core.offers.get(id)?;
    Some(StateOffer {
        id: o.id.value.clone(),
        framework_id: o.framework_id.value.clone(),
        allocation_info: json!({"role": o.role}),
        slave_id: o.agent_id.value.clone(),
        resources: o.resources.to_legacy_object(),
    })
}

pub fn state_framework(core: &MasterCore, f: &Framework) -> StateFramework {
    let used = core.used_by(f);
    let offered = core.offered_to(&f.id);
    let multi_role = f.info.has_capability(capability::MULTI_ROLE);
    let offers = core
        .offers
        .values()
        .filter(|o| o.framework_id == f.id)
        .filter_map(|o| state_offer(core, &o.id))
        .collect();
    StateFramework {
        id: f.id.value.clone(),
        name: f.info.name.clone(),
        pid: f.pid.as_ref().map(|pid| pid.to_string()),
        used_resources: used.to_legacy_object(),
        offered_resources: offered.to_legacy_object(),
        resources: used.add(&offered).to_legacy_object(),
        capabilities: f.info.capabilities.iter().map(|c| c.kind.clone()).collect(),
        hostname: f.info.hostname.clone().unwrap_or_default(),
        webui_url: f.info.webui_url.clone().unwrap_or_default(),
        active: f.active,
        connected: f.connected,
        recovered: f.recovered,
        user: f.info.user.clone(),
        failover_timeout: f.info.failover_timeout,
        checkpoint: f.info.checkpoint,
        registered_time: f.registered_time,
        unregistered_time: f.unregistered_time,
        reregistered_time: f.reregistered_time,
        principal: f.info.principal.clone(),
        role: (!multi_role).then(|| f.info.role.clone()),
        roles: multi_role.then(|| f.info.effective_roles()),
        tasks: f.tasks.values().map(state_task).collect(),
        unreachable_tasks: f.unreachable_tasks.values().map(state_task).collect(),
        completed_tasks: f.completed_tasks.iter().map(state_task).collect(),
        offers,
        executors: core
            .agents
            .values()
            .flat_map(|a| {
                a.executors
                    .iter()
                    .filter(|((fw, _), _)| fw == &f.id)
                    .map(|(_, e)| state_executor(e, &a.id))
            })
            .collect(),
        labels: legacy_labels(&f.info.labels),
    }
}

/// An executor in `/master/state` (Mesos's `json(ExecutorInfo)` plus `slave_id`).
pub fn state_executor(e: &ExecutorInfo, agent_id: &AgentId) -> Value {
    let resources = Resources::new(e.resources.iter().cloned());
    let mut v = json!({
        "executor_id": e.executor_id.value,
        "name": e.name.clone().unwrap_or_default(),
        "framework_id": e.framework_id.as_ref().map(|f| f.value.clone()).unwrap_or_default(),
        "command": e.command,
        "resources": resources.to_legacy_object(),
        "slave_id": agent_id.value,
    });
    if let Some(role) = e.resources.first().and_then(|r| r.allocation_info.as_ref()) {
        v["role"] = json!(role.role);
    }
    if let Some(labels) = legacy_labels(&e.labels) {
        v["labels"] = json!(labels);
    }
    if let Some(kind) = e.kind {
        v["type"] = json!(kind);
    }
    v
}

pub fn state_agent(usage: &AgentUsage, a: &Agent) -> StateAgent {
    StateAgent {
        id: a.id.value.clone(),
        hostname: a.hostname.clone(),
        port: a.port,
        attributes: attributes_to_legacy_object(&a.attributes),
        pid: a.pid(),
        registered_time: a.registered_time,
        reregistered_time: a.reregistered_time,
        resources: a.total.to_legacy_object(),
        used_resources: usage.used_on(&a.id).to_legacy_object(),
        offered_resources: usage.offered_on(&a.id).to_legacy_object(),
        unreserved_resources: a.total.unreserved().to_legacy_object(),
        reserved_resources: a.total.reserved_legacy_objects(),
        active: a.active,
        deactivated: !a.active,
        version: a.version.clone(),
        capabilities: AGENT_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
    }
}

/// What an mmrun agent can do, reported by the legacy `/master/state` and by the v1 operator
/// API alike (Mesos fills both from the agent's registration).
pub(super) const AGENT_CAPABILITIES: [&str; 3] =
    ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"];

impl MasterShared {
    pub(super) fn master_state(&self) -> MasterState {
        let leader = self.leader_info();
        let core = self.core();
        let v = version_info();
        let active = core.agents.values().filter(|a| a.active).count();
        MasterState {
            version: v.version,
            build_date: v.build_date,
            build_time: v.build_time,
            build_user: v.build_user,
            start_time: self.start_time,
            elected_time: self.elected_time(),
            id: self.info.id.clone(),
            pid: self.info.pid.clone(),
            hostname: self.info.hostname.clone(),
            capabilities: super::MASTER_CAPABILITIES
                .iter()
                .map(|c| c.to_string())
                .collect(),
            activated_slaves: active as f64,
            deactivated_slaves: (core.agents.len() - active) as f64,
            unreachable_slaves: core.unreachable_agents.len() as f64,
            leader: leader.as_ref().map(|l| l.pid.clone()),
            leader_info: leader.map(|l| LeaderInfo {
                id: l.id,
                pid: l.pid,
                port: l.port,
                hostname: l.hostname,
            }),
            cluster: self.config.cluster.clone(),
            flags: self.config.flags.clone(),
            slaves: {
                let usage = core.usage_per_agent();
                core.agents
                    .values()
                    .map(|a| state_agent(&usage, a))
                    .collect()
            },
            recovered_slaves: vec![],
            frameworks: core
                .frameworks
                .values()
                .map(|f| state_framework(&core, f))
                .collect(),
            completed_frameworks: core
                .completed_frameworks
                .iter()
                .map(|f| state_framework(&core, f))
                .collect(),
            orphan_tasks: vec![],
            unregistered_frameworks: vec![],
        }
    }

    pub(super) fn metrics(&self) -> Value {
        let core = self.core();
        let mut m = Map::new();
        let mut put = |k: &str, v: f64| {
            m.insert(k.into(), json!(v));
        };
        let uptime = crate::mesos::task::now_seconds() - self.start_time;
        let elected = matches!(self.leadership(), super::Leadership::Leading);
        put("master/elected", if elected { 1.0 } else { 0.0 });
        put("master/uptime_secs", uptime);
        let active = core.agents.values().filter(|a| a.active).count() as f64;
        let connected = core.agents.values().filter(|a| a.connected).count() as f64;
        put("master/slaves_active", active);
        put("master/slaves_inactive", core.agents.len() as f64 - active);
        put("master/slaves_connected", connected);
        put(
            "master/slaves_disconnected",
            core.agents.len() as f64 - connected,
        );
        put(
            "master/slaves_unreachable",
            core.unreachable_agents.len() as f64,
        );
        let fw_active = core.frameworks.values().filter(|f| f.active).count() as f64;
        let fw_connected = core.frameworks.values().filter(|f| f.connected).count() as f64;
        put("master/frameworks_active", fw_active);
        put(
            "master/frameworks_inactive",
            core.frameworks.len() as f64 - fw_active,
        );
        put("master/frameworks_connected", fw_connected);
        put(
            "master/frameworks_disconnected",
            core.frameworks.len() as f64 - fw_connected,
        );
        for state in TaskState::ALL {
            let value = if state.is_terminal() {
                core.terminal_counts.get(&state).copied().unwrap_or(0) as f64
            } else {
                core.frameworks
                    .values()
                    .flat_map(|f| f.tasks.values().chain(f.unreachable_tasks.values()))
                    .filter(|t| t.state == state)
                    .count() as f64
            };
            put(&format!("master/tasks_{}", state.metric_name()), value);
        }
        put("master/outstanding_offers", core.offers.len() as f64);
        let total = core
            .agents
            .values()
            .fold(Resources::default(), |acc, a| acc.add(&a.total));
        let usage = core.usage_per_agent();
        let used = core
            .agents
            .keys()
            .fold(Resources::default(), |acc, id| acc.add(&usage.used_on(id)));
        for name in ["cpus", "mem", "disk", "gpus"] {
            let (t, u) = (total.scalar(name), used.scalar(name));
            put(&format!("master/{name}_total"), t);
            put(&format!("master/{name}_used"), u);
            put(
                &format!("master/{name}_percent"),
                if t > 0.0 { u / t } else { 0.0 },
            );
        }
        put("master/event_queue_messages", 0.0);
        put("master/event_queue_http_requests", 0.0);
        put("registrar/state_fetch_ms", 0.0);
        Value::Object(m)
    }
}
