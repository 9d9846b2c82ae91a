//! Real peers from Debian packages, configured for the lab.
//!
//! Each `start` writes the peer's configuration into the lab's temp
//! directory (never under /etc or /var), checks it with the tool's own
//! config checker where one exists, starts the process in the namespace and
//! waits until it is ready (socket bound, pid file written). A peer that
//! fails to start fails the test with its own log lines in the message.

pub mod anchors;
pub mod chrony;
pub mod kea;
pub mod radvd;
pub mod udhcpc;
pub mod unbound;

use std::path::Path;

use crate::error::{Context, Result};

/// Writes a config file by writing a sibling temp file and renaming it
/// over the target, so a peer reloading at that moment reads the old or the
/// new file, never half of one. No fsync: these files live in a throwaway
/// temp directory, not on a router's flash (product state uses
/// `cpe_sys::persist::atomic_write`; the lab deliberately does not depend on
/// product crates so it still builds while one of them is broken).
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text).context(format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).context(format!("renaming {} into place", tmp.display()))
}
