//! Agent membership: registration and re-registration (rebuilding the master's view from the
//! agent's report, as after a master restart). The link to a registered agent and its pings
//! are in `agent_link`; an agent leaving (disconnected, unreachable, removed) in
//! `agent_removal`.

use super::MasterShared;
use super::model::{Agent, AgentAddress, Framework, MasterCore, Task};
use crate::lite::protocol::{AgentRegistered, KillTask, RegisterAgent, ShutdownFramework, ToAgent};
use crate::mesos::ids::{AgentId, FrameworkId, TaskId};
use crate::mesos::resources::Resources;
use crate::mesos::scheduler::Event;
use crate::mesos::task::{TaskState, TaskStatus, now_seconds, reason, source};
use crate::mesos::values::InvalidValue;
use std::collections::BTreeSet;
use std::sync::Arc;

impl MasterShared {
    pub(super) fn register_agent(
        self: &Arc<Self>,
        msg: RegisterAgent,
    ) -> Result<AgentRegistered, InvalidValue> {
        let total = Resources::new(msg.resources.iter().cloned());
        for r in total.iter() {
            r.validate()?;
        }
        let mut core = self.core();
        let now = now_seconds();
        let (id, reregistered) = match msg.agent_id.clone() {
            Some(id) => (id, true),
            None => {
                let id = AgentId::new(format!("{}-S{}", core.info.id, core.next_agent));
                core.next_agent += 1;
                (id, false)
            }
        };
        if !reregistered {
            // As Mesos, which also knows agents by address: a new agent where a registered one
            // listens means that one's process is gone (restarted without its id). Remove it
            // now; its pings would otherwise reach the new process and keep it registered.
            let ghosts = core.agents_at(&AgentAddress {
                ip: msg.ip.clone(),
                port: msg.port,
                process: msg.process.clone(),
            });
            for ghost in ghosts {
                tracing::info!(
                    "removing agent {ghost}: a new agent registered at {}@{}:{}",
                    msg.process,
                    msg.ip,
                    msg.port
                );
                self.remove_agent(
                    &mut core,
                    &ghost,
                    "a new agent registered at the same address",
                );
            }
        }
        let previous = core.agents.remove(&id);
        let was_unreachable = core.unreachable_agents.remove(&id).is_some();
        let registered_time = previous.as_ref().map_or(now, |a| a.registered_time);
        // Offers on the agent's old incarnation are void.
        self.remove_offers_where(&mut core, true, |o| o.agent_id == id);
        let link = self.open_link(&id, &msg);
        let agent = Agent {
            id: id.clone(),
            hostname: msg.hostname.clone(),
            ip: msg.ip.clone(),
            port: msg.port,
            process: msg.process.clone(),
            simulated: msg.simulated,
            total,
            attributes: msg.attributes.clone(),
            version: msg.version.clone(),
            registered_time,
            reregistered_time: reregistered.then_some(now),
            active: true,
            connected: true,
            link,
            // A re-registering agent reports its executors; those of frameworks that are gone
            // are shut down by the ShutdownFramework sent for their tasks.
            executors: msg
                .executors
                .iter()
                .filter(|e| !core.is_completed_framework(&e.framework_id))
                .map(|e| {
                    (
                        (e.framework_id.clone(), e.info.executor_id.clone()),
                        e.info.clone(),
                    )
                })
                .collect(),
        };
        self.agent_pids.set(&id, agent.pid());
        core.insert_agent(agent);
        if reregistered {
            self.reconcile_reregistered_agent(&mut core, &id, &msg, was_unreachable);
        }
        if previous.is_none() {
            // New to this master: registered, re-registered after a master failover, or back
            // from unreachable. As Mesos's `addSlave` orders them: after the FRAMEWORK_ADDED
            // and TASK_ADDED of what the agent brought back.
            self.publish_agent_added(&core, &id);
        }
        tracing::info!(
            "agent {id} at {}:{} {}",
            msg.ip,
            msg.port,
            if reregistered {
                "re-registered"
            } else {
                "registered"
            }
        );
        self.allocate(&mut core);
        Ok(AgentRegistered {
            agent_id: id,
            master_info: self.info.clone(),
            ping_timeout_secs: self.config.agent_ping_timeout.as_secs_f64(),
            max_ping_timeouts: self.config.max_agent_ping_timeouts,
        })
    }

