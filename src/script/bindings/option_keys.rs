//! The one list of the keys each option map accepts. The bindings parse option maps with these
//! lists ([`crate::script::values::Options`] refuses any other key at run time) and
//! `mmrun check` reads the same lists to find a misspelt key before anything runs, so the two
//! cannot drift.

/// The keys an option map accepts, and which of its keys hold option maps in turn (as a map,
/// or an array of maps: `tasks: [#{ … }]`, `uris: ["…", #{ … }]`).
pub struct Shape {
    pub keys: &'static [&'static str],
    pub nested: &'static [(&'static str, &'static Shape)],
}

impl Shape {
    /// The shape of the map (or of the maps in the array) that `key` holds, if it is one.
    pub fn nested(&self, key: &str) -> Option<&'static Shape> {
        self.nested.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }
}

const fn plain(keys: &'static [&'static str]) -> Shape {
    Shape { keys, nested: &[] }
}

/// A simulated agent's task behaviour: `sim: #{ run, state, start }` (agents and tasks).
pub static SIM: Shape = plain(&["run", "state", "start"]);

/// An agent: `add_agent`, `add_agents` and each of `cluster(#{ agents: [...] })`.
pub static AGENT: Shape = Shape {
    keys: &["resources", "attributes", "simulated", "sim"],
    nested: &[("sim", &SIM)],
};

pub static CLUSTER: Shape = Shape {
    keys: &[
        "agent_ping_timeout",
        "max_agent_ping_timeouts",
        "status_update_retry",
        "agents",
        "mesos_image",
        "zookeeper",
        "masters",
        "zk_session_timeout",
        "encoding",
        "api",
        "simulated",
        "sim",
    ],
    nested: &[("agents", &AGENT), ("sim", &SIM)],
};

/// A fetched file: each map of `uris` (tasks and executors).
pub static URI: Shape = plain(&["value", "executable", "extract", "output_file"]);

/// A custom executor: a task's `executor`.
pub static EXECUTOR: Shape = Shape {
    keys: &["id", "cmd", "uris", "docker"],
    nested: &[("uris", &URI)],
};

/// `health_check: #{ http: #{ port, path, scheme } }`.
pub static HTTP_CHECK: Shape = plain(&["port", "path", "scheme"]);

pub static HEALTH_CHECK: Shape = Shape {
    keys: &[
        "http",
        "tcp",
        "cmd",
        "delay",
        "interval",
        "timeout",
        "grace_period",
        "consecutive_failures",
    ],
    nested: &[("http", &HTTP_CHECK)],
};

/// A task: `launch` and each of `submit_framework(#{ tasks: [...] })`.
pub static TASK: Shape = Shape {
    keys: &[
        "name",
        "cmd",
        "cpus",
        "mem",
        "disk",
        "env",
        "docker",
        "network",
        "network_name",
        "ports",
        "uris",
        "executor",
        "health_check",
        "labels",
        "sim",
    ],
    nested: &[
        ("uris", &URI),
        ("executor", &EXECUTOR),
        ("health_check", &HEALTH_CHECK),
        ("sim", &SIM),
    ],
};

pub static FRAMEWORK: Shape = Shape {
    keys: &[
        "name",
        "tasks",
        "role",
        "partition_aware",
        "checkpoint",
        "failover_timeout",
        "encoding",
        "api",
    ],
    nested: &[("tasks", &TASK)],
};

pub static RUN_FRAMEWORK: Shape = plain(&["image", "cmd", "env", "cwd"]);
pub static AWAIT_TASK: Shape = plain(&["timeout", "healthy"]);
pub static AWAIT_FRAMEWORK: Shape = plain(&["timeout"]);
pub static AWAIT_LEADER: Shape = plain(&["timeout"]);
pub static STOP_AGENT: Shape = plain(&["graceful"]);
pub static EXAMPLE_EXECUTOR: Shape = plain(&["api"]);

