//! An agent's methods: `stop`, `start`, `name`, `running`, and the faults `kill`, `pause`,
//! `unpause`, `disconnect`, `reconnect`.

use crate::cluster::BackendError;
use crate::script::bindings::option_keys;
use crate::script::context::{ClusterCtx, ScriptResult};
use crate::script::values::Options;
use rhai::{Engine, FuncRegistration, Map};
use std::sync::Arc;

/// A script's handle to one agent (`Agent` in scripts).
#[derive(Clone)]
pub struct AgentHandle {
    pub cluster: Arc<ClusterCtx>,
    pub index: usize,
    pub name: String,
}

/// A fault a script injects into an agent, or lifts.
#[derive(Clone, Copy)]
enum Fault {
    Kill,
    Pause,
    Unpause,
    Disconnect,
    Reconnect,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Unpause => "unpause",
            Fault::Disconnect => "disconnect",
            Fault::Reconnect => "reconnect",
        }
    }
}

impl AgentHandle {
    /// Applies a fault through the backend. Errors name the agent and the call:
    /// "agent-1.unpause(): the agent is not paused".
    fn fault(&self, fault: Fault) -> ScriptResult<()> {
        let ctx = &self.cluster;
        ctx.scenario
            .timeline
            .fault(&self.name, &format!("{}()", fault.name()));
        let index = self.index;
        let what = format!("{}.{}()", self.name, fault.name());
        ctx.with_handle(&what, async |handle| {
            // Checked here, the same way for every backend.
            if !handle.agent_running(index) {
                return Err(BackendError::failed(
                    "the agent is not running (it was stopped or killed; start() it first)",
                ));
            }
            match fault {
                Fault::Kill => handle.stop_agent(index, false).await,
                Fault::Pause => handle.pause_agent(index).await,
                Fault::Unpause => handle.unpause_agent(index).await,
                Fault::Disconnect => handle.disconnect_agent(index).await,
                Fault::Reconnect => handle.reconnect_agent(index).await,
            }
        })
    }

    /// Stops or starts the agent. Whether it runs is checked here, the same way for every
    /// backend, so errors name the agent once, as the script does: "agent-1.start(): the agent
    /// is already running".
    fn stop_or_start(&self, call: &str, start: bool, graceful: bool) -> ScriptResult<()> {
        let ctx = &self.cluster;
        ctx.scenario
            .timeline
            .fault(&self.name, &format!("{call}()"));
        let index = self.index;
        ctx.with_handle(&format!("{}.{call}()", self.name), async |handle| {
            match (start, handle.agent_running(index)) {
                (true, true) => Err(BackendError::failed("the agent is already running")),
                (false, false) => Err(BackendError::failed(
                    "the agent is not running (it was stopped or killed; start() it first)",
                )),
                (true, false) => handle.start_agent(index).await,
                (false, true) => handle.stop_agent(index, graceful).await,
            }
        })
    }

    fn stop(&self, graceful: bool) -> ScriptResult<()> {
        self.stop_or_start("stop", false, graceful)
    }
}

pub fn register(engine: &mut Engine) {
    FuncRegistration::new("stop")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Stops the agent as a crash would: no goodbye; the master notices through missed pings."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> { a.stop(false) });
    FuncRegistration::new("stop")
        .with_params_info(["agent: Agent", "options: map", "()"])
        .with_comments(["/// Stops the agent. Options: `graceful` (true: its tasks are killed and it unregisters)."])
        .register_into_engine(engine, |a: &mut AgentHandle, options: Map| -> ScriptResult<()> {
            let o = Options::new(&options, "stop", option_keys::STOP_AGENT.keys)?;
            a.stop(o.bool("graceful")?.unwrap_or(false))
        });
    FuncRegistration::new("kill")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Kills the agent as a crash (SIGKILL): no goodbye, its tasks die with it; the master\n/// notices through missed pings. The same as `stop()`; `start()` brings it back."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> { a.fault(Fault::Kill) });
    FuncRegistration::new("pause")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Freezes the agent, as `docker pause`: it answers nothing (the master's pings time out,\n/// so after `max_agent_ping_timeouts` it is unreachable), sends nothing, and its tasks are\n/// frozen with their state. It is still `running()`."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> { a.fault(Fault::Pause) });
    FuncRegistration::new("unpause")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Thaws a paused agent: its tasks carry on, and if the master marked it unreachable it\n/// re-registers with them (partition-aware frameworks' tasks return; others' are killed)."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> { a.fault(Fault::Unpause) });
    FuncRegistration::new("disconnect")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Cuts the agent off the network (a partition): it keeps running and its tasks may end,\n/// but nothing reaches it and nothing it sends arrives; the master's pings time out and it\n/// becomes unreachable. It is still `running()`."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> { a.fault(Fault::Disconnect) });
    FuncRegistration::new("reconnect")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Heals the partition: the agent reaches the master again. If it was marked unreachable it\n/// re-registers with its tasks (partition-aware frameworks' tasks return, others' are killed);\n/// the updates of tasks that changed meanwhile are delivered."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> { a.fault(Fault::Reconnect) });
    FuncRegistration::new("start")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Starts a stopped agent again; it re-registers with its old id."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> {
            a.stop_or_start("start", true, false)
        });
    FuncRegistration::new("name")
        .with_params_info(["agent: Agent", "string"])
        .with_comments(["/// The agent's ordinal name: `agent-1` for the first added, and so on."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> String { a.name.clone() });
    FuncRegistration::new("running")
        .with_params_info(["agent: Agent", "bool"])
        .with_comments(["/// Whether the agent's process is running (not stopped or killed; a paused or\n/// disconnected agent is running)."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> bool {
            let ctx = a.cluster.clone();
            let index = a.index;
            ctx.scenario
                .block(async {
                    ctx.handle
                        .lock()
                        .await
                        .as_ref()
                        .is_some_and(|h| h.agent_running(index))
                })
                .unwrap_or(false)
        });
}