    /// Rebuilds the master's view of a re-registering agent from what it reports.
    fn reconcile_reregistered_agent(
        self: &Arc<Self>,
        core: &mut MasterCore,
        agent_id: &AgentId,
        msg: &RegisterAgent,
        was_unreachable: bool,
    ) {
        let agent_send = |core: &MasterCore, m: ToAgent| {
            if let Some(a) = core.agents.get(agent_id) {
                a.send(m);
            }
        };
        // Executors of frameworks that are gone (possibly without tasks any more) stop too.
        let gone_frameworks: BTreeSet<&FrameworkId> = msg
            .executors
            .iter()
            .map(|e| &e.framework_id)
            .filter(|fw| core.is_completed_framework(fw))
            .collect();
        for fw_id in gone_frameworks {
            agent_send(
                core,
                ToAgent::ShutdownFramework(ShutdownFramework {
                    framework_id: fw_id.clone(),
                }),
            );
        }
        for reported in &msg.tasks {
            let fw_id = &reported.framework_id;
            let known = core.frameworks.contains_key(fw_id);
            let info = msg
                .frameworks
                .iter()
                .find(|f| f.id.as_ref() == Some(fw_id))
                .cloned();
            let framework = core.frameworks.get(fw_id);
            let task_id = &reported.task.task_id;
            let verdict = judge_reported_task(ReportedTask {
                framework_completed: core.is_completed_framework(fw_id),
                framework_known: known || info.is_some(),
                held_on_this_agent: framework.and_then(|f| {
                    f.tasks
                        .get(task_id)
                        .or_else(|| f.unreachable_tasks.get(task_id))
                        .map(|t| t.agent_id() == agent_id)
                }),
                completed_here: framework
                    .is_some_and(|f| f.completed_tasks.iter().any(|t| &t.info.task_id == task_id)),
                held_as_unreachable: framework
                    .is_some_and(|f| f.unreachable_tasks.contains_key(task_id)),
                partition_aware: framework.is_some_and(|f| f.is_partition_aware()),
            });
            match verdict {
                Verdict::ShutdownFramework => {
                    agent_send(
                        core,
                        ToAgent::ShutdownFramework(ShutdownFramework {
                            framework_id: fw_id.clone(),
                        }),
                    );
                    continue;
                }
                Verdict::Ignore => continue,
                Verdict::KillStale => {
                    // A stale copy: the framework's task of that id is on another agent, or
                    // the master already ended it (e.g. TASK_LOST when this agent
                    // disconnected). It must not come back, nor overwrite the real one.
                    let kill = ToAgent::KillTask(KillTask {
                        framework_id: fw_id.clone(),
                        task_id: task_id.clone(),
                        kill_policy: None,
                    });
                    agent_send(core, kill);
                    continue;
                }
                Verdict::LostAlready | Verdict::Adopt => {}
            }
            if let (false, Some(info)) = (known, info) {
                core.frameworks.insert(
                    fw_id.clone(),
                    Framework {
                        id: fw_id.clone(),
                        info,
                        active: false,
                        connected: false,
                        recovered: true,
                        registered_time: now_seconds(),
                        reregistered_time: None,
                        unregistered_time: 0.0,
                        stream: None,
                        pid: None,
                        tasks: Default::default(),
                        unreachable_tasks: Default::default(),
                        completed_tasks: Default::default(),
                        suppressed_roles: Default::default(),
                        failover_timer: None,
                    },
                );
                // Before its tasks, so subscribers know the framework their TASK_ADDED name
                // (as Mesos orders them).
                self.publish_framework(core, fw_id, true);
            }
            // Known, or inserted above from the agent's report.
            let Some(framework) = core.frameworks.get_mut(fw_id) else {
                continue;
            };
            if verdict == Verdict::LostAlready {
                // Mesos shuts down non-partition-aware frameworks' tasks on an agent that
                // comes back: the framework was already told they were lost. The agent sends
                // nothing more for a framework it shut down, so the task completes here, lost.
                if let Some(task) = framework.unreachable_tasks.remove(task_id) {
                    framework.push_completed(task, self.config.max_completed_tasks_per_framework);
                }
                let shutdown = ToAgent::ShutdownFramework(ShutdownFramework {
                    framework_id: fw_id.clone(),
                });
                agent_send(core, shutdown);
                continue;
            }
            let back = framework.unreachable_tasks.remove(task_id).map(|mut task| {
                // As in Mesos, which replaces its copy of a returning agent's tasks with the
                // ones the agent reports: the task's history is the agent's again.
                // TASK_UNREACHABLE was the master's verdict, never a state of the task.
                task.statuses = reported.statuses.clone();
                task.status_update_state = reported.statuses.last().map(|s| s.state);
                task.status_update_uuid = reported.statuses.last().and_then(|s| s.uuid.clone());
                task
            });
            // A task new to the master, or back from unreachable, is added (TASK_ADDED).
            let was_held = back.is_none() && framework.tasks.contains_key(task_id);
            let existing = back.or_else(|| framework.tasks.remove(task_id));
            let mut task = existing.unwrap_or_else(|| Task {
                info: reported.task.clone(),
                framework_id: fw_id.clone(),
                state: reported.state,
                statuses: reported.statuses.clone(),
                status_update_state: reported.statuses.last().map(|s| s.state),
                status_update_uuid: reported.statuses.last().and_then(|s| s.uuid.clone()),
                role: reported
                    .task
                    .resources
                    .first()
                    .and_then(|r| r.allocation_info.as_ref())
                    .map_or_else(|| framework.info.role.clone(), |a| a.role.clone()),
                user: Some(framework.info.user.clone()),
            });
            task.state = reported.state;
            framework.tasks.insert(task_id.clone(), task);
            if !was_held {
                self.publish_task_added(core, fw_id, task_id);
            }
        }
        // Tasks the master placed on this agent that it no longer has (it restarted): running
        // ones, and those held as unreachable, which would otherwise stay unreachable forever.
        // Task ids are unique per framework only: match on both.
        let reported: BTreeSet<(&FrameworkId, &TaskId)> = msg
            .tasks
            .iter()
            .map(|t| (&t.framework_id, &t.task.task_id))
            .collect();
        let mut gone = Vec::new();
        for f in core.frameworks.values() {
            let missing = |t: &&Task| {
                t.agent_id() == agent_id && !reported.contains(&(&f.id, &t.info.task_id))
            };
            for t in f.tasks.values().filter(missing) {
                let launching = t.state == TaskState::Staging;
                if !t.state.is_terminal() && !launching {
                    gone.push((f.id.clone(), t.info.task_id.clone(), false));
                }
            }
            for t in f.unreachable_tasks.values().filter(missing) {
                gone.push((f.id.clone(), t.info.task_id.clone(), true));
            }
        }
        let max_completed = self.config.max_completed_tasks_per_framework;
        for (fw_id, task_id, was_unreachable_task) in gone {
            let Some(f) = core.frameworks.get_mut(&fw_id) else {
                continue;
            };
            let state = if f.is_partition_aware() {
                TaskState::Gone
            } else {
                TaskState::Lost
            };
            let held = if was_unreachable_task {
                &mut f.unreachable_tasks
            } else {
                &mut f.tasks
            };
            let Some(mut task) = held.remove(&task_id) else {
                continue;
            };
            // A non-partition-aware framework's unreachable task is TASK_LOST already, and
            // counted in the metrics as such.
            let counted = task.state.is_terminal();
            let mut status = TaskStatus::new(task_id, state);
            status.source = Some(source::MASTER.into());
            status.reason = Some(reason::AGENT_RESTARTED.into());
            status.message = Some("Task was not found on the re-registered agent".into());
            status.agent_id = Some(agent_id.clone());
            f.send(&Event::update(status.clone()));
            self.record_status(&mut task, status, state);
            f.push_completed(task, max_completed);
            if !counted {
                core.count_terminal(state);
            }
        }
        if was_unreachable {
            tracing::info!("agent {agent_id} came back after being marked unreachable");
        }
    }
}