/// Every function that takes an option map, with what the map accepts (whatever its receiver:
/// one shape per name). A map literal among such a call's arguments is checked against it.
pub static FUNCTIONS: &[(&str, &Shape)] = &[
    ("cluster", &CLUSTER),
    ("add_agent", &AGENT),
    ("add_agents", &AGENT),
    ("submit_framework", &FRAMEWORK),
    ("launch", &TASK),
    ("run_framework", &RUN_FRAMEWORK),
    ("await_task", &AWAIT_TASK),
    ("await_framework", &AWAIT_FRAMEWORK),
    ("await_leader", &AWAIT_LEADER),
    ("stop", &STOP_AGENT),
    ("example_executor", &EXAMPLE_EXECUTOR),
];

/// The option map `function` takes, if it takes one.
pub fn of_function(function: &str) -> Option<&'static Shape> {
    FUNCTIONS
        .iter()
        .find(|(f, _)| *f == function)
        .map(|(_, s)| *s)
}

/// Words people reach for, and the key that means it (when the map has that key).
const HINTS: &[(&str, &str)] = &[
    ("command", "cmd"),
    ("cmdline", "cmd"),
    ("shell", "cmd"),
    ("image", "docker"),
    ("cpu", "cpus"),
    ("memory", "mem"),
    ("environment", "env"),
    ("uri", "uris"),
    ("url", "uris"),
    ("urls", "uris"),
    ("fetch", "uris"),
    ("health", "health_check"),
    ("healthcheck", "health_check"),
    ("label", "labels"),
    ("port", "ports"),
    ("agent", "agents"),
    ("master", "masters"),
    ("task", "tasks"),
    ("wait", "timeout"),
    ("simulate", "simulated"),
];

/// The accepted key `key` was most likely meant to be: a word people reach for (`command` →
/// `cmd`), else the nearest by edit distance.
pub fn suggest(key: &str, keys: &[&'static str]) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    if let Some(k) = keys.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        return Some(*k);
    }
    if let Some((_, to)) = HINTS.iter().find(|(from, _)| *from == lower)
        && let Some(k) = keys.iter().find(|k| *k == to)
    {
        return Some(*k);
    }
    keys.iter()
        .map(|k| (strsim::damerau_levenshtein(&lower, k), *k))
        .filter(|(d, k)| *d <= 3.min(1.max(k.len() / 2)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_people_reach_for_get_the_key_that_means_it() {
        assert_eq!(suggest("command", TASK.keys), Some("cmd"));
        assert_eq!(suggest("image", TASK.keys), Some("docker"));
        assert_eq!(suggest("image", AWAIT_TASK.keys), None);
        assert_eq!(suggest("resorces", AGENT.keys), Some("resources"));
        assert_eq!(suggest("timout", AWAIT_TASK.keys), Some("timeout"));
        assert_eq!(suggest("zzz", TASK.keys), None);
    }

    #[test]
    fn every_nested_key_is_a_key_of_its_map() {
        let mut shapes: Vec<&Shape> = FUNCTIONS.iter().map(|(_, s)| *s).collect();
        while let Some(shape) = shapes.pop() {
            for (key, inner) in shape.nested {
                assert!(shape.keys.contains(key), "{key}");
                shapes.push(inner);
            }
        }
    }

    /// The bindings parse every option map with these lists, never a list of their own.
    #[test]
    fn the_bindings_parse_option_maps_with_these_lists() {
        for (file, text) in [
            ("agent.rs", include_str!("agent.rs")),
            ("cluster.rs", include_str!("cluster.rs")),
            ("containers.rs", include_str!("containers.rs")),
            ("framework.rs", include_str!("framework.rs")),
            ("masters.rs", include_str!("masters.rs")),
            ("observe.rs", include_str!("observe.rs")),
        ] {
            for (at, _) in text.match_indices("Options::new(") {
                let call: String = text[at..]
                    .chars()
                    .take_while(|c| *c != ';')
                    .filter(|c| !c.is_whitespace())
                    .collect();
                assert!(
                    call.contains("option_keys::") && !call.contains("&[\""),
                    "{file}: {call} does not use option_keys"
                );
            }
        }
    }
}
