//! The DHCPv6 DUID store (RFC 8415 11): one identifier per role, created
//! once and kept until a factory reset.
//!
//! A DUID that changed would make the ISP see a new customer and hand out a
//! new prefix (client), or make a field engineer think a second server
//! appeared on the LAN (server). So it is read back from its file on every
//! start, and created only when there is none: a DUID-UUID (RFC 6355, a
//! random RFC 9562 version 4 UUID) from the kernel's entropy. Random rather
//! than from the MAC (DUID-LL): a factory reset wipes the state directory,
//! and the router must then look like a new client (the issue's "new
//! DUID"), which a MAC can never give; no clock either (DUID-LLT), since a
//! router without a battery-backed clock boots in 1970 and two resets
//! would give the same time. The file holds the DUID in hex on one line and
//! is written with [`atomic_write`], so a power cut leaves the old file or
//! the new one; what is read back is validated strictly (a file that is not
//! a DUID is replaced, with a warning naming it).

use std::io;
use std::path::Path;

use cpe_wire::dhcpv6::Duid;

use crate::persist::{atomic_write, read_optional};
use crate::random;

/// A new DUID-UUID: 16 random bytes with the version (4) and variant (10)
/// bits of a random UUID set.
fn new_uuid_duid() -> io::Result<Duid> {
    let mut b = [0u8; 16];
    random::fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(Duid::uuid(b))
}

/// The DUID persisted at `path`, or a new DUID-UUID created (and
/// persisted) there. Only an unreadable file (permissions, I/O) or a failed
/// write is an error.
pub fn load_or_create(path: &Path) -> io::Result<Duid> {
    if let Some(bytes) = read_optional(path)? {
        match Duid::from_hex(String::from_utf8_lossy(&bytes).trim()) {
            Ok(d) => return Ok(d),
            Err(e) => log::warn!("{} is unusable ({e}); creating a new DUID", path.display()),
        }
    }
    let duid = new_uuid_duid()?;
    atomic_write(path, format!("{duid}\n").as_bytes())?;
    log::info!("created DUID {duid} in {}", path.display());
    Ok(duid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_reused_and_a_corrupt_file_replaced() {
        let dir = std::env::temp_dir().join(format!("cpe-sys-duid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("role").join("duid");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.duid_type(), 4, "DUID-UUID");
        assert_eq!(load_or_create(&path).unwrap(), first);
        std::fs::write(&path, "garbage").unwrap();
        let replaced = load_or_create(&path).unwrap();
        assert_ne!(replaced, first, "a corrupt file is replaced");
        assert_eq!(load_or_create(&path).unwrap(), replaced);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What a factory reset does to the state directory: the next start
    /// creates another DUID (a DUID-LL of the same MAC came back equal).
    #[test]
    fn a_wiped_state_directory_gives_a_new_duid() {
        let dir = std::env::temp_dir().join(format!("cpe-sys-duid-reset-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("dhcp6c").join("duid");
        let before = load_or_create(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let after = load_or_create(&path).unwrap();
        assert_ne!(after, before);
        // RFC 6355: type 4, then a 16-octet UUID; version 4, variant 10.
        let b = after.as_bytes();
        assert_eq!((b.len(), &b[..2]), (18, &[0u8, 4][..]));
        assert_eq!(b[2 + 6] >> 4, 4);
        assert_eq!(b[2 + 8] >> 6, 0b10);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
