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
    /// The /48 configured as `lan.ula` (RFC 7084 ULA-3), used instead of the
    /// router's generated one.
    pub ula_prefix: Option<Ipv6Net>,
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

/// Which /64 of one delegation a LAN gets, and what the engineer must be
/// told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The LAN's /64 of the delegation, if it gets one.
    pub subnet: Option<Ipv6Net>,
    /// Why it did not get its configured subnet, in words, with the
    /// delegated length and what the config asked for.
    pub problem: Option<String>,
}

/// Assigns each LAN its /64 of `prefix` (RFC 7084 WPD-3: a delegation
/// shorter than the config planned for must not leave LANs silently
/// unnumbered).
///
/// The rule: a LAN whose `subnet_id` fits in the delegation gets that /64.
/// A LAN whose `subnet_id` does not fit (a /64 delegated where the config
/// planned a /56) takes the lowest /64 of the delegation that no other LAN
/// uses, in config order, so a /64 still numbers one LAN rather than none;
/// when every /64 is taken it gets none. Either way the LAN carries a
/// problem line. A delegation longer than /64 numbers no LAN.
///
/// A /64 that overlaps a prefix the ISP excluded from the delegation
/// (`excluded`, RFC 6603 Prefix Exclude: typically the /64 of its link to
/// this router, which would then be on two links) is never used: a LAN whose
/// `subnet_id` points at it is treated like one whose `subnet_id` does not
/// fit, and the fallback skips it too.
pub fn assign(lans: &[LanInput], prefix: Ipv6Net, excluded: &[Ipv6Net]) -> Vec<Assignment> {
    let len = prefix.prefix_len();
    if len > 64 {
        let problem =
            format!("delegated {prefix} is longer than /64: no LAN can be numbered from it");
        return lans
            .iter()
            .map(|_| Assignment {
                subnet: None,
                problem: Some(problem.clone()),
            })
            .collect();
    }
    let fits = |id: u64| subnet64(prefix, id).is_some();
    let excluded_from = |id: u64| {
        subnet64(prefix, id).and_then(|net| {
            excluded
                .iter()
                .find(|x| x.contains(&net.network()) || net.contains(&x.network()))
        })
    };
    let usable = |id: u64| fits(id) && excluded_from(id).is_none();
    let mut used: Vec<u64> = lans
        .iter()
        .map(|l| l.subnet_id)
        .filter(|id| usable(*id))
        .collect();
    lans.iter()
        .map(|lan| {
            if usable(lan.subnet_id) {
                return Assignment {
                    subnet: subnet64(prefix, lan.subnet_id),
                    problem: None,
                };
            }
            let bits = 64 - u32::from(len);
            let last = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
            // Found within (LANs + exclusions + 1) steps: only those are
            // skipped.
            let free = (0..=last).find(|id| !used.contains(id) && excluded_from(*id).is_none());
            let holds = if last == 0 {
                "subnet 0 only".to_string()
            } else {
                format!("subnets 0..={last}")
            };
            let head = match excluded_from(lan.subnet_id) {
                Some(x) => format!(
                    "subnet {id} of delegated {prefix} for {iface} overlaps {x}, which the ISP \
                     excluded from the delegation (RFC 6603 Prefix Exclude: the prefix of its \
                     link to this router)",
                    id = lan.subnet_id,
                    iface = lan.interface,
                ),
                None => format!(
                    "delegated {prefix} has no subnet {id} for {iface} (a /{len} holds {holds}; \
                     subnet_id {id} needs a /{need} or shorter)",
                    id = lan.subnet_id,
                    iface = lan.interface,
                    need = 64 - (64 - lan.subnet_id.leading_zeros()).min(64),
                ),
            };
            match free {
                Some(id) => {
                    used.push(id);
                    Assignment {
                        subnet: subnet64(prefix, id),
                        problem: Some(format!("{head}: numbered with subnet {id} instead")),
                    }
                }
                None => Assignment {
                    subnet: None,
                    problem: Some(format!(
                        "{head}: every /64 of it is used by another LAN, so {} has no global prefix",
                        lan.interface
                    )),
                },
            }
        })
        .collect()
}

