//! The live cluster source: a pod watcher and an event watcher that record every container
//! exit while its evidence still exists.
//!
//! [`run`] watches pods with `kube_runtime::watcher` (bookmarks on, no reflector), keeps a
//! small [`fingerprint::PodFingerprint`] per pod, and finds new exits with the offline
//! detection rules of [`crate::detect`]. Each new exit is joined with the recent events of its
//! pod and node ([`events::EventWindow`]), its log is fetched through `pods/log` with a bounded
//! number of fetches at once, it is diagnosed by [`crate::diagnose`], and one writer thread
//! commits it to the store. The fingerprints are rebuilt from the store at start, so a
//! restarted watcher records neither an exit twice nor a missed restart silently: record ids
//! are stable per pod uid, container and restart number, and restarts without a trace are
//! counted in `missed_before`.
//!
//! Permissions needed: get, list and watch on `pods` and `events`, get on `pods/log`. A 401 or
//! 403 on any of them ends [`run`] with [`Error::Forbidden`]; other API errors are logged and
//! retried with the watcher's exponential backoff (800 ms up to 30 s).

pub mod connect;
pub mod events;
pub mod fingerprint;
pub mod health;
pub mod logs;
pub mod pods;
pub mod recent;
pub mod record;
pub mod writer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::model::{LogSource, Termination};
use crate::store::SqliteStore;

use events::{EventWindow, Inserted, WindowLimits, pod_key};
use fingerprint::{Baseline, LogRequest, NewExit};
use health::{FetchOutcome, Resource, WatchHealth};
use logs::{LogLimits, LogOutcome};
use pods::{PodExits, PodTracker};
use recent::{LATE_EVENT_REASONS, RecentExit, RecentExits};

/// How often expired events are dropped from the window.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Settings of one watch: the pods watched, the cluster name and the limits.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Watch one namespace; `None` watches all.
    pub namespace: Option<String>,
    /// Label selector of the watched pods (`app=web,tier!=cache`).
    pub label_selector: Option<String>,
    /// Field selector of the watched pods (`spec.nodeName=node-1`).
    pub field_selector: Option<String>,
    /// Cluster name stamped on every record.
    pub cluster: Option<String>,
    pub log: LogLimits,
    /// Maximum number of log fetches in flight at once.
    pub max_log_fetches: usize,
    pub events: WindowLimits,
    /// Metrics of the run, shared with the HTTP server of `watch --serve`.
    pub health: Arc<WatchHealth>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            namespace: None,
            label_selector: None,
            field_selector: None,
            cluster: None,
            log: LogLimits::default(),
            max_log_fetches: 8,
            events: WindowLimits::default(),
            health: Arc::new(WatchHealth::new()),
        }
    }
}

/// A handle that stops [`run`]: the watch ends, pending log fetches and writes finish, and
/// [`run`] returns. Clones share one signal.
#[derive(Debug, Clone)]
pub struct Shutdown {
    signal: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            signal: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Shutdown::default()
    }

    /// Asks [`run`] to stop.
    pub fn trigger(&self) {
        self.signal.send_replace(true);
    }

    /// Waits until [`Shutdown::trigger`] was called.
    pub async fn triggered(&self) {
        let mut receiver = self.signal.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|stop| *stop).await;
    }
}

/// Counts of one run, returned when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchSummary {
    /// New exits found in pod statuses.
    pub exits_found: usize,
    /// Records committed to the store.
    pub records_committed: usize,
    /// Store writes that failed and were retried.
    pub store_retries: usize,
    /// Pod lists completed (the first one and every relist).
    pub lists_completed: u64,
}

/// Errors that end a watch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the API server rejected `{verb}` on `{resource}` ({code}: {message}): grant the \
         credentials get, list and watch on `pods` and `events` and get on `pods/log`"
    )]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        code: u16,
        message: String,
    },

    #[error("failed to read the stored records to resume from")]
    Baseline(#[source] crate::store::Error),

    #[error("the store writer thread panicked; records not yet committed are lost")]
    WriterPanicked,
}

