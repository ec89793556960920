//! The record type shared by the CRI and Docker parsers, and the format detector.
//!
//! A *record* is one line of a log file. A long output line is split by the runtime into several
//! records: CRI marks all but the last with the tag `P`; Docker's json-file driver leaves the
//! trailing `\n` off the `log` value of all but the last. [`crate::kubelet::merge`] joins them.

use std::borrow::Cow;

use jiff::Timestamp;

use crate::model::Stream;

use super::{cri, docker};

/// One parsed log record. CRI records borrow their content from the line; Docker records own it
/// when the JSON string held escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Time the runtime stamped on the record.
    pub time: Timestamp,

    /// Output stream the record was written to.
    pub stream: Stream,

    /// True when the record is a fragment that the next record of the same stream continues
    /// (CRI tag `P`, or a Docker `log` value without a final `\n`).
    pub partial: bool,

    /// Content bytes, without the record's framing and without the line's `\n`. They may hold
    /// any bytes, including invalid UTF-8 and NUL.
    pub content: Cow<'a, [u8]>,
}

impl Record<'_> {
    /// Copies the content so the record no longer borrows from its line.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            time: self.time,
            stream: self.stream,
            partial: self.partial,
            content: Cow::Owned(self.content.into_owned()),
        }
    }
}

/// The reason a line is not a log record: the first field that failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("missing or invalid RFC 3339 timestamp")]
    Timestamp,
    #[error("stream is not `stdout` or `stderr`")]
    Stream,
    #[error("tag is not `P` or `F`")]
    Tag,
    #[error("not a Docker json-file record")]
    Json,
    #[error("not a CRI or Docker json-file log record")]
    Unrecognized,
}

/// The on-disk format of a container log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// `<RFC3339Nano> <stdout|stderr> <P|F> <content>`, written by containerd and CRI-O.
    Cri,
    /// `{"log":"…","stream":"…","time":"…"}`, written by Docker's json-file driver.
    Docker,
}

impl LogFormat {
    /// Parses one line (without its `\n`) in this format.
    pub fn parse(self, line: &[u8]) -> Result<Record<'_>, RecordError> {
        match self {
            LogFormat::Cri => cri::parse_cri_line(line),
            LogFormat::Docker => docker::parse_docker_line(line),
        }
    }
}

/// Number of non-empty lines the detector looks at.
const DETECT_LINES: usize = 8;

/// Detects the format of a log file from its first bytes (a few KiB are plenty).
///
/// The first of the first non-empty lines that parses in either format decides. Returns `None`
/// when none of them parses, which is the case for empty and binary files.
pub fn detect_format(head: &[u8]) -> Option<LogFormat> {
    head.split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .take(DETECT_LINES)
        .find_map(detect_line)
}

fn detect_line(line: &[u8]) -> Option<LogFormat> {
    if line.first() == Some(&b'{') && docker::parse_docker_line(line).is_ok() {
        return Some(LogFormat::Docker);
    }
    cri::parse_cri_line(line).ok().map(|_| LogFormat::Cri)
}
