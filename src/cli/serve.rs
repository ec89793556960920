//! `podmortem serve`: the HTTP JSON API over the store, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::DbArgs;
use super::daemon::{LogFormat, init_logging, stop_signal};
use crate::server::{self, AppState};

/// Serves the recorded exits as JSON over HTTP, with Prometheus metrics at `/metrics`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on. An address other than loopback requires
    /// `--token-file` or `--insecure-no-auth`
    #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// File with the bearer token that every request except `/healthz` and `/readyz` must
    /// send as `Authorization: Bearer <token>`
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Serve on a non-loopback address without a token, for a network that is already
    /// protected some other way
    #[arg(long)]
    pub insecure_no_auth: bool,

    /// Format of the log lines on standard error
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `podmortem serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let token = args
        .token_file
        .as_deref()
        .map(server::read_token)
        .transpose()?;
    server::check_listen(args.listen, token.as_deref(), args.insecure_no_auth)?;
    let store = args.db.open_existing_store()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(serve(args.listen, AppState::new(store, token)))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(address: SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("failed to listen on `{address}`"))?;
    let bound = listener.local_addr().unwrap_or(address);
    tracing::info!(address = %bound, "listening");

    server::serve(listener, state, stop_signal())
        .await
        .context("HTTP server failed")?;
    tracing::info!("stopped");
    Ok(())
}
