//! Reading the last lines of an instance's log from the end, at a cost that grows with the
//! number of lines and not with the size of the files.
//!
//! The reader loads a region at the end of the instance's byte stream (the files in rotation
//! order), starting with one block of the newest file and doubling it, and parses that region
//! forwards. It enters an older file only once the newer ones are read whole, so an older
//! gzip file is decompressed only when its lines are needed. A region
//! that starts inside the stream may cut a P chain: the first record of each stream in the
//! region could continue a partial record before it. A line that starts with such a record is
//! *uncertain*. The region is large enough once the requested number of lines are all certain,
//! or once it reaches the start of the stream. Doubling keeps the total work within twice the
//! final region.

use jiff::Timestamp;

use crate::model::{LogLine, Stream};

use super::Error;
use super::merge::{MergedLine, Merger, cap_line};
use super::source::{InstanceLog, LogSegment};

/// Size of the first block read from the end; 64 KiB holds a few hundred typical lines.
pub const DEFAULT_BLOCK_BYTES: usize = 64 * 1024;

/// Options of a read from the end of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailOptions {
    /// Number of lines to return.
    pub lines: usize,
    /// Only count and return lines of this stream.
    pub stream: Option<Stream>,
    /// Size of the first block read from the end; any value above zero gives the same lines.
    pub block_bytes: usize,
}

impl TailOptions {
    pub fn new(lines: usize) -> Self {
        TailOptions {
            lines,
            stream: None,
            block_bytes: DEFAULT_BLOCK_BYTES,
        }
    }
}

/// The last lines of a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tail {
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
    /// True when the log contains more lines than `lines`.
    pub truncated: bool,
    /// Time of the last record of the log.
    pub last_record_at: Option<Timestamp>,
    /// Lines that were not records, in the part that was read, per file path.
    pub invalid_lines: Vec<(std::path::PathBuf, u64)>,
    /// Errors of files that could not be read, each naming its path. The tail stops at the
    /// newest such file.
    pub unreadable: Vec<String>,
}

/// Bytes searched before the region for the last record of a stream that the region does not
/// hold, to learn whether that stream ends in an unclosed P chain.
// NOTE: some unclosed chains are not seen, so their partial line is missing from the tail.
// That happens when more than this many bytes of the other stream alone follow the chain, or
// when the chain lies in a gzip file that the tail did not need. Finding it in every case would mean reading whole
// files for containers that write to one stream only.
pub const OPEN_CHAIN_LOOKBACK_BYTES: u64 = 1 << 20;

/// Maximum size of the region read from the end. A log whose last lines span more than this
/// (a P chain of hundreds of MiB) gets a tail whose first line may lack its head.
pub const MAX_REGION_BYTES: u64 = 256 << 20;

/// Returns the last lines of an instance's log.
///
/// A file that cannot be read (a damaged gzip file) ends the read at that file. The tail then
/// contains the lines of the newer files, `truncated` is set and the error is in
/// [`Tail::unreadable`].
pub fn tail(log: &InstanceLog, options: &TailOptions) -> Result<Tail, Error> {
    let mut segments = &log.segments[..];
    let mut unreadable = Vec::new();
    let mut want = options.block_bytes.max(1) as u64;
    let mut allowed = 1;
    loop {
        let region = match Region::load(segments, want, allowed) {
            Ok(region) => region,
            Err(failure) => {
                unreadable.push(failure.error.to_string());
                segments = segments.get(failure.segment + 1..).unwrap_or_default();
                continue;
            }
        };
        let parsed = region.parse(segments);
        let selection = Selection::new(&parsed, options);

        let capped = want >= MAX_REGION_BYTES;
        if !region.at_start && !selection.enough && !capped {
            if region.whole {
                allowed += 1;
            }
            want = want.saturating_mul(2);
            continue;
        }
        if !region.at_start
            && !capped
            && let Some(open) = find_open_chains(segments, &parsed, want, allowed)
        {
            want = open.distance.max(want.saturating_mul(2));
            allowed = allowed.max(open.segments);
            continue;
        }
        return Ok(Tail {
            lines: selection
                .kept
                .iter()
                .map(|(merged, _)| merged.line.clone())
                .collect(),
            truncated: !region.at_start || selection.dropped || !unreadable.is_empty(),
            last_record_at: parsed.last_record_at,
            invalid_lines: parsed.invalid_lines.clone(),
            unreadable,
        });
    }
}

