//! Rendering typed errors whose cause is their `source()`.

/// An error's text followed by its causes', joined by ": " — the one-line form Mesos's own
/// messages take, and the only complete one for reqwest, whose own message is terse ("error
/// sending request") with the cause (connection refused, DNS, TLS) further down the chain.
///
/// Some libraries (zip, lzma-rs) put their cause in their own text too *and* return it as
/// `source()`: a cause whose text already ends the line is not repeated.
pub fn error_chain(error: &dyn std::error::Error) -> String {
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
