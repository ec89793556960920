//! Rendering of records as a table, a wide table, JSON or YAML, and as the per-instance
//! details of `podmortem show`.
//!
//! Names, messages, summaries and log lines come from the cluster and the containers, so they
//! are untrusted: the text formats escape control characters and bidirectional-override
//! characters (which could move the cursor, recolor the terminal or reorder what a reader
//! sees) and cut long values. JSON and YAML carry the values unchanged, because their
//! encoders already quote every byte. No color is used, so `NO_COLOR` needs no handling.
//!
//! Column widths count characters, not terminal cells, so East Asian wide characters and
//! emoji make a row wider than its header.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::{SignedDuration, Timestamp};

use crate::model::{EventRecord, LogLine, LogSource, Stream, Termination};

/// Output formats of `list` and `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns, one exit per line.
    Table,
    /// The table with node, container kind, owner, reason, log source and the full summary.
    Wide,
    /// A pretty-printed JSON array of records.
    Json,
    /// A YAML sequence of records.
    Yaml,
}

/// Maximum characters of a summary in the table format.
const SUMMARY_WIDTH: usize = 60;

/// Maximum characters of a name or reason in the tables: 253, the maximum length of a
/// DNS-1123 subdomain and so of most Kubernetes object names. Records read from files are not
/// validated, so longer values are cut.
const NAME_WIDTH: usize = 253;

/// Maximum characters of one log line, message or event message in `show`; the rest is cut.
const DETAIL_TEXT_WIDTH: usize = 2048;

/// Message printed to stderr when a table has no rows.
pub const NO_EXITS: &str = "No exits found.";

/// Writes `records` to `out` in `format`. For an empty list the table formats write nothing
/// to `out` and print [`NO_EXITS`] to stderr, and JSON and YAML write an empty array.
pub fn write_records(
    out: &mut dyn Write,
    records: &[Termination],
    format: OutputFormat,
) -> io::Result<()> {
    match format {
        OutputFormat::Table | OutputFormat::Wide if records.is_empty() => {
            eprintln!("{NO_EXITS}");
            Ok(())
        }
        OutputFormat::Table => write_table(out, &table_rows(records, false)),
        OutputFormat::Wide => write_table(out, &table_rows(records, true)),
        OutputFormat::Json => write_json(out, records),
        OutputFormat::Yaml => write_yaml(out, records),
    }
}

fn write_json(out: &mut dyn Write, records: &[Termination]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, records)?;
    writeln!(out)
}

/// Renders the YAML in memory first, so a write error (a closed pipe) reaches the caller as
/// the `io::Error` it is rather than wrapped in a serializer error.
fn write_yaml(out: &mut dyn Write, records: &[Termination]) -> io::Result<()> {
    let text = serde_yaml_ng::to_string(records).map_err(io::Error::other)?;
    out.write_all(text.as_bytes())
}

/// Returns the header and one row of cells per record.
fn table_rows(records: &[Termination], wide: bool) -> Vec<Vec<String>> {
    let mut header = vec![
        "NAMESPACE",
        "POD",
        "CONTAINER",
        "RESTART",
        "EXIT",
        "CAUSE",
        "FINISHED",
    ];
    if wide {
        header.extend(["NODE", "KIND", "OWNER", "REASON", "LOG SOURCE"]);
    }
    header.push("SUMMARY");

    let mut rows = vec![header.into_iter().map(String::from).collect()];
    rows.extend(records.iter().map(|record| table_row(record, wide)));
    rows
}

fn table_row(record: &Termination, wide: bool) -> Vec<String> {
    let mut row = vec![
        cut(&record.namespace, NAME_WIDTH),
        cut(&record.pod, NAME_WIDTH),
        cut(&record.container, NAME_WIDTH),
        record.restart_count.to_string(),
        exit_text(record),
        cause_text(record),
        record
            .finished_at
            .map_or_else(|| "-".to_owned(), format_time),
    ];
    if wide {
        row.push(optional(record.node.as_deref()));
        row.push(kind_name(record).to_owned());
        row.push(cut(&owner_text(record), NAME_WIDTH));
        row.push(optional(record.reason.as_deref()));
        row.push(record.log_source.map_or("-", log_source_name).to_owned());
        row.push(summary_or_dash(&record.cause.summary, usize::MAX));
    } else {
        row.push(summary_or_dash(&record.cause.summary, SUMMARY_WIDTH));
    }
    row
}

