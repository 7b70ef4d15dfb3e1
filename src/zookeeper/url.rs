//! `zk://[auth@]host1:port1,host2:port2/path`, parsed as Mesos parses it
//! (`src/zookeeper/url.cpp`): the path is everything from the first `/` after the hosts
//! (default `/`), the optional `auth@` holds digest credentials. `--zk` and `--master` also
//! take `file:///path` naming a file that holds such a URL.

use std::fmt;

/// A ZooKeeper URL that does not parse, or a `file://` one that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ZkUrlError(pub String);

impl From<&str> for ZkUrlError {
    fn from(message: &str) -> ZkUrlError {
        ZkUrlError(message.to_string())
    }
}

impl From<String> for ZkUrlError {
    fn from(message: String) -> ZkUrlError {
        ZkUrlError(message)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkUrl {
    /// Digest credentials (`user:password`) when the URL has them.
    pub auth: Option<String>,
    /// `host:port` of every server, in the URL's order.
    pub servers: Vec<String>,
    /// The znode under which masters contend, e.g. `/mesos`.
    pub path: String,
}

impl ZkUrl {
    /// Parses a `zk://` URL, or reads one from the file a `file://` URL names.
    pub fn from_flag(text: &str) -> Result<ZkUrl, ZkUrlError> {
        let text = text.trim();
        if let Some(file) = text.strip_prefix("file://") {
            let contents = std::fs::read_to_string(file).map_err(|e| {
                format!("cannot read the ZooKeeper URL from {file}: {e} (give zk://host:port/path or a file holding it)")
            })?;
            return ZkUrl::parse(&contents)
                .map_err(|e| format!("the ZooKeeper URL in {file} is not valid: {e}").into());
        }
        ZkUrl::parse(text)
    }

    pub fn parse(text: &str) -> Result<ZkUrl, ZkUrlError> {
        let text = text.trim();
        let rest = text.strip_prefix("zk://").ok_or_else(|| {
            format!("\"{text}\": expected a ZooKeeper URL like zk://host:2181/mesos")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let path = if path.is_empty() { "/" } else { path };
        let (auth, hosts) = match authority.rsplit_once('@') {
            Some((auth, hosts)) => (Some(auth.to_string()), hosts),
            None => (None, authority),
        };
        if let Some(auth) = &auth
            && !auth.contains(':')
        {
            return Err(
                format!("\"{text}\": credentials must be user:password before the '@'").into(),
            );
        }
        let servers: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(String::from)
            .collect();
        if servers.is_empty() {
            return Err(format!(
                "\"{text}\": no ZooKeeper server in the URL (expected zk://host:2181/mesos)"
            )
            .into());
        }
        for server in &servers {
            let port_ok = server
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !port_ok {
                return Err(format!(
                    "\"{text}\": \"{server}\" must be host:port (ZooKeeper's port is usually 2181)"
                )
                .into());
            }
        }
        Ok(ZkUrl {
            auth,
            servers,
            path: path.to_string(),
        })
    }

    /// The servers as ZooKeeper clients take them: `host1:port1,host2:port2`.
    pub fn connect_string(&self) -> String {
        self.servers.join(",")
    }
}

impl fmt::Display for ZkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zk://")?;
        if let Some(auth) = &self.auth {
            write!(f, "{auth}@")?;
        }
        write!(f, "{}{}", self.connect_string(), self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_servers_path_and_credentials() {
        let url = ZkUrl::parse("zk://u:p@zk1:2181,zk2:2182/mesos").unwrap();
        assert_eq!(url.auth.as_deref(), Some("u:p"));
        assert_eq!(url.servers, ["zk1:2181", "zk2:2182"]);
        assert_eq!(url.path, "/mesos");
        assert_eq!(url.to_string(), "zk://u:p@zk1:2181,zk2:2182/mesos");
        assert_eq!(url.connect_string(), "zk1:2181,zk2:2182");
    }

    #[test]
    fn path_defaults_to_root_and_keeps_nesting() {
        assert_eq!(ZkUrl::parse("zk://127.0.0.1:2181").unwrap().path, "/");
        assert_eq!(
            ZkUrl::parse("zk://127.0.0.1:2181/a/b/").unwrap().path,
            "/a/b"
        );
    }

    #[test]
    fn refuses_what_is_not_a_zookeeper_url() {
        for bad in [
            "127.0.0.1:5050",
            "zk:///mesos",
            "zk://zk/mesos",
            "zk://zk:notaport/mesos",
            "zk://user@zk:2181/mesos",
        ] {
            assert!(ZkUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_url_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zk");
        std::fs::write(&file, "zk://zk:2181/mesos\n").unwrap();
        let url = ZkUrl::from_flag(&format!("file://{}", file.display())).unwrap();
        assert_eq!(url.to_string(), "zk://zk:2181/mesos");
        let missing = ZkUrl::from_flag("file:///nonexistent/zk").unwrap_err();
        assert!(missing.0.contains("cannot read"), "{missing}");
    }
}
