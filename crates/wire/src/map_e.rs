//! MAP-E address and port arithmetic (RFC 7597 sections 5 and 6): from a
//! Basic Mapping Rule and the delegated prefix, the shared IPv4 address,
//! the PSID, the port set and the MAP interface identifier. Pure
//! functions on integers; not a codec, but kept beside the S46 options
//! (`dhcpv6::S46Rule`) that carry the rules, so the config's checks and
//! a future data path share one implementation.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

/// A mapping rule whose arithmetic is consistent (see [`Rule::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Rule IPv6 prefix (bits after `ipv6_len` ignored).
    pub ipv6_prefix: Ipv6Addr,
    /// Its length.
    pub ipv6_len: u8,
    /// Rule IPv4 prefix (bits after `ipv4_len` ignored).
    pub ipv4_prefix: Ipv4Addr,
    /// Its length.
    pub ipv4_len: u8,
    /// EA-bits length.
    pub ea_len: u8,
    /// PSID offset `a` (RFC 7597 5.1).
    pub psid_offset: u8,
}

/// Why a rule's numbers cannot work together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// A prefix length past its address size.
    PrefixLength,
    /// Fewer EA bits than the IPv4 suffix (32 - IPv4 prefix length):
    /// the rule would map to an IPv4 prefix, not one address; not built.
    EaBelowSuffix {
        /// The IPv4 suffix bits the EA bits must cover.
        suffix: u8,
    },
    /// The PSID (EA bits - IPv4 suffix) is longer than 16 bits.
    PsidTooLong {
        /// The PSID length the numbers give.
        psid_len: u8,
    },
    /// PSID offset + PSID length exceed the 16 bits of a port.
    PortBits {
        /// Their sum.
        total: u8,
    },
    /// Rule IPv6 prefix length + EA bits exceed 64 (RFC 7597 5.2).
    PastSixtyFour {
        /// Their sum.
        total: u8,
    },
}

/// What a rule gives one CE: RFC 7597 section 5.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// The shared IPv4 address.
    pub ipv4: Ipv4Addr,
    /// Port Set ID (right-aligned, `psid_len` bits).
    pub psid: u16,
    /// PSID length.
    pub psid_len: u8,
    /// PSID offset.
    pub psid_offset: u8,
    /// The MAP IPv6 address: the delegated prefix's first /64 (subnet ID
    /// 0) with the section 6 interface identifier.
    pub ipv6: Ipv6Addr,
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

impl Rule {
    /// A rule after its arithmetic checks (RFC 7597 5.2): EA bits = IPv4
    /// suffix + PSID length, the PSID fits the port after the offset, and
    /// rule prefix + EA bits end within 64 bits.
    pub fn new(
        ipv6_prefix: Ipv6Addr,
        ipv6_len: u8,
        ipv4_prefix: Ipv4Addr,
        ipv4_len: u8,
        ea_len: u8,
        psid_offset: u8,
    ) -> Result<Rule, RuleError> {
        if ipv6_len > 128 || ipv4_len > 32 || psid_offset > 16 {
            return Err(RuleError::PrefixLength);
        }
        let suffix = 32 - ipv4_len;
        let psid_len = ea_len
            .checked_sub(suffix)
            .ok_or(RuleError::EaBelowSuffix { suffix })?;
        if psid_len > 16 {
            return Err(RuleError::PsidTooLong { psid_len });
        }
        if psid_len > 0 && psid_offset + psid_len > 16 {
            return Err(RuleError::PortBits {
                total: psid_offset + psid_len,
            });
        }
        let total = ipv6_len.saturating_add(ea_len);
        if total > 64 {
            return Err(RuleError::PastSixtyFour { total });
        }
        Ok(Rule {
            ipv6_prefix,
            ipv6_len,
            ipv4_prefix,
            ipv4_len,
            ea_len,
            psid_offset,
        })
    }

    /// PSID length: EA bits minus the IPv4 suffix.
    pub fn psid_len(&self) -> u8 {
        self.ea_len - (32 - self.ipv4_len)
    }

