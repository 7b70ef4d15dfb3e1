//! Mesos identifiers. On the wire every id is an object `{"value": "…"}`; each kind gets its own
//! type so a task id can never be passed where an agent id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! mesos_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name {
            pub value: String,
        }

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self { value: value.into() }
            }
            pub fn as_str(&self) -> &str {
                &self.value
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }
    )*};
}

mesos_id!(
    /// `<masterId>-0000`, a 4-digit counter per master.
    FrameworkId,
    /// `<masterId>-S<n>`.
    AgentId,
    /// `<masterId>-O<n>`.
    OfferId,
    /// Chosen by the framework.
    TaskId,
    /// For command tasks mmrun's agent uses the task id, as Mesos's command executor does.
    ExecutorId,
    /// A UUID per launched task run.
    ContainerId,
);
