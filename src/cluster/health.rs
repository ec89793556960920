//! Health of a running watch, kept as Prometheus metrics.
//!
//! The watch loop, the log fetch tasks and the writer thread update one shared
//! [`WatchHealth`]. `podmortem watch --serve` registers it in the server's registry, so
//! `/metrics` shows whether the pod and event watches are connected, how log fetches end and
//! how many records wait for the store. Without `--serve` the values are kept but never read.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The two watched resources.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Resource {
    Pods,
    Events,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::Events => "events",
        }
    }
}

/// The end of a log fetch.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum FetchOutcome {
    Fetched,
    /// Kubelet no longer had the log.
    Gone,
    Failed,
    Forbidden,
}

impl FetchOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchOutcome::Fetched => "fetched",
            FetchOutcome::Gone => "gone",
            FetchOutcome::Failed => "failed",
            FetchOutcome::Forbidden => "forbidden",
        }
    }
}

impl EncodeLabelValue for Resource {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

impl EncodeLabelValue for FetchOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: Resource,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FetchLabels {
    pub outcome: FetchOutcome,
}

/// Metrics of one watch. Clones of the handles inside share their values.
#[derive(Debug, Default)]
pub struct WatchHealth {
    connected: Family<ResourceLabels, Gauge>,
    lists: Family<ResourceLabels, Counter>,
    errors: Family<ResourceLabels, Counter>,
    last_event: Family<ResourceLabels, Gauge<f64, AtomicU64>>,
    exits_found: Counter,
    log_fetches: Family<FetchLabels, Counter>,
    log_fetches_in_flight: Gauge,
    log_fetch_seconds: LogFetchSeconds,
    records_pending: Gauge,
    records_committed: Counter,
    store_write_failures: Counter,
}

/// The log fetch histogram, with buckets from 10 ms to about 82 s.
#[derive(Debug)]
struct LogFetchSeconds(Histogram);

impl Default for LogFetchSeconds {
    fn default() -> Self {
        LogFetchSeconds(Histogram::new(exponential_buckets(0.01, 2.0, 14)))
    }
}

impl WatchHealth {
    pub fn new() -> Self {
        WatchHealth::default()
    }

