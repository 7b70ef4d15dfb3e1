//! Framework lifecycle: SUBSCRIBE (new, failover, re-registration after a master restart),
//! disconnection and the failover timeout, TEARDOWN, SUPPRESS / REVIVE, UPDATE_FRAMEWORK.

use super::MasterShared;
use super::heartbeats;
use super::model::{EventSink, EventStream, Framework, MasterCore};
use crate::lite::protocol::{ShutdownFramework, ToAgent};
use crate::mesos::framework::{FrameworkInfo, capability};
use crate::mesos::ids::FrameworkId;
use crate::mesos::scheduler::Event;
use crate::mesos::task::{TaskState, TaskStatus, now_seconds, reason, source};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Why a FrameworkInfo is refused (SUBSCRIBE's ERROR event, UPDATE_FRAMEWORK's 400); the
/// text is Mesos's.
#[derive(Debug, thiserror::Error)]
pub(super) enum FrameworkInfoError {
    #[error("'FrameworkInfo.roles' is set but MULTI_ROLE capability is not")]
    RolesWithoutMultiRole,
    #[error("'FrameworkInfo.role' must not be set together with 'FrameworkInfo.roles'")]
    RoleAndRoles,
    #[error("Role '{0}' is invalid")]
    InvalidRole(String),
    #[error("Role '{0}' cannot contain whitespace or backslashes")]
    RoleCharacters(String),
    #[error("'FrameworkInfo.failover_timeout' must be a non-negative number")]
    FailoverTimeout,
}

/// Why UPDATE_FRAMEWORK is refused; the text is its 400's body, as Mesos's.
#[derive(Debug, thiserror::Error)]
pub(super) enum UpdateFrameworkError {
    #[error(transparent)]
    Info(#[from] FrameworkInfoError),
    #[error("'framework_info.id' must match 'framework_id'")]
    IdMismatch,
    #[error("Framework cannot be found")]
    UnknownFramework,
}

/// Role names as Mesos's `roles::validate` accepts them.
fn validate_role(role: &str) -> Result<(), FrameworkInfoError> {
    if role == "*" {
        return Ok(());
    }
    if role.is_empty() || role == "." || role == ".." || role.starts_with('-') {
        return Err(FrameworkInfoError::InvalidRole(role.into()));
    }
    if role
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(FrameworkInfoError::RoleCharacters(role.into()));
    }
    Ok(())
}

fn validate_framework_info(info: &FrameworkInfo) -> Result<(), FrameworkInfoError> {
    if !info.roles.is_empty() && !info.has_capability(capability::MULTI_ROLE) {
        return Err(FrameworkInfoError::RolesWithoutMultiRole);
    }
    if info.has_capability(capability::MULTI_ROLE) && info.role != "*" && !info.roles.is_empty() {
        return Err(FrameworkInfoError::RoleAndRoles);
    }
    for role in info.effective_roles() {
        validate_role(&role)?;
    }
    if info.failover_timeout < 0.0 || !info.failover_timeout.is_finite() {
        return Err(FrameworkInfoError::FailoverTimeout);
    }
    Ok(())
}

