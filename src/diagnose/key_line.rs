//! The key line of a log: the one line that best explains why the process ended.
//!
//! Lines come in file order with stdout and stderr interleaved, one CRI record per line, so a
//! Java stack trace or a Python traceback spans many lines. Each line that matches a known
//! form of fatal output gets a strength. The strongest wins, then a line on stderr, then the
//! later line. The last line is not assumed to be the cause, because a stdout prompt without a
//! newline can be flushed after the stderr error when the stream closes.
//!
//! The finder recognises these forms:
//!
//! - Java: `Exception in thread`, exception headers and the last `Caused by:` of a chain;
//! - Go: `panic:` and the runtime's `fatal error:`;
//! - Rust: `thread '<name>' panicked at <file>:<line>:<column>:`, whose message is on the next
//!   line since Rust 1.73 and on the same line before;
//! - Node.js and V8: `FATAL ERROR:`, and an uncaught `Error:` after the source-line caret;
//! - Python: the last line of a traceback;
//! - .NET: `Unhandled exception.`;
//! - klog: `F` and `E` lines;
//! - shell errors: `not found`, `Permission denied`;
//! - logger levels: `level=fatal`, `"level":"error"`, `FATAL`, `ERROR`.
//!
//! Lines are untrusted, so only their first [`SCAN_BYTES`] are inspected and at most
//! [`MAX_KEY_LINE_BYTES`] are kept.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::Serialize;

use crate::model::{LogLine, Stream};

/// Bytes of each line that the finder inspects; longer lines are judged by their start.
pub const SCAN_BYTES: usize = 4096;

/// Bytes of the key line that are kept; a longer line is cut and ends with `…`.
pub const MAX_KEY_LINE_BYTES: usize = 1024;

/// The line that best explains an exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyLine {
    /// Position of the line in the slice given to [`find_key_line`].
    pub index: usize,
    /// The line's text, cut to [`MAX_KEY_LINE_BYTES`].
    pub text: String,
    pub kind: KeyLineKind,
}

/// The form of output a key line was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyLineKind {
    /// A Java exception: `Exception in thread`, a `Caused by:` line or an exception header.
    JavaException,
    /// A Go `panic:` line.
    GoPanic,
    /// A Rust `thread '…' panicked at` line.
    RustPanic,
    /// A Go runtime `fatal error:` line, such as a concurrent map write or out of memory.
    GoFatalError,
    /// A V8 `FATAL ERROR:` line, such as `JavaScript heap out of memory`.
    NodeFatalError,
    /// An uncaught JavaScript error (`TypeError: ...`).
    JavaScriptError,
    /// The last line of a Python traceback.
    PythonException,
    /// A .NET `Unhandled exception.` line.
    DotNetException,
    /// A klog fatal line (`F0626 11:31:40.123456 ...`).
    KlogFatal,
    /// A shell error such as `exec: foo: not found`.
    ShellError,
    /// A log line at fatal or panic level.
    FatalLevel,
    /// A log line at error level, including klog `E` lines.
    ErrorLevel,
}

/// Strength of a line as the explanation of an exit; later variants win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    ErrorLevel,
    ExceptionLike,
    Fatal,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: usize,
    strength: Strength,
    stderr: bool,
    kind: KeyLineKind,
}

impl Candidate {
    /// Returns true when `self` explains the exit better than `other`.
    fn beats(&self, other: &Candidate) -> bool {
        (self.strength, self.stderr, self.index) > (other.strength, other.stderr, other.index)
    }
}

/// Finds the line that best explains why the process ended, or `None` when no line matches
/// a known form of fatal or error output.
pub fn find_key_line(lines: &[LogLine]) -> Option<KeyLine> {
    let mut best: Option<Candidate> = None;
    let mut scanner = Scanner::default();

    for (index, line) in lines.iter().enumerate() {
        let text = scan_prefix(&line.text);
        let Some((strength, kind)) = scanner.classify(text) else {
            continue;
        };
        let candidate = Candidate {
            index,
            strength,
            stderr: line.stream == Stream::Stderr,
            kind,
        };
        if best.is_none_or(|current| candidate.beats(&current)) {
            best = Some(candidate);
        }
    }

    let best = best?;
    let line = lines.get(best.index)?;
    Some(KeyLine {
        index: best.index,
        text: bound_text(line.text.trim_end(), MAX_KEY_LINE_BYTES),
        kind: best.kind,
    })
}