    /// Adds every metric of the watch to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "podmortem_watch_connected",
            "1 while the watch of the resource delivers events, 0 after an error until it \
             recovers",
            self.connected.clone(),
        );
        registry.register(
            "podmortem_watch_lists",
            "Complete lists of the resource: the first one and every relist",
            self.lists.clone(),
        );
        registry.register(
            "podmortem_watch_errors",
            "Failed list or watch requests of the resource, each retried with backoff",
            self.errors.clone(),
        );
        registry.register(
            "podmortem_watch_last_event_timestamp_seconds",
            "Unix time of the last event received for the resource",
            self.last_event.clone(),
        );
        registry.register(
            "podmortem_watch_exits_found",
            "Container exits found in pod statuses since the watch started",
            self.exits_found.clone(),
        );
        registry.register(
            "podmortem_log_fetches",
            "Log fetches of dead instances through pods/log, by how they ended",
            self.log_fetches.clone(),
        );
        registry.register(
            "podmortem_log_fetches_in_flight",
            "Log fetches started whose result the watch has not handled yet",
            self.log_fetches_in_flight.clone(),
        );
        registry.register(
            "podmortem_log_fetch_seconds",
            "Time of one log fetch, waiting for a free fetch slot excluded",
            self.log_fetch_seconds.0.clone(),
        );
        registry.register(
            "podmortem_watch_records_pending",
            "Records built but not yet committed to the store",
            self.records_pending.clone(),
        );
        registry.register(
            "podmortem_watch_records_committed",
            "Records committed to the store by the watch, new or merged",
            self.records_committed.clone(),
        );
        registry.register(
            "podmortem_store_write_failures",
            "Store writes that failed and were retried, the records kept in memory",
            self.store_write_failures.clone(),
        );
    }

    /// Marks the watch of `resource` connected and notes the time of its last item.
    pub fn received(&self, resource: Resource) {
        let labels = ResourceLabels { resource };
        self.connected.get_or_create(&labels).set(1);
        let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        self.last_event.get_or_create(&labels).set(now);
    }

    /// Counts a complete list of `resource`.
    pub fn listed(&self, resource: Resource) {
        self.lists.get_or_create(&ResourceLabels { resource }).inc();
    }

    /// Counts a failed request of the watch of `resource` and marks it disconnected.
    pub fn failed(&self, resource: Resource) {
        let labels = ResourceLabels { resource };
        self.connected.get_or_create(&labels).set(0);
        self.errors.get_or_create(&labels).inc();
    }

    pub fn exit_found(&self) {
        self.exits_found.inc();
    }

    pub fn fetch_started(&self) {
        self.log_fetches_in_flight.inc();
    }

    pub fn fetch_ended(&self, outcome: FetchOutcome, took: Duration) {
        self.log_fetches_in_flight.dec();
        self.log_fetches
            .get_or_create(&FetchLabels { outcome })
            .inc();
        self.log_fetch_seconds.0.observe(took.as_secs_f64());
    }

    /// Counts a record handed to the writer.
    pub fn record_queued(&self) {
        self.records_pending.inc();
    }

    /// Counts `count` records committed by the writer.
    pub fn records_committed(&self, count: usize) {
        let count = count as i64;
        self.records_pending.dec_by(count);
        self.records_committed.inc_by(count as u64);
    }

    pub fn store_write_failed(&self) {
        self.store_write_failures.inc();
    }

    /// Returns whether the watch of `resource` delivered its last item without an error.
    pub fn is_connected(&self, resource: Resource) -> bool {
        self.connected
            .get_or_create(&ResourceLabels { resource })
            .get()
            == 1
    }

    /// Returns whether at least one complete list of `resource` arrived.
    pub fn has_listed(&self, resource: Resource) -> bool {
        self.lists.get_or_create(&ResourceLabels { resource }).get() > 0
    }

    /// Returns the number of log fetches that ended with `outcome`.
    pub fn fetches(&self, outcome: FetchOutcome) -> u64 {
        self.log_fetches
            .get_or_create(&FetchLabels { outcome })
            .get()
    }

    /// Returns the number of records built but not yet committed.
    pub fn pending(&self) -> i64 {
        self.records_pending.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(health: &WatchHealth) -> String {
        let mut registry = Registry::default();
        health.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn connection_follows_the_last_item() {
        let health = WatchHealth::new();
        health.received(Resource::Pods);
        assert!(health.is_connected(Resource::Pods));
        health.failed(Resource::Pods);
        assert!(!health.is_connected(Resource::Pods));
        assert!(encoded(&health).contains("podmortem_watch_errors_total{resource=\"pods\"} 1"));
        health.received(Resource::Pods);
        assert!(health.is_connected(Resource::Pods));
    }

    #[test]
    fn pending_records_drop_when_committed() {
        let health = WatchHealth::new();
        for _ in 0..3 {
            health.record_queued();
        }
        health.records_committed(2);
        assert_eq!(health.pending(), 1);
        let text = encoded(&health);
        assert!(text.contains("podmortem_watch_records_pending 1"), "{text}");
        assert!(
            text.contains("podmortem_watch_records_committed_total 2"),
            "{text}"
        );
    }

    #[test]
    fn fetches_are_counted_by_outcome() {
        let health = WatchHealth::new();
        health.fetch_started();
        health.fetch_started();
        health.fetch_ended(FetchOutcome::Fetched, Duration::from_millis(20));
        health.fetch_ended(FetchOutcome::Gone, Duration::from_millis(5));
        assert_eq!(health.fetches(FetchOutcome::Fetched), 1);
        assert_eq!(health.fetches(FetchOutcome::Gone), 1);
        let text = encoded(&health);
        assert!(text.contains("podmortem_log_fetches_in_flight 0"), "{text}");
        assert!(
            text.contains("podmortem_log_fetches_total{outcome=\"gone\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("podmortem_log_fetch_seconds_count 2"),
            "{text}"
        );
    }
}
