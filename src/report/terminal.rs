//! Human output in cargo-nextest's shape: one line per finished scenario, `TRY n` lines for
//! attempts that will be retried, a live progress line on stderr while scenarios run (only when
//! stderr is a terminal), a summary line, and the failures repeated at the end with their reasons.
//!
//! ```text
//!      Starting 4 scenarios, at most 2 at a time
//!          PASS [   0.412s] scripts/a.rhai
//!    TRY 1 FAIL [   0.100s] scripts/flaky.rhai
//!               lost a race
//! ```

use super::{ReportError, Reporter};
use crate::runner::{CancelReason, Outcome, RunEvent, RunSummary, ScenarioResult, Status};
use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::time::Duration;

/// Labels are right-aligned to this width so durations and names line up.
const LABEL_WIDTH: usize = 13;

/// Reasons are indented to start under the `[` of the result line they belong to.
const REASON_INDENT: &str = "              ";

/// How many of a failed scenario's log lines the terminal shows.
const SCRIPT_LOG_LINES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalOptions {
    /// Colour the status labels (ANSI escapes in the output).
    pub color: bool,
    /// Draw a live progress line on stderr.
    pub progress: bool,
}

impl TerminalOptions {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set; progress when stderr is a
    /// terminal. On CI both are usually off, which keeps logs free of escape codes and redraws.
    pub fn detect() -> TerminalOptions {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        TerminalOptions {
            color: io::stdout().is_terminal() && !no_color,
            progress: io::stderr().is_terminal(),
        }
    }
}

pub struct TerminalReporter {
    out: Box<dyn Write + Send>,
    styles: Styles,
    progress_target: Option<ProgressDrawTarget>,
    progress: Option<ProgressBar>,
    tally: Tally,
    /// Final failures and flaky passes, repeated after the summary.
    to_repeat: Vec<ScenarioResult>,
    error: Option<io::Error>,
}

impl TerminalReporter {
    /// Results go to `out`; the progress line, if enabled, to stderr.
    pub fn new(out: Box<dyn Write + Send>, options: TerminalOptions) -> TerminalReporter {
        let target = options.progress.then(ProgressDrawTarget::stderr);
        TerminalReporter::with_progress_target(out, options.color, target)
    }

    /// Results on stdout, progress on stderr, colour and progress as the terminals allow.
    pub fn stdout() -> TerminalReporter {
        TerminalReporter::new(Box::new(io::stdout()), TerminalOptions::detect())
    }

    fn with_progress_target(
        out: Box<dyn Write + Send>,
        color: bool,
        progress_target: Option<ProgressDrawTarget>,
    ) -> TerminalReporter {
        TerminalReporter {
            out,
            styles: Styles::new(color),
            progress_target,
            progress: None,
            tally: Tally::default(),
            to_repeat: Vec::new(),
            error: None,
        }
    }

