//! Exits committed in the last few minutes, kept so that an event that arrives after an
//! exit's record was written still reaches the record.
//!
//! kubelet records `Unhealthy` and `Killing` before it kills a container, but the event watch
//! and the pod watch are separate streams, so an event can arrive after the status that shows
//! the exit. When it does, the exit is joined and diagnosed again, and the store's merge
//! unions the events and keeps the stronger cause.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use crate::cluster::fingerprint::NewExit;
use crate::cluster::logs::LogOutcome;

/// Maximum number of exits kept; the oldest go first. Each keeps its pod and its log tail
/// (at most `limitBytes`), so this bounds the memory used.
pub const MAX_RECENT: usize = 256;

/// How long after its commit an exit still takes late events.
pub const RECENT_FOR: Duration = Duration::from_secs(300);

/// Reasons of pod events that can change an exit's diagnosis.
pub const LATE_EVENT_REASONS: [&str; 7] = [
    "Killing",
    "Unhealthy",
    "Evicted",
    "Preempting",
    "OOMKilling",
    "ExceededGracePeriod",
    "FailedPreStopHook",
];

/// One committed exit and what is needed to build its record again.
#[derive(Debug)]
pub struct RecentExit {
    /// The key of the pod's events, see [`crate::cluster::events::pod_key`].
    pub key: String,
    pub pod: Arc<Pod>,
    pub exit: NewExit,
    /// The outcome of the log fetch; `None` when no log was requested.
    pub outcome: Option<LogOutcome>,
    /// Number of events in the last record written.
    pub events: usize,
    pub committed: Instant,
}

/// The recent exits, oldest first.
#[derive(Debug, Default)]
pub struct RecentExits {
    entries: VecDeque<RecentExit>,
}

impl RecentExits {
    /// Adds an exit, dropping the oldest beyond [`MAX_RECENT`] and those older than
    /// [`RECENT_FOR`].
    pub fn push(&mut self, exit: RecentExit) {
        let now = exit.committed;
        self.entries.push_back(exit);
        while self.entries.len() > MAX_RECENT {
            self.entries.pop_front();
        }
        while self
            .entries
            .front()
            .is_some_and(|oldest| now.duration_since(oldest.committed) > RECENT_FOR)
        {
            self.entries.pop_front();
        }
    }

    /// Returns the recent exits of one pod.
    pub fn of_pod_mut<'a>(&'a mut self, key: &'a str) -> impl Iterator<Item = &'a mut RecentExit> {
        self.entries.iter_mut().filter(move |exit| exit.key == key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::cluster::fingerprint::LogRequest;
    use crate::detect::{Instance, Observation, Slot, blank_record};
    use crate::model::Source;

    fn recent(key: &str, committed: Instant) -> RecentExit {
        let pod = Pod::default();
        let observation = Observation {
            source: Source::Api,
            observed_at: Timestamp::UNIX_EPOCH,
        };
        let termination = blank_record(&pod, "app", 0, &observation);
        RecentExit {
            key: key.to_owned(),
            pod: Arc::new(pod),
            exit: NewExit {
                instance: Instance {
                    termination,
                    slot: Slot::LastState,
                },
                missed_before: 0,
                log: LogRequest::Previous,
            },
            outcome: None,
            events: 0,
            committed,
        }
    }

    #[test]
    fn recent_exits_bounded_by_count() {
        let mut exits = RecentExits::default();
        let now = Instant::now();
        for index in 0..MAX_RECENT + 10 {
            exits.push(recent(&format!("shop/pod-{index}"), now));
        }

        assert_eq!(exits.len(), MAX_RECENT);
        assert_eq!(exits.of_pod_mut("shop/pod-0").count(), 0);
        assert_eq!(exits.of_pod_mut("shop/pod-10").count(), 1);
    }

    #[test]
    fn recent_exits_expire_by_age() {
        let mut exits = RecentExits::default();
        let start = Instant::now();
        exits.push(recent("shop/old", start));

        exits.push(recent(
            "shop/new",
            start + RECENT_FOR + Duration::from_secs(1),
        ));

        assert_eq!(exits.of_pod_mut("shop/old").count(), 0);
        assert_eq!(exits.of_pod_mut("shop/new").count(), 1);
    }
}
