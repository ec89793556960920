//! Tables of real and awkward inputs shared by every parser, and property tests of the
//! parsers, the merger and the reader from the end.

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::model::Stream;

/// What one line should parse to in each format; `None` means the parser must reject it.
struct Case {
    line: &'static [u8],
    cri: Option<(Stream, bool, &'static [u8])>,
    docker: Option<(Stream, bool, &'static [u8])>,
    detected: Option<LogFormat>,
}

const fn cri(line: &'static [u8], stream: Stream, partial: bool, content: &'static [u8]) -> Case {
    Case {
        line,
        cri: Some((stream, partial, content)),
        docker: None,
        detected: Some(LogFormat::Cri),
    }
}

const fn docker(
    line: &'static [u8],
    stream: Stream,
    partial: bool,
    content: &'static [u8],
) -> Case {
    Case {
        line,
        cri: None,
        docker: Some((stream, partial, content)),
        detected: Some(LogFormat::Docker),
    }
}

const fn invalid(line: &'static [u8]) -> Case {
    Case {
        line,
        cri: None,
        docker: None,
        detected: None,
    }
}

const CASES: &[Case] = &[
    cri(b"2024-03-01T10:00:00.000000001Z stdout F starting app", Stream::Stdout, false, b"starting app"),
    cri(b"2025-06-25T23:00:18.315839225+00:00 stderr P I0625 23:00", Stream::Stderr, true, b"I0625 23:00"),
    cri(b"2024-03-01T10:00:03.000000000Z stdout F ", Stream::Stdout, false, b""),
    cri(b"2024-03-01T10:00:04.000050000Z stderr F \t/src/cart.go:42", Stream::Stderr, false, b"\t/src/cart.go:42"),
    cri(b"2024-03-01T10:00:04Z stdout F  two spaces", Stream::Stdout, false, b" two spaces"),
    cri(b"2024-03-01T10:00:04.5Z stdout F:x extra tag part", Stream::Stdout, false, b"extra tag part"),
    cri(b"2024-03-01T10:00:04Z stdout F raw \xd4\xed\xab\xee\xdb\x03\x00 end", Stream::Stdout, false, b"raw \xd4\xed\xab\xee\xdb\x03\x00 end"),
    cri(b"2024-03-01T10:00:04Z stdout F {\"log\":\"not docker\"}", Stream::Stdout, false, b"{\"log\":\"not docker\"}"),
    docker(br#"{"log":"hello\n","stream":"stdout","time":"2024-03-01T10:00:00.123Z"}"#, Stream::Stdout, false, b"hello"),
    docker(br#"{"log":"part","stream":"stderr","time":"2024-03-01T10:00:00Z"}"#, Stream::Stderr, true, b"part"),
    docker(br#"{"time":"2024-03-01T10:00:00Z","stream":"stdout","log":"tab\tquote\" \u00e9\n","attrs":{}}"#, Stream::Stdout, false, "tab\tquote\" é".as_bytes()),
    docker(br#"{"log":"\n","stream":"stdout","time":"2024-03-01T10:00:00Z"}"#, Stream::Stdout, false, b""),
    docker(b"{\"log\":\"bad \xff byte\\n\",\"stream\":\"stdout\",\"time\":\"2024-03-01T10:00:00Z\"}", Stream::Stdout, false, "bad \u{fffd} byte".as_bytes()),
    invalid(b""),
    invalid(b"2024-03-01T10:00:00Z"),
    invalid(b"2024-03-01T10:00:00Z stdout"),
    invalid(b"2024-03-01T10:00:00Z stdout F"),
    invalid(b"2024-03-01T10:00:00Z stdin F text"),
    invalid(b"2024-03-01T10:00:00Z stdout X text"),
    invalid(b"2024-03-01 10:00:00Z stdout F text"),
    invalid(b"not a log line"),
    invalid(b"\x00\x01\x02\xff\xfe"),
    invalid(br#"{"log":"truncated\n","stream":"stdo"#),
    invalid(br#"{"log":"x\n","stream":"stdin","time":"2024-03-01T10:00:00Z"}"#),
    invalid(br#"{"log":"x\n","stream":"stdout","time":"yesterday"}"#),
    invalid(br#"{"log":"x\n","stream":"stdout"}"#),
];

#[test]
fn cri_parser_matches_table() {
    for case in CASES {
        let parsed = parse_cri_line(case.line).ok();
        let got = parsed
            .as_ref()
            .map(|r| (r.stream, r.partial, r.content.as_ref()));
        assert_eq!(got, case.cri, "{}", case.line.escape_ascii());
    }
}

#[test]
fn docker_parser_matches_table() {
    for case in CASES {
        let parsed = parse_docker_line(case.line).ok();
        let got = parsed
            .as_ref()
            .map(|r| (r.stream, r.partial, r.content.as_ref()));
        assert_eq!(got, case.docker, "{}", case.line.escape_ascii());
    }
}

#[test]
fn detector_matches_table() {
    for case in CASES {
        assert_eq!(
            detect_format(case.line),
            case.detected,
            "{}",
            case.line.escape_ascii()
        );
    }
}

#[test]
fn detector_skips_leading_garbage() {
    let head = b"garbage\n\n2024-03-01T10:00:00Z stdout F ok\n";
    assert_eq!(detect_format(head), Some(LogFormat::Cri));
}

#[test]
fn cri_timestamp_offsets_are_equal() {
    let containerd = parse_cri_line(b"2024-03-01T10:00:00.5Z stdout F a").unwrap();
    let crio = parse_cri_line(b"2024-03-01T11:00:00.5+01:00 stdout F a").unwrap();
    assert_eq!(containerd.time, crio.time);
}

fn cri_file(lines: &[&str]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    bytes
}

#[test]
fn merger_keeps_streams_apart() {
    let file = cri_file(&[
        "2024-03-01T10:00:00Z stderr P ERROR ",
        "2024-03-01T10:00:01Z stdout F heartbeat ok",
        "2024-03-01T10:00:02Z stderr F status=503",
    ]);
    let (lines, _) = decode_all(&file, None);

    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].text, "heartbeat ok");
    assert_eq!(lines[1].text, "ERROR status=503");
    assert_eq!(lines[1].stream, Stream::Stderr);
    assert_eq!(lines[1].time, "2024-03-01T10:00:00Z".parse().ok());
}

#[test]
fn merger_joins_split_character() {
    let mut file = b"2024-03-01T10:00:00Z stdout P caf\xc3\n".to_vec();
    file.extend_from_slice(b"2024-03-01T10:00:00Z stdout F \xa9!\n");
    let (lines, _) = decode_all(&file, None);

    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].text, "café!");
}

#[test]
fn unterminated_last_record_is_partial() {
    let file = b"2024-03-01T10:00:00Z stdout F one\n2024-03-01T10:00:01Z stdout F tw";
    let (lines, stats) = decode_all(file, None);

    assert_eq!(lines.len(), 2);
    assert!(!lines[0].partial);
    assert!(lines[1].partial);
    assert_eq!(lines[1].text, "tw");
    assert_eq!(stats.invalid_lines, 0);
}

#[test]
fn unclosed_chain_is_partial() {
    let file = cri_file(&[
        "2024-03-01T10:00:00Z stdout P never ",
        "2024-03-01T10:00:01Z stderr F x",
    ]);
    let (lines, _) = decode_all(&file, None);

    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1].text, "never ");
    assert!(lines[1].partial);
}

#[test]
fn truncated_docker_line_is_skipped() {
    let file =
        b"{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"2024-03-01T10:00:00Z\"}\n{\"log\":\"b";
    let (lines, stats) = decode_all(file, None);

    assert_eq!(lines.len(), 1);
    assert_eq!(stats.invalid_lines, 1);
    assert_eq!(stats.first_invalid, Some((2, RecordError::Json)));
}

#[test]
fn docker_partials_are_joined() {
    let file = concat!(
        r#"{"log":"first half ","stream":"stdout","time":"2024-03-01T10:00:00Z"}"#,
        "\n",
        r#"{"log":"second half\n","stream":"stdout","time":"2024-03-01T10:00:01Z"}"#,
        "\n"
    );
    let (lines, _) = decode_all(file.as_bytes(), None);

    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].text, "first half second half");
}

#[test]
fn long_chain_is_bounded() {
    let content = "x".repeat(16 * 1024);
    let record = format!("2024-03-01T10:00:00Z stdout P {content}\n");
    let file = record.repeat(MAX_LINE_BYTES / content.len() + 3);
    let (lines, _) = decode_all(file.as_bytes(), None);

    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].text.len(), MAX_LINE_BYTES);
}

