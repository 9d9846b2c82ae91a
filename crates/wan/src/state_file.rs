//! Small JSON state files in `state_dir` (the remembered DHCPv4 lease, the
//! live PPPoE session): read leniently, written atomically, removed
//! durably (`cpe_sys::persist::remove_durable`) when there is nothing to
//! remember.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io;
use std::path::Path;

/// The file's value. A missing file is `None`; an unreadable or damaged one
/// is logged and treated as missing (the caller then starts from nothing).
pub fn load<T: DeserializeOwned>(path: &Path) -> Option<T> {
    match cpe_sys::persist::read_optional(path) {
        Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                log::warn!("ignoring damaged {}: {e}", path.display());
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            log::warn!("cannot read {}: {e}", path.display());
            None
        }
    }
}

/// Stores `value` atomically, or with `None` removes the file.
pub fn save<T: Serialize>(path: &Path, value: Option<&T>) -> io::Result<()> {
    match value {
        Some(v) => {
            let bytes = serde_json::to_vec(v).map_err(io::Error::other)?;
            cpe_sys::persist::atomic_write(path, &bytes)
        }
        None => cpe_sys::persist::remove_durable(path),
    }
}
