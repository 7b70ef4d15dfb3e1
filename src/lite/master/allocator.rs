//! Offers. Allocation is event-driven: it runs whenever resources may have become free (an agent
//! registers, a task ends, an offer is declined or a filter expires, a framework subscribes or
//! revives), never on a fixed tick. Each agent's free resources go to the framework with the
//! lowest dominant share (DRF, as Mesos's hierarchical allocator does), so frameworks share
//! agents fairly: all of what its role may use (unreserved resources and its role's
//! reservations); reservations for other roles go on to frameworks of those roles.

use super::MasterShared;
use super::model::{MasterCore, OfferFilter, OfferRecord, Task};
use super::task_validation::validate_task;
use crate::lite::protocol::{RunTask, ToAgent};
use crate::mesos::framework::capability;
use crate::mesos::ids::{AgentId, FrameworkId, OfferId};
use crate::mesos::resources::{AllocationInfo, Resources};
use crate::mesos::scheduler::{Accept, Decline, Event, Filters, Offer, Url, UrlAddress};
use crate::mesos::task::{TaskInfo, TaskState, TaskStatus, reason, source};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Mesos offers nothing smaller than this (`MIN_CPUS` / `MIN_MEM` in the allocator).
fn allocatable(r: &Resources) -> bool {
    r.scalar("cpus") >= 0.01 || r.scalar("mem") >= 32.0
}

fn dominant_share(allocated: &Resources, total: &Resources) -> f64 {
    ["cpus", "mem", "disk", "gpus"]
        .iter()
        .filter(|name| total.scalar(name) > 0.0)
        .map(|name| allocated.scalar(name) / total.scalar(name))
        .fold(0.0, f64::max)
}

/// A framework that wants offers, as the allocator sees it.
#[derive(Clone, Debug)]
pub(super) struct Candidate {
    pub id: FrameworkId,
    /// Its roles that are not suppressed, in the order it gave them.
    pub roles: Vec<String>,
    /// What it holds already: its tasks' resources and its outstanding offers.
    pub allocated: Resources,
}

/// One offer to make: `resources` of `agent_id` to `framework_id` for `role`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Grant {
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub role: String,
    pub resources: Resources,
}

/// Decides the offers of one allocation pass, with no side effect (so it is tested on its own):
/// for each agent (in order) with `available` resources, the candidate with the lowest dominant
/// share of `cluster_total` (ties: the lower id) gets what its role may use — unreserved and
/// its role's reservations — and what is left (other roles' reservations) goes on to the next;
/// each (framework, role) gets at most one offer per agent, nobody is offered less than Mesos's
/// minimum, and `filtered` (framework, agent) pairs (declines with a filter) get nothing.
pub(super) fn plan_offers(
    candidates: &[Candidate],
    agents: &[(AgentId, Resources)],
    cluster_total: &Resources,
    filtered: &BTreeSet<(FrameworkId, AgentId)>,
) -> Vec<Grant> {
    let mut allocations: BTreeMap<&FrameworkId, Resources> = candidates
        .iter()
        .map(|c| (&c.id, c.allocated.clone()))
        .collect();
    let mut grants = Vec::new();
    for (agent_id, available) in agents {
        let mut available = available.clone();
        let mut served: BTreeSet<(&FrameworkId, &String)> = BTreeSet::new();
        while allocatable(&available) {
            let Some((candidate, role, usable)) = candidates
                .iter()
                .filter(|c| !filtered.contains(&(c.id.clone(), agent_id.clone())))
                .filter_map(|c| {
                    c.roles
                        .iter()
                        .filter(|r| !served.contains(&(&c.id, *r)))
                        .map(|r| (available.usable_by(r), r))
                        .find(|(usable, _)| allocatable(usable))
                        .map(|(usable, role)| (c, role, usable))
                })
                .min_by(|(a, _, _), (b, _, _)| {
                    dominant_share(&allocations[&a.id], cluster_total)
                        .total_cmp(&dominant_share(&allocations[&b.id], cluster_total))
                        .then_with(|| a.id.cmp(&b.id))
                })
            else {
                break;
            };
            served.insert((&candidate.id, role));
            available = available.subtract(&usable);
            if let Some(a) = allocations.get_mut(&candidate.id) {
                *a = a.add(&usable);
            }
            grants.push(Grant {
                framework_id: candidate.id.clone(),
                agent_id: agent_id.clone(),
                role: role.clone(),
                resources: usable,
            });
        }
    }
    grants
}

