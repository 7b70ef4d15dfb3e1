//! Mesos's fetcher (docs/fetcher.md, src/launcher/fetcher.cpp): before a task's command or
//! executor starts, every `CommandInfo.uris` entry is fetched into its sandbox.
//!
//! - Sources: `http://` and `https://` (redirects followed, only 200 accepted), `file://` and
//!   plain absolute paths (copied). Other schemes (`hdfs://`, `s3://`, …) need Mesos's Hadoop
//!   client, which mmrun does not have: they fail with an error saying so.
//! - The file is named after the URI path's basename, or `output_file` (relative to the
//!   sandbox, never outside it).
//! - `executable` → mode 0755, no extraction. Otherwise, when `extract` (the default), archives
//!   are unpacked into the sandbox by their name's extension: `.tar`, `.tar.gz`/`.tgz`,
//!   `.tar.bz2`/`.tbz2`, `.tar.xz`/`.txz`, `.zip`; a bare `.gz` is gunzipped beside it. As in
//!   Mesos the archive itself stays in the sandbox. Entries that would land outside the sandbox
//!   (`..`, absolute paths) fail the fetch.
//! - `cache` is ignored: there is no fetcher cache, every URI is fetched afresh.
//!
//! The fetcher's log — a line per URI saying what came from where and whether it was
//! extracted — is appended to the sandbox's `stderr`, where Mesos's fetcher writes it too, so
//! it precedes the task's own output.
//!
//! Errors are typed with their cause as `source()`; each level's `Display` leaves the cause
//! out, so `error_chain` renders the whole text Mesos would send ("Failed to fetch '…': …").

use crate::errors::error_chain;
use crate::mesos::task::CommandUri;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a download may go without receiving anything: Mesos's `--fetcher_stall_timeout`
/// default.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a fetch failed. Render it with [`error_chain`]: that is the text a task's status and
/// the sandbox's log carry.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// One URI could not be fetched; the ones before it were.
    #[error("Failed to fetch '{uri}'")]
    Uri {
        uri: String,
        #[source]
        cause: UriError,
    },
    /// The sandbox itself could not be prepared, so nothing was fetched.
    #[error("Failed to prepare the sandbox '{}' for fetching", .sandbox.display())]
    Sandbox {
        sandbox: PathBuf,
        #[source]
        cause: io::Error,
    },
}

/// `url::ParseError`, named through reqwest, which re-exports `Url` but not its error.
type UrlParseError = <reqwest::Url as std::str::FromStr>::Err;

/// Why one URI could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum UriError {
    #[error("Malformed URI")]
    Malformed(#[source] UrlParseError),
    #[error("a file:// URI needs an absolute path (file:///path/to/file), got '{0}'")]
    RelativeFileUri(String),
    #[error(
        "unsupported scheme '{0}://': mmrun's fetcher supports http://, https://, \
         file:// and absolute paths (Mesos fetches other schemes through a Hadoop client, \
         which mmrun does not have); serve the file over HTTP instead"
    )]
    UnsupportedScheme(String),
    #[error(
        "a relative path was given, but mmrun's agent has no --frameworks_home to resolve it \
         against: use an absolute path, a file:// URI or an http(s):// URL instead of '{0}'"
    )]
    RelativePath(String),
    #[error("the URI's path '{0}' has no file name: give the file one with output_file")]
    NoFileName(String),
    #[error(
        "output_file '{0}' must be a relative file path inside the sandbox \
         (no leading '/', no '..')"
    )]
    OutputOutsideSandbox(String),
    #[error("Unable to create subdirectory '{}' in sandbox", .dir.display())]
    Subdirectory {
        dir: PathBuf,
        #[source]
        cause: io::Error,
    },
    #[error("Error downloading resource")]
    Http(#[source] reqwest::Error),
    #[error("Error downloading resource: no data for {STALL_TIMEOUT:?}")]
    Stalled,
    #[error("Error downloading resource, received HTTP return code {0}")]
    HttpStatus(u16),
    #[error("Failed to create '{}'", .path.display())]
    Create {
        path: PathBuf,
        #[source]
        cause: io::Error,
    },
    #[error("Failed to write '{}'", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        cause: io::Error,
    },
    #[error("Failed to copy '{}' to '{}'", .from.display(), .to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        cause: io::Error,
    },
    #[error("Failed to copy '{}' to '{}': the source is not a regular file", .from.display(), .to.display())]
    NotARegularFile { from: PathBuf, to: PathBuf },
    #[error("Failed to chmod executable '{}'", .path.display())]
    Chmod {
        path: PathBuf,
        #[source]
        cause: io::Error,
    },
    #[error("the extraction did not finish")]
    ExtractionAborted(#[source] tokio::task::JoinError),
    #[error("Failed to extract archive '{}' to '{}'", .archive.display(), .into.display())]
    Extract {
        archive: PathBuf,
        into: PathBuf,
        #[source]
        cause: ExtractError,
    },
}

