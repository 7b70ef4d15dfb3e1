//! Faults injected into a running in-process agent, for tests and scenarios: *paused* (the
//! process frozen, as under `docker pause`) and *disconnected* (cut off the network, as under
//! `docker network disconnect`). The Docker backend gets the same faults from Docker itself; this
//! module gives the embedded backend the same observable behaviour.
//!
//! One gate, consulted in three places:
//!
//! - the HTTP router (`api::router`, through `hold_requests`): while the agent is paused or
//!   disconnected a request is *held*, not refused. The master's pings then time out: a missed
//!   ping, as with dropped packets or a frozen process, and never a refused connection (which
//!   the master would take for a dead process). An instant error answer would also count as a
//!   miss, but other clients (a tool reading `/state`) would see an answer where a frozen or
//!   cut-off node gives none; held, they wait until their own timeout. When the fault is lifted
//!   a request whose client still waits is served (a frozen process reads its socket buffers
//!   once thawed; a TCP connection survives a short partition); an answer to a client that gave
//!   up goes nowhere.
//! - every request the agent sends (`send`): none goes out while the agent is paused (it waits,
//!   as a frozen process does), and while it is disconnected each fails at once with a
//!   connection error, as on a container whose network interface is gone.
//! - the agent's background loops (registration, status updates) wait in `thawed` while the
//!   agent is paused, so a frozen agent sends no re-registration attempts and no updates, and its
//!   timers catch up when it is thawed (a long pause makes it re-register, as a real agent does
//!   when its ping timer fires after a long freeze). A disconnected agent's loops keep running:
//!   its timers, task supervisors and status update manager carry on, and every attempt to reach
//!   the master fails until it is reconnected.
//!
//! The task processes of a paused agent are frozen too (SIGSTOP to each task's process group,
//! SIGCONT on unpause; see `command_executor::signal_tasks`), mirroring the cgroup freezer that
//! `docker pause` uses: a task that would have finished during the pause finishes after it.

use std::future::Future;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What is currently wrong with the agent. Both can hold at once (a paused agent can also be
/// cut off, as a paused container can be disconnected).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub paused: bool,
    pub disconnected: bool,
}

impl Faults {
    /// Neither paused nor disconnected: requests reach it and are served.
    pub fn reachable(self) -> bool {
        !self.paused && !self.disconnected
    }
}

/// A fault that cannot be injected or lifted in the agent's current condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("the agent is already paused")]
    AlreadyPaused,
    #[error("the agent is not paused")]
    NotPaused,
    #[error("the agent is already disconnected")]
    AlreadyDisconnected,
    #[error("the agent is not disconnected")]
    NotDisconnected,
}

/// The error a request from a disconnected agent fails with, worded as the connection error
/// it stands for.
pub const UNREACHABLE_NETWORK: &str =
    "error sending request: network is unreachable (the agent is disconnected)";

/// Why the gate did not let a request from the agent go out (or its answer in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Blocked {
    #[error("the agent has stopped")]
    Stopped,
    #[error("{UNREACHABLE_NETWORK}")]
    Disconnected,
}

/// The agent's fault state. Changes wake everything waiting on the gate.
pub struct FaultGate {
    state: watch::Sender<Faults>,
}

impl Default for FaultGate {
    fn default() -> FaultGate {
        FaultGate::new()
    }
}

impl FaultGate {
    pub fn new() -> FaultGate {
        FaultGate {
            state: watch::Sender::new(Faults::default()),
        }
    }

    pub fn current(&self) -> Faults {
        *self.state.borrow()
    }

    pub fn set_paused(&self, paused: bool) -> Result<(), FaultError> {
        self.change(|f| match (f.paused, paused) {
            (true, true) => Err(FaultError::AlreadyPaused),
            (false, false) => Err(FaultError::NotPaused),
            _ => {
                f.paused = paused;
                Ok(())
            }
        })
    }

    pub fn set_disconnected(&self, disconnected: bool) -> Result<(), FaultError> {
        self.change(|f| match (f.disconnected, disconnected) {
            (true, true) => Err(FaultError::AlreadyDisconnected),
            (false, false) => Err(FaultError::NotDisconnected),
            _ => {
                f.disconnected = disconnected;
                Ok(())
            }
        })
    }

