//! The timeline of one attempt as an inline SVG: a lane for the script (its awaits as bars,
//! the faults it injected, snapshots and log lines as marks), one for the leading master when
//! it changed, one per agent and one per framework with their tasks' states as coloured bars.
//! A lane with more tasks than fit is drawn as a stacked count of its tasks' states instead;
//! more agents than [`MAX_AGENT_LANES`] are drawn as one lane for all of them.
//!
//! Stable hooks for tests and styling: the `<svg>` has `class="timeline"`, lanes
//! `class="lane agent|framework|script|leader"` with `data-lane="<name>"`, task bars
//! `class="task <STATE>"`, awaits `class="await ok|failed|unfinished"`, faults
//! `class="fault"`, leader changes `class="leader-change"`.

use super::escape;
use crate::runner::timeline::{AwaitEnd, EventKind, Timeline};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 170.0;
const RIGHT: f64 = 12.0;
const AXIS: f64 = 20.0;
const ROW: f64 = 7.0;
/// Task rows drawn one by one in a lane; beyond, the lane shows counts.
pub const MAX_TASK_ROWS: usize = 8;
/// Agents drawn one lane each; beyond, one lane for all.
pub const MAX_AGENT_LANES: usize = 24;
/// Columns of a lane drawn as counts.
const BUCKETS: usize = 120;

/// One task's states in time, from the observer's events.
#[derive(Debug, Default)]
struct TaskTrack {
    name: String,
    states: Vec<(Duration, String)>,
}

/// Tasks grouped into a lane.
#[derive(Default)]
struct Lane {
    tasks: Vec<usize>,
    /// (from, to or None) spans the agent was present / inactive.
    present: Vec<(Duration, Option<Duration>)>,
    inactive: Vec<(Duration, Option<Duration>)>,
    marks: Vec<(Duration, String)>,
}

