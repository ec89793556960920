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

    let (stream, rest) = split_stream(rest).ok_or(RecordError::Stream)?;

    let (partial, content) = split_tag(rest).ok_or(RecordError::Tag)?;

    Ok(Record {
        time,
        stream,
        partial,
        content: Cow::Borrowed(content),
    })
}

/// Splits `stdout ` or `stderr ` off the front. Both are compared whole, which is faster than
/// searching for the space.
fn split_stream(text: &[u8]) -> Option<(Stream, &[u8])> {
    let (field, rest) = text.split_at_checked(7)?;
    match field {
        b"stdout " => Some((Stream::Stdout, rest)),
        b"stderr " => Some((Stream::Stderr, rest)),
        _ => None,
    }
}

/// Splits the tag off the front and returns whether it marks a partial record. The common
/// one-letter tag is checked first; a tag with more `:`-separated parts takes the slow path.
fn split_tag(text: &[u8]) -> Option<(bool, &[u8])> {
    match text {
        [b'F', b' ', content @ ..] => return Some((false, content)),
        [b'P', b' ', content @ ..] => return Some((true, content)),
        _ => {}
    }

    let (tag, content) = split_field(text)?;
    let first_tag = tag.split(|byte| *byte == b':').next().unwrap_or(tag);
    match first_tag {
        b"P" => Some((true, content)),
        b"F" => Some((false, content)),
        _ => None,
    }
}

/// Splits `text` at its first space into the field before it and the text after it.
fn split_field(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = memchr::memchr(b' ', text)?;
    Some((&text[..space], &text[space + 1..]))
}