impl MasterShared {
    /// Asks for an allocation pass. Passes are coalesced, as Mesos's allocator batches them:
    /// one runs as soon as the caller's change is done (after the current handler lets go of
    /// the registry), and a burst of changes — ten thousand agents registering, a framework
    /// declining thousands of offers one call at a time — makes one pass, not one each. A pass
    /// waits at least four times as long as the previous one took (at most a second, Mesos's
    /// allocation interval), so on a small cluster offers follow at once and on a data-center
    /// sized one allocating never takes more than a fifth of the master's time.
    pub(super) fn allocate(self: &Arc<Self>, core: &mut MasterCore) {
        core.allocation.pending = true;
        if core.allocation.scheduled || self.stopped.is_cancelled() {
            return;
        }
        core.allocation.scheduled = true;
        let wait = core
            .allocation
            .last_cost
            .saturating_mul(4)
            .min(std::time::Duration::from_secs(1));
        let master = self.clone();
        crate::node_log::spawn(async move {
            if wait < std::time::Duration::from_millis(1) {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(wait).await;
            }
            let mut core = master.core();
            core.allocation.scheduled = false;
            if !std::mem::take(&mut core.allocation.pending) || master.stopped.is_cancelled() {
                return;
            }
            let started = Instant::now();
            master.allocate_now(&mut core);
            core.allocation.last_cost = started.elapsed();
        });
    }

    /// One allocation pass: [`plan_offers`] over the registry, then the offers made and sent.
    /// Linear in agents, tasks and offers: what each agent holds is summed once.
    fn allocate_now(self: &Arc<Self>, core: &mut MasterCore) {
        let now = Instant::now();
        core.filters.retain(|f| f.until > now);
        let candidates: Vec<Candidate> = core
            .frameworks
            .values()
            .filter(|f| f.wants_offers())
            .map(|f| Candidate {
                id: f.id.clone(),
                roles: f
                    .roles()
                    .into_iter()
                    .filter(|r| !f.suppressed_roles.contains(r))
                    .collect(),
                allocated: core.used_by(f).add(&core.offered_to(&f.id)),
            })
            .collect();
        if candidates.is_empty() {
            return;
        }
        let active: Vec<&AgentId> = core
            .agents
            .values()
            .filter(|a| a.active)
            .map(|a| &a.id)
            .collect();
        let cluster_total = active.iter().fold(Resources::default(), |acc, id| {
            acc.add(&core.agents[*id].total)
        });
        let held = core.held_per_agent();
        let agents: Vec<(AgentId, Resources)> = active
            .iter()
            .map(|id| {
                let total = &core.agents[*id].total;
                let available = match held.get(*id) {
                    Some(held) => total.subtract(held),
                    None => total.clone(),
                };
                ((*id).clone(), available)
            })
            .collect();
        let filtered: BTreeSet<(FrameworkId, AgentId)> = core
            .filters
            .iter()
            .map(|f| (f.framework_id.clone(), f.agent_id.clone()))
            .collect();
        let mut batches: BTreeMap<FrameworkId, Vec<Offer>> = BTreeMap::new();
        for grant in plan_offers(&candidates, &agents, &cluster_total, &filtered) {
            let offer = self.make_offer(core, grant);
            batches
                .entry(offer.framework_id.clone())
                .or_default()
                .push(offer);
        }
        for (framework_id, offers) in batches {
            tracing::debug!("offering {} offer(s) to {framework_id}", offers.len());
            core.frameworks[&framework_id].send(&Event::offers(offers));
        }
    }

    /// Records one planned offer (with its timeout) and returns it as the framework sees it.
    fn make_offer(self: &Arc<Self>, core: &mut MasterCore, grant: Grant) -> Offer {
        let Grant {
            framework_id,
            agent_id,
            role,
            resources: usable,
        } = grant;
        let framework = &core.frameworks[&framework_id];
        let multi_role = framework.info.has_capability(capability::MULTI_ROLE);
        let offer_id = OfferId::new(format!("{}-O{}", core.info.id, core.next_offer));
        core.next_offer += 1;
        let mut resources = usable.allocated_to(&role);
        if !multi_role {
            // Mesos strips allocation info for frameworks that did not opt into MULTI_ROLE.
            resources.iter_mut().for_each(|r| r.allocation_info = None);
        }
        let agent = &core.agents[&agent_id];
        let offer = Offer {
            id: offer_id.clone(),
            framework_id: framework_id.clone(),
            agent_id: agent_id.clone(),
            hostname: agent.hostname.clone(),
            url: Some(Url {
                scheme: "http".into(),
                address: UrlAddress {
                    hostname: agent.hostname.clone(),
                    ip: agent.ip.clone(),
                    port: agent.port,
                },
                path: format!("/{}", agent.process),
            }),
            resources,
            attributes: agent.attributes.clone(),
            // As Mesos's `Master::offer`: the framework's executors running there.
            executor_ids: agent
                .executors
                .keys()
                .filter(|(fw, _)| fw == &framework_id)
                .map(|(_, executor)| executor.clone())
                .collect(),
            allocation_info: multi_role.then(|| AllocationInfo { role: role.clone() }),
        };
        let timer = self.config.offer_timeout.map(|timeout| {
            let token = self.stopped.child_token();
            let id = offer_id.clone();
            self.after(timeout, Some(token.clone()), move |master| {
                let mut core = master.core();
                master.remove_offer(&mut core, &id, true);
                master.allocate(&mut core);
            });
            token
        });
        core.offers.insert(
            offer_id.clone(),
            OfferRecord {
                id: offer_id,
                framework_id,
                agent_id,
                resources: usable,
                role,
                timer,
            },
        );
        offer
    }

