//! The node scanner: every container instance with log files under `var/log/pods`, and every
//! termination-message file under `var/lib/kubelet/pods`, of one node's file system.
//!
//! The root is a node's `/` (opened read-only), a copy of its folders, or a `/var/log/pods`
//! folder alone. Symlinks under `var/log/containers` are resolved inside the root, never on
//! the host running the scan. A problem with one file becomes a warning and the scan goes on.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::paths::{
    LogFileName, PodDir, order_log_files, parse_container_link_name, parse_legacy_log_file_name,
    parse_log_file_name, parse_pod_dir_name, parse_pod_log_path, resolve_link_target,
};
use super::source::InstanceLog;
use super::tail::{TailOptions, tail};
use super::termination_message::read_message_dir;
use super::{ContainerMessageFiles, Error, NodeInstance, NodeScan};

const POD_LOGS_DIR: &str = "var/log/pods";
const CONTAINER_LINKS_DIR: &str = "var/log/containers";
const KUBELET_PODS_DIR: &str = "var/lib/kubelet/pods";

/// Options of the node scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Number of lines of each instance's tail.
    pub tail_lines: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { tail_lines: 200 }
    }
}

/// Returns true when `path` contains `var/log/pods` or `var/lib/kubelet/pods`.
pub fn looks_like_node_root(path: &Path) -> bool {
    path.join(POD_LOGS_DIR).is_dir() || path.join(KUBELET_PODS_DIR).is_dir()
}

/// Returns true when `path` is a `/var/log/pods` folder. Such a folder contains a folder named
/// like a pod's (`<namespace>_<pod>_<uid>`), or a uid-named folder of the old layout with log
/// files in it.
pub fn looks_like_pod_logs_dir(path: &Path) -> bool {
    let Ok(entries) = fs_err::read_dir(path) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pod) = name.to_str().and_then(parse_pod_dir_name) else {
            return false;
        };
        entry.path().is_dir() && (pod.namespace.is_some() || holds_log_files(&entry.path()))
    })
}

fn holds_log_files(pod_dir: &Path) -> bool {
    let Ok(entries) = fs_err::read_dir(pod_dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_str().unwrap_or("");
        parse_legacy_log_file_name(name).is_some()
            || fs_err::read_dir(entry.path()).is_ok_and(|mut files| {
                files.any(|file| {
                    file.is_ok_and(|file| {
                        file.file_name()
                            .to_str()
                            .is_some_and(|name| parse_log_file_name(name).is_some())
                    })
                })
            })
    })
}

/// Scans a node root or a `/var/log/pods` folder.
pub fn scan_node_root(root: &Path, options: &ScanOptions) -> Result<NodeScan, Error> {
    let (pod_logs, links, kubelet_pods) = if looks_like_node_root(root) {
        (
            Some(root.join(POD_LOGS_DIR)),
            Some(root.join(CONTAINER_LINKS_DIR)),
            Some(root.join(KUBELET_PODS_DIR)),
        )
    } else if looks_like_pod_logs_dir(root) {
        (Some(root.to_path_buf()), None, None)
    } else {
        return Err(Error::NotANodeRoot {
            path: root.to_path_buf(),
        });
    };

    let mut scan = NodeScan::default();
    if let Some(pod_logs) = pod_logs.filter(|dir| dir.is_dir()) {
        let found = find_instance_files(&pod_logs, &mut scan.warnings);
        scan.instances = read_instances(found, options, &mut scan.warnings);
    }
    if let Some(links) = links.filter(|dir| dir.is_dir()) {
        let ids = read_container_links(root, &links, &mut scan.warnings);
        fill_container_ids(&mut scan.instances, &ids);
    }
    if let Some(kubelet_pods) = kubelet_pods.filter(|dir| dir.is_dir()) {
        scan.message_files = read_all_message_files(&kubelet_pods, &mut scan.warnings);
    }

    if scan.instances.is_empty() && scan.message_files.is_empty() {
        return Err(Error::NothingFound {
            path: root.to_path_buf(),
        });
    }
    Ok(scan)
}

