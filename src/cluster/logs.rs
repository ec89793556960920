//! Fetching a dead instance's log through `pods/log`, and reading the lines it returns.
//!
//! kubelet serves `previous=true` from the container named in `lastState.terminated` and,
//! without it, from the latest container, which is the dead one while `state.terminated` is
//! set (`validateContainerLogStatus` in `pkg/kubelet/kubelet_pods.go`). It returns 400 when
//! that container is gone (garbage-collected, or never started), and the API server returns
//! 404 once the pod is deleted: both mean the log can no longer be had. With
//! `timestamps=true` every line starts with an RFC 3339 time and one space.

use std::time::Duration;

use futures::AsyncReadExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use crate::cluster::fingerprint::LogRequest;
use crate::model::{LogLine, Stream};

/// Maximum length of one stored log line, in bytes. Longer lines are cut at a character
/// boundary, because log text is untrusted.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Request parameters and retry policy of log fetches.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    /// `tailLines`.
    pub tail_lines: u32,
    /// `limitBytes`.
    pub limit_bytes: u64,
    /// Attempts for one log, the first one included.
    pub attempts: u32,
    /// Wait before the first retry; it doubles with every further retry.
    pub first_backoff: Duration,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            tail_lines: 200,
            limit_bytes: 64 * 1024,
            attempts: 4,
            first_backoff: Duration::from_millis(200),
        }
    }
}

/// The result of fetching one log.
#[derive(Debug, Clone, PartialEq)]
pub enum LogOutcome {
    /// The log's last lines, oldest first.
    Fetched {
        lines: Vec<LogLine>,
        truncated: bool,
    },
    /// The API no longer has this instance's log; the text is the API's message.
    Gone(String),
    /// Every attempt failed; the text is the last error.
    Failed(String),
    /// The API rejected the request for lack of permission.
    Forbidden {
        /// The HTTP status, 401 or 403.
        code: u16,
        message: String,
    },
}

/// Fetches the log of one instance, retrying throttling (429), server errors (5xx) and
/// transport errors with exponential backoff.
///
/// NOTE: `pods/log` names no container id, so if the container dies again before the fetch
/// runs, the log served is that of the newer instance.
pub async fn fetch_log(
    api: &Api<Pod>,
    pod: &str,
    container: &str,
    request: LogRequest,
    limits: &LogLimits,
) -> LogOutcome {
    let params = LogParams {
        container: Some(container.to_owned()),
        previous: request == LogRequest::Previous,
        tail_lines: Some(i64::from(limits.tail_lines)),
        limit_bytes: i64::try_from(limits.limit_bytes).ok(),
        timestamps: true,
        ..LogParams::default()
    };

    let mut backoff = limits.first_backoff;
    let mut last_error = String::new();
    for attempt in 1..=limits.attempts.max(1) {
        match fetch_once(api, pod, &params, limits).await {
            Ok(bytes) => return parsed_outcome(&bytes, limits),
            Err(error) => match classify(&error) {
                Failure::Gone => return LogOutcome::Gone(api_message(&error)),
                Failure::Forbidden(code) => {
                    let message = api_message(&error);
                    return LogOutcome::Forbidden { code, message };
                }
                Failure::Retry => {
                    tracing::debug!(pod, container, attempt, %error, "log fetch failed, retrying");
                    last_error = error.to_string();
                }
            },
        }
        if attempt < limits.attempts {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
    LogOutcome::Failed(last_error)
}

/// Reads the whole response, at most `limitBytes` plus one line, because a server may send
/// slightly more than the limit.
async fn fetch_once(
    api: &Api<Pod>,
    pod: &str,
    params: &LogParams,
    limits: &LogLimits,
) -> Result<Vec<u8>, kube::Error> {
    let stream = api.log_stream(pod, params).await?;
    let cap = limits.limit_bytes.saturating_add(MAX_LINE_BYTES as u64);
    let mut bytes = Vec::new();
    stream
        .take(cap)
        .read_to_end(&mut bytes)
        .await
        .map_err(kube::Error::ReadEvents)?;
    Ok(bytes)
}

enum Failure {
    Gone,
    Forbidden(u16),
    Retry,
}

fn classify(error: &kube::Error) -> Failure {
    match error {
        kube::Error::Api(status) => match status.code {
            400 | 404 => Failure::Gone,
            401 | 403 => Failure::Forbidden(status.code),
            _ => Failure::Retry,
        },
        _ => Failure::Retry,
    }
}

fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        _ => error.to_string(),
    }
}

