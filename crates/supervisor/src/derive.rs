//! The LAN side of the shared state, derived from the WAN side.
//!
//! This is the one place where "a /64 per LAN from the delegated prefix"
//! happens, so every daemon (RA, DHCPv6 server, DNS, firewall) sees the same
//! addresses after a renumbering, in the same snapshot.

use std::net::{IpAddr, Ipv6Addr};

use cpe_bus::state::INFINITE;
use cpe_bus::{DelegatedPrefix, Dhcp6Facts, LanFacts, LanPrefix, MonoTime, PrefixOrigin, WanFacts};
use ipnet::Ipv6Net;

/// What one `[[lan]]` contributes to the derivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanInput {
    /// LAN interface.
    pub interface: String,
    /// Which /64 of each delegation (and of the ULA /48) this LAN gets.
    pub subnet_id: u64,
    /// Whether it also gets a ULA /64.
    pub ula: bool,
    /// Extra static /64s from `lan.ra.prefixes`.
    pub static_prefixes: Vec<Ipv6Net>,
}

/// The `subnet_id`-th /64 of `prefix`, or `None` when it does not fit
/// (delegation longer than the config's hint: the LAN gets no prefix from it
/// rather than an overlapping one).
pub fn subnet64(prefix: Ipv6Net, subnet_id: u64) -> Option<Ipv6Net> {
    let len = prefix.prefix_len();
    if len > 64 {
        return None;
    }
    let bits = 64 - u32::from(len);
    if bits < 64 && subnet_id >> bits != 0 {
        return None;
    }
    let base = u128::from(prefix.network()) | (u128::from(subnet_id) << 64);
    Ipv6Net::new(Ipv6Addr::from(base), 64).ok()
}

/// The router's own address in a /64: `::1`, the address LAN hosts expect
/// to find a router and DNS at, stable across renumberings.
pub fn router_address(net: Ipv6Net) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(net.network()) | 1)
}

fn lan_prefix(
    net: Ipv6Net,
    preferred_until: MonoTime,
    valid_until: MonoTime,
    deprecated: bool,
    origin: PrefixOrigin,
) -> LanPrefix {
    LanPrefix {
        prefix: net,
        router_address: router_address(net),
        preferred_until,
        valid_until,
        deprecated,
        origin,
    }
}

/// Derives every LAN's prefixes: current delegations first, then those being
/// phased out (deprecated, until their valid lifetime ends), then the ULA,
/// then static ones.
pub fn derive_lans(
    lans: &[LanInput],
    dhcp6: &Dhcp6Facts,
    ula48: Option<Ipv6Net>,
    now: MonoTime,
) -> Vec<LanFacts> {
    lans.iter()
        .map(|lan| {
            let mut prefixes = Vec::new();
            for p in &dhcp6.delegated_prefixes {
                if p.valid_until <= now {
                    continue;
                }
                if let Some(net) = subnet64(p.prefix, lan.subnet_id) {
                    prefixes.push(lan_prefix(
                        net,
                        p.preferred_until,
                        p.valid_until,
                        false,
                        PrefixOrigin::Delegated,
                    ));
                }
            }
            for p in &dhcp6.previous_prefixes {
                if p.valid_until <= now {
                    continue;
                }
                if let Some(net) = subnet64(p.prefix, lan.subnet_id) {
                    if prefixes.iter().any(|x: &LanPrefix| x.prefix == net) {
                        continue;
                    }
                    prefixes.push(lan_prefix(
                        net,
                        now.min(p.preferred_until),
                        p.valid_until,
                        true,
                        PrefixOrigin::Delegated,
                    ));
                }
            }
            if lan.ula
                && let Some(net) = ula48.and_then(|u| subnet64(u, lan.subnet_id))
            {
                prefixes.push(lan_prefix(
                    net,
                    INFINITE,
                    INFINITE,
                    false,
                    PrefixOrigin::Ula,
                ));
            }
            for net in &lan.static_prefixes {
                prefixes.push(lan_prefix(
                    *net,
                    INFINITE,
                    INFINITE,
                    false,
                    PrefixOrigin::Static,
                ));
            }
            LanFacts {
                interface: lan.interface.clone(),
                subnet_id: lan.subnet_id,
                prefixes,
            }
        })
        .collect()
}

/// Keeps the list of prefixes that were delegated before but are not any
/// more, so LAN services can deprecate them (RFC 7084 L-13) even if the
/// DHCPv6 client restarted and forgot them.
pub fn update_retired(
    retired: &mut Vec<DelegatedPrefix>,
    old: &Dhcp6Facts,
    new: &Dhcp6Facts,
    now: MonoTime,
) {
    let gone = old
        .delegated_prefixes
        .iter()
        .filter(|p| !new.delegated_prefixes.iter().any(|n| n.prefix == p.prefix));
    for p in gone.chain(new.previous_prefixes.iter()) {
        match retired.iter_mut().find(|r| r.prefix == p.prefix) {
            Some(r) => {
                r.valid_until = r.valid_until.max(p.valid_until);
            }
            None => retired.push(*p),
        }
    }
    retired.retain(|r| {
        r.valid_until > now && !new.delegated_prefixes.iter().any(|n| n.prefix == r.prefix)
    });
}

