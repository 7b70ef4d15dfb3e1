//! A real, standalone Apache ZooKeeper server as a child process on 127.0.0.1: what the
//! embedded backend runs for a cluster with ZooKeeper.
//!
//! The server owns a temporary directory holding its `zoo.cfg` and its data directory; it
//! survives `stop()` and `start()` (ZooKeeper persists every write to its data directory, so a
//! restarted server has the same znodes and the same port) and is removed on drop.
//!
//! The process is a [`FrameworkProcess`]: the one mechanism by which mmrun's host processes
//! die with it (own process group, `PR_SET_PDEATHSIG`, the process guard), which also removes
//! the temporary directory should mmrun be killed. Nothing of it outlives mmrun.

use super::install::{MAIN_CLASS, NotInstalled, ZooKeeperInstall};
use crate::process::guard::{Watched, watch_dir};
use crate::process::{FrameworkProcess, FrameworkStatus, ProcessRequest, STOP_GRACE};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long `start()` waits for `ruok` to answer `imok` by default. A JVM on a busy 2-core
/// machine takes a second or two; this leaves room for much worse.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How many of the server's last log lines an error shows.
const LOG_LINES: usize = 20;
/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(20);

/// JVM options for a small, quickly started test server: a modest heap, the serial collector,
/// the C1 compiler only, and no `/tmp/hsperfdata_*` files. The Docker image's entrypoint
/// (`docker::node_image::zookeeper`) uses the same.
pub const JVM_OPTIONS: [&str; 5] = [
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
];

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    NotInstalled(#[from] NotInstalled),

    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot start ZooKeeper: {0}")]
    Spawn(#[from] crate::process::ProcessError),

    #[error(
        "ZooKeeper (127.0.0.1:{port}) exited with status {status} while starting{logs}\n  (if it says \"Address already in use\", another process has port {port}: `ss -ltnp 'sport = :{port}'` tells which)"
    )]
    Exited {
        port: u16,
        status: i32,
        logs: String,
    },

    #[error(
        "ZooKeeper (127.0.0.1:{port}) did not answer `ruok` with `imok` within {timeout:?}{logs}"
    )]
    Timeout {
        port: u16,
        timeout: Duration,
        logs: String,
    },
}

/// One standalone ZooKeeper server (see the module comment).
pub struct ZooKeeperServer {
    // Fields drop in this order: the process is killed before its directory is removed, and
    // the directory is removed before the process guard forgets it.
    /// Created by the first `start()`; keeps the log across restarts.
    process: Option<FrameworkProcess>,
    /// `zoo.cfg` and `data/`; removed on drop.
    dir: tempfile::TempDir,
    /// Removes `dir` should mmrun die without dropping this (SIGKILL).
    _dir_watched: Watched,
    install: ZooKeeperInstall,
    port: u16,
    start_timeout: Duration,
}

