//! HTTP clients for any Mesos master, real or mmrun's: the v1 scheduler API (subscribe and
//! stream events, send calls) and the state endpoints. They use the shared wire types.

mod driver;
mod executor_driver;
mod master;
mod scheduler;

pub use driver::subscribe_driver;
pub use executor_driver::{ExecutorDriver, ExecutorDriverError, start_executor_driver};
pub use master::MasterClient;
pub use scheduler::{Subscription, subscribe, subscribe_with};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the Mesos master at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the Mesos master answered {status} to {what}: {body}")]
    Refused {
        what: String,
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("the Mesos master sent something unexpected for {what}: {detail}")]
    Protocol { what: String, detail: String },
}