/// Finds the key line in plain text, such as a termination message, split at newlines.
pub fn find_key_line_in_text(text: &str) -> Option<KeyLine> {
    let lines: Vec<LogLine> = text
        .lines()
        .map(|line| LogLine {
            time: None,
            stream: Stream::Stderr,
            text: line.to_owned(),
            partial: false,
        })
        .collect();
    find_key_line(&lines)
}

/// State carried from line to line: whether a Python traceback or a V8 source excerpt is open.
#[derive(Debug, Default)]
struct Scanner {
    in_python_traceback: bool,
    after_caret: bool,
}

impl Scanner {
    fn classify(&mut self, text: &str) -> Option<(Strength, KeyLineKind)> {
        if let Some(found) = self.classify_python(text) {
            return found;
        }
        if let Some(found) = self.classify_javascript(text) {
            return Some(found);
        }
        classify_line(text)
    }

    /// Tracks a Python traceback. Returns `Some(result)` while the line belongs to one, so
    /// its frames are not read as other forms.
    fn classify_python(&mut self, text: &str) -> Option<Option<(Strength, KeyLineKind)>> {
        if text.starts_with("Traceback (most recent call last):") {
            self.in_python_traceback = true;
            return Some(None);
        }
        if !self.in_python_traceback {
            return None;
        }
        if text.starts_with(' ') || text.starts_with('\t') || text.trim().is_empty() {
            return Some(None);
        }

        self.in_python_traceback = false;
        Some(Some((Strength::Fatal, KeyLineKind::PythonException)))
    }

    /// Recognises an uncaught JavaScript error: Node prints the source line, a line of
    /// carets under it, a blank line, then `TypeError: ...`.
    fn classify_javascript(&mut self, text: &str) -> Option<(Strength, KeyLineKind)> {
        let trimmed = text.trim();
        if !trimmed.is_empty() && trimmed.chars().all(|c| c == '^') {
            self.after_caret = true;
            return None;
        }
        if !self.after_caret || trimmed.is_empty() {
            return None;
        }

        self.after_caret = false;
        if is_javascript_error(trimmed) {
            return Some((Strength::Fatal, KeyLineKind::JavaScriptError));
        }
        None
    }
}

/// Classifies one line without context.
fn classify_line(text: &str) -> Option<(Strength, KeyLineKind)> {
    let trimmed = text.trim_start();

    if let Some(kind) = fatal_runtime_kind(trimmed) {
        return Some((Strength::Fatal, kind));
    }
    if is_klog(text, b'F') {
        return Some((Strength::Fatal, KeyLineKind::KlogFatal));
    }
    if is_java_exception_header(trimmed) {
        return Some((Strength::ExceptionLike, KeyLineKind::JavaException));
    }
    if is_shell_error(text) {
        return Some((Strength::ExceptionLike, KeyLineKind::ShellError));
    }
    let level = logger_level(text);
    if level == Some(Level::Fatal) {
        return Some((Strength::Fatal, KeyLineKind::FatalLevel));
    }
    if is_klog(text, b'E') || level == Some(Level::Error) {
        return Some((Strength::ErrorLevel, KeyLineKind::ErrorLevel));
    }
    if is_javascript_error(trimmed) {
        return Some((Strength::ErrorLevel, KeyLineKind::JavaScriptError));
    }
    None
}

