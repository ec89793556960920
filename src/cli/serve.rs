//! `podmortem serve`: the HTTP JSON API over the store, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::DbArgs;
use super::daemon::{LogFormat, init_logging, stop_signal};
use crate::server::{self, AppState};

/// Serves the recorded exits over HTTP: the web page at `/`, the JSON API under `/api/v1` and
/// Prometheus metrics at `/metrics`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on. An address other than loopback requires
    /// `--token-file` or `--insecure-no-auth`
    #[arg(long, value_name = "ADDRESS:PORT", default_value = DEFAULT_LISTEN,
          value_parser = parse_listen)]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub auth: AuthArgs,

    /// Format of the log lines on standard error
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub db: DbArgs,
}

/// Address `serve` and `watch --serve` listen on by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Parses a listen address: `ADDRESS:PORT` (`0.0.0.0:8080`, `[::1]:8080`), a host name
/// and port (`localhost:8080`), or only a port (`8080`, `:8080`) on `127.0.0.1`.
pub fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    let invalid = || {
        format!("invalid listen address `{value}`: expected ADDRESS:PORT such as `127.0.0.1:8080`")
    };
    let port_only = value.strip_prefix(':').unwrap_or(value);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(address) = value.parse::<SocketAddr>() {
        return Ok(address);
    }
    // A host name: resolve it, which for `localhost` reads only the hosts file.
    let (host, port) = value.rsplit_once(':').ok_or_else(invalid)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(invalid());
    }
    std::net::ToSocketAddrs::to_socket_addrs(value)
        .map_err(|error| format!("cannot resolve listen address `{value}`: {error}"))?
        .next()
        .ok_or_else(invalid)
}

/// The HTTP server's client authentication.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthArgs {
    /// File with the bearer token that every API request must send as
    /// `Authorization: Bearer <token>`; `/healthz`, `/readyz` and the web page's static
    /// files are served without it
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Serve on a non-loopback address without a token, for a network that is already
    /// protected some other way
    #[arg(long)]
    pub insecure_no_auth: bool,
}

impl AuthArgs {
    /// Returns whether any flag was given.
    pub fn is_set(&self) -> bool {
        self.token_file.is_some() || self.insecure_no_auth
    }

    /// Reads the token and checks that `address` may be served with it.
    pub fn token_for(&self, address: SocketAddr) -> anyhow::Result<Option<String>> {
        let token = self
            .token_file
            .as_deref()
            .map(server::read_token)
            .transpose()?;
        server::check_listen(address, token.as_deref(), self.insecure_no_auth)?;
        Ok(token)
    }
}

/// Runs `podmortem serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let token = args.auth.token_for(args.listen)?;
    let store = args.db.open_existing_store()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async {
        let listener = bind(args.listen).await?;
        serve_until(listener, AppState::new(store, token), stop_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Binds the listening socket, so a taken port fails before anything else starts.
pub async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("failed to listen on `{address}`"))?;
    let bound = listener.local_addr().unwrap_or(address);
    tracing::info!(address = %bound, "listening");
    Ok(listener)
}

/// Serves `state` on `listener` until `stop` completes.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    server::serve(listener, state, stop)
        .await
        .context("HTTP server failed")?;
    tracing::info!("HTTP server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_accepts_addresses_names_and_ports() {
        let cases = [
            ("0.0.0.0:8080", "0.0.0.0:8080"),
            ("[::1]:9000", "[::1]:9000"),
            ("8080", "127.0.0.1:8080"),
            (":8081", "127.0.0.1:8081"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_listen(input).unwrap().to_string(),
                expected,
                "{input}"
            );
        }
        let localhost = parse_listen("localhost:8082").unwrap();
        assert!(localhost.ip().is_loopback(), "{localhost}");
        assert_eq!(localhost.port(), 8082);
    }

    #[test]
    fn listen_rejects_other_forms() {
        for input in [
            "",
            "localhost",
            "127.0.0.1",
            "127.0.0.1:99999",
            ":http",
            "a:b:c",
        ] {
            let error = parse_listen(input).unwrap_err();
            assert!(
                error.contains("127.0.0.1:8080") || error.contains("resolve"),
                "{input}: {error}"
            );
        }
    }
}
