//! An agent's methods: `stop`, `start`, `name`, `running`.

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

impl AgentHandle {
    fn stop(&self, graceful: bool) -> ScriptResult<()> {
        let ctx = &self.cluster;
        let result = ctx.scenario.block(async {
            let mut handle = ctx.handle.lock().await;
            handle
                .as_mut()
                .expect("created with the cluster")
                .stop_agent(self.index, graceful)
                .await
        })?;
        result.map_err(|e| format!("{}: {e}", self.name).into())
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
            let o = Options::new(&options, "stop", &["graceful"])?;
            a.stop(o.bool("graceful")?.unwrap_or(false))
        });
    FuncRegistration::new("start")
        .with_params_info(["agent: Agent", "()"])
        .with_comments(["/// Starts a stopped agent again; it re-registers with its old id."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> ScriptResult<()> {
            let ctx = a.cluster.clone();
            let index = a.index;
            let result = ctx.scenario.block(async {
                let mut handle = ctx.handle.lock().await;
                handle
                    .as_mut()
                    .expect("created with the cluster")
                    .start_agent(index)
                    .await
            })?;
            result.map_err(|e| format!("{}: {e}", a.name).into())
        });
    FuncRegistration::new("name")
        .with_params_info(["agent: Agent", "string"])
        .with_comments(["/// The agent's ordinal name: `agent-1` for the first added, and so on."])
        .register_into_engine(engine, |a: &mut AgentHandle| -> String { a.name.clone() });
    FuncRegistration::new("running")
        .with_params_info(["agent: Agent", "bool"])
        .with_comments(["/// Whether the agent's process is running (not stopped)."])
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
