//! Joining partial records into logical lines, and decoding a byte stream into lines.
//!
//! Runtimes split an output line longer than their buffer (16 KiB for containerd, CRI-O and
//! Docker) into several records. The fragments of one line are consecutive records of the same
//! stream, but records of the other stream may fall between them, so the [`Merger`] keeps one
//! pending buffer per stream. Joining happens on bytes, before UTF-8 decoding, because a split
//! can fall inside a multi-byte character.

use std::borrow::Cow;

use jiff::Timestamp;

use crate::model::{LogLine, Stream};

use super::record::{LogFormat, Record, RecordError, detect_format};

/// Maximum size in bytes of one joined line. Bytes of a longer P chain past this size are
/// dropped, so an output that never ends a line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Maximum size in bytes of one file line that is parsed. Runtimes write records of at most
/// 16 KiB of content plus framing. Only the head of a longer line is parsed, so a file without
/// newlines cannot exhaust memory.
const MAX_RECORD_LINE_BYTES: usize = MAX_LINE_BYTES + 4096;

/// Returns the part of a file line that is parsed, at most [`MAX_RECORD_LINE_BYTES`].
pub(super) fn cap_line(line: &[u8]) -> &[u8] {
    &line[..line.len().min(MAX_RECORD_LINE_BYTES)]
}

/// A logical line and the index of the record it started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedLine {
    pub line: LogLine,
    /// Index, as given to [`Merger::push`], of the line's first record.
    pub first_record: u64,
}

/// A logical line whose bytes borrow from the input when it was a single record, so that
/// readers that only print or count lines allocate nothing for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRef<'a> {
    /// Time of the line's first record.
    pub time: Timestamp,
    pub stream: Stream,
    /// Content bytes, at most [`MAX_LINE_BYTES`]; they may be invalid UTF-8.
    pub bytes: Cow<'a, [u8]>,
    /// True when the line ended without its final record.
    pub partial: bool,
    /// Index, as given to [`Merger::push_record`], of the line's first record.
    pub first_record: u64,
}

impl LineRef<'_> {
    /// Returns the text, decoded lossily. Valid UTF-8 is borrowed.
    pub fn text(&self) -> Cow<'_, str> {
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&self.bytes),
        }
    }

    /// Converts the line into the model's owned [`LogLine`].
    pub fn into_log_line(self) -> LogLine {
        let text = match self.bytes {
            Cow::Borrowed(bytes) => text_from_slice(bytes),
            Cow::Owned(bytes) => text_from_vec(bytes),
        };
        LogLine {
            time: Some(self.time),
            stream: self.stream,
            text,
            partial: self.partial,
        }
    }

    fn into_merged(self) -> MergedLine {
        let first_record = self.first_record;
        MergedLine {
            line: self.into_log_line(),
            first_record,
        }
    }
}

/// A receiver of decoded lines.
pub trait LineSink {
    fn line(&mut self, line: LineRef<'_>);

    /// Returns true when the sink takes no more lines, so a reader can stop early.
    fn stopped(&self) -> bool {
        false
    }
}

impl LineSink for Vec<LogLine> {
    fn line(&mut self, line: LineRef<'_>) {
        self.push(line.into_log_line());
    }
}

#[derive(Debug, Clone)]
struct Pending {
    time: Timestamp,
    bytes: Vec<u8>,
    first_record: u64,
}

/// Joins partial records of each stream until the record that completes them.
#[derive(Debug, Clone, Default)]
pub struct Merger {
    stdout: Option<Pending>,
    stderr: Option<Pending>,
}

impl Merger {
    /// Adds one record, whose position in the input is `index`, and returns the line it
    /// completes, if any.
    pub fn push(&mut self, record: &Record<'_>, index: u64) -> Option<MergedLine> {
        self.push_record(record.clone(), index)
            .map(LineRef::into_merged)
    }

    /// Adds one record like [`Merger::push`]. A line of a single record borrows its bytes.
    pub fn push_record<'r>(&mut self, record: Record<'r>, index: u64) -> Option<LineRef<'r>> {
        let slot = match record.stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };

        let Some(mut pending) = slot.take() else {
            if record.partial {
                *slot = Some(Pending {
                    time: record.time,
                    bytes: bounded(&record.content).to_vec(),
                    first_record: index,
                });
                return None;
            }
            return Some(LineRef {
                time: record.time,
                stream: record.stream,
                bytes: bounded_cow(record.content),
                partial: false,
                first_record: index,
            });
        };

        let room = MAX_LINE_BYTES.saturating_sub(pending.bytes.len());
        let take = record.content.len().min(room);
        pending.bytes.extend_from_slice(&record.content[..take]);
        if record.partial {
            *slot = Some(pending);
            return None;
        }
        Some(LineRef {
            time: pending.time,
            stream: record.stream,
            bytes: Cow::Owned(pending.bytes),
            partial: false,
            first_record: pending.first_record,
        })
    }

    /// Returns the chains that no final record closed, as partial lines, in the order they
    /// started, and empties the merger.
    pub fn finish(&mut self) -> Vec<MergedLine> {
        self.finish_records()
            .into_iter()
            .map(LineRef::into_merged)
            .collect()
    }

    fn finish_records(&mut self) -> Vec<LineRef<'static>> {
        let mut open: Vec<(Stream, Pending)> = [
            self.stdout.take().map(|pending| (Stream::Stdout, pending)),
            self.stderr.take().map(|pending| (Stream::Stderr, pending)),
        ]
        .into_iter()
        .flatten()
        .collect();
        open.sort_by_key(|(_, pending)| pending.first_record);

        open.into_iter()
            .map(|(stream, pending)| LineRef {
                time: pending.time,
                stream,
                bytes: Cow::Owned(pending.bytes),
                partial: true,
                first_record: pending.first_record,
            })
            .collect()
    }
}