    /// Writes `text` in one go, with the progress line cleared meanwhile and redrawn after.
    fn emit(&mut self, text: &str) {
        if text.is_empty() || self.error.is_some() {
            return;
        }
        let out = &mut self.out;
        let mut write = || out.write_all(text.as_bytes()).and_then(|()| out.flush());
        let written = match &self.progress {
            Some(bar) => bar.suspend(write),
            None => write(),
        };
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    fn start_progress(&mut self, total: usize) {
        let Some(target) = self.progress_target.take() else {
            return;
        };
        if total == 0 {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        let template = "[{elapsed_precise}] {bar:25} {pos}/{len}: {msg}";
        // A constant template, shown by every run with a progress bar (and its tests).
        bar.set_style(ProgressStyle::with_template(template).expect("the template is valid"));
        // Ticks keep the clock moving while long scenarios produce no events.
        bar.enable_steady_tick(Duration::from_millis(250));
        self.progress = Some(bar);
    }

    fn update_progress(&self) {
        if let Some(bar) = &self.progress {
            bar.set_position(self.tally.finished as u64);
            bar.set_message(self.tally.progress_message());
        }
    }

    fn render(&mut self, event: &RunEvent) -> String {
        let mut text = String::new();
        match event {
            RunEvent::RunStarted { total, jobs } => {
                self.start_progress(*total);
                let scenarios = plural(*total, "scenario", "scenarios");
                let line = format!("{scenarios}, at most {jobs} at a time");
                self.line(&mut text, &self.styles.heading, "Starting", &line);
            }
            RunEvent::ScenarioStarted { .. } => self.tally.running += 1,
            RunEvent::AttemptFailed {
                scenario,
                attempt,
                outcome,
                duration,
                will_retry: true,
            } => {
                let label = format!("TRY {attempt} {}", outcome_label(outcome));
                self.result_line(
                    &mut text,
                    &self.styles.retry,
                    &label,
                    *duration,
                    &scenario.name,
                );
                push_reason(&mut text, outcome.reason());
            }
            RunEvent::AttemptFailed { .. } => {}
            RunEvent::ScenarioFinished(result) => {
                self.tally.record(result.status);
                self.write_result(&mut text, result);
                push_reason(&mut text, result.reason());
                if result.status.is_failure() {
                    push_script_log(&mut text, result);
                }
                push_artifacts(&mut text, result);
                if result.status.is_failure() || result.status == Status::Flaky {
                    self.to_repeat.push(result.clone());
                }
            }
            RunEvent::RunCancelling { reason, running } => {
                self.tally.cancelling = true;
                let why = match reason {
                    CancelReason::FailFast => "due to scenario failure",
                    CancelReason::Interrupt => "due to interrupt",
                };
                let still = plural(*running, "scenario", "scenarios");
                let line = format!("{why}: {still} still running");
                self.line(&mut text, &self.styles.warning, "Cancelling", &line);
            }
            RunEvent::ScenarioSkipped { .. } => {}
            RunEvent::RunFinished(summary) => {
                if let Some(bar) = self.progress.take() {
                    bar.finish_and_clear();
                }
                self.write_summary(&mut text, summary);
            }
        }
        text
    }

    fn write_summary(&self, text: &mut String, summary: &RunSummary) {
        text.push_str("------------\n");
        let style = if summary.exit_code() == crate::exit_codes::OK {
            &self.styles.pass
        } else {
            &self.styles.fail
        };
        let label = self.styles.label(style, "Summary");
        let counts = summary_counts(summary);
        let _ = writeln!(text, "{label} {} {counts}", bracketed(summary.elapsed));
        for result in &self.to_repeat {
            self.write_result(text, result);
            push_reason(text, result.reason());
        }
        let not_run = summary.skipped - summary.skipped_by_scenario;
        if not_run > 0 {
            let why = match summary.stopped_early {
                Some(CancelReason::FailFast) => {
                    "due to a scenario failure (run without --fail-fast to run them all)"
                }
                _ => "due to interrupt",
            };
            let warning = self.styles.warning.apply_to("warning:");
            let _ = writeln!(
                text,
                "{warning} {not_run}/{} scenarios were not run {why}",
                summary.total
            );
        }
    }

    fn write_result(&self, text: &mut String, result: &ScenarioResult) {
        let (label, style) = self.styles.for_status(result.status);
        self.result_line(text, style, label, result.duration, &result.scenario.name);
    }

    fn result_line(
        &self,
        text: &mut String,
        style: &Style,
        label: &str,
        duration: Duration,
        name: &str,
    ) {
        let label = self.styles.label(style, label);
        let _ = writeln!(text, "{label} {} {name}", bracketed(duration));
    }

    fn line(&self, text: &mut String, style: &Style, label: &str, rest: &str) {
        let label = self.styles.label(style, label);
        let _ = writeln!(text, "{label} {rest}");
    }
}

impl Reporter for TerminalReporter {
    fn report(&mut self, event: &RunEvent) {
        let text = self.render(event);
        self.emit(&text);
        self.update_progress();
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        self.error
            .take()
            .map_or(Ok(()), |e| Err(ReportError::Terminal(e)))
    }
}

/// What the progress line shows, kept from the events alone.
#[derive(Default)]
struct Tally {
    running: usize,
    finished: usize,
    failed: usize,
    cancelling: bool,
}

impl Tally {
    fn record(&mut self, status: Status) {
        self.running = self.running.saturating_sub(1);
        self.finished += 1;
        if status.is_failure() {
            self.failed += 1;
        }
    }

    fn progress_message(&self) -> String {
        let mut message = format!("{} running", self.running);
        if self.failed > 0 {
            let _ = write!(message, ", {} failed", self.failed);
        }
        if self.cancelling {
            message.push_str(", cancelling");
        }
        message
    }
}

struct Styles {
    pass: Style,
    fail: Style,
    flaky: Style,
    retry: Style,
    warning: Style,
    heading: Style,
}

impl Styles {
    fn new(color: bool) -> Styles {
        // Forcing either way makes the output depend on `color` alone, not on what console
        // guesses about stdout, so an injected sink gets exactly what was asked for.
        let style = |s: Style| s.force_styling(color);
        Styles {
            pass: style(Style::new().green().bold()),
            fail: style(Style::new().red().bold()),
            flaky: style(Style::new().yellow().bold()),
            retry: style(Style::new().magenta().bold()),
            warning: style(Style::new().yellow().bold()),
            heading: style(Style::new().green().bold()),
        }
    }

    fn for_status(&self, status: Status) -> (&'static str, &Style) {
        match status {
            Status::Pass => ("PASS", &self.pass),
            Status::Flaky => ("FLAKY", &self.flaky),
            Status::Fail => ("FAIL", &self.fail),
            Status::Timeout => ("TIMEOUT", &self.fail),
            Status::ScriptError => ("SCRIPT ERROR", &self.fail),
            Status::EnvError => ("ENV ERROR", &self.fail),
            Status::Cancelled => ("CANCEL", &self.warning),
            Status::Skip => ("SKIP", &self.warning),
        }
    }

    /// Pads before styling, so escape codes do not count towards the width.
    fn label(&self, style: &Style, label: &str) -> String {
        style.apply_to(format!("{label:>LABEL_WIDTH$}")).to_string()
    }
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::TimedOut(_) => "TIMEOUT",
        Outcome::ScriptError(_) => "SCRIPT ERROR",
        Outcome::EnvironmentError(_) => "ENV ERROR",
        Outcome::Passed | Outcome::Failed(_) | Outcome::Cancelled | Outcome::Skipped(_) => "FAIL",
    }
}

/// `[   0.412s]`: fixed width up to 9999 s, like nextest.
fn bracketed(duration: Duration) -> String {
    format!("[{:>8.3}s]", duration.as_secs_f64())
}

/// A failed scenario's own lines (`log()`, `print()`, `debug()`) from its last attempt, the
/// last [`SCRIPT_LOG_LINES`] of them: what the script said it was doing when it failed.
fn push_script_log(text: &mut String, result: &ScenarioResult) {
    let Some(last) = result.attempts.last() else {
        return;
    };
    let lines = &last.output;
    if lines.is_empty() {
        return;
    }
    let shown = &lines[lines.len().saturating_sub(SCRIPT_LOG_LINES)..];
    if shown.len() < lines.len() {
        let _ = writeln!(
            text,
            "{REASON_INDENT}script log (last {} of {} lines; all in the JUnit report):",
            shown.len(),
            lines.len()
        );
    } else {
        let _ = writeln!(text, "{REASON_INDENT}script log:");
    }
    for line in shown.iter().flat_map(|l| l.lines()) {
        let _ = writeln!(text, "{REASON_INDENT}  {line}");
    }
}

/// Where a failed scenario's artifacts were saved, as one folder, saying what is there (node
/// logs, the master's state, the agents' states on the embedded backend).
fn push_artifacts(text: &mut String, result: &ScenarioResult) {
    let Some(last) = result.attempts.last() else {
        return;
    };
    // Node files are in `<folder>/cluster-<n>/`, the scenario's report.html in `<folder>/`.
    fn folder_of(p: &std::path::Path) -> Option<&std::path::Path> {
        if p.file_name().is_some_and(|n| n == "report.html") {
            p.parent()
        } else {
            p.parent().and_then(|cluster| cluster.parent())
        }
    }
    let folders: std::collections::BTreeSet<_> =
        last.artifacts.iter().filter_map(|p| folder_of(p)).collect();
    for folder in folders {
        let inside: Vec<&std::path::PathBuf> = last
            .artifacts
            .iter()
            .filter(|p| folder_of(p) == Some(folder))
            .collect();
        let _ = writeln!(
            text,
            "{REASON_INDENT}artifacts ({}): {}",
            artifact_kinds(&inside),
            folder.display()
        );
    }
}

/// `node logs, master state`, from the files' names.
fn artifact_kinds(files: &[&std::path::PathBuf]) -> String {
    let named = |test: &dyn Fn(&str) -> bool| {
        files
            .iter()
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
            .any(test)
    };
    let agent_state = |n: &str| n.starts_with("agent-") && n.ends_with("-state.json");
    let mut kinds = Vec::new();
    if named(&|n| n.ends_with(".log")) {
        kinds.push("node logs");
    }
    if named(&|n| n == "master-state.json") {
        kinds.push("master state");
    }
    if named(&agent_state) {
        kinds.push("agent states");
    }
    if named(&|n| n == "report.html") {
        kinds.push("report.html");
    }
    if named(&|n| {
        !n.ends_with(".log") && n != "master-state.json" && !agent_state(n) && n != "report.html"
    }) {
        kinds.push("other files");
    }
    kinds.join(", ")
}

fn push_reason(text: &mut String, reason: Option<&str>) {
    for line in reason.unwrap_or_default().lines() {
        if line.is_empty() {
            text.push('\n');
        } else {
            let _ = writeln!(text, "{REASON_INDENT}{line}");
        }
    }
}

/// `4 scenarios run: 2 passed (1 flaky), 1 failed, 1 timed out, 0 skipped`: passed and
/// skipped always, the other counts only when there are any.
fn summary_counts(s: &RunSummary) -> String {
    let mut text = format!(
        "{} run: {} passed",
        plural(s.run(), "scenario", "scenarios"),
        s.passed
    );
    if s.flaky > 0 {
        let _ = write!(text, " ({} flaky)", s.flaky);
    }
    let optional = [
        (s.failed, "failed", "failed"),
        (s.timed_out, "timed out", "timed out"),
        (s.script_errors, "script error", "script errors"),
        (
            s.environment_errors,
            "environment error",
            "environment errors",
        ),
        (s.cancelled, "cancelled", "cancelled"),
    ];
    for (count, one, many) in optional {
        if count > 0 {
            let _ = write!(text, ", {}", plural(count, one, many));
        }
    }
    let _ = write!(text, ", {} skipped", s.skipped);
    text
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests;
