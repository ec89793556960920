//! Kubelet's on-disk formats: log paths, CRI and Docker log lines, rotation, reading from the
//! end, and termination-message files.

use std::path::PathBuf;

use jiff::Timestamp;

use crate::model::LogLine;

/// Everything read from one node's kubelet folders.
#[derive(Debug, Clone, Default)]
pub struct NodeScan {
    /// One entry per container instance that has log files.
    pub instances: Vec<NodeInstance>,
    /// Termination-message files, grouped per pod uid and container.
    pub message_files: Vec<ContainerMessageFiles>,
    /// Problems that did not stop the scan (an unreadable file, a truncated line), one
    /// sentence each, naming the path.
    pub warnings: Vec<String>,
}

/// One container instance seen in `/var/log/pods`.
#[derive(Debug, Clone)]
pub struct NodeInstance {
    /// Namespace and pod name; `None` in the old `/var/log/pods/<pod-uid>/` layout.
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub pod_uid: String,
    pub container: String,
    /// The `N` of `N.log`.
    pub restart_count: u32,
    /// Container id from a `/var/log/containers` symlink, when one points at this instance.
    pub container_id: Option<String>,
    /// The instance's files, oldest first, the live `N.log` last.
    pub log_files: Vec<PathBuf>,
    /// The last lines of the instance's output, oldest first.
    pub log_tail: Vec<LogLine>,
    /// True when the files hold more lines than `log_tail`.
    pub log_truncated: bool,
    pub first_log_at: Option<Timestamp>,
    pub last_log_at: Option<Timestamp>,
}

/// The termination-message files of one container of one pod, oldest first by mtime.
#[derive(Debug, Clone)]
pub struct ContainerMessageFiles {
    pub pod_uid: String,
    pub container: String,
    pub files: Vec<MessageFile>,
}

/// One `/var/lib/kubelet/pods/<uid>/containers/<container>/<8 hex digits>` file.
#[derive(Debug, Clone)]
pub struct MessageFile {
    pub path: PathBuf,
    pub modified: Timestamp,
    /// The last 4096 bytes of the file, as kubelet reads it.
    pub content: Vec<u8>,
}

/// What is known of an instance's run time, for matching termination-message files to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceTimes {
    pub restart_count: u32,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// A termination-message file matched to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageMatch {
    pub restart_count: u32,
    /// Index into [`ContainerMessageFiles::files`].
    pub file_index: usize,
}

// Placeholder until the node reader lands: matches nothing.
pub fn match_message_files(
    _files: &[MessageFile],
    _latest_restart_count: Option<u32>,
    _known: &[InstanceTimes],
) -> Vec<MessageMatch> {
    Vec::new()
}
