//! The DHCPv6 DUID store (RFC 8415 11): one identifier per role, created
//! once and kept forever.
//!
//! A DUID that changed would make the ISP see a new customer and hand out a
//! new prefix (client), or make a field engineer think a second server
//! appeared on the LAN (server). So it is read back from its file on every
//! start, and created only when there is none: DUID-LL from the
//! interface's MAC (stable across reflashing, needs no clock), or DUID-UUID
//! from the kernel's entropy when the interface has no MAC. The file holds
//! the DUID in hex on one line and is written with [`atomic_write`], so a
//! power cut leaves the old file or the new one.
//!
//! Both what is read back and the MAC it is built from are validated
//! strictly: an interface name that could leave `/sys/class/net`, a MAC
//! that is not exactly six two-digit hex octets, an all-zero MAC, or a file
//! that is not a DUID is not used (a corrupt file is replaced, with a
//! warning naming it).

use std::io;
use std::path::Path;

use cpe_wire::dhcpv6::{Duid, HW_TYPE_ETHERNET};

use crate::persist::{atomic_write, read_optional};
use crate::random;

/// The MAC of `interface` as sysfs gives it, if it has a usable one.
fn interface_mac(interface: &str) -> Option<[u8; 6]> {
    if interface.is_empty() || interface.starts_with('.') || interface.contains(['/', '\0']) {
        return None;
    }
    let text = std::fs::read_to_string(Path::new("/sys/class/net").join(interface).join("address"))
        .ok()?;
    parse_mac(text.trim())
}

/// `aa:bb:cc:dd:ee:ff`, exactly: six octets of two hex digits, not all zero.
fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for b in &mut mac {
        let p = parts.next()?;
        if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    (parts.next().is_none() && mac != [0; 6]).then_some(mac)
}

/// The DUID persisted at `path`, or a new one created (and persisted) for
/// `interface`. Only an unreadable file (permissions, I/O) or a failed
/// write is an error.
pub fn load_or_create(path: &Path, interface: &str) -> io::Result<Duid> {
    if let Some(bytes) = read_optional(path)? {
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
            random::fill(&mut b)?;
            Duid::uuid(b)
        }
    };
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
        let first = load_or_create(&path, "no-such-if0").unwrap();
        assert_eq!(first.duid_type(), 4, "no MAC: DUID-UUID");
        assert_eq!(load_or_create(&path, "no-such-if0").unwrap(), first);
        std::fs::write(&path, "garbage").unwrap();
        let replaced = load_or_create(&path, "no-such-if0").unwrap();
        assert_ne!(replaced, first, "a corrupt file is replaced");
        assert_eq!(load_or_create(&path, "no-such-if0").unwrap(), replaced);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loopback_has_no_mac_and_names_cannot_escape_sysfs() {
        assert_eq!(interface_mac("lo"), None, "00:00:00:00:00:00");
        for bad in ["", "..", "../../../etc", ".hidden", "a/b", "a\0b"] {
            assert_eq!(interface_mac(bad), None, "{bad:?}");
        }
    }

    /// The looser of the two stores this replaces took `+a` as an octet
    /// and any number of parts before checking for six.
    #[test]
    fn only_six_two_digit_hex_octets_make_a_mac() {
        assert_eq!(
            parse_mac("02:00:5e:10:00:01"),
            Some([2, 0, 0x5e, 0x10, 0, 1])
        );
        for bad in [
            "00:00:00:00:00:00",
            "02:00:5e:10:00",
            "02:00:5e:10:00:01:02",
            "02:00:5e:10:00:+1",
            "2:00:5e:10:00:01",
            "02:00:5e:10:00:001",
            "02-00-5e-10-00-01",
            "",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
