//! The termination message kubelet builds from the log under
//! `terminationMessagePolicy: FallbackToLogsOnError`.
//!
//! When a container fails and its termination-message file is empty, kubelet's
//! `readLastStringFromContainerLogs` (`pkg/kubelet/kuberuntime/kuberuntime_container.go`) reads
//! the live `N.log` with `TailLines: 80` into a 2048-byte circular buffer
//! (`MaxContainerTerminationMessageLogLines` and `MaxContainerTerminationMessageLogLength`).
//! The tail counts file lines, that is records, not joined lines: `tail.FindTailLineStartIndex`
//! starts after the 81st `\n` from the end. Each record's content is written as parsed by
//! `parseCRILog` or `parseDockerJSONLog`: the content of an `F` record keeps the line's `\n`,
//! a `P` record's does not, and stdout and stderr go to the same buffer in file order. Lines
//! that do not parse are skipped.

use super::record::{LogFormat, detect_format};

/// Number of file lines kubelet reads.
pub const FALLBACK_LINES: usize = 80;

/// Number of bytes kubelet keeps, from the end.
pub const FALLBACK_BYTES: usize = 2048;

/// Returns the message kubelet would build from the bytes of an instance's live `N.log`.
pub fn fallback_to_logs_message(file_bytes: &[u8]) -> Vec<u8> {
    let start = tail_line_start(file_bytes, FALLBACK_LINES);
    let tail = &file_bytes[start..];
    let Some(format) = detect_format(tail) else {
        return Vec::new();
    };

    let mut message = Vec::new();
    for line in tail.split_inclusive(|byte| *byte == b'\n') {
        append_record(format, line, &mut message);
    }

    let keep_from = message.len().saturating_sub(FALLBACK_BYTES);
    message.split_off(keep_from)
}

/// Returns the offset after which `bytes` contains exactly `lines` newlines, or 0 when it
/// contains fewer, as kubelet's `tail.FindTailLineStartIndex` does.
fn tail_line_start(bytes: &[u8], lines: usize) -> usize {
    memchr::memrchr_iter(b'\n', bytes)
        .nth(lines)
        .map_or(0, |newline| newline + 1)
}

/// Appends what kubelet writes for one file line (with its `\n`, when it has one).
fn append_record(format: LogFormat, line: &[u8], message: &mut Vec<u8>) {
    let (body, newline) = match line.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (line, false),
    };
    let Ok(record) = format.parse(body) else {
        return;
    };

    message.extend_from_slice(&record.content);
    let keeps_newline = match format {
        LogFormat::Cri => !record.partial && newline,
        LogFormat::Docker => !record.partial,
    };
    if keeps_newline {
        message.push(b'\n');
    }
}
