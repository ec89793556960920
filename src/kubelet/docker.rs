//! The Docker json-file log record: `{"log":"…","stream":"stdout|stderr","time":"…"}`.
//!
//! Docker's json-file driver writes one JSON object per line, and kubelet reads it with
//! `parseDockerJSONLog` (`pkg/kubelet/kuberuntime/logs/logs.go`). The `log` value ends in `\n`
//! for a complete output line. Docker splits output lines longer than 16 KiB into several
//! records, and all but the last have no final `\n`. Other keys (`attrs`) are ignored.

use std::borrow::Cow;

use serde::Deserialize;

use crate::model::Stream;

use super::record::{Record, RecordError};
use super::time::parse_rfc3339;

#[derive(Deserialize)]
struct DockerLine<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// Parses one Docker json-file line, without its `\n`.
///
/// A line whose bytes are not valid UTF-8 is decoded lossily first, because JSON text must be
/// UTF-8 and a damaged byte should not lose the whole record.
pub fn parse_docker_line(line: &[u8]) -> Result<Record<'_>, RecordError> {
    match serde_json::from_slice::<DockerLine<'_>>(line) {
        Ok(parsed) => record_from(parsed),
        Err(_) if std::str::from_utf8(line).is_err() => {
            let repaired = String::from_utf8_lossy(line);
            let parsed: DockerLine<'_> =
                serde_json::from_str(&repaired).map_err(|_| RecordError::Json)?;
            record_from(parsed).map(Record::into_owned)
        }
        Err(_) => Err(RecordError::Json),
    }
}

fn record_from(parsed: DockerLine<'_>) -> Result<Record<'_>, RecordError> {
    let time = parse_rfc3339(parsed.time.as_bytes()).ok_or(RecordError::Timestamp)?;

    let stream = match parsed.stream.as_ref() {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return Err(RecordError::Stream),
    };

    let (content, partial) = match parsed.log {
        Cow::Borrowed(log) => match log.strip_suffix('\n') {
            Some(line) => (Cow::Borrowed(line.as_bytes()), false),
            None => (Cow::Borrowed(log.as_bytes()), true),
        },
        Cow::Owned(mut log) => {
            let partial = !log.ends_with('\n');
            if !partial {
                log.pop();
            }
            (Cow::Owned(log.into_bytes()), partial)
        }
    };

    Ok(Record {
        time,
        stream,
        partial,
        content,
    })
}
