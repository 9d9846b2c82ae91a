//! What one LAN's server answers with, taken from `[lan.dhcpv6]`.

use std::net::{IpAddr, Ipv6Addr};

use cpe_config::{AddrOrSelf, LanDhcpv6};
use cpe_wire::dhcpv6::DomainName;

/// One entry of the DNS list (option 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsEntry {
    /// The router's own address on this LAN, resolved at answer time
    /// because it follows the delegated prefix.
    SelfAddress,
    /// A fixed server.
    Address(Ipv6Addr),
}

/// The values served on one LAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Option 23 entries, in order.
    pub dns: Vec<DnsEntry>,
    /// Option 24.
    pub domain_search: Vec<DomainName>,
    /// Option 56, server address suboptions; empty passes the ISP's on.
    pub ntp: Vec<Ipv6Addr>,
    /// Option 32, seconds.
    pub information_refresh: u32,
}

impl Default for ServerConfig {
    /// The config spec's defaults: the router as DNS, `lan` as search
    /// domain, no NTP, refresh daily.
    fn default() -> Self {
        Self {
            dns: vec![DnsEntry::SelfAddress],
            domain_search: DomainName::from_dotted("lan").into_iter().collect(),
            ntp: Vec::new(),
            information_refresh: 86400,
        }
    }
}

impl ServerConfig {
    /// Maps the validated config. Returns the problems found on the way
    /// (an IPv4 DNS entry or a domain that is not a DNS name; the config
    /// validator rejects both, so these only guard against drift).
    pub fn from_lan(lan: &LanDhcpv6) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let dns = lan
            .dns
            .iter()
            .filter_map(|d| match d {
                AddrOrSelf::SelfAddr => Some(DnsEntry::SelfAddress),
                AddrOrSelf::Addr(IpAddr::V6(a)) => Some(DnsEntry::Address(*a)),
                AddrOrSelf::Addr(IpAddr::V4(a)) => {
                    problems.push(format!("DNS server {a} is IPv4; left out of option 23"));
                    None
                }
            })
            .collect();
        let domain_search = lan
            .domain_search
            .iter()
            .filter_map(|d| match DomainName::from_dotted(d) {
                Ok(n) => Some(n),
                Err(e) => {
                    problems.push(format!("search domain {d:?}: {e}; left out of option 24"));
                    None
                }
            })
            .collect();
        (
            Self {
                dns,
                domain_search,
                ntp: lan.ntp.clone(),
                information_refresh: lan.information_refresh,
            },
            problems,
        )
    }

    /// The NTP servers to announce: the configured ones, else the ISP's
    /// (`wan`, from its option 56). The router serves no NTP itself, so
    /// passing the ISP's on is the one time source it can offer.
    pub fn resolved_ntp<'a>(&'a self, wan: &'a [Ipv6Addr]) -> &'a [Ipv6Addr] {
        if self.ntp.is_empty() { wan } else { &self.ntp }
    }

    /// The DNS servers to announce now: `"self"` replaced by `self_address`
    /// (left out while the LAN has no address yet), duplicates removed.
    pub fn resolved_dns(&self, self_address: Option<Ipv6Addr>) -> Vec<Ipv6Addr> {
        let mut out: Vec<Ipv6Addr> = Vec::with_capacity(self.dns.len());
        for entry in &self.dns {
            let addr = match entry {
                DnsEntry::SelfAddress => self_address,
                DnsEntry::Address(a) => Some(*a),
            };
            if let Some(a) = addr
                && !out.contains(&a)
            {
                out.push(a);
            }
        }
        out
    }
}
