//! Labels and names of everything mmrun creates in Docker, defined in one place. Labels make
//! listing and cleanup pure filters (as kind does); names tell a human reading `docker ps` what
//! each container is.

use std::collections::{BTreeMap, HashMap};

/// Marks an object as mmrun's; its value is always [`MANAGED_BY_VALUE`].
pub const MANAGED_BY: &str = "io.mmrun.managed-by";
pub const MANAGED_BY_VALUE: &str = "mmrun";
/// The run that created the object (one `mmrun run`, `up`, or test).
pub const RUN: &str = "io.mmrun.run";
/// The scenario whose cluster the object belongs to.
pub const SCENARIO: &str = "io.mmrun.scenario";
/// What the object is: see [`Role`].
pub const ROLE: &str = "io.mmrun.role";
/// The id of the process that created the object; when it is gone, the object is an orphan.
pub const PID: &str = "io.mmrun.pid";
/// The host of that process: a pid means something only on its own host.
pub const HOST: &str = "io.mmrun.host";
/// `true` on what a `--keep` run may leave up on purpose: never reaped as an orphan, only
/// removed by `mmrun down` (or `mmrun clean --all`).
pub const KEEP: &str = "io.mmrun.keep";

/// Every name mmrun gives starts with this. Never `mesos-`: the Mesos Docker containerizer
/// treats containers named `mesos-*` as its own and kills those it does not know.
pub const NAME_PREFIX: &str = "mmrun";

/// The environment through which a run hands its [`Owner`] to the nodes it starts, so that an
/// agent labels its task containers as the run's own: the run's teardown and `mmrun clean` then
/// find them like every other object of the run. The run and the pid are required, the others
/// optional ([`Owner::to_env`] sets them all).
pub const OWNER_ENV_RUN: &str = "MMRUN_RUN";
pub const OWNER_ENV_SCENARIO: &str = "MMRUN_SCENARIO";
pub const OWNER_ENV_PID: &str = "MMRUN_OWNER_PID";
pub const OWNER_ENV_HOST: &str = "MMRUN_OWNER_HOST";
/// `true` when the run keeps its cluster (`--keep`): see [`KEEP`].
pub const OWNER_ENV_KEEP: &str = "MMRUN_KEEP";

/// The name of a Docker task's container, as Mesos's Docker containerizer names its containers:
/// `mesos-<agent id>.<container id>`. The one kind of name mmrun deliberately starts with
/// `mesos-`: these containers are the tasks a Mesos agent would have started.
pub fn task_container_name(agent_id: &str, container_id: &str) -> String {
    format!("mesos-{agent_id}.{container_id}")
}

/// What an object is in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Master,
    Agent,
    Framework,
    Task,
    Network,
    /// The cluster's Apache ZooKeeper server (`mmrun-<run>-<scenario>-zookeeper`).
    ZooKeeper,
    /// The container that cleans up after a run whose process died (`docker::reaper`).
    Reaper,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Agent => "agent",
            Role::Framework => "framework",
            Role::Task => "task",
            Role::Network => "network",
            Role::ZooKeeper => "zookeeper",
            Role::Reaper => "reaper",
        }
    }
}

/// Who creates objects: one run, one scenario, one process. Gives each object its labels and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub run: String,
    pub scenario: String,
    /// The creating process; orphans are found by checking it is gone.
    pub pid: u32,
    pub host: String,
    /// Made by a `--keep` run: see [`KEEP`].
    pub keep: bool,
}

impl Owner {
    /// An owner for this process.
    pub fn new(run: &str, scenario: &str) -> Owner {
        Owner {
            run: run.to_string(),
            scenario: scenario.to_string(),
            pid: std::process::id(),
            host: hostname(),
            keep: false,
        }
    }

