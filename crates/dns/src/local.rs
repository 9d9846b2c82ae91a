//! Names the router answers itself: `router.<local_domain>`, configured
//! hosts, their PTR records, and NXDOMAIN for anything else under the local
//! domain or in private reverse space (RFC 6303), so LAN names never leak to
//! the ISP's resolver. `self` is the LAN address that received the query,
//! which stays right when the delegated prefix changes.

use crate::message::Answer;
use cpe_wire::dns::{CLASS_IN, NameBuf, Rcode, Rtype, rcode, rtype};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TTL of local answers: short, because `self` follows renumbering.
pub const LOCAL_TTL: u32 = 60;

/// An address of a local host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAddr {
    /// The router's own address on the interface the query came in on.
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
        }
    }

    /// Replaces the known LAN addresses (used for `self` in AAAA answers to
    /// IPv4 queries and vice versa, and for PTR of the router).
    pub fn set_lan_addrs(&mut self, addrs: Vec<(u32, IpAddr)>) {
        self.lan_addrs = addrs;
    }

    fn resolve_self(&self, local: IpAddr, iface: u32, want_v6: bool) -> Vec<IpAddr> {
        let local = canonical(local);
        if local.is_ipv6() == want_v6 && !is_link_local(local) {
            return vec![local];
        }
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
        let host = self.hosts.iter().find(|(n, _)| n == qname_lower);
        let Some((_, addrs)) = host else {
            if qname_lower.is_subdomain_of(domain) {
                let code = if qname_lower == domain {
                    rcode::NOERROR
                } else {
                    rcode::NXDOMAIN
                };
                return Some(build(code, &[]));
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
        Some(build(rcode::NOERROR, &records))
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
            .map(|(n, _)| n.clone());
        match name {
            Some(n) => Some(build(rcode::NOERROR, &[(rtype::PTR, n.as_wire().to_vec())])),
            None if is_private(ip) => Some(build(rcode::NXDOMAIN, &[])),
            None => None,
        }
    }
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

/// Reverse space that must not be asked of public resolvers (RFC 6303).
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local() || v4.is_loopback(),
        IpAddr::V6(v6) => {
            let s0 = v6.segments()[0];
            s0 & 0xfe00 == 0xfc00 || s0 & 0xffc0 == 0xfe80 || v6.is_loopback()
        }
    }
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
/// (pointer 0xc00c), with the local TTL.
fn build(code: Rcode, records: &[(Rtype, Vec<u8>)]) -> Answer {
    let mut body = Vec::with_capacity(records.len() * 28);
    let mut ttl_offsets = Vec::with_capacity(records.len() * 2);
    for (t, rdata) in records {
        body.extend_from_slice(&[0xc0, 0x0c]);
        body.extend_from_slice(&t.to_u16().to_be_bytes());
        body.extend_from_slice(&CLASS_IN.to_be_bytes());
        let off = u16::try_from(body.len()).unwrap_or(u16::MAX);
        ttl_offsets.extend_from_slice(&off.to_le_bytes());
        body.extend_from_slice(&LOCAL_TTL.to_be_bytes());
        body.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
        body.extend_from_slice(rdata);
    }
    Answer {
        rcode: code,
        flags: cpe_wire::dns::FLAG_AA,
        counts: [u16::try_from(records.len()).unwrap_or(0), 0, 0],
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
