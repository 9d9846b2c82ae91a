//! The router's own addresses on its LANs.
//!
//! Every LAN service needs them at the same moment (RA source routes, the
//! DHCPv6 server's "self", the DNS forwarder's listen addresses), and they
//! follow the delegated prefix, which only the supervisor sees whole. So the
//! supervisor applies them itself, right after deriving a new state and
//! before pushing it: when a daemon learns of a prefix, the address is
//! already on the interface.
//!
//! Each LAN gets `prefix::1/64` in every one of its prefixes, with the
//! prefix's remaining lifetimes (so the kernel deprecates and removes them
//! on its own even if we stop), plus the static IPv4 address of
//! `[lan.ipv4]`. Addresses we put there earlier and that are no longer
//! wanted are removed; addresses anyone else added are left alone.
//! A failure (interface missing, netlink error) is logged once and retried
//! on the next state change; it never stops the supervisor.

use std::collections::BTreeMap;

use cpe_bus::state::INFINITE;
use cpe_bus::{LanFacts, MonoTime};
use cpe_sys::netlink::{AddrFlags, Address, Lifetimes, Netlink};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What one LAN should carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Interface name.
    pub interface: String,
    /// IPv6 addresses with the lifetimes to program.
    pub v6: Vec<(Ipv6Net, Lifetimes)>,
    /// The static IPv4 address, if any.
    pub v4: Option<Ipv4Net>,
}

fn secs_left(until: MonoTime, now: MonoTime) -> u32 {
    if until == INFINITE {
        u32::MAX
    } else {
        until.secs_after(now).min(u64::from(u32::MAX - 1)) as u32
    }
}

/// Turns derived LAN facts into the addresses to program.
pub fn wanted(lans: &[LanFacts], v4: &[Option<Ipv4Net>], now: MonoTime) -> Vec<Wanted> {
    lans.iter()
        .enumerate()
        .map(|(i, lan)| Wanted {
            interface: lan.interface.clone(),
            v6: lan
                .prefixes
                .iter()
                .filter(|p| p.valid_until > now)
                .filter_map(|p| {
                    let net = Ipv6Net::new(p.router_address, 64).ok()?;
                    let valid = secs_left(p.valid_until, now);
                    let preferred = if p.deprecated {
                        0
                    } else {
                        secs_left(p.preferred_until, now).min(valid)
                    };
                    Some((net, Lifetimes { preferred, valid }))
                })
                .collect(),
            v4: v4.get(i).copied().flatten(),
        })
        .collect()
}

/// Programs LAN addresses and remembers what it programmed.
#[derive(Default)]
pub struct LanAddresses {
    netlink: Option<Netlink>,
    ours: BTreeMap<String, Vec<IpNet>>,
    last_error: BTreeMap<String, String>,
}

impl LanAddresses {
    /// Whether the last attempt left something undone (to retry later).
    pub fn has_errors(&self) -> bool {
        !self.last_error.is_empty()
    }

    /// Applies `wanted`; errors are logged once per interface and message.
    pub fn apply(&mut self, wanted: &[Wanted]) {
        if self.netlink.is_none() {
            match Netlink::open() {
                Ok(nl) => self.netlink = Some(nl),
                Err(e) => {
                    self.report("netlink", format!("cannot open rtnetlink: {e}"));
                    return;
                }
            }
        }
        for w in wanted {
            let result = self.apply_one(w);
            match result {
                Ok(()) => {
                    self.last_error.remove(&w.interface);
                }
                Err(e) => self.report(&w.interface, e),
            }
        }
        // LANs removed from the config: take our addresses off them.
        let gone: Vec<String> = self
            .ours
            .keys()
            .filter(|i| !wanted.iter().any(|w| &w.interface == *i))
            .cloned()
            .collect();
        for iface in gone {
            let _ = self.apply_one(&Wanted {
                interface: iface.clone(),
                v6: vec![],
                v4: None,
            });
            self.ours.remove(&iface);
        }
    }

    fn report(&mut self, key: &str, message: String) {
        if self.last_error.get(key) != Some(&message) {
            log::warn!("LAN addresses: {message}");
            self.last_error.insert(key.to_string(), message);
        }
    }

