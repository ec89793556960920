//! The command line: argument parsing and one module per subcommand.

pub mod analyze;
pub mod common;
pub mod daemon;
pub mod explain;
pub mod list;
pub mod log;
pub mod output;
pub mod serve;
pub mod show;
pub mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keeps a durable record of every container exit in a Kubernetes cluster and explains why
/// each one happened.
#[derive(Debug, Parser)]
#[command(name = "podmortem", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose container exits from saved objects, cluster-info dumps and node folders.
    Analyze(analyze::AnalyzeArgs),
    /// Print the decoded lines of CRI or Docker container log files.
    Log(log::LogArgs),
    /// Explain an exit code or a Kubernetes termination reason.
    Explain(explain::ExplainArgs),
    /// List recorded exits from the store.
    List(list::ListArgs),
    /// Show every recorded instance of one pod, with diagnosis, events and log tail.
    Show(show::ShowArgs),
    /// Serve the recorded exits as a web page, a JSON HTTP API and Prometheus metrics.
    Serve(serve::ServeArgs),
    /// Watch a cluster and record every container exit until SIGINT or SIGTERM.
    Watch(watch::WatchArgs),
}

/// Parses the command line, runs one command and maps its result to an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Log(args) => log::run(args),
        Command::Explain(args) => explain::run(args),
        Command::List(args) => list::run(args),
        Command::Show(args) => show::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Watch(args) => watch::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Returns true when the error comes from writing to a closed pipe (`podmortem list | head`),
/// which is not a failure of the command.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
