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

mod signal;

pub use signal::{MAX_SIGNAL, signal_from_exit_code, signal_name, signal_number};

// Placeholder until the rules land.
pub fn diagnose(
    _record: &crate::model::Termination,
    _context: &Context<'_>,
) -> crate::model::Cause {
    crate::model::Cause::undiagnosed()
}
