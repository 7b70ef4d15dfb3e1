//! The allocation decision on its own: DRF order, roles and reservations, filters, Mesos's
//! minimum offer, one offer per (framework, role) and agent.

use super::*;

fn res(text: &str) -> Resources {
    Resources::parse(text).unwrap()
}

fn fw(id: &str, roles: &[&str], allocated: &str) -> Candidate {
    Candidate {
        id: FrameworkId::new(id),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        allocated: if allocated.is_empty() {
            Resources::default()
        } else {
            res(allocated)
        },
    }
}

fn agent(id: &str, available: &str) -> (AgentId, Resources) {
    (AgentId::new(id), res(available))
}

/// (framework, agent, role, cpus) of each grant, in order.
fn summary(grants: &[Grant]) -> Vec<(String, String, String, f64)> {
    grants
        .iter()
        .map(|g| {
            (
                g.framework_id.value.clone(),
                g.agent_id.value.clone(),
                g.role.clone(),
                g.resources.scalar("cpus"),
            )
        })
        .collect()
}

fn plan(candidates: &[Candidate], agents: &[(AgentId, Resources)]) -> Vec<Grant> {
    let total = agents
        .iter()
        .fold(Resources::default(), |acc, (_, r)| acc.add(r));
    plan_offers(candidates, agents, &total, &BTreeSet::new())
}

#[test]
fn each_agent_goes_whole_to_the_framework_with_the_lowest_dominant_share() {
    let candidates = [
        fw("a", &["*"], "cpus:2;mem:256"),
        fw("b", &["*"], "cpus:1;mem:128"),
    ];
    let agents = [
        agent("s1", "cpus:4;mem:1024"),
        agent("s2", "cpus:4;mem:1024"),
    ];
    // b holds less, so it gets s1; then b's share (5 of 8 cpus) passes a's (2 of 8): a gets s2.
    assert_eq!(
        summary(&plan(&candidates, &agents)),
        vec![
            ("b".into(), "s1".into(), "*".into(), 4.0),
            ("a".into(), "s2".into(), "*".into(), 4.0),
        ]
    );
}

#[test]
fn equal_shares_go_to_the_lower_framework_id() {
    let candidates = [fw("b", &["*"], ""), fw("a", &["*"], "")];
    let grants = plan(&candidates, &[agent("s1", "cpus:1;mem:128")]);
    assert_eq!(grants[0].framework_id.value, "a");
    assert_eq!(
        grants.len(),
        1,
        "a framework gets one offer per agent and role"
    );
}

#[test]
fn reservations_go_to_their_role_and_the_rest_to_anyone() {
    let candidates = [fw("web", &["web"], ""), fw("batch", &["batch"], "")];
    let agents = [agent("s1", "cpus:2;mem:512;cpus(batch):1;mem(batch):256")];
    let grants = plan(&candidates, &agents);
    // batch (lower id, equal shares) takes the unreserved resources and its reservation at
    // once; nothing is left for web.
    assert_eq!(
        summary(&grants),
        vec![("batch".into(), "s1".into(), "batch".into(), 3.0)]
    );
    // With web first (it holds less), web gets only the unreserved part and batch its
    // reservation, in the same pass.
    let candidates = [fw("web", &["web"], ""), fw("batch", &["batch"], "mem:64")];
    let grants = plan(&candidates, &agents);
    assert_eq!(
        summary(&grants),
        vec![
            ("web".into(), "s1".into(), "web".into(), 2.0),
            ("batch".into(), "s1".into(), "batch".into(), 1.0),
        ]
    );
    assert_eq!(grants[1].resources.scalar("mem"), 256.0);
}

#[test]
fn a_multi_role_framework_gets_one_offer_per_role_on_an_agent() {
    let candidates = [fw("m", &["a", "b"], "")];
    let agents = [agent("s1", "cpus(a):1;mem(a):64;cpus(b):2;mem(b):64")];
    assert_eq!(
        summary(&plan(&candidates, &agents)),
        vec![
            ("m".into(), "s1".into(), "a".into(), 1.0),
            ("m".into(), "s1".into(), "b".into(), 2.0),
        ]
    );
}

#[test]
fn filtered_pairs_and_leftovers_below_mesos_minimum_get_nothing() {
    let candidates = [fw("a", &["*"], ""), fw("b", &["*"], "")];
    let agents = [agent("s1", "cpus:1;mem:128"), agent("s2", "cpus:1;mem:128")];
    let total = res("cpus:2;mem:256");
    let filtered: BTreeSet<_> = [(FrameworkId::new("a"), AgentId::new("s1"))].into();
    let grants = plan_offers(&candidates, &agents, &total, &filtered);
    // a declined s1 with a filter: b gets s1, then a (now lower) gets s2.
    assert_eq!(
        summary(&grants),
        vec![
            ("b".into(), "s1".into(), "*".into(), 1.0),
            ("a".into(), "s2".into(), "*".into(), 1.0),
        ]
    );
    // Less than 0.01 cpus and 32 MB is not offered at all (MIN_CPUS / MIN_MEM).
    let crumbs = [agent("s3", "cpus:0.005;mem:16")];
    assert!(plan(&candidates, &crumbs).is_empty());
    // No candidates, no offers.
    assert!(plan(&[], &agents).is_empty());
}
