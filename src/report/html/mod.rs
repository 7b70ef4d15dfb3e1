//! `--html FILE`: one self-contained HTML file for the whole run — usable offline and in a CI
//! artifact viewer: inline CSS, inline SVG, no script, nothing fetched. It holds the summary, a
//! table of the scenarios, and for each its status, duration and attempts, the failure (a
//! snapshot diff coloured), its `log()` lines, links to the files it left (node logs, master
//! state; relative to the report, so they work where the artifacts folder sits beside it)
//! and its timeline (see [`svg`]). Every failed scenario's artifacts folder gets a page of its
//! own, `report.html` ([`write_scenario_page`]).
//!
//! Stable hooks for browser tests: `id="summary"`, `id="scenarios"` (the table),
//! `id="scenario-<slug>"` (each section, `data-status="<status>"`), `id="timeline-<slug>"` (its
//! SVG), `class="failure"`, `class="log"`, `class="artifacts"`, `class="steps"` (the script's
//! steps: `tr.await.failed`, `tr.fault`); `<slug>` is the scenario's name with every character
//! but letters, digits, `-` and `_` made `_`, without `.rhai` (as its artifacts folder).

pub mod svg;

use super::{ReportError, Reporter};
use crate::runner::timeline::{AwaitEnd, EventKind, Timeline};
use crate::runner::{
    Attempt, CancelReason, Outcome, RunEvent, RunSummary, Scenario, ScenarioResult, Status,
};
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

const STYLE: &str = include_str!("style.css");
/// Script steps listed under a timeline; the timeline itself shows them all.
const MAX_STEPS: usize = 300;
/// Log lines shown per attempt; the rest are counted.
const MAX_LOG_LINES: usize = 2_000;

/// One scenario as the report shows it.
#[derive(Debug, Clone)]
pub enum Entry {
    Finished(ScenarioResult),
    /// Never started: the run stopped first.
    NotRun {
        scenario: Scenario,
        reason: CancelReason,
    },
}

pub struct HtmlReporter {
    path: PathBuf,
    entries: Vec<Entry>,
    error: Option<ReportError>,
}

impl HtmlReporter {
    /// A reporter that writes `path` (creating its directory) when the run finishes.
    pub fn new(path: impl Into<PathBuf>) -> HtmlReporter {
        HtmlReporter {
            path: path.into(),
            entries: Vec::new(),
            error: None,
        }
    }

    fn write(&self, summary: &RunSummary) -> Result<(), ReportError> {
        let failed = |source| ReportError::Html {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new(""));
        let html = render_run(&self.entries, summary, dir);
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::write(&self.path, html).map_err(failed)
    }
}

impl Reporter for HtmlReporter {
    fn report(&mut self, event: &RunEvent) {
        match event {
            RunEvent::ScenarioFinished(result) => {
                self.entries.push(Entry::Finished(result.clone()));
            }
            RunEvent::ScenarioSkipped { scenario, reason } => self.entries.push(Entry::NotRun {
                scenario: scenario.clone(),
                reason: *reason,
            }),
            RunEvent::RunFinished(summary) => {
                if let Err(e) = self.write(summary) {
                    self.error = Some(e);
                }
            }
            RunEvent::RunStarted { .. }
            | RunEvent::ScenarioStarted { .. }
            | RunEvent::AttemptFailed { .. }
            | RunEvent::RunCancelling { .. } => {}
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        self.error.take().map_or(Ok(()), Err)
    }
}

/// The page of a whole run; links are relative to `dir`, the folder the page is written to.
pub fn render_run(entries: &[Entry], summary: &RunSummary, dir: &Path) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<header><h1>mmrun report</h1><p class="summary" id="summary">{}</p></header>"#,
        escape(&summary_line(summary))
    );
    body.push_str(&scenario_table(entries));
    for entry in entries {
        body.push_str(&section(entry, dir));
    }
    page("mmrun report", &body)
}

/// The page of one attempt of one scenario (for its artifacts folder); links are relative to
/// `dir`, where the page is written.
pub fn render_scenario(scenario: &Scenario, attempt: &Attempt, dir: &Path) -> String {
    let result = ScenarioResult::new(scenario.clone(), vec![attempt.clone()]);
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<header><h1>{}</h1><p class="summary" id="summary">{} in {}</p></header>"#,
        escape(&scenario.name),
        status_word(result.status),
        svg::seconds(attempt.duration)
    );
    body.push_str(&section(&Entry::Finished(result), dir));
    page(&format!("mmrun: {}", scenario.name), &body)
}

