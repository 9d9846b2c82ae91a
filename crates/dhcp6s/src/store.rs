//! The server's DUID, kept in `state_dir/dhcp6s/duid`.
//!
//! Clients remember which server answered (Server ID) and some log it; a
//! DUID that changed on every restart would make a field engineer think a
//! second server appeared. The one DUID store of the router
//! (`cpe_sys::duid`) creates it once (a random DUID-UUID) and keeps it
//! until a factory reset.

use std::io;
use std::path::{Path, PathBuf};

use cpe_wire::dhcpv6::Duid;

/// Where the DUID lives under `state_dir`.
pub fn duid_path(state_dir: &Path) -> PathBuf {
    state_dir.join("dhcp6s").join("duid")
}

/// The persisted DUID, or a new DUID-UUID (see `cpe_sys::duid`).
pub fn load_or_create_duid(state_dir: &Path) -> io::Result<Duid> {
    cpe_sys::duid::load_or_create(&duid_path(state_dir))
}
