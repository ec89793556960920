//! Container logs as `GET /api/v1/namespaces/{ns}/pods/{name}/log` serves them.
//!
//! Logs belong to container instances, keyed by container id, because that is how kubelet
//! finds them: `validateContainerLogStatus` in `pkg/kubelet/kubelet_pods.go` takes the id from
//! `lastState.terminated` for `previous=true`, and otherwise from the running state, the
//! terminated state, or `lastState.terminated`, in that order. So when a container restarts,
//! the log of the instance that moved into `lastState` becomes the previous log by itself.
//!
//! The options follow kubelet's `ReadLogs` (`pkg/kubelet/kuberuntime/logs/logs.go`).
//! `tailLines` counts log records from the end, and `sinceSeconds`/`sinceTime` then skip older
//! records. `timestamps=true` puts the record's time, with nine fraction digits, before each
//! line. `limitBytes` cuts the output after that many bytes, even inside a line.
//!
//! NOTE: `follow=true` is not supported. The response contains the log as it is, then ends.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::ids::format_time_nanos;
use crate::status::ApiError;

/// One record of a container's output: a whole line, or a part of a long line (CRI tag `P`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// When the runtime received the output.
    pub time: Timestamp,
    /// Whether more of the same line follows in the next record.
    pub partial: bool,
    /// The text without the line ending.
    pub text: String,
}

/// Errors of CRI log parsing.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    /// A line does not have the `<time> <stream> <tag> <text>` form.
    #[error("CRI log line {line}: expected `<RFC 3339 time> <stdout|stderr> <P|F> <text>`")]
    Malformed {
        /// The 1-based line number.
        line: usize,
    },
}

/// Splits plain text into full records, all stamped with `time`.
pub fn records_from_text(text: &str, time: Timestamp) -> Vec<LogRecord> {
    text.lines()
        .map(|line| LogRecord {
            time,
            partial: false,
            text: line.to_owned(),
        })
        .collect()
}

/// Parses a CRI log file (`<RFC3339Nano> <stdout|stderr> <P|F> <text>` per line), as
/// containerd and CRI-O write under `/var/log/pods`.
pub fn records_from_cri(content: &[u8]) -> Result<Vec<LogRecord>, CriError> {
    let text = String::from_utf8_lossy(content);
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let malformed = || CriError::Malformed { line: index + 1 };
        let mut fields = line.splitn(4, ' ');
        let time = fields
            .next()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .ok_or_else(malformed)?;
        let stream = fields.next().ok_or_else(malformed)?;
        if stream != "stdout" && stream != "stderr" {
            return Err(malformed());
        }
        let partial = match fields.next() {
            Some("P") => true,
            Some("F") => false,
            _ => return Err(malformed()),
        };
        let text = fields.next().unwrap_or_default().to_owned();
        records.push(LogRecord {
            time,
            partial,
            text,
        });
    }
    Ok(records)
}

/// The options of a log request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Records to keep from the end.
    pub tail_lines: Option<u64>,
    /// Bytes of output to send at most.
    pub limit_bytes: Option<u64>,
    /// Whether to put each line's time before it.
    pub timestamps: bool,
    /// Records older than this are skipped.
    pub since: Option<Timestamp>,
}

