//! A small pool of read connections to one SQLite file, so requests read in parallel. WAL mode
//! lets any number of readers run at once, and `podmortem serve` never writes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::store::{Error, SqliteStore};

/// Maximum number of open read connections. Each one runs on its own thread of Tokio's
/// blocking pool and keeps its own page cache of up to 64 MiB.
pub const READ_CONNECTIONS: usize = 4;

/// Read connections to the database at one path, opened when first needed.
#[derive(Debug)]
pub struct ReadPool {
    path: PathBuf,
    identity: Option<FileIdentity>,
    idle: Mutex<Vec<SqliteStore>>,
    permits: Arc<Semaphore>,
}

/// Device and inode of the database file, which tell whether the path still names the file
/// that the connections have open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl ReadPool {
    /// Creates a pool of up to `size` connections that starts with `first` and opens the others
    /// at the same path when requests need them.
    pub fn new(first: SqliteStore, size: usize) -> Self {
        let path = first.path().to_owned();
        ReadPool {
            identity: file_identity(&path),
            path,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// Waits until fewer than the pool's size of connections are in use and reserves one.
    pub async fn reserve(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the pool never closes its semaphore")
    }

    /// Takes an idle connection, or opens a new one. Call only while holding a permit from
    /// [`ReadPool::reserve`], which bounds the number of open connections.
    pub fn take(&self) -> Result<SqliteStore, Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(store) => Ok(store),
            None => SqliteStore::open_existing(&self.path),
        }
    }

    /// Returns a connection to the idle list.
    pub fn put_back(&self, store: SqliteStore) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(store);
    }

    /// Checks that the path still names the file the pool opened. Open connections keep
    /// reading a file that was removed or replaced, so only this check notices it.
    pub fn check_file(&self) -> Result<(), std::io::Error> {
        let current = std::fs::metadata(&self.path)?;
        if self.identity.is_some() && file_identity_of(&current) != self.identity {
            return Err(std::io::Error::other(format!(
                "`{}` was replaced by another file since the server opened it: restart the \
                 server to read the new file",
                self.path.display()
            )));
        }
        Ok(())
    }
}

fn file_identity(path: &std::path::Path) -> Option<FileIdentity> {
    std::fs::metadata(path)
        .ok()
        .and_then(|metadata| file_identity_of(&metadata))
}

#[cfg(unix)]
fn file_identity_of(metadata: &std::fs::Metadata) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;

    Some(FileIdentity {
        device: metadata.dev(),
        inode: metadata.ino(),
    })
}

// NOTE: without a file identity outside Unix, `check_file` notices a removed file but not a
// replaced one.
#[cfg(not(unix))]
fn file_identity_of(_metadata: &std::fs::Metadata) -> Option<FileIdentity> {
    None
}
