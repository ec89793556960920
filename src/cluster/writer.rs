//! The one thread that writes records to the store.
//!
//! Records arrive on a channel and are committed in batches, so a burst of exits costs one
//! transaction per batch. A failed write (most often another process holding the SQLite
//! lock past the busy timeout) is logged and retried with backoff, and the records stay in
//! memory until it succeeds: an exit the watcher has seen is never dropped while the process
//! runs. The thread ends when every sender is gone and the channel is drained.

use std::time::Duration;

use tokio::sync::mpsc;

use super::health::WatchHealth;
use crate::model::Termination;
use crate::store::{SqliteStore, Store};

/// Maximum number of records committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// Maximum wait between two attempts of a failed write.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Counts kept by the writer, returned when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterSummary {
    /// Records committed, new or merged into a stored one.
    pub committed: usize,
    /// Write attempts that failed and were retried.
    pub retries: usize,
}

/// Writes every record it receives and returns when the channel is closed and drained.
/// `on_commit` runs for each record after its transaction committed.
pub fn run_writer(
    mut store: SqliteStore,
    mut records: mpsc::UnboundedReceiver<Termination>,
    health: &WatchHealth,
    mut on_commit: impl FnMut(&Termination),
) -> WriterSummary {
    let mut summary = WriterSummary::default();
    while let Some(first) = records.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match records.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }

        summary.retries += commit_with_retry(&mut store, &batch, health);
        summary.committed += batch.len();
        health.records_committed(batch.len());
        batch.iter().for_each(&mut on_commit);
    }
    summary
}

/// Upserts the batch until it succeeds and returns the number of failed attempts.
///
/// NOTE: the retries never give up, so a store that stays locked keeps a stopping watcher
/// waiting until the lock is released or the process is killed.
fn commit_with_retry(
    store: &mut SqliteStore,
    batch: &[Termination],
    health: &WatchHealth,
) -> usize {
    let mut backoff = Duration::from_millis(50);
    let mut failures = 0;
    loop {
        match store.upsert(batch) {
            Ok(_) => return failures,
            Err(error) => {
                failures += 1;
                health.store_write_failed();
                tracing::warn!(
                    db = %store.path().display(),
                    records = batch.len(),
                    attempt = failures,
                    error = %error,
                    "store write failed, keeping the records in memory and retrying"
                );
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
