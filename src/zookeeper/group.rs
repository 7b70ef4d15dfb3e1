//! The masters' group under the URL's path, as Mesos keeps it (`src/zookeeper/group.cpp`):
//! members are ephemeral sequential children `json.info_<sequence>` holding MasterInfo JSON;
//! children whose names do not end in `_<digits>` (Mesos's `log_replicas`, anything else) are
//! not members; the member with the lowest sequence leads (`src/zookeeper/detector.cpp`).

use super::ZkUrl;
use crate::mesos::framework::MasterInfo;
use std::time::Duration;
use zookeeper_client as zk;

/// The label Mesos 1.x masters write their MasterInfo JSON under.
pub const MEMBER_LABEL: &str = "json.info";

#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    #[error("cannot reach ZooKeeper at {servers}: {source}")]
    Connect {
        servers: String,
        #[source]
        source: zk::Error,
    },
    #[error("ZooKeeper {op} {path}: {source}")]
    Op {
        op: &'static str,
        path: String,
        #[source]
        source: zk::Error,
    },
    #[error("the member {path} holds no MasterInfo JSON: {detail}")]
    BadMember { path: String, detail: String },
    #[error("cannot write this master's MasterInfo as JSON: {source}")]
    Encode {
        #[source]
        source: serde_json::Error,
    },
}

/// A master of the group, as a detector sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub sequence: i64,
    /// The znode's full path.
    pub path: String,
    pub info: MasterInfo,
}

/// Opens a session; `fail_eagerly` so an unreachable ensemble is an error after one round of
/// its servers instead of a wait as long as the session timeout. A `detached` session is not
/// closed when the client is dropped: it lives on until ZooKeeper expires it, as the session
/// of a process that crashed.
pub async fn connect(
    url: &ZkUrl,
    session_timeout: Duration,
    detached: bool,
) -> Result<zk::Client, ZkError> {
    let mut connector = zk::Client::connector();
    connector.session_timeout(session_timeout).fail_eagerly();
    if detached {
        connector.detached();
    }
    if let Some(auth) = &url.auth {
        connector.auth("digest".to_string(), auth.as_bytes().to_vec());
    }
    connector
        .connect(&url.connect_string())
        .await
        .map_err(|source| ZkError::Connect {
            servers: url.connect_string(),
            source,
        })
}

/// Creates the group's path (and its parents) when missing, as Mesos's group does.
pub async fn ensure_path(client: &zk::Client, path: &str) -> Result<(), ZkError> {
    if path == "/" {
        return Ok(());
    }
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    match client.mkdir(path, &options).await {
        Ok(()) | Err(zk::Error::NodeExists) => Ok(()),
        Err(source) => Err(ZkError::Op {
            op: "create",
            path: path.into(),
            source,
        }),
    }
}

/// Joins the group: an ephemeral sequential `json.info_` child holding `info` as JSON. The
/// membership lasts as long as the client's session. Returns the member's sequence and path.
pub async fn join(
    client: &zk::Client,
    url: &ZkUrl,
    info: &MasterInfo,
) -> Result<(i64, String), ZkError> {
    ensure_path(client, &url.path).await?;
    let prefix = child_path(&url.path, &format!("{MEMBER_LABEL}_"));
    let data = serde_json::to_vec(info).map_err(|source| ZkError::Encode { source })?;
    let options = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let (_, sequence) = client
        .create(&prefix, &data, &options)
        .await
        .map_err(|source| ZkError::Op {
            op: "create",
            path: prefix.clone(),
            source,
        })?;
    let path = format!("{prefix}{sequence}");
    Ok((sequence.into_i64(), path))
}

/// The sequence of a member's znode name, or `None` for a child that is not a member.
/// Mesos reads members of every label; only `json.info` members carry JSON, so only they can
/// be led by (the protobuf `info_` label has been deprecated since 0.24).
pub fn member_sequence(name: &str) -> Option<i64> {
    let (label, digits) = name.rsplit_once('_')?;
    if label != MEMBER_LABEL || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The leading child among `children`: the lowest member sequence.
pub fn leading_child(children: &[String]) -> Option<(i64, &str)> {
    children
        .iter()
        .filter_map(|name| member_sequence(name).map(|seq| (seq, name.as_str())))
        .min_by_key(|(seq, _)| *seq)
}

/// Reads the leader of the group once; returns it with a watcher that fires when the group
/// changes. `Ok((None, _))`: no master contends (or the path does not exist yet).
pub async fn leader(
    client: &zk::Client,
    url: &ZkUrl,
) -> Result<(Option<Member>, zk::OneshotWatcher), ZkError> {
    loop {
        let (children, watcher) = match client.list_and_watch_children(&url.path).await {
            Ok(listed) => listed,
            Err(zk::Error::NoNode) => {
                // Watch for the path to appear; the next read lists its children.
                let (stat, watcher) = client
                    .check_and_watch_stat(&url.path)
                    .await
                    .map_err(|source| op_error("stat", &url.path, source))?;
                if stat.is_some() {
                    continue;
                }
                return Ok((None, watcher));
            }
            Err(source) => return Err(op_error("list", &url.path, source)),
        };
        let Some((sequence, name)) = leading_child(&children) else {
            return Ok((None, watcher));
        };
        let path = child_path(&url.path, name);
        let data = match client.get_data(&path).await {
            Ok((data, _)) => data,
            // The leader left between the listing and the read: list again.
            Err(zk::Error::NoNode) => continue,
            Err(source) => return Err(op_error("get", &path, source)),
        };
        let info: MasterInfo = serde_json::from_slice(&data).map_err(|e| ZkError::BadMember {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        return Ok((
            Some(Member {
                sequence,
                path,
                info,
            }),
            watcher,
        ));
    }
}

fn op_error(op: &'static str, path: &str, source: zk::Error) -> ZkError {
    ZkError::Op {
        op,
        path: path.into(),
        source,
    }
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_info_children_with_a_sequence_are_members() {
        assert_eq!(member_sequence("json.info_0000000003"), Some(3));
        for other in [
            "log_replicas",
            "info_0000000001",
            "json.info_",
            "json.info_12a",
            "json.info",
        ] {
            assert_eq!(member_sequence(other), None, "{other}");
        }
    }

    #[test]
    fn the_lowest_sequence_leads_whatever_the_listing_order() {
        let children: Vec<String> = [
            "json.info_0000000007",
            "log_replicas",
            "json.info_0000000002",
            "json.info_0000000005",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(leading_child(&children), Some((2, "json.info_0000000002")));
        assert_eq!(leading_child(&["log_replicas".to_string()]), None);
    }

    #[test]
    fn child_paths_join_under_the_root_too() {
        assert_eq!(child_path("/", "json.info_"), "/json.info_");
        assert_eq!(child_path("/mesos", "json.info_"), "/mesos/json.info_");
    }
}
