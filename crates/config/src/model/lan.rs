//! `[[lan]]` and its sub-tables.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use super::AddrOrSelf;

/// One `[[lan]]` entry: a LAN link (usually a bridge) the router serves.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Lan {
    /// The LAN interface; unique across LANs and never the WAN interface.
    pub interface: String,
    /// Which /64 of the delegated prefix (and of the ULA /48) this LAN gets:
    /// the LAN prefix is the delegated prefix with `subnet_id` in the bits
    /// between the delegated length and 64. Unique across LANs; below
    /// `2^(64 - wan.dhcpv6.prefix_hint)` when a prefix is requested.
    pub subnet_id: u16,
    /// Also number the LAN from the router's ULA /48 (generated once,
    /// persisted in `state_dir`), so local traffic survives renumbering and
    /// WAN outages.
    pub ula: bool,
    /// `lan.ula = "fdxx:xxxx:xxxx::/48"`: number the LAN from this /48
    /// instead of the generated one (RFC 7084 ULA-3: the ULA prefix value
    /// configurable), e.g. to keep the addresses of a replaced router.
    /// `Some` only with `ula = true`.
    pub ula_prefix: Option<Ipv6Net>,
    /// Router Advertisements sent on this LAN.
    pub ra: LanRa,
    /// IPv4 on this LAN; `None` when the file says `ipv4 = false`.
    pub ipv4: Option<LanIpv4>,
    /// The stateless DHCPv6 server on this LAN.
    pub dhcpv6: LanDhcpv6,
}

/// `[lan.ra]`: Router Advertisement contents and timing (RFC 4861 6.2.1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LanRa {
    /// Send RAs on this LAN.
    pub enabled: bool,
    /// M flag. Always false in a loadable config: we ship no stateful DHCPv6
    /// server, and M=1 without one leaves hosts waiting for addresses.
    pub managed: bool,
    /// O flag: hosts should ask the stateless DHCPv6 server for DNS, NTP and
    /// domain search.
    pub other_config: bool,
    /// Default Router Preference (RFC 4191).
    pub preference: RouterPreference,
    /// MinRtrAdvInterval, seconds (3..=0.75 × max_interval).
    pub min_interval: u32,
    /// MaxRtrAdvInterval, seconds (4..=1800).
    pub max_interval: u32,
    /// Router Lifetime, seconds: 0 (not a default router) or
    /// max_interval..=9000.
    pub router_lifetime: u32,
    /// What to put in the MTU option.
    pub mtu: RaMtu,
    /// RDNSS option (RFC 8106) addresses, IPv6 only.
    pub rdnss: Vec<AddrOrSelf>,
    /// DNSSL option (RFC 8106) domains.
    pub dnssl: Vec<String>,
    /// Extra static /64 prefixes advertised next to the ones derived from
    /// the delegated prefix and the ULA.
    pub prefixes: Vec<Ipv6Net>,
    /// PIO A flag of every prefix on this LAN (RFC 4861 4.6.2; RFC 7084 L-6
    /// wants it set by default and L-7 user configurable): hosts form
    /// addresses from the prefix by SLAAC.
    pub autonomous: bool,
    /// PIO L flag of every prefix on this LAN (RFC 7084 L-6/L-7): hosts take
    /// the prefix as on-link. With false they send even their neighbours'
    /// traffic through the router (RFC 5942 section 4).
    pub on_link: bool,
}

/// RFC 4191 Default Router Preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouterPreference {
    /// Lose to other routers (a backup router).
    Low,
    /// The normal value.
    Medium,
    /// Win over ordinary routers, e.g. over a PC sharing its connection.
    High,
}

/// The RA MTU option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum RaMtu {
    /// Advertise the WAN MTU (`"auto"`), so LAN hosts do not send packets the
    /// PPPoE link would have to fragment or drop.
    #[serde(rename = "auto")]
    Auto,
    /// Advertise this value (1280..=9000).
    Value(u32),
    /// Send no MTU option (`"off"`).
    #[serde(rename = "off")]
    Off,
}