/// Recognises the lines runtimes print when they end a process themselves.
fn fatal_runtime_kind(trimmed: &str) -> Option<KeyLineKind> {
    if trimmed.starts_with("panic: ") && !trimmed.ends_with("[recovered]") {
        return Some(KeyLineKind::GoPanic);
    }
    if trimmed.starts_with("fatal error: ") {
        return Some(KeyLineKind::GoFatalError);
    }
    if trimmed.starts_with("thread '") && trimmed.contains("' panicked at ") {
        return Some(KeyLineKind::RustPanic);
    }
    if trimmed.starts_with("FATAL ERROR: ") {
        return Some(KeyLineKind::NodeFatalError);
    }
    if trimmed.starts_with("Unhandled exception. ") || trimmed.starts_with("Unhandled Exception: ")
    {
        return Some(KeyLineKind::DotNetException);
    }
    if trimmed.starts_with("Exception in thread ") || trimmed.starts_with("Caused by: ") {
        return Some(KeyLineKind::JavaException);
    }
    None
}

/// Recognises a klog line of severity `level`: `F0626 11:31:40.123456    1 file.go:12] msg`.
fn is_klog(text: &str, level: u8) -> bool {
    let bytes = text.as_bytes();
    let Some(header) = bytes.get(..14) else {
        return false;
    };
    let digits = |range: std::ops::Range<usize>| {
        header
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    header.first() == Some(&level)
        && digits(1..5)
        && header.get(5) == Some(&b' ')
        && digits(6..8)
        && header.get(8) == Some(&b':')
        && digits(9..11)
        && header.get(11) == Some(&b':')
        && digits(12..14)
}

/// Recognises a Java exception header such as `java.lang.IllegalStateException: bad state`,
/// a dotted class name ending in `Exception` or `Error`.
fn is_java_exception_header(trimmed: &str) -> bool {
    let class = trimmed.split([':', ' ']).next().unwrap_or_default();
    let Some((package, simple)) = class.rsplit_once('.') else {
        return false;
    };
    let is_exception = simple.ends_with("Exception") || simple.ends_with("Error");
    let rest = trimmed.get(class.len()..).unwrap_or_default();
    is_exception
        && package
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '$')
        && package.starts_with(|c: char| c.is_ascii_lowercase())
        && (rest.is_empty() || rest.starts_with(": "))
}

/// Recognises `TypeError: x is undefined`, `Error: connect ECONNREFUSED` and similar.
fn is_javascript_error(trimmed: &str) -> bool {
    let Some((name, _)) = trimmed.split_once(": ") else {
        return false;
    };
    name.ends_with("Error")
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Recognises the errors shells and the dynamic loader print for a command that cannot run.
fn is_shell_error(text: &str) -> bool {
    const SUFFIXES: [&str; 4] = [
        ": not found",
        ": command not found",
        ": Permission denied",
        ": No such file or directory",
    ];
    let trimmed = text.trim_end();
    SUFFIXES.iter().any(|suffix| trimmed.ends_with(suffix))
        || trimmed.contains("exec format error")
        || trimmed.contains("error while loading shared libraries")
}

/// A logger's severity, for the levels that can explain an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Fatal,
    Error,
}

/// Keys under which loggers write the level, as spelled in logfmt and JSON output.
const LEVEL_KEYS: [&str; 6] = ["level", "Level", "LEVEL", "lvl", "severity", "Severity"];

/// Searchers for [`LEVEL_KEYS`], built once because building one costs more than searching a
/// short line.
static LEVEL_KEY_FINDERS: LazyLock<Vec<(usize, Finder<'static>)>> = LazyLock::new(|| {
    LEVEL_KEYS
        .iter()
        .map(|key| (key.len(), Finder::new(key.as_bytes())))
        .collect()
});

/// Reads the level of a log line: logfmt `level=error`, JSON `"level":"error"` (also
/// `severity` and `lvl`), or the level word in capitals among the first words.
fn logger_level(text: &str) -> Option<Level> {
    let bytes = text.as_bytes();
    for (key_len, finder) in LEVEL_KEY_FINDERS.iter() {
        for at in finder.find_iter(bytes) {
            let rest = text.get(at + key_len..).unwrap_or_default();
            if let Some(level) = value_after_key(rest).and_then(level_of_word) {
                return Some(level);
            }
        }
    }
    capital_level_word(text)
}

