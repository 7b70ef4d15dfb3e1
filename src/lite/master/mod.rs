//! mmrun's Mesos-compatible master: the v1 scheduler and operator APIs, the legacy JSON
//! endpoints, an event-driven DRF allocator and agent liveness, over one in-memory registry.
//!
//! `model` holds the data; `frameworks`, `allocator`, `tasks` and `agents` hold the behaviour
//! (each an `impl MasterShared` block); `scheduler_api`, `operator_api`, `legacy_api`,
//! `agent_api`, `roles` and `ui` (the web UI) are the HTTP faces; `views` renders the registry
//! as Mesos's JSON shapes.

mod agent_api;
mod agent_link;
mod agent_removal;
mod agents;
mod allocator;
mod config;
mod driver;
mod driver_api;
mod executors;
mod frameworks;
mod heartbeats;
mod leadership;
mod legacy_api;
mod model;
mod operator_api;
mod operator_events;
mod operator_views;
mod roles;
mod scheduler_api;
mod scheduler_call;
mod task_validation;
mod tasks;
mod ui;
mod views;

pub use config::{MASTER_FLAGS, MasterConfig, MasterConfigError};
pub use leadership::{Leadership, leader_base};
pub use views::version_info;

use crate::libprocess::Upid;
use crate::lite::http::serve;
use crate::mesos::framework::{Capability, MasterInfo};
use crate::mesos::task::now_seconds;
use crate::zookeeper::Contender;
use axum::Router;
use model::MasterCore;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the master can do, as Mesos 1.11's `MASTER_CAPABILITIES()`: in its MasterInfo (the
/// JSON it writes to ZooKeeper, which clients read) and in `/master/state`.
pub const MASTER_CAPABILITIES: [&str; 3] = ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"];

/// State shared by every handler and background task of one master.
pub struct MasterShared {
    core: Mutex<MasterCore>,
    pub config: MasterConfig,
    pub info: MasterInfo,
    pub start_time: f64,
    http: reqwest::Client,
    /// `master@ip:port`, exactly as `info.pid` (drivers compare it as text).
    pid: Upid,
    agent_pids: Arc<driver::AgentPids>,
    /// Hosts of simulated agents with a pinger running (`agent_link::ping_host`), by base URL.
    pinged_hosts: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Cancelled when the master stops; every background task watches a child of it.
    stopped: CancellationToken,
    /// This master's candidacy when it contends through ZooKeeper (`--zk`).
    contender: Option<Contender>,
    /// When it was last elected; `None` while it does not lead.
    elected_at: Mutex<Option<f64>>,
    /// Why it stopped on its own (lost its ZooKeeper session or its leadership).
    lost: Mutex<Option<String>>,
    /// The operator API's event streams (SUBSCRIBE).
    operator_events: operator_events::OperatorSubscribers,
}

