//! What the client keeps in `state_dir/dhcp6c/`: its DUID and its lease.
//!
//! Both are written with `cpe_sys::persist::atomic_write`, so a power cut
//! leaves the old or the new file, never half of one; a lease that ends
//! is removed with `remove_durable` (unlink, then a directory fsync), so
//! it cannot come back after a power cut. The DUID (kept by
//! `cpe_sys::duid`) is created once and never changes (a new DUID makes the ISP see a new customer and
//! hand out a new prefix); the lease is rewritten on every change so a
//! restarted client resumes instead of starting over (RFC 9096).

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cpe_sys::persist::{atomic_write, read_optional, remove_durable};
use cpe_wire::dhcpv6::Duid;

use crate::lease::Lease;
use crate::saved::SavedLease;

/// Paths of the client's state files.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Seconds since the Unix epoch by the wall clock (0 if it is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Store {
    /// The store under `state_dir/dhcp6c`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("dhcp6c"),
        }
    }

    fn duid_path(&self) -> PathBuf {
        self.dir.join("duid")
    }

    fn lease_path(&self) -> PathBuf {
        self.dir.join("lease.json")
    }

    /// The persisted DUID, or a new DUID-UUID (see `cpe_sys::duid`: a
    /// factory reset, which wipes the store, gives the router a new one).
    pub fn load_or_create_duid(&self) -> io::Result<Duid> {
        cpe_sys::duid::load_or_create(&self.duid_path())
    }

    /// The lease saved before a restart, rebuilt for engine time `now`.
    pub fn load_lease(&self, now: Instant) -> Option<Lease> {
        let bytes = match read_optional(&self.lease_path()) {
            Ok(b) => b?,
            Err(e) => {
                log::warn!("cannot read {}: {e}", self.lease_path().display());
                return None;
            }
        };
        match serde_json::from_slice::<SavedLease>(&bytes) {
            Ok(saved) => saved.restore(now, unix_now()),
            Err(e) => {
                log::warn!("ignoring corrupt {}: {e}", self.lease_path().display());
                None
            }
        }
    }

    /// Saves `lease` as of `now`, or removes the file when there is none.
    pub fn save_lease(&self, lease: Option<&Lease>, now: Instant) -> io::Result<()> {
        match lease {
            Some(l) => {
                let saved = SavedLease::capture(l, now, unix_now());
                let json = serde_json::to_vec_pretty(&saved)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                atomic_write(&self.lease_path(), &json)
            }
            None => remove_durable(&self.lease_path()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::{DelegatedPrefix, deadline_after};

    #[test]
    fn duid_is_created_once_and_lease_round_trips() {
        let dir = std::env::temp_dir().join(format!("dhcp6c-store-{}", std::process::id()));
        let store = Store::new(&dir);
        let a = store.load_or_create_duid().unwrap();
        assert_eq!(a.duid_type(), 4, "no MAC: DUID-UUID");
        assert_eq!(store.load_or_create_duid().unwrap(), a, "persisted");

        let now = Instant::now();
        let lease = Lease {
            server_id: a.clone(),
            prefixes: vec![DelegatedPrefix {
                prefix: "2001:db8:1::/56".parse().unwrap(),
                preferred_until: deadline_after(now, 100),
                valid_until: deadline_after(now, 200),
            }],
            addresses: vec![],
            t1: deadline_after(now, 50),
            t2: None,
            dns_servers: vec![],
            domains: vec![],
            excluded: vec![],
            ntp_servers: vec![],
        };
        store.save_lease(Some(&lease), now).unwrap();
        let back = store.load_lease(now).unwrap();
        assert_eq!(back.prefixes[0].prefix, lease.prefixes[0].prefix);
        assert_eq!(back.t2, None);
        store.save_lease(None, now).unwrap();
        assert!(store.load_lease(now).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