    /// Drops an offer; with `rescind` the framework is told (RESCIND), as when an agent is lost.
    pub(super) fn remove_offer(
        self: &Arc<Self>,
        core: &mut MasterCore,
        id: &OfferId,
        rescind: bool,
    ) -> Option<OfferRecord> {
        let offer = core.offers.remove(id)?;
        if let Some(timer) = &offer.timer {
            timer.cancel();
        }
        if rescind && let Some(f) = core.frameworks.get(&offer.framework_id) {
            f.send(&Event::rescind(offer.id.clone()));
        }
        Some(offer)
    }

    /// Drops every offer `which` selects; with `rescind` their frameworks are told.
    pub(super) fn remove_offers_where(
        self: &Arc<Self>,
        core: &mut MasterCore,
        rescind: bool,
        which: impl Fn(&OfferRecord) -> bool,
    ) {
        let ids: Vec<OfferId> = core
            .offers
            .values()
            .filter(|o| which(o))
            .map(|o| o.id.clone())
            .collect();
        for id in ids {
            self.remove_offer(core, &id, rescind);
        }
    }

    fn add_filter(
        self: &Arc<Self>,
        core: &mut MasterCore,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        refuse_seconds: f64,
    ) {
        // NaN is not finite, so this also drops a NaN duration.
        if !refuse_seconds.is_finite() || refuse_seconds <= 0.0 {
            return;
        }
        // Mesos caps filters at a year; a longer one is as good as forever in a test cluster.
        let duration = Duration::from_secs_f64(refuse_seconds.min(365.0 * 86400.0));
        core.filters.push(OfferFilter {
            framework_id: framework_id.clone(),
            agent_id: agent_id.clone(),
            until: Instant::now() + duration,
        });
        self.after(duration, None, |master| {
            let mut core = master.core();
            master.allocate(&mut core);
        });
    }

    pub(super) fn decline(self: &Arc<Self>, framework_id: &FrameworkId, decline: Decline) {
        let mut core = self.core();
        let refuse = Filters::refuse_seconds(&decline.filters);
        for id in &decline.offer_ids {
            if core
                .offers
                .get(id)
                .is_some_and(|o| &o.framework_id == framework_id)
                && let Some(offer) = self.remove_offer(&mut core, id, false)
            {
                self.add_filter(&mut core, framework_id, &offer.agent_id, refuse);
            }
        }
        self.allocate(&mut core);
    }

