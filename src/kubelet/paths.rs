//! Kubelet's log paths: pod folders, container folders, log file names and their rotation
//! order, and the `/var/log/containers` symlinks.
//!
//! Kubelet (`pkg/kubelet/kuberuntime/helpers.go`, `BuildPodLogsDirectory` and
//! `BuildContainerLogsDirectory`) writes `/var/log/pods/<namespace>_<pod>_<pod-uid>/
//! <container>/<N>.log`; kubelets before 1.14 wrote `/var/log/pods/<pod-uid>/<container>_<N>.log`
//! (and briefly `/var/log/pods/<pod-uid>/<container>/<N>.log`). The log manager
//! (`pkg/kubelet/logs/container_log_manager.go`) rotates `N.log` to `N.log.<YYYYMMDD-hhmmss>`
//! and gzips every rotated file but the newest. Namespace and pod names are DNS names and a
//! container name is a DNS label, so none contains `_`. The parse still splits the namespace
//! at the first `_` and the uid at the last.

use std::path::{Component, Path, PathBuf};

/// The parts of a pod's log folder name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDir {
    /// `None` in the old layout, whose folder is named by the uid alone.
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub pod_uid: String,
}

/// Parses `<namespace>_<pod>_<pod-uid>`, or a bare `<pod-uid>` of the old layout.
pub fn parse_pod_dir_name(name: &str) -> Option<PodDir> {
    if name.is_empty() || name.starts_with('.') {
        return None;
    }
    let Some((namespace, rest)) = name.split_once('_') else {
        return Some(PodDir {
            namespace: None,
            pod: None,
            pod_uid: name.to_owned(),
        });
    };

    let (pod, pod_uid) = rest.rsplit_once('_')?;
    if namespace.is_empty() || pod.is_empty() || pod_uid.is_empty() {
        return None;
    }
    Some(PodDir {
        namespace: Some(namespace.to_owned()),
        pod: Some(pod.to_owned()),
        pod_uid: pod_uid.to_owned(),
    })
}

/// The parts of a log file name: `N.log`, `N.log.<YYYYMMDD-hhmmss>` or the same with `.gz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFileName {
    pub restart_count: u32,
    /// Rotation time from the name as the number `YYYYMMDDhhmmss`, which orders like the
    /// time; `None` for the live file.
    pub rotated_at: Option<u64>,
    pub compressed: bool,
}

impl LogFileName {
    /// Sort key of the rotation order: rotated files by the time in their name, the live file
    /// last.
    pub fn rotation_key(&self) -> (bool, u64) {
        (self.rotated_at.is_none(), self.rotated_at.unwrap_or(0))
    }
}

/// Parses a file name of the current layout, such as `0.log.20250626-101500.gz`.
pub fn parse_log_file_name(name: &str) -> Option<LogFileName> {
    let (number, rest) = name.split_once(".log")?;
    if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let restart_count = number.parse().ok()?;

    let (rest, compressed) = match rest.strip_suffix(".gz") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    if rest.is_empty() {
        return (!compressed).then_some(LogFileName {
            restart_count,
            rotated_at: None,
            compressed,
        });
    }

    let stamp = rest.strip_prefix('.')?;
    Some(LogFileName {
        restart_count,
        rotated_at: Some(parse_rotation_stamp(stamp)?),
        compressed,
    })
}

/// Parses a file name of the old layout, `<container>_<N>.log` and its rotated forms, into the
/// container name and the rest.
pub fn parse_legacy_log_file_name(name: &str) -> Option<(String, LogFileName)> {
    let log = name.find(".log")?;
    let (container, _) = name[..log].rsplit_once('_')?;
    if container.is_empty() {
        return None;
    }
    let parsed = parse_log_file_name(&name[container.len() + 1..])?;
    Some((container.to_owned(), parsed))
}

/// Parses `YYYYMMDD-hhmmss` into the number `YYYYMMDDhhmmss`.
fn parse_rotation_stamp(stamp: &str) -> Option<u64> {
    let bytes = stamp.as_bytes();
    let shape_valid = bytes.len() == 15
        && bytes.get(8) == Some(&b'-')
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 8 || byte.is_ascii_digit());
    if !shape_valid {
        return None;
    }
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Orders one instance's files as kubelet wrote them: rotated files by the time in their name,
/// oldest first, then the live `N.log`. Files whose names do not parse go first, in the order
/// given, because their names carry no position.
pub fn order_log_files(paths: &mut [PathBuf]) {
    paths.sort_by_key(|path| {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let parsed = parse_log_file_name(name)
            .or_else(|| parse_legacy_log_file_name(name).map(|(_, parsed)| parsed));
        parsed.map(|parsed| parsed.rotation_key())
    });
}

/// Returns the container id at the end of `<pod>_<namespace>_<container>-<container-id>.log`:
/// the bare id (64 hex digits for containerd, CRI-O and Docker), because the link name does
/// not carry the runtime prefix (`containerd://`).
pub fn parse_container_link_name(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".log")?;
    let (_, id) = stem.rsplit_once('-')?;
    let valid = !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_hexdigit());
    valid.then_some(id)
}

/// Resolves a symlink target read from `<root>/var/log/containers/<name>` inside `root`: an
/// absolute target is taken relative to `root`, a relative one relative to the link's folder.
/// Returns the path relative to `root`, with `.` and `..` resolved lexically, or `None` when
/// it leaves `root`.
pub fn resolve_link_target(link_dir_in_root: &Path, target: &Path) -> Option<PathBuf> {
    let joined = if target.is_absolute() {
        target.to_path_buf()
    } else {
        link_dir_in_root.join(target)
    };

    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in joined.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.iter().collect())
}

/// Maps a link target (relative to the node root, as returned by [`resolve_link_target`]) to
/// the pod uid, container and restart number of the file it names.
pub fn parse_pod_log_path(path: &Path) -> Option<(String, String, u32)> {
    let parts: Vec<&str> = path
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    let pods = parts
        .windows(3)
        .position(|window| window == ["var", "log", "pods"])?;
    let rest = parts.get(pods + 3..)?;

    match rest {
        [pod_dir, container, file] => {
            let pod = parse_pod_dir_name(pod_dir)?;
            let name = parse_log_file_name(file)?;
            Some((pod.pod_uid, (*container).to_owned(), name.restart_count))
        }
        [pod_dir, file] => {
            let pod = parse_pod_dir_name(pod_dir)?;
            let (container, name) = parse_legacy_log_file_name(file)?;
            Some((pod.pod_uid, container, name.restart_count))
        }
        _ => None,
    }
}
