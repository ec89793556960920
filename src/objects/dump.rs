//! `kubectl cluster-info dump --output-directory DIR` folders.
//!
//! kubectl's `cluster-info dump` source writes `DIR/nodes.json`. Per namespace it writes
//! `DIR/<namespace>/events.json`, `replication-controllers.json`, `services.json`,
//! `daemonsets.json`, `deployments.json`, `replicasets.json` and `pods.json` (`.yaml` with
//! `-o yaml`). Then `DIR/<namespace>/<pod>/logs.txt` receives the current log of each init
//! container and container of the pod, in that order, each between
//! `==== START logs for container <c> of pod <ns>/<pod> ====` and
//! `==== END logs for container <c> of pod <ns>/<pod> ====` lines. When a log cannot be
//! fetched, kubectl writes `Create log request error: ...` or `Request log error: ...` as the
//! whole section. kubectl writes the log bytes as they come, so when a log does not end in a
//! newline the END marker follows its last line on the same line.
//!
//! Pods, events, logs and Jobs (when a `jobs.json` was added by hand) are read. The other
//! kinds are skipped, because they do not explain exits.

use std::path::{Path, PathBuf};

use super::error::Error;
use super::read::{MAX_INPUT_BYTES, read_objects_file};
use super::{Bundle, DumpLog};

/// Maximum length of one container's log kept from `logs.txt`, in bytes (8 MiB): the end of
/// the log is kept, because the lines before an exit explain it.
pub const MAX_LOG_BYTES: usize = 8 << 20;

/// The per-namespace object files read, by name without extension.
const OBJECT_FILES: [&str; 3] = ["pods", "events", "jobs"];

pub(crate) const START_PREFIX: &str = "==== START logs for container ";
const END_PREFIX: &str = "==== END logs for container ";
const MARKER_SUFFIX: &str = " ====";

/// Contents of a cluster-info dump folder: everything that could be read, and one error per
/// file that could not.
#[derive(Debug, Default)]
pub struct DumpRead {
    pub bundle: Bundle,
    pub errors: Vec<Error>,
}

/// True when `path` is a folder that `kubectl cluster-info dump --output-directory` wrote: it
/// contains `nodes.json` (or `nodes.yaml`), or a namespace folder with `pods.json` (or
/// `pods.yaml`).
pub fn is_cluster_dump(path: &Path) -> bool {
    if !path.is_dir() {
        return false;
    }
    if object_file(path, "nodes").is_some() {
        return true;
    }
    let Ok(folders) = subfolders(path) else {
        return false;
    };
    folders
        .iter()
        .any(|folder| object_file(folder, "pods").is_some())
}

/// Reads the pods, events and container logs of a cluster-info dump folder. A file that
/// fails to read or parse becomes one entry in [`DumpRead::errors`], naming its path, and the
/// other files are still read. Errors only when `dir` is not such a folder or cannot be
/// listed.
pub fn read_cluster_dump(dir: &Path) -> Result<DumpRead, Error> {
    if !is_cluster_dump(dir) {
        return Err(Error::NotClusterDump {
            path: dir.to_owned(),
        });
    }

    let mut read = DumpRead::default();
    for namespace in subfolders(dir)? {
        read_namespace(&namespace, &mut read);
    }
    Ok(read)
}

fn read_namespace(folder: &Path, read: &mut DumpRead) {
    for name in OBJECT_FILES {
        let Some(path) = object_file(folder, name) else {
            continue;
        };
        match read_objects_file(&path) {
            Ok(bundle) => read.bundle.extend(bundle),
            Err(error) => read.errors.push(error),
        }
    }

    let pods = match subfolders(folder) {
        Ok(pods) => pods,
        Err(error) => return read.errors.push(error),
    };
    for pod in pods {
        let path = pod.join("logs.txt");
        if !path.is_file() {
            continue;
        }
        match read_log_file(&path) {
            Ok((logs, errors)) => {
                // Each pod folder has its own logs.txt, so these logs are new to the bundle.
                read.bundle.logs.extend(logs);
                read.errors.extend(errors);
            }
            Err(error) => read.errors.push(error),
        }
    }
}

/// Returns the `<name>.json` or `<name>.yaml` file in `folder`, whichever exists.
fn object_file(folder: &Path, name: &str) -> Option<PathBuf> {
    ["json", "yaml"]
        .into_iter()
        .map(|extension| folder.join(format!("{name}.{extension}")))
        .find(|path| path.is_file())
}

/// Lists the folders directly inside `folder`, sorted by name so that results are stable.
fn subfolders(folder: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut folders = Vec::new();
    for entry in fs_err::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            folders.push(path);
        }
    }
    folders.sort();
    Ok(folders)
}

