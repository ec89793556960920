//! The files of one container instance, opened as one logical byte stream.
//!
//! An instance's output is spread over `N.log.<time>.gz` (older rotated files, gzipped by
//! kubelet), `N.log.<time>` (the newest rotated file, left uncompressed) and the live `N.log`.
//! Each file is a *segment*. Plain files stay on disk and are read by range, so a tail reads
//! only the end. Gzip files cannot be read backwards, so a gzip file is decompressed into
//! memory the first time a tail reaches it, and only its head is decompressed to detect its
//! format or find its first record. The memory stays small because kubelet rotates a log file
//! once it reaches `containerLogMaxSize` (10 MiB by default).

use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::Timestamp;

use crate::model::LogLine;

use super::Error;
use super::merge::{Decoder, FileStats, LineRef, LineSink};
use super::record::{LogFormat, detect_format};

/// Maximum size of a decompressed gzip log file. Kubelet rotates at 10 MiB by default, so a
/// larger file is unusual; the limit keeps a crafted gzip bomb from exhausting memory.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// Bytes read from the start of a file to detect its format.
const HEAD_BYTES: usize = 64 * 1024;

/// Bytes read per call when decoding a file forwards.
const CHUNK_BYTES: usize = 1 << 20;

/// One file of an instance's log.
#[derive(Debug)]
pub struct LogSegment {
    pub path: PathBuf,
    pub format: LogFormat,
    data: SegmentData,
}

#[derive(Debug)]
enum SegmentData {
    /// A plain file of this length when it was opened; it is read by range.
    File { len: u64 },
    /// A gzip file, decompressed on first use.
    Gzip(OnceLock<Decompressed>),
    /// Bytes given by a caller.
    Memory(Vec<u8>),
}

/// The outcome of decompressing a gzip segment, kept so that it happens once.
#[derive(Debug)]
enum Decompressed {
    Bytes(Vec<u8>),
    Failed(std::io::ErrorKind, String),
    TooLarge,
}

impl LogSegment {
    /// Creates a segment from bytes already in memory.
    pub fn from_bytes(path: PathBuf, format: LogFormat, bytes: Vec<u8>) -> Self {
        LogSegment {
            path,
            format,
            data: SegmentData::Memory(bytes),
        }
    }

    /// Returns the length in bytes, decompressing a gzip file.
    pub fn byte_len(&self) -> Result<u64, Error> {
        match &self.data {
            SegmentData::File { len } => Ok(*len),
            SegmentData::Gzip(cache) => Ok(self.gzip_bytes(cache)?.len() as u64),
            SegmentData::Memory(bytes) => Ok(bytes.len() as u64),
        }
    }

    /// Returns true when the segment can be read by range without decompressing anything.
    pub fn is_loaded(&self) -> bool {
        match &self.data {
            SegmentData::File { .. } | SegmentData::Memory(_) => true,
            SegmentData::Gzip(cache) => matches!(cache.get(), Some(Decompressed::Bytes(_))),
        }
    }

    /// Reads the bytes from `offset` to the end of the segment as it was when opened.
    pub fn read_from(&self, offset: u64) -> Result<Cow<'_, [u8]>, Error> {
        let bytes = match &self.data {
            SegmentData::File { len } => {
                let count = len.saturating_sub(offset);
                return read_range(&self.path, offset, count).map(Cow::Owned);
            }
            SegmentData::Gzip(cache) => self.gzip_bytes(cache)?,
            SegmentData::Memory(bytes) => bytes,
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        Ok(Cow::Borrowed(&bytes[start..]))
    }