    /// Whether the delegated prefix lies in this rule and is long enough
    /// to hold all EA bits.
    pub fn matches(&self, delegated: Ipv6Addr, len: u8) -> bool {
        let m = mask128(self.ipv6_len);
        len >= self.ipv6_len + self.ea_len
            && (u128::from(delegated) & m) == (u128::from(self.ipv6_prefix) & m)
    }

    /// The CE's mapping from its delegated prefix, or `None` if the prefix
    /// does not match the rule ([`Rule::matches`]).
    pub fn map(&self, delegated: Ipv6Addr, len: u8) -> Option<Mapping> {
        if !self.matches(delegated, len) {
            return None;
        }
        let p = u128::from(delegated);
        let ea = if self.ea_len == 0 {
            0
        } else {
            (p << self.ipv6_len) >> (128 - u32::from(self.ea_len))
        };
        let psid_len = self.psid_len();
        let suffix = u32::from(32 - self.ipv4_len);
        let v4_suffix = (ea >> psid_len) as u32;
        let v4_mask = if suffix == 32 { 0 } else { u32::MAX << suffix };
        let ipv4 = Ipv4Addr::from((u32::from(self.ipv4_prefix) & v4_mask) | v4_suffix);
        let psid = (ea & ((1u128 << psid_len) - 1)) as u16;
        // Section 6: 16 zero bits, the IPv4 address, the PSID right-aligned.
        let iid = (u64::from(u32::from(ipv4)) << 16) | u64::from(psid);
        let net = p & mask128(64);
        Some(Mapping {
            ipv4,
            psid,
            psid_len,
            psid_offset: self.psid_offset,
            ipv6: Ipv6Addr::from(net | u128::from(iid)),
        })
    }
}

impl Mapping {
    /// The port set as ranges (RFC 7597 5.1): for each value A of the
    /// `psid_offset` high bits except 0 (ports 0..2^(16-a)-1 are in no
    /// set), the 2^m ports `A | PSID | j`. With a PSID length of 0 every
    /// port from 1024 (a > 0) or 0 (a = 0) is ours.
    pub fn port_ranges(&self) -> Vec<RangeInclusive<u16>> {
        let a = u32::from(self.psid_offset);
        let k = u32::from(self.psid_len);
        let m = 16 - a - k;
        let first_a: u32 = if a == 0 { 0 } else { 1 };
        let last_a: u32 = if a == 0 { 0 } else { (1 << a) - 1 };
        (first_a..=last_a)
            .map(|high| {
                let start = (high << (16 - a)) | (u32::from(self.psid) << m);
                let end = start + (1 << m) - 1;
                (start as u16)..=(end as u16)
            })
            .collect()
    }