/// Watches the cluster and records every container exit until `shutdown` is triggered or a
/// permission error ends it.
pub async fn run(
    client: Client,
    options: WatchOptions,
    store: SqliteStore,
    shutdown: Shutdown,
) -> Result<WatchSummary, Error> {
    let marks = store
        .instance_marks(options.namespace.as_deref())
        .map_err(Error::Baseline)?;
    let baseline = Baseline::from_marks(marks);

    let (records, receiver) = mpsc::unbounded_channel();
    let health = Arc::clone(&options.health);
    let writer =
        std::thread::spawn(move || writer::run_writer(store, receiver, &health, report_exit));

    let mut runner = Runner::new(client, options, records);
    let result = runner.run(baseline, &shutdown).await;
    let mut summary = runner.finish().await;

    let joined = tokio::task::spawn_blocking(move || writer.join()).await;
    let written = match joined {
        Ok(Ok(written)) => written,
        _ => return Err(Error::WriterPanicked),
    };
    summary.records_committed = written.committed;
    summary.store_retries = written.retries;
    result.map(|lists| WatchSummary {
        lists_completed: lists,
        ..summary
    })
}

/// The watch loop's state besides the pod fingerprints.
struct Runner {
    client: Client,
    options: WatchOptions,
    window: EventWindow,
    records: mpsc::UnboundedSender<Termination>,
    fetches: Arc<Semaphore>,
    tasks: JoinSet<()>,
    fatal: mpsc::UnboundedSender<Error>,
    fatal_receiver: mpsc::UnboundedReceiver<Error>,
    fetched: mpsc::UnboundedSender<FetchedLog>,
    fetched_receiver: mpsc::UnboundedReceiver<FetchedLog>,
    /// True once the first list of events is complete. Pods are not read before, so the
    /// exits of the first pod list meet the events that explain them.
    events_listed: bool,
    recent: RecentExits,
    exits_found: usize,
}

/// A new exit whose log fetch has ended.
struct FetchedLog {
    pod: Arc<Pod>,
    exit: NewExit,
    /// `None` when no log was requested.
    outcome: Option<LogOutcome>,
    /// Time of the fetch, the wait for a fetch slot excluded.
    took: Duration,
}

impl Runner {
    fn new(
        client: Client,
        options: WatchOptions,
        records: mpsc::UnboundedSender<Termination>,
    ) -> Self {
        let (fatal, fatal_receiver) = mpsc::unbounded_channel();
        let (fetched, fetched_receiver) = mpsc::unbounded_channel();
        Runner {
            client,
            window: EventWindow::new(options.events),
            fetches: Arc::new(Semaphore::new(options.max_log_fetches.max(1))),
            options,
            records,
            tasks: JoinSet::new(),
            fatal,
            fatal_receiver,
            fetched,
            fetched_receiver,
            events_listed: false,
            recent: RecentExits::default(),
            exits_found: 0,
        }
    }