    /// Reads at most `count` bytes from the start of the segment. A gzip file that was not
    /// decompressed yet is decompressed only that far.
    pub fn read_head(&self, count: usize) -> Result<Cow<'_, [u8]>, Error> {
        let bytes = match &self.data {
            SegmentData::File { len } => {
                return read_range(&self.path, 0, (*len).min(count as u64)).map(Cow::Owned);
            }
            SegmentData::Gzip(cache) => match cache.get() {
                Some(Decompressed::Bytes(bytes)) => bytes,
                _ => return decompress(&self.path, count as u64).map(Cow::Owned),
            },
            SegmentData::Memory(bytes) => bytes,
        };
        Ok(Cow::Borrowed(&bytes[..bytes.len().min(count)]))
    }

    /// Returns the whole decompressed content of a gzip segment, decompressing it once.
    fn gzip_bytes<'s>(&'s self, cache: &'s OnceLock<Decompressed>) -> Result<&'s [u8], Error> {
        let decompressed = cache.get_or_init(|| match decompress_all(&self.path) {
            Ok(bytes) => Decompressed::Bytes(bytes),
            Err(Error::TooLarge { .. }) => Decompressed::TooLarge,
            Err(Error::Gzip { source, .. }) => {
                Decompressed::Failed(source.kind(), source.to_string())
            }
            Err(other) => Decompressed::Failed(std::io::ErrorKind::Other, other.to_string()),
        });

        match decompressed {
            Decompressed::Bytes(bytes) => Ok(bytes),
            Decompressed::Failed(kind, message) => Err(Error::Gzip {
                path: self.path.clone(),
                source: std::io::Error::new(*kind, message.clone()),
            }),
            Decompressed::TooLarge => Err(Error::TooLarge {
                path: self.path.clone(),
                limit: MAX_DECOMPRESSED_BYTES,
            }),
        }
    }
}

/// The files of one instance, oldest first, the live `N.log` last.
#[derive(Debug, Default)]
pub struct InstanceLog {
    pub segments: Vec<LogSegment>,
}

/// An opened instance log and the files that could not be opened.
#[derive(Debug, Default)]
pub struct OpenedLog {
    pub log: InstanceLog,
    /// One error per file that was skipped, naming its path.
    pub problems: Vec<Error>,
}

impl InstanceLog {
    /// Opens the given files, which must already be in rotation order (see
    /// [`super::paths::order_log_files`]). Empty files are left out. A file that cannot be
    /// read, is not valid gzip or is not a log is left out and reported in
    /// [`OpenedLog::problems`].
    pub fn open(paths: &[PathBuf]) -> OpenedLog {
        let mut opened = OpenedLog::default();
        for path in paths {
            match open_segment(path) {
                Ok(Some(segment)) => opened.log.segments.push(segment),
                Ok(None) => {}
                Err(error) => opened.problems.push(error),
            }
        }
        opened
    }

    /// Returns the total length in bytes of all segments, decompressing gzip files.
    pub fn byte_len(&self) -> Result<u64, Error> {
        self.segments.iter().map(LogSegment::byte_len).sum()
    }

    /// Returns the time of the first record, reading only the start of the files.
    pub fn first_record_at(&self) -> Result<Option<Timestamp>, Error> {
        for segment in &self.segments {
            let head = segment.read_head(HEAD_BYTES)?;
            let first = head
                .split(|byte| *byte == b'\n')
                .find_map(|line| segment.format.parse(line).ok());
            if let Some(record) = first {
                return Ok(Some(record.time));
            }
        }
        Ok(None)
    }

    /// Decodes every file forwards and passes each line to `sink`, in order.
    ///
    /// An error from `sink` stops the decoding and is returned as [`Error::Io`]. A file that
    /// cannot be read is reported in [`DecodeReport::unreadable`] and the next file is read.
    pub fn decode(
        &self,
        sink: &mut dyn FnMut(LogLine) -> std::io::Result<()>,
    ) -> Result<DecodeReport, Error> {
        let mut forward = ForwardLines { sink, error: None };
        let report = self.decode_with(&mut forward);
        match forward.error {
            Some(error) => Err(Error::Io(error)),
            None => Ok(report),
        }
    }

    /// Decodes every file forwards into `sink`, which may borrow each line's bytes. Stops
    /// early when the sink reports [`LineSink::stopped`].
    pub fn decode_with(&self, sink: &mut impl LineSink) -> DecodeReport {
        let mut decoder = Decoder::new(None);
        let mut report = DecodeReport::default();
        let last = self.segments.len().saturating_sub(1);

        for (index, segment) in self.segments.iter().enumerate() {
            if let Err(error) = decode_segment(segment, &mut decoder, sink) {
                report.unreadable.push(error);
            }
            if sink.stopped() {
                break;
            }
            let file_stats = if index == last {
                decoder.finish(sink)
            } else {
                decoder.end_file(sink)
            };
            report.files.push((segment.path.clone(), file_stats));
        }
        report
    }
}

