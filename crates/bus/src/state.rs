//! What the router knows, as it travels on the bus.
//!
//! Field names here are part of the `cpectl status --json` contract (see
//! `docs/status-json.md`), so rename nothing without updating that document.

use ipnet::{IpNet, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::time::MonoTime;

/// A deadline that never passes (DHCPv6 lifetime 0xffffffff, ULA prefixes).
pub const INFINITE: MonoTime = MonoTime(u64::MAX);

/// Where the WAN stands, as one word an engineer can grep for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WanState {
    /// No WAN daemon has reported yet (just booted, or it is restarting).
    #[default]
    Unknown,
    /// The link has no carrier or is administratively down.
    Down,
    /// Link up, waiting for the ISP (RA, PPPoE discovery, authentication...).
    Connecting,
    /// Link up and the ISP has given us what we need to route.
    Up,
}

crate::from_json_enum! {
    WanState { Unknown = "unknown", Down = "down", Connecting = "connecting", Up = "up" }
}

/// Facts the WAN daemon learns from the link and the ISP's Router
/// Advertisements (and, on PPPoE, from IPCP/IPV6CP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WanFacts {
    /// "ipoe" or "pppoe", from the config.
    pub mode: String,
    /// The interface the ISP is on (the PPP unit's name on PPPoE).
    pub interface: String,
    /// Overall state.
    pub state: WanState,
    /// Why the state is what it is, in words for the serial console
    /// ("no carrier on wan0", "waiting for RA", "PADO timeout"...).
    pub reason: String,
    /// Whether the kernel reports carrier.
    pub carrier: bool,
    /// Addresses on the WAN interface (global and link-local).
    pub addresses: Vec<IpNet>,
    /// IPv6 default router learned from RAs, if any.
    pub default_router_v6: Option<Ipv6Addr>,
    /// IPv4 gateway (DHCPv4 or IPCP), if any.
    pub default_router_v4: Option<Ipv4Addr>,
    /// The M flag of the last RA seen on the WAN (drives IA_NA "auto").
    pub ra_managed: bool,
    /// The O flag of the last RA seen on the WAN.
    pub ra_other_config: bool,
    /// Router lifetime of the last RA, seconds (0 = not a default router).
    pub ra_router_lifetime: u32,
    /// DNS servers learned on the link (RA RDNSS, IPCP, DHCPv4).
    pub dns_servers: Vec<IpAddr>,
    /// NTP servers learned on the link (DHCPv4 option 42); DHCPv6's
    /// option 56 servers are in [`Dhcp6Facts::ntp_servers`].
    #[serde(default)]
    pub ntp_servers: Vec<IpAddr>,
    /// Link MTU in use on the WAN (1492 or less on PPPoE).
    pub mtu: u32,
    /// IPv6 MTU in effect on the WAN: the ISP RA's MTU option when
    /// applicable (1280..=`mtu`), else `mtu`; 0 = not known (the LAN RA
    /// then follows `mtu`).
    #[serde(default)]
    pub ipv6_mtu: u32,
}

/// One prefix the ISP delegated to us, with absolute deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedPrefix {
    /// The delegated prefix (e.g. a /56).
    pub prefix: Ipv6Net,
    /// When the preferred lifetime runs out.
    pub preferred_until: MonoTime,
    /// When the valid lifetime runs out (the prefix must be withdrawn).
    pub valid_until: MonoTime,
}

