//! Rendering typed errors whose cause is their `source()`, and the few shapes errors share.

use std::error::Error;

/// Any error, kept whole (its `source()` chain included) where the kind of failure matters
/// more than its type: the CLI's error kinds, a backend's failure.
pub type Cause = Box<dyn Error + Send + Sync + 'static>;

/// An error's text followed by its causes', joined by ": " — the one-line form Mesos's own
/// messages take, and the only complete one for reqwest, whose own message is terse ("error
/// sending request") with the cause (connection refused, DNS, TLS) further down the chain.
///
/// Some libraries (zip, lzma-rs) put their cause in their own text too *and* return it as
/// `source()`: a cause whose text already ends the line is not repeated.
pub fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// An error and its causes a line each, as cargo-nextest prints them:
///
/// ```text
/// cannot start the master
///   caused by:
///   - cannot bind 127.0.0.1:5050
///   - Address already in use (os error 98)
/// ```
///
/// A cause whose text already ends the text before it (an error that says its cause in its
/// own message too) is not repeated; with no other cause, the report is one line.
pub fn error_report(error: &dyn Error) -> String {
    let mut report = error.to_string();
    let mut last = report.clone();
    let mut wrote_heading = false;
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !last.ends_with(&cause_text) {
            if !wrote_heading {
                report.push_str("\n  caused by:");
                wrote_heading = true;
            }
            report.push_str("\n  - ");
            // A cause of several lines stays in its item.
            report.push_str(&cause_text.replace('\n', "\n    "));
        }
        last = cause_text;
        source = cause.source();
    }
    report
}

/// A cause together with what was being done when it happened ("--resources", "cannot start
/// the master"), for the one-off contexts of the CLI's commands. A module with errors of its
/// own names them in its own enum instead.
#[derive(Debug, thiserror::Error)]
#[error("{doing}")]
pub struct WhileDoing {
    doing: String,
    #[source]
    cause: Cause,
}

impl WhileDoing {
    pub fn new(doing: impl Into<String>, cause: impl Into<Cause>) -> WhileDoing {
        WhileDoing {
            doing: doing.into(),
            cause: cause.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] std::io::Error);

    /// Says its cause in its own text too, as zip's errors do.
    #[derive(Debug, thiserror::Error)]
    #[error("wrapped: {0}")]
    struct SaysItsCause(#[source] std::io::Error);

    fn io() -> std::io::Error {
        std::io::Error::other("disk full")
    }

    #[test]
    fn the_chain_is_one_line_and_the_report_a_line_per_cause() {
        let e = Outer(Middle(io()));
        assert_eq!(error_chain(&e), "outer: middle: disk full");
        assert_eq!(
            error_report(&e),
            "outer\n  caused by:\n  - middle\n  - disk full"
        );
    }

    #[test]
    fn a_cause_the_text_already_says_is_not_repeated() {
        let e = SaysItsCause(io());
        assert_eq!(error_chain(&e), "wrapped: disk full");
        assert_eq!(error_report(&e), "wrapped: disk full");
        let nested = WhileDoing::new("saving", SaysItsCause(io()));
        assert_eq!(
            error_report(&nested),
            "saving\n  caused by:\n  - wrapped: disk full"
        );
    }

    #[test]
    fn a_plain_message_is_its_own_report() {
        let e: Cause = "no daemon".into();
        assert_eq!(error_report(e.as_ref()), "no daemon");
        let multi = WhileDoing::new("checking", "line one\nline two");
        assert_eq!(
            error_report(&multi),
            "checking\n  caused by:\n  - line one\n    line two"
        );
    }
}
