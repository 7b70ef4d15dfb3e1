//! Waiting as a strategy, not a sleep: poll a condition at an interval until it holds or a
//! deadline passes, and say what was awaited and what was last seen when it does not (as
//! testcontainers' `WaitFor`). The Docker cluster's readiness (a node serves, an agent
//! registers, a master leads) and the test harness both wait through [`WaitFor`], so that no
//! fixed sleep stands in for a condition.
//!
//! A check answers with anything that is an [`Outcome`]: a `bool`, an `Option` (`Some` is
//! ready), a `Result` (`Err` is what was seen instead, kept for the timeout's message) or a
//! [`Look`], which can also give up at once (the awaited container died).
//!
//! A leaf: it uses nothing else of mmrun.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is looked at unless [`WaitFor::every`] says otherwise: what mmrun
/// waits for (a node serving, a task starting) happens within tens of milliseconds.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(10);

/// What one look at the awaited condition found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Look<T> {
    /// It holds, with what the waiter wanted from it.
    Ready(T),
    /// Not yet; what was seen instead, if worth telling.
    NotYet(Option<String>),
    /// It never will (what was awaited died): stop waiting now, saying why.
    Hopeless(String),
}

/// The answers a check may give: each says whether the condition holds.
pub trait Outcome {
    type Ready;
    fn look(self) -> Look<Self::Ready>;
}

impl<T> Outcome for Look<T> {
    type Ready = T;
    fn look(self) -> Look<T> {
        self
    }
}

impl Outcome for bool {
    type Ready = ();
    fn look(self) -> Look<()> {
        if self {
            Look::Ready(())
        } else {
            Look::NotYet(None)
        }
    }
}

impl<T> Outcome for Option<T> {
    type Ready = T;
    fn look(self) -> Look<T> {
        match self {
            Some(value) => Look::Ready(value),
            None => Look::NotYet(None),
        }
    }
}

/// `Err` is what was seen instead of the condition (an error, a state), kept for the message.
impl<T, E: fmt::Display> Outcome for Result<T, E> {
    type Ready = T;
    fn look(self) -> Look<T> {
        match self {
            Ok(value) => Look::Ready(value),
            Err(seen) => Look::NotYet(Some(seen.to_string())),
        }
    }
}

/// Why a wait ended without its condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The deadline passed; `last_seen` is the last check's account of what it saw instead.
    #[error("timed out after {waited:?} waiting for {what}{}", seen(last_seen))]
    TimedOut {
        what: String,
        waited: Duration,
        last_seen: Option<String>,
    },
    /// A check said the condition can no longer come.
    #[error("gave up waiting for {what}: {why}")]
    Hopeless { what: String, why: String },
}

fn seen(last_seen: &Option<String>) -> String {
    match last_seen {
        Some(seen) => format!("; last seen: {seen}"),
        None => String::new(),
    }
}

/// A wait for one named condition: how long at most, and how often to look.
#[derive(Clone, Debug)]
pub struct WaitFor {
    what: String,
    timeout: Duration,
    interval: Duration,
}

impl WaitFor {
    /// Waits at most `timeout` for `what` (named in the error: "the agent to register").
    pub fn new(what: impl Into<String>, timeout: Duration) -> WaitFor {
        WaitFor {
            what: what.into(),
            timeout,
            interval: DEFAULT_INTERVAL,
        }
    }

