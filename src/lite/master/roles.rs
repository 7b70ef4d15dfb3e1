//! `/master/roles` (also `/roles`): the roles in use, as Mesos 1.11's `model(Role)` renders
//! them — each with its weight, the frameworks subscribed to it and the resources allocated to
//! it (`resources`, and the same again as `allocated`), plus what it is offered. mmrun has no
//! weights or quota, so every weight is Mesos's default 1.

use super::MasterShared;
use crate::mesos::resources::Resources;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new()
        .route("/master/roles", get(roles))
        .route("/roles", get(roles))
}

async fn roles(State(m): State<Arc<MasterShared>>) -> Json<Value> {
    Json(m.roles_view())
}

/// What one role has, gathered in one pass over frameworks and offers.
#[derive(Default)]
struct RoleUse {
    frameworks: Vec<String>,
    allocated: Resources,
    offered: Resources,
}

impl MasterShared {
    pub(super) fn roles_view(&self) -> Value {
        let core = self.core();
        let mut roles: BTreeMap<String, RoleUse> = BTreeMap::new();
        for f in core.frameworks.values() {
            for role in f.roles() {
                roles
                    .entry(role)
                    .or_default()
                    .frameworks
                    .push(f.id.value.clone());
            }
            // Live tasks only: a finished task's resources are free again.
            for t in f.tasks.values().filter(|t| !t.state.is_terminal()) {
                let used = roles.entry(t.role.clone()).or_default();
                used.allocated = used.allocated.add(&t.resources());
            }
        }
        for offer in core.offers.values() {
            let used = roles.entry(offer.role.clone()).or_default();
            used.offered = used.offered.add(&offer.resources);
        }
        let roles: Vec<Value> = roles
            .into_iter()
            .map(|(name, used)| {
                let allocated = used.allocated.to_legacy_object();
                json!({
                    "name": name,
                    "weight": 1.0,
                    "frameworks": used.frameworks,
                    "resources": allocated,
                    "allocated": allocated,
                    "offered": used.offered.to_legacy_object(),
                })
            })
            .collect();
        json!({ "roles": roles })
    }
}