/// `[lan.ipv4]`: IPv4 on the LAN and its DHCPv4 server.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LanIpv4 {
    /// The router's address and the LAN subnet, e.g. `192.168.1.1/24`.
    pub address: Ipv4Net,
    /// Run the DHCPv4 server on this LAN.
    pub dhcp: bool,
    /// First and last address the server hands out (inclusive), inside the
    /// subnet, not containing the router's address.
    pub pool: (Ipv4Addr, Ipv4Addr),
    /// DHCPv4 lease time, seconds (120..=31536000).
    pub lease_time: u32,
}

/// `[lan.dhcpv6]`: the stateless DHCPv6 server (RFC 8415 Information-Request).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LanDhcpv6 {
    /// Whether the server answers on this LAN.
    pub mode: Dhcpv6Mode,
    /// DNS Recursive Name Server option (23), IPv6 only.
    pub dns: Vec<AddrOrSelf>,
    /// Domain Search List option (24).
    pub domain_search: Vec<String>,
    /// NTP servers (option 56, server address suboption).
    pub ntp: Vec<Ipv6Addr>,
    /// Information Refresh Time option (32), seconds (600..=4294967295;
    /// 4294967295 means infinity).
    pub information_refresh: u32,
}

/// What the LAN DHCPv6 server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dhcpv6Mode {
    /// Answer Information-Requests (DNS, domain search, NTP).
    Stateless,
    /// No DHCPv6 server on this LAN.
    Off,
}

/// `br0`, subnet 1, ULA on, and the defaults of each sub-table: the LAN
/// `[[lan]]` alone gives. It is the base of a daemon's config projection
/// (`cpe_bus::Daemon::project`): a LAN field the daemon does not declare
/// holds this value.
impl Default for Lan {
    fn default() -> Self {
        Self {
            interface: "br0".to_owned(),
            subnet_id: 1,
            ula: true,
            ula_prefix: None,
            ra: LanRa::default(),
            ipv4: Some(LanIpv4::default()),
            dhcpv6: LanDhcpv6::default(),
        }
    }
}

/// RA on, O=1, medium preference, 200/600 s intervals, 1800 s lifetime, MTU
/// from the WAN, the router as RDNSS, `lan` as DNSSL. (The reader derives
/// the interval/lifetime defaults from `max_interval` and the DNSSL default
/// from `dns.local_domain`; these are the values with everything default.)
impl Default for LanRa {
    fn default() -> Self {
        Self {
            enabled: true,
            managed: false,
            other_config: true,
            preference: RouterPreference::Medium,
            min_interval: 200,
            max_interval: 600,
            router_lifetime: 1800,
            mtu: RaMtu::Auto,
            rdnss: vec![AddrOrSelf::SelfAddr],
            dnssl: vec!["lan".to_owned()],
            prefixes: Vec::new(),
            autonomous: true,
            on_link: true,
        }
    }
}

/// `192.168.1.1/24`, DHCP on, pool .100-.199, 12 h leases.
impl Default for LanIpv4 {
    fn default() -> Self {
        Self {
            address: Ipv4Net::new(Ipv4Addr::new(192, 168, 1, 1), 24)
                .unwrap_or_else(|_| Ipv4Net::default()),
            dhcp: true,
            pool: (
                Ipv4Addr::new(192, 168, 1, 100),
                Ipv4Addr::new(192, 168, 1, 199),
            ),
            lease_time: 43200,
        }
    }
}

/// Stateless server on, the router as DNS, `lan` as search domain, no NTP,
/// refresh daily.
impl Default for LanDhcpv6 {
    fn default() -> Self {
        Self {
            mode: Dhcpv6Mode::Stateless,
            dns: vec![AddrOrSelf::SelfAddr],
            domain_search: vec!["lan".to_owned()],
            ntp: Vec::new(),
            information_refresh: 86400,
        }
    }
}