    /// The owner handed down through the `MMRUN_*` environment (see [`OWNER_ENV_RUN`]), read
    /// with `env`; `None` unless the run and a valid pid are there. The host defaults to this
    /// machine's, the scenario to none.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Owner> {
        let run = env(OWNER_ENV_RUN).filter(|r| !r.is_empty())?;
        let pid = env(OWNER_ENV_PID)?.trim().parse().ok()?;
        Some(Owner {
            run,
            scenario: env(OWNER_ENV_SCENARIO).unwrap_or_default(),
            pid,
            host: env(OWNER_ENV_HOST)
                .filter(|h| !h.is_empty())
                .unwrap_or_else(hostname),
            keep: env(OWNER_ENV_KEEP).is_some_and(|k| k == "true"),
        })
    }

    /// The variables that hand this owner down to a process (the inverse of [`Owner::from_env`]).
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (OWNER_ENV_RUN, self.run.clone()),
            (OWNER_ENV_SCENARIO, self.scenario.clone()),
            (OWNER_ENV_PID, self.pid.to_string()),
            (OWNER_ENV_HOST, self.host.clone()),
            (OWNER_ENV_KEEP, self.keep.to_string()),
        ]
    }

    /// This process as the owner, outside any run (e.g. an agent started by hand): no run or
    /// scenario, but a pid and host, so `mmrun clean` reaps what it leaves once it is gone.
    pub fn this_process() -> Owner {
        Owner::new("", "")
    }

    /// The labels every object of this owner carries, for `role`.
    pub fn labels(&self, role: Role) -> BTreeMap<String, String> {
        [
            (MANAGED_BY, MANAGED_BY_VALUE.to_string()),
            (RUN, self.run.clone()),
            (SCENARIO, self.scenario.clone()),
            (ROLE, role.as_str().to_string()),
            (PID, self.pid.to_string()),
            (HOST, self.host.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(self.keep.then(|| (KEEP.to_string(), "true".to_string())))
        .collect()
    }

    /// `mmrun-<run>-<scenario>-<role>[-<index>]`, e.g. `mmrun-3f2a9c1b-launch-agent-2`.
    pub fn name(&self, role: Role, index: Option<usize>) -> String {
        object_name(&self.run, &self.scenario, role, index)
    }
}

/// A fresh run id: short enough to read in `docker ps`, random enough not to collide.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// The name of an object: `mmrun-<run>-<scenario>-<role>[-<index>]`, in Docker's name charset
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), lowercase, at most 63 characters so it is also a valid DNS
/// label on the cluster network. It always starts with `mmrun-`, never with `mesos-`.
pub fn object_name(run: &str, scenario: &str, role: Role, index: Option<usize>) -> String {
    const MAX: usize = 63;
    let mut tail = role.as_str().to_string();
    if let Some(i) = index {
        tail = format!("{tail}-{i}");
    }
    let mut parts = vec![NAME_PREFIX.to_string()];
    // Run ids are short; a caller's long one must not push the role out of the name.
    parts.extend(sanitise(run).map(|r| cut(&r, 16)));
    let head = parts.join("-");
    // The scenario is the only unbounded part: it gives way so the role and index survive.
    let room = MAX.saturating_sub(head.len() + tail.len() + 2);
    if let Some(s) = sanitise(scenario).map(|s| cut(&s, room))
        && !s.is_empty()
    {
        parts.push(s);
    }
    parts.push(tail);
    let name = parts.join("-");
    debug_assert!(name.starts_with("mmrun-") && !name.starts_with("mesos-"));
    name
}

/// Lowercases, replaces everything outside `[a-z0-9_.]` with single dashes and trims
/// punctuation from both ends; `None` when nothing is left.
fn sanitise(part: &str) -> Option<String> {
    let mut out = String::with_capacity(part.len());
    for c in part.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(['-', '.', '_']);
    (!out.is_empty()).then(|| out.to_string())
}

/// The first `max` characters of a sanitised (ASCII) part, without trailing punctuation.
fn cut(part: &str, max: usize) -> String {
    part[..part.len().min(max)]
        .trim_end_matches(['-', '.', '_'])
        .to_string()
}

/// A label selector: objects carrying all of these labels (a key alone matches any value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    labels: Vec<(String, Option<String>)>,
}

impl Selector {
    /// Everything mmrun created, on any host, by any process.
    pub fn managed() -> Selector {
        Selector {
            labels: vec![(MANAGED_BY.to_string(), Some(MANAGED_BY_VALUE.to_string()))],
        }
    }

    /// Everything one run created.
    pub fn run(run: &str) -> Selector {
        Selector::managed().with(RUN, run)
    }

    /// Narrows the selection to objects whose `key` label is `value`.
    pub fn with(mut self, key: &str, value: &str) -> Selector {
        self.labels.push((key.to_string(), Some(value.to_string())));
        self
    }

