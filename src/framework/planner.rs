//! Offer planning: which waiting tasks to launch on which offers, and what to decline. Pure
//! over the framework's [`State`] (no lock, no I/O), so it is tested on its own.

use super::State;
use crate::mesos::ids::OfferId;
use crate::mesos::resources::Resources;
use crate::mesos::scheduler::{Accept, Call, CallType, Decline, Filters, Launch, Offer, Operation};

/// How long unusable offers are declined for while tasks wait for resources.
const WAITING_REFUSE_SECONDS: f64 = 0.2;
/// How long offers are declined for when nothing waits (a new request REVIVEs).
const IDLE_REFUSE_SECONDS: f64 = 3600.0;

/// How many agents' reasons `why` keeps per waiting task: enough to say why, and bounded on
/// a cluster of thousands of agents.
const MISFIT_AGENTS_KEPT: usize = 20;

/// Decides, for one batch of offers, which tasks to launch where and what to decline.
/// Linear in practice: an offer stops being tried once it has less cpus or memory left than
/// the smallest waiting task asks for, and what is still pending is rebuilt once per batch
/// (thousands of tasks on thousands of offers would otherwise cost their product).
pub(super) fn plan_offers(state: &mut State, offers: Vec<Offer>) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut declined: Vec<OfferId> = Vec::new();
    let pending = std::mem::take(&mut state.pending);
    let mut taken = vec![false; pending.len()];
    let smallest = |name: &str| {
        pending
            .iter()
            .map(|(_, r)| r.resources().scalar(name))
            .fold(f64::INFINITY, f64::min)
    };
    let (min_cpus, min_mem) = (smallest("cpus"), smallest("mem"));
    let mut first_open = 0;
    for offer in offers {
        state.offers_received += 1;
        let mut available = Resources::new(offer.resources.iter().cloned().map(|mut r| {
            r.allocation_info = None;
            r
        }));
        let mut launch = Vec::new();
        for (i, (id, request)) in pending.iter().enumerate().skip(first_open) {
            if taken[i] {
                continue;
            }
            let exhausted =
                available.scalar("cpus") < min_cpus || available.scalar("mem") < min_mem;
            let claim = if exhausted {
                None
            } else {
                request.claim(&available)
            };
            match claim {
                Some(claim) => {
                    available = available.subtract(&claim.resources);
                    launch.push(request.to_task_info(id.clone(), &offer, &claim));
                    taken[i] = true;
                }
                None => {
                    let reasons = state.misfits.entry(id.clone()).or_default();
                    if reasons.len() < MISFIT_AGENTS_KEPT {
                        let why = request
                            .shortfall(&available)
                            .unwrap_or_else(|| "does not fit".to_string());
                        reasons.insert(offer.agent_id.value.clone(), why);
                    }
                }
            }
            // Nothing waiting fits in what is left: the first task that did not fit says why
            // (above), the others are not tried.
            if exhausted {
                break;
            }
        }
        while first_open < taken.len() && taken[first_open] {
            first_open += 1;
        }
        for info in &launch {
            state.misfits.remove(&info.task_id);
            state.queued_at_offer.remove(&info.task_id);
        }
        if launch.is_empty() {
            declined.push(offer.id.clone());
            continue;
        }
        for info in &launch {
            if let Some(t) = state.tasks.get_mut(&info.task_id) {
                t.agent_id = Some(info.agent_id.clone());
            }
        }
        let refuse = if first_open >= taken.len() {
            IDLE_REFUSE_SECONDS
        } else {
            WAITING_REFUSE_SECONDS
        };
        calls.push(Call {
            accept: Some(Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![Operation {
                    kind: "LAUNCH".into(),
                    launch: Some(Launch { task_infos: launch }),
                }],
                filters: Some(Filters {
                    refuse_seconds: Some(refuse),
                }),
            }),
            ..Call::new(CallType::Accept, None)
        });
    }
    state.pending = pending
        .into_iter()
        .zip(taken)
        .filter(|(_, taken)| !taken)
        .map(|(task, _)| task)
        .collect();
    if !declined.is_empty() {
        let refuse = if state.pending.is_empty() {
            IDLE_REFUSE_SECONDS
        } else {
            WAITING_REFUSE_SECONDS
        };
        calls.push(Call {
            decline: Some(Decline {
                offer_ids: declined,
                filters: Some(Filters {
                    refuse_seconds: Some(refuse),
                }),
            }),
            ..Call::new(CallType::Decline, None)
        });
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::TaskRequest;
    use crate::mesos::ids::{AgentId, FrameworkId, TaskId};

    fn offer(n: u32, resources: &str) -> Offer {
        Offer {
            id: OfferId::new(format!("O{n}")),
            framework_id: FrameworkId::new("F"),
            agent_id: AgentId::new(format!("S{n}")),
            hostname: format!("agent-{n}"),
            url: None,
            resources: Resources::parse(resources).unwrap().into_vec(),
            attributes: vec![],
            executor_ids: vec![],
            allocation_info: None,
        }
    }

    fn waiting(tasks: &[(&str, f64, f64)]) -> State {
        let mut state = State::default();
        for (name, cpus, mem) in tasks {
            let request = TaskRequest {
                cpus: *cpus,
                mem: *mem,
                ..TaskRequest::command(*name, "true")
            };
            state.pending.push((TaskId::new(*name), request));
        }
        state
    }

    /// (offer, launched task names) of each ACCEPT, and the declined offers, in call order.
    fn summary(calls: &[Call]) -> (Vec<(String, Vec<String>)>, Vec<String>) {
        let mut accepted = vec![];
        let mut declined = vec![];
        for call in calls {
            if let Some(a) = &call.accept {
                let names = a.operations[0]
                    .launch
                    .as_ref()
                    .unwrap()
                    .task_infos
                    .iter()
                    .map(|t| t.task_id.value.clone())
                    .collect();
                accepted.push((a.offer_ids[0].value.clone(), names));
            }
            if let Some(d) = &call.decline {
                declined.extend(d.offer_ids.iter().map(|o| o.value.clone()));
            }
        }
        (accepted, declined)
    }

    #[test]
    fn tasks_fill_offers_in_order_and_unused_offers_are_declined_while_tasks_wait() {
        let mut state = waiting(&[("a", 1.0, 64.0), ("b", 1.0, 64.0), ("c", 4.0, 64.0)]);
        let calls = plan_offers(
            &mut state,
            vec![offer(1, "cpus:2;mem:256"), offer(2, "cpus:1;mem:32")],
        );
        let (accepted, declined) = summary(&calls);
        assert_eq!(accepted, [("O1".to_string(), vec!["a".into(), "b".into()])]);
        assert_eq!(declined, ["O2"]);
        // "c" still waits: the decline is short, so the resources come back soon.
        let pending: Vec<_> = state
            .pending
            .iter()
            .map(|(id, _)| id.value.clone())
            .collect();
        assert_eq!(pending, ["c"]);
        let refuse = calls[1].decline.as_ref().unwrap().filters.as_ref().unwrap();
        assert_eq!(refuse.refuse_seconds, Some(WAITING_REFUSE_SECONDS));
        assert_eq!(state.offers_received, 2);
    }

    #[test]
    fn a_task_that_fits_nowhere_says_why_for_each_agent() {
        let mut state = waiting(&[("big", 8.0, 64.0)]);
        plan_offers(&mut state, vec![offer(1, "cpus:2;mem:256")]);
        let why = &state.misfits[&TaskId::new("big")];
        assert_eq!(why.len(), 1);
        assert!(why["S1"].contains("cpus"), "{why:?}");
    }

    #[test]
    fn with_nothing_left_waiting_offers_are_refused_for_long() {
        let mut state = waiting(&[("a", 1.0, 64.0)]);
        let calls = plan_offers(
            &mut state,
            vec![offer(1, "cpus:2;mem:256"), offer(2, "cpus:2;mem:256")],
        );
        let accept = calls[0].accept.as_ref().unwrap();
        assert_eq!(
            accept.filters.as_ref().unwrap().refuse_seconds,
            Some(IDLE_REFUSE_SECONDS)
        );
        let decline = calls[1].decline.as_ref().unwrap();
        assert_eq!(
            decline.filters.as_ref().unwrap().refuse_seconds,
            Some(IDLE_REFUSE_SECONDS)
        );
        assert!(state.pending.is_empty());
    }
}