impl MasterShared {
    /// The registry lock. Held only for in-memory work, never across an await.
    fn core(&self) -> MutexGuard<'_, MasterCore> {
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` after `delay` unless the master stops or `cancel` fires first.
    fn after(
        self: &Arc<Self>,
        delay: std::time::Duration,
        cancel: Option<CancellationToken>,
        f: impl FnOnce(&Arc<MasterShared>) + Send + 'static,
    ) {
        let master = self.clone();
        let stopped = self.stopped.clone();
        let cancel = cancel.unwrap_or_default();
        crate::node_log::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => f(&master),
                _ = stopped.cancelled() => {}
                _ = cancel.cancelled() => {}
            }
        });
    }
}

/// A running master.
pub struct Master {
    shared: Arc<MasterShared>,
    addr: SocketAddr,
    server: Option<JoinHandle<()>>,
}

impl Master {
    /// Binds the configured address and starts serving.
    pub async fn start(config: MasterConfig) -> std::io::Result<Master> {
        let listener = TcpListener::bind(config.address.bind).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("master cannot listen on {}: {e}", config.address.bind),
            )
        })?;
        Master::start_on(listener, config)
    }

    /// Serves on an already bound listener (tests and in-process clusters bind 127.0.0.1:0).
    pub fn start_on(listener: TcpListener, config: MasterConfig) -> std::io::Result<Master> {
        let addr = listener.local_addr()?;
        let port = config.address.advertise_port.unwrap_or(addr.port());
        let id = uuid::Uuid::new_v4().to_string();
        let mut info = MasterInfo::new(
            &id,
            config.address.advertise_ip,
            port,
            &config.address.hostname,
            crate::mesos::MESOS_VERSION,
        );
        info.capabilities = MASTER_CAPABILITIES
            .iter()
            .map(|kind| Capability {
                kind: kind.to_string(),
            })
            .collect();
        let start_time = now_seconds();
        let contender = config
            .zk
            .clone()
            .map(|zk| Contender::start(zk, config.zk_session_timeout, info.clone()));
        let alone = contender.is_none();
        let pid: Upid = info
            .pid
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let shared = Arc::new(MasterShared {
            core: Mutex::new(MasterCore::new(info.clone())),
            info,
            start_time,
            http: crate::lite::peer_client(),
            pid,
            agent_pids: Default::default(),
            pinged_hosts: Default::default(),
            stopped: CancellationToken::new(),
            contender,
            elected_at: Mutex::new(alone.then_some(start_time)),
            lost: Mutex::new(None),
            operator_events: Default::default(),
            config,
        });
        crate::node_log::spawn(leadership::follow_candidacy(shared.clone()));
        let router = router(shared.clone());
        let stopped = shared.stopped.clone();
        let server =
            crate::node_log::spawn(serve(
                listener,
                router,
                async move { stopped.cancelled().await },
            ));
        tracing::info!(
            "master {} listening on {addr}, advertised as {}",
            shared.info.id,
            shared.info.pid
        );
        Ok(Master {
            shared,
            addr,
            server: Some(server),
        })
    }

    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<advertised ip>:<port>`, what clients and agents should use.
    pub fn url(&self) -> String {
        format!(
            "http://{}:{}",
            self.shared.info.address.ip, self.shared.info.address.port
        )
    }

    pub fn id(&self) -> &str {
        &self.shared.info.id
    }

    pub fn info(&self) -> &MasterInfo {
        &self.shared.info
    }

    pub fn leadership(&self) -> Leadership {
        self.shared.leadership()
    }

    /// Why the master stopped on its own (its ZooKeeper session or leadership lost), if it did.
    pub fn lost(&self) -> Option<String> {
        self.shared
            .lost
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Resolves once the master has stopped serving, on request or on its own.
    pub async fn ended(&self) {
        self.shared.stopped.cancelled().await
    }

    /// Stops serving, closes every framework stream and forgets every agent. Agents notice
    /// the missing pings and re-register with whichever master serves next. A contending
    /// master withdraws from the election at once.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    /// Stops as a crashed master: as `stop`, but its ZooKeeper membership is left to expire
    /// with its session, so another master leads only after `--zk_session_timeout`.
    pub async fn kill(mut self) {
        if let Some(contender) = &self.shared.contender {
            contender.abandon();
        }
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(contender) = &self.shared.contender {
            contender.resign().await;
        }
        self.shared.stopped.cancel();
        // Stop serving before forgetting: a request still being handled must not see an empty
        // registry and answer, say, 400 "Framework cannot be found" — a stopped or crashed
        // master answers nothing, and clients (pymesos) abort on such an answer instead of
        // looking for the next leader.
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let mut core = self.shared.core();
        core.frameworks.clear();
        core.agents.clear();
        core.agent_addresses.clear();
        core.offers.clear();
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        self.shared.stopped.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The master's HTTP surface, apart from serving, so handlers can be tested without sockets.
pub fn router(master: Arc<MasterShared>) -> Router {
    Router::new()
        .merge(scheduler_api::routes())
        .merge(operator_api::routes())
        .merge(legacy_api::routes())
        .merge(agent_api::routes())
        .merge(driver_api::routes())
        .merge(roles::routes())
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            master.clone(),
            leadership::redirect_unless_leading,
        ))
        // Outside the redirect, so a non-leader's 307 carries CORS headers too (the web UI
        // follows it to the leader) and a preflight is answered by any master.
        .layer(axum::middleware::from_fn(crate::lite::cors::allow_reads))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::lite::MAX_REQUEST_BODY_BYTES,
        ))
        .with_state(master)
}