/// Why an archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("not a valid xz file")]
    Xz(#[source] lzma_rs::error::Error),
    #[error("'.gz' alone is no file name to gunzip to")]
    NoGunzipName,
    #[error("gunzip failed")]
    Gunzip(#[source] io::Error),
    #[error("not a valid zip")]
    NotAZip(#[source] zip::result::ZipError),
    #[error(transparent)]
    Zip(zip::result::ZipError),
    #[error("entry '{}' would be written outside the sandbox", .0.display())]
    EntryOutside(PathBuf),
    #[error("entry '{}'", .entry.display())]
    Entry {
        entry: PathBuf,
        #[source]
        cause: io::Error,
    },
}

/// Fetches every URI into `sandbox` (created if needed), in order, stopping at the first
/// failure. Each URI's outcome is appended to `sandbox/stderr`.
pub async fn fetch_uris(uris: &[CommandUri], sandbox: &Path) -> Result<(), FetchError> {
    if uris.is_empty() {
        return Ok(());
    }
    let sandbox_error = |cause| FetchError::Sandbox {
        sandbox: sandbox.to_path_buf(),
        cause,
    };
    std::fs::create_dir_all(sandbox).map_err(sandbox_error)?;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(sandbox.join("stderr"))
        .map_err(sandbox_error)?;
    for uri in uris {
        match fetch_one(uri, sandbox).await {
            Ok(line) => {
                let _ = writeln!(log, "{line}");
            }
            Err(cause) => {
                let error = FetchError::Uri {
                    uri: uri.value.clone(),
                    cause,
                };
                let _ = writeln!(log, "{}", error_chain(&error));
                return Err(error);
            }
        }
    }
    let _ = writeln!(
        log,
        "Successfully fetched all URIs into '{}'",
        sandbox.display()
    );
    Ok(())
}

/// Where a URI's content comes from.
#[derive(Debug, PartialEq)]
enum Source {
    Http(reqwest::Url),
    Local(PathBuf),
}

/// Fetches one URI; returns the log line that says what happened, or the cause of failure.
async fn fetch_one(uri: &CommandUri, sandbox: &Path) -> Result<String, UriError> {
    // Mesos trims leading whitespace from the URI (launcher/fetcher.cpp, `download`).
    let value = uri.value.trim_start();
    let source = parse_source(value)?;
    let name = match &uri.output_file {
        Some(output) => output_path(output)?,
        None => PathBuf::from(basename(&source)?),
    };
    let destination = sandbox.join(&name);
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent).map_err(|cause| UriError::Subdirectory {
            dir: parent.to_path_buf(),
            cause,
        })?;
    }
    match &source {
        Source::Http(url) => download(url, &destination).await?,
        Source::Local(path) => copy(path, &destination).await?,
    }
    let fetched = format!("Fetched '{}' to '{}'", uri.value, destination.display());
    if uri.executable {
        std::fs::set_permissions(&destination, std::fs::Permissions::from_mode(0o755)).map_err(
            |cause| UriError::Chmod {
                path: destination.clone(),
                cause,
            },
        )?;
        return Ok(format!("{fetched} and made it executable"));
    }
    if !uri.extract {
        return Ok(fetched);
    }
    let Some(kind) = ArchiveKind::of(&destination) else {
        return Ok(format!("{fetched} (not an archive, so not extracted)"));
    };
    let (archive, into) = (destination.clone(), sandbox.to_path_buf());
    let target = tokio::task::spawn_blocking(move || extract(kind, &archive, &into))
        .await
        .map_err(UriError::ExtractionAborted)?
        .map_err(|cause| UriError::Extract {
            archive: destination.clone(),
            into: sandbox.to_path_buf(),
            cause,
        })?;
    Ok(format!(
        "{fetched} and extracted it into '{}'",
        target.display()
    ))
}