/// Writes rows as columns separated by three spaces, like kubectl, with no trailing spaces.
fn write_table(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();

    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column + 1 == row.len() {
                line.push_str(cell);
                break;
            }
            let width = widths.get(column).copied().unwrap_or(0);
            let padding = width.saturating_sub(cell.chars().count());
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', padding + 3));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes the details of each record for `podmortem show`, in the order given, with a
/// heading each time the pod changes.
pub fn write_details(out: &mut dyn Write, records: &[Termination]) -> io::Result<()> {
    let mut text = String::new();
    let mut previous_pod: Option<(&str, &str)> = None;
    for record in records {
        let pod = (record.namespace.as_str(), record.pod.as_str());
        if previous_pod != Some(pod) {
            if previous_pod.is_some() {
                text.push('\n');
            }
            pod_heading(&mut text, record);
            previous_pod = Some(pod);
        }
        text.push('\n');
        instance_details(&mut text, record);
    }
    out.write_all(text.as_bytes())
}

// Writing to a `String` cannot fail, so the `fmt::Result`s below are ignored on purpose.

fn pod_heading(text: &mut String, record: &Termination) {
    let _ = write!(
        text,
        "Pod {}/{}",
        escape(&record.namespace),
        escape(&record.pod)
    );
    if let Some(owner) = &record.owner {
        let _ = write!(
            text,
            ", owned by {}/{}",
            escape(&owner.kind),
            escape(&owner.name)
        );
    }
    if let Some(cluster) = &record.cluster {
        let _ = write!(text, ", cluster {}", escape(cluster));
    }
    text.push('\n');
}

fn instance_details(text: &mut String, record: &Termination) {
    instance_header(text, record);
    if !record.cause.summary.is_empty() {
        let _ = writeln!(text, "  {}", cut(&record.cause.summary, DETAIL_TEXT_WIDTH));
    }
    evidence(text, record);
    exit_fields(text, record);
    times(text, record);
    events(text, &record.events);
    log_tail(text, record);
}

fn instance_header(text: &mut String, record: &Termination) {
    let _ = writeln!(
        text,
        "Container {} ({}), restart {}: exit {}, {}",
        escape(&record.container),
        kind_name(record),
        record.restart_count,
        exit_text(record),
        cause_text(record),
    );
}

fn evidence(text: &mut String, record: &Termination) {
    if record.cause.evidence.is_empty() {
        return;
    }
    text.push_str("  Evidence:\n");
    for fact in &record.cause.evidence {
        let _ = writeln!(text, "    - {}", cut(fact, DETAIL_TEXT_WIDTH));
    }
}

fn exit_fields(text: &mut String, record: &Termination) {
    let fields = [
        ("Reason", record.reason.as_deref()),
        ("Message", record.message.as_deref()),
        ("Pod reason", record.pod_reason.as_deref()),
        ("Pod message", record.pod_message.as_deref()),
        ("Node", record.node.as_deref()),
        ("Image", record.image.as_deref()),
        ("Container ID", record.container_id.as_deref()),
    ];
    for (label, value) in fields {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            let label = format!("{label}:");
            let _ = writeln!(text, "  {label:<14}{}", cut(value, DETAIL_TEXT_WIDTH));
        }
    }
}

fn times(text: &mut String, record: &Termination) {
    let started = record
        .started_at
        .map_or_else(|| "-".to_owned(), format_time);
    let finished = record
        .finished_at
        .map_or_else(|| "-".to_owned(), format_time);
    let _ = write!(
        text,
        "  {:<14}{started}\n  {:<14}{finished}",
        "Started:", "Finished:"
    );
    if let (Some(start), Some(finish)) = (record.started_at, record.finished_at) {
        // A finish before the start is a clock or parsing problem, with no run time to show.
        if finish >= start {
            let _ = write!(
                text,
                " (ran {})",
                format_duration(finish.duration_since(start), 3)
            );
        }
    }
    let _ = writeln!(
        text,
        "\n  {:<14}{}",
        "Observed:",
        format_time(record.observed_at)
    );

    if record.missed_before > 0 {
        let _ = writeln!(
            text,
            "  {} earlier restart(s) happened while nobody watched, with no details",
            record.missed_before
        );
    }
}

