//! The agent's identity on disk, where Mesos keeps it: `<work_dir>/meta/slaves/latest` names
//! the id the agent last registered with. An agent restarted on the same work dir (a container
//! stopped and started again) recovers it and re-registers as the same agent instead of
//! appearing as a new one.

use crate::mesos::ids::AgentId;
use std::path::{Path, PathBuf};

fn latest(work_dir: &Path) -> PathBuf {
    work_dir.join("meta").join("slaves").join("latest")
}

/// The id checkpointed in `work_dir`, if any.
pub fn recover_agent_id(work_dir: &Path) -> Option<AgentId> {
    let text = std::fs::read_to_string(latest(work_dir)).ok()?;
    let id = text.trim();
    (!id.is_empty()).then(|| AgentId::new(id))
}

/// Records the id; failure only costs the identity on a restart, so it is logged, not fatal.
pub fn checkpoint_agent_id(work_dir: &Path, id: &AgentId) {
    let path = latest(work_dir);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, &id.value));
    if let Err(e) = written {
        tracing::warn!("cannot checkpoint the agent id to {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_survives_a_restart_on_the_same_work_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recover_agent_id(dir.path()), None);
        checkpoint_agent_id(dir.path(), &AgentId::new("a-S0"));
        assert_eq!(recover_agent_id(dir.path()), Some(AgentId::new("a-S0")));
    }
}
