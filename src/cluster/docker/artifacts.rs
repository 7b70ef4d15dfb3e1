//! What a Docker cluster leaves and how it goes: every node's log saved as an artifact, the
//! lines that tell how to reach a kept cluster, and the teardown that removes every container
//! and the network (by the cluster's run label, so nothing it made is missed).

use super::cluster::DockerCluster;
use super::node::NodeContainer;
use crate::cluster::ClusterHandle;
use crate::docker::Selector;
use crate::process;
use std::path::{Path, PathBuf};

impl DockerCluster {
    pub(super) fn nodes(&self) -> Vec<&NodeContainer> {
        let containers = self.frameworks.containers();
        self.zookeeper
            .iter()
            .chain(self.masters.iter().map(|m| &m.node))
            .chain(self.agents.iter().map(|a| &a.node))
            .chain(containers)
            .collect()
    }

    pub(super) async fn save_node_logs(&self, dir: &Path) -> Vec<PathBuf> {
        let mut saved = process::save_logs(self.frameworks.processes(), dir);
        let mut logs: Vec<(String, String)> = self.earlier_logs.clone();
        for node in self.nodes() {
            let text = self
                .docker
                .container_logs(&node.id)
                .await
                .unwrap_or_else(|e| format!("(cannot read the logs: {e})\n"));
            logs.push((node.label.clone(), text));
        }
        for (label, text) in logs {
            let path = dir.join(log_file_name(&label));
            if std::fs::write(&path, text).is_ok() {
                saved.push(path);
            }
        }
        saved
    }

    pub(super) fn describe_reach(&self) -> Option<String> {
        let mut lines = vec![format!(
            "cluster {} on network {}:",
            self.layout.owner.run, self.layout.network
        )];
        if let Some(url) = ClusterHandle::zookeeper_url(self) {
            lines.push(format!(
                "  zookeeper {url}  (masters, agents and frameworks find the leader there)"
            ));
        }
        for m in &self.masters {
            lines.push(format!(
                "  {}   {}  (container {}, {} on the network)",
                m.node.label,
                m.node.url().unwrap_or_default(),
                m.node.name,
                m.node.ip
            ));
        }
        // Any master's `/` serves the web UI, which follows the leader itself.
        if let Some(url) = self.masters.first().and_then(|m| m.node.url()) {
            lines.push(format!("  web UI    {url}/"));
        }
        for a in &self.agents {
            lines.push(format!(
                "  {}  {}  (container {})",
                a.node.label,
                a.node.url().unwrap_or_default(),
                a.node.name
            ));
        }
        lines.push(format!(
            "  remove it with: mmrun down {}",
            self.layout.owner.run
        ));
        Some(lines.join("\n"))
    }

    pub(super) async fn remove_everything(&mut self) {
        // Framework processes on this host first: they would only see their master vanish.
        self.frameworks.stop_processes().await;
        // Every node container this handle knows, all at once (each removal is a kill, not a
        // graceful stop: nothing of a cluster being torn down needs to end cleanly). Agents
        // must be among them before the sweep below lists the rest, so none starts a task
        // container after the sweep has listed them; the master goes with them rather than
        // after, which would cost one more removal's latency.
        let phase = crate::timing::phase("teardown.nodes");
        let nodes = self
            .nodes()
            .into_iter()
            .map(|n| self.docker.remove_container(&n.id));
        for r in futures::future::join_all(nodes).await {
            if let Err(e) = r {
                tracing::warn!("{e}");
            }
        }
        phase.end();
        // Then everything labelled with this cluster's run id: nodes, framework and task
        // containers, and the network.
        let _phase = crate::timing::phase("teardown.rest");
        let selector = Selector::run(&self.layout.owner.run);
        if let Err(e) = crate::docker::remove_labelled(&self.docker, &selector).await {
            eprintln!("mmrun: cleaning up cluster {}: {e}", self.layout.owner.run);
        }
    }
}

/// `master (before restart)` → `master__before_restart_.log`: a node's log file name.
fn log_file_name(label: &str) -> String {
    format!("{}.log", label.replace([' ', '(', ')'], "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_log_is_named_after_the_node_with_no_spaces_or_parentheses() {
        assert_eq!(log_file_name("agent-2"), "agent-2.log");
        assert_eq!(
            log_file_name("master (before restart)"),
            "master__before_restart_.log"
        );
    }
}
