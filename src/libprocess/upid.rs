//! A libprocess process id, `id@host:port` (`master@10.0.0.1:5050`, `slave(1)@…`,
//! `scheduler-<uuid>@…`, `executor(1)@…`).

use std::fmt;
use std::str::FromStr;

/// A process's address. The host is kept as written: mesos-go compares pids as text, so the
/// master must quote its own pid exactly as it advertises it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Upid {
    pub id: String,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("'{0}' is not a libprocess pid (expected id@host:port)")]
pub struct UpidError(pub String);

impl Upid {
    pub fn new(id: impl Into<String>, host: impl Into<String>, port: u16) -> Upid {
        Upid {
            id: id.into(),
            host: host.into(),
            port,
        }
    }

    /// `host:port`, where its messages are delivered.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.id, self.host, self.port)
    }
}

impl FromStr for Upid {
    type Err = UpidError;

    fn from_str(text: &str) -> Result<Upid, UpidError> {
        let invalid = || UpidError(text.to_string());
        let (id, address) = text.trim().split_once('@').ok_or_else(invalid)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(invalid)?;
        let port: u16 = port.parse().map_err(|_| invalid())?;
        let id_ok = !id.is_empty() && !id.contains(['/', ' ', '?', '#']);
        if !id_ok || host.is_empty() || port == 0 {
            return Err(invalid());
        }
        Ok(Upid::new(id, host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_pids_real_drivers_use() {
        for text in [
            "master@127.0.0.1:5050",
            "slave(1)@10.0.0.2:5051",
            "scheduler-6f1c2a5e-0d1b-4c47-9c1e-2f3a4b5c6d7e@192.168.1.4:41234",
            "executor(1)@172.17.0.3:33333",
            "scheduler(1)@my-host.local:40000",
        ] {
            let pid: Upid = text.parse().unwrap();
            assert_eq!(pid.to_string(), text);
        }
        let pid: Upid = "slave(1)@10.0.0.2:5051".parse().unwrap();
        assert_eq!(pid.id, "slave(1)");
        assert_eq!(pid.address(), "10.0.0.2:5051");
    }

    #[test]
    fn refuses_what_is_not_a_pid() {
        for text in [
            "",
            "master",
            "master@",
            "@1.2.3.4:5",
            "m@1.2.3.4",
            "m@1.2.3.4:x",
            "m@:5",
            "m@h:0",
            "a/b@h:1",
        ] {
            assert!(text.parse::<Upid>().is_err(), "{text}");
        }
    }
}