    /// Whether `port` is in our port set.
    pub fn has_port(&self, port: u16) -> bool {
        let a = u32::from(self.psid_offset);
        let k = u32::from(self.psid_len);
        let m = 16 - a - k;
        let p = u32::from(port);
        let high = if a == 0 { 0 } else { p >> (16 - a) };
        let psid = if k == 0 { 0 } else { (p >> m) & ((1 << k) - 1) };
        (a == 0 || high != 0) && psid == u32::from(self.psid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example1() -> Rule {
        // RFC 7597 appendix A, example 1: the BMR.
        Rule::new(
            "2001:db8::".parse().unwrap(),
            40,
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            16,
            6,
        )
        .unwrap()
    }

    #[test]
    fn rfc7597_example_1_address_psid_and_ipv6() {
        let m = example1()
            .map("2001:db8:12:3400::".parse().unwrap(), 56)
            .unwrap();
        assert_eq!(m.ipv4, Ipv4Addr::new(192, 0, 2, 18));
        assert_eq!((m.psid, m.psid_len), (0x34, 8));
        assert_eq!(
            m.ipv6,
            "2001:db8:12:3400:0:c000:212:34"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
    }

    #[test]
    fn rfc7597_example_1_port_set() {
        let m = example1()
            .map("2001:db8:12:3400::".parse().unwrap(), 56)
            .unwrap();
        let r = m.port_ranges();
        assert_eq!(r.len(), 63);
        assert_eq!(r[0], 1232..=1235);
        assert_eq!(r[1], 2256..=2259);
        assert_eq!(r[61], 63696..=63699);
        assert_eq!(r[62], 64720..=64723);
        let count: usize = r.iter().map(|x| x.clone().count()).sum();
        assert_eq!(count, 252);
        for port in 0..=u16::MAX {
            assert_eq!(
                m.has_port(port),
                r.iter().any(|x| x.contains(&port)),
                "{port}"
            );
        }
    }

    #[test]
    fn every_psid_gets_a_disjoint_share_of_the_ports_above_1023() {
        let rule = example1();
        let mut owner = vec![None; 65536];
        for psid in 0..256u16 {
            let ea = 0x1200 | psid;
            let prefix =
                u128::from("2001:db8::".parse::<Ipv6Addr>().unwrap()) | (u128::from(ea) << 72);
            let m = rule.map(Ipv6Addr::from(prefix), 56).unwrap();
            assert_eq!(m.psid, psid);
            for r in m.port_ranges() {
                for port in r {
                    assert_eq!(owner[usize::from(port)], None, "{port}");
                    owner[usize::from(port)] = Some(psid);
                }
            }
        }
        assert!(owner[..1024].iter().all(Option::is_none));
        assert!(owner[1024..].iter().all(Option::is_some));
    }

    #[test]
    fn prefix_outside_the_rule_or_too_short_does_not_map() {
        let rule = example1();
        assert!(
            rule.map("2001:db9:12:3400::".parse().unwrap(), 56)
                .is_none()
        );
        assert!(rule.map("2001:db8:12::".parse().unwrap(), 48).is_none());
        // A longer delegation (subnet bits after the EA bits) maps the same.
        let m = rule.map("2001:db8:12:3400::".parse().unwrap(), 60).unwrap();
        assert_eq!(m.ipv4, Ipv4Addr::new(192, 0, 2, 18));
    }

    #[test]
    fn full_address_and_no_psid() {
        // /32 rule IPv4 prefix with 8 EA bits: the whole EA field is PSID.
        let r = Rule::new(
            "2001:db8::".parse().unwrap(),
            48,
            Ipv4Addr::new(198, 51, 100, 7),
            32,
            8,
            4,
        )
        .unwrap();
        let m = r.map("2001:db8:0:ab00::".parse().unwrap(), 56).unwrap();
        assert_eq!((m.ipv4, m.psid), (Ipv4Addr::new(198, 51, 100, 7), 0xab));
        // No PSID (ea = suffix): every port from 1024 up with a = 6.
        let r = Rule::new(
            "2001:db8::".parse().unwrap(),
            40,
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            8,
            6,
        )
        .unwrap();
        let m = r.map("2001:db8:7::".parse().unwrap(), 48).unwrap();
        assert_eq!((m.ipv4, m.psid_len), (Ipv4Addr::new(192, 0, 2, 7), 0));
        let ranges = m.port_ranges();
        assert_eq!(ranges.first(), Some(&(1024..=2047)));
        assert_eq!(ranges.last(), Some(&(64512..=65535)));
    }

    #[test]
    fn inconsistent_rules_are_refused_with_the_reason() {
        let p6: Ipv6Addr = "2001:db8::".parse().unwrap();
        let p4 = Ipv4Addr::new(192, 0, 2, 0);
        assert_eq!(
            Rule::new(p6, 40, p4, 24, 6, 6),
            Err(RuleError::EaBelowSuffix { suffix: 8 })
        );
        assert_eq!(
            Rule::new(p6, 32, p4, 24, 25, 0),
            Err(RuleError::PsidTooLong { psid_len: 17 })
        );
        assert_eq!(
            Rule::new(p6, 40, p4, 24, 16, 10),
            Err(RuleError::PortBits { total: 18 })
        );
        assert_eq!(
            Rule::new(p6, 48, Ipv4Addr::new(192, 0, 0, 0), 16, 20, 6),
            Err(RuleError::PastSixtyFour { total: 68 })
        );
    }
}
