//! Crash-safe persistence for router state (DUID, leases, prefixes, ULA).
//!
//! A home router loses power without warning. Whatever we wrote must be either
//! the old content or the new content after a power cut, never a truncated
//! mix, so every write goes to a temporary file in the same directory, is
//! fsynced, renamed over the target, and the directory is fsynced so the
//! rename itself is durable. A removal is made durable the same way: the
//! unlink, then an fsync of the directory, or the old file can come back
//! after a power cut (ext4, UBIFS and JFFS2 all may lose an unsynced
//! directory change) and a forgotten lease would be used again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Replaces `path` with `data` atomically and durably.
///
/// The temporary file is `<name>.tmp` beside the target; a stale one left by a
/// previous power cut is simply overwritten. Files are created mode 0600
/// because state files can hold secrets (leases, identifiers).
pub fn atomic_write(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = file_name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Removes the state file `path` durably: unlinks it, then fsyncs its
/// directory so the removal survives a power cut. A file already gone is
/// no error, and the directory is still synced (an earlier removal whose
/// sync failed is made durable now); a missing directory means there is
/// nothing to remove.
pub fn remove_durable(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    match File::open(parent_dir(path)) {
        Ok(d) => d.sync_all(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Reads a state file, treating "does not exist" as `None`.
///
/// Callers decide what a missing file means (first boot); any other error
/// (permissions, I/O) is reported so it is not mistaken for a first boot.
pub fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("cpe-persist-{}", std::process::id()));
        let p = dir.join("sub/duid");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(read_optional(&p).unwrap().as_deref(), Some(&b"two"[..]));
        assert!(!dir.join("sub/duid.tmp").exists());
        assert_eq!(read_optional(&dir.join("missing")).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The unlink is observable, the directory fsync is not (only a power
    /// cut would show it): this checks removal, idempotence and errors.
    #[test]
    fn remove_durable_removes_and_tolerates_what_is_already_gone() {
        let dir = std::env::temp_dir().join(format!("cpe-persist3-{}", std::process::id()));
        let p = dir.join("lease.json");
        atomic_write(&p, b"lease").unwrap();
        remove_durable(&p).unwrap();
        assert_eq!(read_optional(&p).unwrap(), None);
        remove_durable(&p).unwrap();
        remove_durable(&dir.join("no-such-dir/lease.json")).unwrap();
        // A directory in the file's place is an error, not a silent success.
        fs::create_dir(dir.join("sub")).unwrap();
        assert!(remove_durable(&dir.join("sub")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_temp_from_power_cut_does_not_matter() {
        let dir = std::env::temp_dir().join(format!("cpe-persist2-{}", std::process::id()));
        let p = dir.join("leases");
        atomic_write(&p, b"good").unwrap();
        // A power cut mid-write leaves a partial temp file; the target is intact.
        fs::write(dir.join("leases.tmp"), b"par").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"good");
        atomic_write(&p, b"newer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"newer");
        fs::remove_dir_all(&dir).unwrap();
    }
}