/// Renders records as kubelet writes them to a log response.
pub fn render(records: &[LogRecord], options: &LogOptions) -> Vec<u8> {
    let tail_start = match options.tail_lines {
        Some(lines) => records
            .len()
            .saturating_sub(usize::try_from(lines).unwrap_or(usize::MAX)),
        None => 0,
    };

    let mut output = Vec::new();
    let mut line_start = true;
    for record in records.iter().skip(tail_start) {
        if options.since.is_some_and(|since| record.time < since) {
            continue;
        }
        if options.timestamps && line_start {
            output.extend_from_slice(format_time_nanos(record.time).as_bytes());
            output.push(b' ');
        }
        output.extend_from_slice(record.text.as_bytes());
        if !record.partial {
            output.push(b'\n');
        }
        line_start = !record.partial;
    }

    if let Some(limit) = options.limit_bytes {
        output.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    output
}

/// Picks the container a log request reads: the `container` parameter, or the only container
/// of the pod. Returns the errors kube-apiserver's `LogLocation` returns.
pub fn select_container(
    pod: &Pod,
    pod_name: &str,
    requested: Option<&str>,
) -> Result<String, ApiError> {
    let spec = pod.spec.as_ref();
    let containers: Vec<&str> = spec
        .map(|spec| spec.containers.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    let init: Vec<&str> = spec
        .and_then(|spec| spec.init_containers.as_ref())
        .map(|list| list.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    let ephemeral: Vec<&str> = spec
        .and_then(|spec| spec.ephemeral_containers.as_ref())
        .map(|list| list.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();

    let Some(requested) = requested else {
        if let [only] = containers.as_slice() {
            return Ok((*only).to_owned());
        }
        let mut message = format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            containers.join(" ")
        );
        if !init.is_empty() {
            message.push_str(&format!(
                " or one of the init containers: [{}]",
                init.join(" ")
            ));
        }
        return Err(ApiError::bad_request(message));
    };

    let known = [containers, init, ephemeral].concat();
    if known.contains(&requested) {
        Ok(requested.to_owned())
    } else {
        Err(ApiError::bad_request(format!(
            "container {requested} is not valid for pod {pod_name}"
        )))
    }
}

/// Finds the status of a container among the regular, init and ephemeral statuses.
pub fn container_status<'a>(pod: &'a Pod, container: &str) -> Option<&'a ContainerStatus> {
    let status = pod.status.as_ref()?;
    [
        status.container_statuses.as_ref(),
        status.init_container_statuses.as_ref(),
        status.ephemeral_container_statuses.as_ref(),
    ]
    .into_iter()
    .flatten()
    .flatten()
    .find(|status| status.name == container)
}

/// Returns the container id whose log a request reads, by kubelet's rules, or the error
/// message kubelet returns.
pub fn instance_container_id(
    pod: &Pod,
    pod_name: &str,
    container: &str,
    previous: bool,
) -> Result<String, String> {
    let Some(status) = container_status(pod, container) else {
        return Err(format!(
            "container \"{container}\" in pod \"{pod_name}\" is not available"
        ));
    };
    let state = status.state.as_ref();
    let last_terminated = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref());
    let last_id = last_terminated
        .and_then(|t| t.container_id.clone())
        .filter(|id| !id.is_empty());
    let terminated_message =
        || format!("container \"{container}\" in pod \"{pod_name}\" is terminated");

    if previous {
        return last_id.ok_or_else(|| {
            format!("previous terminated container \"{container}\" in pod \"{pod_name}\" not found")
        });
    }
    if state.and_then(|s| s.running.as_ref()).is_some() {
        return status
            .container_id
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                format!("container \"{container}\" in pod \"{pod_name}\" is not available")
            });
    }
    if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
        let id = terminated.container_id.clone().filter(|id| !id.is_empty());
        return id.or(last_id).ok_or_else(terminated_message);
    }
    if last_terminated.is_some() {
        return last_id.ok_or_else(terminated_message);
    }
    let waiting_reason = state
        .and_then(|s| s.waiting.as_ref())
        .map(|waiting| waiting.reason.clone().unwrap_or_default());
    Err(match waiting_reason.as_deref() {
        Some("ErrImagePull") => format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: image can't be pulled"
        ),
        Some("ImagePullBackOff") => format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: trying and failing to pull image"
        ),
        Some(reason) => {
            format!("container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}")
        }
        None => format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start - no logs yet"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn records() -> Vec<LogRecord> {
        let cri = b"2024-05-01T10:00:00.000000001Z stdout F one\n\
2024-05-01T10:00:01Z stderr P tw\n\
2024-05-01T10:00:01.5Z stderr F o\n\
2024-05-01T10:00:02Z stdout F three\n";
        records_from_cri(cri).unwrap()
    }

    #[test]
    fn render_joins_partial_records() {
        let output = render(&records(), &LogOptions::default());

        assert_eq!(output, b"one\ntwo\nthree\n");
    }

    #[test]
    fn render_timestamps_once_per_line() {
        let options = LogOptions {
            timestamps: true,
            ..LogOptions::default()
        };
        let output = String::from_utf8(render(&records(), &options)).unwrap();

        let lines: Vec<_> = output.lines().collect();
        assert_eq!(lines[0], "2024-05-01T10:00:00.000000001Z one");
        assert_eq!(lines[1], "2024-05-01T10:00:01.000000000Z two");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn render_tail_then_limit() {
        let tail = LogOptions {
            tail_lines: Some(1),
            ..LogOptions::default()
        };
        assert_eq!(render(&records(), &tail), b"three\n");

        let limited = LogOptions {
            limit_bytes: Some(5),
            ..LogOptions::default()
        };
        assert_eq!(render(&records(), &limited), b"one\nt");
    }

    #[test]
    fn render_since_skips_older_records() {
        let options = LogOptions {
            since: Some("2024-05-01T10:00:01.2Z".parse().unwrap()),
            ..LogOptions::default()
        };

        assert_eq!(render(&records(), &options), b"o\nthree\n");
    }

    #[test]
    fn cri_rejects_malformed_line() {
        let error = records_from_cri(b"2024-05-01T10:00:00Z stdout X text\n").unwrap_err();
        assert!(matches!(error, CriError::Malformed { line: 1 }));
        assert!(records_from_cri(b"not a time stdout F x\n").is_err());
    }

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "x"},
            "spec": {"containers": [{"name": "app"}, {"name": "side"}]},
            "status": {"containerStatuses": [status]}
        }))
        .unwrap()
    }

    #[test]
    fn previous_needs_last_terminated_id() {
        let running = pod(json!({
            "name": "app", "image": "i", "imageID": "", "ready": true, "restartCount": 0,
            "containerID": "containerd://new", "state": {"running": {}}
        }));

        let error = instance_container_id(&running, "x", "app", true).unwrap_err();
        assert_eq!(
            error,
            "previous terminated container \"app\" in pod \"x\" not found"
        );
        assert_eq!(
            instance_container_id(&running, "x", "app", false).unwrap(),
            "containerd://new"
        );
    }

    #[test]
    fn waiting_reads_last_terminated_log() {
        let waiting = pod(json!({
            "name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "containerID": "containerd://old"}}
        }));

        assert_eq!(
            instance_container_id(&waiting, "x", "app", false).unwrap(),
            "containerd://old"
        );
        assert_eq!(
            instance_container_id(&waiting, "x", "app", true).unwrap(),
            "containerd://old"
        );
    }

    #[test]
    fn container_choice_errors() {
        let two = pod(
            json!({"name": "app", "image": "i", "imageID": "", "ready": true, "restartCount": 0}),
        );

        let missing = select_container(&two, "x", None).unwrap_err().status();
        assert_eq!(
            missing["message"],
            "a container name must be specified for pod x, choose one of: [app side]"
        );
        let unknown = select_container(&two, "x", Some("db"))
            .unwrap_err()
            .status();
        assert_eq!(unknown["message"], "container db is not valid for pod x");
        assert_eq!(select_container(&two, "x", Some("side")).unwrap(), "side");
    }
}
