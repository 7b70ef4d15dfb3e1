//! `mmrun node master|agent [--flag=value …]`: one long-running node, configured like real
//! Mesos. Mesos flag syntax is not clap's (MESOS_* environment first, `--no-x` booleans, unknown
//! flags accepted with a warning), so the arguments are handed to `crate::flags` untouched.

use super::{CliError, CliResult};
use crate::flags::{FlagSpec, Flags, help};
use crate::lite::agent::{AGENT_FLAGS, Agent, AgentConfig};
use crate::lite::master::{MASTER_FLAGS, Master, MasterConfig};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum NodeRole {
    /// A Mesos-compatible master (flags as `mesos-master`; `mmrun node master --help` lists them).
    #[command(disable_help_flag = true)]
    Master {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        flags: Vec<String>,
    },
    /// A Mesos-compatible agent (flags as `mesos-agent`; `mmrun node agent --help` lists them).
    #[command(disable_help_flag = true)]
    Agent {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        flags: Vec<String>,
    },
}

/// The node's flags, or `None` when it was asked for `--help` (printed here).
fn load(specs: &[FlagSpec], name: &str, args: &[String]) -> Result<Option<Flags>, CliError> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "Usage: mmrun node {name} [--flag=value ...]\n\nFlags:\n{}",
            help(specs)
        );
        return Ok(None);
    }
    let flags = Flags::load(specs, std::env::vars(), args).map_err(CliError::usage)?;
    for unknown in &flags.unknown {
        tracing::warn!("ignoring flag --{unknown}: mmrun's {name} does not use it");
    }
    Ok(Some(flags))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub async fn run(role: NodeRole) -> CliResult {
    match role {
        NodeRole::Master { flags } => run_master(&flags).await,
        NodeRole::Agent { flags } => run_agent(&flags).await,
    }
}

async fn run_master(args: &[String]) -> CliResult {
    let Some(flags) = load(MASTER_FLAGS, "master", args)? else {
        return Ok(());
    };
    let config = MasterConfig::from_flags(&flags, &env).map_err(CliError::usage)?;
    let master = Master::start(config).await.map_err(CliError::environment)?;
    println!("master {} serving at {}", master.id(), master.url());
    tokio::select! {
        _ = super::interrupted() => {}
        _ = master.ended() => {}
    }
    if let Some(why) = master.lost() {
        // As Mesos's master: it aborts and expects a supervisor to start it again.
        master.stop().await;
        return Err(CliError::NodeAborted(why.into()));
    }
    tracing::info!("stopping the master");
    master.stop().await;
    Ok(())
}

async fn run_agent(args: &[String]) -> CliResult {
    let Some(flags) = load(AGENT_FLAGS, "agent", args)? else {
        return Ok(());
    };
    let config = AgentConfig::from_flags(&flags, &env).map_err(CliError::usage)?;
    let agent = Agent::start(config).await.map_err(CliError::environment)?;
    println!("agent serving at {}", agent.url());
    super::interrupted().await;
    tracing::info!("stopping the agent: killing its tasks");
    agent.stop().await;
    Ok(())
}