impl ZooKeeperServer {
    /// Prepares a server on 127.0.0.1:`port` (`None`: a free port, chosen now and kept across
    /// restarts) with a fresh data directory. Nothing runs until [`start`](Self::start).
    pub fn new(
        install: &ZooKeeperInstall,
        port: Option<u16>,
    ) -> Result<ZooKeeperServer, ServerError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |source| ServerError::Io { what, source }
        };
        let port = match port {
            Some(port) => port,
            None => free_port().map_err(io("find a free port on 127.0.0.1"))?,
        };
        let dir = tempfile::Builder::new()
            .prefix("mmrun-zookeeper-")
            .tempdir()
            .map_err(io("create a temporary directory for ZooKeeper"))?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(io(&format!("create {}", data.display())))?;
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(&cfg, zoo_cfg(&data, port))
            .map_err(io(&format!("write {}", cfg.display())))?;
        Ok(ZooKeeperServer {
            install: install.clone(),
            port,
            _dir_watched: watch_dir(dir.path()),
            dir,
            process: None,
            start_timeout: START_TIMEOUT,
        })
    }

    /// How long [`start`](Self::start) waits for the server to answer (default [`START_TIMEOUT`]).
    pub fn with_start_timeout(mut self, timeout: Duration) -> ZooKeeperServer {
        self.start_timeout = timeout;
        self
    }

    /// Starts the server (again, after `stop()` or `kill()`: same port, same data) and returns
    /// once `ruok` answers `imok`. Already running: returns at once. On failure the process is
    /// killed and the error holds its last log lines.
    pub async fn start(&mut self) -> Result<(), ServerError> {
        if self.is_running() {
            return Ok(());
        }
        match &mut self.process {
            Some(process) => process.restart().await.map_err(ServerError::Spawn)?,
            None => {
                let request = ProcessRequest {
                    argv: self.argv(),
                    env: vec![],
                    cwd: Some(self.dir.path().to_path_buf()),
                };
                let process = FrameworkProcess::start("zookeeper".into(), request)
                    .await
                    .map_err(ServerError::Spawn)?;
                self.process = Some(process);
            }
        }
        let deadline = tokio::time::Instant::now() + self.start_timeout;
        loop {
            if ruok(self.addr()).await {
                return Ok(());
            }
            // The process started above is the one to watch.
            if let Some(process) = &mut self.process
                && let FrameworkStatus::Exited(status) = process.status()
            {
                return Err(ServerError::Exited {
                    port: self.port,
                    status,
                    logs: self.log_tail(),
                });
            }
            if tokio::time::Instant::now() >= deadline {
                if let Some(process) = &mut self.process {
                    process.stop(None).await;
                }
                return Err(ServerError::Timeout {
                    port: self.port,
                    timeout: self.start_timeout,
                    logs: self.log_tail(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops the server gracefully (SIGTERM, SIGKILL after 5 s) and waits for it to end.
    pub async fn stop(&mut self) {
        if let Some(process) = &mut self.process {
            process.stop(Some(STOP_GRACE)).await;
        }
    }

    /// Kills the server (SIGKILL to its process group) and waits for it to end.
    pub async fn kill(&mut self) {
        if let Some(process) = &mut self.process {
            process.stop(None).await;
        }
    }

    /// Whether the server process runs (not whether it answers yet).
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| p.status() == FrameworkStatus::Running)
    }

    /// The client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`: what ZooKeeper clients take, and the host part of a `zk://` URL.
    pub fn connect_string(&self) -> String {
        self.addr().to_string()
    }

    /// `zk://127.0.0.1:<port><path>`, the URL Mesos masters, agents and frameworks take
    /// (`path` such as `/mesos`).
    pub fn zk_url(&self, path: &str) -> String {
        format!("zk://{}{path}", self.connect_string())
    }

    /// Everything the server logged (stdout and stderr, across restarts).
    pub fn logs(&self) -> String {
        self.process
            .as_ref()
            .map(FrameworkProcess::logs)
            .unwrap_or_default()
    }

    /// The server's data directory (snapshots and transaction logs).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's `zoo.cfg`.
    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("zoo.cfg")
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.install.java.display().to_string()];
        argv.extend(JVM_OPTIONS.iter().map(|o| o.to_string()));
        argv.extend([
            "-cp".to_string(),
            self.install.classpath_string(),
            MAIN_CLASS.to_string(),
            self.config_file().display().to_string(),
        ]);
        argv
    }

    /// The last log lines, formatted to follow an error message.
    fn log_tail(&self) -> String {
        let logs = self.logs();
        let lines: Vec<&str> = logs.lines().collect();
        if lines.is_empty() {
            return "; it wrote no log lines".into();
        }
        let tail = &lines[lines.len().saturating_sub(LOG_LINES)..];
        let indented: Vec<String> = tail.iter().map(|l| format!("    {l}")).collect();
        format!("; its last log lines:\n{}", indented.join("\n"))
    }
}

/// A standalone server's configuration: bound to loopback only, no admin HTTP server (it would
/// take port 8080), the four-letter words readiness checks use, sessions as short as 1 s (the
/// default minimum is 2 ticks) and a short tick (`zookeeper::TICK`), so a killed master loses
/// its leadership quickly.
fn zoo_cfg(data: &Path, port: u16) -> String {
    format!(
        "tickTime={}\n\
         initLimit=10\n\
         syncLimit=5\n\
         dataDir={}\n\
         clientPort={port}\n\
         clientPortAddress=127.0.0.1\n\
         admin.enableServer=false\n\
         4lw.commands.whitelist=ruok,srvr\n\
         minSessionTimeout={}\n\
         maxSessionTimeout={}\n",
        super::TICK.as_millis(),
        data.display(),
        super::MIN_SESSION_TIMEOUT.as_millis(),
        super::MAX_SESSION_TIMEOUT.as_millis()
    )
}

/// A port that is free on 127.0.0.1 now (the kernel's choice). ZooKeeper binds it a moment
/// later; another process could take it in between, which `start()` then reports.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether the ZooKeeper server at `addr` answers the `ruok` four-letter word with `imok`
/// (within a second): it is serving. Works for a child process and, through its published
/// port, for a container alike.
pub async fn ruok(addr: SocketAddr) -> bool {
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(b"ruok").await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), ask).await,
        Ok(Ok(answer)) if answer == b"imok"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_binds_loopback_and_allows_ruok() {
        let cfg = zoo_cfg(Path::new("/tmp/x/data"), 2999);
        for line in [
            "dataDir=/tmp/x/data",
            "clientPort=2999",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr",
            "tickTime=500",
            "minSessionTimeout=1000",
            "maxSessionTimeout=40000",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} missing from\n{cfg}");
        }
    }

    /// Clusters keep their server behind a lock and across tasks.
    #[test]
    fn a_server_can_be_shared_between_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<std::sync::Mutex<ZooKeeperServer>>();
    }

    #[tokio::test]
    async fn ruok_is_false_where_nothing_answers_imok() {
        let port = free_port().unwrap();
        assert!(!ruok(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await);
        // Something that accepts and closes (as docker-proxy does before the container
        // listens) is not ready either.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            drop(stream);
        });
        assert!(!ruok(addr).await);
    }
}
