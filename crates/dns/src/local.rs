//! Names the router answers itself: `router.<local_domain>`, configured
//! hosts, their PTR records, and NXDOMAIN for anything else under the local
//! domain or in private reverse space (RFC 6303), so LAN names never leak to
//! the ISP's resolver. `self` is every current router address on the LAN
//! the query arrived on (see `LocalNames::resolve_self`), which stays right
//! when the delegated prefix changes.

use crate::message::Answer;
use cpe_wire::dns::{CLASS_IN, NameBuf, Rcode, Rtype, rcode, rtype};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TTL of local answers: short, because `self` follows renumbering.
pub const LOCAL_TTL: u32 = 60;

/// Negative TTL of local answers (RFC 2308 section 5: the lesser of the
/// SOA's TTL and its MINIMUM, both set to this). As short as positive
/// answers: a name a DHCPv4 client is about to register must not stay
/// "nonexistent" in a host's cache for long.
pub const NEGATIVE_TTL: u32 = LOCAL_TTL;

/// SOA timers other than MINIMUM. Nothing transfers these zones, so they
/// only need to be plausible (RFC 6303 section 3 uses the same values).
const SOA_REFRESH: u32 = 3600;
const SOA_RETRY: u32 = 1200;
const SOA_EXPIRE: u32 = 604_800;

/// An address of a local host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAddr {
    /// The router's own current addresses on the LAN the query came in on.
    SelfAddr,
    /// A fixed address.
    Addr(IpAddr),
}

/// Local name configuration (the engine's own, independent of the config
/// crate's types).
#[derive(Debug, Clone, Default)]
pub struct LocalConfig {
    /// Local domain, e.g. "lan". Empty disables local names.
    pub domain: String,
    /// Hosts: name relative to the domain (or a full name if it has a dot)
    /// with its addresses.
    pub hosts: Vec<(String, Vec<HostAddr>)>,
}

/// Compiled local names.
#[derive(Debug, Clone, Default)]
pub struct LocalNames {
    domain: Option<NameBuf>,
    hosts: Vec<(NameBuf, Vec<HostAddr>)>,
    /// The router's LAN addresses by interface index, learned by the driver.
    lan_addrs: Vec<(u32, IpAddr)>,
    /// Names of DHCPv4 leases (`label.domain`) with their holders, in the
    /// order they were granted.
    leased: Vec<(NameBuf, Ipv4Addr)>,
    /// Claims refused at the last update, each logged once.
    refused: Vec<(String, Ipv4Addr)>,
}

/// Why a DHCPv4 client's name is not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not one RFC 1035 label (letters, digits, inner hyphens, 1-63).
    NotALabel,
    /// The router's own name (`router`, the system host name).
    RouterName,
    /// A name configured in `[dns] hosts`.
    StaticHost,
    /// Another live lease had the name first.
    Taken,
}

impl Refusal {
    /// Stable snake_case word for logs and status.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotALabel => "not_a_label",
            Self::RouterName => "router_name",
            Self::StaticHost => "static_host",
            Self::Taken => "taken",
        }
    }
}

