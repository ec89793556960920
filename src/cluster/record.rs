//! Turning a new exit seen by the watcher into a diagnosed record.
//!
//! The join of a pod with its events and the diagnosis are the offline ones
//! ([`crate::assemble::assemble`] and [`crate::diagnose::diagnose`]), so a record made live
//! reads the same as one made from saved objects. The fetched log is added afterwards and the
//! record diagnosed again, because the key line comes from the log.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use crate::assemble::{self, Options};
use crate::cluster::fingerprint::NewExit;
use crate::cluster::logs::LogOutcome;
use crate::diagnose::{self, Context};
use crate::model::{EventRecord, LogSource, Source, Termination};
use crate::objects::Bundle;

/// Builds the diagnosed record of one new exit, with the events related to it.
pub fn build_record(
    pod: &Pod,
    exit: &NewExit,
    events: Vec<EventRecord>,
    cluster: Option<&str>,
    observed_at: Timestamp,
) -> Termination {
    let bundle = Bundle {
        pods: vec![pod.clone()],
        events,
        ..Bundle::default()
    };
    let options = Options {
        cluster: cluster.map(str::to_owned),
        log_lines: usize::MAX,
        observed_at,
    };
    let wanted = &exit.instance.termination.id;
    let assembled = assemble::assemble(&bundle, &[], &options)
        .into_iter()
        .find(|record| &record.id == wanted);

    // The join yields every instance that detection yields, so the record is always found;
    // the fallback keeps the undiagnosed instance rather than lose the exit.
    let mut record = assembled.unwrap_or_else(|| exit.instance.termination.clone());
    record.source = Source::Api;
    record.observed_at = observed_at;
    record.missed_before = exit.missed_before;
    record
}

/// Adds the outcome of the log fetch to the record and diagnoses it again.
pub fn attach_log(record: &mut Termination, pod: &Pod, outcome: LogOutcome, source: LogSource) {
    let note = match outcome {
        LogOutcome::Fetched { lines, .. } if lines.is_empty() && !record.log_tail.is_empty() => {
            None
        }
        LogOutcome::Fetched { lines, truncated } => {
            record.log_first_at = lines.iter().find_map(|line| line.time);
            record.log_last_at = lines.iter().rev().find_map(|line| line.time);
            record.log_tail = lines;
            record.log_truncated = truncated;
            record.log_source = Some(source);
            None
        }
        LogOutcome::Gone(message) => Some(format!(
            "log no longer available from the API when the exit was seen: {message}"
        )),
        LogOutcome::Failed(message) | LogOutcome::Forbidden { message, .. } => {
            Some(format!("log fetch failed: {message}"))
        }
    };

    let context = Context {
        pod: Some(pod),
        job: None,
    };
    record.cause = diagnose::diagnose(record, &context);
    if let Some(note) = note {
        record.cause.evidence.push(note);
    }
}