    /// The `filters` parameter of Docker's list endpoints.
    pub(super) fn filters(&self) -> HashMap<String, Vec<String>> {
        let labels = self
            .labels
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect();
        HashMap::from([("label".to_string(), labels)])
    }
}

/// This machine's hostname, as the kernel reports it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_run_scenario_role_and_index() {
        assert_eq!(
            object_name("3f2a9c1b", "launch", Role::Agent, Some(2)),
            "mmrun-3f2a9c1b-launch-agent-2"
        );
        assert_eq!(
            object_name("r1", "Two Agents/Restart!", Role::Master, None),
            "mmrun-r1-two-agents-restart-master"
        );
        assert_eq!(
            object_name("r1", "", Role::Network, None),
            "mmrun-r1-network"
        );
    }

    #[test]
    fn names_never_start_with_mesos() {
        let nasty = [
            "mesos-",
            "mesos",
            "-mesos-agent",
            "",
            "  ",
            "..",
            "ÄÖ",
            "mesos-master-1",
        ];
        for run in nasty {
            for scenario in nasty {
                for role in [
                    Role::Master,
                    Role::Agent,
                    Role::Framework,
                    Role::Task,
                    Role::Network,
                    Role::ZooKeeper,
                ] {
                    for index in [None, Some(0), Some(17)] {
                        let name = object_name(run, scenario, role, index);
                        assert!(!name.starts_with("mesos-"), "{name}");
                        assert!(name.starts_with("mmrun-"), "{name}");
                        assert!(is_docker_name(&name), "{name}");
                    }
                }
            }
        }
    }

    #[test]
    fn long_scenarios_are_cut_but_keep_role_and_index() {
        let name = object_name("abcdef12", &"x".repeat(200), Role::Agent, Some(12));
        assert!(name.len() <= 63, "{} chars", name.len());
        assert!(name.ends_with("-agent-12"), "{name}");
        let name = object_name("abcdef12", &"a-".repeat(100), Role::Agent, Some(1));
        assert!(is_docker_name(&name) && !name.contains("--"), "{name}");
    }

    #[test]
    fn labels_carry_owner_and_role() {
        let owner = Owner {
            run: "r1".into(),
            scenario: "s".into(),
            pid: 42,
            host: "box".into(),
            keep: false,
        };
        let labels = owner.labels(Role::Agent);
        assert_eq!(labels[MANAGED_BY], "mmrun");
        assert_eq!(labels[RUN], "r1");
        assert_eq!(labels[SCENARIO], "s");
        assert_eq!(labels[ROLE], "agent");
        assert_eq!(labels[PID], "42");
        assert_eq!(labels[HOST], "box");
    }

    #[test]
    fn owners_travel_through_the_environment() {
        let owner = Owner {
            run: "r1".into(),
            scenario: "launch".into(),
            pid: 42,
            host: "box".into(),
            keep: true,
        };
        let env: HashMap<&str, String> = owner.to_env().into_iter().collect();
        assert_eq!(Owner::from_env(&|k| env.get(k).cloned()), Some(owner));
        // Without a run, or with a pid that is not one, there is no owner to take.
        assert_eq!(Owner::from_env(&|_| None), None);
        let bad_pid = |k: &str| match k {
            OWNER_ENV_RUN => Some("r1".to_string()),
            OWNER_ENV_PID => Some("me".to_string()),
            _ => None,
        };
        assert_eq!(Owner::from_env(&bad_pid), None);
        let by_hand = Owner::this_process();
        assert_eq!(by_hand.pid, std::process::id());
        assert_eq!(by_hand.labels(Role::Task)[ROLE], "task");
    }

    #[test]
    fn task_containers_are_named_as_mesos_names_them() {
        assert_eq!(
            task_container_name("a1-S0", "0b7a5d0e-1f"),
            "mesos-a1-S0.0b7a5d0e-1f"
        );
    }

    #[test]
    fn selectors_become_label_filters() {
        let filters = Selector::run("r1").with(ROLE, "agent").filters();
        assert_eq!(
            filters["label"],
            [
                "io.mmrun.managed-by=mmrun",
                "io.mmrun.run=r1",
                "io.mmrun.role=agent"
            ]
        );
    }

    #[test]
    fn run_ids_are_short_and_distinct() {
        let (a, b) = (new_run_id(), new_run_id());
        assert_eq!(a.len(), 8);
        assert_ne!(a, b);
    }

    fn is_docker_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    }
}