/// The identity of one instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct InstanceKey {
    pod_uid: String,
    container: String,
    restart_count: u32,
}

#[derive(Debug)]
struct FoundInstance {
    pod: PodDir,
    files: Vec<PathBuf>,
}

/// Walks `var/log/pods` and groups the log files by instance.
fn find_instance_files(
    pod_logs: &Path,
    warnings: &mut Vec<String>,
) -> BTreeMap<InstanceKey, FoundInstance> {
    let mut found = BTreeMap::new();
    for pod_entry in read_dir_or_warn(pod_logs, warnings) {
        let name = pod_entry.file_name();
        let Some(pod) = name.to_str().and_then(parse_pod_dir_name) else {
            continue;
        };
        if !is_real_dir(&pod_entry) {
            continue;
        }

        for entry in read_dir_or_warn(&pod_entry.path(), warnings) {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_str().unwrap_or("");
            if is_real_dir(&entry) {
                add_container_dir(&pod, name, &path, warnings, &mut found);
            } else if let Some((container, file)) = parse_legacy_log_file_name(name)
                && is_regular_file(&entry, warnings)
            {
                add_file(&pod, container, file, path, &mut found);
            }
        }
    }
    found
}

fn add_container_dir(
    pod: &PodDir,
    container: &str,
    dir: &Path,
    warnings: &mut Vec<String>,
    found: &mut BTreeMap<InstanceKey, FoundInstance>,
) {
    for entry in read_dir_or_warn(dir, warnings) {
        let name = entry.file_name();
        let Some(file) = name.to_str().and_then(parse_log_file_name) else {
            continue;
        };
        if !is_regular_file(&entry, warnings) {
            continue;
        }
        add_file(pod, container.to_owned(), file, entry.path(), found);
    }
}

fn add_file(
    pod: &PodDir,
    container: String,
    file: LogFileName,
    path: PathBuf,
    found: &mut BTreeMap<InstanceKey, FoundInstance>,
) {
    let key = InstanceKey {
        pod_uid: pod.pod_uid.clone(),
        container,
        restart_count: file.restart_count,
    };
    found
        .entry(key)
        .or_insert_with(|| FoundInstance {
            pod: pod.clone(),
            files: Vec::new(),
        })
        .files
        .push(path);
}

fn read_instances(
    found: BTreeMap<InstanceKey, FoundInstance>,
    options: &ScanOptions,
    warnings: &mut Vec<String>,
) -> Vec<NodeInstance> {
    found
        .into_iter()
        .map(|(key, instance)| read_instance(key, instance, options, warnings))
        .collect()
}

fn read_instance(
    key: InstanceKey,
    mut found: FoundInstance,
    options: &ScanOptions,
    warnings: &mut Vec<String>,
) -> NodeInstance {
    order_log_files(&mut found.files);
    let opened = InstanceLog::open(&found.files);
    warnings.extend(opened.problems.iter().map(|problem| problem.to_string()));

    let mut instance = NodeInstance {
        namespace: found.pod.namespace,
        pod: found.pod.pod,
        pod_uid: key.pod_uid,
        container: key.container,
        restart_count: key.restart_count,
        container_id: None,
        log_files: found.files,
        log_tail: Vec::new(),
        log_truncated: false,
        first_log_at: None,
        last_log_at: None,
    };

    match tail(&opened.log, &TailOptions::new(options.tail_lines)) {
        Ok(read) => {
            for (path, count) in &read.invalid_lines {
                let noun = if *count == 1 { "line" } else { "lines" };
                warnings.push(format!(
                    "`{}`: skipped {count} {noun} that did not parse as log records",
                    path.display()
                ));
            }
            warnings.extend(read.unreadable);
            instance.log_tail = read.lines;
            instance.log_truncated = read.truncated;
            instance.last_log_at = read.last_record_at;
        }
        Err(error) => warnings.push(error.to_string()),
    }
    match opened.log.first_record_at() {
        Ok(first) => instance.first_log_at = first,
        Err(error) => warnings.push(error.to_string()),
    }
    instance
}