/// Reads the word after a level key: `=error`, `="error"`, `":"error"` or `": "error"`.
fn value_after_key(rest: &str) -> Option<&str> {
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix("\":"))?;
    let rest = rest.trim_start_matches(' ');
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    rest.get(..end)
}

fn level_of_word(word: &str) -> Option<Level> {
    const FATAL: [&str; 4] = ["fatal", "panic", "critical", "crit"];
    const ERROR: [&str; 2] = ["error", "err"];
    if FATAL.iter().any(|level| word.eq_ignore_ascii_case(level)) {
        return Some(Level::Fatal);
    }
    if ERROR.iter().any(|level| word.eq_ignore_ascii_case(level)) {
        return Some(Level::Error);
    }
    None
}

/// Recognises a capital level word (`ERROR`, `FATAL`, `[ERROR]`) among the first six words.
fn capital_level_word(text: &str) -> Option<Level> {
    for word in text.split_whitespace().take(6) {
        match word.trim_matches(|c: char| !c.is_ascii_alphabetic()) {
            "FATAL" | "PANIC" | "CRITICAL" => return Some(Level::Fatal),
            "ERROR" => return Some(Level::Error),
            _ => {}
        }
    }
    None
}

/// Returns the start of `text` that the finder inspects.
fn scan_prefix(text: &str) -> &str {
    floor_prefix(text, SCAN_BYTES)
}