    pub(super) fn accept(self: &Arc<Self>, framework_id: &FrameworkId, accept: Accept) {
        let mut core = self.core();
        let mut error = None;
        let mut agent_id: Option<AgentId> = None;
        if accept.offer_ids.is_empty() {
            error = Some("No offers specified".to_string());
        }
        for id in &accept.offer_ids {
            match core.offers.get(id) {
                None => error = Some(format!("Offer {id} is no longer valid")),
                Some(o) if &o.framework_id != framework_id => {
                    error = Some(format!("Offer {id} has invalid framework"))
                }
                Some(o) => match &agent_id {
                    Some(a) if a != &o.agent_id => {
                        error = Some("Aggregated offers must belong to the same agent".into())
                    }
                    _ => agent_id = Some(o.agent_id.clone()),
                },
            }
        }
        let mut pool = Resources::default();
        let mut role = "*".to_string();
        for id in &accept.offer_ids {
            if core
                .offers
                .get(id)
                .is_some_and(|o| &o.framework_id == framework_id)
                && let Some(offer) = self.remove_offer(&mut core, id, false)
            {
                pool = pool.add(&offer.resources);
                role = offer.role;
            }
        }
        let mut tasks: Vec<TaskInfo> = accept
            .operations
            .iter()
            .filter_map(|op| op.launch.as_ref())
            .flat_map(|l| l.task_infos.clone())
            .collect();
        // As Mesos's master: an executor given without its framework id gets the framework's,
        // and its resources the allocation's role before validation, so the same ExecutorInfo
        // sent again compares equal to the one already running.
        for executor in tasks.iter_mut().filter_map(|t| t.executor.as_mut()) {
            executor
                .framework_id
                .get_or_insert_with(|| framework_id.clone());
            for r in executor.resources.iter_mut() {
                r.allocation_info = Some(AllocationInfo { role: role.clone() });
            }
        }
        // Valid offers (no error) name one agent; with no offers there is an error.
        let Some(agent_id) = agent_id.filter(|_| error.is_none()) else {
            let message = error.unwrap_or_default();
            tracing::info!("ACCEPT from {framework_id} refused: {message}");
            let partition_aware = core
                .frameworks
                .get(framework_id)
                .is_some_and(|f| f.is_partition_aware());
            let state = if partition_aware {
                TaskState::Dropped
            } else {
                TaskState::Lost
            };
            for task in tasks {
                self.send_master_update(
                    &mut core,
                    framework_id,
                    &task.task_id,
                    Some(&task.agent_id),
                    state,
                    reason::INVALID_OFFERS,
                    &message,
                );
            }
            self.allocate(&mut core);
            return;
        };
        for op in &accept.operations {
            match op.kind.as_str() {
                "LAUNCH" => {}
                other => tracing::warn!(
                    "framework {framework_id}: offer operation {other} is not supported by mmrun; ignored"
                ),
            }
        }
        for task in tasks {
            match validate_task(&core, framework_id, &agent_id, &pool, &task) {
                Err(invalid) => {
                    self.send_master_update(
                        &mut core,
                        framework_id,
                        &task.task_id,
                        Some(&task.agent_id),
                        TaskState::Error,
                        reason::TASK_INVALID,
                        &invalid.to_string(),
                    );
                }
                Ok(resources) => {
                    pool = pool.subtract(&resources);
                    self.launch(&mut core, framework_id, &role, task);
                }
            }
        }
        if !pool.is_empty() {
            let refuse = Filters::refuse_seconds(&accept.filters);
            self.add_filter(&mut core, framework_id, &agent_id, refuse);
        }
        self.allocate(&mut core);
    }

    fn launch(
        self: &Arc<Self>,
        core: &mut MasterCore,
        framework_id: &FrameworkId,
        role: &str,
        mut task: TaskInfo,
    ) {
        // `accept` launches only on offers made to this framework, and a framework's offers go
        // (under the same lock) before the framework does.
        let framework = core.frameworks.get_mut(framework_id).expect("validated");
        let executor_resources = task
            .executor
            .iter_mut()
            .flat_map(|e| e.resources.iter_mut());
        for r in task.resources.iter_mut().chain(executor_resources) {
            r.allocation_info = Some(AllocationInfo { role: role.into() });
        }
        let user = task
            .command
            .as_ref()
            .and_then(|c| c.user.clone())
            .or_else(|| Some(framework.info.user.clone()));
        let run = RunTask {
            framework_id: framework_id.clone(),
            framework_info: framework.info.clone(),
            task: task.clone(),
        };
        tracing::debug!("launching task {} on {}", task.task_id, task.agent_id);
        let agent_id = task.agent_id.clone();
        let task_id = task.task_id.clone();
        framework.tasks.insert(
            task.task_id.clone(),
            Task {
                info: task,
                framework_id: framework_id.clone(),
                state: TaskState::Staging,
                statuses: vec![],
                status_update_state: None,
                status_update_uuid: None,
                role: role.into(),
                user,
            },
        );
        if let Some(agent) = core.agents.get_mut(&agent_id) {
            if let Some(executor) = &run.task.executor {
                // The executor counts (resources, state) from its first task on, as in Mesos.
                agent
                    .executors
                    .entry((framework_id.clone(), executor.executor_id.clone()))
                    .or_insert_with(|| executor.clone());
            }
            agent.send(ToAgent::RunTask(run));
        }
        self.publish_task_added(core, framework_id, &task_id);
    }

    /// Sends a master-generated update (no uuid: nothing to acknowledge).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_master_update(
        &self,
        core: &mut MasterCore,
        framework_id: &FrameworkId,
        task_id: &crate::mesos::ids::TaskId,
        agent_id: Option<&AgentId>,
        state: TaskState,
        why: &str,
        message: &str,
    ) -> TaskStatus {
        let mut status = TaskStatus::new(task_id.clone(), state);
        status.source = Some(source::MASTER.into());
        status.reason = Some(why.into());
        status.message = Some(message.into());
        status.agent_id = agent_id.cloned();
        if let Some(f) = core.frameworks.get(framework_id) {
            f.send(&Event::update(status.clone()));
        }
        core.count_terminal(state);
        status
    }
}

#[cfg(test)]
mod tests;