/// The SVG for `timeline`, `total` long (at least its last event); `failure` says which await
/// failed the attempt (the last failed one is marked).
pub fn timeline_svg(id: &str, timeline: &Timeline, total: Duration) -> String {
    let end = total.max(timeline.end()).max(Duration::from_millis(100));
    let scale = |t: Duration| LABEL + t.as_secs_f64() / end.as_secs_f64() * (WIDTH - LABEL - RIGHT);

    // Gather tasks, agents, frameworks.
    let mut tracks: Vec<TaskTrack> = Vec::new();
    let mut track_of: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut agents: BTreeMap<String, Lane> = BTreeMap::new();
    let mut frameworks: BTreeMap<String, Lane> = BTreeMap::new();
    let mut leaders: Vec<(Duration, String)> = Vec::new();
    for event in &timeline.events {
        let at = event.at;
        match &event.kind {
            EventKind::Task {
                id,
                task,
                framework,
                agent,
                state,
            } => {
                let key = (framework.clone(), id.clone());
                let index = *track_of.entry(key).or_insert_with(|| {
                    tracks.push(TaskTrack {
                        name: task.clone(),
                        states: Vec::new(),
                    });
                    let index = tracks.len() - 1;
                    agents.entry(agent.clone()).or_default().tasks.push(index);
                    frameworks
                        .entry(framework.clone())
                        .or_default()
                        .tasks
                        .push(index);
                    index
                });
                tracks[index].states.push((at, state.clone()));
            }
            EventKind::AgentAdded { agent } => {
                agents
                    .entry(agent.clone())
                    .or_default()
                    .present
                    .push((at, None));
            }
            EventKind::AgentGone { agent } => {
                let lane = agents.entry(agent.clone()).or_default();
                close(&mut lane.present, at);
                close(&mut lane.inactive, at);
                lane.marks.push((at, "gone".into()));
            }
            EventKind::AgentActive { agent, active } => {
                let lane = agents.entry(agent.clone()).or_default();
                if *active {
                    close(&mut lane.inactive, at);
                    lane.marks.push((at, "reactivated".into()));
                } else {
                    lane.inactive.push((at, None));
                    lane.marks.push((at, "deactivated".into()));
                }
            }
            EventKind::Framework { framework, state } => {
                frameworks
                    .entry(framework.clone())
                    .or_default()
                    .marks
                    .push((at, state.clone()));
            }
            EventKind::Leader { leader } => leaders.push((at, leader.clone())),
            _ => {}
        }
    }

    let mut body = String::new();
    let mut y = AXIS;
    // The script's lane.
    let script_top = y;
    let script_height = 34.0;
    let _ = write!(
        body,
        r#"<g class="lane script" data-lane="script"><rect class="lane-bg" x="0" y="{y:.1}" width="{WIDTH}" height="{script_height}"/><text class="label" x="6" y="{:.1}">script</text>"#,
        y + 14.0
    );
    let mut failures = Vec::new();
    let mut faults = Vec::new();
    for event in &timeline.events {
        let x = scale(event.at);
        match &event.kind {
            EventKind::Await { what, ended, end } => {
                let (class, word) = match end {
                    AwaitEnd::Ok => ("ok", "held"),
                    AwaitEnd::Failed => ("failed", "FAILED"),
                    AwaitEnd::Unfinished => ("unfinished", "still waiting when the scenario ended"),
                };
                let x2 = scale(*ended).max(x + 2.0);
                let _ = write!(
                    body,
                    r#"<rect class="await {class}" x="{x:.1}" y="{:.1}" width="{:.1}" height="10"><title>{} — {} → {}: {word}</title></rect>"#,
                    y + 4.0,
                    x2 - x,
                    escape(what),
                    seconds(event.at),
                    seconds(*ended)
                );
                if *end == AwaitEnd::Failed {
                    failures.push((x2, what.clone()));
                }
            }
            EventKind::Fault {
                target,
                action,
                count,
            } => {
                let what = if *count > 1 {
                    format!("{action} on {count} nodes (first {target})")
                } else {
                    format!("{target}.{action}")
                };
                let _ = write!(
                    body,
                    r#"<path class="fault" d="M{x:.1},{:.1} l-5,9 h10 z"><title>{} at {}</title></path>"#,
                    y + 17.0,
                    escape(&what),
                    seconds(event.at)
                );
                faults.push(x);
            }
            EventKind::Snapshot { name, matched } => {
                let class = if *matched {
                    "snapshot"
                } else {
                    "snapshot changed"
                };
                let _ = write!(
                    body,
                    r#"<path class="{class}" d="M{x:.1},{:.1} l4,4 -4,4 -4,-4 z"><title>snapshot '{}' {} at {}</title></path>"#,
                    y + 22.0,
                    escape(name),
                    if *matched { "matched" } else { "did not match" },
                    seconds(event.at)
                );
            }
            EventKind::Log(line) => {
                let _ = write!(
                    body,
                    r#"<rect class="log-mark" x="{x:.1}" y="{:.1}" width="1.5" height="5"><title>log at {}: {}</title></rect>"#,
                    y + 28.0,
                    seconds(event.at),
                    escape(&truncate(line, 200))
                );
            }
            _ => {}
        }
    }
    body.push_str("</g>");
    y += script_height;

    // The leader's lane.
    if !leaders.is_empty() {
        let h = 18.0;
        let _ = write!(
            body,
            r#"<g class="lane leader" data-lane="leader"><rect class="lane-bg alt" x="0" y="{y:.1}" width="{WIDTH}" height="{h}"/><text class="label" x="6" y="{:.1}">leading master</text>"#,
            y + 13.0
        );
        for (i, (at, leader)) in leaders.iter().enumerate() {
            let x = scale(*at);
            let class = if i == 0 {
                "leader-first"
            } else {
                "leader-change"
            };
            let _ = write!(
                body,
                r#"<circle class="{class}" cx="{x:.1}" cy="{:.1}" r="4"><title>{}: {} leads</title></circle>"#,
                y + 9.0,
                seconds(*at),
                escape(leader)
            );
        }
        body.push_str("</g>");
        y += h;
    }

    // Agents: one lane each, or one for all.
    let mut agent_lanes: Vec<(String, Lane)> = agents.into_iter().collect();
    agent_lanes.sort_by_key(|a| natural(&a.0));
    if agent_lanes.len() > MAX_AGENT_LANES {
        let count = agent_lanes.len();
        let mut all = Lane::default();
        for (_, lane) in agent_lanes {
            all.tasks.extend(lane.tasks);
        }
        all.tasks.sort_unstable();
        y = lane(
            &mut body,
            y,
            &format!("{count} agents"),
            "agent",
            &all,
            &tracks,
            end,
            &scale,
            true,
        );
    } else {
        for (i, (name, l)) in agent_lanes.iter().enumerate() {
            y = lane(
                &mut body,
                y,
                name,
                "agent",
                l,
                &tracks,
                end,
                &scale,
                i % 2 == 0,
            );
        }
    }
    for (i, (name, l)) in frameworks.iter().enumerate() {
        y = lane(
            &mut body,
            y,
            name,
            "framework",
            l,
            &tracks,
            end,
            &scale,
            i % 2 == 1,
        );
    }

    // Lines across every lane: faults (grey dashed), the failed await (red).
    let bottom = y;
    let mut overlay = String::new();
    for x in faults {
        let _ = write!(
            overlay,
            r#"<line class="fault-line" x1="{x:.1}" y1="{script_top:.1}" x2="{x:.1}" y2="{bottom:.1}"/>"#
        );
    }
    if let Some((x, what)) = failures.last() {
        let _ = write!(
            overlay,
            r#"<line class="failure-line" x1="{x:.1}" y1="{script_top:.1}" x2="{x:.1}" y2="{bottom:.1}"><title>{} failed here</title></line>"#,
            escape(what)
        );
    }

    let height = bottom + 4.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="timeline" id="{}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="100%" role="img" aria-label="timeline">"#,
        escape(id)
    );
    axis(&mut svg, end, &scale, bottom);
    svg.push_str(&body);
    svg.push_str(&overlay);
    svg.push_str("</svg>");
    svg
}

