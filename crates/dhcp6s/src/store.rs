//! The server's DUID, kept in `state_dir/dhcp6s/duid`.
//!
//! Clients remember which server answered (Server ID) and some log it; a
//! DUID that changed on every restart would make a field engineer think a
//! second server appeared. So it is created once and persisted with
//! `cpe_sys::persist::atomic_write`.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use cpe_sys::persist::{atomic_write, read_optional};
use cpe_wire::dhcpv6::{Duid, HW_TYPE_ETHERNET};

/// Where the DUID lives under `state_dir`.
pub fn duid_path(state_dir: &Path) -> PathBuf {
    state_dir.join("dhcp6s").join("duid")
}

fn interface_mac(interface: &str) -> Option<[u8; 6]> {
    if interface.is_empty() || interface.contains('/') || interface.starts_with('.') {
        return None;
    }
    let text = std::fs::read_to_string(Path::new("/sys/class/net").join(interface).join("address"))
        .ok()?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    (parts.next().is_none() && mac != [0; 6]).then_some(mac)
}

/// The persisted DUID, or a new one: DUID-LL from the MAC of `interface`
/// (the LAN bridge: stable, needs no clock), DUID-UUID from random bytes
/// when it has no MAC. An unreadable file is replaced, with a warning.
pub fn load_or_create_duid(state_dir: &Path, interface: &str) -> io::Result<Duid> {
    let path = duid_path(state_dir);
    if let Some(bytes) = read_optional(&path)? {
        match Duid::from_hex(String::from_utf8_lossy(&bytes).trim()) {
            Ok(d) => return Ok(d),
            Err(e) => log::warn!("{} is unusable ({e}); creating a new DUID", path.display()),
        }
    }
    let duid = match interface_mac(interface) {
        Some(mac) => Duid::link_layer(HW_TYPE_ETHERNET, &mac)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
        None => {
            let mut b = [0u8; 16];
            std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
            Duid::uuid(b)
        }
    };
    atomic_write(&path, format!("{duid}\n").as_bytes())?;
    log::info!("created server DUID {duid} in {}", path.display());
    Ok(duid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duid_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("cpe-dhcp6s-duid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create_duid(&dir, "lo-does-not-exist").unwrap();
        assert_eq!(first.duid_type(), 4, "no MAC: DUID-UUID");
        let again = load_or_create_duid(&dir, "lo-does-not-exist").unwrap();
        assert_eq!(first, again);
        std::fs::write(duid_path(&dir), "garbage").unwrap();
        let replaced = load_or_create_duid(&dir, "lo-does-not-exist").unwrap();
        assert_ne!(replaced, first, "a corrupt file is replaced");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
