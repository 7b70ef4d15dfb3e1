//! The agent's metrics under Mesos's names: `/metrics/snapshot` and the v1 GET_METRICS.

use super::AgentShared;

impl AgentShared {
    /// The agent's gauges under Mesos's names (`/metrics/snapshot`, GET_METRICS). Mesos's
    /// cumulative task counters are left out: the agent keeps only its last 1 000 tasks.
    pub fn metrics(&self) -> std::collections::BTreeMap<String, f64> {
        let core = self.core();
        let count = |state: crate::mesos::task::TaskState| {
            core.tasks.values().filter(|t| t.state == state).count() as f64
        };
        let used = core.tasks.values().filter(|t| !t.state.is_terminal()).fold(
            crate::mesos::resources::Resources::default(),
            |acc, t| {
                acc.add(&crate::mesos::resources::Resources::new(
                    t.info.resources.iter().cloned(),
                ))
            },
        );
        let total = &self.config.resources;
        use crate::mesos::task::TaskState as S;
        let uptime = crate::mesos::task::now_seconds() - self.start_time;
        [
            ("slave/registered", f64::from(u8::from(core.registered))),
            ("slave/uptime_secs", uptime),
            ("slave/frameworks_active", core.frameworks.len() as f64),
            ("slave/tasks_staging", count(S::Staging)),
            ("slave/tasks_starting", count(S::Starting)),
            ("slave/tasks_running", count(S::Running)),
            ("slave/tasks_killing", count(S::Killing)),
            (
                "slave/executors_running",
                (core.executors.len()
                    + core
                        .tasks
                        .values()
                        .filter(|t| t.executor.is_none() && !t.state.is_terminal())
                        .count()) as f64,
            ),
            ("slave/cpus_total", total.scalar("cpus")),
            ("slave/mem_total", total.scalar("mem")),
            ("slave/disk_total", total.scalar("disk")),
            ("slave/cpus_used", used.scalar("cpus")),
            ("slave/mem_used", used.scalar("mem")),
            ("slave/disk_used", used.scalar("disk")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
