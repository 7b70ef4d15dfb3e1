//! The agent's files, as `/files/*` and the v1 LIST_FILES and READ_FILE calls serve them: only
//! paths inside the agent's work dir (its sandboxes), everything else "not found", as Mesos
//! answers for paths it has not attached.

use super::AgentShared;
use crate::lite::api_error::ApiError;
use axum::http::StatusCode;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Resolves `path` to a file or directory inside the agent's work dir.
pub fn sandbox_path(agent: &AgentShared, path: &str) -> Result<PathBuf, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("File '{path}' not found"));
    let root = agent
        .config
        .work_dir
        .canonicalize()
        .map_err(|_| not_found())?;
    let resolved = Path::new(path).canonicalize().map_err(|_| not_found())?;
    if !resolved.starts_with(&root) {
        return Err(not_found());
    }
    Ok(resolved)
}

/// A directory entry as `ls -l` shows it; owners by name where the host knows them.
pub struct Listed {
    pub path: String,
    pub nlink: u64,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    pub mode: u32,
    pub uid: String,
    pub gid: String,
}

/// A directory's entries sorted by path, or a file's own entry, as Mesos's `browse`.
pub async fn list(agent: &AgentShared, path: &str) -> Result<Vec<Listed>, ApiError> {
    let resolved = sandbox_path(agent, path)?;
    tokio::task::spawn_blocking(move || list_blocking(&resolved))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

fn list_blocking(path: &Path) -> Result<Vec<Listed>, ApiError> {
    let failed = |e: std::io::Error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Failed to list '{}': {e}", path.display()),
        )
    };
    let owners = Owners::of_host();
    let entry = |p: PathBuf, m: std::fs::Metadata| Listed {
        path: p.display().to_string(),
        nlink: m.nlink(),
        size: m.size(),
        mtime: m.mtime(),
        mode: m.mode(),
        uid: owners.user(m.uid()),
        gid: owners.group(m.gid()),
    };
    let metadata = std::fs::metadata(path).map_err(failed)?;
    if !metadata.is_dir() {
        return Ok(vec![entry(path.to_path_buf(), metadata)]);
    }
    let mut listing: Vec<Listed> = std::fs::read_dir(path)
        .map_err(failed)?
        .filter_map(Result::ok)
        .filter_map(|e| Some(entry(e.path(), e.metadata().ok()?)))
        .collect();
    listing.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listing)
}

/// The file's size and up to `length` of its bytes from `offset` (none past the end).
pub async fn read(
    agent: &AgentShared,
    path: &str,
    offset: u64,
    length: u64,
) -> Result<(u64, Vec<u8>), ApiError> {
    let resolved = sandbox_path(agent, path)?;
    if resolved.is_dir() {
        return Err(ApiError::bad_request(format!(
            "Cannot read '{path}': it is a directory"
        )));
    }
    let data = tokio::fs::read(&resolved).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Failed to read file: {e}"),
        )
    })?;
    let size = data.len() as u64;
    let start = offset.min(size) as usize;
    let end = offset.saturating_add(length).min(size) as usize;
    Ok((size, data[start..end].to_vec()))
}

/// User and group names from `/etc/passwd` and `/etc/group`; an id without a name is shown
/// as its number, as Mesos does.
struct Owners {
    users: Vec<(u32, String)>,
    groups: Vec<(u32, String)>,
}

impl Owners {
    fn of_host() -> Owners {
        let table = |file: &str| -> Vec<(u32, String)> {
            std::fs::read_to_string(file)
                .unwrap_or_default()
                .lines()
                .filter_map(|line| {
                    let mut fields = line.split(':');
                    let name = fields.next()?.to_string();
                    let id = fields.nth(1)?.parse().ok()?;
                    Some((id, name))
                })
                .collect()
        };
        Owners {
            users: table("/etc/passwd"),
            groups: table("/etc/group"),
        }
    }

    fn name(table: &[(u32, String)], id: u32) -> String {
        table
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn user(&self, id: u32) -> String {
        Self::name(&self.users, id)
    }

    fn group(&self, id: u32) -> String {
        Self::name(&self.groups, id)
    }
}
