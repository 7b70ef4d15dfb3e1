//! The one error type of mmrun's commands. Its kind decides the exit code (see `exit_codes`),
//! so a command says *what* went wrong and never picks a number itself; `cli::main` prints it
//! once, as `mmrun <command>: <message>`.

use crate::cluster::BackendError;
use crate::docker::DockerError;
use crate::exit_codes;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The user asked for something that cannot be done as asked: bad arguments, flags, paths.
    #[error("{0}")]
    Usage(String),
    /// The machine cannot do it: no Docker daemon, a port in use, an image that cannot be built.
    #[error("{0}")]
    Environment(String),
    /// What the command was to check or keep up failed: a task, a node that aborted.
    #[error("{0}")]
    Failed(String),
    /// `mmrun check` found mistakes in scripts (and printed them): nothing ran.
    #[error("{0}")]
    Checked(String),
    /// Stopped by Ctrl-C before it was done.
    #[error("interrupted")]
    Interrupted,
    /// The command has already told the user (a run's summary); only the exit code is left.
    #[error("exit code {0}")]
    Reported(i32),
}

pub type CliResult = Result<(), CliError>;

impl CliError {
    pub fn usage(message: impl std::fmt::Display) -> CliError {
        CliError::Usage(message.to_string())
    }

    pub fn environment(message: impl std::fmt::Display) -> CliError {
        CliError::Environment(message.to_string())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => exit_codes::USAGE,
            CliError::Environment(_) => exit_codes::ENVIRONMENT,
            CliError::Failed(_) => exit_codes::SCENARIO_FAILED,
            CliError::Checked(_) => exit_codes::CHECK_FAILED,
            CliError::Interrupted => exit_codes::INTERRUPTED,
            CliError::Reported(code) => *code,
        }
    }

    /// What to print, if anything: a reported outcome was printed by the command already.
    pub fn message(&self) -> Option<String> {
        match self {
            CliError::Reported(_) => None,
            other => Some(other.to_string()),
        }
    }

    /// An exit code that already says everything (0 is success).
    pub fn from_exit_code(code: i32) -> CliResult {
        match code {
            exit_codes::OK => Ok(()),
            code => Err(CliError::Reported(code)),
        }
    }
}

/// Docker's errors are the machine's: the daemon, an image, a port.
impl From<DockerError> for CliError {
    fn from(e: DockerError) -> CliError {
        CliError::Environment(e.to_string())
    }
}

/// An image of mmrun's that cannot be built or found is the machine's problem.
impl From<crate::docker::NodeImageError> for CliError {
    fn from(e: crate::docker::NodeImageError) -> CliError {
        CliError::Environment(e.to_string())
    }
}

/// A backend keeps the kind: what is missing or unusable on this machine is the environment's;
/// a cluster that did not come up as asked is a failure.
impl From<BackendError> for CliError {
    fn from(e: BackendError) -> CliError {
        match e {
            BackendError::Unsupported { .. } | BackendError::NeedsNodeControl(_) => {
                CliError::Usage(e.to_string())
            }
            BackendError::Failed(_) => CliError::Failed(e.to_string()),
            _ => CliError::Environment(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_documented_exit_code_and_reported_outcomes_print_nothing() {
        assert_eq!(CliError::usage("x").exit_code(), exit_codes::USAGE);
        assert_eq!(
            CliError::environment("x").exit_code(),
            exit_codes::ENVIRONMENT
        );
        assert_eq!(
            CliError::Failed("x".into()).exit_code(),
            exit_codes::SCENARIO_FAILED
        );
        assert_eq!(CliError::Interrupted.exit_code(), exit_codes::INTERRUPTED);
        assert!(CliError::from_exit_code(exit_codes::OK).is_ok());
        let reported = CliError::from_exit_code(exit_codes::ENVIRONMENT).unwrap_err();
        assert_eq!(reported.exit_code(), exit_codes::ENVIRONMENT);
        assert_eq!(reported.message(), None);
        assert_eq!(
            CliError::environment("no daemon").message().as_deref(),
            Some("no daemon")
        );
    }

    #[test]
    fn backend_errors_keep_their_kind() {
        let env: CliError = BackendError::Environment("no daemon".into()).into();
        assert_eq!(env.exit_code(), exit_codes::ENVIRONMENT);
        let missing: CliError =
            BackendError::NotInstalled("apt-get install zookeeper".into()).into();
        assert_eq!(missing.exit_code(), exit_codes::ENVIRONMENT);
        let failed: CliError = BackendError::Failed("agent-1 did not register".into()).into();
        assert_eq!(failed.exit_code(), exit_codes::SCENARIO_FAILED);
    }
}
