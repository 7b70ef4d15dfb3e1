//! An image's tag is the content hash of its files, and reading and hashing them (the mmrun
//! binary alone is tens of MB) was most of the image check every Docker run starts with. The
//! hash is remembered under a fingerprint of what those files are on disk now — path, size,
//! modification and change times, device and inode of each — so a run whose files have not
//! changed reads none of them. Any write to a file moves its change time, which no one can set
//! back, so a changed file is never taken for the one that was hashed; the worst a lost or
//! unwritable cache costs is hashing again.

use super::context::{self, Entry, Recipe};
use sha2::Digest;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// [`context::content_hash`], remembered in mmrun's cache directory.
pub fn content_hash(recipe: &Recipe, entries: &[Entry]) -> std::io::Result<String> {
    content_hash_in(
        &super::lock::cache_dir().join("image-hashes"),
        recipe,
        entries,
    )
}

/// [`content_hash`] with its cache in `dir`.
fn content_hash_in(dir: &Path, recipe: &Recipe, entries: &[Entry]) -> std::io::Result<String> {
    // A file that cannot be looked at now is left for the hashing to report.
    let Ok(key) = fingerprint(recipe, entries) else {
        return context::content_hash(recipe, entries);
    };
    let remembered = dir.join(&key);
    if let Ok(text) = std::fs::read_to_string(&remembered)
        && is_hash(text.trim())
    {
        return Ok(text.trim().to_string());
    }
    let hash = context::content_hash(recipe, entries)?;
    if let Err(e) = remember(dir, &key, &hash) {
        tracing::debug!("cannot remember the image hash in {}: {e}", dir.display());
    }
    Ok(hash)
}

/// A hash of the recipe, the layout and each file's identity and times (not its bytes).
fn fingerprint(recipe: &Recipe, entries: &[Entry]) -> std::io::Result<String> {
    context::layout_hash(recipe, entries, |hash, source, mode| {
        let m = std::fs::metadata(source)?;
        hash.update(format!(
            "file {mode:o} {}\0{} {} {}.{} {}.{}",
            source.display(),
            m.dev(),
            m.ino(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        ));
        hash.update(format!(" {}", m.len()));
        Ok(())
    })
}

/// Writes the hash under `key`, whole or not at all (a concurrent run reads either).
fn remember(dir: &Path, key: &str, hash: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(format!("{key}.{}.partial", std::process::id()));
    std::fs::write(&partial, hash)?;
    std::fs::rename(&partial, dir.join(key))
}

fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::node_image::context::NODE;

    fn layout_of(file: &Path) -> Vec<Entry> {
        context::with_base(vec![Entry::File {
            path: "/usr/local/bin/mmrun".into(),
            source: file.to_path_buf(),
            mode: 0o755,
        }])
    }

    #[test]
    fn the_remembered_hash_is_the_content_hash_and_is_used_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, file) = (dir.path().join("cache"), dir.path().join("binary"));
        std::fs::write(&file, b"one build").unwrap();
        let entries = layout_of(&file);
        let first = content_hash_in(&cache, &NODE, &entries).unwrap();
        assert_eq!(first, context::content_hash(&NODE, &entries).unwrap());
        // Found again without reading the file: what the cache says is what comes back.
        let key = fingerprint(&NODE, &entries).unwrap();
        let planted = "ab".repeat(32);
        std::fs::write(cache.join(&key), &planted).unwrap();
        assert_eq!(content_hash_in(&cache, &NODE, &entries).unwrap(), planted);
        // Rewritten with the same size: its change time moves, so it is hashed anew.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, b"two build").unwrap();
        let second = content_hash_in(&cache, &NODE, &entries).unwrap();
        assert_ne!(second, planted);
        assert_eq!(second, context::content_hash(&NODE, &entries).unwrap());
        assert_ne!(second, first);
    }

    #[test]
    fn an_unwritable_or_garbled_cache_only_costs_the_hashing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("binary");
        std::fs::write(&file, b"a build").unwrap();
        let entries = layout_of(&file);
        let expected = context::content_hash(&NODE, &entries).unwrap();
        // A file where the cache directory should be: nothing can be written under it.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        assert_eq!(
            content_hash_in(&blocked, &NODE, &entries).unwrap(),
            expected
        );
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(&cache).unwrap();
        let key = fingerprint(&NODE, &entries).unwrap();
        std::fs::write(cache.join(key), "not a hash").unwrap();
        assert_eq!(content_hash_in(&cache, &NODE, &entries).unwrap(), expected);
    }
}
