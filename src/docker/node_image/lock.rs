//! One node-image build at a time per machine: concurrent runs (parallel CI jobs, a test suite's
//! threads) wait on an exclusive lock on a file instead of racing to build the same image.

use super::NodeImageError;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;

/// Held while checking for and building the image; released on drop (and by the kernel if the
/// process dies, so a crashed build never blocks the next run).
pub struct BuildLock {
    _file: File,
}

/// Takes the lock, waiting for whoever holds it; logs when it has to wait.
pub async fn acquire() -> Result<BuildLock, NodeImageError> {
    let path = lock_path();
    let failed = |source| NodeImageError::Lock {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => return Ok(BuildLock { _file: file }),
        Err(std::fs::TryLockError::Error(e)) => return Err(failed(e)),
        Err(std::fs::TryLockError::WouldBlock) => {}
    }
    tracing::info!("waiting for another mmrun to finish building the node image");
    let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| failed(std::io::Error::other(e)))?
        .map_err(failed)?;
    Ok(BuildLock { _file: file })
}

/// `<cache_dir>/node-image.lock`.
fn lock_path() -> PathBuf {
    cache_dir().join("node-image.lock")
}

/// mmrun's cache directory: `$XDG_CACHE_HOME/mmrun`, else `~/.cache/mmrun`, else under the
/// temp dir.
pub(super) fn cache_dir() -> PathBuf {
    let non_empty = |var| std::env::var_os(var).filter(|v| !v.is_empty());
    let cache = non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("mmrun")
}
