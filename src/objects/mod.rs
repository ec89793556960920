//! Kubernetes objects from files: JSON and YAML, Lists, and `kubectl cluster-info dump`
//! folders.

use std::path::PathBuf;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use crate::model::EventRecord;

/// Objects read from one or more inputs.
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    pub pods: Vec<Pod>,
    /// Events from core/v1 and events.k8s.io/v1 lists, normalised to one form.
    pub events: Vec<EventRecord>,
    pub jobs: Vec<Job>,
    /// Container logs from `<namespace>/<pod>/logs.txt` of a cluster-info dump.
    pub logs: Vec<DumpLog>,
}

/// The log of one container as `kubectl cluster-info dump` saved it (the current instance).
#[derive(Debug, Clone)]
pub struct DumpLog {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub path: PathBuf,
    pub text: String,
}
