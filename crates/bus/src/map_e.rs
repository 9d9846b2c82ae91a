//! The MAP-E mapping in force (RFC 7597): which rule applies to which
//! delegated prefix, and what it gives this router. One pure function that
//! the WAN daemon (tunnel, MAP addresses) and the firewall (SNAT into the
//! port set) both call on the same facts, so the IPv4 address on the
//! tunnel and the address and ports the firewall translates to cannot
//! disagree, and neither needs the other to publish a fact first.

use std::fmt;
use std::net::Ipv6Addr;

use cpe_config::MapRule;
use cpe_wire::map_e::{Mapping, Rule, RuleError};
use ipnet::Ipv6Net;

use crate::state::{MapEOffer, MapEOfferedRule};

/// What a rule gives this router, with where the rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InForce {
    /// `config` or `dhcpv6`.
    pub source: &'static str,
    /// The rule's IPv6 prefix.
    pub rule_prefix: Ipv6Net,
    /// The Border Relay the tunnel goes to.
    pub br: Ipv6Addr,
    /// The delegated prefix the mapping comes from.
    pub delegated: Ipv6Net,
    /// IPv4 address, PSID, port set, MAP IPv6 address.
    pub mapping: Mapping,
}

/// Why there is no mapping, in the words the console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotMapped {
    /// No rule in the config and no option 94 from DHCPv6.
    NoRule,
    /// Option 94 came without a Border Relay (option 90).
    NoBr,
    /// No offered rule has consistent arithmetic: the first one's fault.
    BadRule(String),
    /// No delegated prefix (yet).
    NoPrefix,
    /// The delegated prefix is outside the rule, or too short to hold the
    /// EA bits.
    Outside {
        /// The (first) delegated prefix.
        delegated: Ipv6Net,
        /// The (first usable) rule's IPv6 prefix.
        rule: Ipv6Net,
        /// Its EA-bits length.
        ea_bits: u8,
    },
}

impl NotMapped {
    /// One word for status.
    pub fn word(&self) -> &'static str {
        match self {
            NotMapped::NoRule => "no-rule",
            NotMapped::NoBr => "no-br",
            NotMapped::BadRule(_) => "bad-rule",
            NotMapped::NoPrefix => "waiting-prefix",
            NotMapped::Outside { .. } => "rule-mismatch",
        }
    }
}

impl fmt::Display for NotMapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotMapped::NoRule => f.write_str(
                "MAP-E: no rule: none in the config and the DHCPv6 server sent no MAP-E \
                 container (option 94)",
            ),
            NotMapped::NoBr => f.write_str(
                "MAP-E: the DHCPv6 MAP-E container (option 94) names no Border Relay (option 90)",
            ),
            NotMapped::BadRule(why) => write!(f, "MAP-E: the DHCPv6 rule is unusable: {why}"),
            NotMapped::NoPrefix => f.write_str(
                "MAP-E: no delegated prefix yet (the IPv4 address and port set come from it)",
            ),
            NotMapped::Outside {
                delegated,
                rule,
                ea_bits,
            } if rule.contains(delegated) => write!(
                f,
                "MAP-E: delegated prefix {delegated} is shorter than the rule's {rule} plus its \
                 {ea_bits} EA bits (/{})",
                u16::from(rule.prefix_len()) + u16::from(*ea_bits)
            ),
            NotMapped::Outside {
                delegated, rule, ..
            } => write!(
                f,
                "MAP-E: delegated prefix {delegated} is not inside the rule's {rule}"
            ),
        }
    }
}

fn rule_error(e: RuleError, ea_bits: u8, ipv4_len: u8) -> String {
    match e {
        RuleError::PrefixLength => format!("IPv4 prefix length {ipv4_len} is over 32"),
        RuleError::EaBelowSuffix { suffix } => {
            format!("{ea_bits} EA bits are fewer than the {suffix} IPv4 suffix bits")
        }
        RuleError::PsidTooLong { psid_len } => format!("a {psid_len}-bit PSID is over 16 bits"),
        RuleError::PortBits { total } => {
            format!("PSID offset plus PSID length is {total} bits, over 16")
        }
        RuleError::PastSixtyFour { total } => {
            format!("rule IPv6 prefix plus EA bits is {total} bits, over 64")
        }
    }
}

fn offered_rule(r: &MapEOfferedRule) -> Result<(Rule, Ipv6Net), String> {
    Rule::new(
        r.ipv6_prefix.network(),
        r.ipv6_prefix.prefix_len(),
        r.ipv4_prefix,
        r.ipv4_len,
        r.ea_bits,
        r.psid_offset,
    )
    .map(|rule| (rule, r.ipv6_prefix.trunc()))
    .map_err(|e| rule_error(e, r.ea_bits, r.ipv4_len))
}

