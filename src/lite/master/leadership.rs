//! Who leads. A master without `--zk` always leads; with it, it contends through ZooKeeper
//! (`crate::zookeeper::Contender`) and, while another master leads, answers as Mesos's
//! `redirect()` does (`src/master/http.cpp`): 307 to the leader with a protocol-relative
//! `Location`, or 503 "No leader elected". Agents' registration and updates (mmrun's internal
//! protocol) get 503 from a non-leader, so they look for the leader again.

use super::MasterShared;
use crate::mesos::framework::MasterInfo;
use crate::mesos::task::now_seconds;
use crate::zookeeper::Candidacy;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// How long a redirect waits for this master to read a changed group before answering from
/// what it knew.
const SETTLE_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// What this master knows of the leader.
#[derive(Clone, Debug, PartialEq)]
pub enum Leadership {
    Leading,
    Following(MasterInfo),
    NoLeader,
}

impl MasterShared {
    pub fn leadership(&self) -> Leadership {
        match &self.contender {
            None => Leadership::Leading,
            Some(contender) => Self::leadership_of(contender.current()),
        }
    }

    /// The leadership to answer a client from: once a change of the group has been read (see
    /// `Contender::settled`; a few milliseconds), so no client is redirected to a leader that
    /// just left.
    pub async fn settled_leadership(&self) -> Leadership {
        match &self.contender {
            None => Leadership::Leading,
            Some(contender) => Self::leadership_of(contender.settled(SETTLE_WITHIN).await),
        }
    }

    fn leadership_of(candidacy: Candidacy) -> Leadership {
        match (candidacy.leading, candidacy.leader) {
            (true, _) => Leadership::Leading,
            (false, Some(leader)) if candidacy.lost.is_none() => Leadership::Following(leader),
            _ => Leadership::NoLeader,
        }
    }

    /// Whether `leader` is at this master's own advertised address (another life of it).
    fn is_own_address(&self, leader: &MasterInfo) -> bool {
        leader.id != self.info.id
            && leader.address.ip == self.info.address.ip
            && leader.port == self.info.port
    }

    /// The leader's MasterInfo, when there is one.
    pub fn leader_info(&self) -> Option<MasterInfo> {
        match self.leadership() {
            Leadership::Leading => Some(self.info.clone()),
            Leadership::Following(info) => Some(info),
            Leadership::NoLeader => None,
        }
    }

    /// When this master was last elected (a master alone is elected when it starts).
    pub fn elected_time(&self) -> Option<f64> {
        *self
            .elected_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn set_elected(&self, elected: bool) {
        *self
            .elected_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = elected.then(now_seconds);
    }
}

/// Follows the candidacy: records the election time, and stops this master — visibly, as
/// Mesos's aborts — once it has lost its membership or its leadership.
pub(super) async fn follow_candidacy(master: Arc<MasterShared>) {
    let Some(contender) = &master.contender else {
        return;
    };
    let mut candidacy = contender.subscribe();
    loop {
        let now = candidacy.borrow_and_update().clone();
        if let Some(why) = now.lost {
            *master
                .lost
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(why);
            master.set_elected(false);
            master.stopped.cancel();
            return;
        }
        if now.leading != master.elected_time().is_some() {
            master.set_elected(now.leading);
        }
        tokio::select! {
            changed = candidacy.changed() => if changed.is_err() { return },
            _ = master.stopped.cancelled() => return,
        }
    }
}

/// Paths every master answers itself, leading or not (as Mesos's do). The web UI too: the page
/// follows the leader itself, and keeps working from a master that is not the next leader.
fn answered_by_any_master(path: &str) -> bool {
    super::ui::is_ui_path(path)
        || matches!(
            path,
            "/health"
                | "/master/health"
                | "/version"
                | "/metrics/snapshot"
                | "/flags"
                | "/master/flags"
                | "/redirect"
                | "/master/redirect"
        )
}

/// The middleware in front of every route: a non-leader redirects to the leader.
pub(super) async fn redirect_unless_leading(
    State(master): State<Arc<MasterShared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    // A libprocess message is never redirected: a driver sends to the master it detected,
    // and a master that does not lead drops what it gets, as Mesos's does.
    if answered_by_any_master(path) || crate::libprocess::message::is_message(request.headers()) {
        return next.run(request).await;
    }
    let leader = match master.settled_leadership().await {
        Leadership::Leading => return next.run(request).await,
        // The group names a leader at this master's own address that is not this master: its
        // earlier life (restarted after its session expired), whose membership lingers until
        // ZooKeeper drops it. Redirecting there would send clients to this very master,
        // round and round: no leader is known yet.
        Leadership::Following(leader) if master.is_own_address(&leader) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "No leader elected").into_response();
        }
        Leadership::Following(leader) => leader,
        Leadership::NoLeader => {
            return (StatusCode::SERVICE_UNAVAILABLE, "No leader elected").into_response();
        }
    };
    if path.starts_with("/api/mmrun/") {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not the leading master: the leader is {}", leader.pid),
        )
            .into_response();
    }
    // `request.uri()` is origin-form (path and query), so it appends to the leader's base.
    let target = format!("{}{}", leader_base(&leader), request.uri());
    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response()
}

/// `//<hostname>:<port>`, as Mesos builds it: the leader's hostname, else its IP.
pub fn leader_base(leader: &MasterInfo) -> String {
    let host = if leader.hostname.is_empty() {
        leader.address.ip.clone()
    } else {
        leader.hostname.clone()
    };
    format!("//{host}:{}", leader.port)
}

/// `/redirect` and `/master/redirect`: 307 to the leader's base URL, on every master.
pub(super) async fn redirect(State(master): State<Arc<MasterShared>>) -> Response {
    let leader = match master.settled_leadership().await {
        Leadership::Leading => Some(master.info.clone()),
        Leadership::Following(info) if master.is_own_address(&info) => None,
        Leadership::Following(info) => Some(info),
        Leadership::NoLeader => None,
    };
    match leader {
        Some(leader) => (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, leader_base(&leader))],
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "No leader elected").into_response(),
    }
}