    fn apply_one(&mut self, w: &Wanted) -> Result<(), String> {
        let nl = self.netlink.as_mut().ok_or("no rtnetlink socket")?;
        let link = nl
            .link_by_name(&w.interface)
            .map_err(|e| format!("{}: {e}", w.interface))?
            .ok_or_else(|| format!("LAN interface {} does not exist (yet)", w.interface))?;
        if !link.flags.up() {
            nl.set_link_up(link.index, true)
                .map_err(|e| format!("cannot bring {} up: {e}", w.interface))?;
            log::info!("brought LAN interface {} up", w.interface);
        }
        let mut now_ours = Vec::new();
        for (net, lifetimes) in &w.v6 {
            let mut a = Address::new(link.index, IpNet::V6(*net));
            // The router owns the /64: its ::1 needs no DAD, and services
            // can bind it at once.
            a.flags = AddrFlags(AddrFlags::NODAD);
            a.lifetimes = Some(*lifetimes);
            nl.replace_address(&a)
                .map_err(|e| format!("cannot set {net} on {}: {e}", w.interface))?;
            now_ours.push(IpNet::V6(*net));
        }
        if let Some(v4) = w.v4 {
            let a = Address::new(link.index, IpNet::V4(v4));
            nl.replace_address(&a)
                .map_err(|e| format!("cannot set {v4} on {}: {e}", w.interface))?;
            now_ours.push(IpNet::V4(v4));
        }
        let before = self.ours.get(&w.interface).cloned().unwrap_or_default();
        for old in before.iter().filter(|o| !now_ours.contains(o)) {
            let a = Address::new(link.index, *old);
            match nl.del_address(&a) {
                Ok(()) => log::info!("removed {old} from {}", w.interface),
                Err(e) => log::debug!("removing {old} from {}: {e}", w.interface),
            }
        }
        for new in now_ours.iter().filter(|n| !before.contains(n)) {
            log::info!("router address {new} on {}", w.interface);
        }
        self.ours.insert(w.interface.clone(), now_ours);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpe_bus::{LanPrefix, PrefixOrigin};

    #[test]
    fn lifetimes_follow_prefixes_and_deprecation() {
        let now = MonoTime(100_000);
        let p = |s: &str, pref: u64, valid: u64, dep: bool, origin| LanPrefix {
            prefix: s.parse().unwrap(),
            router_address: s.parse::<Ipv6Net>().unwrap().network(),
            preferred_until: MonoTime(pref),
            valid_until: MonoTime(valid),
            deprecated: dep,
            origin,
        };
        let mut new = p(
            "2001:db8:2::/64",
            200_000,
            300_000,
            false,
            PrefixOrigin::Delegated,
        );
        new.router_address = "2001:db8:2::1".parse().unwrap();
        let old = p(
            "2001:db8:1::/64",
            100_000,
            150_000,
            true,
            PrefixOrigin::Delegated,
        );
        let expired = p("2001:db8:9::/64", 0, 90_000, true, PrefixOrigin::Delegated);
        let ula = p("fd00:1:2:1::/64", 0, 0, false, PrefixOrigin::Ula);
        let ula = LanPrefix {
            preferred_until: INFINITE,
            valid_until: INFINITE,
            ..ula
        };
        let lans = vec![LanFacts {
            interface: "br0".into(),
            subnet_id: 1,
            prefixes: vec![new, old, expired, ula],
        }];
        let w = wanted(&lans, &[Some("192.168.1.1/24".parse().unwrap())], now);
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].v6,
            vec![
                (
                    "2001:db8:2::1/64".parse().unwrap(),
                    Lifetimes {
                        preferred: 100,
                        valid: 200
                    }
                ),
                (
                    "2001:db8:1::/64".parse().unwrap(),
                    Lifetimes {
                        preferred: 0,
                        valid: 50
                    }
                ),
                ("fd00:1:2:1::/64".parse().unwrap(), Lifetimes::FOREVER),
            ]
        );
        assert_eq!(w[0].v4, Some("192.168.1.1/24".parse().unwrap()));
    }
}
