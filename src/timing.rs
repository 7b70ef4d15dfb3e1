//! `MMRUN_TIMING=1`: where a run's time goes. Each phase worth knowing about (connecting to
//! Docker, the leftovers scan, the image check, the reaper, the network, node containers,
//! readiness, teardown…) prints one line to stderr when it ends:
//!
//! ```text
//! mmrun-timing docker.connect start=1.9 took=3.1
//! ```
//!
//! `start` is milliseconds since mmrun's `main` began ([`init`]), `took` the phase's duration in
//! milliseconds. Phases may overlap (they run concurrently); the Docker bench
//! (`cargo bench --bench docker -- process`) parses these lines into its breakdown. Without the
//! variable nothing is measured or printed: a phase costs one `Instant::now()`.

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();
static ENABLED: OnceLock<bool> = OnceLock::new();

/// The prefix of every timing line.
pub const PREFIX: &str = "mmrun-timing ";

/// Marks the process's start (call first thing in `main`).
pub fn init() {
    START.get_or_init(Instant::now);
}

/// Whether `MMRUN_TIMING` is set (to anything but empty or `0`).
pub fn enabled() -> bool {
    *ENABLED.get_or_init(|| std::env::var("MMRUN_TIMING").is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// A phase being timed: reports when [`Phase::end`] is called or it drops.
#[must_use = "the phase ends when this drops"]
pub struct Phase {
    name: &'static str,
    started: Instant,
    ended: bool,
}

/// Starts timing `name` (a dotted, space-free name such as `teardown.network`).
pub fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        started: Instant::now(),
        ended: false,
    }
}

impl Phase {
    pub fn end(mut self) {
        self.report();
    }

    fn report(&mut self) {
        if self.ended || !enabled() {
            return;
        }
        self.ended = true;
        let origin = *START.get_or_init(|| self.started);
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "{PREFIX}{} start={:.1} took={:.1}",
            self.name,
            ms(self.started.saturating_duration_since(origin)),
            ms(self.started.elapsed())
        );
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        self.report();
    }
}

/// Awaits `work` as phase `name`.
pub async fn timed<T>(name: &'static str, work: impl std::future::Future<Output = T>) -> T {
    let phase = phase(name);
    let out = work.await;
    phase.end();
    out
}

/// One parsed timing line: (name, start ms, took ms).
pub fn parse(line: &str) -> Option<(&str, f64, f64)> {
    let mut words = line.strip_prefix(PREFIX)?.split_whitespace();
    let name = words.next()?;
    let start = words.next()?.strip_prefix("start=")?.parse().ok()?;
    let took = words.next()?.strip_prefix("took=")?.parse().ok()?;
    Some((name, start, took))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_lines_parse_back() {
        assert_eq!(
            parse("mmrun-timing docker.connect start=1.9 took=3.1"),
            Some(("docker.connect", 1.9, 3.1))
        );
        assert_eq!(parse("mmrun: backend docker"), None);
        assert_eq!(parse("mmrun-timing x start=a took=1"), None);
    }
}
