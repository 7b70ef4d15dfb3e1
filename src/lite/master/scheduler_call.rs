//! A subscribed framework's call, checked for the payload its type needs (Mesos's
//! `validation::scheduler::call::validate`): each variant holds that payload, so carrying the
//! call out never looks again at which of the wire `Call`'s optional fields are set.

use crate::lite::api_error::ApiError;
use crate::mesos::scheduler::{
    Accept, Acknowledge, Call, CallType, Decline, FrameworkMessage, Kill, Reconcile, Shutdown,
    UpdateFramework,
};

/// What a framework asks of the master, once its payload is known to be there.
pub(super) enum SchedulerCall {
    Teardown,
    Accept(Accept),
    Decline(Decline),
    /// The roles to revive (all of the framework's when empty).
    Revive(Vec<String>),
    /// The roles to suppress (all of the framework's when empty).
    Suppress(Vec<String>),
    Kill(Kill),
    Shutdown(Shutdown),
    Acknowledge(Acknowledge),
    Reconcile(Reconcile),
    Message(FrameworkMessage),
    /// Boxed: a FrameworkInfo is several times the size of the other calls.
    UpdateFramework(Box<UpdateFramework>),
    ReconcileOperations,
    /// REQUEST and the calls on inverse offers and operations: nothing in an mmrun cluster
    /// for them to act on.
    NothingToActOn,
    Unknown,
}

impl SchedulerCall {
    /// Checks that the payload the call's type needs is present, as Mesos does before it
    /// looks the framework up. SUBSCRIBE is not a subscribed framework's call: both faces of
    /// the master take it apart before they come here.
    pub(super) fn validate(call: Call) -> Result<SchedulerCall, ApiError> {
        let missing =
            |name: &str| ApiError::bad_request(format!("Expecting '{name}' to be present"));
        Ok(match call.kind {
            CallType::Subscribe => {
                return Err(ApiError::bad_request(
                    "SUBSCRIBE is not a call of a subscribed framework",
                ));
            }
            CallType::Teardown => SchedulerCall::Teardown,
            CallType::Accept => {
                SchedulerCall::Accept(call.accept.ok_or_else(|| missing("accept"))?)
            }
            CallType::Decline => {
                SchedulerCall::Decline(call.decline.ok_or_else(|| missing("decline"))?)
            }
            CallType::Revive => SchedulerCall::Revive(call.revive.unwrap_or_default().all()),
            CallType::Suppress => SchedulerCall::Suppress(call.suppress.unwrap_or_default().all()),
            CallType::Kill => SchedulerCall::Kill(call.kill.ok_or_else(|| missing("kill"))?),
            CallType::Acknowledge => {
                SchedulerCall::Acknowledge(call.acknowledge.ok_or_else(|| missing("acknowledge"))?)
            }
            CallType::Reconcile => {
                SchedulerCall::Reconcile(call.reconcile.ok_or_else(|| missing("reconcile"))?)
            }
            CallType::Shutdown => {
                SchedulerCall::Shutdown(call.shutdown.ok_or_else(|| missing("shutdown"))?)
            }
            CallType::Message => {
                SchedulerCall::Message(call.message.ok_or_else(|| missing("message"))?)
            }
            CallType::Request => {
                call.request.ok_or_else(|| missing("request"))?;
                SchedulerCall::NothingToActOn
            }
            CallType::UpdateFramework => SchedulerCall::UpdateFramework(Box::new(
                call.update_framework
                    .ok_or_else(|| missing("update_framework"))?,
            )),
            CallType::ReconcileOperations => SchedulerCall::ReconcileOperations,
            CallType::AcceptInverseOffers
            | CallType::DeclineInverseOffers
            | CallType::AcknowledgeOperationStatus => SchedulerCall::NothingToActOn,
            CallType::Unknown => SchedulerCall::Unknown,
        })
    }
}