/// The lines of a parsed region that a tail returns.
struct Selection<'a> {
    kept: Vec<&'a (MergedLine, bool)>,
    /// True when the region contains lines before the kept ones.
    dropped: bool,
    /// True when the kept lines are as many as requested and none of them is uncertain.
    enough: bool,
}

impl<'a> Selection<'a> {
    fn new(parsed: &'a ParsedRegion, options: &TailOptions) -> Self {
        let mut selected: Vec<&(MergedLine, bool)> = parsed
            .lines
            .iter()
            .filter(|(merged, _)| options.stream.is_none_or(|s| s == merged.line.stream))
            .collect();
        let keep_from = selected.len().saturating_sub(options.lines);
        let kept = selected.split_off(keep_from);
        let enough = kept.len() == options.lines && kept.iter().all(|(_, uncertain)| !uncertain);
        Selection {
            kept,
            dropped: keep_from > 0,
            enough,
        }
    }
}

/// The start of an unclosed chain, counted from the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OpenChain {
    /// Bytes from the start of the chain's first record to the end of the log.
    distance: u64,
    /// Number of newest segments that reach that record.
    segments: usize,
}

/// For each stream with no record in the region, looks for its last record before the region.
/// Returns the start of the farthest such record that is partial, because the chain it opens
/// is the stream's last line.
fn find_open_chains(
    segments: &[LogSegment],
    parsed: &ParsedRegion,
    want: u64,
    allowed: usize,
) -> Option<OpenChain> {
    [Stream::Stdout, Stream::Stderr]
        .into_iter()
        .filter(|stream| parsed.first_of_stream[stream_index(*stream)].is_none())
        .filter_map(|stream| find_last_partial(segments, stream, want, allowed))
        .max()
}

/// Finds the last record of `stream` within the lookback and returns its distance from the end
/// of the log when it is partial. Besides the `allowed` newest files that the tail already
/// read, the search enters older files only while they can be read by range, so it never
/// decompresses a gzip file for this.
fn find_last_partial(
    segments: &[LogSegment],
    stream: Stream,
    want: u64,
    allowed: usize,
) -> Option<OpenChain> {
    let cheap = segments
        .iter()
        .rev()
        .take_while(|segment| segment.is_loaded())
        .count();
    let lookback = want.saturating_add(OPEN_CHAIN_LOOKBACK_BYTES);
    let region = Region::load(segments, lookback, allowed.max(cheap)).ok()?;
    let mut after = 0u64;
    for (offset, piece) in region.pieces.iter().enumerate().rev() {
        let Some(segment) = segments.get(region.first + offset) else {
            continue;
        };
        if let Some(found) = last_record_of_stream(segment, &piece.bytes, piece.cut, stream) {
            return found.partial.then(|| OpenChain {
                distance: after + (piece.bytes.len() - found.line_start) as u64,
                segments: region.pieces.len() - offset,
            });
        }
        after += piece.bytes.len() as u64;
    }
    None
}

struct FoundRecord {
    line_start: usize,
    partial: bool,
}

/// Searches `bytes` backwards for the last line that is a record of `stream`, finding
/// candidates by the stream's name so that other lines are not parsed.
fn last_record_of_stream(
    segment: &LogSegment,
    bytes: &[u8],
    cut: bool,
    stream: Stream,
) -> Option<FoundRecord> {
    let name: &[u8] = match stream {
        Stream::Stdout => b"stdout",
        Stream::Stderr => b"stderr",
    };
    let finder = memchr::memmem::FinderRev::new(name);
    let mut end = bytes.len();
    while let Some(hit) = finder.rfind(&bytes[..end]) {
        let line_start = memchr::memrchr(b'\n', &bytes[..hit]).map_or(0, |newline| newline + 1);
        if cut && line_start == 0 {
            return None;
        }
        let line_end = memchr::memchr(b'\n', &bytes[hit..]).map_or(bytes.len(), |i| hit + i);
        let record = segment.format.parse(cap_line(&bytes[line_start..line_end]));
        if let Ok(record) = record
            && record.stream == stream
        {
            return Some(FoundRecord {
                line_start,
                partial: record.partial,
            });
        }
        if line_start == 0 {
            return None;
        }
        end = line_start - 1;
    }
    None
}

/// A segment that could not be read, by its index.
struct SegmentFailure {
    segment: usize,
    error: Error,
}

/// The end of the stream: for each segment from `first`, the bytes loaded.
struct Region<'a> {
    first: usize,
    pieces: Vec<Piece<'a>>,
    /// True when every allowed segment was loaded entirely.
    whole: bool,
    /// True when the region starts at the start of the stream.
    at_start: bool,
}