/// What the DHCPv6 client knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Dhcp6Facts {
    /// Client state machine state, e.g. "soliciting", "bound", "rebinding".
    pub state: String,
    /// The server we are bound to, DUID in hex.
    pub server_duid: Option<String>,
    /// The prefixes currently delegated.
    pub delegated_prefixes: Vec<DelegatedPrefix>,
    /// Prefixes that were replaced (renumbering) or withdrawn but are still
    /// valid; LAN services keep advertising them deprecated until they expire.
    pub previous_prefixes: Vec<DelegatedPrefix>,
    /// Parts of the delegated prefixes the ISP excluded (RFC 6603 Prefix
    /// Exclude, e.g. its WAN link's /64): no LAN is numbered from them.
    #[serde(default)]
    pub excluded_prefixes: Vec<Ipv6Net>,
    /// IA_NA addresses leased on the WAN.
    pub addresses: Vec<DelegatedAddress>,
    /// DNS servers from option 23.
    pub dns_servers: Vec<Ipv6Addr>,
    /// Domain search list from option 24.
    pub domains: Vec<String>,
    /// NTP servers from option 56 (RFC 5908 server address suboptions;
    /// multicast and FQDN suboptions are not used).
    #[serde(default)]
    pub ntp_servers: Vec<Ipv6Addr>,
    /// The DS-Lite AFTR name from option 64 (RFC 6334), lower case, no
    /// final dot; asked for only when `[wan.ipv4_over_ipv6]` wants it.
    #[serde(default)]
    pub aftr_name: Option<String>,
    /// The MAP-E container (option 94, RFC 7598): rules and Border Relay;
    /// asked for only when `[wan.ipv4_over_ipv6]` wants MAP-E.
    #[serde(default)]
    pub map_e: Option<MapEOffer>,
    /// When we renew (T1) and rebind (T2).
    pub t1: Option<MonoTime>,
    /// See `t1`.
    pub t2: Option<MonoTime>,
}

/// What a DHCPv6 server's MAP-E container (option 94) offers, kept as
/// sent apart from the structure the codec already checked; the rule's
/// arithmetic is applied where it is used ([`crate::map_e`]), so one bad
/// rule is a reason on the console, not a lost lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MapEOffer {
    /// S46 Rules (option 89) in wire order.
    pub rules: Vec<MapEOfferedRule>,
    /// Border Relay addresses (option 90) in wire order.
    pub br: Vec<Ipv6Addr>,
}

/// One S46 Rule of a MAP-E container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEOfferedRule {
    /// Rule IPv6 prefix (host bits cleared).
    pub ipv6_prefix: Ipv6Net,
    /// Rule IPv4 prefix address as sent.
    pub ipv4_prefix: Ipv4Addr,
    /// Rule IPv4 prefix length as sent (0..=32 is valid).
    pub ipv4_len: u8,
    /// EA-bits length as sent.
    pub ea_bits: u8,
    /// PSID offset from S46_PORTPARAMS (option 93), 6 when absent
    /// (RFC 7597 5.1's default).
    pub psid_offset: u8,
    /// The F flag: also a Forwarding Mapping Rule.
    pub fmr: bool,
}

impl MapEOffer {
    /// RFC 7597 appendix A example 1's Basic Mapping Rule (2001:db8::/40,
    /// 192.0.2.0/24, 16 EA bits, PSID offset 6) with BR 2001:db8:ffff::1,
    /// as option 94 carries it: the worked example the unit tests of the
    /// mapping, the softwire choice and the SNAT share (delegated prefix
    /// 2001:db8:12:3400::/56 maps to 192.0.2.18, PSID 0x34).
    pub fn rfc7597_example_1() -> MapEOffer {
        MapEOffer {
            rules: vec![MapEOfferedRule {
                ipv6_prefix: Ipv6Net::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 40)
                    .unwrap_or_default(),
                ipv4_prefix: Ipv4Addr::new(192, 0, 2, 0),
                ipv4_len: 24,
                ea_bits: 16,
                psid_offset: 6,
                fmr: false,
            }],
            br: vec![Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1)],
        }
    }
}

/// An IA_NA address with its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedAddress {
    /// The address.
    pub address: Ipv6Addr,
    /// Preferred lifetime deadline.
    pub preferred_until: MonoTime,
    /// Valid lifetime deadline.
    pub valid_until: MonoTime,
}