#[test]
fn fallback_keeps_last_records_and_bytes() {
    let mut lines = Vec::new();
    for index in 0..100 {
        lines.push(format!("2024-03-01T10:00:00Z stdout F line {index}"));
    }
    lines.push("2024-03-01T10:00:00Z stderr P part ".to_owned());
    lines.push("2024-03-01T10:00:00Z stderr F end".to_owned());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let message = fallback_to_logs_message(&cri_file(&refs));
    let text = String::from_utf8(message).unwrap();

    assert!(text.starts_with("line 22\n"), "{text}");
    assert!(text.ends_with("line 99\npart end\n"));
}

#[test]
fn fallback_cuts_to_last_bytes() {
    let long = "y".repeat(3000);
    let file = cri_file(&[&format!("2024-03-01T10:00:00Z stdout F {long}")]);
    let message = fallback_to_logs_message(&file);

    assert_eq!(message.len(), FALLBACK_BYTES);
    assert_eq!(message.last(), Some(&b'\n'));
}

#[test]
fn fallback_of_empty_file_is_empty() {
    assert!(fallback_to_logs_message(b"").is_empty());
}

#[test]
fn log_file_names_parse() {
    type Parts = (u32, Option<u64>, bool);
    let table: &[(&str, Option<Parts>)] = &[
        ("0.log", Some((0, None, false))),
        ("12.log", Some((12, None, false))),
        (
            "0.log.20250626-113023",
            Some((0, Some(20250626113023), false)),
        ),
        (
            "0.log.20250626-101500.gz",
            Some((0, Some(20250626101500), true)),
        ),
        ("0.log.gz", None),
        ("0.log.20250626-1015", None),
        ("0.log.20250626-101500.tmp", None),
        ("x.log", None),
        (".log", None),
        ("0.logs", None),
        ("99999999999.log", None),
    ];
    for (name, expected) in table {
        let got = parse_log_file_name(name).map(|n| (n.restart_count, n.rotated_at, n.compressed));
        assert_eq!(got, *expected, "{name}");
    }
}

