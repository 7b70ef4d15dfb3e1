//! Command-line parsing and dispatch; one file per subcommand.

mod backend;
mod check;
mod clean;
mod clusters;
mod error;
mod example_executor;
mod example_framework;
mod image;
mod implied_run;
mod lifeline;
mod node;
mod review;
mod run;
mod up;

pub use error::{CliError, CliResult, InvalidArgument};

use crate::exit_codes;
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mmrun",
    version,
    about = "Fresh Mesos clusters for testing Mesos frameworks",
    long_about = None,
    override_usage = "mmrun [PATHS]... [RUN OPTIONS]   (the same as `mmrun run`)\n       mmrun <COMMAND>",
    after_help = "Run scenarios by naming them: `mmrun scripts/*.rhai -j 4 --junit out.xml`\n(see `mmrun run --help` for the options)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run .rhai scenarios, each against its own fresh cluster (default: scripts/).
    Run(run::RunArgs),
    /// Check .rhai scenarios without running them (default: scripts/); `run` checks first too.
    ///
    /// Reports every file's calls to unknown functions and methods, wrong argument counts,
    /// unknown option keys and syntax errors, as file:line:col with help. Exit code 0 when
    /// clean, 4 for mistakes, 2 when a file does not compile.
    Check(check::CheckArgs),
    /// Accept or reject pending snapshots (*.snap.new) one by one.
    Review(review::ReviewArgs),
    /// Start a master and N agents in the foreground; Ctrl-C stops and removes everything.
    Up(up::UpArgs),
    /// List the Docker clusters mmrun is running or has kept (`run --keep`, `up`).
    Ps,
    /// Remove Docker clusters by run id (as `mmrun ps` lists them), or all with --all.
    Down(clusters::DownArgs),
    /// Run one Mesos-compatible node, configured exactly like real Mesos (flags and MESOS_* env).
    Node {
        #[command(subcommand)]
        role: node::NodeRole,
    },
    /// Remove the containers and networks left behind by runs whose process is gone.
    Clean(clean::CleanArgs),
    /// Build the Docker node image now (it is otherwise built on first use), e.g. in CI.
    #[command(hide = true)]
    Image {
        #[command(subcommand)]
        action: image::ImageAction,
    },
    /// A small v1 framework for framework containers: launches tasks, reports, stays subscribed.
    #[command(hide = true)]
    ExampleFramework(example_framework::ExampleFrameworkArgs),
    /// A small custom executor: runs each task's `data` as a shell command, echoes framework
    /// messages back prefixed "echo:", exits on SHUTDOWN. Started by an agent. Speaks the v1
    /// executor API (JSON), or with --driver libprocess as Mesos's executor drivers do.
    #[command(hide = true)]
    ExampleExecutor {
        /// Speak to the agent as an executor driver (libprocess) instead of the v1 API.
        #[arg(long)]
        driver: bool,
    },
    /// Kills the process groups mmrun registers once mmrun is gone (started by `run`/`up`).
    #[command(hide = true)]
    Guard,
    /// Removes what an mmrun process made in Docker once its lifeline drops (in a container).
    #[command(hide = true)]
    Reaper(lifeline::ReaperArgs),
    /// Print the script API reference (docs/script-api.md), generated from the engine.
    #[command(hide = true)]
    ScriptApi,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    crate::timing::init();
    let args = match with_implied_run(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("mmrun: {e}");
            return exit_codes::USAGE;
        }
    };
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit_codes::OK
                }
                _ => exit_codes::USAGE,
            };
            let _ = e.print();
            return code;
        }
    };
    if let Command::Guard = cli.command {
        return crate::process::guard::run(std::io::stdin().lock());
    }
    if matches!(cli.command, Command::Run(_) | Command::Up(_)) {
        let _phase = crate::timing::phase("guard.start");
        lifeline::start_guard();
    }
    if let Command::Check(args) = cli.command {
        // Before the runtime: the checker's engine brings (and drops) a runtime of its own.
        return exit_code("check", check::run(args));
    }
    if let Command::ScriptApi = cli.command {
        print!(
            "{}",
            crate::script::docs::markdown(&crate::script::engine::for_metadata())
        );
        return exit_codes::OK;
    }
    // Scenario runs report through their reporters; node logs would drown them (a failed
    // scenario's artifacts hold every node's log).
    let reporting = matches!(cli.command, Command::Run(_) | Command::Review(_));
    init_logging(
        if reporting {
            "mmrun=error"
        } else {
            "mmrun=info"
        },
        reporting,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mmrun: cannot start the async runtime: {e}");
            return exit_codes::ENVIRONMENT;
        }
    };
    let name = cli.command.name();
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run::run(args).await,
            Command::Review(args) => review::run(args),
            Command::Up(args) => up::run(args).await,
            Command::Node { role } => node::run(role).await,
            Command::Clean(args) => clean::run(args).await,
            Command::Ps => clusters::ps().await,
            Command::ExampleFramework(args) => example_framework::run(args).await,
            Command::ExampleExecutor { driver } => example_executor::run(driver).await,
            Command::Down(args) => clusters::down(args).await,
            Command::Image { action } => image::run(action).await,
            Command::Reaper(args) => lifeline::reaper(args).await,
            Command::ScriptApi | Command::Guard | Command::Check(_) => {
                unreachable!("handled before the runtime starts")
            }
        }
    });
    // Background tasks (streams, pingers) must not keep the process alive after the answer.
    let phase = crate::timing::phase("runtime.shutdown");
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    phase.end();
    exit_code(name, result)
}