    /// Runs until shutdown or a fatal error; returns the number of pod lists completed.
    async fn run(&mut self, baseline: Baseline, shutdown: &Shutdown) -> Result<u64, Error> {
        let mut tracker = PodTracker::new(baseline);
        let mut pods = self.pod_stream().boxed();
        let mut events = self.event_stream().boxed();
        let mut prune = tokio::time::interval(PRUNE_INTERVAL);
        tracing::info!(namespace = ?self.options.namespace, "watching pods and events");

        loop {
            tokio::select! {
                biased;
                () = shutdown.triggered() => break,
                Some(error) = self.fatal_receiver.recv() => return Err(error),
                Some(fetched) = self.fetched_receiver.recv() => self.finish_exit(fetched),
                Some(item) = pods.next(), if self.events_listed => match item {
                    Ok(event) => {
                        self.received(Resource::Pods, &event);
                        if let Some(found) = tracker.handle(event, Timestamp::now()) {
                            self.handle_exits(found);
                        }
                    }
                    Err(error) => self.watch_failed(&error, Resource::Pods)?,
                },
                Some(item) = events.next() => match item {
                    Ok(event) => {
                        self.received(Resource::Events, &event);
                        self.handle_event(event);
                    }
                    Err(error) => self.watch_failed(&error, Resource::Events)?,
                },
                _ = prune.tick() => self.window.prune(Timestamp::now()),
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Err(error) = joined {
                        tracing::error!(%error, "log fetch task failed; its exit is lost");
                    }
                }
            }
        }
        tracing::info!(
            pods = tracker.len(),
            "stopping: finishing log fetches and writes"
        );
        Ok(tracker.lists_completed())
    }

    /// Waits for the log fetches in flight and closes the channel to the writer.
    async fn finish(mut self) -> WatchSummary {
        while self.tasks.join_next().await.is_some() {}
        while let Ok(fetched) = self.fetched_receiver.try_recv() {
            self.finish_exit(fetched);
        }
        WatchSummary {
            exits_found: self.exits_found,
            ..WatchSummary::default()
        }
    }

    fn pod_stream(
        &self,
    ) -> impl Stream<Item = Result<watcher::Event<Pod>, watcher::Error>> + use<> {
        let api: Api<Pod> = match &self.options.namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        };
        let mut config = watcher::Config::default();
        if let Some(labels) = &self.options.label_selector {
            config = config.labels(labels);
        }
        if let Some(fields) = &self.options.field_selector {
            config = config.fields(fields);
        }
        watcher(api, config).default_backoff()
    }

    fn event_stream(
        &self,
    ) -> impl Stream<Item = Result<watcher::Event<Event>, watcher::Error>> + use<> {
        let api: Api<Event> = match &self.options.namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        };
        watcher(api, watcher::Config::default()).default_backoff()
    }

    fn received<K>(&self, resource: Resource, event: &watcher::Event<K>) {
        let health = &self.options.health;
        health.received(resource);
        if matches!(event, watcher::Event::InitDone) {
            health.listed(resource);
        }
    }

    fn watch_failed(&self, error: &watcher::Error, resource: Resource) -> Result<(), Error> {
        self.options.health.failed(resource);
        check_watch_error(error, resource.as_str())
    }

    fn handle_event(&mut self, event: watcher::Event<Event>) {
        match event {
            watcher::Event::Apply(event) | watcher::Event::InitApply(event) => {
                let inserted = self.window.insert(&event);
                let reason = event.reason.as_deref().unwrap_or_default();
                if let Inserted::Pod(key) = inserted
                    && LATE_EVENT_REASONS.contains(&reason)
                {
                    self.add_late_event(&key);
                }
            }
            watcher::Event::InitDone => self.events_listed = true,
            // A deleted event has reached its TTL. The window keeps its copy until it ages out,
            // because the exit it explains may not have been seen yet.
            watcher::Event::Delete(_) | watcher::Event::Init => {}
        }
    }

    fn handle_exits(&mut self, found: PodExits) {
        let pod = Arc::new(found.pod);
        for exit in found.exits {
            self.exits_found += 1;
            self.options.health.exit_found();
            if exit.log == LogRequest::Skip {
                self.finish_exit(FetchedLog {
                    pod: pod.clone(),
                    exit,
                    outcome: None,
                    took: Duration::ZERO,
                });
                continue;
            }
            self.spawn_log_fetch(pod.clone(), exit);
        }
    }

    /// Builds the record of one exit with the events in the window now, which includes the
    /// events that arrived while its log was fetched.
    fn build_record(&self, pod: &Pod, exit: &NewExit) -> Termination {
        let metadata = &pod.metadata;
        let key = pod_key(
            metadata.namespace.as_deref(),
            metadata.name.as_deref().unwrap_or_default(),
        );
        let node = pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref());
        let events = self.window.events_for(&key, node);
        let cluster = self.options.cluster.as_deref();
        record::build_record(pod, exit, events, cluster, Timestamp::now())
    }

    fn finish_exit(&mut self, fetched: FetchedLog) {
        let record = self.finish_record(&fetched.pod, &fetched.exit, fetched.outcome.as_ref());
        if let Some(outcome) = &fetched.outcome {
            log_fetch_outcome(&record, outcome, fetched.took, &self.options.health);
        }

        let metadata = &fetched.pod.metadata;
        let key = pod_key(
            metadata.namespace.as_deref(),
            metadata.name.as_deref().unwrap_or_default(),
        );
        self.recent.push(RecentExit {
            key,
            pod: fetched.pod,
            exit: fetched.exit,
            outcome: fetched.outcome,
            events: record.events.len(),
            committed: std::time::Instant::now(),
        });
        self.send(record);
    }

    /// Builds the record with the events in the window and the fetched log, and diagnoses it.
    fn finish_record(
        &self,
        pod: &Pod,
        exit: &NewExit,
        outcome: Option<&LogOutcome>,
    ) -> Termination {
        let mut record = self.build_record(pod, exit);
        let Some(outcome) = outcome else {
            return record;
        };
        let source = match exit.log {
            LogRequest::Previous => LogSource::ApiPrevious,
            LogRequest::Current | LogRequest::Skip => LogSource::ApiCurrent,
        };
        record::attach_log(&mut record, pod, outcome.clone(), source);
        record
    }

    /// Writes the recent exits of a pod again when a new event relates to them.
    fn add_late_event(&mut self, key: &str) {
        let mut recent = std::mem::take(&mut self.recent);
        for exit in recent.of_pod_mut(key) {
            let record = self.finish_record(&exit.pod, &exit.exit, exit.outcome.as_ref());
            if record.events.len() <= exit.events {
                continue;
            }
            tracing::debug!(id = %record.id, events = record.events.len(), "late event added to an exit");
            exit.events = record.events.len();
            self.send(record);
        }
        self.recent = recent;
    }

    fn spawn_log_fetch(&mut self, pod: Arc<Pod>, exit: NewExit) {
        let termination = &exit.instance.termination;
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &termination.namespace);
        let fetches = self.fetches.clone();
        let fetched = self.fetched.clone();
        let fatal = self.fatal.clone();
        let limits = self.options.log;
        let health = Arc::clone(&self.options.health);

        self.tasks.spawn(async move {
            let permit = fetches.acquire_owned().await;
            let (name, container) = (
                &exit.instance.termination.pod,
                &exit.instance.termination.container,
            );
            health.fetch_started();
            let started = Instant::now();
            let outcome = logs::fetch_log(&api, name, container, exit.log, &limits).await;
            let took = started.elapsed();
            drop(permit);

            if let LogOutcome::Forbidden { code, message } = &outcome {
                let _ = fatal.send(Error::Forbidden {
                    verb: "get",
                    resource: "pods/log",
                    code: *code,
                    message: message.clone(),
                });
            }
            // The receiver lives in the runner, which waits for every task before it ends.
            let _ = fetched.send(FetchedLog {
                pod,
                exit,
                outcome: Some(outcome),
                took,
            });
        });
    }

    fn send(&self, record: Termination) {
        self.options.health.record_queued();
        // The writer only ends after the runner has dropped its sender.
        let _ = self.records.send(record);
    }
}