/// Reads `var/log/containers` and maps each instance to the container id in its link name.
fn read_container_links(
    root: &Path,
    links: &Path,
    warnings: &mut Vec<String>,
) -> HashMap<InstanceKey, String> {
    let mut ids = HashMap::new();
    let links_in_root = Path::new(CONTAINER_LINKS_DIR);
    for entry in read_dir_or_warn(links, warnings) {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(parse_container_link_name) else {
            continue;
        };
        let Ok(target) = fs_err::read_link(entry.path()) else {
            continue;
        };

        let resolved = resolve_link_target(links_in_root, &target);
        let Some((pod_uid, container, restart_count)) =
            resolved.as_deref().and_then(parse_pod_log_path)
        else {
            warnings.push(format!(
                "`{}`: link target `{}` is not a pod log file under `{}`",
                entry.path().display(),
                target.display(),
                root.join(POD_LOGS_DIR).display()
            ));
            continue;
        };
        let key = InstanceKey {
            pod_uid,
            container,
            restart_count,
        };
        ids.insert(key, id.to_owned());
    }
    ids
}

fn fill_container_ids(instances: &mut [NodeInstance], ids: &HashMap<InstanceKey, String>) {
    for instance in instances {
        let key = InstanceKey {
            pod_uid: instance.pod_uid.clone(),
            container: instance.container.clone(),
            restart_count: instance.restart_count,
        };
        instance.container_id = ids.get(&key).cloned();
    }
}

/// Reads `var/lib/kubelet/pods/<uid>/containers/<container>/<8 hex digits>` for every pod.
fn read_all_message_files(
    kubelet_pods: &Path,
    warnings: &mut Vec<String>,
) -> Vec<ContainerMessageFiles> {
    let mut all = Vec::new();
    for pod_entry in read_dir_or_warn(kubelet_pods, warnings) {
        let Some(pod_uid) = pod_entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let containers = pod_entry.path().join("containers");
        if !containers.is_dir() {
            continue;
        }

        for entry in read_dir_or_warn(&containers, warnings) {
            let Some(container) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !entry.path().is_dir() {
                continue;
            }
            match read_message_dir(&entry.path()) {
                Ok((files, problems)) => {
                    warnings.extend(problems.iter().map(|problem| problem.to_string()));
                    if files.is_empty() {
                        continue;
                    }
                    all.push(ContainerMessageFiles {
                        pod_uid: pod_uid.clone(),
                        container,
                        files,
                    });
                }
                Err(error) => warnings.push(error.to_string()),
            }
        }
    }
    all.sort_by(|a, b| (&a.pod_uid, &a.container).cmp(&(&b.pod_uid, &b.container)));
    all
}

/// Returns true for a folder that is not a symbolic link.
fn is_real_dir(entry: &fs_err::DirEntry) -> bool {
    entry.file_type().is_ok_and(|kind| kind.is_dir())
}

/// Returns true for a regular file. Kubelet writes regular files into `var/log/pods`, so a
/// symbolic link there is not followed: in a copied root it could point at the host's files.
fn is_regular_file(entry: &fs_err::DirEntry, warnings: &mut Vec<String>) -> bool {
    match entry.file_type() {
        Ok(kind) if kind.is_file() => true,
        Ok(kind) if kind.is_symlink() => {
            warnings.push(format!(
                "`{}` is a symbolic link, not a log file written by kubelet, so it was not read",
                entry.path().display()
            ));
            false
        }
        Ok(_) => false,
        Err(error) => {
            warnings.push(error.to_string());
            false
        }
    }
}

/// Lists a folder, sorted by name; a folder that cannot be read becomes a warning.
fn read_dir_or_warn(dir: &Path, warnings: &mut Vec<String>) -> Vec<fs_err::DirEntry> {
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            warnings.push(error.to_string());
            return Vec::new();
        }
    };
    let mut list: Vec<fs_err::DirEntry> = entries
        .filter_map(|entry| entry.map_err(|error| warnings.push(error.to_string())).ok())
        .collect();
    list.sort_by_key(|entry| entry.file_name());
    list
}