impl MasterShared {
    /// Handles SUBSCRIBE, and a driver's registration. On refusal the stream gets exactly one
    /// ERROR event and closes. A known framework id fails over to the new stream; a driver
    /// without `force` may only come back from the pid the framework had (a re-registration,
    /// as after a master failover): another pid is refused "Framework failed over", as
    /// Mesos's `_subscribe` does. Returns the framework's id, or `None` if refused.
    pub(super) fn subscribe(
        self: &Arc<Self>,
        mut info: FrameworkInfo,
        suppressed_roles: Vec<String>,
        force: bool,
        stream: EventStream,
    ) -> Option<FrameworkId> {
        let mut core = self.core();
        if let Err(invalid) = validate_framework_info(&info) {
            stream.send(&Event::error(invalid.to_string()));
            return None;
        }
        if let Some(id) = &info.id
            && core.is_completed_framework(id)
        {
            stream.send(&Event::error("Framework has been removed"));
            return None;
        }
        let reregistered: bool;
        // Whether this master learns of the framework now (FRAMEWORK_ADDED), or knew it
        // (FRAMEWORK_UPDATED), for operator subscribers.
        let added: bool;
        let now = now_seconds();
        let suppressed: BTreeSet<String> = suppressed_roles.into_iter().collect();
        let id = match info.id.clone() {
            Some(id) if core.frameworks.contains_key(&id) => {
                let framework = &core.frameworks[&id];
                let new_pid = stream.driver_pid();
                let same_driver = new_pid.is_some() && framework.pid.as_ref() == new_pid;
                if new_pid.is_some() && !force && framework.pid.is_some() && !same_driver {
                    tracing::warn!(
                        "refusing framework {id} from {}: it is registered at another pid and \
                         this registration does not take it over",
                        new_pid.map(ToString::to_string).unwrap_or_default()
                    );
                    stream.send(&Event::error("Framework failed over"));
                    return None;
                }
                // The same scheduler again: a re-registration. One coming back to a master that
                // learnt of its framework from the agents is answered FrameworkRegistered, as
                // Mesos does (MESOS-786: the driver turns it into `reregistered` itself).
                reregistered = same_driver && !framework.recovered && !force;
                added = false;
                self.remove_offers_where(&mut core, false, |o| o.framework_id == id);
                // This arm matched a known id, and removing offers keeps the framework.
                let framework = core.frameworks.get_mut(&id).expect("checked above");
                if let Some(old) = framework.stream.take()
                    && !same_driver
                {
                    old.send(&Event::error("Framework failed over"));
                }
                if let Some(timer) = framework.failover_timer.take() {
                    timer.cancel();
                }
                framework.info = info.clone();
                framework.active = true;
                framework.connected = true;
                framework.recovered = false;
                framework.reregistered_time = Some(now);
                framework.suppressed_roles = suppressed;
                tracing::info!("framework {id} ({}) failed over", info.name);
                id
            }
            existing => {
                // A known id the master has not seen: the scheduler re-registers after a
                // master restart, as Mesos allows.
                let resubscribed = existing.is_some();
                // A framework this master never knew (it was elected since): Mesos answers
                // FrameworkRegisteredMessage here too (MESOS-786).
                reregistered = false;
                added = true;
                let id = existing.unwrap_or_else(|| {
                    let id =
                        FrameworkId::new(format!("{}-{:04}", core.info.id, core.next_framework));
                    core.next_framework += 1;
                    id
                });
                info.id = Some(id.clone());
                core.frameworks.insert(
                    id.clone(),
                    Framework {
                        id: id.clone(),
                        info: info.clone(),
                        active: true,
                        connected: true,
                        recovered: false,
                        registered_time: now,
                        reregistered_time: resubscribed.then_some(now),
                        unregistered_time: 0.0,
                        stream: None,
                        pid: None,
                        tasks: Default::default(),
                        unreachable_tasks: Default::default(),
                        completed_tasks: Default::default(),
                        suppressed_roles: suppressed,
                        failover_timer: None,
                    },
                );
                tracing::info!("framework {id} ({}) subscribed", info.name);
                id
            }
        };
        let heartbeat = self.config.heartbeat_interval;
        stream.send_subscribed(
            id.clone(),
            heartbeat.as_secs_f64(),
            self.info.clone(),
            reregistered,
        );
        if let EventSink::Http(http) = &stream.sink
            && let Some(beat) = http.record(&Event::heartbeat())
        {
            let stopped = self.stopped.child_token();
            heartbeats::spawn(http.tx.downgrade(), beat, heartbeat, stopped);
        }
        // Known, or inserted above.
        if let Some(framework) = core.frameworks.get_mut(&id) {
            framework.info.id = Some(id.clone());
            framework.pid = stream.driver_pid().cloned();
            framework.stream = Some(stream);
        }
        self.publish_framework(&core, &id, added);
        self.allocate(&mut core);
        Some(id)
    }

    /// A driver's DeactivateFrameworkMessage (`abort()`): no more offers, its offers rescinded;
    /// it stays registered, as in Mesos.
    pub(super) fn deactivate(self: &Arc<Self>, id: &FrameworkId) {
        let mut core = self.core();
        let Some(framework) = core.frameworks.get_mut(id) else {
            return;
        };
        framework.active = false;
        tracing::info!("framework {id} deactivated");
        self.remove_offers_where(&mut core, true, |o| &o.framework_id == id);
        self.allocate(&mut core);
    }

    /// The subscription stream `stream_id` closed (the client went away). Mesos deactivates
    /// the framework and removes it once its failover timeout passes.
    pub(super) fn stream_closed(self: &Arc<Self>, framework_id: &FrameworkId, stream_id: &str) {
        let mut core = self.core();
        let Some(framework) = core.frameworks.get_mut(framework_id) else {
            return;
        };
        if framework.stream.as_ref().is_none_or(|s| s.id != stream_id) {
            return;
        }
        framework.stream = None;
        framework.connected = false;
        framework.active = false;
        framework.unregistered_time = now_seconds();
        let timeout = Duration::from_secs_f64(framework.info.failover_timeout.max(0.0));
        let timer = self.stopped.child_token();
        framework.failover_timer = Some(timer.clone());
        tracing::info!(
            "framework {framework_id} disconnected; removing it in {timeout:?} unless it resubscribes"
        );
        self.remove_offers_where(&mut core, false, |o| &o.framework_id == framework_id);
        let id = framework_id.clone();
        self.after(timeout, Some(timer), move |master| {
            let mut core = master.core();
            if core.frameworks.get(&id).is_some_and(|f| !f.connected) {
                tracing::info!("framework {id} failover timeout passed; removing it");
                master.remove_framework(&mut core, &id);
            }
        });
        self.allocate(&mut core);
    }