/// The problem lines of each LAN (in `lans` order) for the current
/// delegations: what the console and the log show.
pub fn lan_problems(lans: &[LanInput], dhcp6: &Dhcp6Facts, now: MonoTime) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); lans.len()];
    for p in dhcp6
        .delegated_prefixes
        .iter()
        .filter(|p| p.valid_until > now)
    {
        for (i, a) in assign(lans, p.prefix, &dhcp6.excluded_prefixes)
            .into_iter()
            .enumerate()
        {
            if let (Some(problem), Some(slot)) = (a.problem, out.get_mut(i)) {
                slot.push(problem);
            }
        }
    }
    out
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
    let current: Vec<(&DelegatedPrefix, Vec<Assignment>)> = dhcp6
        .delegated_prefixes
        .iter()
        .filter(|p| p.valid_until > now)
        .map(|p| (p, assign(lans, p.prefix, &dhcp6.excluded_prefixes)))
        .collect();
    let previous: Vec<(&DelegatedPrefix, Vec<Assignment>)> = dhcp6
        .previous_prefixes
        .iter()
        .filter(|p| p.valid_until > now)
        .map(|p| (p, assign(lans, p.prefix, &dhcp6.excluded_prefixes)))
        .collect();
    let nth = |a: &[Assignment], i: usize| a.get(i).and_then(|a| a.subnet);
    lans.iter()
        .enumerate()
        .map(|(i, lan)| {
            let mut prefixes = Vec::new();
            for (p, assigned) in &current {
                if let Some(net) = nth(assigned, i) {
                    prefixes.push(lan_prefix(
                        net,
                        p.preferred_until,
                        p.valid_until,
                        false,
                        PrefixOrigin::Delegated,
                    ));
                }
            }
            for (p, assigned) in &previous {
                if let Some(net) = nth(assigned, i) {
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
                && let Some(net) = lan
                    .ula_prefix
                    .or(ula48)
                    .and_then(|u| subnet64(u, lan.subnet_id))
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

    /// RFC 7084 WPD-8 / RFC 6603: a /64 the ISP excluded from the
    /// delegation is never a LAN's; the LAN whose subnet_id points at it
    /// takes the lowest free one instead, and the problem line says why.
    #[test]
    fn an_excluded_prefix_numbers_no_lan_and_the_lan_is_told_why() {
        let d = net("2001:db8:1200::/56");
        // The ISP's link uses subnet 0: LANs 1 and 2 are untouched.
        let a = assign(&lans(&[1, 2]), d, &[net("2001:db8:1200::/64")]);
        assert_eq!(a[0].subnet, Some(net("2001:db8:1200:1::/64")));
        assert!(a.iter().all(|a| a.problem.is_none()));
        // A LAN on the excluded /64 (here a /80 inside it) moves to the
        // lowest /64 that is neither excluded nor another LAN's.
        let a = assign(&lans(&[0, 1]), d, &[net("2001:db8:1200:0:1::/80")]);
        assert_eq!(a[0].subnet, Some(net("2001:db8:1200:2::/64")));
        let why = a[0].problem.as_deref().unwrap();
        assert!(
            why.contains(
                "subnet 0 of delegated 2001:db8:1200::/56 for br0 overlaps 2001:db8:1200:0:1::/80"
            ) && why.contains("RFC 6603")
                && why.contains("numbered with subnet 2 instead"),
            "{why}"
        );
        assert_eq!(a[1].subnet, Some(net("2001:db8:1200:1::/64")));
        // A /64 delegation with a part excluded numbers no LAN at all.
        let a = assign(
            &lans(&[0]),
            net("2001:db8:1:2::/64"),
            &[net("2001:db8:1:2::/96")],
        );
        assert_eq!(a[0].subnet, None);
        assert!(
            a[0].problem
                .as_deref()
                .unwrap()
                .contains("no global prefix")
        );

        // Through derive_lans and lan_problems, from the DHCPv6 facts.
        let facts = Dhcp6Facts {
            delegated_prefixes: vec![dp("2001:db8:1200::/56", 50_000, 90_000)],
            excluded_prefixes: vec![net("2001:db8:1200:1::/64")],
            ..Default::default()
        };
        let out = derive_lans(&lans(&[1]), &facts, None, MonoTime(1));
        assert_eq!(out[0].prefixes.len(), 1);
        assert_eq!(out[0].prefixes[0].prefix, net("2001:db8:1200::/64"));
        let problems = lan_problems(&lans(&[1]), &facts, MonoTime(1));
        assert!(problems[0][0].contains("excluded"), "{problems:?}");
    }

    /// RFC 7084 ULA-3: a LAN with `lan.ula = "fd..::/48"` is numbered from
    /// that /48, another LAN from the generated one.
    #[test]
    fn a_configured_ula_prefix_numbers_its_lan_instead_of_the_generated_one() {
        let lan = |interface: &str, subnet_id, ula_prefix| LanInput {
            interface: interface.into(),
            subnet_id,
            ula: true,
            ula_prefix,
            static_prefixes: vec![],
        };
        let lans = vec![
            lan("br0", 1, Some(net("fd12:3456:789a::/48"))),
            lan("br1", 2, None),
        ];
        let generated = Some(net("fd00:1:2::/48"));
        let out = derive_lans(&lans, &Dhcp6Facts::default(), generated, MonoTime(1));
        assert_eq!(out[0].prefixes.len(), 1);
        assert_eq!(out[0].prefixes[0].prefix, net("fd12:3456:789a:1::/64"));
        assert_eq!(out[0].prefixes[0].origin, PrefixOrigin::Ula);
        assert_eq!(out[1].prefixes[0].prefix, net("fd00:1:2:2::/64"));
        // Without a generated /48 (none needed) the configured one still counts.
        let out = derive_lans(&lans[..1], &Dhcp6Facts::default(), None, MonoTime(1));
        assert_eq!(out[0].prefixes[0].prefix, net("fd12:3456:789a:1::/64"));
    }

    #[test]
    fn renumbering_keeps_old_prefix_deprecated_in_same_snapshot() {
        let lans = vec![LanInput {
            interface: "br0".into(),
            subnet_id: 1,
            ula: true,
            ula_prefix: None,
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

    fn lans(ids: &[u64]) -> Vec<LanInput> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| LanInput {
                interface: format!("br{i}"),
                subnet_id: *id,
                ula: false,
                ula_prefix: None,
                static_prefixes: Vec::new(),
            })
            .collect()
    }

    fn subnets(a: &[Assignment]) -> Vec<Option<String>> {
        a.iter().map(|a| a.subnet.map(|n| n.to_string())).collect()
    }

    /// WPD-3: a /64 where the config planned subnet 1 still numbers one
    /// LAN, and says so; the LAN that finds nothing free says that too.
    #[test]
    fn a_delegation_too_small_for_subnet_id_numbers_the_first_lan_and_explains() {
        let a = assign(&lans(&[1, 2]), net("2001:db8:1:2::/64"), &[]);
        assert_eq!(subnets(&a), vec![Some("2001:db8:1:2::/64".into()), None]);
        let p0 = a[0].problem.as_deref().unwrap();
        assert!(
            p0.contains("/64") && p0.contains("subnet 1") && p0.contains("numbered with subnet 0"),
            "{p0}"
        );
        assert!(p0.contains("needs a /63 or shorter"), "{p0}");
        let p1 = a[1].problem.as_deref().unwrap();
        assert!(p1.contains("br1 has no global prefix"), "{p1}");
    }

    #[test]
    fn fitting_subnet_ids_are_kept_and_only_free_subnets_are_borrowed() {
        let a = assign(&lans(&[1, 5, 0]), net("2001:db8:1:2::/63"), &[]);
        // 1 and 0 fit; 5 does not and nothing is free.
        assert_eq!(
            subnets(&a),
            vec![
                Some("2001:db8:1:3::/64".into()),
                None,
                Some("2001:db8:1:2::/64".into())
            ]
        );
        assert!(a[0].problem.is_none() && a[2].problem.is_none());
        let a = assign(&lans(&[1, 5]), net("2001:db8:1:2::/63"), &[]);
        assert_eq!(
            subnets(&a),
            vec![
                Some("2001:db8:1:3::/64".into()),
                Some("2001:db8:1:2::/64".into())
            ]
        );
        // A /56 holds every configured id: nothing to say.
        let a = assign(&lans(&[1, 255]), net("2001:db8:1200::/56"), &[]);
        assert!(a.iter().all(|a| a.subnet.is_some() && a.problem.is_none()));
        // Longer than /64: nobody.
        let a = assign(&lans(&[0]), net("2001:db8::/80"), &[]);
        assert!(a[0].subnet.is_none() && a[0].problem.is_some());
    }

    #[test]
    fn derive_lans_uses_the_same_rule_and_lan_problems_reports_it() {
        let l = lans(&[1]);
        let d = Dhcp6Facts {
            delegated_prefixes: vec![dp("2001:db8:1:2::/64", 50_000, 90_000)],
            ..Default::default()
        };
        let now = MonoTime(1_000);
        let facts = derive_lans(&l, &d, None, now);
        assert_eq!(facts[0].prefixes[0].prefix, net("2001:db8:1:2::/64"));
        let problems = lan_problems(&l, &d, now);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].len(), 1);
    }
}
