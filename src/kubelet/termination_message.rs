//! Termination-message files: `/var/lib/kubelet/pods/<pod-uid>/containers/<container>/<id>`.
//!
//! For every container start, kubelet (`makeMounts` in
//! `pkg/kubelet/kuberuntime/kuberuntime_container.go`) creates an empty file named by
//! `makeUID()`, which is `fmt.Sprintf("%08x", rand.Uint32())`, chmods it 0666 and bind-mounts
//! it at the container's `terminationMessagePath`. On exit, `getTerminationMessage` reads at
//! most the last 4096 bytes (`tail.ReadAtMost`). The files stay until the pod is removed, so a
//! crash-looping container leaves one per start. The random names carry no order, but the
//! modification time does. It is the creation time (shortly before the start) when the
//! container wrote nothing, or else the time of its last write (before its finish).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use super::{Error, InstanceTimes, MessageFile, MessageMatch};

/// Bytes kubelet reads from the end of a termination-message file
/// (`kubecontainer.MaxContainerTerminationMessageLength`).
pub const MAX_MESSAGE_BYTES: u64 = 4096;

/// Time allowed between a file's mtime and its instance's start or finish. The API reports
/// times in whole seconds, and the file is created before the runtime creates and starts the
/// container.
// NOTE: 5 s is an estimate of the create-to-start delay of a healthy runtime. A node under
// heavy load can exceed it, and its files are then left unmatched.
pub const MATCH_SLACK: SignedDuration = SignedDuration::from_secs(5);

/// Returns true for kubelet's message file names: exactly 8 lowercase hex digits.
pub fn is_message_file_name(name: &str) -> bool {
    name.len() == 8
        && name
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// Reads one message file: its mtime and its last 4096 bytes.
pub fn read_message_file(path: &Path) -> Result<MessageFile, Error> {
    let mut file = fs_err::File::open(path)?;
    let metadata = file.metadata()?;
    let modified = metadata.modified().map_err(|source| Error::Metadata {
        path: path.to_path_buf(),
        source,
    })?;
    let modified = Timestamp::try_from(modified).map_err(|_| Error::InvalidMtime {
        path: path.to_path_buf(),
    })?;

    let start = metadata.len().saturating_sub(MAX_MESSAGE_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut content = Vec::new();
    file.take(MAX_MESSAGE_BYTES).read_to_end(&mut content)?;

    Ok(MessageFile {
        path: path.to_path_buf(),
        modified,
        content,
    })
}

/// Reads the message files of one container folder, oldest first by mtime (then by name).
/// Entries that are not 8-hex-digit files are ignored; a file that cannot be read is reported
/// and skipped.
pub fn read_message_dir(dir: &Path) -> Result<(Vec<MessageFile>, Vec<Error>), Error> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let is_file = entry.file_type().is_ok_and(|kind| kind.is_file());
        if !is_file || !name.to_str().is_some_and(is_message_file_name) {
            continue;
        }
        match read_message_file(&entry.path()) {
            Ok(file) => files.push(file),
            Err(error) => problems.push(error),
        }
    }
    files.sort_by(|a, b| {
        a.modified
            .cmp(&b.modified)
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok((files, problems))
}

/// Matches a container's message files to its instances.
///
/// When there is one file per start (`latest_restart_count + 1` files), the i-th file by mtime
/// belongs to instance i. This works because kubelet creates the files in start order and
/// instances of one container do not overlap in time. Otherwise
/// each instance of `known` with a start or finish time takes, in start order, the first
/// unmatched file after the previous match whose mtime lies within
/// [`started_at` - slack, `finished_at` + slack]; a missing bound is open. The other files
/// stay unmatched.
pub fn match_message_files(
    files: &[MessageFile],
    latest_restart_count: Option<u32>,
    known: &[InstanceTimes],
) -> Vec<MessageMatch> {
    let mut by_mtime: Vec<usize> = (0..files.len()).collect();
    by_mtime.sort_by_key(|index| files.get(*index).map(|file| file.modified));

    let one_per_start =
        latest_restart_count.is_some_and(|count| u64::from(count) + 1 == files.len() as u64);
    if one_per_start && has_distinct_mtimes(files, &by_mtime) {
        let by_order = match_by_order(&by_mtime);
        if agrees_with_known_times(files, &by_order, known) {
            return by_order;
        }
    }
    match_by_time(files, &by_mtime, known)
}

/// Returns true when no two files share an mtime. Equal mtimes (a copy that did not keep
/// them, such as a git checkout) leave the start order unknown.
fn has_distinct_mtimes(files: &[MessageFile], by_mtime: &[usize]) -> bool {
    by_mtime
        .windows(2)
        .all(|pair| match (files.get(pair[0]), files.get(pair[1])) {
            (Some(a), Some(b)) => a.modified != b.modified,
            _ => false,
        })
}

/// Returns true when every matched instance with known times has its file's mtime inside
/// them, so mtimes that were reset by a copy do not attribute a message to the wrong instance.
fn agrees_with_known_times(
    files: &[MessageFile],
    matches: &[MessageMatch],
    known: &[InstanceTimes],
) -> bool {
    matches.iter().all(|found| {
        let times = known
            .iter()
            .find(|times| times.restart_count == found.restart_count);
        match (times, files.get(found.file_index)) {
            (Some(times), Some(file)) => within(file, times),
            (None, Some(_)) => true,
            (_, None) => false,
        }
    })
}

fn match_by_order(by_mtime: &[usize]) -> Vec<MessageMatch> {
    by_mtime
        .iter()
        .enumerate()
        .filter_map(|(position, file_index)| {
            Some(MessageMatch {
                restart_count: u32::try_from(position).ok()?,
                file_index: *file_index,
            })
        })
        .collect()
}

fn match_by_time(
    files: &[MessageFile],
    by_mtime: &[usize],
    known: &[InstanceTimes],
) -> Vec<MessageMatch> {
    let mut instances: Vec<&InstanceTimes> = known
        .iter()
        .filter(|times| times.started_at.is_some() || times.finished_at.is_some())
        .collect();
    instances.sort_by_key(|times| (times.started_at.or(times.finished_at), times.restart_count));

    let mut matches = Vec::new();
    let mut next = 0;
    for times in instances {
        let found = by_mtime
            .iter()
            .enumerate()
            .skip(next)
            .find(|(_, index)| files.get(**index).is_some_and(|file| within(file, times)));
        if let Some((position, file_index)) = found {
            matches.push(MessageMatch {
                restart_count: times.restart_count,
                file_index: *file_index,
            });
            next = position + 1;
        }
    }
    matches
}

fn within(file: &MessageFile, times: &InstanceTimes) -> bool {
    let after_start = times.started_at.is_none_or(|start| {
        file.modified >= start.checked_sub(MATCH_SLACK).unwrap_or(Timestamp::MIN)
    });
    let before_finish = times.finished_at.is_none_or(|finish| {
        file.modified <= finish.checked_add(MATCH_SLACK).unwrap_or(Timestamp::MAX)
    });
    after_start && before_finish
}
