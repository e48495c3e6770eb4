//! Files that hold secrets: created with mode 0600 before a byte is written, fsynced.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Creates a file with mode 0600 (before writing anything) and fsyncs it. Fails if it exists.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
