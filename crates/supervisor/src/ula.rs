//! The router's Unique Local Address prefix (RFC 4193).
//!
//! LAN hosts keep a stable address for local traffic even when the ISP
//! renumbers or the WAN is down, so the ULA /48 is generated once and
//! persisted in `state_dir`. RFC 4193 section 3.2.2 suggests hashing a time
//! stamp and an EUI-64; what the RFC requires is that the 40-bit Global ID is
//! pseudo-random, and the kernel's random source gives exactly that.

use std::io;
use std::net::Ipv6Addr;
use std::path::Path;

use ipnet::Ipv6Net;

/// File name of the persisted ULA prefix inside `state_dir`.
pub const ULA_FILE: &str = "ula-prefix";

/// Returns the persisted ULA /48, generating and persisting one on first
/// boot. A corrupt file is replaced (and reported) rather than trusted.
pub fn load_or_create(state_dir: &Path) -> io::Result<Ipv6Net> {
    let path = state_dir.join(ULA_FILE);
    if let Some(bytes) = cpe_sys::persist::read_optional(&path)? {
        match parse(&bytes) {
            Some(p) => return Ok(p),
            None => log::warn!("{} is corrupt; generating a new ULA prefix", path.display()),
        }
    }
    let mut id = [0u8; 5];
    cpe_sys::random::fill(&mut id)?;
    let prefix = prefix_of(id).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    cpe_sys::persist::atomic_write(&path, render(prefix).as_bytes())?;
    log::info!("generated ULA prefix {prefix}");
    Ok(prefix)
}

/// The ULA /48 of a 40-bit Global ID: `fd` + the ID (RFC 4193 3.1, L = 1).
fn prefix_of(global_id: [u8; 5]) -> Result<Ipv6Net, ipnet::PrefixLenError> {
    let mut octets = [0u8; 16];
    octets[0] = 0xfd;
    octets[1..6].copy_from_slice(&global_id);
    Ipv6Net::new(Ipv6Addr::from(octets), 48)
}

/// The file's contents for `prefix`.
fn render(prefix: Ipv6Net) -> String {
    format!("{prefix}\n")
}

fn parse(bytes: &[u8]) -> Option<Ipv6Net> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let p: Ipv6Net = text.parse().ok()?;
    (p.prefix_len() == 48 && p.network().octets()[0] == 0xfd && p.network() == p.addr())
        .then_some(p)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Every prefix the router can generate is accepted when read back,
        /// so a reboot never replaces it (hosts would renumber).
        #[test]
        fn every_generated_prefix_reads_back(id in any::<[u8; 5]>()) {
            let p = prefix_of(id).unwrap();
            prop_assert_eq!(&p.network().octets()[1..6], &id[..]);
            prop_assert_eq!(parse(render(p).as_bytes()), Some(p));
        }
    }

    #[test]
    fn generated_once_then_stable_and_corruption_replaced() {
        let dir = std::env::temp_dir().join(format!("cpe-ula-{}", std::process::id()));
        let a = load_or_create(&dir).unwrap();
        assert_eq!(a.prefix_len(), 48);
        assert_eq!(a.network().octets()[0], 0xfd);
        let b = load_or_create(&dir).unwrap();
        assert_eq!(a, b);
        std::fs::write(dir.join(ULA_FILE), b"2001:db8::/48\n").unwrap();
        let c = load_or_create(&dir).unwrap();
        assert_eq!(c.network().octets()[0], 0xfd);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
