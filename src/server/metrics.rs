//! Prometheus metrics, encoded in the OpenMetrics text format by `prometheus-client`.
//!
//! `podmortem_terminations_total` is counted in the store, so it counts every stored record
//! (expected exits included) and survives restarts of the server. The count is cached and may
//! be up to 30 s old (`server::cache`), because counting a million records takes about a
//! second. The HTTP counter and the store latency histogram are kept in memory since the
//! server started.

use prometheus_client::encoding::{EncodeLabelSet, text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::TerminationCount;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TerminationLabels {
    pub namespace: String,
    pub cause: String,
    pub container_kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route pattern (`/api/v1/terminations/{id}`), never the raw path, so ids
    /// in paths do not create one series each.
    pub route: String,
    pub status: u16,
}

/// The metrics of one server and the registry that encodes them. The termination counts
/// are encoded apart from it by [`encode_terminations`], so their text can be cached.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<RequestLabels, Counter>,
    pub store_query_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Returns the metrics of a server that also serves those of `companion`.
    pub fn with_companion(companion: &dyn super::Companion) -> Self {
        Self::build(Some(companion))
    }

    fn build(companion: Option<&dyn super::Companion>) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        // 100 µs to about 3.3 s.
        let store_query_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 16));

        registry.register(
            "podmortem_http_requests",
            "HTTP requests answered, by route and status code",
            http_requests.clone(),
        );
        registry.register(
            "podmortem_store_query_seconds",
            "Time of one store query",
            store_query_seconds.clone(),
        );
        if let Some(companion) = companion {
            companion.register(&mut registry);
        }
        Metrics {
            registry,
            http_requests,
            store_query_seconds,
        }
    }

    /// Encodes every metric: `terminations` (the text of [`encode_terminations`]) first, then
    /// the server's own metrics and the closing `# EOF`.
    pub fn encode(&self, terminations: &str) -> Result<String, std::fmt::Error> {
        let mut text = String::with_capacity(terminations.len() + 4096);
        text.push_str(terminations);
        text::encode_registry(&mut text, &self.registry)?;
        text::encode_eof(&mut text)?;
        Ok(text)
    }
}

/// Encodes `podmortem_terminations_total` for `counts`, without the closing `# EOF`.
pub fn encode_terminations(counts: &[TerminationCount]) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    let terminations = Family::<TerminationLabels, Counter>::default();
    registry.register(
        "podmortem_terminations",
        "Container exits in the store, from a count cached for up to 30 s",
        terminations.clone(),
    );
    for count in counts {
        let labels = TerminationLabels {
            namespace: count.namespace.clone(),
            cause: count.cause.clone(),
            container_kind: count.container_kind.clone(),
        };
        terminations.get_or_create(&labels).inc_by(count.count);
    }

    let mut text = String::new();
    text::encode_registry(&mut text, &registry)?;
    Ok(text)
}
