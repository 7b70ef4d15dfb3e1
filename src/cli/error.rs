//! The one error type of mmrun's commands. Its kind decides the exit code (see `exit_codes`),
//! so a command says *what* went wrong and never picks a number itself; each kind keeps the
//! error that caused it whole, and `cli::main` prints it once, with its causes, as
//! `mmrun <command>: <message>` followed by `caused by:` lines (`errors::error_report`).

use crate::cluster::BackendError;
use crate::docker::DockerError;
use crate::errors::Cause;
use crate::exit_codes;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The user asked for something that cannot be done as asked: bad arguments, flags, paths.
    #[error(transparent)]
    Usage(Cause),
    /// The machine cannot do it: no Docker daemon, a port in use, an image that cannot be built.
    #[error(transparent)]
    Environment(Cause),
    /// What the command was to check or keep up failed: a task, a framework.
    #[error(transparent)]
    Failed(Cause),
    /// A node (`mmrun node master`) stopped on its own, as Mesos's master aborts: it lost its
    /// ZooKeeper session or its leadership, and a supervisor is to start it again.
    #[error(transparent)]
    NodeAborted(Cause),
    /// `mmrun check` found mistakes in scripts (and printed them): nothing ran.
    #[error(transparent)]
    Checked(Cause),
    /// Stopped by Ctrl-C before it was done.
    #[error("interrupted")]
    Interrupted,
    /// The command has already told the user (a run's summary); only the exit code is left.
    #[error("exit code {0}")]
    Reported(i32),
}

pub type CliResult = Result<(), CliError>;

impl CliError {
    pub fn usage(cause: impl Into<Cause>) -> CliError {
        CliError::Usage(cause.into())
    }

    pub fn environment(cause: impl Into<Cause>) -> CliError {
        CliError::Environment(cause.into())
    }

    pub fn failed(cause: impl Into<Cause>) -> CliError {
        CliError::Failed(cause.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => exit_codes::USAGE,
            CliError::Environment(_) => exit_codes::ENVIRONMENT,
            CliError::Failed(_) => exit_codes::SCENARIO_FAILED,
            CliError::NodeAborted(_) => exit_codes::NODE_ABORTED,
            CliError::Checked(_) => exit_codes::CHECK_FAILED,
            CliError::Interrupted => exit_codes::INTERRUPTED,
            CliError::Reported(code) => *code,
        }
    }

    /// What to print, if anything: the error and its causes, a line each. A reported outcome
    /// was printed by the command already.
    pub fn message(&self) -> Option<String> {
        match self {
            CliError::Reported(_) => None,
            other => Some(crate::errors::error_report(other)),
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

/// A command-line argument that does not parse, said on one line as `--flag: why` (the cause
/// is kept as the source too).
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {cause}")]
pub struct InvalidArgument {
    flag: &'static str,
    #[source]
    cause: Cause,
}

impl InvalidArgument {
    pub fn new(flag: &'static str, cause: impl Into<Cause>) -> InvalidArgument {
        InvalidArgument {
            flag,
            cause: cause.into(),
        }
    }
}

/// Docker's errors are the machine's: the daemon, an image, a port.
impl From<DockerError> for CliError {
    fn from(e: DockerError) -> CliError {
        CliError::Environment(Box::new(e))
    }
}

/// An image of mmrun's that cannot be built or found is the machine's problem.
impl From<crate::docker::NodeImageError> for CliError {
    fn from(e: crate::docker::NodeImageError) -> CliError {
        CliError::Environment(Box::new(e))
    }
}

/// A backend keeps the kind: what is missing or unusable on this machine is the environment's;
/// a cluster that did not come up as asked is a failure.
impl From<BackendError> for CliError {
    fn from(e: BackendError) -> CliError {
        match e {
            BackendError::Unsupported { .. } | BackendError::NeedsNodeControl(_) => {
                CliError::Usage(Box::new(e))
            }
            BackendError::Failed(_) => CliError::Failed(Box::new(e)),
            _ => CliError::Environment(Box::new(e)),
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
            CliError::failed("x").exit_code(),
            exit_codes::SCENARIO_FAILED
        );
        assert_eq!(CliError::Interrupted.exit_code(), exit_codes::INTERRUPTED);
        assert_ne!(exit_codes::NODE_ABORTED, exit_codes::SCENARIO_FAILED);
        assert_eq!(
            CliError::NodeAborted("lost leadership".into()).exit_code(),
            exit_codes::NODE_ABORTED
        );
        assert!(CliError::from_exit_code(exit_codes::OK).is_ok());
        let reported = CliError::from_exit_code(exit_codes::ENVIRONMENT).unwrap_err();
        assert_eq!(reported.exit_code(), exit_codes::ENVIRONMENT);
        assert_eq!(reported.message(), None);
        assert_eq!(
            CliError::environment("no daemon").message().as_deref(),
            Some("no daemon")
        );
    }

    /// The cause of a command's error is printed under it, a line each, as nextest does.
    #[test]
    fn the_message_says_the_causes_too() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
        let e = CliError::environment(crate::errors::WhileDoing::new(
            "cannot start the master",
            io,
        ));
        assert_eq!(
            e.message().as_deref(),
            Some("cannot start the master\n  caused by:\n  - address in use")
        );
        let flag = CliError::usage(InvalidArgument::new("--resources", "cpus:x is no number"));
        assert_eq!(
            flag.message().as_deref(),
            Some("--resources: cpus:x is no number")
        );
    }

    #[test]
    fn backend_errors_keep_their_kind() {
        let env: CliError = BackendError::Environment("no daemon".into()).into();
        assert_eq!(env.exit_code(), exit_codes::ENVIRONMENT);
        let missing: CliError =
            BackendError::NotInstalled("apt-get install zookeeper".into()).into();
        assert_eq!(missing.exit_code(), exit_codes::ENVIRONMENT);
        let failed: CliError = BackendError::failed("agent-1 did not register").into();
        assert_eq!(failed.exit_code(), exit_codes::SCENARIO_FAILED);
    }
}