/// The findings of a forward decode of an instance's files, besides its lines.
#[derive(Debug, Default)]
pub struct DecodeReport {
    /// The counts of each file that was read, with its path.
    pub files: Vec<(PathBuf, FileStats)>,
    /// Files that failed part way or entirely, each error naming its path.
    pub unreadable: Vec<Error>,
}

/// Passes owned lines to a fallible callback and keeps its first error.
struct ForwardLines<'s> {
    sink: &'s mut dyn FnMut(LogLine) -> std::io::Result<()>,
    error: Option<std::io::Error>,
}

impl LineSink for ForwardLines<'_> {
    fn line(&mut self, line: LineRef<'_>) {
        if self.error.is_none()
            && let Err(error) = (self.sink)(line.into_log_line())
        {
            self.error = Some(error);
        }
    }

    fn stopped(&self) -> bool {
        self.error.is_some()
    }
}

fn decode_segment(
    segment: &LogSegment,
    decoder: &mut Decoder,
    sink: &mut impl LineSink,
) -> Result<(), Error> {
    match &segment.data {
        SegmentData::Memory(bytes) => feed_bytes(bytes, decoder, sink),
        SegmentData::Gzip(cache) => match cache.get() {
            Some(_) => feed_bytes(segment.gzip_bytes(cache)?, decoder, sink),
            None => {
                let reader = gzip_reader(&segment.path)?.take(MAX_DECOMPRESSED_BYTES);
                feed_reader(reader, decoder, sink).map_err(|source| Error::Gzip {
                    path: segment.path.clone(),
                    source,
                })?;
            }
        },
        SegmentData::File { len } => {
            let file = fs_err::File::open(&segment.path)?;
            feed_reader(file.take(*len), decoder, sink)?;
        }
    }
    Ok(())
}

fn feed_bytes(bytes: &[u8], decoder: &mut Decoder, sink: &mut impl LineSink) {
    for chunk in bytes.chunks(CHUNK_BYTES) {
        decoder.feed(chunk, sink);
        if sink.stopped() {
            break;
        }
    }
}

fn feed_reader(
    mut reader: impl Read,
    decoder: &mut Decoder,
    sink: &mut impl LineSink,
) -> std::io::Result<()> {
    let mut buffer = vec![0; CHUNK_BYTES];
    loop {
        let count = reader.read(&mut buffer)?;
        if count == 0 || sink.stopped() {
            return Ok(());
        }
        decoder.feed(&buffer[..count], sink);
    }
}

/// Opens one file; returns `None` for an empty file.
fn open_segment(path: &Path) -> Result<Option<LogSegment>, Error> {
    let metadata = fs_err::metadata(path)?;
    if metadata.is_dir() {
        return Err(Error::NotALog {
            path: path.to_path_buf(),
        });
    }

    let data = if is_gzip_name(path) {
        SegmentData::Gzip(OnceLock::new())
    } else {
        SegmentData::File {
            len: metadata.len(),
        }
    };
    let mut segment = LogSegment {
        path: path.to_path_buf(),
        format: LogFormat::Cri,
        data,
    };

    let head = segment.read_head(HEAD_BYTES)?;
    if head.is_empty() {
        return Ok(None);
    }
    let format = detect_format(&head).ok_or_else(|| Error::NotALog {
        path: path.to_path_buf(),
    })?;
    drop(head);
    segment.format = format;
    Ok(Some(segment))
}

fn is_gzip_name(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "gz")
}

fn gzip_reader(path: &Path) -> Result<impl Read, Error> {
    let file = fs_err::File::open(path)?;
    Ok(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
        file,
    )))
}

/// Decompresses at most `limit` bytes of a gzip file.
fn decompress(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    gzip_reader(path)?
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(bytes)
}

/// Decompresses a whole gzip file, up to [`MAX_DECOMPRESSED_BYTES`].
fn decompress_all(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = decompress(path, MAX_DECOMPRESSED_BYTES + 1)?;
    if bytes.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    Ok(bytes)
}

/// Reads up to `count` bytes at `offset`. A file that shrank since it was opened yields fewer.
fn read_range(path: &Path, offset: u64, count: u64) -> Result<Vec<u8>, Error> {
    let mut file = fs_err::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;

    let mut bytes = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    file.take(count).read_to_end(&mut bytes)?;
    Ok(bytes)
}