/// The mapping for `delegated` under the configured rule, else under the
/// rules DHCPv6 offered (the first rule that matches a delegated prefix is
/// the Basic Mapping Rule, RFC 7597 5); the Border Relay is the
/// configured one, else DHCPv6's first.
pub fn in_force(
    configured: Option<&MapRule>,
    offered: Option<&MapEOffer>,
    delegated: &[Ipv6Net],
) -> Result<InForce, NotMapped> {
    let (source, rules, br) = match (configured, offered) {
        (Some(c), _) => {
            let rule = Rule::new(
                c.ipv6_prefix.network(),
                c.ipv6_prefix.prefix_len(),
                c.ipv4_prefix.network(),
                c.ipv4_prefix.prefix_len(),
                c.ea_bits,
                c.psid_offset,
            )
            .map(|r| (r, c.ipv6_prefix.trunc()))
            .map_err(|e| rule_error(e, c.ea_bits, c.ipv4_prefix.prefix_len()));
            ("config", vec![rule], Some(c.br))
        }
        (None, Some(o)) if !o.rules.is_empty() => (
            "dhcpv6",
            o.rules.iter().map(offered_rule).collect(),
            o.br.first().copied(),
        ),
        (None, _) => return Err(NotMapped::NoRule),
    };
    let br = br.ok_or(NotMapped::NoBr)?;
    let mut usable = Vec::new();
    let mut first_error = None;
    for r in rules {
        match r {
            Ok(r) => usable.push(r),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(&(first_rule, first_prefix)) = usable.first() else {
        return Err(NotMapped::BadRule(first_error.unwrap_or_default()));
    };
    let Some(first) = delegated.first() else {
        return Err(NotMapped::NoPrefix);
    };
    for d in delegated {
        for (rule, prefix) in &usable {
            if let Some(mapping) = rule.map(d.network(), d.prefix_len()) {
                return Ok(InForce {
                    source,
                    rule_prefix: *prefix,
                    br,
                    delegated: d.trunc(),
                    mapping,
                });
            }
        }
    }
    Err(NotMapped::Outside {
        delegated: first.trunc(),
        rule: first_prefix,
        ea_bits: first_rule.ea_len,
    })
}

/// Port ranges in the compact form the console shows: the first `shown`
/// ranges, then how many there are and how many ports they hold
/// ("1232-1235 2256-2259 ... (63 ranges, 252 ports)").
pub fn ranges_text(m: &Mapping, shown: usize) -> String {
    let ranges = m.port_ranges();
    let ports: usize = ranges
        .iter()
        .map(|r| usize::from(*r.end()) - usize::from(*r.start()) + 1)
        .sum();
    let mut parts: Vec<String> = ranges
        .iter()
        .take(shown)
        .map(|r| format!("{}-{}", r.start(), r.end()))
        .collect();
    if ranges.len() > shown {
        parts.push("...".to_owned());
    }
    format!(
        "{} ({} ranges, {ports} ports)",
        parts.join(" "),
        ranges.len()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::net::Ipv4Addr;

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    /// RFC 7597 appendix A example 1's BMR as DHCPv6 would send it.
    fn offer() -> MapEOffer {
        MapEOffer::rfc7597_example_1()
    }

    #[test]
    fn offered_rule_maps_the_delegated_prefix() {
        let f = in_force(None, Some(&offer()), &[net("2001:db8:12:3400::/56")]).unwrap();
        assert_eq!(f.source, "dhcpv6");
        assert_eq!(f.mapping.ipv4, Ipv4Addr::new(192, 0, 2, 18));
        assert_eq!(f.mapping.psid, 0x34);
        assert_eq!(
            ranges_text(&f.mapping, 2),
            "1232-1235 2256-2259 ... (63 ranges, 252 ports)"
        );
    }

    #[test]
    fn each_failure_has_its_reason() {
        let d = [net("2001:db9:1::/56")];
        assert_eq!(in_force(None, None, &d), Err(NotMapped::NoRule));
        let mut o = offer();
        o.br.clear();
        assert_eq!(in_force(None, Some(&o), &d), Err(NotMapped::NoBr));
        assert_eq!(
            in_force(None, Some(&offer()), &[]),
            Err(NotMapped::NoPrefix)
        );
        let e = in_force(None, Some(&offer()), &d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "MAP-E: delegated prefix 2001:db9:1::/56 is not inside the rule's 2001:db8::/40"
        );
        let e = in_force(None, Some(&offer()), &[net("2001:db8:1::/48")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "MAP-E: delegated prefix 2001:db8:1::/48 is shorter than the rule's 2001:db8::/40 \
             plus its 16 EA bits (/56)"
        );
        let mut o = offer();
        o.rules[0].ea_bits = 4;
        let e = in_force(None, Some(&o), &d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "MAP-E: the DHCPv6 rule is unusable: 4 EA bits are fewer than the 8 IPv4 suffix bits"
        );
    }
}