#[test]
fn legacy_file_names_parse() {
    let parsed = parse_legacy_log_file_name("app_3.log").unwrap();
    assert_eq!(parsed.0, "app");
    assert_eq!(parsed.1.restart_count, 3);
    assert!(parse_legacy_log_file_name("3.log").is_none());
    assert!(parse_legacy_log_file_name("app_x.log").is_none());
}

#[test]
fn pod_dir_names_parse() {
    let new = parse_pod_dir_name("shop_app-1-6d4cf56db6-abcde_47f1c77c").unwrap();
    assert_eq!(new.namespace.as_deref(), Some("shop"));
    assert_eq!(new.pod.as_deref(), Some("app-1-6d4cf56db6-abcde"));
    assert_eq!(new.pod_uid, "47f1c77c");

    let old = parse_pod_dir_name("47f1c77c-3904").unwrap();
    assert_eq!(old.namespace, None);
    assert_eq!(old.pod_uid, "47f1c77c-3904");

    assert_eq!(parse_pod_dir_name("ns__uid"), None);
    assert_eq!(parse_pod_dir_name("_pod_uid"), None);
    assert_eq!(parse_pod_dir_name(""), None);
}

#[test]
fn rotation_order_uses_name_time() {
    let mut paths: Vec<PathBuf> = [
        "0.log",
        "0.log.20250626-113023",
        "0.log.20250626-101500.gz",
        "0.log.20250625-235959.gz",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    order_log_files(&mut paths);

    let names: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "0.log.20250625-235959.gz",
            "0.log.20250626-101500.gz",
            "0.log.20250626-113023",
            "0.log"
        ]
    );
}

#[test]
fn container_link_targets_resolve() {
    let id = "8aa77ed2fe5d830b03c28d252c3aa87300a5a5d23c7bf5df70ab0758a5ea67c2";
    let name = format!("web-0_shop_app-{id}.log");
    assert_eq!(parse_container_link_name(&name), Some(id));
    assert_eq!(parse_container_link_name("web-0_shop_app.log"), None);

    let links = std::path::Path::new("var/log/containers");
    let absolute = resolve_link_target(links, "/var/log/pods/shop_web-0_u1/app/2.log".as_ref());
    let relative = resolve_link_target(links, "../pods/shop_web-0_u1/app/2.log".as_ref());
    assert_eq!(absolute, relative);
    let parsed = parse_pod_log_path(&absolute.unwrap());
    assert_eq!(parsed, Some(("u1".to_owned(), "app".to_owned(), 2)));

    let escaping = resolve_link_target(links, "../../../../../etc/passwd".as_ref());
    assert_eq!(escaping, None);
}

