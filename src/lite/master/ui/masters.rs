//! `/ui/masters`: every master of the cluster, so the web UI can find the next leader even when
//! the master it was opened on is the one that stopped. Masters do not know each other; with
//! `--zk` they are the members of the ZooKeeper group, read once per request (the page asks
//! every few seconds, never in a loop). Without ZooKeeper a master is alone.

use super::super::MasterShared;
use crate::mesos::framework::MasterInfo;
use crate::zookeeper::group;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::sync::Arc;
use zookeeper_client as zk;

/// How long one read of the group may take before the master answers with itself alone.
const READ_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

pub(super) async fn masters(State(m): State<Arc<MasterShared>>) -> Json<Value> {
    let mut masters = vec![m.info.clone()];
    if let Some(url) = &m.config.zk {
        let read = tokio::time::timeout(READ_WITHIN, members(url, m.config.zk_session_timeout));
        match read.await {
            Ok(Ok(members)) => masters = members,
            Ok(Err(e)) => tracing::debug!(
                "the web UI's list of masters: {}",
                crate::errors::error_chain(&e)
            ),
            Err(_) => tracing::debug!("the web UI's list of masters: ZooKeeper did not answer"),
        }
    }
    let masters: Vec<Value> = masters
        .iter()
        .map(|i| json!({"id": i.id, "pid": i.pid, "hostname": i.hostname, "port": i.port}))
        .collect();
    Json(json!({ "masters": masters }))
}

/// Why the group's members could not be read.
#[derive(Debug, thiserror::Error)]
enum MembersError {
    #[error(transparent)]
    Connect(#[from] group::ZkError),
    #[error(transparent)]
    Read(#[from] zk::Error),
}

/// The group's members in their order (the leader first), each as it wrote its MasterInfo.
async fn members(
    url: &crate::zookeeper::ZkUrl,
    session: std::time::Duration,
) -> Result<Vec<MasterInfo>, MembersError> {
    let client = group::connect(url, session, false).await?;
    let mut children: Vec<(i64, String)> = client
        .list_children(&url.path)
        .await?
        .into_iter()
        .filter_map(|name| group::member_sequence(&name).map(|seq| (seq, name)))
        .collect();
    children.sort();
    let mut infos = Vec::new();
    for (_, name) in children {
        let path = format!("{}/{name}", url.path.trim_end_matches('/'));
        match client.get_data(&path).await {
            Ok((data, _)) => infos.extend(serde_json::from_slice::<MasterInfo>(&data).ok()),
            // A member that left between the listing and the read.
            Err(zk::Error::NoNode) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(infos)
}
