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

/// Writes a new key file readable by its owner only; never overwrites one.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?
        .write_all(bytes)?;
    Ok(())
}
