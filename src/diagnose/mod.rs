//! Diagnosis of container exits: cause rules, exit codes and signals, key-line finders.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

/// What the rules may consult besides the record itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The pod the instance ran in, when its object is known.
    pub pod: Option<&'a Pod>,
    /// The Job that controls the pod, when known.
    pub job: Option<&'a Job>,
}

mod eviction;
mod exit_code;
mod key_line;
mod reason;
mod signal;

pub use eviction::{ContainerUsage, EvictionMessage, parse_eviction_message};
pub use exit_code::{
    ExitCodeExplanation, NtStatus, SignalExit, describe_signal, exit_code_evidence,
    explain_exit_code, is_crash_signal, ntstatus_from_exit_code, parse_exit_code,
};
pub use key_line::{
    KeyLine, KeyLineKind, MAX_KEY_LINE_BYTES, bound_text, find_key_line, find_key_line_in_text,
};
pub use reason::{ReasonExplanation, explain_reason, known_reasons};
pub use signal::{MAX_SIGNAL, signal_from_exit_code, signal_name, signal_number};
