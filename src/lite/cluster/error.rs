//! Why a node of an in-process cluster could not be started, stopped or faulted.

use crate::lite::agent::{FaultError, RegistrationTimeout};
use std::net::SocketAddr;

/// Why a node of the cluster could not be started, stopped, or given or spared a fault.
/// Nodes are counted from 0 here; callers that name them for people (`agent-1`) translate.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("there is no {role} {index}")]
    NoSuchNode { role: &'static str, index: usize },
    #[error("{role} {index} is already running")]
    AlreadyRunning { role: &'static str, index: usize },
    #[error("{role} {index} is not running (it was stopped; start it first)")]
    NotRunning { role: &'static str, index: usize },
    #[error("agent {0} is paused: unpause it before stopping it gracefully, or stop it as a crash")]
    Paused(usize),
    /// `--resources` or `--attributes` that do not parse.
    #[error("agent {option}: {message}")]
    InvalidOption {
        option: &'static str,
        message: String,
    },
    #[error("{role} {index} cannot listen on {addr}: {source}")]
    Listen {
        role: &'static str,
        index: usize,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{role} {index} cannot start: {source}")]
    Start {
        role: &'static str,
        index: usize,
        source: std::io::Error,
    },
    #[error(transparent)]
    NotRegistered(#[from] RegistrationTimeout),
    #[error("agent {index}: {error}")]
    Fault { index: usize, error: FaultError },
    /// This process is about to run out of file descriptors: another real agent would not
    /// be able to listen or connect (it would only fail to register, seconds later).
    #[error(
        "agent {index}: this process has {open} of its {limit} file descriptors open and each in-process agent needs about {per_agent}: raise the limit (`ulimit -n`, e.g. `ulimit -n 65536` before mmrun) or use simulated agents for scale (`add_agents(n, #{{ simulated: true }})`, `mmrun up --simulated`)"
    )]
    Descriptors {
        index: usize,
        open: u64,
        limit: u64,
        per_agent: u64,
    },
    /// Simulated agents that could not be brought up.
    #[error("{message}")]
    Simulated { message: String },
}

pub(super) const MASTER: &str = "master";
pub(super) const AGENT: &str = "agent";

pub(super) fn no_master(index: usize) -> NodeError {
    NodeError::NoSuchNode {
        role: MASTER,
        index,
    }
}

pub(super) fn no_agent(index: usize) -> NodeError {
    NodeError::NoSuchNode { role: AGENT, index }
}

pub(super) fn invalid(option: &'static str, e: impl std::fmt::Display) -> NodeError {
    NodeError::InvalidOption {
        option,
        message: e.to_string(),
    }
}