/// Logs a watch error that the watcher will retry, or returns the permission error that ends
/// the watch.
fn check_watch_error(error: &watcher::Error, resource: &'static str) -> Result<(), Error> {
    let (verb, status) = match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status)) => ("list", status),
        watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => ("watch", status),
        watcher::Error::WatchError(status) => ("watch", status),
        _ => {
            tracing::warn!(resource, %error, "watch failed, retrying with backoff");
            return Ok(());
        }
    };
    if matches!(status.code, 401 | 403) {
        return Err(Error::Forbidden {
            verb,
            resource,
            code: status.code,
            message: status.message.clone(),
        });
    }
    if status.code == 410 {
        tracing::info!(resource, "watch history expired (410 Gone), relisting");
    } else {
        tracing::warn!(resource, code = status.code, message = %status.message,
            "API request failed, retrying with backoff");
    }
    Ok(())
}

fn fetch_outcome(outcome: &LogOutcome) -> FetchOutcome {
    match outcome {
        LogOutcome::Fetched { .. } => FetchOutcome::Fetched,
        LogOutcome::Gone(_) => FetchOutcome::Gone,
        LogOutcome::Failed(_) => FetchOutcome::Failed,
        LogOutcome::Forbidden { .. } => FetchOutcome::Forbidden,
    }
}

/// Logs how a log fetch ended and counts it in the same place, so log and metric agree.
fn log_fetch_outcome(
    record: &Termination,
    outcome: &LogOutcome,
    took: Duration,
    health: &WatchHealth,
) {
    health.fetch_ended(fetch_outcome(outcome), took);
    let (namespace, pod, container) = (&record.namespace, &record.pod, &record.container);
    let restart = record.restart_count;
    match outcome {
        LogOutcome::Fetched { .. } => {}
        LogOutcome::Gone(message) => {
            tracing::info!(
                namespace,
                pod,
                container,
                restart,
                message,
                "log already gone"
            );
        }
        LogOutcome::Failed(error) => {
            tracing::warn!(
                namespace,
                pod,
                container,
                restart,
                error,
                "log fetch failed"
            );
        }
        LogOutcome::Forbidden { message, .. } => {
            tracing::error!(
                namespace,
                pod,
                container,
                restart,
                message,
                "log fetch forbidden"
            );
        }
    }
}

/// Logs one line per committed record: where, which instance, the cause and its summary.
fn report_exit(record: &Termination) {
    let exit_code = record
        .exit_code
        .map_or_else(|| "-".to_owned(), |code| code.to_string());
    tracing::info!(
        target: "podmortem::exit",
        namespace = %record.namespace,
        pod = %record.pod,
        container = %record.container,
        restart = record.restart_count,
        cause = %record.cause.kind,
        exit_code = %exit_code,
        missed_before = record.missed_before,
        id = %record.id,
        "{}/{} {} restart {}: {} (exit {}) {}",
        record.namespace,
        record.pod,
        record.container,
        record.restart_count,
        record.cause.kind,
        exit_code,
        record.cause.summary,
    );
}