/// The DNS label for a host name a DHCPv4 client sent: its first label
/// (clients send `laptop` or `laptop.example.com`; only the host part is
/// theirs to choose), lowercase, if that is an RFC 1035 label (RFC 1123
/// 2.1 allows a leading digit). Anything else, e.g. `my_pc`, an empty
/// label or 64 characters, is refused, not repaired: a repaired name is
/// one the client never asked for.
pub fn lease_label(name: &str) -> Option<String> {
    let label = name.split('.').next()?;
    let b = label.as_bytes();
    let ok = (1..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b.first() != Some(&b'-')
        && b.last() != Some(&b'-');
    ok.then(|| label.to_ascii_lowercase())
}

impl LocalNames {
    /// Compiles the configuration; host names that are not valid DNS names
    /// are skipped with a warning.
    pub fn new(cfg: &LocalConfig) -> LocalNames {
        let domain = if cfg.domain.is_empty() {
            None
        } else {
            NameBuf::from_text(&cfg.domain).map(|d| d.to_lowercase())
        };
        let mut hosts = Vec::new();
        let mut has_router = false;
        for (name, addrs) in &cfg.hosts {
            let full = match (&domain, name.contains('.')) {
                (Some(_), false) => format!("{name}.{}", cfg.domain),
                _ => name.clone(),
            };
            match NameBuf::from_text(&full) {
                Some(n) => {
                    has_router |= name == "router";
                    hosts.push((n.to_lowercase(), addrs.clone()));
                }
                None => {
                    log::warn!("local host name {full:?} is not a valid DNS name, skipped")
                }
            }
        }
        if !has_router && let Some(n) = NameBuf::from_text(&format!("router.{}", cfg.domain)) {
            hosts.push((n.to_lowercase(), vec![HostAddr::SelfAddr]));
        }
        LocalNames {
            domain,
            hosts,
            lan_addrs: Vec::new(),
            leased: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// Replaces the names of DHCPv4 leases (label as sent, address held).
    /// A name that is kept by the same address keeps it; new claims are
    /// granted in the order given, first come first served, unless the
    /// name is the router's, a configured host's or already held. Returns
    /// the refusals not refused at the previous update, for the caller to
    /// log (so each is logged once while it lasts).
    pub fn set_lease_names(
        &mut self,
        names: &[(String, Ipv4Addr)],
    ) -> Vec<(String, Ipv4Addr, Refusal)> {
        let Some(domain) = self.domain.clone() else {
            self.leased.clear();
            return Vec::new();
        };
        let claims: Vec<(Option<NameBuf>, &str, Ipv4Addr)> = names
            .iter()
            .map(|(n, a)| {
                let full = lease_label(n)
                    .and_then(|l| NameBuf::from_text(&format!("{l}.{}", domain_text(&domain))))
                    .map(|f| f.to_lowercase());
                (full, n.as_str(), *a)
            })
            .collect();
        // Holders that still hold keep their names, whatever the order.
        let mut next: Vec<(NameBuf, Ipv4Addr)> = self
            .leased
            .iter()
            .filter(|(n, a)| {
                claims
                    .iter()
                    .any(|(f, _, ca)| f.as_ref() == Some(n) && ca == a)
            })
            .cloned()
            .collect();
        let mut refused = Vec::new();
        for (full, text, addr) in &claims {
            let why = match full {
                None => Some(Refusal::NotALabel),
                Some(f) if next.iter().any(|(n, a)| n == f && a == addr) => continue,
                Some(f) => match self.hosts.iter().find(|(n, _)| n == f) {
                    Some((_, a)) if a.contains(&HostAddr::SelfAddr) => Some(Refusal::RouterName),
                    Some(_) => Some(Refusal::StaticHost),
                    None if next.iter().any(|(n, _)| n == f) => Some(Refusal::Taken),
                    None => {
                        next.push((f.clone(), *addr));
                        None
                    }
                },
            };
            if let Some(why) = why {
                refused.push((text.to_string(), *addr, why));
            }
        }
        self.leased = next;
        let new: Vec<(String, Ipv4Addr, Refusal)> = refused
            .iter()
            .filter(|(n, a, _)| !self.refused.iter().any(|(on, oa)| on == n && oa == a))
            .cloned()
            .collect();
        self.refused = refused.into_iter().map(|(n, a, _)| (n, a)).collect();
        new
    }

    /// How many lease names are answered, and how many claims are refused.
    pub fn lease_counts(&self) -> (usize, usize) {
        (self.leased.len(), self.refused.len())
    }

    /// Replaces the known LAN addresses (used for `self` in AAAA answers to
    /// IPv4 queries and vice versa, and for PTR of the router).
    pub fn set_lan_addrs(&mut self, addrs: Vec<(u32, IpAddr)>) {
        self.lan_addrs = addrs;
    }

    /// The `self` rule: every current address of the router on the LAN
    /// the query arrived on, of the family asked for, link-local ones only
    /// when there is nothing else; the same answer whichever of those
    /// addresses the query was sent to. A host with several prefixes (ULA
    /// and delegated, or an old and a new delegated /64 during a
    /// renumbering) then has the router's address in each, and its own
    /// destination address selection (RFC 6724) picks the one that matches
    /// its source; answering only the address the query came to would give
    /// a host that asked over the ULA no address in the prefix it uses to
    /// reach the router otherwise, and an IPv4 query no AAAA at all.
    /// Deprecated prefixes are not in `lan_addrs` (the driver leaves them
    /// out), so hosts are never sent to an address that is going away.
    /// With no known LAN addresses (standalone mode), the receiving
    /// address.
    fn resolve_self(&self, local: IpAddr, iface: u32, want_v6: bool) -> Vec<IpAddr> {
        let local = canonical(local);
        let mut same_iface: Vec<IpAddr> = self
            .lan_addrs
            .iter()
            .filter(|(i, a)| *i == iface && a.is_ipv6() == want_v6)
            .map(|(_, a)| *a)
            .collect();
        if same_iface.iter().any(|a| !is_link_local(*a)) {
            same_iface.retain(|a| !is_link_local(*a));
        }
        if same_iface.is_empty() && local.is_ipv6() == want_v6 {
            same_iface.push(local);
        }
        same_iface
    }

    /// Answers the question locally if it is ours; `None` = forward it.
    pub fn answer(
        &self,
        qname_lower: &NameBuf,
        qtype: Rtype,
        qclass: u16,
        local: IpAddr,
        iface: u32,
    ) -> Option<Answer> {
        if qclass != CLASS_IN {
            return None;
        }
        if qtype == rtype::PTR
            && let Some(ip) = parse_reverse(qname_lower)
        {
            return self.answer_ptr(ip, local, iface);
        }
        let domain = self.domain.as_ref()?;
        let leased;
        let host = match self.hosts.iter().find(|(n, _)| n == qname_lower) {
            Some((_, addrs)) => Some(addrs),
            None => {
                leased = self
                    .leased
                    .iter()
                    .filter(|(n, _)| n == qname_lower)
                    .map(|(_, a)| HostAddr::Addr(IpAddr::V4(*a)))
                    .collect::<Vec<_>>();
                (!leased.is_empty()).then_some(&leased)
            }
        };
        let Some(addrs) = host else {
            if qname_lower.is_subdomain_of(domain) {
                if qname_lower == domain {
                    if matches!(qtype, rtype::SOA | rtype::ANY) {
                        return Some(build(
                            rcode::NOERROR,
                            &[(rtype::SOA, soa_rdata(domain))],
                            None,
                        ));
                    }
                    return Some(build(rcode::NOERROR, &[], Some(domain)));
                }
                return Some(build(rcode::NXDOMAIN, &[], Some(domain)));
            }
            return None;
        };
        let mut out: Vec<IpAddr> = Vec::new();
        for a in addrs {
            let candidates = match a {
                HostAddr::Addr(ip) => vec![canonical(*ip)],
                HostAddr::SelfAddr => {
                    let mut v = self.resolve_self(local, iface, false);
                    v.extend(self.resolve_self(local, iface, true));
                    v
                }
            };
            for ip in candidates {
                let fits = match qtype {
                    rtype::A => ip.is_ipv4(),
                    rtype::AAAA => ip.is_ipv6(),
                    rtype::ANY => true,
                    _ => false,
                };
                if fits && !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
        let records: Vec<(Rtype, Vec<u8>)> = out
            .into_iter()
            .map(|ip| match ip {
                IpAddr::V4(v4) => (rtype::A, v4.octets().to_vec()),
                IpAddr::V6(v6) => (rtype::AAAA, v6.octets().to_vec()),
            })
            .collect();
        Some(build(rcode::NOERROR, &records, Some(domain)))
    }

    fn answer_ptr(&self, ip: IpAddr, local: IpAddr, iface: u32) -> Option<Answer> {
        let ip = canonical(ip);
        let router = self
            .hosts
            .iter()
            .find(|(_, a)| a.contains(&HostAddr::SelfAddr));
        let is_router = canonical(local) == ip || self.lan_addrs.iter().any(|(_, a)| *a == ip);
        let _ = iface;
        let name = self
            .hosts
            .iter()
            .find(|(_, addrs)| addrs.contains(&HostAddr::Addr(ip)))
            .or(if is_router { router } else { None })
            .map(|(n, _)| n.clone())
            .or_else(|| {
                self.leased
                    .iter()
                    .find(|(_, a)| IpAddr::V4(*a) == ip)
                    .map(|(n, _)| n.clone())
            });
        match name {
            Some(n) => Some(build(
                rcode::NOERROR,
                &[(rtype::PTR, n.as_wire().to_vec())],
                None,
            )),
            None => {
                let zone = reverse_zone(ip)?;
                Some(build(rcode::NXDOMAIN, &[], Some(&zone)))
            }
        }
    }
}

/// A domain name in text without the final dot, for building names under it.
fn domain_text(d: &NameBuf) -> String {
    d.labels()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join(".")
}

/// IPv4-mapped IPv6 addresses are shown and compared as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// The locally served reverse zone (RFC 6303) `ip` falls in, or `None`
/// for public space, whose PTR queries are forwarded. Negative answers
/// carry this zone's SOA, so the apex is the one RFC 6303 names: 10/8,
/// each /16 of 172.16/12, 192.168/16, 169.254/16, 127/8, fc00::/7 by its
/// first nibble pair, fe80::/10 by its third nibble, and ::1 itself.
fn reverse_zone(ip: IpAddr) -> Option<NameBuf> {
    let text = match ip {
        IpAddr::V4(v4) => match v4.octets() {
            [10, ..] => "10.in-addr.arpa".to_string(),
            [127, ..] => "127.in-addr.arpa".to_string(),
            [172, b, ..] if (16..32).contains(&b) => format!("{b}.172.in-addr.arpa"),
            [192, 168, ..] => "168.192.in-addr.arpa".to_string(),
            [169, 254, ..] => "254.169.in-addr.arpa".to_string(),
            _ => return None,
        },
        IpAddr::V6(v6) if v6.is_loopback() => {
            let mut t = "1.".to_string();
            t.push_str(&"0.".repeat(31));
            t.push_str("ip6.arpa");
            t
        }
        IpAddr::V6(v6) => {
            let s0 = v6.segments()[0];
            if s0 & 0xfe00 == 0xfc00 {
                format!("{:x}.f.ip6.arpa", (s0 >> 8) & 0xf)
            } else if s0 & 0xffc0 == 0xfe80 {
                format!("{:x}.e.f.ip6.arpa", (s0 >> 4) & 0xf)
            } else {
                return None;
            }
        }
    };
    NameBuf::from_text(&text)
}

/// SOA RDATA for a zone the router answers itself: MNAME the zone, RNAME
/// `nobody.invalid` (no one to mail; RFC 6303 does the same with
/// `nobody.localhost`), serial 1, MINIMUM the negative TTL.
fn soa_rdata(zone: &NameBuf) -> Vec<u8> {
    let mut r = zone.as_wire().to_vec();
    r.extend_from_slice(b"\x06nobody\x07invalid\x00");
    for v in [1, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, NEGATIVE_TTL] {
        r.extend_from_slice(&u32::to_be_bytes(v));
    }
    r
}

/// Parses a full reverse name (`d.c.b.a.in-addr.arpa` or 32 nibbles under
/// `ip6.arpa`); partial names return `None` and are forwarded.
pub fn parse_reverse(name: &NameBuf) -> Option<IpAddr> {
    let labels: Vec<&[u8]> = name.labels().collect();
    match labels.as_slice() {
        [d, c, b, a, in_addr, arpa] if *in_addr == b"in-addr" && *arpa == b"arpa" => {
            let oct = |l: &[u8]| -> Option<u8> {
                if l.is_empty() || l.len() > 3 || (l.len() > 1 && l.first() == Some(&b'0')) {
                    return None;
                }
                std::str::from_utf8(l).ok()?.parse().ok()
            };
            Some(IpAddr::V4(Ipv4Addr::new(
                oct(a)?,
                oct(b)?,
                oct(c)?,
                oct(d)?,
            )))
        }
        _ if labels.len() == 34 => {
            let (nibbles, tail) = labels.split_at(32);
            if tail != [b"ip6".as_slice(), b"arpa".as_slice()] {
                return None;
            }
            let mut v: u128 = 0;
            for l in nibbles.iter().rev() {
                let [c] = l else { return None };
                let n = (*c as char).to_digit(16)?;
                v = (v << 4) | u128::from(n);
            }
            Some(IpAddr::V6(Ipv6Addr::from(v)))
        }
        _ => None,
    }
}

/// Builds an authoritative answer whose records all own the question name
/// (pointer 0xc00c), with the local TTL. An answer without records (NXDOMAIN
/// or NODATA) carries `zone`'s SOA in the authority section, so resolvers
/// and stub caches know how long the negative answer holds (RFC 2308
/// sections 2.1, 2.2 and 3).
fn build(code: Rcode, records: &[(Rtype, Vec<u8>)], zone: Option<&NameBuf>) -> Answer {
    let mut body = Vec::with_capacity(records.len() * 28);
    let mut ttl_offsets = Vec::with_capacity(records.len() * 2);
    let mut push = |owner: &[u8], t: Rtype, ttl: u32, rdata: &[u8]| {
        body.extend_from_slice(owner);
        body.extend_from_slice(&t.to_u16().to_be_bytes());
        body.extend_from_slice(&CLASS_IN.to_be_bytes());
        let off = u16::try_from(body.len()).unwrap_or(u16::MAX);
        ttl_offsets.extend_from_slice(&off.to_le_bytes());
        body.extend_from_slice(&ttl.to_be_bytes());
        body.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
        body.extend_from_slice(rdata);
    };
    for (t, rdata) in records {
        push(&[0xc0, 0x0c], *t, LOCAL_TTL, rdata);
    }
    let mut authority = 0;
    if let Some(zone) = zone.filter(|_| records.is_empty()) {
        push(zone.as_wire(), rtype::SOA, NEGATIVE_TTL, &soa_rdata(zone));
        authority = 1;
    }
    Answer {
        rcode: code,
        flags: cpe_wire::dns::FLAG_AA,
        counts: [u16::try_from(records.len()).unwrap_or(0), authority, 0],
        body,
        ttl_offsets,
        cache_ttl: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> LocalNames {
        let mut l = LocalNames::new(&LocalConfig {
            domain: "lan".into(),
            hosts: vec![
                (
                    "nas".into(),
                    vec![
                        HostAddr::Addr("192.168.1.10".parse().unwrap()),
                        HostAddr::Addr("fd00::10".parse().unwrap()),
                    ],
                ),
                (
                    "printer".into(),
                    vec![HostAddr::Addr("192.168.1.20".parse().unwrap())],
                ),
            ],
        });
        l.set_lan_addrs(vec![
            (3, "192.168.1.1".parse().unwrap()),
            (3, "fe80::1".parse().unwrap()),
            (3, "2001:db8:1::1".parse().unwrap()),
        ]);
        l
    }

    fn n(s: &str) -> NameBuf {
        NameBuf::from_text(s).unwrap()
    }

    #[test]
    fn router_self_is_the_receiving_address_or_same_interface_family() {
        let l = names();
        let v4: IpAddr = "192.168.1.1".parse().unwrap();
        let a = l.answer(&n("router.lan"), rtype::A, 1, v4, 3).unwrap();
        assert_eq!(a.counts[0], 1);
        assert_eq!(&a.body[12..16], &[192, 168, 1, 1]);
        let aaaa = l.answer(&n("router.lan"), rtype::AAAA, 1, v4, 3).unwrap();
        assert_eq!(
            aaaa.counts[0], 1,
            "global address preferred over link-local"
        );
        assert_eq!(
            &aaaa.body[12..28],
            &"2001:db8:1::1".parse::<Ipv6Addr>().unwrap().octets()
        );
        let other: IpAddr = "2001:db8:2::1".parse().unwrap();
        let aaaa = l
            .answer(&n("router.lan"), rtype::AAAA, 1, other, 9)
            .unwrap();
        assert_eq!(
            &aaaa.body[12..28],
            &"2001:db8:2::1".parse::<Ipv6Addr>().unwrap().octets()
        );
    }

    fn aaaa_of(l: &LocalNames, local: &str, iface: u32) -> Vec<Ipv6Addr> {
        let a = l
            .answer(
                &n("router.lan"),
                rtype::AAAA,
                1,
                local.parse().unwrap(),
                iface,
            )
            .unwrap();
        (0..usize::from(a.counts[0]))
            .map(|i| {
                let rd: [u8; 16] = a.body[i * 28 + 12..i * 28 + 28].try_into().unwrap();
                Ipv6Addr::from(rd)
            })
            .collect()
    }

    /// The `self` rule: all current router addresses on the arrival LAN,
    /// the same answer whichever of them the query was sent to.
    #[test]
    fn self_is_every_current_address_on_the_arrival_lan() {
        let mut l = names();
        l.set_lan_addrs(vec![
            (3, "192.168.1.1".parse().unwrap()),
            (3, "fd00:1::1".parse().unwrap()),
            (3, "2001:db8:1::1".parse().unwrap()),
            (4, "2001:db8:2::1".parse().unwrap()),
        ]);
        let both: Vec<Ipv6Addr> = vec![
            "fd00:1::1".parse().unwrap(),
            "2001:db8:1::1".parse().unwrap(),
        ];
        assert_eq!(aaaa_of(&l, "fd00:1::1", 3), both);
        assert_eq!(aaaa_of(&l, "2001:db8:1::1", 3), both);
        assert_eq!(aaaa_of(&l, "fe80::1", 3), both);
        assert_eq!(aaaa_of(&l, "192.168.1.1", 3), both);
        // Another LAN's addresses stay out.
        assert_eq!(
            aaaa_of(&l, "2001:db8:2::1", 4),
            vec!["2001:db8:2::1".parse::<Ipv6Addr>().unwrap()]
        );
    }

    #[test]
    fn hosts_nxdomain_and_nodata() {
        let l = names();
        let local: IpAddr = "192.168.1.1".parse().unwrap();
        let a = l.answer(&n("nas.lan"), rtype::AAAA, 1, local, 3).unwrap();
        assert_eq!((a.rcode, a.counts[0]), (rcode::NOERROR, 1));
        let nodata = l
            .answer(&n("printer.lan"), rtype::AAAA, 1, local, 3)
            .unwrap();
        assert_eq!((nodata.rcode, nodata.counts[0]), (rcode::NOERROR, 0));
        let nx = l.answer(&n("ghost.lan"), rtype::A, 1, local, 3).unwrap();
        assert_eq!(nx.rcode, rcode::NXDOMAIN);
        assert!(l.answer(&n("example.com"), rtype::A, 1, local, 3).is_none());
    }

    #[test]
    fn ptr_for_hosts_router_and_private_space() {
        let l = names();
        let local: IpAddr = "192.168.1.1".parse().unwrap();
        let a = l
            .answer(&n("10.1.168.192.in-addr.arpa"), rtype::PTR, 1, local, 3)
            .unwrap();
        assert_eq!(&a.body[12..], b"\x03nas\x03lan\x00");
        let r = l
            .answer(&n("1.1.168.192.in-addr.arpa"), rtype::PTR, 1, local, 3)
            .unwrap();
        assert_eq!(&r.body[12..], b"\x06router\x03lan\x00");
        let nx = l
            .answer(&n("99.1.168.192.in-addr.arpa"), rtype::PTR, 1, local, 3)
            .unwrap();
        assert_eq!(nx.rcode, rcode::NXDOMAIN);
        assert!(
            l.answer(&n("8.8.8.8.in-addr.arpa"), rtype::PTR, 1, local, 3)
                .is_none()
        );
        let v6 = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
        let p = l.answer(&n(v6), rtype::PTR, 1, local, 3).unwrap();
        assert_eq!(&p.body[12..], b"\x03nas\x03lan\x00");
    }

    /// The authority section of a negative answer: (zone in wire form,
    /// SOA TTL, MINIMUM).
    fn soa_of(a: &Answer) -> (Vec<u8>, u32, u32) {
        assert_eq!(a.counts, [0, 1, 0], "{a:?}");
        // owner, type/class/TTL/RDLENGTH, then RDATA = zone + RNAME + 5 x u32.
        let rname = b"\x06nobody\x07invalid\x00".len();
        let zone_len = (a.body.len() - 10 - rname - 20) / 2;
        let b = &a.body;
        let zone = b[..zone_len].to_vec();
        assert_eq!(&b[zone_len..zone_len + 4], &[0, 6, 0, 1], "SOA IN");
        let ttl = u32::from_be_bytes(b[zone_len + 4..zone_len + 8].try_into().unwrap());
        let min = u32::from_be_bytes(b[b.len() - 4..].try_into().unwrap());
        (zone, ttl, min)
    }

    #[test]
    fn negative_answers_carry_the_zone_soa() {
        let l = names();
        let local: IpAddr = "192.168.1.1".parse().unwrap();
        let nx = l.answer(&n("ghost.lan"), rtype::A, 1, local, 3).unwrap();
        assert_eq!(nx.rcode, rcode::NXDOMAIN);
        let lan = b"\x03lan\x00".to_vec();
        assert_eq!(soa_of(&nx), (lan.clone(), NEGATIVE_TTL, NEGATIVE_TTL));
        let nodata = l
            .answer(&n("printer.lan"), rtype::AAAA, 1, local, 3)
            .unwrap();
        assert_eq!(nodata.rcode, rcode::NOERROR);
        assert_eq!(soa_of(&nodata).0, lan);
        let apex = l.answer(&n("lan"), rtype::A, 1, local, 3).unwrap();
        assert_eq!(soa_of(&apex).0, lan);
        // The apex's own SOA is an answer, not an authority record.
        let soa = l.answer(&n("lan"), rtype::SOA, 1, local, 3).unwrap();
        assert_eq!(soa.counts, [1, 0, 0]);
        // Positive answers carry nothing else.
        let a = l.answer(&n("nas.lan"), rtype::A, 1, local, 3).unwrap();
        assert_eq!(a.counts, [1, 0, 0]);
        // Private reverse space: the RFC 6303 zone's SOA.
        let r = l
            .answer(&n("99.1.168.192.in-addr.arpa"), rtype::PTR, 1, local, 3)
            .unwrap();
        assert_eq!(soa_of(&r).0, b"\x03168\x03192\x07in-addr\x04arpa\x00");
        let r = l
            .answer(&n("5.0.20.172.in-addr.arpa"), rtype::PTR, 1, local, 3)
            .unwrap();
        assert_eq!(soa_of(&r).0, b"\x0220\x03172\x07in-addr\x04arpa\x00");
        let ula = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
        let r = l.answer(&n(ula), rtype::PTR, 1, local, 3).unwrap();
        assert_eq!(soa_of(&r).0, b"\x01d\x01f\x03ip6\x04arpa\x00");
        let ll = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.e.f.ip6.arpa";
        let r = l.answer(&n(ll), rtype::PTR, 1, local, 3).unwrap();
        assert_eq!(soa_of(&r).0, b"\x019\x01e\x01f\x03ip6\x04arpa\x00");
    }

    fn claims(list: &[(&str, &str)]) -> Vec<(String, Ipv4Addr)> {
        list.iter()
            .map(|(n, a)| (n.to_string(), a.parse().unwrap()))
            .collect()
    }

    fn a_of(l: &LocalNames, name: &str) -> (Rcode, Vec<Ipv4Addr>) {
        let local: IpAddr = "192.168.1.1".parse().unwrap();
        let a = l.answer(&n(name), rtype::A, 1, local, 3).unwrap();
        let mut out = Vec::new();
        let mut off = 0;
        for _ in 0..a.counts[0] {
            let rd = &a.body[off + 12..off + 16];
            out.push(Ipv4Addr::new(rd[0], rd[1], rd[2], rd[3]));
            off += 16;
        }
        (a.rcode, out)
    }

    #[test]
    fn lease_labels_follow_rfc_1035_and_are_never_repaired() {
        assert_eq!(lease_label("Laptop").as_deref(), Some("laptop"));
        assert_eq!(lease_label("pc-1.example.com").as_deref(), Some("pc-1"));
        assert_eq!(lease_label("3com").as_deref(), Some("3com"));
        let long = "a".repeat(64);
        for bad in [
            "",
            ".lan",
            "-pc",
            "pc-",
            "my_pc",
            "my pc",
            "pc\0",
            "caf\u{e9}",
            &long,
        ] {
            assert_eq!(lease_label(bad), None, "{bad:?}");
        }
        assert!(lease_label(&"a".repeat(63)).is_some());
        assert_eq!(lease_label(&"x".repeat(300)), None);
    }

    #[test]
    fn lease_names_answer_a_and_ptr_and_go_with_the_lease() {
        let mut l = names();
        let refused = l.set_lease_names(&claims(&[("Laptop", "192.168.1.100")]));
        assert!(refused.is_empty());
        assert_eq!(
            a_of(&l, "laptop.lan"),
            (rcode::NOERROR, vec![Ipv4Addr::new(192, 168, 1, 100)])
        );
        let local: IpAddr = "192.168.1.1".parse().unwrap();
        let aaaa = l
            .answer(&n("laptop.lan"), rtype::AAAA, 1, local, 3)
            .unwrap();
        assert_eq!((aaaa.rcode, aaaa.counts), (rcode::NOERROR, [0, 1, 0]));
        let p = l
            .answer(&n("100.1.168.192.in-addr.arpa"), rtype::PTR, 1, local, 3)
            .unwrap();
        assert_eq!(&p.body[12..], b"\x06laptop\x03lan\x00");
        // Released or expired: gone.
        l.set_lease_names(&[]);
        assert_eq!(a_of(&l, "laptop.lan").0, rcode::NXDOMAIN);
    }

    #[test]
    fn clients_cannot_take_router_static_or_held_names() {
        let mut l = names();
        let first = claims(&[
            ("router", "192.168.1.101"),
            ("NAS", "192.168.1.102"),
            ("tv", "192.168.1.103"),
            ("tv", "192.168.1.104"),
            ("bad_name", "192.168.1.105"),
        ]);
        let refused = l.set_lease_names(&first);
        let words: Vec<(&str, Refusal)> =
            refused.iter().map(|(n, _, w)| (n.as_str(), *w)).collect();
        assert_eq!(
            words,
            vec![
                ("router", Refusal::RouterName),
                ("NAS", Refusal::StaticHost),
                ("tv", Refusal::Taken),
                ("bad_name", Refusal::NotALabel)
            ]
        );
        assert_eq!(l.lease_counts(), (1, 4));
        assert_eq!(
            a_of(&l, "router.lan").1,
            vec![Ipv4Addr::new(192, 168, 1, 1)]
        );
        assert_eq!(a_of(&l, "nas.lan").1, vec![Ipv4Addr::new(192, 168, 1, 10)]);
        assert_eq!(a_of(&l, "tv.lan").1, vec![Ipv4Addr::new(192, 168, 1, 103)]);
        // The same update again: nothing new to log.
        assert!(l.set_lease_names(&first).is_empty());
        // First come keeps it even when the latecomer is listed first.
        let swapped = claims(&[("tv", "192.168.1.104"), ("tv", "192.168.1.103")]);
        l.set_lease_names(&swapped);
        assert_eq!(a_of(&l, "tv.lan").1, vec![Ipv4Addr::new(192, 168, 1, 103)]);
        // The holder leaves: the other claimant gets it.
        l.set_lease_names(&claims(&[("tv", "192.168.1.104")]));
        assert_eq!(a_of(&l, "tv.lan").1, vec![Ipv4Addr::new(192, 168, 1, 104)]);
    }

    proptest::proptest! {
        /// Hostile names from the bus (any text, duplicates, the router's
        /// names) never panic, never make a name that is not one label
        /// under the domain, and never give one name two holders.
        #[test]
        fn any_lease_names_are_safe(
            claims in proptest::collection::vec(
                (proptest::prop_oneof![
                    "\\PC{0,300}",
                    "[a-zA-Z0-9.\\-_\\x00]{0,70}",
                    proptest::strategy::Just("router".to_string()),
                    proptest::strategy::Just("NAS".to_string()),
                ], 0u8..8),
                0..40,
            )
        ) {
            let mut l = names();
            let claims: Vec<(String, Ipv4Addr)> = claims
                .into_iter()
                .map(|(n, a)| (n, Ipv4Addr::new(192, 168, 1, 100 + a)))
                .collect();
            let refused = l.set_lease_names(&claims);
            let (held, _) = l.lease_counts();
            proptest::prop_assert!(held + refused.len() <= claims.len());
            let lan = n("lan");
            for (i, (name, _)) in l.leased.iter().enumerate() {
                proptest::prop_assert!(name.is_subdomain_of(&lan));
                proptest::prop_assert_eq!(name.labels().count(), 2);
                proptest::prop_assert!(!l.leased[..i].iter().any(|(o, _)| o == name));
                proptest::prop_assert!(!l.hosts.iter().any(|(h, _)| h == name));
            }
            let local: IpAddr = "192.168.1.1".parse().unwrap();
            for (name, _) in &claims {
                if let Some(q) = NameBuf::from_text(&format!("{name}.lan")) {
                    let _ = l.answer(&q.to_lowercase(), rtype::A, 1, local, 3);
                }
            }
        }
    }

    #[test]
    fn reverse_parsing_rejects_partial_and_bad_labels() {
        assert_eq!(
            parse_reverse(&n("4.3.2.1.in-addr.arpa")),
            Some("1.2.3.4".parse().unwrap())
        );
        assert_eq!(parse_reverse(&n("3.2.1.in-addr.arpa")), None);
        assert_eq!(parse_reverse(&n("256.2.1.0.in-addr.arpa")), None);
        assert_eq!(parse_reverse(&n("01.2.1.0.in-addr.arpa")), None);
    }
}
