//! The agent's one way of sending to the master: every message (registration, status
//! updates, executor messages, goodbye) goes as a JSON POST to the leading master, through the
//! agent's fault gate — so pausing or partitioning an agent holds back all of them alike, as
//! Mesos's one agent-to-master connection would.

use super::AgentShared;
use serde::Serialize;
use std::time::Duration;

/// Why a message did not reach the master.
#[derive(Debug, thiserror::Error)]
pub enum ToMasterError {
    /// With `--master=zk://…`, between leaders.
    #[error("ZooKeeper names no leading master yet")]
    NoLeader,
    /// The fault gate held it back: the agent is partitioned, or has stopped.
    #[error(transparent)]
    Fault(#[from] super::fault::Blocked),
    /// The request failed on the network; the text has reqwest's whole cause chain
    /// (its own message is only "error sending request").
    #[error("{}", crate::errors::error_chain(.0))]
    Http(reqwest::Error),
}

impl AgentShared {
    /// POSTs `body` as JSON to the leading master's `path` with `client`, through the fault
    /// gate, and returns the master's answer whatever its status.
    pub(super) async fn post_to_master<T: Serialize + ?Sized>(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: &T,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, ToMasterError> {
        let master = self.master_url().ok_or(ToMasterError::NoLeader)?;
        let mut request = client.post(format!("{master}{path}")).json(body);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        self.faults
            .send(&self.stopped, request.send())
            .await
            .map_err(ToMasterError::Fault)?
            .map_err(ToMasterError::Http)
    }
}