/// Upstream DNS servers from every WAN source, DHCPv6 first, without
/// duplicates, IPv4 never in mapped form.
pub fn upstream_dns(dhcp6: &Dhcp6Facts, wan: &WanFacts) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for a in dhcp6
        .dns_servers
        .iter()
        .map(|a| IpAddr::V6(*a))
        .chain(wan.dns_servers.iter().copied())
    {
        let a = a.to_canonical();
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    fn dp(p: &str, pref: u64, valid: u64) -> DelegatedPrefix {
        DelegatedPrefix {
            prefix: net(p),
            preferred_until: MonoTime(pref),
            valid_until: MonoTime(valid),
        }
    }

    #[test]
    fn subnet_ids_pick_the_right_64() {
        assert_eq!(
            subnet64(net("2001:db8:1200::/56"), 1),
            Some(net("2001:db8:1200:1::/64"))
        );
        assert_eq!(
            subnet64(net("2001:db8:1200:ff00::/56"), 255),
            Some(net("2001:db8:1200:ffff::/64"))
        );
        assert_eq!(subnet64(net("2001:db8:1200::/56"), 256), None);
        assert_eq!(
            subnet64(net("2001:db8:1:2::/64"), 0),
            Some(net("2001:db8:1:2::/64"))
        );
        assert_eq!(subnet64(net("2001:db8:1:2::/64"), 1), None);
        assert_eq!(subnet64(net("2001:db8::/80"), 0), None);
        assert_eq!(
            subnet64(net("fd12:3456:789a::/48"), 0xbeef),
            Some(net("fd12:3456:789a:beef::/64"))
        );
        assert_eq!(
            router_address(net("2001:db8:1201::/64")),
            "2001:db8:1201::1".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn renumbering_keeps_old_prefix_deprecated_in_same_snapshot() {
        let lans = vec![LanInput {
            interface: "br0".into(),
            subnet_id: 1,
            ula: true,
            static_prefixes: vec![],
        }];
        let old = Dhcp6Facts {
            delegated_prefixes: vec![dp("2001:db8:1200::/56", 50_000, 90_000)],
            ..Default::default()
        };
        let new = Dhcp6Facts {
            delegated_prefixes: vec![dp("2001:db8:3400::/56", 60_000, 100_000)],
            ..Default::default()
        };
        let mut retired = Vec::new();
        let now = MonoTime(10_000);
        update_retired(&mut retired, &old, &new, now);
        assert_eq!(retired, vec![dp("2001:db8:1200::/56", 50_000, 90_000)]);
        let facts = Dhcp6Facts {
            previous_prefixes: retired.clone(),
            ..new.clone()
        };
        let ula = Some(net("fd00:1:2::/48"));
        let lan = &derive_lans(&lans, &facts, ula, now)[0];
        assert_eq!(lan.prefixes.len(), 3);
        assert_eq!(lan.prefixes[0].prefix, net("2001:db8:3400:1::/64"));
        assert!(!lan.prefixes[0].deprecated);
        assert_eq!(lan.prefixes[1].prefix, net("2001:db8:1200:1::/64"));
        assert!(lan.prefixes[1].deprecated);
        assert_eq!(lan.prefixes[1].preferred_until, now);
        assert_eq!(lan.prefixes[1].valid_until, MonoTime(90_000));
        assert_eq!(lan.prefixes[2].prefix, net("fd00:1:2:1::/64"));
        assert_eq!(lan.prefixes[2].origin, PrefixOrigin::Ula);

        // Once the old prefix's valid lifetime is over it disappears.
        update_retired(&mut retired, &new, &new, MonoTime(95_000));
        assert!(retired.is_empty());
        // And a prefix that comes back is no longer retired.
        let mut retired = vec![dp("2001:db8:1200::/56", 50_000, 90_000)];
        update_retired(&mut retired, &new, &old, now);
        assert_eq!(retired, vec![dp("2001:db8:3400::/56", 60_000, 100_000)]);
    }

    #[test]
    fn upstream_dns_dedups_and_unmaps() {
        let d = Dhcp6Facts {
            dns_servers: vec![
                "2001:db8::53".parse().unwrap(),
                "::ffff:192.0.2.53".parse().unwrap(),
            ],
            ..Default::default()
        };
        let w = WanFacts {
            dns_servers: vec![
                "192.0.2.53".parse().unwrap(),
                "2001:db8::53".parse().unwrap(),
            ],
            ..Default::default()
        };
        let got = upstream_dns(&d, &w);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].to_string(), "192.0.2.53");
    }
}