fn parsed_outcome(bytes: &[u8], limits: &LogLimits) -> LogOutcome {
    let lines = parse_log(bytes);
    let truncated =
        lines.len() >= limits.tail_lines as usize || bytes.len() as u64 >= limits.limit_bytes;
    LogOutcome::Fetched { lines, truncated }
}

/// Splits a `pods/log` response with `timestamps=true` into lines. A line whose first word is
/// no RFC 3339 time is kept whole, without a time. The API does not say which stream a line
/// came from, so every line is marked `stdout`.
pub fn parse_log(bytes: &[u8]) -> Vec<LogLine> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<LogLine> = text.split('\n').map(parse_line).collect();

    if lines
        .last()
        .is_some_and(|line| line.text.is_empty() && line.time.is_none())
    {
        lines.pop();
    }
    lines
}

fn parse_line(line: &str) -> LogLine {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (time, text) = match line.split_once(' ') {
        Some((first, rest)) => match first.parse::<Timestamp>() {
            Ok(time) => (Some(time), rest),
            Err(_) => (None, line),
        },
        None => match line.parse::<Timestamp>() {
            Ok(time) => (Some(time), ""),
            Err(_) => (None, line),
        },
    };
    LogLine {
        time,
        // NOTE: `pods/log` merges stdout and stderr without marking them.
        stream: Stream::Stdout,
        text: bound_line(text),
        partial: false,
    }
}

fn bound_line(text: &str) -> String {
    if text.len() <= MAX_LINE_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamped_lines_parse() {
        let body = b"2026-01-01T00:00:00.123456789Z starting\n2026-01-01T00:00:01Z panic: boom\n";

        let lines = parse_log(body);

        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "starting");
        assert_eq!(
            lines[0].time,
            Some("2026-01-01T00:00:00.123456789Z".parse().unwrap())
        );
        assert_eq!(lines[1].text, "panic: boom");
    }

    #[test]
    fn line_without_time_kept_whole() {
        let lines = parse_log(b"no time here\n");

        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].time, None);
        assert_eq!(lines[0].text, "no time here");
    }

    #[test]
    fn empty_line_and_invalid_utf8_survive() {
        let lines = parse_log(b"2026-01-01T00:00:00Z \n2026-01-01T00:00:01Z bad \xff byte");

        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "");
        assert_eq!(lines[1].text, "bad \u{fffd} byte");
    }

    #[test]
    fn long_line_is_bounded() {
        let long = format!("2026-01-01T00:00:00Z {}", "é".repeat(MAX_LINE_BYTES));

        let lines = parse_log(long.as_bytes());

        assert!(lines[0].text.len() <= MAX_LINE_BYTES + '…'.len_utf8());
        assert!(lines[0].text.ends_with('…'));
    }

    #[test]
    fn full_tail_is_truncated() {
        let limits = LogLimits {
            tail_lines: 2,
            ..LogLimits::default()
        };
        let two = parsed_outcome(b"a\nb\n", &limits);
        let one = parsed_outcome(b"a\n", &limits);

        assert!(matches!(
            two,
            LogOutcome::Fetched {
                truncated: true,
                ..
            }
        ));
        assert!(matches!(
            one,
            LogOutcome::Fetched {
                truncated: false,
                ..
            }
        ));
    }
}
