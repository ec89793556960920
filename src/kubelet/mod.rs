//! Kubelet's on-disk formats: log paths, CRI and Docker log lines, rotation, reading from the
//! end, and termination-message files, and the node scanner that reads them all.
//!
//! The parsers are pure functions over bytes ([`parse_cri_line`], [`parse_docker_line`],
//! [`detect_format`], [`Merger`], [`fallback_to_logs_message`]); the readers ([`InstanceLog`],
//! [`tail`], [`scan_node_root`]) add file access. Log content is untrusted: it is kept as bytes
//! until it is decoded lossily into [`LogLine::text`], and every buffer is bounded.

mod cri;
mod docker;
mod fallback;
mod merge;
mod paths;
mod record;
mod scan;
mod source;
mod tail;
mod termination_message;
mod time;

use std::path::PathBuf;

use jiff::Timestamp;

use crate::model::LogLine;

pub use cri::parse_cri_line;
pub use docker::parse_docker_line;
pub use fallback::{FALLBACK_BYTES, FALLBACK_LINES, fallback_to_logs_message};
pub use merge::{
    Decoder, FileStats, LineRef, LineSink, MAX_LINE_BYTES, MergedLine, Merger, decode_all,
};
pub use paths::{
    LogFileName, PodDir, order_log_files, parse_container_link_name, parse_legacy_log_file_name,
    parse_log_file_name, parse_pod_dir_name, parse_pod_log_path, resolve_link_target,
};
pub use record::{LogFormat, Record, RecordError, detect_format};
pub use scan::{ScanOptions, looks_like_node_root, looks_like_pod_logs_dir, scan_node_root};
pub use source::{DecodeReport, InstanceLog, LogSegment, MAX_DECOMPRESSED_BYTES, OpenedLog};
pub use tail::{DEFAULT_BLOCK_BYTES, Tail, TailOptions, tail};
pub use termination_message::{
    MATCH_SLACK, MAX_MESSAGE_BYTES, is_message_file_name, match_message_files, read_message_dir,
    read_message_file,
};
pub use time::parse_rfc3339;

/// Errors of the kubelet readers. Each names the path it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error; `fs_err` puts the path in its message.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error("`{}`: invalid gzip data: {source}", path.display())]
    Gzip {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("`{}` is larger than {limit} bytes once decompressed, so it was not read", path.display())]
    TooLarge { path: PathBuf, limit: u64 },

    #[error(
        "`{}` is not a CRI or Docker json-file log: none of its first lines is a log record",
        path.display()
    )]
    NotALog { path: PathBuf },

    #[error("`{}`: cannot read the modification time: {source}", path.display())]
    Metadata {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("`{}`: modification time is out of range", path.display())]
    InvalidMtime { path: PathBuf },

    #[error(
        "`{}` is not a node root or a pod logs folder: expected `var/log/pods` or \
         `var/lib/kubelet/pods` in it, or `<namespace>_<pod>_<pod-uid>` folders",
        path.display()
    )]
    NotANodeRoot { path: PathBuf },

    #[error(
        "`{}` contains no container log files and no termination-message files: expected \
         `var/log/pods/<namespace>_<pod>_<pod-uid>/<container>/<N>.log` or \
         `var/lib/kubelet/pods/<pod-uid>/containers/<container>/<8 hex digits>`",
        path.display()
    )]
    NothingFound { path: PathBuf },
}

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
    /// It is the bare id (64 hex digits) because the link name does not carry the runtime
    /// prefix (`containerd://`, `cri-o://`, `docker://`) of the API's `containerID`.
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

/// Known run time of an instance, for matching termination-message files to it.
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

#[cfg(test)]
mod tests;