fn parse_source(value: &str) -> Result<Source, UriError> {
    if value.starts_with("http://") || value.starts_with("https://") {
        let url = reqwest::Url::parse(value).map_err(UriError::Malformed)?;
        return Ok(Source::Http(url));
    }
    if let Some(path) = value.strip_prefix("file://") {
        // `file:///abs/path`, or `file://localhost/abs/path`.
        let path = path.strip_prefix("localhost").unwrap_or(path);
        if !path.starts_with('/') {
            return Err(UriError::RelativeFileUri(value.to_string()));
        }
        return Ok(Source::Local(PathBuf::from(path)));
    }
    if let Some((scheme, _)) = value.split_once("://") {
        return Err(UriError::UnsupportedScheme(scheme.to_string()));
    }
    if value.starts_with('/') {
        return Ok(Source::Local(PathBuf::from(value)));
    }
    Err(UriError::RelativePath(value.to_string()))
}

/// The name a URI's file gets in the sandbox: the last part of its path.
fn basename(source: &Source) -> Result<String, UriError> {
    let path = match source {
        Source::Http(url) => url.path().to_string(),
        Source::Local(path) => path.to_string_lossy().into_owned(),
    };
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." && name != ".." => Ok(name.to_string()),
        _ => Err(UriError::NoFileName(path)),
    }
}

/// `output_file`, checked to stay inside the sandbox.
fn output_path(output: &str) -> Result<PathBuf, UriError> {
    let path = Path::new(output);
    let inside = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if output.is_empty() || !inside || path.file_name().is_none() {
        return Err(UriError::OutputOutsideSandbox(output.to_string()));
    }
    Ok(path.to_path_buf())
}