/// Returns at most `max` bytes of `text`, cut at a character boundary.
fn floor_prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Cuts untrusted text to at most `max` bytes plus a final `…` when it was longer.
pub fn bound_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    format!("{}…", floor_prefix(text, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(stream: Stream, text: &str) -> LogLine {
        LogLine {
            time: None,
            stream,
            text: text.to_owned(),
            partial: false,
        }
    }

    fn stderr_lines(texts: &[&str]) -> Vec<LogLine> {
        texts
            .iter()
            .map(|text| line(Stream::Stderr, text))
            .collect()
    }

    /// Log excerpts in the forms each runtime prints, the expected key line and its kind.
    fn cases() -> Vec<(&'static str, Vec<&'static str>, &'static str, KeyLineKind)> {
        vec![
            (
                "java caused by chain",
                vec![
                    "2024-01-01 INFO Starting OrdersApplication",
                    "Exception in thread \"main\" org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'dataSource'",
                    "\tat org.springframework.beans.factory.support.AbstractAutowireCapableBeanFactory.doCreateBean(AbstractAutowireCapableBeanFactory.java:628)",
                    "Caused by: org.springframework.beans.BeanInstantiationException: Failed to instantiate [com.zaxxer.hikari.HikariDataSource]",
                    "\t... 17 more",
                    "Caused by: java.net.ConnectException: Connection refused",
                    "\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
                    "\t... 30 more",
                ],
                "Caused by: java.net.ConnectException: Connection refused",
                KeyLineKind::JavaException,
            ),
            (
                "java exception in thread",
                vec![
                    "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
                    "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
                ],
                "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
                KeyLineKind::JavaException,
            ),
            (
                "go nil pointer panic",
                vec![
                    "panic: runtime error: invalid memory address or nil pointer dereference",
                    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]",
                    "",
                    "goroutine 1 [running]:",
                    "main.(*Cart).Total(0x0)",
                    "\t/src/cart.go:42 +0x1c",
                    "exit status 2",
                ],
                "panic: runtime error: invalid memory address or nil pointer dereference",
                KeyLineKind::GoPanic,
            ),
            (
                "rust panic",
                vec![
                    "2025-03-01T10:00:00Z INFO worker started",
                    "thread 'main' panicked at src/main.rs:14:10:",
                    "called `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound }",
                    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
                ],
                "thread 'main' panicked at src/main.rs:14:10:",
                KeyLineKind::RustPanic,
            ),
            (
                "go runtime fatal error",
                vec![
                    "fatal error: concurrent map writes",
                    "",
                    "goroutine 47 [running]:",
                ],
                "fatal error: concurrent map writes",
                KeyLineKind::GoFatalError,
            ),
            (
                "node heap out of memory",
                vec![
                    "<--- Last few GCs --->",
                    "[1:0x5d8e3c0]  4125 ms: Mark-Compact 2043.1 (2050.4) -> 2042.6 (2051.4) MB",
                    "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                    " 1: 0xb7b3e0 node::Abort() [node]",
                ],
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                KeyLineKind::NodeFatalError,
            ),
            (
                "node uncaught type error",
                vec![
                    "/app/server.js:17",
                    "  const port = config.server.port;",
                    "                             ^",
                    "",
                    "TypeError: Cannot read properties of undefined (reading 'port')",
                    "    at Object.<anonymous> (/app/server.js:17:30)",
                    "",
                    "Node.js v20.11.0",
                ],
                "TypeError: Cannot read properties of undefined (reading 'port')",
                KeyLineKind::JavaScriptError,
            ),
            (
                "python traceback last line",
                vec![
                    "Traceback (most recent call last):",
                    "  File \"/app/main.py\", line 12, in <module>",
                    "    import psycopg2",
                    "ModuleNotFoundError: No module named 'psycopg2'",
                ],
                "ModuleNotFoundError: No module named 'psycopg2'",
                KeyLineKind::PythonException,
            ),
            (
                "python chained traceback",
                vec![
                    "Traceback (most recent call last):",
                    "  File \"/app/db.py\", line 4, in connect",
                    "KeyError: 'DATABASE_URL'",
                    "",
                    "During handling of the above exception, another exception occurred:",
                    "",
                    "Traceback (most recent call last):",
                    "  File \"/app/main.py\", line 9, in <module>",
                    "RuntimeError: DATABASE_URL is not set",
                ],
                "RuntimeError: DATABASE_URL is not set",
                KeyLineKind::PythonException,
            ),
            (
                "dotnet unhandled exception",
                vec![
                    "info: Microsoft.Hosting.Lifetime[0]",
                    "Unhandled exception. System.InvalidOperationException: Unable to resolve service for type 'IOrderStore'",
                    "   at Microsoft.Extensions.DependencyInjection.ServiceLookup.CallSiteFactory.CreateArgumentCallSites()",
                ],
                "Unhandled exception. System.InvalidOperationException: Unable to resolve service for type 'IOrderStore'",
                KeyLineKind::DotNetException,
            ),
            (
                "klog fatal line",
                vec![
                    "I0626 11:31:39.998811       1 consumer.go:88] reconnecting",
                    "E0626 11:31:40.120000       1 consumer.go:91] dial failed",
                    "F0626 11:31:40.123456       1 main.go:57] queue connection lost: dial tcp 10.96.0.50:5672: connect: connection refused",
                    "goroutine 1 [running]:",
                ],
                "F0626 11:31:40.123456       1 main.go:57] queue connection lost: dial tcp 10.96.0.50:5672: connect: connection refused",
                KeyLineKind::KlogFatal,
            ),
            (
                "klog last error line",
                vec![
                    "E0924 10:15:07.200822       1 driver.go:108] \"Failed health check\" err=\"context deadline exceeded\"",
                    "E0924 10:15:08.899981       1 main.go:61] \"Giving up after 7 failed health checks\" exitCode=1",
                ],
                "E0924 10:15:08.899981       1 main.go:61] \"Giving up after 7 failed health checks\" exitCode=1",
                KeyLineKind::ErrorLevel,
            ),
            (
                "shell exec not found",
                vec!["/entrypoint.sh: line 51: exec: : not found"],
                "/entrypoint.sh: line 51: exec: : not found",
                KeyLineKind::ShellError,
            ),
            (
                "logfmt fatal level",
                vec![
                    "time=\"2024-05-01T10:00:00Z\" level=info msg=\"starting\"",
                    "time=\"2024-05-01T10:00:01Z\" level=fatal msg=\"cannot open database\" error=\"permission denied\"",
                ],
                "time=\"2024-05-01T10:00:01Z\" level=fatal msg=\"cannot open database\" error=\"permission denied\"",
                KeyLineKind::FatalLevel,
            ),
            (
                "json error level",
                vec![
                    "{\"level\":\"info\",\"msg\":\"listening\"}",
                    "{\"level\":\"error\",\"msg\":\"upstream closed\"}",
                    "{\"level\":\"info\",\"msg\":\"shutting down\"}",
                ],
                "{\"level\":\"error\",\"msg\":\"upstream closed\"}",
                KeyLineKind::ErrorLevel,
            ),
        ]
    }

    #[test]
    fn key_lines_of_real_logs() {
        for (name, texts, expected, kind) in cases() {
            let lines = stderr_lines(&texts);
            let found = find_key_line(&lines).unwrap_or_else(|| panic!("{name}: no key line"));
            assert_eq!(found.text, expected, "{name}");
            assert_eq!(found.kind, kind, "{name}");
            assert_eq!(lines[found.index].text, expected, "{name}");
        }
    }

    #[test]
    fn stderr_error_beats_later_stdout_prompt() {
        let lines = vec![
            line(Stream::Stdout, "Changing password for db2inst1."),
            line(Stream::Stderr, "/entrypoint.sh: line 51: exec: : not found"),
            line(Stream::Stdout, "New password: Retype new password: "),
        ];
        let found = find_key_line(&lines).unwrap();
        assert_eq!(found.index, 1);
    }

    #[test]
    fn stderr_preferred_at_equal_strength() {
        let lines = vec![
            line(Stream::Stderr, "ERROR cannot reach cache"),
            line(Stream::Stdout, "ERROR request failed"),
        ];
        let found = find_key_line(&lines).unwrap();
        assert_eq!(found.index, 0);
    }

    #[test]
    fn plain_output_has_no_key_line() {
        let lines = stderr_lines(&["starting", "listening on :8080", "shutting down"]);
        assert_eq!(find_key_line(&lines), None);
        assert_eq!(find_key_line(&[]), None);
    }

    #[test]
    fn go_signal_detail_is_not_key() {
        let lines = stderr_lines(&["[signal SIGSEGV: segmentation violation code=0x1 addr=0x0]"]);
        assert_eq!(find_key_line(&lines), None);
    }

    #[test]
    fn error_words_inside_text_do_not_match() {
        let lines = stderr_lines(&[
            "level=information msg=\"errors: 0\"",
            "processed 10 items without ERRORS",
        ]);
        assert_eq!(find_key_line(&lines), None);
    }

    #[test]
    fn long_key_line_is_bounded() {
        let long = format!("panic: {}", "é".repeat(5000));
        let found = find_key_line(&stderr_lines(&[&long])).unwrap();
        assert!(found.text.len() <= MAX_KEY_LINE_BYTES + '…'.len_utf8());
        assert!(found.text.ends_with('…'));
    }

    proptest::proptest! {
        #[test]
        fn any_lines_give_bounded_key_line(
            texts in proptest::collection::vec("\\PC{0,300}|panic: .{0,2000}|level=error.{0,50}", 0..40),
            stderr_mask in proptest::num::u64::ANY,
        ) {
            let lines: Vec<LogLine> = texts
                .iter()
                .enumerate()
                .map(|(index, text)| {
                    let stream = if stderr_mask >> (index % 64) & 1 == 1 { Stream::Stderr } else { Stream::Stdout };
                    line(stream, text)
                })
                .collect();
            if let Some(found) = find_key_line(&lines) {
                proptest::prop_assert!(found.index < lines.len());
                proptest::prop_assert!(found.text.len() <= MAX_KEY_LINE_BYTES + '…'.len_utf8());
            }
        }
    }

    #[test]
    fn key_line_in_text_splits_lines() {
        let found = find_key_line_in_text("starting\npanic: boom\ngoroutine 1").unwrap();
        assert_eq!(found.text, "panic: boom");
        assert_eq!(found.index, 1);
    }
}