/// Writes `report.html` of one failed attempt into its artifacts folder `dir`.
pub fn write_scenario_page(
    dir: &Path,
    scenario: &Scenario,
    attempt: &Attempt,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("report.html");
    std::fs::write(&path, render_scenario(scenario, attempt, dir))?;
    Ok(path)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}{}</body></html>\n",
        escape(title),
        r#"<footer>Written by mmrun. Self-contained: open it from a CI artifact viewer or a browser, offline.</footer>"#
    )
}

fn summary_line(s: &RunSummary) -> String {
    let mut parts = vec![format!("{} passed", s.passed)];
    if s.flaky > 0 {
        parts.push(format!("{} flaky", s.flaky));
    }
    for (n, what) in [
        (s.failed, "failed"),
        (s.timed_out, "timed out"),
        (s.script_errors, "script errors"),
        (s.environment_errors, "environment errors"),
        (s.cancelled, "cancelled"),
        (s.skipped, "skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    format!(
        "{} scenarios run: {} — in {}",
        s.run(),
        parts.join(", "),
        svg::seconds(s.elapsed)
    )
}

fn scenario_table(entries: &[Entry]) -> String {
    let mut out = String::from(
        r#"<table class="scenarios" id="scenarios"><thead><tr><th>Status</th><th>Scenario</th><th class="num">Duration</th><th class="num">Attempts</th></tr></thead><tbody>"#,
    );
    for entry in entries {
        let (name, class, word, duration, attempts) = match entry {
            Entry::Finished(r) => (
                &r.scenario.name,
                status_class(r.status),
                status_word(r.status),
                svg::seconds(r.duration),
                r.attempts.len().to_string(),
            ),
            Entry::NotRun { scenario, .. } => (
                &scenario.name,
                "not-run",
                "NOT RUN",
                String::new(),
                "0".into(),
            ),
        };
        let _ = write!(
            out,
            r##"<tr><td><span class="status {class}">{word}</span></td><td><a href="#scenario-{}">{}</a></td><td class="num">{duration}</td><td class="num">{attempts}</td></tr>"##,
            escape(&slug(name)),
            escape(name)
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn section(entry: &Entry, dir: &Path) -> String {
    let result = match entry {
        Entry::Finished(result) => result,
        Entry::NotRun { scenario, reason } => {
            let why = match reason {
                CancelReason::FailFast => "a scenario failed and --fail-fast is set",
                CancelReason::Interrupt => "the run was interrupted",
            };
            return format!(
                r#"<section class="scenario" id="scenario-{}" data-status="not-run"><h2><span class="status not-run">NOT RUN</span> {}</h2><p class="meta">Not started: {why}.</p></section>"#,
                escape(&slug(&scenario.name)),
                escape(&scenario.name)
            );
        }
    };
    let slug = slug(&result.scenario.name);
    let class = status_class(result.status);
    let failed = result.status.is_failure();
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="scenario{}" id="scenario-{}" data-status="{class}"><h2><span class="status {class}">{}</span> {}</h2>"#,
        if failed { " failed" } else { "" },
        escape(&slug),
        status_word(result.status),
        escape(&result.scenario.name)
    );
    let last = result.last_attempt();
    let _ = write!(
        out,
        r#"<p class="meta">{} · {} · {}</p>"#,
        svg::seconds(result.duration),
        match result.attempts.len() {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts ({} retries)", n - 1),
        },
        escape(&result.scenario.path.display().to_string())
    );
    if let Some(reason) = last.outcome.reason() {
        let what = match &last.outcome {
            Outcome::Skipped(_) => "Skipped",
            _ => "Failure",
        };
        let _ = write!(
            out,
            r#"<div class="failure"><strong>{what}</strong><pre class="reason">{}</pre></div>"#,
            highlight_reason(reason)
        );
    }
    if !last.timeline.is_empty() {
        out.push_str(&timeline_block(&slug, &last.timeline, last.duration));
    }
    out.push_str(&log_block(&last.output, failed));
    out.push_str(&artifacts_block(&last.artifacts, dir));
    for (i, attempt) in result.earlier_attempts().iter().enumerate() {
        let _ = write!(
            out,
            r#"<details class="attempt"><summary>Attempt {} of {}: {} after {}</summary>"#,
            i + 1,
            result.attempts.len(),
            outcome_word(&attempt.outcome),
            svg::seconds(attempt.duration)
        );
        if let Some(reason) = attempt.outcome.reason() {
            let _ = write!(
                out,
                r#"<pre class="reason">{}</pre>"#,
                highlight_reason(reason)
            );
        }
        if !attempt.timeline.is_empty() {
            out.push_str(&timeline_block(
                &format!("{slug}-attempt-{}", i + 1),
                &attempt.timeline,
                attempt.duration,
            ));
        }
        out.push_str(&log_block(&attempt.output, false));
        out.push_str(&artifacts_block(&attempt.artifacts, dir));
        out.push_str("</details>");
    }
    out.push_str("</section>");
    out
}

fn timeline_block(slug: &str, timeline: &Timeline, duration: Duration) -> String {
    let mut out = String::from(r#"<div class="timeline-block"><strong>Timeline</strong>"#);
    out.push_str(&svg::timeline_svg(
        &format!("timeline-{slug}"),
        timeline,
        duration,
    ));
    out.push_str(
        r#"<div class="legend"><span><i class="TASK_STAGING"></i>staging/starting</span><span><i class="TASK_RUNNING"></i>running</span><span><i class="TASK_FINISHED"></i>finished</span><span><i class="TASK_FAILED"></i>failed/error</span><span><i class="TASK_KILLED"></i>killed</span><span><i class="TASK_LOST"></i>lost/unreachable/gone</span><span><i style="background:#8fbf8f"></i>await held</span><span><i style="background:#d62828"></i>await failed</span><span><i style="background:#e67e22"></i>fault ▲</span><span><i style="background:#8e44ad"></i>leader change ●</span></div>"#,
    );
    let mut note = match timeline.polls {
        0 => "The cluster's state was not read.".to_string(),
        1 => format!(
            "The cluster's state was read once ({}).",
            svg::seconds(timeline.poll_time)
        ),
        n => format!(
            "The cluster's state was read {n} times ({} in all).",
            svg::seconds(timeline.poll_time)
        ),
    };
    if timeline.dropped > 0 {
        let _ = write!(
            note,
            " {} further events were not recorded (too many to keep).",
            timeline.dropped
        );
    }
    let _ = write!(out, r#"<p class="meta">{}</p>"#, escape(&note));
    out.push_str(&steps_table(timeline));
    out.push_str("</div>");
    out
}

/// The script's faults, awaits and snapshots, in order, with times.
fn steps_table(timeline: &Timeline) -> String {
    let mut rows = String::new();
    let mut count = 0;
    let mut leaders = 0;
    for event in &timeline.events {
        if let EventKind::Leader { .. } = event.kind {
            // The first leader is no change: only later ones are listed.
            leaders += 1;
            if leaders == 1 {
                continue;
            }
        }
        let (class, text) = match &event.kind {
            EventKind::Fault {
                target,
                action,
                count,
            } if *count > 1 => (
                "fault".to_string(),
                format!("{action} on {count} nodes (the first {target})"),
            ),
            EventKind::Fault { target, action, .. } => {
                ("fault".to_string(), format!("{target}.{action}"))
            }
            EventKind::Await { what, ended, end } => {
                let (c, how) = match end {
                    AwaitEnd::Ok => ("ok", "held"),
                    AwaitEnd::Failed => ("failed", "FAILED"),
                    AwaitEnd::Unfinished => ("unfinished", "still waiting at the end"),
                };
                (
                    format!("await {c}"),
                    format!(
                        "{what} — {how} after {}",
                        svg::seconds(ended.saturating_sub(event.at))
                    ),
                )
            }
            EventKind::Snapshot { name, matched } => (
                "snapshot".to_string(),
                format!(
                    "snapshot '{name}' {}",
                    if *matched { "matched" } else { "did not match" }
                ),
            ),
            EventKind::Leader { leader } => ("leader".to_string(), format!("{leader} leads now")),
            _ => continue,
        };
        count += 1;
        if count > MAX_STEPS {
            continue;
        }
        let _ = write!(
            rows,
            r#"<tr class="{class}"><td class="num">{}</td><td>{}</td></tr>"#,
            svg::seconds(event.at),
            escape(&text)
        );
    }
    if count == 0 {
        return String::new();
    }
    if count > MAX_STEPS {
        let _ = write!(
            rows,
            r#"<tr><td></td><td>… and {} more</td></tr>"#,
            count - MAX_STEPS
        );
    }
    format!(
        r#"<details class="steps-block"><summary>Script steps ({count})</summary><table class="steps">{rows}</table></details>"#
    )
}

fn log_block(lines: &[String], open: bool) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut text = String::new();
    for line in lines.iter().take(MAX_LOG_LINES) {
        text.push_str(&escape(&strip_ansi(line)));
        text.push('\n');
    }
    if lines.len() > MAX_LOG_LINES {
        let _ = writeln!(text, "… {} more lines", lines.len() - MAX_LOG_LINES);
    }
    format!(
        r#"<details class="log-block"{}><summary>Log ({} lines)</summary><pre class="log">{text}</pre></details>"#,
        if open { " open" } else { "" },
        lines.len()
    )
}

fn artifacts_block(artifacts: &[PathBuf], dir: &Path) -> String {
    if artifacts.is_empty() {
        return String::new();
    }
    let mut out = String::from(r#"<div class="artifacts"><strong>Files</strong><ul>"#);
    for path in artifacts {
        let _ = write!(
            out,
            r#"<li><a href="{}">{}</a></li>"#,
            escape(&relative_link(dir, path)),
            escape(&path.display().to_string())
        );
    }
    out.push_str("</ul></div>");
    out
}

/// The reason, escaped, with a snapshot diff's lines coloured (after a `--- old` line: `+`
/// added, `-` removed, `@@` hunk headers).
pub fn highlight_reason(reason: &str) -> String {
    let mut out = String::new();
    let mut in_diff = false;
    for line in strip_ansi(reason).lines() {
        let class = if line == "--- old" || line == "+++ new" {
            in_diff = true;
            Some("head")
        } else if in_diff && line.starts_with("@@") {
            Some("hunk")
        } else if in_diff && line.starts_with('+') {
            Some("add")
        } else if in_diff && line.starts_with('-') {
            Some("del")
        } else {
            if in_diff && !line.starts_with(' ') {
                in_diff = false;
            }
            None
        };
        match class {
            Some(c) => {
                let _ = writeln!(out, r#"<span class="{c}">{}</span>"#, escape(line));
            }
            None => {
                let _ = writeln!(out, "{}", escape(line));
            }
        }
    }
    out
}

/// `target` as a link from a page in `dir`: relative, so the page and the artifacts folder can
/// be moved together (a CI artifact), with `/` separators and the few characters that would
/// end a URL path escaped.
pub fn relative_link(dir: &Path, target: &Path) -> String {
    let absolute = |p: &Path| -> Vec<String> {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let mut parts: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts
    };
    let from = absolute(dir);
    let to = absolute(target);
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(to[common..].iter().cloned());
    parts
        .iter()
        .map(|p| {
            p.replace('%', "%25")
                .replace(' ', "%20")
                .replace('#', "%23")
                .replace('?', "%3F")
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Text made safe for HTML element content and attribute values; terminal colour codes and
/// other control characters (but newlines and tabs) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// `scripts/agent_lost.rhai` → `scripts_agent_lost`: a scenario's ids in the page are its
/// artifacts folder's name.
fn slug(name: &str) -> String {
    crate::runner::scenario::artifact_folder(name)
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Flaky => "flaky",
        Status::Fail => "fail",
        Status::Timeout => "timeout",
        Status::ScriptError => "script-error",
        Status::EnvError => "env-error",
        Status::Cancelled => "cancelled",
        Status::Skip => "skip",
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Flaky => "FLAKY",
        Status::Fail => "FAIL",
        Status::Timeout => "TIMEOUT",
        Status::ScriptError => "SCRIPT ERROR",
        Status::EnvError => "ENV ERROR",
        Status::Cancelled => "CANCELLED",
        Status::Skip => "SKIP",
    }
}

fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed(_) => "failed",
        Outcome::TimedOut(_) => "timed out",
        Outcome::ScriptError(_) => "script error",
        Outcome::EnvironmentError(_) => "environment error",
        Outcome::Cancelled => "cancelled",
        Outcome::Skipped(_) => "skipped",
    }
}

#[cfg(test)]
mod tests;
