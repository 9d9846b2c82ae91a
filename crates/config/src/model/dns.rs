//! `[dns]`: the DNS forwarder.

use std::net::IpAddr;

use super::AddrOrSelf;

/// `[dns]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dns {
    /// Run the forwarder.
    pub enabled: bool,
    /// Where to answer: `"lan"` (every LAN interface), `"wan"`, `"lo"`, or a
    /// configured interface name. The WAN is only ever included when listed
    /// explicitly (an open resolver on the WAN is an attack amplifier).
    pub listen: Vec<String>,
    /// Where to forward.
    pub upstream: Vec<UpstreamSpec>,
    /// Maximum number of cached records (0 disables the cache).
    pub cache_size: u32,
    /// Domain under which LAN hosts and the router itself are answered.
    pub local_domain: String,
    /// Static names answered locally.
    pub hosts: Vec<HostEntry>,
}

/// One upstream source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum UpstreamSpec {
    /// The servers learned from the WAN (DHCPv6 option 23, IPCP, RA RDNSS),
    /// following every change.
    #[serde(rename = "auto")]
    Auto,
    /// A fixed server. IPv4 stays IPv4 (never IPv4-mapped).
    Addr(IpAddr),
}

/// One entry of `dns.hosts`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HostEntry {
    /// Host name; a single label is answered under `local_domain` too.
    pub name: String,
    /// A/AAAA answers; `"self"` is the router's address on the asking LAN.
    pub addresses: Vec<AddrOrSelf>,
}

/// Forwarder on, answering the LANs, upstream learned from the WAN, 10000
/// cache entries, `lan` as local domain, `router` resolving to the router.
impl Default for Dns {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: vec!["lan".to_owned()],
            upstream: vec![UpstreamSpec::Auto],
            cache_size: 10000,
            local_domain: "lan".to_owned(),
            hosts: vec![HostEntry {
                name: "router".to_owned(),
                addresses: vec![AddrOrSelf::SelfAddr],
            }],
        }
    }
}
