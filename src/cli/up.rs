//! `mmrun up [--agents N]`: an in-process cluster in the foreground, for trying a framework by
//! hand. Prints where everything is; Ctrl-C stops every node and removes every file.

use super::backend::{self, BackendChoice};
use super::{CliError, CliResult, InvalidArgument};
use crate::cluster::{AgentSpec, Backend, ClusterSpec};
use crate::errors::WhileDoing;
use crate::lite::cluster::{AgentOptions, ClusterOptions, LocalCluster};
use crate::mesos::attributes::parse_attributes;
use crate::mesos::resources::Resources;
use clap::Args;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

#[derive(Args)]
pub struct UpArgs {
    /// Number of agents.
    #[arg(long, default_value_t = 1)]
    agents: usize,
    /// Where the cluster runs: `docker` (every node a container) or `embedded` (this process).
    #[arg(long, value_enum, default_value_t = BackendChoice::Embedded)]
    backend: BackendChoice,
    /// Docker backend: run real Mesos from this local image instead of mmrun's nodes.
    #[arg(long, value_name = "IMAGE")]
    mesos_image: Option<String>,
    /// The master's port (0: any free port).
    #[arg(long, default_value_t = 5050)]
    port: u16,
    /// The address the master and agents listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    ip: IpAddr,
    /// Each agent's resources, in Mesos's --resources syntax.
    #[arg(long)]
    resources: Option<String>,
    /// Each agent's attributes, in Mesos's --attributes syntax.
    #[arg(long)]
    attributes: Option<String>,
    /// The master's agent ping timeout, in Mesos duration syntax (e.g. 15secs).
    #[arg(long, default_value = "15secs", value_parser = crate::flags::parse_duration)]
    agent_ping_timeout: Duration,
    /// Missed pings after which an agent is unreachable.
    #[arg(long, default_value_t = 5)]
    max_agent_ping_timeouts: u32,
    /// Number of masters; more than one elect their leader through ZooKeeper (implies
    /// --zookeeper). Their ports are chosen freely (--port and --ip apply to one master).
    #[arg(long, default_value_t = 1)]
    masters: usize,
    /// Run a real ZooKeeper: masters contend through it, agents and frameworks find the
    /// leader there (`MESOS_MASTER` is then its zk:// URL).
    #[arg(long)]
    zookeeper: bool,
    /// Simulated agents (embedded backend): thousands in seconds, each registered, offered and
    /// running tasks on the wire as a real agent, at no process or sandbox each.
    #[arg(long)]
    simulated: bool,
    /// With --simulated: how long their tasks run unless a task says otherwise (`mmrun.sim.run`
    /// label), e.g. 5s; `forever` (the default) runs until killed.
    #[arg(long, value_name = "DURATION", requires = "simulated")]
    sim_run: Option<String>,
    /// With --simulated: how their tasks end after --sim-run (default TASK_FINISHED).
    #[arg(long, value_name = "STATE", requires = "simulated")]
    sim_state: Option<String>,
}

