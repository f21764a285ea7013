//! Directories of key files, one key a file named by its key id: the shape both
//! the JWT signing keys and the field-encryption keys take, so that rotating
//! either is "add a newer file, later delete the old one".

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The files of `dir` with this extension, as `(kid, path)`, sorted by kid (the
/// last is the newest, since generated kids carry a timestamp).
pub fn key_files(dir: &Path, extension: &str) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == extension) {
            let kid = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if kid.is_empty()
                || !kid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!(
                    "{}: a key file's name is its kid and must be letters, digits, `-` or `_`",
                    path.display()
                );
            }
            found.push((kid, path));
        }
    }
    found.sort();
    Ok(found)
}

/// A kid for a key made now: a prefix and the Unix time, so newer sorts later.
pub fn new_kid(prefix: &str) -> anyhow::Result<String> {
    Ok(format!(
        "{prefix}{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
    ))
}

/// Makes the directory's first key with `make` (a kid and the file's bytes)
/// unless it has a key already (a file with `extension`); returns the kid if
/// it made one.
///
/// Servers started together on one empty directory (replicas sharing a volume,
/// the three-replica test) each found it empty and wrote a key of their own:
/// within one second their kids were equal and all but one failed to start
/// ("File exists"); across a second boundary each signed, or encrypted, with a
/// key the others had not loaded, so tokens and encrypted fields did not work
/// across replicas. So the check and the write happen under an exclusive lock
/// on `.keel-keys.lock` in the directory, and [`write_private`] lets a key
/// appear under its name only once written. A directory that has a key is
/// never locked, so a read-only mount (a Kubernetes Secret) keeps working.
pub fn ensure_first_key(
    dir: &Path,
    extension: &str,
    make: impl FnOnce() -> anyhow::Result<(String, Vec<u8>)>,
) -> anyhow::Result<Option<String>> {
    if !key_files(dir, extension)?.is_empty() {
        return Ok(None);
    }
    let lock_path = dir.join(".keel-keys.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    // Another server may have made the key while this one waited.
    if !key_files(dir, extension)?.is_empty() {
        return Ok(None);
    }
    let (kid, bytes) = make()?;
    write_private(&dir.join(format!("{kid}.{extension}")), &bytes)?;
    Ok(Some(kid))
    // The lock is released when `lock` is dropped.
}

/// Writes a new key file readable by its owner only; never overwrites one.
/// The bytes go to a temporary name first and the file is renamed into place,
/// so no reader ever sees a key file half written.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    if path.exists() {
        bail!("{} exists already", path.display());
    }
    let partial = path.with_extension(format!("partial-{}", uuid::Uuid::now_v7().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&partial).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&partial, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    renamed.with_context(|| format!("creating {}", path.display()))
}