fn read_log_file(path: &Path) -> Result<(Vec<DumpLog>, Vec<Error>), Error> {
    let size = fs_err::metadata(path)?.len();
    if size > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            place: Box::new(super::Place::source(&path.display().to_string())),
            size,
            limit: MAX_INPUT_BYTES,
        });
    }
    let bytes = fs_err::read(path)?;
    Ok(parse_logs(path, &String::from_utf8_lossy(&bytes), 0))
}

/// Splits `text` from byte `from` on into one [`DumpLog`] per START/END section. Text
/// outside the sections is ignored, because kubectl writes none. Errors name lines of the
/// whole `text`.
pub(crate) fn parse_logs(path: &Path, text: &str, from: usize) -> (Vec<DumpLog>, Vec<Error>) {
    let mut logs = Vec::new();
    let mut errors = Vec::new();
    let mut position = from;

    while let Some(start) = find_line_starting(text, position, START_PREFIX) {
        let header_end = text.get(start..).and_then(|rest| rest.find('\n'));
        let header_end = header_end.map_or(text.len(), |end| start + end);
        let header = text.get(start..header_end).unwrap_or_default();
        let body_start = (header_end + 1).min(text.len());
        position = body_start;

        let Some(section) = parse_header(header) else {
            errors.push(Error::InvalidLogMarker {
                path: path.to_owned(),
                line: line_number(text, start),
                text: header.chars().take(200).collect(),
            });
            continue;
        };

        let end_marker = section.end_marker();
        let (body, next, terminated) = match find_end(text, body_start, &end_marker) {
            Some(end) => (text.get(body_start..end), end + end_marker.len(), true),
            None => {
                errors.push(Error::UnterminatedLog {
                    path: path.to_owned(),
                    line: line_number(text, start),
                    container: section.container.to_owned(),
                });
                // The next section, if any, still starts at its own START marker.
                let next = find_line_starting(text, body_start, START_PREFIX);
                let end = next.unwrap_or(text.len());
                (text.get(body_start..end), end, false)
            }
        };
        logs.push(section.into_log(path, body.unwrap_or_default(), terminated));
        position = next;
    }
    (logs, errors)
}

/// The names in one START marker.
struct Section<'t> {
    container: &'t str,
    namespace: &'t str,
    pod: &'t str,
}

impl Section<'_> {
    fn end_marker(&self) -> String {
        format!(
            "{END_PREFIX}{} of pod {}/{}{MARKER_SUFFIX}",
            self.container, self.namespace, self.pod
        )
    }

    fn into_log(self, path: &Path, body: &str, terminated: bool) -> DumpLog {
        let fetch_error = fetch_error(body);
        let (text, cut) = match fetch_error {
            Some(_) => (String::new(), false),
            None => tail(body),
        };
        DumpLog {
            namespace: self.namespace.to_owned(),
            pod: self.pod.to_owned(),
            container: self.container.to_owned(),
            path: path.to_owned(),
            text,
            truncated: cut || !terminated,
            fetch_error,
        }
    }
}

/// Parses `==== START logs for container <c> of pod <ns>/<pod> ====`. Container, namespace
/// and pod names contain no spaces or `/`, so the first ` of pod ` and `/` split them. A
/// marker longer than three maximum-length names plus its words is rejected.
fn parse_header(header: &str) -> Option<Section<'_>> {
    if header.len() > 1024 {
        return None;
    }
    let rest = header.trim_end_matches('\r').strip_prefix(START_PREFIX)?;
    let rest = rest.strip_suffix(MARKER_SUFFIX)?;
    let (container, pod) = rest.split_once(" of pod ")?;
    let (namespace, pod) = pod.split_once('/')?;
    let valid = |name: &str| !name.is_empty() && !name.contains([' ', '/']);
    (valid(container) && valid(namespace) && valid(pod)).then_some(Section {
        container,
        namespace,
        pod,
    })
}

/// Returns the byte offset of the first line at or after `from` that starts with `prefix`.
fn find_line_starting(text: &str, from: usize, prefix: &str) -> Option<usize> {
    let mut offset = from;
    loop {
        let rest = text.get(offset..)?;
        if rest.starts_with(prefix)
            && (offset == 0 || text.as_bytes().get(offset - 1) == Some(&b'\n'))
        {
            return Some(offset);
        }
        let newline = rest.find('\n')?;
        offset += newline + 1;
    }
}