#[test]
fn message_file_names() {
    assert!(is_message_file_name("3f9a1c07"));
    assert!(!is_message_file_name("3F9A1C07"));
    assert!(!is_message_file_name("3f9a1c0"));
    assert!(!is_message_file_name("etc-hosts"));
}

fn message_file(second: i64) -> MessageFile {
    MessageFile {
        path: PathBuf::from(format!("{second:08x}")),
        modified: jiff::Timestamp::from_second(second).unwrap(),
        content: Vec::new(),
    }
}

fn times(restart_count: u32, started: Option<i64>, finished: Option<i64>) -> InstanceTimes {
    let at = |second: i64| jiff::Timestamp::from_second(second).unwrap();
    InstanceTimes {
        restart_count,
        started_at: started.map(at),
        finished_at: finished.map(at),
    }
}

fn matched(matches: &[MessageMatch]) -> Vec<(u32, usize)> {
    matches
        .iter()
        .map(|m| (m.restart_count, m.file_index))
        .collect()
}

#[test]
fn messages_match_by_order_when_counts_agree() {
    let files = [message_file(300), message_file(100), message_file(200)];
    let matches = match_message_files(&files, Some(2), &[]);
    assert_eq!(matched(&matches), [(0, 1), (1, 2), (2, 0)]);
}

/// A copy that reset every mtime to one value (a git checkout) leaves the start order
/// unknown, so no file is matched by order.
#[test]
fn equal_mtimes_do_not_match_by_order() {
    let files = [message_file(500), message_file(500), message_file(500)];
    let known = [times(1, Some(100), Some(200))];
    assert!(match_message_files(&files, Some(2), &known).is_empty());
}

/// Order is trusted only when it agrees with the instances' known run times.
#[test]
fn order_that_contradicts_times_is_rejected() {
    let files = [message_file(900), message_file(901), message_file(902)];
    let known = [times(1, Some(100), Some(200))];
    assert!(match_message_files(&files, Some(2), &known).is_empty());

    let known = [times(1, Some(899), Some(901))];
    let matches = match_message_files(&files, Some(2), &known);
    assert_eq!(matched(&matches), [(0, 0), (1, 1), (2, 2)]);
}

#[test]
fn messages_match_by_time_when_counts_differ() {
    let files = [message_file(100), message_file(200), message_file(400)];
    let known = [times(3, Some(198), Some(250)), times(4, Some(399), None)];
    let matches = match_message_files(&files, Some(4), &known);
    assert_eq!(matched(&matches), [(3, 1), (4, 2)]);
}

#[test]
fn messages_outside_windows_stay_unmatched() {
    let files = [message_file(100)];
    let known = [times(1, Some(200), Some(300))];
    assert!(match_message_files(&files, None, &known).is_empty());
}

#[test]
fn messages_never_match_one_file_twice() {
    let files = [message_file(100)];
    let known = [
        times(0, Some(99), Some(101)),
        times(1, Some(100), Some(102)),
    ];
    let matches = match_message_files(&files, Some(5), &known);
    assert_eq!(matched(&matches), [(0, 0)]);
}

#[test]
fn messages_skip_instances_without_times() {
    let files = [message_file(100)];
    let known = [times(0, None, None), times(1, None, Some(101))];
    let matches = match_message_files(&files, None, &known);
    assert_eq!(matched(&matches), [(1, 0)]);
}

fn memory_log(files: &[Vec<u8>]) -> InstanceLog {
    InstanceLog {
        segments: files
            .iter()
            .enumerate()
            .filter(|(_, bytes)| !bytes.is_empty())
            .map(|(index, bytes)| {
                LogSegment::from_bytes(
                    PathBuf::from(format!("{index}")),
                    LogFormat::Cri,
                    bytes.clone(),
                )
            })
            .collect(),
    }
}