    fn change(
        &self,
        apply: impl FnOnce(&mut Faults) -> Result<(), FaultError>,
    ) -> Result<(), FaultError> {
        let mut result = Ok(());
        self.state.send_if_modified(|f| {
            result = apply(f);
            result.is_ok()
        });
        result
    }

    /// Waits until `ready` holds for the fault state, or the agent stops. True if it holds.
    async fn wait_for(&self, stopped: &CancellationToken, ready: impl Fn(&Faults) -> bool) -> bool {
        let mut rx = self.state.subscribe();
        tokio::select! {
            r = rx.wait_for(ready) => r.is_ok(),
            _ = stopped.cancelled() => false,
        }
    }

    /// Waits while the agent is paused (a frozen process does nothing). Returns at once when it
    /// is not, and when the agent stops, so a stop is never held up by a pause.
    pub async fn thawed(&self, stopped: &CancellationToken) {
        self.wait_for(stopped, |f| !f.paused).await;
    }

    /// Waits until a request can reach the agent (neither paused nor disconnected). False if the
    /// agent stopped meanwhile.
    pub async fn reachable(&self, stopped: &CancellationToken) -> bool {
        self.wait_for(stopped, |f| f.reachable()).await
    }

    /// Sends a request from the agent to the master through the fault: not while the agent is
    /// paused (it waits to be thawed), never while it is disconnected (a connection error), and
    /// not once the agent has stopped (a paused agent that crashes sends nothing more).
    /// An answer that arrives after a partition began is lost with it, and one that arrives
    /// while the agent is paused is read only once it is thawed.
    pub async fn send<F>(
        &self,
        stopped: &CancellationToken,
        request: F,
    ) -> Result<F::Output, Blocked>
    where
        F: Future,
    {
        self.thawed(stopped).await;
        if stopped.is_cancelled() {
            return Err(Blocked::Stopped);
        }
        if self.current().disconnected {
            return Err(Blocked::Disconnected);
        }
        let answer = request.await;
        self.thawed(stopped).await;
        if self.current().disconnected {
            return Err(Blocked::Disconnected);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn faults_are_injected_and_lifted_once_each() {
        let gate = FaultGate::new();
        assert_eq!(gate.set_paused(false), Err(FaultError::NotPaused));
        assert_eq!(
            gate.set_disconnected(false),
            Err(FaultError::NotDisconnected)
        );
        gate.set_paused(true).unwrap();
        assert_eq!(gate.set_paused(true), Err(FaultError::AlreadyPaused));
        gate.set_disconnected(true).unwrap();
        assert_eq!(
            gate.set_disconnected(true),
            Err(FaultError::AlreadyDisconnected)
        );
        assert_eq!(
            gate.current(),
            Faults {
                paused: true,
                disconnected: true
            }
        );
        gate.set_paused(false).unwrap();
        gate.set_disconnected(false).unwrap();
        assert!(gate.current().reachable());
    }

    #[tokio::test]
    async fn a_paused_agent_sends_nothing_until_thawed() {
        let gate = std::sync::Arc::new(FaultGate::new());
        let stopped = CancellationToken::new();
        gate.set_paused(true).unwrap();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = {
            let (gate, stopped, sent) = (gate.clone(), stopped.clone(), sent.clone());
            crate::node_log::spawn(async move {
                gate.send(&stopped, async {
                    sent.store(true, std::sync::atomic::Ordering::SeqCst);
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sent.load(std::sync::atomic::Ordering::SeqCst));
        gate.set_paused(false).unwrap();
        assert_eq!(task.await.unwrap(), Ok(()));
        assert!(sent.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_disconnected_agent_fails_to_send_at_once() {
        let gate = FaultGate::new();
        let stopped = CancellationToken::new();
        gate.set_disconnected(true).unwrap();
        let mut reached = false;
        let result = gate.send(&stopped, async { reached = true }).await;
        assert_eq!(result, Err(Blocked::Disconnected));
        assert_eq!(Blocked::Disconnected.to_string(), UNREACHABLE_NETWORK);
        assert!(!reached, "the request went out");
    }

    #[tokio::test]
    async fn stopping_releases_everything_waiting_on_the_gate() {
        let gate = FaultGate::new();
        let stopped = CancellationToken::new();
        gate.set_paused(true).unwrap();
        stopped.cancel();
        gate.thawed(&stopped).await;
        assert!(!gate.reachable(&stopped).await);
    }
}
