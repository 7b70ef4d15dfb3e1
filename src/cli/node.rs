//! `mmrun node master|agent [--flag=value …]`: one long-running node, configured like real
//! Mesos. Mesos flag syntax is not clap's (MESOS_* environment first, `--no-x` booleans, unknown
//! flags accepted with a warning), so the arguments are handed to `crate::flags` untouched.

use crate::exit_codes;
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

fn load(specs: &[FlagSpec], name: &str, args: &[String]) -> Result<Flags, i32> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "Usage: mmrun node {name} [--flag=value ...]\n\nFlags:\n{}",
            help(specs)
        );
        return Err(exit_codes::OK);
    }
    let flags = Flags::load(specs, std::env::vars(), args).map_err(|e| {
        eprintln!("mmrun node {name}: {e}");
        exit_codes::USAGE
    })?;
    for unknown in &flags.unknown {
        tracing::warn!("ignoring flag --{unknown}: mmrun's {name} does not use it");
    }
    Ok(flags)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub async fn run(role: NodeRole) -> i32 {
    match role {
        NodeRole::Master { flags } => run_master(&flags).await,
        NodeRole::Agent { flags } => run_agent(&flags).await,
    }
}

async fn run_master(args: &[String]) -> i32 {
    let flags = match load(MASTER_FLAGS, "master", args) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let config = match MasterConfig::from_flags(&flags, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mmrun node master: {e}");
            return exit_codes::USAGE;
        }
    };
    let master = match Master::start(config).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mmrun node master: {e}");
            return exit_codes::ENVIRONMENT;
        }
    };
    println!("master {} serving at {}", master.id(), master.url());
    tokio::select! {
        _ = super::interrupted() => {}
        _ = master.ended() => {}
    }
    if let Some(why) = master.lost() {
        // As Mesos's master: it aborts and expects a supervisor to start it again.
        eprintln!("mmrun node master: {why}");
        master.stop().await;
        return exit_codes::NODE_ABORTED;
    }
    tracing::info!("stopping the master");
    master.stop().await;
    exit_codes::OK
}

async fn run_agent(args: &[String]) -> i32 {
    let flags = match load(AGENT_FLAGS, "agent", args) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let config = match AgentConfig::from_flags(&flags, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mmrun node agent: {e}");
            return exit_codes::USAGE;
        }
    };
    let agent = match Agent::start(config).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mmrun node agent: {e}");
            return exit_codes::ENVIRONMENT;
        }
    };
    println!("agent serving at {}", agent.url());
    super::interrupted().await;
    tracing::info!("stopping the agent: killing its tasks");
    agent.stop().await;
    exit_codes::OK
}
