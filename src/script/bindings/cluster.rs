//! `cluster()` and the cluster's methods: masters, agents, frameworks, state. Tasks and
//! frameworks of any framework are observed in `observe`.

use super::masters::{MasterHandle, follow_leader, leader, master_finder, restart_master};
use super::{AgentHandle, ClusterHandleRef, FrameworkHandle};
use crate::client::MasterClient;
use crate::cluster::{AgentSpec, ClusterSpec};
use crate::framework::{Framework, FrameworkOptions};
use crate::mesos::encoding::Encoding;
use crate::script::bindings::option_keys;
use crate::script::context::{
    AgentEntry, ClusterCtx, ScenarioCtx, ScriptResult, backend_error, lock, script_error,
};
use crate::script::values::{Options, to_dynamic};
use rhai::{Array, Dynamic, Engine, FuncRegistration, Map};
use std::sync::{Arc, Mutex};

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    let s = scenario.clone();
    FuncRegistration::new("cluster")
        .with_params_info(["Cluster"])
        .with_comments([
            "/// A fresh, empty cluster with short liveness settings (agent loss in ~0.3 s).",
        ])
        .register_into_engine(engine, move || -> ScriptResult<ClusterHandleRef> {
            new_cluster(&s, &Map::new())
        });
    let s = scenario;
    FuncRegistration::new("cluster")
        .with_params_info(["options: map", "Cluster"])
        .with_comments([
            "/// A fresh cluster. Options: `agent_ping_timeout` (e.g. \"100ms\"),\n\
            /// `max_agent_ping_timeouts` (e.g. 3), `status_update_retry` (e.g. \"2s\"),\n\
            /// `agents` (a number, or an array of `add_agent` option maps: the master and these agents\n\
            /// start together, at once, and `cluster` returns when all are active),\n\
            /// `mesos_image` (Docker backend: run real Mesos from this local image),\n\
            /// `zookeeper` (true: a real ZooKeeper node; masters elect their leader through it, agents and\n\
            /// frameworks find the leader there), `masters` (a number; more than one implies `zookeeper`),\n\
            /// `zk_session_timeout` (default \"2s\"; Mesos's default is \"10s\"): how long a killed leader\n\
            /// keeps leading, and how long ZooKeeper may be away before masters give up and stop,\n\
            /// `encoding` (\"json\", the default, or \"protobuf\": what `submit_framework`'s frameworks speak),\n\
            /// `api` (\"http\", the default: the v1 scheduler API, or \"driver\": libprocess messages, as\n\
            /// the Mesos scheduler driver behind Marathon, Spark and the Java/Python APIs speaks),\n\
            /// `simulated` (true: the `agents` are simulated agents, see `add_agents`), `sim` (what their\n\
            /// tasks do by default, see `add_agents`).",
        ])
        .register_into_engine(engine, move |options: Map| -> ScriptResult<ClusterHandleRef> { new_cluster(&s, &options) });

    FuncRegistration::new("start_master")
        .with_params_info(["c: Cluster", "Master"])
        .with_comments(["/// Starts the master (every master, with `masters: n`); returns the leader once one leads."])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef| -> ScriptResult<MasterHandle> {
                let ctx = c.0.clone();
                let url = ctx.with_handle("start_master()", async |h| h.start_master().await)?;
                *lock(&ctx.master_url) = Some(url);
                follow_leader(&ctx)?;
                leader(&ctx)
            },
        );
    FuncRegistration::new("example_executor")
        .with_params_info(["c: Cluster", "string"])
        .with_comments(["/// The shell command that runs mmrun's own example executor on this cluster's agents, for a\n/// task's `executor: #{ id, cmd: c.example_executor() }`. It runs each task's `cmd` with\n/// `sh -c` (TASK_RUNNING, then TASK_FINISHED or TASK_FAILED), ends it on a kill\n/// (TASK_KILLED), answers every framework message with `echo:<data>`, and exits on SHUTDOWN.\n/// It speaks the v1 executor API."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<String> {
            example_executor(&c.0, &Map::new())
        });
    FuncRegistration::new("example_executor")
        .with_params_info(["c: Cluster", "options: Map", "string"])
        .with_comments(["/// The example executor, with options: `api` (\"http\", the default: the v1 executor API,\n/// or \"driver\": libprocess messages, as the Mesos executor driver behind Java, Python and\n/// mesos-go v0 executors speaks)."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef, options: Map| -> ScriptResult<String> {
            example_executor(&c.0, &options)
        });
    FuncRegistration::new("restart_master")
        .with_params_info(["c: Cluster", "()"])
        .with_comments(["/// Restarts the master (fresh id, empty registry); agents re-register with their tasks.\n/// Frameworks submitted before lose their subscription: calls on them fail (submit new ones)."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<()> { restart_master(&c.0) });

    FuncRegistration::new("add_agent")
        .with_params_info(["c: Cluster", "Agent"])
        .with_comments(["/// Adds an agent with Mesos's default resources; returns once the master lists it as active."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<AgentHandle> { add_agent(&c.0, &Map::new()) });
    FuncRegistration::new("add_agent")
        .with_params_info(["c: Cluster", "options: map", "Agent"])
        .with_comments([
            "/// Adds an agent; returns once the master lists it as active. Options: `resources`\n/// (e.g. \"cpus:2;mem:1024\"), `attributes` (e.g. \"rack:a\"), `simulated` (true: a simulated\n/// agent, see `add_agents`) and its `sim` defaults.",
        ])
        .register_into_engine(engine, |c: &mut ClusterHandleRef, options: Map| -> ScriptResult<AgentHandle> {
            add_agent(&c.0, &options)
        });
    FuncRegistration::new("add_agents")
        .with_params_info(["c: Cluster", "count: int", "array"])
        .with_comments(["/// Adds `count` agents with Mesos's default resources, one after the other; returns them."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef, count: rhai::INT| -> ScriptResult<Array> {
            add_agents(&c.0, count, &Map::new())
        });
    FuncRegistration::new("add_agents")
        .with_params_info(["c: Cluster", "count: int", "options: map", "array"])
        .with_comments([
            "/// Adds `count` agents with `add_agent`'s options; returns them. With `simulated: true`\n\
            /// they are simulated agents (thousands in seconds: no process, no sandbox each), all\n\
            /// registered at once; `sim: #{ run: \"5s\" | \"forever\", state: \"TASK_FINISHED\", start: \"0s\" }`\n\
            /// is what their tasks do unless a task's own `sim` says otherwise (default: run until killed).",
        ])
        .register_into_engine(engine, |c: &mut ClusterHandleRef, count: rhai::INT, options: Map| -> ScriptResult<Array> {
            add_agents(&c.0, count, &options)
        });
    FuncRegistration::new("agents")
        .with_params_info(["c: Cluster", "array"])
        .with_comments(["/// Every agent added so far, in the order they were added."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> Array {
            let names: Vec<String> = lock(&c.0.agents).iter().map(|a| a.name.clone()).collect();
            names
                .into_iter()
                .enumerate()
                .map(|(index, name)| {
                    Dynamic::from(AgentHandle {
                        cluster: c.0.clone(),
                        index,
                        name,
                    })
                })
                .collect()
        });

    FuncRegistration::new("submit_framework")
        .with_params_info(["c: Cluster", "options: map", "Framework"])
        .with_comments([
            "/// Subscribes a framework (mmrun itself, over the v1 scheduler API or as a scheduler driver) and queues its tasks.\n\
            /// Options: `name` (required), `tasks` (array of task maps, see `launch`), `role`,\n\
            /// `partition_aware` (default false), `checkpoint` (default true), `failover_timeout` (seconds),\n\
            /// `encoding` (\"json\" or \"protobuf\" on the v1 scheduler API; default: the cluster's),\n\
            /// `api` (\"http\" or \"driver\": speak as the Mesos scheduler driver does; default: the cluster's).",
        ])
        .register_into_engine(engine, |c: &mut ClusterHandleRef, options: Map| -> ScriptResult<FrameworkHandle> {
            submit_framework(&c.0, &options)
        });
    FuncRegistration::new("frameworks")
        .with_params_info(["c: Cluster", "array"])
        .with_comments(["/// Every framework submitted so far."])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> Array {
            lock(&c.0.frameworks)
                .iter()
                .map(|f| {
                    Dynamic::from(FrameworkHandle {
                        cluster: c.0.clone(),
                        framework: f.clone(),
                    })
                })
                .collect()
        });

    FuncRegistration::new("active_agents")
        .with_params_info(["c: Cluster", "int"])
        .with_comments([
            "/// How many agents the master holds active now (`activated_slaves`), without making a\n/// map of its whole state: for clusters of thousands of agents.",
        ])
        .register_into_engine(engine, |c: &mut ClusterHandleRef| -> ScriptResult<rhai::INT> {
            let url = c.0.master_url()?;
            let state = c
                .0
                .scenario
                .block(MasterClient::new(url).raw_state())?
                .map_err(|e| e.to_string())?;
            Ok(state["activated_slaves"].as_f64().unwrap_or(0.0) as rhai::INT)
        });
    FuncRegistration::new("raw_state")
        .with_params_info(["c: Cluster", "map"])
        .with_comments([
            "/// The master's `/master/state` as a map, exactly as the master sent it — except that on\n/// `--backend external` the frameworks the cluster held before the scenario attached are left\n/// out of `frameworks` and `completed_frameworks`.",
        ])
        .register_into_engine(
            engine,
            |c: &mut ClusterHandleRef| -> ScriptResult<Dynamic> {
                let url = c.0.master_url()?;
                let mut state =
                    c.0.scenario
                        .block(MasterClient::new(url).raw_state())?
                        .map_err(|e| e.to_string())?;
                let foreign = c.0.foreign_frameworks()?;
                for key in ["frameworks", "completed_frameworks"] {
                    if let Some(list) = state.get_mut(key).and_then(|v| v.as_array_mut()) {
                        list.retain(|f| {
                            !f["id"].as_str().is_some_and(|id| foreign.iter().any(|x| x == id))
                        });
                    }
                }
                to_dynamic(&state)
            },
        );
}

/// `c.example_executor(#{ api })`: the command that starts mmrun's example executor.
fn example_executor(ctx: &Arc<ClusterCtx>, options: &Map) -> ScriptResult<String> {
    let o = Options::new(
        options,
        "example_executor",
        option_keys::EXAMPLE_EXECUTOR.keys,
    )?;
    let driver = o.framework_api("api")? == Some(crate::framework::FrameworkApi::Driver);
    let command = ctx.scenario.block(async {
        ctx.handle
            .lock()
            .await
            .as_ref()
            .map(|h| h.example_executor_command())
            .ok_or_else(|| "the cluster is gone".to_string())
    })?;
    let command = match command {
        Ok(command) => command,
        Err(e) => return script_error(e),
    };
    Ok(if driver {
        format!("{command} --driver")
    } else {
        command
    })
}

fn new_cluster(scenario: &Arc<ScenarioCtx>, options: &Map) -> ScriptResult<ClusterHandleRef> {
    let o = Options::new(options, "cluster", option_keys::CLUSTER.keys)?;
    let mut spec = ClusterSpec {
        scenario: scenario.scenario.clone(),
        ..ClusterSpec::default()
    };
    if let Some(d) = o.duration("agent_ping_timeout")? {
        spec.agent_ping_timeout = d;
    }
    if let Some(n) = o.number("max_agent_ping_timeouts")? {
        if n < 1.0 {
            return script_error("cluster: max_agent_ping_timeouts must be at least 1");
        }
        spec.max_agent_ping_timeouts = n as u32;
    }
    if let Some(d) = o.duration("status_update_retry")? {
        spec.status_update_retry = d;
    }
    spec.mesos_image = o.string("mesos_image")?;
    spec.zookeeper = o.bool("zookeeper")?.unwrap_or(false);
    if let Some(n) = o.number("masters")? {
        if n < 1.0 || n.fract() != 0.0 {
            return script_error(format!(
                "cluster: masters must be a whole number of at least 1, not {n} (3 is usual for HA)"
            ));
        }
        spec.masters = n as usize;
    }
    if let Some(d) = o.duration("zk_session_timeout")? {
        use crate::zookeeper::{MAX_SESSION_TIMEOUT, MIN_SESSION_TIMEOUT};
        if !(MIN_SESSION_TIMEOUT..=MAX_SESSION_TIMEOUT).contains(&d) {
            return script_error(format!(
                "cluster: zk_session_timeout must be between 1s and 40s (the session timeouts mmrun's ZooKeeper grants), not {d:?}"
            ));
        }
        spec.zk_session_timeout = d;
    }
    let agents = match o.get("agents") {
        Some(a) => Some(agent_specs(a)?),
        None => None,
    };
    // `simulated: true` makes `agents` simulated ones, with `sim` their tasks' default.
    let simulated = match o.bool("simulated")?.unwrap_or(false) {
        true => Some(sim_behaviour(o.get("sim"), "cluster")?),
        false if o.get("sim").is_some() => {
            return script_error("cluster: 'sim' is for simulated agents: add simulated: true");
        }
        false => None,
    };
    let encoding = o.encoding("encoding")?.unwrap_or(Encoding::Json);
    let api = o.framework_api("api")?.unwrap_or(scenario.framework_api);
    let backend = scenario.backend.clone();
    let handle = scenario
        .block(backend.create(spec.clone()))?
        .map_err(|e| backend_error("", e))?;
    // A cluster given through ZooKeeper (`--backend external --master zk://…`) is followed
    // there, as one that asked for it.
    if handle.zookeeper_url().is_some() {
        spec.zookeeper = true;
    }
    let ctx = Arc::new(ClusterCtx {
        scenario: scenario.clone(),
        spec,
        handle: tokio::sync::Mutex::new(Some(handle)),
        agents: Mutex::new(Vec::new()),
        frameworks: Mutex::new(Vec::new()),
        framework_runs: Default::default(),
        master_url: Mutex::new(None),
        leader: Mutex::new(None),
        encoding,
        api,
    });
    lock(&scenario.clusters).push(ctx.clone());
    match (agents, simulated) {
        (Some(agents), None) => start_together(&ctx, agents)?,
        (agents, Some(behaviour)) => {
            start_together(&ctx, Vec::new())?;
            // Runs of identical agents are added at once (`agents: 2000` is one run).
            let specs = agents.unwrap_or_default();
            for run in specs.chunk_by(|a, b| a == b) {
                add_simulated(&ctx, run.len(), run[0].clone(), behaviour.clone())?;
            }
        }
        (None, None) => {}
    }
    Ok(ClusterHandleRef(ctx))
}

/// `agents: 3` or `agents: [#{ resources: "cpus:2" }, #{}]`.
fn agent_specs(value: &Dynamic) -> ScriptResult<Vec<AgentSpec>> {
    if let Some(n) = crate::script::values::number(value) {
        if n < 0.0 || n.fract() != 0.0 {
            return script_error(format!("cluster: agents must be a whole number, not {n}"));
        }
        return Ok(vec![AgentSpec::default(); n as usize]);
    }
    let Some(list) = value.clone().try_cast::<Array>() else {
        return script_error(
            "cluster: agents must be a number or an array of agent options, e.g. agents: 3",
        );
    };
    list.iter()
        .map(|item| {
            let map = item
                .clone()
                .try_cast::<Map>()
                .ok_or("cluster: each entry of agents must be a map of add_agent options")?;
            agent_spec(&map)
        })
        .collect()
}

fn agent_spec(options: &Map) -> ScriptResult<AgentSpec> {
    Ok(agent_options(options, "add_agent")?.0)
}

/// An agent's options: its spec, and its tasks' default behaviour when it is simulated
/// (`simulated: true`, with `sim: #{ run, state, start }`).
fn agent_options(
    options: &Map,
    function: &str,
) -> ScriptResult<(AgentSpec, Option<crate::lite::sim::Behaviour>)> {
    let o = Options::new(options, function, option_keys::AGENT.keys)?;
    let spec = AgentSpec {
        resources: o.string("resources")?,
        attributes: o.string("attributes")?,
    };
    let simulated = match o.bool("simulated")?.unwrap_or(false) {
        true => Some(sim_behaviour(o.get("sim"), function)?),
        false if o.get("sim").is_some() => {
            return script_error(format!(
                "{function}: 'sim' is for simulated agents: add simulated: true"
            ));
        }
        false => None,
    };
    Ok((spec, simulated))
}

/// `sim: #{ run: "5s" | "forever", state: "TASK_FINISHED", start: "100ms" }`: what a
/// simulated agent's tasks do unless a task says otherwise.
fn sim_behaviour(
    value: Option<&Dynamic>,
    function: &str,
) -> ScriptResult<crate::lite::sim::Behaviour> {
    let mut behaviour = crate::lite::sim::Behaviour::default();
    let Some(value) = value else {
        return Ok(behaviour);
    };
    let what = format!("{function}: sim");
    let map = value.clone().try_cast::<Map>().ok_or_else(|| {
        format!("{what} must be a map like #{{ run: \"5s\", state: \"TASK_FINISHED\" }}")
    })?;
    let o = Options::new(&map, &what, option_keys::SIM.keys)?;
    if let Some(run) = o.get("run") {
        behaviour
            .set_run(&run.to_string())
            .map_err(|e| format!("{what}: {e}"))?;
    }
    if let Some(state) = o.string("state")? {
        behaviour
            .set_end(&state)
            .map_err(|e| format!("{what}: {e}"))?;
    }
    if let Some(start) = o.get("start") {
        behaviour.start = crate::lite::sim::behaviour::parse_duration("start", &start.to_string())
            .map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(behaviour)
}

/// Adds `count` simulated agents, named as the others (`agent-N`).
fn add_simulated(
    ctx: &Arc<ClusterCtx>,
    count: usize,
    spec: AgentSpec,
    behaviour: crate::lite::sim::Behaviour,
) -> ScriptResult<Vec<AgentHandle>> {
    ctx.master_url()?;
    let added = ctx.with_handle("add_agents()", async |h| {
        h.add_simulated_agents(count, spec, behaviour).await
    })?;
    let mut entries = lock(&ctx.agents);
    Ok(added
        .into_iter()
        .map(|(index, id)| {
            let name = format!("agent-{}", index + 1);
            entries.push(AgentEntry {
                name: name.clone(),
                id,
            });
            AgentHandle {
                cluster: ctx.clone(),
                index,
                name,
            }
        })
        .collect())
}

/// `c.add_agents(n, options)`: simulated agents at once, real ones one after the other.
fn add_agents(ctx: &Arc<ClusterCtx>, count: rhai::INT, options: &Map) -> ScriptResult<Array> {
    if count < 0 {
        return script_error(format!(
            "add_agents: the count must not be negative, not {count}"
        ));
    }
    let (spec, simulated) = agent_options(options, "add_agents")?;
    let agents = match simulated {
        Some(behaviour) => add_simulated(ctx, count as usize, spec, behaviour)?,
        None => (0..count)
            .map(|_| add_agent(ctx, options))
            .collect::<ScriptResult<Vec<_>>>()?,
    };
    Ok(agents.into_iter().map(Dynamic::from).collect())
}

/// Starts the master and the agents at once (see `ClusterHandle::start_cluster`).
fn start_together(ctx: &Arc<ClusterCtx>, agents: Vec<AgentSpec>) -> ScriptResult<()> {
    let (url, ids) = ctx.with_handle("cluster", async |h| h.start_cluster(agents).await)?;
    *lock(&ctx.master_url) = Some(url);
    follow_leader(ctx)?;
    let mut entries = lock(&ctx.agents);
    for (i, id) in ids.into_iter().enumerate() {
        entries.push(AgentEntry {
            name: format!("agent-{}", i + 1),
            id,
        });
    }
    Ok(())
}

fn add_agent(ctx: &Arc<ClusterCtx>, options: &Map) -> ScriptResult<AgentHandle> {
    let (spec, simulated) = agent_options(options, "add_agent")?;
    if let Some(behaviour) = simulated {
        let mut added = add_simulated(ctx, 1, spec, behaviour)?;
        return Ok(added.remove(0));
    }
    ctx.master_url()?;
    let (index, id) = ctx.with_handle("add_agent()", async |h| h.add_agent(spec).await)?;
    let name = format!("agent-{}", index + 1);
    lock(&ctx.agents).push(AgentEntry {
        name: name.clone(),
        id,
    });
    Ok(AgentHandle {
        cluster: ctx.clone(),
        index,
        name,
    })
}

fn submit_framework(ctx: &Arc<ClusterCtx>, options: &Map) -> ScriptResult<FrameworkHandle> {
    let o = Options::new(options, "submit_framework", option_keys::FRAMEWORK.keys)?;
    let name = o
        .string("name")?
        .ok_or("submit_framework: option 'name' is required, e.g. #{ name: \"hello\" }")?;
    if lock(&ctx.frameworks).iter().any(|f| f.name() == name) {
        return script_error(format!(
            "submit_framework: a framework named '{name}' already exists in this cluster"
        ));
    }
    let mut fo = FrameworkOptions::named(&name);
    if let Some(role) = o.string("role")? {
        fo.role = role;
    }
    fo.partition_aware = o.bool("partition_aware")?.unwrap_or(false);
    fo.checkpoint = o.bool("checkpoint")?.unwrap_or(true);
    fo.failover_timeout = o.number("failover_timeout")?.unwrap_or(0.0);
    fo.encoding = o.encoding("encoding")?.unwrap_or(ctx.encoding);
    fo.api = o.framework_api("api")?.unwrap_or(ctx.api);
    let tasks = match o.get("tasks") {
        Some(t) => super::task_options::with_local_paths(
            super::task_options::task_requests(t, "submit_framework")?,
            ctx,
        )?,
        None => vec![],
    };
    let finder = master_finder(ctx)?;
    let framework = ctx
        .scenario
        .block(Framework::subscribe_via(finder, fo))?
        .map_err(|e| format!("submit_framework '{name}': {e}"))?;
    // Kept first, so teardown reaches it even when its tasks are refused.
    lock(&ctx.frameworks).push(framework.clone());
    if !tasks.is_empty() {
        framework
            .launch(tasks)
            .map_err(|e| format!("submit_framework: {e}"))?;
    }
    Ok(FrameworkHandle {
        cluster: ctx.clone(),
        framework,
    })
}