/// What the master knows of a task a re-registering agent reports.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReportedTask {
    /// Its framework was torn down or removed.
    pub framework_completed: bool,
    /// The master knows the framework, or the agent reported its FrameworkInfo.
    pub framework_known: bool,
    /// `Some(true)` when the master holds the task (running or unreachable) on this agent,
    /// `Some(false)` on another agent, `None` when it does not hold it.
    pub held_on_this_agent: Option<bool>,
    /// The master already ended a task of that id.
    pub completed_here: bool,
    /// The master holds it as unreachable (the agent was marked unreachable).
    pub held_as_unreachable: bool,
    pub partition_aware: bool,
}

/// What the master does with a reported task, as Mesos's master does on re-registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Its framework is gone: the agent shuts the framework's executors and tasks down.
    ShutdownFramework,
    /// A framework the master cannot know (no FrameworkInfo): left alone.
    Ignore,
    /// A stale copy (the task is on another agent, or already ended): killed on the agent.
    KillStale,
    /// The framework, not partition-aware, was told the task was lost: it completes as lost
    /// and the agent shuts the framework down there.
    LostAlready,
    /// The task is the master's again, with the agent's history.
    Adopt,
}

pub(super) fn judge_reported_task(t: ReportedTask) -> Verdict {
    if t.framework_completed {
        Verdict::ShutdownFramework
    } else if !t.framework_known {
        Verdict::Ignore
    } else if t.held_on_this_agent == Some(false)
        || (t.held_on_this_agent.is_none() && t.completed_here)
    {
        Verdict::KillStale
    } else if t.held_as_unreachable && !t.partition_aware {
        Verdict::LostAlready
    } else {
        Verdict::Adopt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every branch of the re-registration verdict, as a table.
    #[test]
    fn reported_tasks_are_judged_as_mesos_judges_them() {
        let known = ReportedTask {
            framework_known: true,
            ..ReportedTask::default()
        };
        let cases = [
            (
                "framework torn down",
                ReportedTask {
                    framework_completed: true,
                    ..known
                },
                Verdict::ShutdownFramework,
            ),
            (
                "framework never seen",
                ReportedTask::default(),
                Verdict::Ignore,
            ),
            ("unknown task of a known framework", known, Verdict::Adopt),
            (
                "held here",
                ReportedTask {
                    held_on_this_agent: Some(true),
                    ..known
                },
                Verdict::Adopt,
            ),
            (
                "held on another agent",
                ReportedTask {
                    held_on_this_agent: Some(false),
                    ..known
                },
                Verdict::KillStale,
            ),
            (
                "already ended by the master",
                ReportedTask {
                    completed_here: true,
                    ..known
                },
                Verdict::KillStale,
            ),
            (
                "ended once, running here again under the same id",
                ReportedTask {
                    completed_here: true,
                    held_on_this_agent: Some(true),
                    ..known
                },
                Verdict::Adopt,
            ),
            (
                "unreachable, framework not partition-aware",
                ReportedTask {
                    held_on_this_agent: Some(true),
                    held_as_unreachable: true,
                    ..known
                },
                Verdict::LostAlready,
            ),
            (
                "unreachable, partition-aware framework",
                ReportedTask {
                    held_on_this_agent: Some(true),
                    held_as_unreachable: true,
                    partition_aware: true,
                    ..known
                },
                Verdict::Adopt,
            ),
        ];
        for (case, facts, expected) in cases {
            assert_eq!(judge_reported_task(facts), expected, "{case}");
        }
    }
}