pub async fn run(args: UpArgs) -> CliResult {
    if args.masters == 0 {
        return Err(CliError::usage(
            "--masters must be at least 1 (3 is usual for HA)",
        ));
    }
    if args.backend == BackendChoice::External {
        return Err(CliError::usage(
            "`mmrun up` starts a cluster; --backend external attaches to one (`mmrun run --backend external --master …`)",
        ));
    }
    if args.backend != BackendChoice::Embedded || args.mesos_image.is_some() {
        return run_in_docker(args).await;
    }
    if args.masters > 1 || args.zookeeper {
        // ZooKeeper and extra masters are the backend's to run.
        return run_on_backend(
            args,
            std::sync::Arc::new(crate::cluster::embedded::Embedded),
            None,
        )
        .await;
    }
    let options = ClusterOptions {
        agent_ping_timeout: args.agent_ping_timeout,
        max_agent_ping_timeouts: args.max_agent_ping_timeouts,
        master_addr: SocketAddr::new(args.ip, args.port),
        ..ClusterOptions::default()
    };
    let mut cluster = LocalCluster::start(options).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            CliError::environment(format!(
                "port {} is in use (another Mesos master?); pass --port 0 for any free port",
                args.port
            ))
        } else {
            CliError::environment(WhileDoing::new("cannot start the master", e))
        }
    })?;
    let agent_options = AgentOptions {
        resources: args.resources.clone(),
        attributes: args.attributes.clone(),
    };
    let behaviour = sim_behaviour(&args)?;
    let started = tokio::select! {
        r = start_agents(&mut cluster, args.agents, &agent_options, behaviour) => r,
        _ = super::interrupted() => Err(CliError::Interrupted),
    };
    if let Err(e) = started {
        cluster.shutdown().await;
        return Err(e);
    }
    let master = cluster.master_addr();
    let kind = if args.simulated { "simulated " } else { "" };
    println!(
        "mmrun: cluster up: 1 master, {} {kind}agent(s)",
        args.agents
    );
    println!("  master    {}", cluster.master_url());
    println!("  web UI    {}/", cluster.master_url());
    // Thousands of simulated agents: their count says enough.
    let listed = if args.simulated { 0 } else { args.agents };
    for i in 0..listed {
        let id = cluster.agent_id(i).map(|a| a.value).unwrap_or_default();
        println!(
            "  agent-{:<3} {}  ({id})",
            i + 1,
            cluster.agent_url(i).unwrap_or_default()
        );
    }
    if let Some(root) = cluster.root_dir() {
        println!("  files     {}  (removed on exit)", root.display());
    }
    println!("MESOS_MASTER={master}");
    println!("Press Ctrl-C to stop the cluster and remove its files.");
    super::interrupted().await;
    println!("mmrun: stopping the cluster");
    cluster.shutdown().await;
    println!("mmrun: stopped; nothing left running");
    Ok(())
}

/// `mmrun up --backend docker`: the same cluster, every node a container; Ctrl-C removes it.
async fn run_in_docker(args: UpArgs) -> CliResult {
    let choice = match args.backend {
        BackendChoice::Embedded => BackendChoice::Docker,
        other => other,
    };
    let chosen = backend::choose(choice, args.mesos_image.as_deref(), false).await?;
    let Some(docker_backend) = chosen.docker.clone() else {
        // `--backend auto` without a daemon: the in-process cluster.
        eprintln!("mmrun: {}", chosen.description);
        return Box::pin(run(UpArgs {
            backend: BackendChoice::Embedded,
            ..args
        }))
        .await;
    };
    eprintln!("mmrun: {}", chosen.description);
    run_on_backend(args, docker_backend, Some(chosen)).await
}

/// The cluster on a backend (Docker, or embedded with ZooKeeper and several masters) until
/// Ctrl-C; `chosen` holds what the backend choice started (the Docker reaper), released last.
async fn run_on_backend(
    args: UpArgs,
    backend: std::sync::Arc<dyn Backend>,
    mut chosen: Option<backend::Chosen>,
) -> CliResult {
    let in_containers = chosen.is_some();
    let mut release = async move || {
        if let Some(chosen) = chosen.take() {
            chosen.release().await;
        }
    };
    let spec = ClusterSpec {
        scenario: "up".into(),
        agent_ping_timeout: args.agent_ping_timeout,
        max_agent_ping_timeouts: args.max_agent_ping_timeouts,
        masters: args.masters,
        zookeeper: args.zookeeper,
        ..ClusterSpec::default()
    };
    let mut cluster = match backend.create(spec).await {
        Ok(c) => c,
        Err(e) => {
            release().await;
            return Err(CliError::environment(e));
        }
    };
    let agent = AgentSpec {
        resources: args.resources.clone(),
        attributes: args.attributes.clone(),
    };
    let simulated = match sim_behaviour(&args) {
        Ok(b) => b,
        Err(e) => {
            cluster.teardown().await;
            release().await;
            return Err(e);
        }
    };
    let start = async {
        let Some(behaviour) = simulated else {
            return cluster.start_cluster(vec![agent; args.agents]).await;
        };
        // The masters first, then the simulated agents all at once.
        let (url, _) = cluster.start_cluster(vec![]).await?;
        let added = cluster
            .add_simulated_agents(args.agents, agent, behaviour)
            .await?;
        Ok((url, added.into_iter().map(|(_, id)| id).collect()))
    };
    let started = tokio::select! {
        r = start => r.map_err(CliError::environment),
        _ = super::interrupted() => Err(CliError::Interrupted),
    };
    let (url, ids) = match started {
        Ok(s) => s,
        Err(e) => {
            cluster.teardown().await;
            release().await;
            return Err(e);
        }
    };
    let containers = if in_containers {
        ", each its own container"
    } else {
        ""
    };
    println!(
        "mmrun: cluster up: {} master(s), {} agent(s){containers}",
        cluster.master_count(),
        args.agents
    );
    if let Some(kept) = cluster.how_to_reach() {
        println!("{kept}");
    } else {
        if let Some(zk) = cluster.zookeeper_url() {
            println!("  zookeeper {zk}");
        }
        for index in 0..cluster.master_count() {
            if let Ok(status) = cluster.master_status(index).await {
                let leads = if status.leading { "  (leader)" } else { "" };
                println!("  master-{:<2} {}{leads}", index + 1, status.url);
            }
        }
        // Every master serves it and the page follows the leader.
        println!("  web UI    {url}/");
    }
    if !args.simulated {
        for (i, id) in ids.iter().enumerate() {
            println!("  agent-{:<3} {id}", i + 1);
        }
    }
    // Frameworks find the leader through ZooKeeper when there is one, as in Mesos.
    let master = cluster
        .zookeeper_url()
        .unwrap_or_else(|| url.trim_start_matches("http://").to_string());
    println!("MESOS_MASTER={master}");
    println!("Press Ctrl-C to stop the cluster and remove everything it made.");
    super::interrupted().await;
    println!("mmrun: stopping the cluster");
    cluster.teardown().await;
    release().await;
    println!("mmrun: stopped; nothing left running");
    Ok(())
}