async fn download(url: &reqwest::Url, destination: &Path) -> Result<(), UriError> {
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(STALL_TIMEOUT)
        .user_agent(concat!("mmrun-fetcher/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(UriError::Http)?;
    let mut response = tokio::time::timeout(STALL_TIMEOUT, client.get(url.clone()).send())
        .await
        .map_err(|_| UriError::Stalled)?
        .map_err(UriError::Http)?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(UriError::HttpStatus(response.status().as_u16()));
    }
    let write_error = |cause| UriError::Write {
        path: destination.to_path_buf(),
        cause,
    };
    let mut file = tokio::fs::File::create(destination)
        .await
        .map_err(|cause| UriError::Create {
            path: destination.to_path_buf(),
            cause,
        })?;
    use tokio::io::AsyncWriteExt;
    while let Some(chunk) = tokio::time::timeout(STALL_TIMEOUT, response.chunk())
        .await
        .map_err(|_| UriError::Stalled)?
        .map_err(UriError::Http)?
    {
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    file.flush().await.map_err(write_error)
}

async fn copy(source: &Path, destination: &Path) -> Result<(), UriError> {
    let failed = |cause| UriError::Copy {
        from: source.to_path_buf(),
        to: destination.to_path_buf(),
        cause,
    };
    let meta = tokio::fs::metadata(source).await.map_err(failed)?;
    if !meta.is_file() {
        return Err(UriError::NotARegularFile {
            from: source.to_path_buf(),
            to: destination.to_path_buf(),
        });
    }
    tokio::fs::copy(source, destination)
        .await
        .map(|_| ())
        .map_err(failed)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ArchiveKind {
    Tar,
    TarGz,
    TarBz2,
    TarXz,
    Zip,
    /// A single gzipped file, not a tarball.
    Gz,
}

impl ArchiveKind {
    /// By the file name's extension, as Mesos decides (case-sensitive, `.tar.gz` before `.gz`).
    fn of(path: &Path) -> Option<ArchiveKind> {
        let name = path.file_name()?.to_str()?;
        let ends = |suffixes: &[&str]| suffixes.iter().any(|s| name.ends_with(s));
        Some(if ends(&[".tar"]) {
            ArchiveKind::Tar
        } else if ends(&[".tar.gz", ".tgz"]) {
            ArchiveKind::TarGz
        } else if ends(&[".tar.bz2", ".tbz2"]) {
            ArchiveKind::TarBz2
        } else if ends(&[".tar.xz", ".txz"]) {
            ArchiveKind::TarXz
        } else if ends(&[".zip"]) {
            ArchiveKind::Zip
        } else if ends(&[".gz"]) {
            ArchiveKind::Gz
        } else {
            return None;
        })
    }
}

/// Unpacks `archive` into `into` (blocking); returns what was written: the directory, or the
/// gunzipped file.
fn extract(kind: ArchiveKind, archive: &Path, into: &Path) -> Result<PathBuf, ExtractError> {
    let open = || File::open(archive);
    match kind {
        ArchiveKind::Tar => untar(open()?, into)?,
        ArchiveKind::TarGz => untar(flate2::read::MultiGzDecoder::new(open()?), into)?,
        ArchiveKind::TarBz2 => untar(bzip2::read::MultiBzDecoder::new(open()?), into)?,
        ArchiveKind::TarXz => {
            // lzma-rs decompresses into a writer, not as a reader: go through an unnamed file
            // beside the sandbox's contents (gone when closed, whatever happens).
            let mut tar = tempfile::tempfile_in(into)?;
            lzma_rs::xz_decompress(&mut BufReader::new(open()?), &mut tar)
                .map_err(ExtractError::Xz)?;
            tar.rewind()?;
            untar(tar, into)?
        }
        ArchiveKind::Zip => unzip(open()?, into)?,
        ArchiveKind::Gz => {
            let name = archive
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".gz"))
                .filter(|n| !n.is_empty())
                .ok_or(ExtractError::NoGunzipName)?;
            let target = into.join(name);
            let mut out = File::create(&target)?;
            io::copy(&mut flate2::read::MultiGzDecoder::new(open()?), &mut out)
                .map_err(ExtractError::Gunzip)?;
            return Ok(target);
        }
    }
    Ok(into.to_path_buf())
}

/// Whether an archive entry's path stays below the directory it is unpacked into.
fn stays_inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn untar(reader: impl Read, into: &Path) -> Result<(), ExtractError> {
    let mut archive = tar::Archive::new(reader);
    archive.set_overwrite(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if !stays_inside(&path) {
            return Err(ExtractError::EntryOutside(path));
        }
        // `unpack_in` also refuses to write through a symlink that leads out of `into`.
        let unpacked = match entry.unpack_in(into) {
            Ok(unpacked) => unpacked,
            Err(cause) => return Err(ExtractError::Entry { entry: path, cause }),
        };
        if !unpacked {
            return Err(ExtractError::EntryOutside(path));
        }
    }
    Ok(())
}

fn unzip(file: File, into: &Path) -> Result<(), ExtractError> {
    let mut archive = zip::ZipArchive::new(file).map_err(ExtractError::NotAZip)?;
    // Check every name first: nothing is written from an archive that tries to escape.
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(ExtractError::Zip)?;
        if entry.enclosed_name().is_none() {
            let name = entry
                .name()
                .map(|n| n.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned());
            return Err(ExtractError::EntryOutside(PathBuf::from(name)));
        }
    }
    archive.extract(into).map_err(ExtractError::Zip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(value: impl Into<String>) -> CommandUri {
        CommandUri::new(value)
    }

    fn file_uri(path: &Path) -> String {
        format!("file://{}", path.display())
    }

    /// A tar with `dir/hello.txt` ("hello") and an executable `dir/run.sh`.
    fn tar_bytes() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut add = |path: &str, mode: u32, data: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(mode);
            header.set_cksum();
            builder.append_data(&mut header, path, data).unwrap();
        };
        add("dir/hello.txt", 0o644, b"hello");
        add("dir/run.sh", 0o755, b"#!/bin/sh\necho ran\n");
        builder.into_inner().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn bzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        lzma_rs::xz_compress(&mut io::Cursor::new(data), &mut out).unwrap();
        out
    }

    fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, data) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    /// A source directory and a sandbox, both temporary.
    struct Dirs {
        source: tempfile::TempDir,
        sandbox: tempfile::TempDir,
    }

    impl Dirs {
        fn new() -> Dirs {
            Dirs {
                source: tempfile::tempdir().unwrap(),
                sandbox: tempfile::tempdir().unwrap(),
            }
        }
        fn put(&self, name: &str, data: &[u8]) -> PathBuf {
            let path = self.source.path().join(name);
            std::fs::write(&path, data).unwrap();
            path
        }
        fn sandbox(&self) -> &Path {
            self.sandbox.path()
        }
        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.sandbox().join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        }
        fn log(&self) -> String {
            self.read("stderr")
        }
    }

    async fn assert_tarball_extracted(name: &str, data: Vec<u8>) {
        let dirs = Dirs::new();
        let path = dirs.put(name, &data);
        fetch_uris(&[uri(file_uri(&path))], dirs.sandbox())
            .await
            .unwrap();
        assert_eq!(dirs.read("dir/hello.txt"), "hello", "{name}");
        let mode = std::fs::metadata(dirs.sandbox().join("dir/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{name}: modes are kept");
        // As in Mesos, the archive stays beside what it held.
        assert!(dirs.sandbox().join(name).is_file(), "{name}");
        let log = dirs.log();
        assert!(
            log.contains(&format!("Fetched '{}' to '", file_uri(&path)))
                && log.contains("and extracted it into"),
            "{name}: {log}"
        );
    }

    #[tokio::test]
    async fn extracts_every_tarball_kind() {
        let tar = tar_bytes();
        assert_tarball_extracted("a.tar", tar.clone()).await;
        assert_tarball_extracted("a.tar.gz", gzip(&tar)).await;
        assert_tarball_extracted("a.tgz", gzip(&tar)).await;
        assert_tarball_extracted("a.tar.bz2", bzip(&tar)).await;
        assert_tarball_extracted("a.tbz2", bzip(&tar)).await;
        assert_tarball_extracted("a.tar.xz", xz(&tar)).await;
        assert_tarball_extracted("a.txz", xz(&tar)).await;
    }

    #[tokio::test]
    async fn extracts_zip() {
        let dirs = Dirs::new();
        let path = dirs.put(
            "a.zip",
            &zip_bytes(&[("dir/hello.txt", b"hello"), ("top.txt", b"top")]),
        );
        fetch_uris(&[uri(path.to_str().unwrap())], dirs.sandbox())
            .await
            .unwrap();
        assert_eq!(dirs.read("dir/hello.txt"), "hello");
        assert_eq!(dirs.read("top.txt"), "top");
    }

    #[tokio::test]
    async fn gunzips_a_bare_gz_beside_it() {
        let dirs = Dirs::new();
        let path = dirs.put("notes.txt.gz", &gzip(b"plain text"));
        fetch_uris(&[uri(file_uri(&path))], dirs.sandbox())
            .await
            .unwrap();
        assert_eq!(dirs.read("notes.txt"), "plain text");
        assert!(dirs.sandbox().join("notes.txt.gz").is_file());
    }

    #[tokio::test]
    async fn extract_false_and_plain_files_are_copied_as_they_are() {
        let dirs = Dirs::new();
        let tgz = gzip(&tar_bytes());
        let archive = dirs.put("kept.tgz", &tgz);
        let plain = dirs.put("plain.txt", b"just text");
        let mut keep = uri(file_uri(&archive));
        keep.extract = false;
        fetch_uris(&[keep, uri(file_uri(&plain))], dirs.sandbox())
            .await
            .unwrap();
        assert!(!dirs.sandbox().join("dir").exists(), "not extracted");
        assert_eq!(std::fs::read(dirs.sandbox().join("kept.tgz")).unwrap(), tgz);
        assert_eq!(dirs.read("plain.txt"), "just text");
        assert!(dirs.log().contains("(not an archive, so not extracted)"));
    }

    #[tokio::test]
    async fn executable_is_made_executable_and_never_extracted() {
        let dirs = Dirs::new();
        let path = dirs.put("tool.tar.gz", &gzip(&tar_bytes()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut tool = uri(file_uri(&path));
        tool.executable = true;
        fetch_uris(&[tool], dirs.sandbox()).await.unwrap();
        let mode = std::fs::metadata(dirs.sandbox().join("tool.tar.gz"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(!dirs.sandbox().join("dir").exists(), "not extracted");
        assert!(dirs.log().contains("and made it executable"));
    }

    #[tokio::test]
    async fn output_file_renames_into_subdirectories_of_the_sandbox() {
        let dirs = Dirs::new();
        let path = dirs.put("source.txt", b"renamed");
        let mut renamed = uri(file_uri(&path));
        renamed.output_file = Some("conf/app.conf".into());
        fetch_uris(&[renamed], dirs.sandbox()).await.unwrap();
        assert_eq!(dirs.read("conf/app.conf"), "renamed");
        assert!(!dirs.sandbox().join("source.txt").exists());
    }

    #[tokio::test]
    async fn output_file_may_not_leave_the_sandbox() {
        let dirs = Dirs::new();
        let path = dirs.put("source.txt", b"x");
        for bad in ["../escape.txt", "/tmp/abs.txt", "a/../../b", ""] {
            let mut escaping = uri(file_uri(&path));
            escaping.output_file = Some(bad.into());
            let error = fetch_uris(&[escaping], dirs.sandbox()).await.unwrap_err();
            let error = error_chain(&error);
            assert!(
                error.starts_with(&format!(
                    "Failed to fetch '{}': output_file",
                    file_uri(&path)
                )) && error.contains("inside the sandbox"),
                "{bad}: {error}"
            );
        }
        assert!(!dirs.sandbox().parent().unwrap().join("escape.txt").exists());
    }

    #[tokio::test]
    async fn archives_reaching_outside_the_sandbox_are_refused() {
        let dirs = Dirs::new();
        // tar's Builder refuses `..` itself: write the name into the header by hand.
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"../escape.txt");
        header.set_size(4);
        header.set_mode(0o644);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, &b"evil"[..]).unwrap();
        let tar = dirs.put("evil.tar", &builder.into_inner().unwrap());
        let zip = dirs.put("evil.zip", &zip_bytes(&[("../escape.txt", b"evil")]));
        for path in [tar, zip] {
            let sandbox = dirs.sandbox().join("inner");
            let error = fetch_uris(&[uri(file_uri(&path))], &sandbox)
                .await
                .unwrap_err();
            let error = error_chain(&error);
            assert!(
                error.contains("entry '../escape.txt' would be written outside the sandbox"),
                "{error}"
            );
            assert!(!dirs.sandbox().join("escape.txt").exists(), "{error}");
            assert!(
                std::fs::read_to_string(sandbox.join("stderr"))
                    .unwrap()
                    .contains(&error)
            );
        }
    }

    #[tokio::test]
    async fn unsupported_schemes_and_relative_paths_are_clear_errors() {
        let dirs = Dirs::new();
        let error = fetch_uris(&[uri("hdfs://namenode/x.tgz")], dirs.sandbox())
            .await
            .unwrap_err();
        let error = error_chain(&error);
        assert!(
            error.starts_with(
                "Failed to fetch 'hdfs://namenode/x.tgz': unsupported scheme 'hdfs://'"
            ),
            "{error}"
        );
        let error = fetch_uris(&[uri("relative/x.txt")], dirs.sandbox())
            .await
            .unwrap_err();
        let error = error_chain(&error);
        assert!(error.contains("use an absolute path"), "{error}");
    }

    #[tokio::test]
    async fn a_missing_file_fails_and_stops_the_fetch() {
        let dirs = Dirs::new();
        let present = dirs.put("present.txt", b"x");
        let missing = dirs.source.path().join("missing.txt");
        let error = fetch_uris(
            &[uri(file_uri(&missing)), uri(file_uri(&present))],
            dirs.sandbox(),
        )
        .await
        .unwrap_err();
        let text = error_chain(&error);
        assert!(
            text.starts_with(&format!(
                "Failed to fetch '{}': Failed to copy",
                file_uri(&missing)
            )) && text.contains("No such file or directory"),
            "{text}"
        );
        assert!(matches!(error, FetchError::Uri { .. }));
        assert!(
            !dirs.sandbox().join("present.txt").exists(),
            "stopped at the first failure"
        );
        assert!(dirs.log().contains(&text));
    }

    /// Serves `/files/<name>` from a map, 404 for anything else.
    async fn serve(files: Vec<(&'static str, Vec<u8>)>) -> (String, tokio::task::JoinHandle<()>) {
        use axum::extract::Path as UrlPath;
        let files = std::sync::Arc::new(files);
        let app = axum::Router::new().route(
            "/files/{name}",
            axum::routing::get(move |UrlPath(name): UrlPath<String>| {
                let files = files.clone();
                async move {
                    match files.iter().find(|(n, _)| *n == name) {
                        Some((_, data)) => Ok(data.clone()),
                        None => Err(axum::http::StatusCode::NOT_FOUND),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/files", listener.local_addr().unwrap());
        let server = crate::node_log::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (base, server)
    }

    #[tokio::test]
    async fn downloads_over_http_and_extracts() {
        let dirs = Dirs::new();
        let (base, server) = serve(vec![
            ("bundle.tgz", gzip(&tar_bytes())),
            ("hello.txt", b"over http".to_vec()),
        ])
        .await;
        fetch_uris(
            &[
                uri(format!("{base}/bundle.tgz")),
                uri(format!("  {base}/hello.txt?version=2")),
            ],
            dirs.sandbox(),
        )
        .await
        .unwrap();
        server.abort();
        assert_eq!(dirs.read("dir/hello.txt"), "hello");
        assert_eq!(dirs.read("hello.txt"), "over http");
        let log = dirs.log();
        assert!(
            log.contains(&format!("Fetched '{base}/bundle.tgz' to '")),
            "{log}"
        );
        assert!(log.contains("Successfully fetched all URIs into"), "{log}");
    }

    #[tokio::test]
    async fn http_errors_name_the_status() {
        let dirs = Dirs::new();
        let (base, server) = serve(vec![]).await;
        let missing = format!("{base}/nothing.tgz");
        let error = fetch_uris(&[uri(&missing)], dirs.sandbox())
            .await
            .unwrap_err();
        let error = error_chain(&error);
        server.abort();
        assert_eq!(
            error,
            format!(
                "Failed to fetch '{missing}': Error downloading resource, received HTTP return code 404"
            )
        );
        // Nothing listens on port 9 of localhost.
        let error = fetch_uris(&[uri("http://127.0.0.1:9/x")], dirs.sandbox())
            .await
            .unwrap_err();
        let error = error_chain(&error);
        assert!(
            error.starts_with(
                "Failed to fetch 'http://127.0.0.1:9/x': Error downloading resource: "
            ),
            "{error}"
        );
    }

    /// https:// goes through rustls (no OpenSSL, no process-wide crypto provider to install):
    /// a TLS handshake with a plain-HTTP server fails cleanly, naming the URI.
    #[tokio::test]
    async fn https_is_spoken_and_its_failures_are_errors() {
        let dirs = Dirs::new();
        let (base, server) = serve(vec![("x", b"x".to_vec())]).await;
        let https = format!("{}/x", base.replacen("http://", "https://", 1));
        let error = fetch_uris(&[uri(&https)], dirs.sandbox())
            .await
            .unwrap_err();
        let error = error_chain(&error);
        server.abort();
        assert!(
            error.starts_with(&format!(
                "Failed to fetch '{https}': Error downloading resource: "
            )),
            "{error}"
        );
    }

    #[test]
    fn names_come_from_the_uri_path() {
        let name = |v: &str| basename(&parse_source(v).unwrap());
        assert_eq!(name("http://h/a/b.tgz?x=1").unwrap(), "b.tgz");
        assert_eq!(name("https://h/dir/").unwrap(), "dir");
        assert_eq!(name("file:///opt/x.zip").unwrap(), "x.zip");
        assert_eq!(name("file://localhost/opt/y").unwrap(), "y");
        assert_eq!(name("/abs/z.txt").unwrap(), "z.txt");
        assert!(
            name("http://h/")
                .unwrap_err()
                .to_string()
                .contains("output_file")
        );
    }

    #[test]
    fn archive_kinds_follow_the_extension() {
        let kind = |n: &str| ArchiveKind::of(Path::new(n));
        assert_eq!(kind("a.tar.gz"), Some(ArchiveKind::TarGz));
        assert_eq!(kind("a.gz"), Some(ArchiveKind::Gz));
        assert_eq!(kind("a.tbz2"), Some(ArchiveKind::TarBz2));
        assert_eq!(kind("a.txz"), Some(ArchiveKind::TarXz));
        assert_eq!(kind("a.ZIP"), None, "case-sensitive, as in Mesos");
        assert_eq!(kind("a.jar"), None);
    }

    #[tokio::test]
    async fn no_uris_touch_nothing() {
        let dirs = Dirs::new();
        let sandbox = dirs.sandbox().join("not-created");
        fetch_uris(&[], &sandbox).await.unwrap();
        assert!(!sandbox.exists());
    }
}
