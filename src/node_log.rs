//! Per-node logs for nodes that share this process (the embedded backend's masters and
//! agents), so a failed scenario's artifacts hold `master.log` and `agent-1.log` as they do on
//! Docker, where each node is a container with its own output.
//!
//! A node runs inside its own tracing span ([`NodeLog::span`]); every task it spawns carries
//! that span ([`spawn`]); [`NodeLogLayer`] files each event under the nearest enclosing node
//! span. Without the layer installed (library use, tests) nothing is captured and nothing costs.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use tracing::field::{Field, Visit};
use tracing::{Event, Instrument, Span, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Lines kept per node: the end of a long run is what explains a failure.
const MAX_LINES: usize = 5000;

type Lines = Mutex<VecDeque<String>>;

/// Open node spans (by span id) and where their lines go.
static NODES: LazyLock<Mutex<HashMap<u64, Weak<Lines>>>> = LazyLock::new(Default::default);

fn nodes() -> std::sync::MutexGuard<'static, HashMap<u64, Weak<Lines>>> {
    NODES.lock().unwrap_or_else(|e| e.into_inner())
}

/// The log of one node, kept across its restarts (one per master or agent slot).
pub struct NodeLog {
    name: String,
    span: Span,
    lines: Arc<Lines>,
}

impl NodeLog {
    /// A log for the node called `name` (`master`, `agent-1`, …).
    pub fn new(name: &str) -> NodeLog {
        let span = tracing::info_span!(parent: None, "node", node = name);
        let lines = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(id) = span.id() {
            nodes().insert(id.into_u64(), Arc::downgrade(&lines));
        }
        NodeLog {
            name: name.to_string(),
            span,
            lines,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The span the node's code runs in: enter it (or instrument with it) where the node
    /// starts, stops or is restarted.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The lines logged so far (the last [`MAX_LINES`]).
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect()
    }

    /// Whether lines are being captured at all (the layer is installed).
    pub fn captured(&self) -> bool {
        self.span.id().is_some()
    }
}

impl Drop for NodeLog {
    fn drop(&mut self) {
        if let Some(id) = self.span.id() {
            nodes().remove(&id.into_u64());
        }
    }
}

/// `tokio::spawn`, keeping the current span: what a node spawns logs as that node.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_span())
}

/// Whether the current span is (inside) a node's span: the event belongs to an in-process
/// node's log.
pub fn in_node_span<S>(context: &tracing_subscriber::layer::Context<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    context
        .lookup_current()
        .is_some_and(|span| span.scope().any(|s| s.name() == "node"))
}

/// Files every event logged inside a node's span under that node.
pub struct NodeLogLayer;

impl<S> Layer<S> for NodeLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let target = {
            let nodes = nodes();
            scope
                .into_iter()
                .find_map(|span| nodes.get(&span.id().into_u64()).and_then(Weak::upgrade))
        };
        let Some(lines) = target else {
            return;
        };
        let line = format_line(event);
        let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == MAX_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}

/// `2026-12-02T07:41:58.566154Z  INFO message key=value`, as the nodes' own output reads.
fn format_line(event: &Event<'_>) -> String {
    let mut line = String::new();
    let _ = SystemTime.format_time(&mut Writer::new(&mut line));
    let _ = write!(line, " {:>5} ", event.metadata().level());
    let mut fields = Fields::default();
    event.record(&mut fields);
    line.push_str(&fields.message);
    line.push_str(&fields.rest);
    line
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// Events inside a node's span, its spawned tasks' too, are that node's; events outside
    /// every node span are nobody's.
    #[tokio::test]
    async fn events_are_filed_under_the_enclosing_node_spawned_tasks_included() {
        let subscriber = tracing_subscriber::registry().with(NodeLogLayer);
        let _default = tracing::subscriber::set_default(subscriber);
        let master = NodeLog::new("master");
        let agent = NodeLog::new("agent-1");
        assert!(master.captured());
        tracing::info!("before any node");
        {
            let _in = master.span().enter();
            tracing::info!(port = 5050, "master listening");
            // Spawned while in the master's span: still the master's.
            let task = spawn(async { tracing::warn!("from a task the master spawned") });
            drop(_in);
            task.await.unwrap();
        }
        async { tracing::error!("agent lost") }
            .instrument(agent.span().clone())
            .await;
        let master_lines = master.lines();
        assert_eq!(master_lines.len(), 2, "{master_lines:?}");
        assert!(
            master_lines[0].ends_with(" INFO master listening port=5050"),
            "{master_lines:?}"
        );
        assert!(master_lines[1].contains("WARN from a task the master spawned"));
        assert_eq!(agent.lines().len(), 1);
        assert!(agent.lines()[0].contains("ERROR agent lost"));
    }
}