/// Starts the agents; on failure, why. Bad `--resources` or `--attributes`
/// are a usage error (checked before any agent starts); an agent that cannot listen or does
/// not register is the environment's failure, not the user's.
async fn start_agents(
    cluster: &mut LocalCluster,
    count: usize,
    options: &AgentOptions,
    simulated: Option<crate::lite::sim::Behaviour>,
) -> CliResult {
    if let Some(r) = &options.resources {
        Resources::parse(r).map_err(|e| CliError::usage(InvalidArgument::new("--resources", e)))?;
    }
    if let Some(a) = &options.attributes {
        parse_attributes(a)
            .map_err(|e| CliError::usage(InvalidArgument::new("--attributes", e)))?;
    }
    if let Some(behaviour) = simulated {
        cluster
            .add_simulated_agents(count, options.clone(), behaviour)
            .await
            .map_err(CliError::environment)?;
        return Ok(());
    }
    for _ in 0..count {
        cluster
            .add_agent(options.clone())
            .await
            .map_err(CliError::environment)?;
    }
    Ok(())
}

/// `--simulated` with its `--sim-run` and `--sim-state`; `None` for real agents.
fn sim_behaviour(args: &UpArgs) -> Result<Option<crate::lite::sim::Behaviour>, CliError> {
    if !args.simulated {
        return Ok(None);
    }
    let mut behaviour = crate::lite::sim::Behaviour::default();
    if let Some(run) = &args.sim_run {
        behaviour
            .set_run(run)
            .map_err(|e| CliError::usage(InvalidArgument::new("--sim-run", e)))?;
    }
    if let Some(state) = &args.sim_state {
        behaviour
            .set_end(state)
            .map_err(|e| CliError::usage(InvalidArgument::new("--sim-state", e)))?;
    }
    Ok(Some(behaviour))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn agents_that_fail_are_environment_errors_and_bad_options_usage_errors() {
        // No agent registers within no time at all: the environment failed.
        let options = ClusterOptions {
            registration_timeout: Duration::ZERO,
            ..ClusterOptions::default()
        };
        let mut cluster = LocalCluster::start(options).await.unwrap();
        let failed = start_agents(&mut cluster, 1, &AgentOptions::default(), None).await;
        assert!(
            matches!(failed, Err(CliError::Environment(_))),
            "{failed:?}"
        );
        for bad in [
            AgentOptions {
                resources: Some("cpus:x".into()),
                ..AgentOptions::default()
            },
            AgentOptions {
                attributes: Some("rack".into()),
                ..AgentOptions::default()
            },
        ] {
            let refused = start_agents(&mut cluster, 1, &bad, None).await;
            assert!(matches!(refused, Err(CliError::Usage(_))), "{refused:?}");
        }
        cluster.shutdown().await;
    }
}