/// Where a LAN prefix comes from; RA and firewall treat them differently
/// (a ULA is never routed to the WAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixOrigin {
    /// A /64 carved from the ISP's delegation.
    Delegated,
    /// A /64 from the router's own persisted ULA /48 (RFC 4193).
    Ula,
    /// A /64 listed in `lan.ra.prefixes`.
    Static,
}

/// One /64 on a LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanPrefix {
    /// The /64.
    pub prefix: Ipv6Net,
    /// The router's own address in it (prefix::1).
    pub router_address: Ipv6Addr,
    /// Preferred lifetime deadline (already 0 = in the past when deprecated).
    pub preferred_until: MonoTime,
    /// Valid lifetime deadline.
    pub valid_until: MonoTime,
    /// True for a prefix being phased out after a renumbering.
    pub deprecated: bool,
    /// Where it comes from.
    pub origin: PrefixOrigin,
}

/// Everything a LAN's daemons need, derived by the supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LanFacts {
    /// The LAN interface (e.g. br0).
    pub interface: String,
    /// Which /64 of each delegation this LAN gets.
    pub subnet_id: u64,
    /// All prefixes of this LAN, current ones first.
    pub prefixes: Vec<LanPrefix>,
}

impl LanFacts {
    /// The address `"self"` stands for in RDNSS, DHCPv6 option 23 and DNS
    /// answers: the router's ULA address first (it survives renumbering and
    /// WAN outages), else its address in the first current delegated /64.
    /// Every LAN service uses this one rule so that RA and DHCPv6 announce
    /// the same resolver (clients of every OS must find the same one).
    pub fn self_address(&self) -> Option<Ipv6Addr> {
        let current = || self.prefixes.iter().filter(|p| !p.deprecated);
        current()
            .find(|p| p.origin == PrefixOrigin::Ula)
            .or_else(|| current().find(|p| p.origin == PrefixOrigin::Delegated))
            .or_else(|| current().next())
            .map(|p| p.router_address)
    }
}

/// A host name a LAN host sent with its DHCPv4 request (option 81 or 12), and the
/// address it holds. The name is as the DHCPv4 server keeps it for the
/// console; whether it is a usable DNS label, and whether this host may
/// have it, is the DNS forwarder's decision (`crates/dns/src/local.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseName {
    /// The host name, as sent (cleaned of characters no host name has).
    pub name: String,
    /// The bound address.
    pub address: Ipv4Addr,
}

/// The names of one LAN's bound DHCPv4 leases, from the DHCPv4 server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Dhcp4Names {
    /// The LAN interface.
    pub interface: String,
    /// Bound leases that have a host name, by address.
    pub names: Vec<LeaseName>,
}

/// The snapshot the supervisor pushes to every daemon on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SharedState {
    /// Increases with every change; daemons can log which one they act on.
    pub generation: u64,
    /// WAN facts as last published by the WAN daemon.
    pub wan: WanFacts,
    /// DHCPv6 facts as last published by the DHCPv6 client.
    pub dhcp6: Dhcp6Facts,
    /// One entry per `[[lan]]`, in config order.
    pub lan: Vec<LanFacts>,
    /// Upstream DNS servers learned from the WAN (DHCPv6 23, IPCP, RDNSS),
    /// de-duplicated, in that order of preference.
    pub upstream_dns: Vec<IpAddr>,
    /// Host names of bound DHCPv4 leases, one entry per LAN the DHCPv4
    /// server serves (config order), for the DNS forwarder's local names.
    #[serde(default)]
    pub lease_names: Vec<Dhcp4Names>,
}

/// A fact a daemon publishes; the supervisor merges it into [`SharedState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    /// From the WAN daemon.
    Wan(Box<WanFacts>),
    /// From the DHCPv6 client.
    Dhcp6(Box<Dhcp6Facts>),
    /// From the DHCPv4 server, one LAN at a time.
    Dhcp4Names(Dhcp4Names),
}
