//! What the WAN daemon takes from an ISP Router Advertisement.
//!
//! The kernel acts on the RA itself (default route, SLAAC address); the
//! daemon reads the same RA to learn what the kernel does not expose: the M
//! and O flags that start DHCPv6, the router lifetime behind a missing
//! default route, and RDNSS servers as a DNS source.

use cpe_wire::nd::{self, NdMessage};
use std::fmt;
use std::net::Ipv6Addr;

/// The parts of a valid RA the WAN state depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaInfo {
    /// The router's link-local address (the IPv6 source).
    pub source: Ipv6Addr,
    /// M flag: addresses via DHCPv6.
    pub managed: bool,
    /// O flag: other configuration via DHCPv6.
    pub other_config: bool,
    /// Router lifetime in seconds; 0 = "not a default router".
    pub router_lifetime: u16,
    /// RDNSS servers with their lifetime in seconds (RFC 8106).
    pub rdnss: Vec<(Ipv6Addr, u32)>,
    /// MTU option, if present.
    pub mtu: Option<u32>,
}

/// Why a received packet was not accepted as an RA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaReject {
    /// RFC 4861 6.1.2: hop limit must be 255 (it was not forwarded).
    HopLimit(u8),
    /// RFC 4861 6.1.2: source must be link-local.
    SourceNotLinkLocal(Ipv6Addr),
    /// The ND codec refused it.
    Malformed(nd::DecodeError),
    /// Valid ND, but not an RA (the socket filter should prevent this).
    NotAnRa,
}

impl fmt::Display for RaReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaReject::HopLimit(h) => write!(f, "hop limit {h}, not 255"),
            RaReject::SourceNotLinkLocal(s) => write!(f, "source {s} is not link-local"),
            RaReject::Malformed(e) => write!(f, "malformed: {e}"),
            RaReject::NotAnRa => f.write_str("not a Router Advertisement"),
        }
    }
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Validates and summarises a received ICMPv6 message (as a raw socket
/// delivers it, without the IPv6 header). `hop_limit` is the IPv6 hop limit
/// from the ancillary data.
pub fn accept_ra(message: &[u8], source: Ipv6Addr, hop_limit: u8) -> Result<RaInfo, RaReject> {
    if hop_limit != 255 {
        return Err(RaReject::HopLimit(hop_limit));
    }
    if !is_link_local(&source) {
        return Err(RaReject::SourceNotLinkLocal(source));
    }
    let ra = match NdMessage::decode(message).map_err(RaReject::Malformed)? {
        NdMessage::RouterAdvertisement(ra) => ra,
        _ => return Err(RaReject::NotAnRa),
    };
    let rdnss = ra
        .rdnss()
        .flat_map(|r| r.servers.iter().map(move |s| (*s, r.lifetime)))
        .collect();
    Ok(RaInfo {
        source,
        managed: ra.managed,
        other_config: ra.other_config,
        router_lifetime: ra.router_lifetime,
        rdnss,
        mtu: ra.mtu(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpe_wire::nd::{NdOption, RecursiveDnsServers, RouterAdvertisement, RouterPreference};

    fn ra_bytes(lifetime: u16) -> Vec<u8> {
        RouterAdvertisement {
            cur_hop_limit: 64,
            managed: true,
            other_config: true,
            preference: RouterPreference::Medium,
            other_flags: 0,
            router_lifetime: lifetime,
            reachable_time: 0,
            retrans_timer: 0,
            options: vec![NdOption::RecursiveDnsServers(RecursiveDnsServers {
                lifetime: 600,
                servers: vec!["2001:db8::53".parse().unwrap()],
            })],
        }
        .to_bytes()
        .unwrap()
    }

    #[test]
    fn valid_ra_is_summarised() {
        let info = accept_ra(&ra_bytes(1800), "fe80::1".parse().unwrap(), 255).unwrap();
        assert!(info.managed && info.other_config);
        assert_eq!(info.router_lifetime, 1800);
        assert_eq!(info.rdnss, vec![("2001:db8::53".parse().unwrap(), 600)]);
    }

    #[test]
    fn forwarded_or_off_link_ras_are_rejected() {
        let b = ra_bytes(1800);
        assert_eq!(
            accept_ra(&b, "fe80::1".parse().unwrap(), 254),
            Err(RaReject::HopLimit(254))
        );
        assert!(matches!(
            accept_ra(&b, "2001:db8::1".parse().unwrap(), 255),
            Err(RaReject::SourceNotLinkLocal(_))
        ));
        assert!(matches!(
            accept_ra(&b[..10], "fe80::1".parse().unwrap(), 255),
            Err(RaReject::Malformed(_))
        ));
    }
}