/// Decodes the files forwards, the reference the tail must agree with.
fn forward_lines(log: &InstanceLog) -> Vec<crate::model::LogLine> {
    let mut lines = Vec::new();
    log.decode(&mut |line| {
        lines.push(line);
        Ok(())
    })
    .unwrap();
    lines
}

#[test]
fn tail_joins_chain_before_block() {
    let big = "z".repeat(5000);
    let file = cri_file(&[
        "2024-03-01T10:00:00Z stdout F first",
        &format!("2024-03-01T10:00:01Z stderr P {big}"),
        &format!("2024-03-01T10:00:01Z stderr P {big}"),
        "2024-03-01T10:00:02Z stdout F between",
        "2024-03-01T10:00:03Z stderr F end",
    ]);
    let log = memory_log(&[file]);
    let options = TailOptions {
        lines: 1,
        stream: None,
        block_bytes: 64,
    };
    let read = tail(&log, &options).unwrap();

    assert_eq!(read.lines.len(), 1);
    assert_eq!(read.lines[0].text.len(), 10003);
    assert!(read.truncated);
}

#[test]
fn tail_of_stream_only() {
    let file = cri_file(&[
        "2024-03-01T10:00:00Z stderr F e1",
        "2024-03-01T10:00:01Z stdout F o1",
        "2024-03-01T10:00:02Z stdout F o2",
    ]);
    let log = memory_log(&[file]);
    let options = TailOptions {
        lines: 1,
        stream: Some(Stream::Stderr),
        block_bytes: 16,
    };
    let read = tail(&log, &options).unwrap();

    assert_eq!(read.lines.len(), 1);
    assert_eq!(read.lines[0].text, "e1");
}

/// Generates a CRI file of records with random streams, tags and contents (awkward bytes too).
fn cri_records() -> impl Strategy<Value = Vec<u8>> {
    let record = (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..40),
        0u8..4,
    );
    proptest::collection::vec(record, 0..40).prop_map(|records| {
        let mut bytes = Vec::new();
        for (second, (stderr, partial, content, garbage)) in records.into_iter().enumerate() {
            if garbage == 0 {
                bytes.extend_from_slice(b"garbage line\n");
            }
            let stream = if stderr { "stderr" } else { "stdout" };
            let tag = if partial { "P" } else { "F" };
            let head = format!("2024-03-01T10:00:{:02}Z {stream} {tag} ", second % 60);
            bytes.extend_from_slice(head.as_bytes());
            bytes.extend(content.into_iter().filter(|byte| *byte != b'\n'));
            bytes.push(b'\n');
        }
        bytes
    })
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_cri_line(&bytes);
        let _ = parse_docker_line(&bytes);
        let _ = detect_format(&bytes);
        let _ = decode_all(&bytes, None);
        let _ = fallback_to_logs_message(&bytes);
    }

    #[test]
    fn chunk_size_does_not_change_lines(file in cri_records(), chunk in 1usize..64) {
        let (whole, _) = decode_all(&file, None);

        let mut decoder = Decoder::new(None);
        let mut chunked = Vec::new();
        for piece in file.chunks(chunk) {
            decoder.feed(piece, &mut chunked);
        }
        decoder.finish(&mut chunked);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn tail_equals_end_of_forward_parse(
        files in proptest::collection::vec(cri_records(), 1..4),
        cut in any::<bool>(),
        lines in 0usize..12,
        block in 1usize..200,
        stream in proptest::option::of(prop_oneof![Just(Stream::Stdout), Just(Stream::Stderr)]),
    ) {
        let mut files = files;
        if cut && let Some(last) = files.last_mut() {
            last.pop();
        }
        let log = memory_log(&files);
        let forward: Vec<_> = forward_lines(&log)
            .into_iter()
            .filter(|line| stream.is_none_or(|s| s == line.stream))
            .collect();
        let options = TailOptions { lines, stream, block_bytes: block };
        let read = tail(&log, &options).unwrap();

        let expected = &forward[forward.len().saturating_sub(lines)..];
        prop_assert_eq!(&read.lines[..], expected);
        if forward.len() > lines {
            prop_assert!(read.truncated);
        }
    }

    #[test]
    fn tail_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), block in 1usize..64) {
        let log = memory_log(&[bytes]);
        let _ = tail(&log, &TailOptions { lines: 5, stream: None, block_bytes: block });
    }
}
