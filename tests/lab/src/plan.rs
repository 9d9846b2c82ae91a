//! The fixed addressing plan of the standard IPoE topology.
//!
//! Fixed MACs give fixed EUI-64 link-local addresses, so a test (and a person
//! reading its log) knows that `fe80::ff:fe00:101` is the ISP and
//! `fe80::ff:fe00:201` the router's WAN without looking anything up. All
//! global addresses come from the documentation ranges (RFC 3849, RFC 5737).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// ISP side of the WAN link (namespace `isp`).
pub const ISP_IF: &str = "isp0";
/// Router's WAN interface (namespace `rtr`).
pub const WAN_IF: &str = "wan0";
/// Router's LAN bridge.
pub const BRIDGE_IF: &str = "br0";
/// Router-side bridge port towards the first LAN host.
pub const LAN_PORT_IF: &str = "lan0";
/// Router-side bridge port towards the second LAN host.
pub const LAN_PORT2_IF: &str = "lan1";
/// Interface of each LAN host.
pub const HOST_IF: &str = "eth0";

/// MAC of `isp0`.
pub const ISP_MAC: &str = "02:00:00:00:01:01";
/// MAC of `wan0`.
pub const WAN_MAC: &str = "02:00:00:00:02:01";
/// MAC of `br0`.
pub const BRIDGE_MAC: &str = "02:00:00:00:02:02";
/// MAC of `lan0`.
pub const LAN_PORT_MAC: &str = "02:00:00:00:02:10";
/// MAC of `lan1`.
pub const LAN_PORT2_MAC: &str = "02:00:00:00:02:11";
/// MAC of the first LAN host's `eth0`.
pub const HOST_MAC: &str = "02:00:00:00:03:01";
/// MAC of the second LAN host's `eth0`.
pub const HOST2_MAC: &str = "02:00:00:00:04:01";

/// Bridge joining `wan0` and the WAN tap when the router is a QEMU guest.
pub const WAN_BRIDGE_IF: &str = "wanbr";
/// Tap for the guest router's WAN NIC (in namespace `rtr`).
pub const GUEST_WAN_TAP: &str = "tapwan";
/// Tap for the guest router's LAN NIC (in namespace `rtr`, port of `br0`).
pub const GUEST_LAN_TAP: &str = "taplan";
/// MAC of `wan0` in guest-router mode (the guest's WAN NIC takes [`WAN_MAC`]).
pub const PANEL_WAN_MAC: &str = "02:00:00:00:02:81";
/// MAC of `br0` in guest-router mode (the guest's LAN NIC takes [`BRIDGE_MAC`]).
pub const PANEL_BRIDGE_MAC: &str = "02:00:00:00:02:82";
/// MAC of `wanbr`.
pub const PANEL_WAN_BRIDGE_MAC: &str = "02:00:00:00:02:83";
/// Host-side MAC of the WAN tap.
pub const PANEL_WAN_TAP_MAC: &str = "02:00:00:00:02:84";
/// Host-side MAC of the LAN tap.
pub const PANEL_LAN_TAP_MAC: &str = "02:00:00:00:02:85";

/// `wan0`'s MAC as bytes (for DUID-LL).
pub const WAN_MAC_BYTES: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x01];

/// Link-local address of `isp0` (the router's default gateway).
pub const ISP_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x101);
/// Link-local address of `wan0` (next hop for delegated prefixes).
pub const WAN_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x201);
/// Link-local address of `br0` (the LAN's router address).
pub const BRIDGE_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x202);
/// Link-local address of the first LAN host.
pub const HOST_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x301);
/// Link-local address of the second LAN host.
pub const HOST2_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x401);

/// The WAN link's prefix (announced by the ISP's radvd, Kea's subnet).
pub const ISP_LINK_PREFIX: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0), 64);
/// The ISP's static global address on `isp0`.
pub const ISP_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);
/// The router's SLAAC address on `wan0` (EUI-64 in [`ISP_LINK_PREFIX`]).
pub const WAN_SLAAC_ADDR: Ipv6Addr =
    Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0xff, 0xfe00, 0x201);

/// First IA_NA address Kea hands out by default.
pub const NA_POOL_START: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x1000);
/// Last IA_NA address Kea hands out by default.
pub const NA_POOL_END: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x1fff);

/// Default IA_PD pool (delegations are carved out of it).
pub const PD_POOL: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0x1000, 0, 0, 0, 0, 0), 40);
/// A second pool, for renumbering tests.
pub const PD_POOL_RENUMBERED: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0x2000, 0, 0, 0, 0, 0), 40);

/// Upstream DNS server A (on the ISP's loopback).
pub const DNS_A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, 1);
/// Upstream DNS server B (on the ISP's loopback).
pub const DNS_B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, 2);

/// The ISP's IPv4 address on `isp0` (in [`ISP_LINK_PREFIX_V4`]).
pub const ISP_ADDR_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The WAN link's IPv4 prefix (tests configure the router side).
pub const ISP_LINK_PREFIX_V4: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24);
/// First address of the ISP's DHCPv4 pool on the WAN link.
pub const V4_POOL_START: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
/// Last address of the ISP's DHCPv4 pool on the WAN link.
pub const V4_POOL_END: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 199);
/// Upstream DNS server A over IPv4 (ISP loopback).
pub const DNS_A_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// Upstream DNS server B over IPv4 (ISP loopback).
pub const DNS_B_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

/// DUID-LL (type 3, hardware type 1) built from a MAC: stable across
/// restarts, so a server can reserve a prefix for it.
pub fn duid_ll(mac: [u8; 6]) -> Vec<u8> {
    let mut d = vec![0, 3, 0, 1];
    d.extend_from_slice(&mac);
    d
}

/// A DUID-LL of the router WAN's MAC, for peer clients (dhclient) run in
/// the router's place. `cpe` itself uses a DUID-UUID created at first
/// start (its `state_dir/dhcp6c/duid`), which a factory reset renews.
pub fn wan_duid_ll() -> Vec<u8> {
    duid_ll(WAN_MAC_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_locals_are_the_eui64_of_the_macs() {
        for (mac, ll) in [
            (ISP_MAC, ISP_LINK_LOCAL),
            (WAN_MAC, WAN_LINK_LOCAL),
            (BRIDGE_MAC, BRIDGE_LINK_LOCAL),
            (HOST_MAC, HOST_LINK_LOCAL),
            (HOST2_MAC, HOST2_LINK_LOCAL),
        ] {
            let b: Vec<u8> = mac
                .split(':')
                .map(|x| u8::from_str_radix(x, 16).unwrap())
                .collect();
            let eui = [b[0] ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]];
            let mut o = [0u8; 16];
            o[0] = 0xfe;
            o[1] = 0x80;
            o[8..].copy_from_slice(&eui);
            assert_eq!(Ipv6Addr::from(o), ll, "{mac}");
        }
        assert_eq!(wan_duid_ll(), vec![0, 3, 0, 1, 2, 0, 0, 0, 2, 1]);
        assert!(ISP_LINK_PREFIX.contains(&WAN_SLAAC_ADDR));
    }
}