struct Piece<'a> {
    bytes: std::borrow::Cow<'a, [u8]>,
    /// True when the piece starts inside its segment, so its first line is cut.
    cut: bool,
}

struct ParsedRegion {
    lines: Vec<(MergedLine, bool)>,
    first_of_stream: [Option<u64>; 2],
    last_record_at: Option<Timestamp>,
    invalid_lines: Vec<(std::path::PathBuf, u64)>,
}

impl<'a> Region<'a> {
    /// Loads the last `want` bytes of the stream, from the newest `allowed` segments only, so
    /// that an older file (a gzip file to decompress) is touched only when the newer ones do
    /// not hold enough lines.
    fn load(segments: &'a [LogSegment], want: u64, allowed: usize) -> Result<Self, SegmentFailure> {
        let mut remaining = want;
        let mut pieces = Vec::new();
        let mut first = segments.len();
        let mut whole = true;
        let oldest_allowed = segments.len().saturating_sub(allowed);

        for (index, segment) in segments.iter().enumerate().rev().take(allowed) {
            if remaining == 0 {
                whole = false;
                break;
            }
            first = index;
            let failure = |error| SegmentFailure {
                segment: index,
                error,
            };
            let len = segment.byte_len().map_err(failure)?;
            if remaining >= len {
                pieces.push(Piece {
                    bytes: segment.read_from(0).map_err(failure)?,
                    cut: false,
                });
                remaining -= len;
                continue;
            }
            pieces.push(Piece {
                bytes: segment.read_from(len - remaining).map_err(failure)?,
                cut: true,
            });
            whole = false;
            break;
        }
        pieces.reverse();

        Ok(Region {
            first,
            pieces,
            whole,
            at_start: whole && oldest_allowed == 0,
        })
    }

    fn parse(&self, segments: &[LogSegment]) -> ParsedRegion {
        let mut walk = RegionWalk::default();
        let last_piece = self.pieces.len().saturating_sub(1);
        let mut invalid_lines = Vec::new();

        for (offset, piece) in self.pieces.iter().enumerate() {
            let Some(segment) = segments.get(self.first + offset) else {
                continue;
            };
            let invalid = walk.parse_piece(segment, piece, offset == last_piece);
            if invalid > 0 {
                invalid_lines.push((segment.path.clone(), invalid));
            }
        }

        let mut lines = walk.lines;
        for merged in walk.merger.finish() {
            let uncertain =
                walk.first_of_stream[stream_index(merged.line.stream)] == Some(merged.first_record);
            lines.push((merged, uncertain));
        }
        if self.at_start {
            lines
                .iter_mut()
                .for_each(|(_, uncertain)| *uncertain = false);
        }

        ParsedRegion {
            lines,
            first_of_stream: walk.first_of_stream,
            last_record_at: walk.last_record_at,
            invalid_lines,
        }
    }
}

#[derive(Default)]
struct RegionWalk {
    merger: Merger,
    records: u64,
    first_of_stream: [Option<u64>; 2],
    lines: Vec<(MergedLine, bool)>,
    last_record_at: Option<Timestamp>,
}

impl RegionWalk {
    /// Parses one piece and returns the number of lines that were not records.
    fn parse_piece(&mut self, segment: &LogSegment, piece: &Piece<'_>, last: bool) -> u64 {
        let mut bytes: &[u8] = &piece.bytes;
        if piece.cut {
            let Some(newline) = memchr::memchr(b'\n', bytes) else {
                return 0;
            };
            bytes = &bytes[newline + 1..];
        }

        let mut invalid = 0;
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', bytes) {
            invalid += u64::from(!self.parse_line(segment, &bytes[start..newline], false));
            start = newline + 1;
        }
        if start < bytes.len() {
            invalid += u64::from(!self.parse_line(segment, &bytes[start..], last));
        }
        invalid
    }

    /// Parses one line and returns false when it is not a record.
    fn parse_line(&mut self, segment: &LogSegment, line: &[u8], unterminated: bool) -> bool {
        let Ok(record) = segment.format.parse(cap_line(line)) else {
            return false;
        };
        self.last_record_at = Some(record.time);

        let index = self.records;
        self.records += 1;
        let first = &mut self.first_of_stream[stream_index(record.stream)];
        let first = *first.get_or_insert(index);

        if let Some(mut merged) = self.merger.push(&record, index) {
            merged.line.partial |= unterminated;
            let uncertain = merged.first_record == first;
            self.lines.push((merged, uncertain));
        }
        true
    }
}

fn stream_index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}