fn close(spans: &mut [(Duration, Option<Duration>)], at: Duration) {
    if let Some((_, end @ None)) = spans.last_mut() {
        *end = Some(at);
    }
}

/// Draws one agent's or framework's lane from `y`; returns the next lane's `y`.
#[allow(clippy::too_many_arguments)]
fn lane(
    out: &mut String,
    y: f64,
    name: &str,
    kind: &str,
    lane: &Lane,
    tracks: &[TaskTrack],
    end: Duration,
    scale: &dyn Fn(Duration) -> f64,
    shaded: bool,
) -> f64 {
    let aggregated = lane.tasks.len() > MAX_TASK_ROWS;
    let rows = if aggregated { 4 } else { lane.tasks.len() };
    let height = (8.0 + rows as f64 * ROW).max(18.0);
    let alt = if shaded { " alt" } else { "" };
    let _ = write!(
        out,
        r#"<g class="lane {kind}" data-lane="{}"><rect class="lane-bg{alt}" x="0" y="{y:.1}" width="{WIDTH}" height="{height:.1}"/><text class="label" x="6" y="{:.1}">{}</text>"#,
        escape(name),
        y + 13.0,
        escape(&truncate(name, 24))
    );
    for (from, to) in &lane.present {
        let (x1, x2) = (scale(*from), scale(to.unwrap_or(end)));
        let _ = write!(
            out,
            r#"<rect class="present" x="{x1:.1}" y="{:.1}" width="{:.1}" height="2"/>"#,
            y + height - 3.0,
            (x2 - x1).max(1.0)
        );
    }
    for (from, to) in &lane.inactive {
        let (x1, x2) = (scale(*from), scale(to.unwrap_or(end)));
        let _ = write!(
            out,
            r#"<rect class="inactive" x="{x1:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>inactive {} → {}</title></rect>"#,
            y + 1.0,
            (x2 - x1).max(1.0),
            height - 2.0,
            seconds(*from),
            to.map_or("end".into(), seconds)
        );
    }
    for (at, what) in &lane.marks {
        let x = scale(*at);
        let _ = write!(
            out,
            r#"<rect class="mark {}" x="{:.1}" y="{:.1}" width="3" height="{:.1}"><title>{} {}</title></rect>"#,
            escape(what),
            x - 1.5,
            y + 1.0,
            height - 2.0,
            escape(what),
            seconds(*at)
        );
    }
    if aggregated {
        counts(out, y + 4.0, rows as f64 * ROW, lane, tracks, end, scale);
    } else {
        for (row, &index) in lane.tasks.iter().enumerate() {
            let track = &tracks[index];
            let top = y + 4.0 + row as f64 * ROW;
            for (i, (at, state)) in track.states.iter().enumerate() {
                let next = track.states.get(i + 1).map(|s| s.0);
                let x1 = scale(*at);
                let x2 = match next {
                    Some(t) => scale(t),
                    None if is_terminal(state) => x1 + 4.0,
                    None => scale(end),
                };
                let _ = write!(
                    out,
                    r#"<rect class="task {}" x="{x1:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"><title>{}: {} at {}</title></rect>"#,
                    css_state(state),
                    (x2 - x1).max(1.5),
                    ROW - 1.5,
                    escape(&track.name),
                    escape(state),
                    seconds(*at)
                );
            }
        }
    }
    out.push_str("</g>");
    y + height
}

