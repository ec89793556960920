//! Results of expensive store queries, reused for a few seconds so that frequent requests over
//! a large store (Prometheus scrapes, dashboards polling the summary) do not each scan it.
//!
//! A result younger than [`FRESH_FOR`] is returned as it is. One younger than [`STALE_FOR`] is
//! returned too, while a background task computes a new one. An older result, or none, is
//! computed while the request waits, once per key: requests that arrive during that
//! computation wait for its result. A failed computation removes the entry, so the next
//! request computes again and gets the error.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::ApiError;

/// Age up to which a result is returned without a refresh.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// Age up to which a result is returned while a background task refreshes it.
pub const STALE_FOR: Duration = Duration::from_secs(30);

/// Results by key, at most `capacity` of them.
#[derive(Debug)]
pub struct RefreshCache<K, V> {
    capacity: usize,
    entries: Mutex<HashMap<K, Entry<V>>>,
    /// A lock per key whose result is being computed while requests wait.
    computing: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Debug)]
struct Entry<V> {
    value: Arc<V>,
    computed_at: Instant,
    refreshing: bool,
}

/// The outcome of a lookup: a result to return, and whether the caller must refresh it.
enum Lookup<V> {
    Fresh(Arc<V>),
    Stale { value: Arc<V>, refresh: bool },
    Missing,
}

impl<K, V> RefreshCache<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Send + Sync + 'static,
{
    pub fn new(capacity: usize) -> Self {
        RefreshCache {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
            computing: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the result for `key`, from the cache or from `compute` as the module describes.
    pub async fn get<F, Fut>(self: &Arc<Self>, key: K, compute: F) -> Result<Arc<V>, ApiError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, ApiError>> + Send + 'static,
    {
        match self.lookup(&key) {
            Lookup::Fresh(value) => Ok(value),
            Lookup::Stale { value, refresh } => {
                if refresh {
                    let cache = Arc::clone(self);
                    tokio::spawn(async move {
                        let result = compute().await;
                        if let Err(error) = &result {
                            tracing::warn!(%error, "failed to refresh a cached count");
                        }
                        cache.store(key, result.map(Arc::new).ok());
                    });
                }
                Ok(value)
            }
            Lookup::Missing => self.compute_once(key, compute).await,
        }
    }

    /// Computes the result for `key` unless another request computed it while this one
    /// waited for the key's lock.
    async fn compute_once<F, Fut>(&self, key: K, compute: F) -> Result<Arc<V>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, ApiError>>,
    {
        let lock = {
            let mut computing = self
                .computing
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(computing.entry(key.clone()).or_default())
        };
        let _guard = lock.lock().await;
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }

        let result = compute().await.map(Arc::new);
        self.store(key.clone(), result.as_ref().ok().cloned());
        self.computing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        result
    }

    fn fresh(&self, key: &K) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|entry| entry.computed_at.elapsed() < FRESH_FOR)
            .map(|entry| Arc::clone(&entry.value))
    }

    fn lookup(&self, key: &K) -> Lookup<V> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.get_mut(key) else {
            return Lookup::Missing;
        };
        let age = entry.computed_at.elapsed();
        if age < FRESH_FOR {
            return Lookup::Fresh(Arc::clone(&entry.value));
        }
        if age >= STALE_FOR {
            return Lookup::Missing;
        }
        let refresh = !entry.refreshing;
        entry.refreshing = true;
        Lookup::Stale {
            value: Arc::clone(&entry.value),
            refresh,
        }
    }

    /// Stores a new result for `key`, or removes the entry when the computation failed.
    fn store(&self, key: K, value: Option<Arc<V>>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(value) = value else {
            entries.remove(&key);
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, entry)| entry.computed_at)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key,
            Entry {
                value,
                computed_at: Instant::now(),
                refreshing: false,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn fresh_result_is_reused() {
        let cache = Arc::new(RefreshCache::<u8, usize>::new(2));
        let calls = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let calls = Arc::clone(&calls);
            let value = cache
                .get(1, move || async move {
                    Ok(calls.fetch_add(1, Ordering::SeqCst))
                })
                .await
                .unwrap();
            assert_eq!(*value, 0);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_misses_compute_once() {
        let cache = Arc::new(RefreshCache::<u8, usize>::new(2));
        let calls = Arc::new(AtomicUsize::new(0));
        let requests = (0..8).map(|_| {
            let cache = Arc::clone(&cache);
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                cache
                    .get(1, move || async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(calls.fetch_add(1, Ordering::SeqCst))
                    })
                    .await
                    .map(|value| *value)
            })
        });
        let values = futures::future::join_all(requests).await;

        for value in values {
            assert_eq!(value.unwrap().unwrap(), 0);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failure_is_not_cached() {
        let cache = Arc::new(RefreshCache::<u8, usize>::new(2));
        let failed = cache
            .get(1, || async {
                Err(ApiError::Internal(anyhow::anyhow!("store failed")))
            })
            .await;
        let value = cache.get(1, || async { Ok(7) }).await.unwrap();
        assert!(failed.is_err());
        assert_eq!(*value, 7);
    }

    #[tokio::test]
    async fn capacity_evicts_the_oldest() {
        let cache = Arc::new(RefreshCache::<u8, u8>::new(2));
        for key in 0..3 {
            cache
                .get(key, move || async move { Ok(key) })
                .await
                .unwrap();
        }
        let again = cache.get(0, || async { Ok(100) }).await.unwrap();
        let cached = cache.get(2, || async { Ok(200) }).await.unwrap();
        assert_eq!(*again, 100);
        assert_eq!(*cached, 2);
    }
}
