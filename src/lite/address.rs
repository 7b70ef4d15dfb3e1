//! Where a node binds and what it advertises, resolved as libprocess does: `--ip` / `--port` set
//! `LIBPROCESS_IP` / `LIBPROCESS_PORT`; the advertised address (`--advertise_ip`,
//! `LIBPROCESS_ADVERTISE_IP`) is what goes into PIDs and MasterInfo and what peers connect to.

use crate::flags::{FlagError, Flags};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

#[derive(Clone, Debug, PartialEq)]
pub struct NodeAddress {
    /// The socket address the HTTP server binds.
    pub bind: SocketAddr,
    /// The address peers use. Port 0 in `bind` is replaced once the listener is bound.
    pub advertise_ip: Ipv4Addr,
    pub advertise_port: Option<u16>,
    pub hostname: String,
}

/// An address flag (or its `LIBPROCESS_*` variable) that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("--{flag}={value} is not an IPv4 address")]
    NotIpv4 { flag: &'static str, value: String },
    #[error("--port={0} is not a port number (0-65535)")]
    BadPort(String),
    #[error("--advertise_port={0} is not a port number")]
    BadAdvertisePort(String),
    #[error(transparent)]
    Flag(#[from] FlagError),
}

impl NodeAddress {
    /// Resolves the address from flags, falling back to the `LIBPROCESS_*` variables in `env`.
    pub fn resolve(
        flags: &Flags,
        env: &dyn Fn(&str) -> Option<String>,
        default_port: u16,
    ) -> Result<NodeAddress, AddressError> {
        let ip_text = flags
            .get("ip")
            .map(String::from)
            .or_else(|| env("LIBPROCESS_IP"));
        let bind_ip: Ipv4Addr = match ip_text {
            Some(t) => t.parse().map_err(|_| AddressError::NotIpv4 {
                flag: "ip",
                value: t.clone(),
            })?,
            None => Ipv4Addr::UNSPECIFIED,
        };
        let port: u16 = match flags
            .get("port")
            .map(String::from)
            .or_else(|| env("LIBPROCESS_PORT"))
        {
            Some(t) => t.parse().map_err(|_| AddressError::BadPort(t.clone()))?,
            None => default_port,
        };
        let hostname_lookup = flags.bool("hostname_lookup")?.unwrap_or(true);
        let advertise_text = flags
            .get("advertise_ip")
            .map(String::from)
            .or_else(|| env("LIBPROCESS_ADVERTISE_IP"));
        let advertise_ip = match advertise_text {
            Some(t) => t.parse().map_err(|_| AddressError::NotIpv4 {
                flag: "advertise_ip",
                value: t.clone(),
            })?,
            None if !bind_ip.is_unspecified() => bind_ip,
            None => host_ip().unwrap_or(Ipv4Addr::LOCALHOST),
        };
        let advertise_port = match flags
            .get("advertise_port")
            .map(String::from)
            .or_else(|| env("LIBPROCESS_ADVERTISE_PORT"))
        {
            Some(t) => Some(
                t.parse()
                    .map_err(|_| AddressError::BadAdvertisePort(t.clone()))?,
            ),
            None => None,
        };
        let hostname = match flags.get("hostname") {
            Some(h) => h.to_string(),
            None if hostname_lookup => {
                system_hostname().unwrap_or_else(|| advertise_ip.to_string())
            }
            None => advertise_ip.to_string(),
        };
        Ok(NodeAddress {
            bind: SocketAddr::new(IpAddr::V4(bind_ip), port),
            advertise_ip,
            advertise_port,
            hostname,
        })
    }

    /// An address on loopback with an ephemeral port, for in-process clusters.
    pub fn loopback() -> NodeAddress {
        NodeAddress {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            advertise_ip: Ipv4Addr::LOCALHOST,
            advertise_port: None,
            hostname: "127.0.0.1".into(),
        }
    }
}

/// The machine's hostname, as `gethostname(2)` gives it.
pub fn system_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec())
        .ok()
        .filter(|s| !s.is_empty())
}

/// The IPv4 address the hostname resolves to, as libprocess picks its default address.
fn host_ip() -> Option<Ipv4Addr> {
    let host = system_hostname()?;
    (host.as_str(), 0)
        .to_socket_addrs()
        .ok()?
        .find_map(|a| match a.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::{FlagSpec, Flags};

    const SPECS: &[FlagSpec] = &[
        FlagSpec {
            name: "ip",
            default: None,
            help: "",
        },
        FlagSpec {
            name: "port",
            default: None,
            help: "",
        },
        FlagSpec {
            name: "advertise_ip",
            default: None,
            help: "",
        },
        FlagSpec {
            name: "advertise_port",
            default: None,
            help: "",
        },
        FlagSpec {
            name: "hostname",
            default: None,
            help: "",
        },
        FlagSpec {
            name: "hostname_lookup",
            default: None,
            help: "",
        },
    ];

    fn flags(args: &[&str]) -> Flags {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Flags::load(SPECS, vec![], &args).unwrap()
    }

    #[test]
    fn flags_win_over_libprocess_environment() {
        let env = |k: &str| match k {
            "LIBPROCESS_IP" => Some("10.0.0.5".to_string()),
            "LIBPROCESS_ADVERTISE_IP" => Some("192.0.2.1".to_string()),
            _ => None,
        };
        let a =
            NodeAddress::resolve(&flags(&["--ip=127.0.0.2", "--port=6000"]), &env, 5050).unwrap();
        assert_eq!(a.bind, "127.0.0.2:6000".parse().unwrap());
        assert_eq!(a.advertise_ip, Ipv4Addr::new(192, 0, 2, 1));

        let a = NodeAddress::resolve(&flags(&["--no-hostname_lookup"]), &env, 5050).unwrap();
        assert_eq!(a.bind, "10.0.0.5:5050".parse().unwrap());
        assert_eq!(a.hostname, "192.0.2.1");
    }

    #[test]
    fn bound_ip_is_advertised_by_default() {
        let a = NodeAddress::resolve(
            &flags(&["--ip=127.0.0.3", "--hostname=node"]),
            &|_| None,
            5051,
        )
        .unwrap();
        assert_eq!(a.advertise_ip, Ipv4Addr::new(127, 0, 0, 3));
        assert_eq!(a.hostname, "node");
    }

    #[test]
    fn bad_addresses_are_errors() {
        let err = NodeAddress::resolve(&flags(&["--ip=localhost"]), &|_| None, 5050)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--ip=localhost"), "{err}");
        let err = NodeAddress::resolve(&flags(&["--port=70000"]), &|_| None, 5050)
            .unwrap_err()
            .to_string();
        assert!(err.contains("port number"), "{err}");
    }
}
