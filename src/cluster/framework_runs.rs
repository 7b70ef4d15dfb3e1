//! The frameworks a script runs on a cluster (`c.run_framework(…)`), by the index scripts
//! know them by (`framework-<index + 1>`): the one face every backend gives them
//! ([`FrameworkRuns`], behind `ClusterHandle`'s `framework_*` methods), and the processes on
//! this host that the embedded and external backends keep ([`HostFrameworks`]).

use super::BackendError;
use crate::process::{
    FrameworkProcess, FrameworkStatus, ProcessError, ProcessRequest, TEARDOWN_GRACE, save_logs,
};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The frameworks one cluster runs for its script, however it runs them (host processes,
/// containers).
#[async_trait]
pub trait FrameworkRuns: Send + Sync {
    /// What framework `index` (0-based) has written so far (stdout and stderr).
    async fn logs(&self, index: usize) -> Result<String, BackendError>;
    /// Whether framework `index` runs, or its exit code.
    async fn status(&mut self, index: usize) -> Result<FrameworkStatus, BackendError>;
    /// Stops framework `index`: SIGTERM, then SIGKILL after `grace`; `None`: SIGKILL at once.
    /// Returns once it has ended.
    async fn stop(&mut self, index: usize, grace: Option<Duration>) -> Result<(), BackendError>;
    /// Starts framework `index` again with the same command, once it has ended.
    async fn start(&mut self, index: usize) -> Result<(), BackendError>;
}

/// The machine's failures are environment errors; the rest are the scenario's.
impl From<ProcessError> for BackendError {
    fn from(e: ProcessError) -> BackendError {
        match e {
            ProcessError::Io { .. } => BackendError::environment(e),
            _ => BackendError::failed(e),
        }
    }
}

/// The framework processes of one cluster, by index (`framework-<index + 1>`).
#[derive(Default)]
pub struct HostFrameworks(Vec<FrameworkProcess>);

impl HostFrameworks {
    /// Starts `request` as the next framework; its index and name.
    pub async fn run(&mut self, request: ProcessRequest) -> Result<(usize, String), BackendError> {
        let index = self.0.len();
        let process = FrameworkProcess::start(format!("framework-{}", index + 1), request).await?;
        let name = process.name();
        self.0.push(process);
        Ok((index, name))
    }

    fn get(&mut self, index: usize) -> Result<&mut FrameworkProcess, BackendError> {
        self.0
            .get_mut(index)
            .ok_or_else(|| no_such_framework(index))
    }

    /// Writes each one's log to `dir/<label>.log`; returns the files written.
    pub fn save_logs(&self, dir: &Path) -> Vec<PathBuf> {
        save_logs(&self.0, dir)
    }

    /// Stops them all, with the teardown grace, and forgets them.
    pub async fn stop_all(&mut self) {
        for f in &mut self.0 {
            f.stop(Some(TEARDOWN_GRACE)).await;
        }
        self.0.clear();
    }
}

#[async_trait]
impl FrameworkRuns for HostFrameworks {
    async fn logs(&self, index: usize) -> Result<String, BackendError> {
        self.0
            .get(index)
            .map(FrameworkProcess::logs)
            .ok_or_else(|| no_such_framework(index))
    }

    async fn status(&mut self, index: usize) -> Result<FrameworkStatus, BackendError> {
        Ok(self.get(index)?.status())
    }

    async fn stop(&mut self, index: usize, grace: Option<Duration>) -> Result<(), BackendError> {
        self.get(index)?.stop(grace).await;
        Ok(())
    }

    async fn start(&mut self, index: usize) -> Result<(), BackendError> {
        Ok(self.get(index)?.restart().await?)
    }
}

/// The error for a framework index a backend does not have.
pub fn no_such_framework(index: usize) -> BackendError {
    BackendError::failed(format!("there is no framework-{}", index + 1))
}