fn bounded(content: &[u8]) -> &[u8] {
    &content[..content.len().min(MAX_LINE_BYTES)]
}

fn bounded_cow(content: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    match content {
        Cow::Borrowed(bytes) => Cow::Borrowed(bounded(bytes)),
        Cow::Owned(mut bytes) => {
            bytes.truncate(MAX_LINE_BYTES);
            Cow::Owned(bytes)
        }
    }
}

/// Decodes borrowed bytes lossily. Valid UTF-8 is checked first, because the standard
/// library's validator is much faster than its lossy decoder on the common all-valid line.
fn text_from_slice(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decodes owned bytes lossily, reusing the buffer when they are valid UTF-8.
fn text_from_vec(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// Counts of the lines of one file, for warnings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Lines that parsed as records.
    pub records: u64,
    /// Lines that did not parse and were skipped.
    pub invalid_lines: u64,
    /// One-based line number and reason of the first skipped line.
    pub first_invalid: Option<(u64, RecordError)>,
    /// Time of the last record.
    pub last_record_at: Option<Timestamp>,
}

impl FileStats {
    fn count_invalid(&mut self, line_number: u64, error: RecordError) {
        self.invalid_lines += 1;
        if self.first_invalid.is_none() {
            self.first_invalid = Some((line_number, error));
        }
    }
}

/// Decodes log bytes, fed in chunks of any size, into merged lines.
///
/// The lines are the same whatever the chunk sizes. Lines that are not records (a truncated
/// JSON object, binary garbage) are skipped and counted in [`FileStats`], as kubelet skips
/// them when it serves `kubectl logs`. The format is detected from the first record of each
/// file unless it is given.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    given_format: Option<LogFormat>,
    format: Option<LogFormat>,
    merger: Merger,
    remainder: Vec<u8>,
    records: u64,
    line_number: u64,
    stats: FileStats,
}

impl Decoder {
    /// Creates a decoder for one format, or for the format detected in each file when `None`.
    pub fn new(format: Option<LogFormat>) -> Self {
        Decoder {
            given_format: format,
            format,
            ..Decoder::default()
        }
    }

    /// Decodes the complete lines of `chunk` (and of the bytes kept from earlier chunks) and
    /// passes the lines they complete to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut impl LineSink) {
        let mut rest = chunk;
        if !self.remainder.is_empty() {
            let Some(newline) = memchr::memchr(b'\n', rest) else {
                self.keep_remainder(rest);
                return;
            };
            let mut line = std::mem::take(&mut self.remainder);
            line.extend_from_slice(&rest[..newline]);
            self.decode_line(&line, false, out);
            rest = &rest[newline + 1..];
        }

        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', rest) {
            self.decode_line(&rest[start..newline], false, out);
            start = newline + 1;
        }
        self.keep_remainder(&rest[start..]);
    }

    /// Ends one file of a rotated series: a last line without `\n` counts as complete, and
    /// partial records stay open for the next file. Returns the file's counts.
    pub fn end_file(&mut self, out: &mut impl LineSink) -> FileStats {
        let line = std::mem::take(&mut self.remainder);
        if !line.is_empty() {
            self.decode_line(&line, false, out);
        }
        self.format = self.given_format;
        self.line_number = 0;
        std::mem::take(&mut self.stats)
    }

    /// Ends the input: a last line without `\n` and chains no final record closed are
    /// returned with `partial` set. Returns the counts of the last file.
    pub fn finish(&mut self, out: &mut impl LineSink) -> FileStats {
        let line = std::mem::take(&mut self.remainder);
        if !line.is_empty() {
            self.decode_line(&line, true, out);
        }
        for line in self.merger.finish_records() {
            out.line(line);
        }
        self.format = self.given_format;
        self.line_number = 0;
        std::mem::take(&mut self.stats)
    }

    fn keep_remainder(&mut self, bytes: &[u8]) {
        let room = MAX_RECORD_LINE_BYTES.saturating_sub(self.remainder.len());
        self.remainder
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn decode_line(&mut self, line: &[u8], unterminated: bool, out: &mut impl LineSink) {
        self.line_number += 1;
        let line = cap_line(line);

        let record = match self.parse(line) {
            Ok(record) => record,
            Err(error) => {
                self.stats.count_invalid(self.line_number, error);
                return;
            }
        };
        self.stats.records += 1;
        self.stats.last_record_at = Some(record.time);

        let index = self.records;
        self.records += 1;
        if let Some(mut merged) = self.merger.push_record(record, index) {
            merged.partial |= unterminated;
            out.line(merged);
        }
    }

    fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Record<'a>, RecordError> {
        if let Some(format) = self.format {
            return format.parse(line);
        }
        let format = detect_format(line).ok_or(RecordError::Unrecognized)?;
        self.format = Some(format);
        format.parse(line)
    }
}

/// Decodes a whole in-memory log in one call.
pub fn decode_all(bytes: &[u8], format: Option<LogFormat>) -> (Vec<LogLine>, FileStats) {
    let mut decoder = Decoder::new(format);
    let mut lines = Vec::new();
    decoder.feed(bytes, &mut lines);
    let stats = decoder.finish(&mut lines);
    (lines, stats)
}