fn events(text: &mut String, events: &[EventRecord]) {
    if events.is_empty() {
        return;
    }
    text.push_str("  Events:\n");
    for event in events {
        let event_type = escape(&event.event_type);
        let _ = write!(text, "    {event_type:<7} {}", escape(&event.reason));
        if event.count > 1 {
            let _ = write!(text, " x{}", event.count);
            if let (Some(first), Some(last)) = (event.first_seen, event.last_seen) {
                let _ = write!(
                    text,
                    " over {}",
                    format_duration(last.duration_since(first), 2)
                );
            }
        }
        if let Some(seen) = event.last_seen.or(event.first_seen) {
            let _ = write!(text, " (last {})", format_time(seen));
        }
        if event.inferred {
            text.push_str(" (matched by node and time)");
        }
        let _ = writeln!(text, ": {}", cut(&event.message, DETAIL_TEXT_WIDTH));
    }
}

fn log_tail(text: &mut String, record: &Termination) {
    if record.log_tail.is_empty() {
        text.push_str("  Log: none recorded\n");
        return;
    }

    let source = record
        .log_source
        .map_or("unknown source", log_source_description);
    let extent = if record.log_truncated {
        ", the end of a longer output"
    } else {
        ""
    };
    let _ = writeln!(
        text,
        "  Log: last {} line(s) from {source}{extent} (E marks stderr, > the key line):",
        record.log_tail.len()
    );

    let key = key_line_index(record);
    for (index, line) in record.log_tail.iter().enumerate() {
        log_line(text, line, key == Some(index));
    }
}

fn log_line(text: &mut String, line: &LogLine, is_key: bool) {
    let mark = if is_key { '>' } else { ' ' };
    let stream = match line.stream {
        Stream::Stderr => 'E',
        Stream::Stdout => ' ',
    };
    let time = line.time.map_or_else(|| "-".to_owned(), format_log_time);
    let partial = if line.partial { " (incomplete)" } else { "" };
    let _ = writeln!(
        text,
        "  {mark}{stream} {time}  {}{partial}",
        cut(&line.text, DETAIL_TEXT_WIDTH)
    );
}

/// Returns the index of the last log line that contains the cause's key line.
fn key_line_index(record: &Termination) -> Option<usize> {
    let key = record.cause.key_line.as_deref()?.trim();
    if key.is_empty() {
        return None;
    }
    record
        .log_tail
        .iter()
        .rposition(|line| line.text.contains(key))
}

fn exit_text(record: &Termination) -> String {
    let Some(code) = record.exit_code else {
        return "-".to_owned();
    };
    let signal = record
        .signal
        .as_deref()
        .filter(|signal| !signal.is_empty())
        .map(|signal| escape(signal).into_owned());
    match signal {
        Some(signal) => format!("{code} ({signal})"),
        None => code.to_string(),
    }
}

fn cause_text(record: &Termination) -> String {
    let kind = record.cause.kind.as_str();
    if record.cause.expected {
        format!("{kind} (expected)")
    } else {
        kind.to_owned()
    }
}

fn kind_name(record: &Termination) -> &'static str {
    match record.container_kind {
        crate::model::ContainerKind::Regular => "regular",
        crate::model::ContainerKind::Init => "init",
        crate::model::ContainerKind::Sidecar => "sidecar",
        crate::model::ContainerKind::Ephemeral => "ephemeral",
    }
}

fn owner_text(record: &Termination) -> String {
    match &record.owner {
        Some(owner) => format!("{}/{}", escape(&owner.kind), escape(&owner.name)),
        None => "-".to_owned(),
    }
}

fn log_source_name(source: LogSource) -> &'static str {
    match source {
        LogSource::ApiPrevious => "api_previous",
        LogSource::ApiCurrent => "api_current",
        LogSource::NodeFile => "node_file",
        LogSource::TerminationMessage => "termination_message",
    }
}

fn log_source_description(source: LogSource) -> &'static str {
    match source {
        LogSource::ApiPrevious => "the API (previous instance)",
        LogSource::ApiCurrent => "the API (current instance)",
        LogSource::NodeFile => "the node's log file",
        LogSource::TerminationMessage => "the termination message",
    }
}

fn optional(value: Option<&str>) -> String {
    match value.filter(|value| !value.is_empty()) {
        Some(value) => cut(value, NAME_WIDTH),
        None => "-".to_owned(),
    }
}

