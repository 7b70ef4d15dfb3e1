//! What a simulated task does: how long it takes to start, how long it runs and how it ends.
//! A task says so itself in its labels (`mmrun.sim.run`, `mmrun.sim.state`,
//! `mmrun.sim.start`), which mmrun's own framework writes from a script's `sim: #{ … }`; a
//! third-party framework's tasks, which carry no such labels, get their agent's default.

use crate::mesos::task::{TaskInfo, TaskState};
use std::time::Duration;

pub const RUN_LABEL: &str = "mmrun.sim.run";
pub const STATE_LABEL: &str = "mmrun.sim.state";
pub const START_LABEL: &str = "mmrun.sim.start";

#[derive(Clone, Debug, PartialEq)]
pub struct Behaviour {
    /// From launch to TASK_RUNNING.
    pub start: Duration,
    /// From TASK_RUNNING to the final state; `None`: runs until killed.
    pub run: Option<Duration>,
    /// How it ends after `run`.
    pub end: TaskState,
}

impl Default for Behaviour {
    /// A long-running service: running at once, until killed.
    fn default() -> Behaviour {
        Behaviour {
            start: Duration::ZERO,
            run: None,
            end: TaskState::Finished,
        }
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum BehaviourError {
    #[error("simulated task {what}: '{text}' is not a duration (write e.g. 5s, 500ms, 2mins)")]
    Duration { what: &'static str, text: String },
    #[error(
        "simulated task state: '{0}' is not a terminal task state (TASK_FINISHED, TASK_FAILED, TASK_KILLED, TASK_LOST, TASK_ERROR, …)"
    )]
    State(String),
}

impl Behaviour {
    /// `default` changed by what the task's labels say. A label that does not parse keeps
    /// the default and is reported, so the task still runs.
    pub fn of_task(task: &TaskInfo, default: &Behaviour) -> (Behaviour, Option<BehaviourError>) {
        let mut behaviour = default.clone();
        let mut error = None;
        let labels = task.labels.iter().flat_map(|l| &l.labels);
        for label in labels {
            let Some(value) = label.value.as_deref() else {
                continue;
            };
            let applied = match label.key.as_str() {
                RUN_LABEL => behaviour.set_run(value),
                STATE_LABEL => behaviour.set_end(value),
                START_LABEL => parse_duration("start", value).map(|d| behaviour.start = d),
                _ => Ok(()),
            };
            if let Err(e) = applied {
                error = Some(e);
            }
        }
        (behaviour, error)
    }

    /// `forever` (or `never`) runs until killed.
    pub fn set_run(&mut self, text: &str) -> Result<(), BehaviourError> {
        self.run = match text.trim() {
            "forever" | "never" => None,
            other => Some(parse_duration("run", other)?),
        };
        Ok(())
    }

    pub fn set_end(&mut self, text: &str) -> Result<(), BehaviourError> {
        let state: TaskState = serde_json::from_value(serde_json::Value::String(text.into()))
            .map_err(|_| BehaviourError::State(text.into()))?;
        if !state.is_terminal() {
            return Err(BehaviourError::State(text.into()));
        }
        self.end = state;
        Ok(())
    }
}

/// Mesos's units (`500ms`, `5secs`, `2mins`) and the short `s`, `m`, `h` people write.
pub fn parse_duration(what: &'static str, text: &str) -> Result<Duration, BehaviourError> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let normalised = match &text[digits..] {
        "s" | "sec" => format!("{}secs", &text[..digits]),
        "m" | "min" => format!("{}mins", &text[..digits]),
        "h" => format!("{}hrs", &text[..digits]),
        _ => text.to_string(),
    };
    crate::flags::parse_duration(&normalised).map_err(|_| BehaviourError::Duration {
        what,
        text: text.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::task::{Label, Labels};

    fn task_with(labels: &[(&str, &str)]) -> TaskInfo {
        let mut task: TaskInfo = serde_json::from_value(serde_json::json!({
            "name": "t", "task_id": {"value": "t"}, "agent_id": {"value": "a"}
        }))
        .unwrap();
        task.labels = Some(Labels {
            labels: labels
                .iter()
                .map(|(k, v)| Label {
                    key: k.to_string(),
                    value: Some(v.to_string()),
                })
                .collect(),
        });
        task
    }

    #[test]
    fn labels_override_the_agents_default() {
        let (b, e) = Behaviour::of_task(
            &task_with(&[(RUN_LABEL, "5s"), (STATE_LABEL, "TASK_FAILED")]),
            &Behaviour::default(),
        );
        assert_eq!(e, None);
        assert_eq!(b.run, Some(Duration::from_secs(5)));
        assert_eq!(b.end, TaskState::Failed);
        assert_eq!(b.start, Duration::ZERO);
    }

    #[test]
    fn bad_labels_keep_the_default_and_say_why() {
        let default = Behaviour {
            run: Some(Duration::from_millis(10)),
            ..Behaviour::default()
        };
        let (b, e) = Behaviour::of_task(&task_with(&[(STATE_LABEL, "TASK_RUNNING")]), &default);
        assert_eq!(b, default);
        assert!(matches!(e, Some(BehaviourError::State(_))));
        let (_, e) = Behaviour::of_task(&task_with(&[(RUN_LABEL, "soon")]), &default);
        assert!(matches!(e, Some(BehaviourError::Duration { .. })));
    }

    #[test]
    fn durations_take_mesos_units_and_short_ones() {
        for (text, ms) in [
            ("500ms", 500),
            ("2s", 2000),
            ("2secs", 2000),
            ("1m", 60_000),
        ] {
            assert_eq!(
                parse_duration("run", text).unwrap(),
                Duration::from_millis(ms)
            );
        }
        let mut b = Behaviour::default();
        b.set_run("forever").unwrap();
        assert_eq!(b.run, None);
    }
}
