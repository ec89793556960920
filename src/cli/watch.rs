//! `podmortem watch`: watches a cluster and records every container exit in the store until
//! SIGINT or SIGTERM, printing one line per recorded exit on standard error.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::common::DbArgs;
use super::daemon::{LogFormat, init_logging, stop_signal};
use super::serve::{AuthArgs, DEFAULT_LISTEN, bind, parse_listen, serve_until};
use crate::cluster::health::{Resource, WatchHealth};
use crate::cluster::{self, Shutdown, WatchOptions, connect};
use crate::server::{AppState, Companion};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
The credentials need get, list and watch on pods and events, and get on pods/log.
Other commands (`podmortem list`, `podmortem show`) can read the database while this runs.
With `--serve`, the same process also serves the web page, the JSON API and `/metrics` (with
the watch's own health metrics), as `podmortem serve` does.

Examples:
  podmortem watch
  podmortem watch --context prod -n shop --selector app=web
  podmortem watch --kubeconfig ~/.kube/staging --log-format json
  podmortem watch --serve
  podmortem watch --serve 0.0.0.0:8080 --token-file /etc/podmortem/token")]
pub struct WatchArgs {
    /// Kubeconfig file. Default: `$KUBECONFIG`, else `~/.kube/config`, else the in-cluster
    /// service account
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context. Default: the current context
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Cluster name stamped on every record. Default: the cluster of the kubeconfig context
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Watch only this namespace. Default: every namespace
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Label selector of the watched pods, such as `app=web,tier!=cache`
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Field selector of the watched pods, such as `spec.nodeName=node-1`
    #[arg(long, value_name = "SELECTOR")]
    pub field_selector: Option<String>,

    /// Number of log lines fetched per dead instance (`tailLines`)
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub log_lines: u32,

    /// Maximum bytes of log fetched per dead instance (`limitBytes`)
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub log_bytes: u64,

    /// Maximum number of log fetches in flight at once
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub log_fetches: usize,

    /// Format of the log lines on standard error
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Also serve the web page, the API and the metrics on this address (default
    /// `127.0.0.1:8080` when the flag has no value)
    #[arg(long, value_name = "ADDRESS:PORT", num_args = 0..=1,
          default_missing_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub serve: Option<SocketAddr>,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub db: DbArgs,
}

pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(watch(args))
}

async fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    if args.serve.is_none() && args.auth.is_set() {
        anyhow::bail!("`--token-file` and `--insecure-no-auth` need `--serve`");
    }
    let token = args
        .serve
        .map(|address| args.auth.token_for(address))
        .transpose()?
        .flatten();
    let store = args.db.open_store()?;
    let connection = connect::connect(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    // Bind before the watch starts, so a taken port fails before anything is recorded.
    let listener = match args.serve {
        Some(address) => Some((bind(address).await?, args.db.open_existing_store()?)),
        None => None,
    };

    let mut options = WatchOptions {
        namespace: args.namespace,
        label_selector: args.selector,
        field_selector: args.field_selector,
        cluster: args.cluster.or(connection.cluster),
        max_log_fetches: args.log_fetches,
        ..WatchOptions::default()
    };
    options.log.tail_lines = args.log_lines;
    options.log.limit_bytes = args.log_bytes;

    let shutdown = Shutdown::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let server = listener.map(|(listener, reader)| {
        let companion = Arc::new(WatchCompanion(Arc::clone(&options.health)));
        let state = AppState::new(reader, token).with_companion(companion);
        let stop = shutdown.clone();
        tokio::spawn(serve_until(listener, state, async move {
            stop.triggered().await
        }))
    });

    let result = cluster::run(connection.client, options, store, shutdown.clone()).await;
    // The server stops with the watch, also when the watch ends with an error.
    shutdown.trigger();
    if let Some(server) = server {
        server.await.context("HTTP server task failed")??;
    }
    let summary = result?;

    tracing::info!(
        exits = summary.exits_found,
        committed = summary.records_committed,
        store_retries = summary.store_retries,
        "stopped"
    );
    Ok(ExitCode::SUCCESS)
}

/// The watch as a companion of the HTTP server: its health metrics, and ready after the
/// first pod list.
pub struct WatchCompanion(pub Arc<WatchHealth>);

impl Companion for WatchCompanion {
    fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        self.0.register(registry);
    }

    fn not_ready(&self) -> Option<&'static str> {
        (!self.0.has_listed(Resource::Pods)).then_some("pods not listed yet")
    }
}

/// Triggers the shutdown on the first SIGINT or SIGTERM.
async fn stop_on_signal(shutdown: Shutdown) {
    stop_signal().await;
    shutdown.trigger();
}
