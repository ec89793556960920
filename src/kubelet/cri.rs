//! The CRI log record: `<RFC3339Nano> <stdout|stderr> <P|F> <content>`.
//!
//! The format is defined by the CRI logging proposal and read by kubelet's `parseCRILog`
//! (`pkg/kubelet/kuberuntime/logs/logs.go`). Fields are separated by exactly one space. The tag
//! may carry further `:`-separated parts for forward compatibility; only the first one (`P` or
//! `F`) counts. Everything after the space that follows the tag is content, kept byte for byte,
//! including leading blanks and an empty content (a blank output line).

use std::borrow::Cow;

use crate::model::Stream;

use super::record::{Record, RecordError};
use super::time::parse_rfc3339;

/// Parses one CRI log line, without its `\n`. The record borrows its content from `line`.
pub fn parse_cri_line(line: &[u8]) -> Result<Record<'_>, RecordError> {
    let (time, rest) = split_field(line).ok_or(RecordError::Timestamp)?;
    let time = parse_rfc3339(time).ok_or(RecordError::Timestamp)?;

    let (stream, rest) = split_field(rest).ok_or(RecordError::Stream)?;
    let stream = match stream {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return Err(RecordError::Stream),
    };

    let (tag, content) = split_field(rest).ok_or(RecordError::Tag)?;
    let first_tag = tag.split(|byte| *byte == b':').next().unwrap_or(tag);
    let partial = match first_tag {
        b"P" => true,
        b"F" => false,
        _ => return Err(RecordError::Tag),
    };

    Ok(Record {
        time,
        stream,
        partial,
        content: Cow::Borrowed(content),
    })
}

/// Splits `text` at its first space into the field before it and the text after it.
fn split_field(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = memchr::memchr(b' ', text)?;
    Some((&text[..space], &text[space + 1..]))
}