/// A lane of many tasks: per column, how many of its tasks are in each state, stacked.
fn counts(
    out: &mut String,
    top: f64,
    height: f64,
    lane: &Lane,
    tracks: &[TaskTrack],
    end: Duration,
    scale: &dyn Fn(Duration) -> f64,
) {
    let column = end.as_secs_f64() / BUCKETS as f64;
    // state → count per column.
    let mut per_state: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for &index in &lane.tasks {
        let states = &tracks[index].states;
        for (i, (at, state)) in states.iter().enumerate() {
            let from = (at.as_secs_f64() / column).floor() as usize;
            let to = states
                .get(i + 1)
                .map_or(BUCKETS, |n| (n.0.as_secs_f64() / column).floor() as usize)
                .min(BUCKETS);
            let row = per_state
                .entry(css_state(state))
                .or_insert_with(|| vec![0; BUCKETS]);
            for cell in row
                .iter_mut()
                .take(to.max(from + 1).min(BUCKETS))
                .skip(from.min(BUCKETS - 1))
            {
                *cell += 1;
            }
        }
    }
    let max = (0..BUCKETS)
        .map(|b| per_state.values().map(|r| r[b]).sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let width = scale(Duration::from_secs_f64(column)) - scale(Duration::ZERO);
    for b in 0..BUCKETS {
        let x = scale(Duration::from_secs_f64(column * b as f64));
        let mut bottom = top + height;
        let mut tip = String::new();
        for (state, row) in &per_state {
            let n = row[b];
            if n == 0 {
                continue;
            }
            let h = n as f64 / max * height;
            bottom -= h;
            let _ = write!(
                out,
                r#"<rect class="task {state}" x="{x:.1}" y="{bottom:.2}" width="{:.2}" height="{h:.2}"/>"#,
                width.max(0.5)
            );
            let _ = write!(tip, " {state}: {n};");
        }
        if !tip.is_empty() {
            let _ = write!(
                out,
                r#"<rect class="count-tip" x="{x:.1}" y="{top:.1}" width="{:.2}" height="{height:.1}"><title>{} tasks at {}:{tip}</title></rect>"#,
                width.max(0.5),
                lane.tasks.len(),
                seconds(Duration::from_secs_f64(column * b as f64))
            );
        }
    }
}

fn axis(out: &mut String, end: Duration, scale: &dyn Fn(Duration) -> f64, bottom: f64) {
    let total = end.as_secs_f64();
    let step = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    ]
    .into_iter()
    .find(|s| total / s <= 12.0)
    .unwrap_or(1200.0);
    out.push_str(r#"<g class="axis">"#);
    let mut t = 0.0;
    while t <= total + 1e-9 {
        let x = scale(Duration::from_secs_f64(t));
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{AXIS:.1}" x2="{x:.1}" y2="{bottom:.1}"/><text x="{x:.1}" y="13">{}</text>"#,
            seconds(Duration::from_secs_f64(t))
        );
        t += step;
    }
    out.push_str("</g>");
}

/// `TASK_RUNNING` → `TASK_RUNNING` (a class); anything unexpected → `TASK_OTHER`.
fn css_state(state: &str) -> String {
    if state.starts_with("TASK_")
        && state[5..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_')
    {
        state.to_string()
    } else {
        "TASK_OTHER".into()
    }
}

fn is_terminal(state: &str) -> bool {
    matches!(
        state,
        "TASK_FINISHED"
            | "TASK_FAILED"
            | "TASK_KILLED"
            | "TASK_LOST"
            | "TASK_ERROR"
            | "TASK_DROPPED"
            | "TASK_GONE"
            | "TASK_GONE_BY_OPERATOR"
    )
}

/// Sorts `agent-2` before `agent-10`.
fn natural(name: &str) -> (String, u64) {
    let digits: String = name
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let number = digits
        .chars()
        .rev()
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (name[..name.len() - digits.len()].to_string(), number)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// `250ms`, `1.5s`, `42s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{}ms", d.as_millis())
    } else if s < 10.0 {
        format!("{s:.1}s").replace(".0s", "s")
    } else {
        format!("{s:.0}s")
    }
}
