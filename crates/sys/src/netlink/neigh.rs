//! Neighbours (`RTM_*NEIGH`): the kernel's NDP and ARP caches, so the
//! console can list the hosts on a LAN with their addresses
//! (`cpectl diag`).

use super::consts::*;
use super::error::ParseError;
use super::wire::{RequestBuilder, attr_ip, attributes, take, u16_at};
use std::fmt;
use std::net::IpAddr;

/// `struct ndmsg`: family, padding, ifindex, state, flags, type.
const NDMSG_LEN: usize = 12;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;

/// Neighbour Unreachability Detection state (`NUD_*`, a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NudState(pub u16);

impl NudState {
    /// Address resolution in progress.
    pub const INCOMPLETE: u16 = 0x01;
    /// Confirmed reachable recently.
    pub const REACHABLE: u16 = 0x02;
    /// Not confirmed recently; used until traffic needs it.
    pub const STALE: u16 = 0x04;
    /// Waiting before probing.
    pub const DELAY: u16 = 0x08;
    /// Being probed.
    pub const PROBE: u16 = 0x10;
    /// Resolution failed.
    pub const FAILED: u16 = 0x20;
    /// No resolution needed (multicast, point-to-point).
    pub const NOARP: u16 = 0x40;
    /// Configured, never expires.
    pub const PERMANENT: u16 = 0x80;

    /// Whether a host answered here: it has a link-layer address that was
    /// confirmed or is still being used.
    pub fn is_live(self) -> bool {
        self.0 & (Self::REACHABLE | Self::STALE | Self::DELAY | Self::PROBE | Self::PERMANENT) != 0
    }
}

impl fmt::Display for NudState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u16, &str); 8] = [
            (NudState::REACHABLE, "reachable"),
            (NudState::STALE, "stale"),
            (NudState::DELAY, "delay"),
            (NudState::PROBE, "probe"),
            (NudState::INCOMPLETE, "incomplete"),
            (NudState::FAILED, "failed"),
            (NudState::NOARP, "noarp"),
            (NudState::PERMANENT, "permanent"),
        ];
        match NAMES.iter().find(|(bit, _)| self.0 & bit != 0) {
            Some((_, name)) => f.write_str(name),
            None => write!(f, "state-{:#x}", self.0),
        }
    }
}

/// One neighbour cache entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// Interface index.
    pub index: u32,
    /// The neighbour's IP address.
    pub address: IpAddr,
    /// Its link-layer address, once resolved.
    pub lladdr: Option<Vec<u8>>,
    /// NUD state.
    pub state: NudState,
}

/// Parses the payload of an `RTM_NEWNEIGH` message. An entry without
/// `NDA_DST` is malformed (the kernel always sends it).
pub fn parse_neighbour(payload: &[u8]) -> Result<Neighbour, ParseError> {
    let head = take::<NDMSG_LEN>(payload, 0, "ndmsg")?;
    let family = head[0];
    let index = u32::from_ne_bytes([head[4], head[5], head[6], head[7]]);
    let state = NudState(u16_at(payload, 8, "ndmsg")?);
    let mut address = None;
    let mut lladdr = None;
    let attrs = payload.get(NDMSG_LEN..).unwrap_or(&[]);
    for attr in attributes(attrs, "ndmsg attribute") {
        let (kind, data) = attr?;
        match kind {
            NDA_DST => address = Some(attr_ip(data, family, "NDA_DST")?),
            NDA_LLADDR if data.len() <= 32 => lladdr = Some(data.to_vec()),
            NDA_LLADDR => {
                return Err(ParseError::BadAttribute {
                    what: "NDA_LLADDR",
                    len: data.len(),
                });
            }
            _ => {}
        }
    }
    let address = address.ok_or(ParseError::Truncated {
        what: "NDA_DST",
        need: 1,
        have: 0,
    })?;
    Ok(Neighbour {
        index,
        address,
        lladdr,
        state,
    })
}

pub(crate) fn dump_request(family: u8) -> RequestBuilder {
    let mut m = [0u8; NDMSG_LEN];
    m[0] = family;
    RequestBuilder::new(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP).fixed(&m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(family: u8, dst: &[u8], lladdr: Option<&[u8]>, state: u16) -> Vec<u8> {
        let mut b = vec![family, 0, 0, 0];
        b.extend_from_slice(&7u32.to_ne_bytes());
        b.extend_from_slice(&state.to_ne_bytes());
        b.extend_from_slice(&[0, 1]);
        let mut attr = |kind: u16, data: &[u8]| {
            let len = 4 + data.len();
            b.extend_from_slice(&(len as u16).to_ne_bytes());
            b.extend_from_slice(&kind.to_ne_bytes());
            b.extend_from_slice(data);
            b.resize(b.len().next_multiple_of(4), 0);
        };
        attr(NDA_DST, dst);
        if let Some(l) = lladdr {
            attr(NDA_LLADDR, l);
        }
        b
    }

    #[test]
    fn ndp_and_arp_entries_decode_and_hostile_ones_are_errors() {
        let v6: std::net::Ipv6Addr = "fe80::1".parse().unwrap();
        let mac = [2, 0, 0, 0, 3, 1];
        let n = parse_neighbour(&entry(AF_INET6, &v6.octets(), Some(&mac), 0x02)).unwrap();
        assert_eq!(
            (n.index, n.address, n.lladdr.as_deref(), n.state.to_string()),
            (7, IpAddr::V6(v6), Some(&mac[..]), "reachable".into())
        );
        assert!(n.state.is_live());
        let n = parse_neighbour(&entry(AF_INET, &[192, 168, 1, 10], None, 0x01)).unwrap();
        assert_eq!(n.address, IpAddr::from([192, 168, 1, 10]));
        assert!(!n.state.is_live() && n.lladdr.is_none());
        // Wrong address size for the family, no destination, truncated header.
        assert!(parse_neighbour(&entry(AF_INET, &v6.octets(), None, 2)).is_err());
        assert!(parse_neighbour(&entry(AF_INET, &[], None, 2)).is_err());
        assert!(parse_neighbour(&[AF_INET6, 0, 0]).is_err());
        for cut in 0..40 {
            let b = entry(AF_INET6, &v6.octets(), Some(&mac), 2);
            let _ = parse_neighbour(&b[..cut.min(b.len())]);
        }
    }
}
