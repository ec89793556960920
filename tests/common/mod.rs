//! Helpers shared by the integration tests: locating the real cases and laying out their node
//! folders with the modification times kubelet would have left.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use std::path::{Path, PathBuf};

/// Returns the folder holding the real cases.
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cases")
}

/// Returns the path of one file or folder of the real cases, such as
/// `01-oomkilled-memory-limit.json`.
pub fn case_path(name: &str) -> PathBuf {
    let path = cases_dir().join(name);
    assert!(path.exists(), "missing test data `{}`", path.display());
    path
}

/// Copies the node folder of a case (`24-rotated-logs`) into a new temporary folder and sets
/// each file's modification time from the case's `.mtimes.tsv`, because git does not keep
/// mtimes. Returns the temporary folder, whose root is the copied node root.
pub fn node_case(name: &str) -> tempfile::TempDir {
    let source = case_path(name);
    let target = tempfile::tempdir().expect("create a temporary folder");
    copy_tree(&source, target.path());

    let mtimes = cases_dir().join(format!("{name}.mtimes.tsv"));
    let table = std::fs::read_to_string(&mtimes)
        .unwrap_or_else(|error| panic!("read `{}`: {error}", mtimes.display()));
    for (number, line) in table.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (path, time) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("`{}` line {}: no tab", mtimes.display(), number + 1));
        let time: jiff::Timestamp = time.trim().parse().expect("an RFC 3339 time");
        let mtime =
            filetime::FileTime::from_unix_time(time.as_second(), time.subsec_nanosecond() as u32);
        filetime::set_file_mtime(target.path().join(path), mtime).expect("set mtime");
    }
    target
}

fn copy_tree(source: &Path, target: &Path) {
    for entry in std::fs::read_dir(source).expect("read the case folder") {
        let entry = entry.expect("read a folder entry");
        let destination = target.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&destination).expect("create a folder");
            copy_tree(&entry.path(), &destination);
        } else {
            std::fs::copy(entry.path(), &destination).expect("copy a file");
            let mut permissions = std::fs::metadata(&destination).unwrap().permissions();
            #[allow(
                clippy::permissions_set_readonly_false,
                reason = "test copies must be writable"
            )]
            permissions.set_readonly(false);
            std::fs::set_permissions(&destination, permissions).unwrap();
        }
    }
}