fn summary_or_dash(summary: &str, width: usize) -> String {
    if summary.is_empty() {
        return "-".to_owned();
    }
    cut(summary, width)
}

/// Escapes `text` and cuts it to `width` characters, ending with `…` when cut. The width
/// counts the escaped characters, so an escape is never split.
fn cut(text: &str, width: usize) -> String {
    let escaped = escape(text);
    if escaped.chars().count() <= width {
        return escaped.into_owned();
    }
    let mut kept: String = escaped.chars().take(width.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

/// Replaces control characters and bidirectional controls with visible escapes (`\n`,
/// `\u{1b}`), so untrusted text stays on its line and cannot drive the terminal.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }

    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        match character {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            _ if needs_escape(character) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(character));
            }
            _ => escaped.push(character),
        }
    }
    Cow::Owned(escaped)
}

/// Returns true for C0 and C1 controls, DEL, and the Unicode bidirectional formatting
/// characters (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069).
fn needs_escape(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Formats a time in UTC as `2024-02-07 15:15:11`.
pub fn format_time(time: Timestamp) -> String {
    time.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn format_log_time(time: Timestamp) -> String {
    time.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// Formats a duration in at most `units` units, largest first: `38m` and `2d3h` with 2,
/// `4h27m22s` with 3. Zero units are left out, and negative durations print as `0s`.
pub fn format_duration(duration: SignedDuration, units: usize) -> String {
    let total = duration.as_secs().max(0);
    let days = total / 86_400;
    let hours = total % 86_400 / 3_600;
    let minutes = total % 3_600 / 60;
    let seconds = total % 60;

    let parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")];
    let Some(first) = parts.iter().position(|(value, _)| *value > 0) else {
        return "0s".to_owned();
    };

    let mut text = String::new();
    for (value, unit) in parts.iter().skip(first).take(units) {
        if *value > 0 {
            let _ = write!(text, "{value}{unit}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_plain_text_borrowed() {
        assert!(matches!(escape("api-7d9f8c6b5d"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_control_and_bidi_characters() {
        let cases = [
            ("a\nb", "a\\nb"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            ("tab\there", "tab\\there"),
            ("\u{202e}txt.exe", "\\u{202e}txt.exe"),
            ("nul\0", "nul\\u{0}"),
            ("del\u{7f}", "del\\u{7f}"),
            ("c1\u{9b}", "c1\\u{9b}"),
            ("ünïcode ok", "ünïcode ok"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn cut_adds_ellipsis_only_when_needed() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("exactly10!", 10), "exactly10!");
        assert_eq!(cut("longer than ten", 10), "longer th…");
    }

    /// The EXIT column names a signal only when the record has one, so kubelet's placeholder
    /// 137 (no signal) does not read as an observed SIGKILL.
    #[test]
    fn exit_column_shows_recorded_signal_only() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/cases/01-oomkilled-memory-limit.json"
        );
        let pod = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let mut record = crate::detect::detect_pod(&pod).remove(0);
        assert_eq!(exit_text(&record), "137 (SIGKILL)");

        record.signal = None;
        assert_eq!(exit_text(&record), "137");

        record.exit_code = None;
        assert_eq!(exit_text(&record), "-");
    }

    #[test]
    fn durations_use_largest_units() {
        let cases = [
            (0, 2, "0s"),
            (-5, 2, "0s"),
            (12, 2, "12s"),
            (38 * 60, 2, "38m"),
            (38 * 60 + 5, 2, "38m5s"),
            (4 * 3600 + 27 * 60 + 22, 2, "4h27m"),
            (4 * 3600 + 27 * 60 + 22, 3, "4h27m22s"),
            (2 * 86_400 + 3 * 3600 + 59, 2, "2d3h"),
            (86_400 + 30, 2, "1d"),
        ];
        for (seconds, units, expected) in cases {
            let duration = SignedDuration::from_secs(seconds);
            assert_eq!(
                format_duration(duration, units),
                expected,
                "{seconds}s in {units}"
            );
        }
    }

    #[test]
    fn times_print_in_utc() {
        let time: Timestamp = "2024-02-07T10:15:11-05:00".parse().unwrap();
        assert_eq!(format_time(time), "2024-02-07 15:15:11");
    }
}