    /// Removes a framework (TEARDOWN, failover timeout, `/master/teardown`): its tasks are
    /// killed and kept as completed, the framework joins `completed_frameworks`.
    pub(super) fn remove_framework(self: &Arc<Self>, core: &mut MasterCore, id: &FrameworkId) {
        let Some(mut framework) = core.frameworks.remove(id) else {
            return;
        };
        self.remove_offers_where(core, false, |o| &o.framework_id == id);
        core.filters.retain(|f| &f.framework_id != id);
        let mut agents = BTreeSet::new();
        let max_completed = self.config.max_completed_tasks_per_framework;
        let tasks = std::mem::take(&mut framework.tasks);
        for (_, mut task) in tasks {
            agents.insert(task.agent_id().clone());
            if !task.state.is_terminal() {
                let mut status = TaskStatus::new(task.info.task_id.clone(), TaskState::Killed);
                status.source = Some(source::MASTER.into());
                status.reason = Some(reason::FRAMEWORK_REMOVED.into());
                status.message = Some("Framework removed".into());
                status.agent_id = Some(task.agent_id().clone());
                self.record_status(&mut task, status, TaskState::Killed);
                core.count_terminal(TaskState::Killed);
            }
            framework.push_completed(task, max_completed);
        }
        for (_, task) in std::mem::take(&mut framework.unreachable_tasks) {
            framework.push_completed(task, max_completed);
        }
        // Its executors go too (the agents shut them down); an agent running one but none of
        // its tasks any more must hear of the shutdown as well.
        for agent in core.agents.values_mut() {
            let before = agent.executors.len();
            agent.executors.retain(|(fw, _), _| fw != id);
            if agent.executors.len() != before {
                agents.insert(agent.id.clone());
            }
        }
        for agent_id in agents {
            if let Some(agent) = core.agents.get(&agent_id) {
                agent.send(ToAgent::ShutdownFramework(ShutdownFramework {
                    framework_id: id.clone(),
                }));
            }
        }
        if let Some(timer) = framework.failover_timer.take() {
            timer.cancel();
        }
        framework.stream = None;
        framework.active = false;
        framework.connected = false;
        framework.unregistered_time = now_seconds();
        tracing::info!("framework {id} ({}) removed", framework.info.name);
        self.publish_framework_removed(&framework.info);
        core.completed_frameworks.push_back(framework);
        while core.completed_frameworks.len() > self.config.max_completed_frameworks {
            core.completed_frameworks.pop_front();
        }
        self.allocate(core);
    }

    pub(super) fn teardown(self: &Arc<Self>, id: &FrameworkId) -> bool {
        let mut core = self.core();
        if !core.frameworks.contains_key(id) {
            return false;
        }
        self.remove_framework(&mut core, id);
        true
    }

    pub(super) fn suppress(self: &Arc<Self>, id: &FrameworkId, roles: Vec<String>) {
        let mut core = self.core();
        if let Some(f) = core.frameworks.get_mut(id) {
            let roles = if roles.is_empty() { f.roles() } else { roles };
            f.suppressed_roles.extend(roles);
        }
    }

    pub(super) fn revive(self: &Arc<Self>, id: &FrameworkId, roles: Vec<String>) {
        let mut core = self.core();
        if let Some(f) = core.frameworks.get_mut(id) {
            if roles.is_empty() {
                f.suppressed_roles.clear();
            } else {
                for r in &roles {
                    f.suppressed_roles.remove(r);
                }
            }
        }
        core.filters.retain(|f| &f.framework_id != id);
        self.allocate(&mut core);
    }

    pub(super) fn update_framework(
        self: &Arc<Self>,
        id: &FrameworkId,
        mut info: FrameworkInfo,
        suppressed_roles: Vec<String>,
    ) -> Result<(), UpdateFrameworkError> {
        validate_framework_info(&info)?;
        if info.id.as_ref() != Some(id) {
            return Err(UpdateFrameworkError::IdMismatch);
        }
        let mut core = self.core();
        let Some(f) = core.frameworks.get_mut(id) else {
            return Err(UpdateFrameworkError::UnknownFramework);
        };
        info.id = Some(id.clone());
        f.info = info;
        f.suppressed_roles = suppressed_roles.into_iter().collect();
        self.publish_framework(&core, id, false);
        self.allocate(&mut core);
        Ok(())
    }
}