/// Returns the offset of the END marker that closes a section whose body starts at `from`. A
/// container may print a line that looks like the marker, so a match counts only when the
/// next START marker or the end of the text follows it. Without such a match the first
/// marker anywhere is taken.
fn find_end(text: &str, from: usize, marker: &str) -> Option<usize> {
    let body = text.get(from..)?;
    let mut first = None;
    for (offset, _) in body.match_indices(marker) {
        let end = from + offset;
        first.get_or_insert(end);
        let after = text.get(end + marker.len()..).unwrap_or_default();
        let after = after.strip_prefix('\n').unwrap_or(after);
        if after.is_empty() || after.starts_with(START_PREFIX) {
            return Some(end);
        }
    }
    first
}

/// Returns the error message kubectl wrote in place of a log, when the whole section is one
/// such line.
fn fetch_error(body: &str) -> Option<String> {
    let line = body.strip_suffix('\n').unwrap_or(body);
    let is_error =
        line.starts_with("Create log request error: ") || line.starts_with("Request log error: ");
    (is_error && !line.contains('\n')).then(|| tail(line).0)
}

/// Returns the last [`MAX_LOG_BYTES`] of `body`, starting at a line start unless that would
/// leave nothing, and whether anything was cut.
fn tail(body: &str) -> (String, bool) {
    if body.len() <= MAX_LOG_BYTES {
        return (body.to_owned(), false);
    }

    let mut start = body.ceil_char_boundary(body.len() - MAX_LOG_BYTES);
    let newline = body.get(start..).and_then(|rest| rest.find('\n'));
    let line_start = newline.map(|newline| start + newline + 1);
    if let Some(line_start) = line_start.filter(|line_start| *line_start < body.len()) {
        start = line_start;
    }
    (body.get(start..).unwrap_or_default().to_owned(), true)
}

fn line_number(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or_default();
    memchr::memchr_iter(b'\n', before).count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<DumpLog>, Vec<Error>) {
        parse_logs(Path::new("shop/web/logs.txt"), text, 0)
    }

    #[test]
    fn end_marker_after_unterminated_line() {
        let text = "==== START logs for container app of pod shop/web ====\n\
                    started\nlast line without newline\
                    ==== END logs for container app of pod shop/web ====\n";
        let (logs, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].text, "started\nlast line without newline");
        assert!(!logs[0].truncated);
    }

    #[test]
    fn forged_end_marker_inside_log() {
        let text = "==== START logs for container app of pod shop/web ====\n\
                    ==== END logs for container app of pod shop/web ====\n\
                    more output\n\
                    ==== END logs for container app of pod shop/web ====\n";
        let (logs, _) = parse(text);
        assert_eq!(logs.len(), 1);
        assert_eq!(
            logs[0].text,
            "==== END logs for container app of pod shop/web ====\nmore output\n"
        );
    }

    #[test]
    fn fetch_error_replaces_text() {
        let text = "==== START logs for container app of pod shop/web ====\n\
                    Request log error: the server rejected our request\n\
                    ==== END logs for container app of pod shop/web ====\n";
        let (logs, _) = parse(text);
        assert_eq!(
            logs[0].fetch_error.as_deref(),
            Some("Request log error: the server rejected our request")
        );
        assert_eq!(logs[0].text, "");
    }

    #[test]
    fn missing_end_keeps_text() {
        let text = "==== START logs for container app of pod shop/web ====\npanic: boom\n";
        let (logs, errors) = parse(text);
        assert_eq!(errors.len(), 1);
        assert_eq!(logs[0].text, "panic: boom\n");
        assert!(logs[0].truncated);
    }

    #[test]
    fn missing_end_stops_at_next_section() {
        let text = "==== START logs for container init of pod shop/web ====\n\
                    cut here\n\
                    ==== START logs for container app of pod shop/web ====\n\
                    serving\n\
                    ==== END logs for container app of pod shop/web ====\n";
        let (logs, errors) = parse(text);
        assert_eq!(errors.len(), 1);
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].text, "cut here\n");
        assert!(logs[0].truncated);
        assert_eq!(logs[1].text, "serving\n");
        assert!(!logs[1].truncated);
    }

    #[test]
    fn long_single_line_keeps_tail() {
        let body = "x".repeat(MAX_LOG_BYTES + 10) + "\n";
        let (text, cut) = tail(&body);
        assert!(cut);
        assert_eq!(text.len(), MAX_LOG_BYTES);
    }

    #[test]
    fn long_log_keeps_tail() {
        let line = "0123456789abcdef\n";
        let body = line.repeat(MAX_LOG_BYTES / line.len() + 10);
        let (text, cut) = tail(&body);
        assert!(cut);
        assert!(text.len() <= MAX_LOG_BYTES);
        assert!(text.starts_with("0123"));
    }
}