    /// Looks every `interval` instead of [`DEFAULT_INTERVAL`].
    pub fn every(mut self, interval: Duration) -> WaitFor {
        self.interval = interval;
        self
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `check` until it is ready, gives up, or `timeout` has passed since the first look
    /// (which always happens, so a zero timeout is one look).
    pub async fn until<O, F, Fut>(&self, mut check: F) -> Result<O::Ready, WaitError>
    where
        O: Outcome,
        F: FnMut() -> Fut,
        Fut: Future<Output = O>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let last_seen = match self.judge(check().await.look())? {
                Ok(value) => return Ok(value),
                Err(last_seen) => last_seen,
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(self.timed_out(last_seen));
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    /// [`WaitFor::until`] for a synchronous check, blocking this thread between looks: for
    /// code outside an async runtime (a child process, a `std::process::Command`).
    pub fn blocking_until<O, F>(&self, mut check: F) -> Result<O::Ready, WaitError>
    where
        O: Outcome,
        F: FnMut() -> O,
    {
        let deadline = Instant::now() + self.timeout;
        loop {
            let last_seen = match self.judge(check().look())? {
                Ok(value) => return Ok(value),
                Err(last_seen) => last_seen,
            };
            if Instant::now() >= deadline {
                return Err(self.timed_out(last_seen));
            }
            std::thread::sleep(self.interval);
        }
    }

    /// `Ok(Ok(value))` when ready, `Ok(Err(last seen))` to look again, `Err` to stop.
    #[allow(clippy::type_complexity)]
    fn judge<T>(&self, look: Look<T>) -> Result<Result<T, Option<String>>, WaitError> {
        match look {
            Look::Ready(value) => Ok(Ok(value)),
            Look::NotYet(seen) => Ok(Err(seen)),
            Look::Hopeless(why) => Err(WaitError::Hopeless {
                what: self.what.clone(),
                why,
            }),
        }
    }

    fn timed_out(&self, last_seen: Option<String>) -> WaitError {
        WaitError::TimedOut {
            what: self.what.clone(),
            waited: self.timeout,
            last_seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test(start_paused = true)]
    async fn a_wait_returns_what_the_check_found_once_it_holds() {
        let looks = Cell::new(0);
        let found = WaitFor::new("the third look", Duration::from_secs(1))
            .until(|| {
                looks.set(looks.get() + 1);
                let n = looks.get();
                async move { (n == 3).then_some(n * 10) }
            })
            .await;
        assert_eq!(found, Ok(30));
        assert_eq!(looks.get(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_names_what_was_awaited_and_the_last_thing_seen() {
        let looks = Cell::new(0);
        let error = WaitFor::new("the agent to register", Duration::from_millis(100))
            .every(Duration::from_millis(30))
            .until(|| {
                looks.set(looks.get() + 1);
                let n = looks.get();
                async move { Err::<(), _>(format!("{n} agents")) }
            })
            .await
            .unwrap_err();
        // Looks at 0, 30, 60, 90 and 120 ms: the last is past the deadline.
        assert_eq!(looks.get(), 5);
        assert_eq!(
            error,
            WaitError::TimedOut {
                what: "the agent to register".into(),
                waited: Duration::from_millis(100),
                last_seen: Some("5 agents".into()),
            }
        );
        assert_eq!(
            error.to_string(),
            "timed out after 100ms waiting for the agent to register; last seen: 5 agents"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hopeless_look_ends_the_wait_at_once() {
        let looks = Cell::new(0);
        let error = WaitFor::new("the master to serve", Duration::from_secs(30))
            .until(|| {
                looks.set(looks.get() + 1);
                async { Look::<()>::Hopeless("it exited with status 1".into()) }
            })
            .await
            .unwrap_err();
        assert_eq!(looks.get(), 1);
        assert_eq!(
            error.to_string(),
            "gave up waiting for the master to serve: it exited with status 1"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_timeout_still_looks_once() {
        let ready = WaitFor::new("true", Duration::ZERO)
            .until(|| async { true })
            .await;
        assert_eq!(ready, Ok(()));
        let not = WaitFor::new("false", Duration::ZERO)
            .until(|| async { false })
            .await;
        assert!(matches!(
            not,
            Err(WaitError::TimedOut {
                last_seen: None,
                ..
            })
        ));
    }

    #[test]
    fn a_blocking_wait_polls_a_synchronous_check() {
        let mut looks = 0;
        let found = WaitFor::new("the second look", Duration::from_secs(5))
            .every(Duration::from_millis(1))
            .blocking_until(|| {
                looks += 1;
                (looks == 2).then_some("found")
            });
        assert_eq!(found, Ok("found"));
        let error = WaitFor::new("never", Duration::from_millis(5))
            .every(Duration::from_millis(1))
            .blocking_until(|| Err::<(), _>("still nothing"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "timed out after 5ms waiting for never; last seen: still nothing"
        );
    }
}
