//! Sinks of the runner's event stream: the terminal, a JUnit file, an HTML file, and a fan-out
//! to several.
//!
//! Reporters only consume [`RunEvent`]s; they never drive the run. Writing can fail (a full
//! disk, a closed pipe) without stopping the scenarios: each reporter keeps its first error
//! and hands it back from [`Reporter::finish`], which the CLI calls once the run is over.

pub mod html;
pub mod junit;
pub mod terminal;

pub use html::HtmlReporter;
pub use junit::JunitReporter;
pub use terminal::{TerminalOptions, TerminalReporter};

use crate::runner::{EventSink, RunEvent};
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write to the terminal: {0}")]
    Terminal(io::Error),
    #[error("cannot write the JUnit report {}: {source}", .path.display())]
    Junit { path: PathBuf, source: io::Error },
    #[error("cannot write the HTML report {}: {source}", .path.display())]
    Html { path: PathBuf, source: io::Error },
}

pub trait Reporter: Send {
    /// Handles one event; events arrive in the order the runner emits them.
    fn report(&mut self, event: &RunEvent);

    /// The first error met while reporting, if any. Call once, after `RunFinished`.
    fn finish(&mut self) -> Result<(), ReportError>;
}

/// Every reporter is a sink of the runner's events.
impl<R: Reporter + ?Sized> EventSink for R {
    fn event(&mut self, event: &RunEvent) {
        self.report(event);
    }
}

/// Sends every event to each reporter in turn.
#[derive(Default)]
pub struct FanOut {
    reporters: Vec<Box<dyn Reporter>>,
}

impl FanOut {
    pub fn new() -> FanOut {
        FanOut::default()
    }

    pub fn with(mut self, reporter: impl Reporter + 'static) -> FanOut {
        self.reporters.push(Box::new(reporter));
        self
    }

    pub fn push(&mut self, reporter: Box<dyn Reporter>) {
        self.reporters.push(reporter);
    }
}

impl Reporter for FanOut {
    fn report(&mut self, event: &RunEvent) {
        for reporter in &mut self.reporters {
            reporter.report(event);
        }
    }

    /// Finishes every reporter, so a failing one does not hide the others' output, and returns
    /// the first error.
    fn finish(&mut self) -> Result<(), ReportError> {
        let mut first_error = None;
        for reporter in &mut self.reporters {
            if let Err(e) = reporter.finish() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::RunEvent;
    use std::sync::{Arc, Mutex};

    /// Records event kinds, and fails `finish` when told to.
    struct Recorder {
        seen: Arc<Mutex<Vec<String>>>,
        fails: bool,
    }

    impl Reporter for Recorder {
        fn report(&mut self, event: &RunEvent) {
            let kind = format!("{event:?}");
            self.seen
                .lock()
                .unwrap()
                .push(kind.split([' ', '(']).next().unwrap().to_string());
        }
        fn finish(&mut self) -> Result<(), ReportError> {
            if self.fails {
                Err(ReportError::Terminal(io::Error::other("closed")))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn fan_out_feeds_every_reporter_and_finishes_them_all() {
        let first = Arc::new(Mutex::new(Vec::new()));
        let second = Arc::new(Mutex::new(Vec::new()));
        let mut fan_out = FanOut::new()
            .with(Recorder {
                seen: first.clone(),
                fails: true,
            })
            .with(Recorder {
                seen: second.clone(),
                fails: false,
            });
        fan_out.report(&RunEvent::RunStarted { total: 1, jobs: 1 });
        let error = fan_out.finish().unwrap_err();
        assert_eq!(error.to_string(), "cannot write to the terminal: closed");
        assert_eq!(*first.lock().unwrap(), ["RunStarted"]);
        assert_eq!(*second.lock().unwrap(), ["RunStarted"]);
    }
}