/// Prints a command's error, if it has one to say, and returns its exit code.
fn exit_code(name: &str, result: CliResult) -> i32 {
    match result {
        Ok(()) => exit_codes::OK,
        Err(e) => {
            if let Some(message) = e.message() {
                eprintln!("mmrun {name}: {message}");
            }
            e.exit_code()
        }
    }
}

impl Command {
    /// The command as users type it, for the front of its error messages.
    fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Check(_) => "check",
            Command::Review(_) => "review",
            Command::Up(_) => "up",
            Command::Node {
                role: node::NodeRole::Master { .. },
            } => "node master",
            Command::Node {
                role: node::NodeRole::Agent { .. },
            } => "node agent",
            Command::Clean(_) => "clean",
            Command::Ps => "ps",
            Command::ExampleFramework(_) => "example-framework",
            Command::ExampleExecutor { .. } => "example-executor",
            Command::Down(_) => "down",
            Command::Image { .. } => "image build",
            Command::Reaper(_) => "reaper",
            Command::ScriptApi => "script-api",
            Command::Guard => "guard",
        }
    }
}

/// `mmrun PATHS…` as `mmrun run PATHS…` (see [`implied_run`]).
fn with_implied_run(
    args: Vec<std::ffi::OsString>,
) -> Result<Vec<std::ffi::OsString>, implied_run::NotACommandOrPath> {
    let command = Cli::command();
    let (mut visible, mut hidden) = (Vec::new(), Vec::new());
    for sub in command.get_subcommands() {
        let names = std::iter::once(sub.get_name()).chain(sub.get_all_aliases());
        let list = if sub.is_hide_set() {
            &mut hidden
        } else {
            &mut visible
        };
        list.extend(names.map(String::from));
    }
    // clap adds `help` when it builds the command.
    visible.push("help".to_string());
    implied_run::with_implied_run(args, &visible, &hidden)
}

/// Logs to stderr as `default` (or `RUST_LOG`) says, and files the info lines of in-process
/// nodes under each node whatever stderr shows, for failed scenarios' artifacts. With
/// `quiet_nodes`, nothing a node logs reaches stderr: a run's terminal output is the reporter's
/// (a node's ERROR line between scenario lines confused readers), and the nodes' lines are in
/// the artifacts of the scenario they belong to.
fn init_logging(default: &str, quiet_nodes: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, filter::LevelFilter};
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::registry()
        .with(stderr_layer(std::io::stderr, quiet_nodes).with_filter(filter))
        .with(crate::node_log::NodeLogLayer.with_filter(LevelFilter::INFO))
        .try_init();
}

/// The stderr layer: every event, or (`quiet_nodes`) only those logged outside a node's span.
fn stderr_layer<S, W>(
    writer: W,
    quiet_nodes: bool,
) -> impl tracing_subscriber::Layer<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(tracing_subscriber::filter::dynamic_filter_fn(
            move |_, context| !quiet_nodes || !crate::node_log::in_node_span(context),
        ))
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

#[cfg(test)]
mod logging_tests {
    use super::stderr_layer;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(quiet_nodes: bool) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(stderr_layer(move || writer.clone(), quiet_nodes))
            .with(crate::node_log::NodeLogLayer);
        tracing::subscriber::with_default(subscriber, || {
            let node = crate::node_log::NodeLog::new("master");
            node.span()
                .in_scope(|| tracing::error!("lost its ZooKeeper session"));
            tracing::error!("mmrun itself failed");
            assert_eq!(
                node.lines().len(),
                1,
                "the node's line is kept for its artifacts"
            );
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_run_keeps_node_lines_off_the_terminal_but_not_its_own() {
        let quiet = logged(true);
        assert!(!quiet.contains("ZooKeeper session"), "{quiet}");
        assert!(quiet.contains("mmrun itself failed"), "{quiet}");
        let loud = logged(false);
        assert!(loud.contains("ZooKeeper session"), "{loud}");
    }
}
