//! What the firewall reads: its config slice and the state it follows.

use cpe_bus::state::SharedState;
use cpe_config::{Firewall, Ipv4OverIpv6, Lan};
use ipnet::{Ipv4Net, Ipv6Net};
use serde::Deserialize;
use std::net::Ipv4Addr;

/// The policy: `[firewall]` plus the interface names it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `[firewall]`.
    pub firewall: Firewall,
    /// The WAN interface; on PPPoE the PPP units ([`PPP_UNITS`]), since
    /// traffic leaves and arrives on `pppN`, never on the Ethernet port
    /// the session runs over.
    pub wan: String,
    /// The softwires, second WAN-side interfaces for IPv4: MSS clamped,
    /// unsolicited inbound treated like the WAN's, never masqueraded.
    /// DS-Lite's `dslite0` has no NAT at all (the AFTR does it, RFC 6333
    /// 2); MAP-E's `map0` has the SNAT into the port set
    /// ([`Snapshot::map_e`]). `auto` names both: the rules match by name,
    /// so the one that does not exist matches nothing, and a switch
    /// changes no rule but the SNAT.
    pub softwire: Vec<String>,
    /// The LAN interfaces, with their IPv4 subnet if any.
    pub lan: Vec<LanSide>,
}

/// One LAN as the firewall sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LanSide {
    /// Interface name.
    pub interface: String,
    /// IPv4 subnet of the LAN, if it has IPv4.
    pub ipv4: Option<Ipv4Net>,
}

/// The WAN on PPPoE: every `pppN` (nftables' interface wildcard). The unit
/// number is the kernel's choice and changes across reconnects, and the
/// router runs no other PPP link, so a prefix match keeps the ruleset
/// stable instead of recompiling it per session.
pub const PPP_UNITS: &str = "ppp*";

impl Policy {
    /// MAP-E's softwire (which SNATs into the port set) when the config
    /// may run MAP-E, else `None`.
    pub fn map_e(&self) -> Option<&str> {
        self.softwire
            .iter()
            .map(String::as_str)
            .find(|s| *s == cpe_config::MAPE_INTERFACE)
    }

    /// From the loaded config.
    pub fn from_config(c: &cpe_config::Config) -> Policy {
        Policy {
            firewall: c.firewall.clone(),
            wan: match c.wan.mode {
                cpe_config::Mode::Pppoe => PPP_UNITS.to_owned(),
                cpe_config::Mode::Ipoe => c.wan.interface.clone(),
            },
            softwire: c
                .wan
                .ipv4_over_ipv6
                .softwires()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            lan: c.lan.iter().map(lan_side).collect(),
        }
    }
}

fn lan_side(l: &Lan) -> LanSide {
    LanSide {
        interface: l.interface.clone(),
        ipv4: l.ipv4.as_ref().map(|v4| v4.address.trunc()),
    }
}

/// The run-time facts the ruleset depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// IPv6 prefixes in use on the LANs (delegated, ULA, static).
    pub current: Vec<Ipv6Net>,
    /// Prefixes being phased out after a renumbering, no longer routed to us.
    pub deprecated: Vec<Ipv6Net>,
    /// MAP-E: the shared IPv4 address and port set in force, when the
    /// softwire is MAP-E's and a rule maps the delegated prefix.
    pub map_e: Option<MapSnat>,
}

/// What the MAP-E SNAT translates to: the shared IPv4 address and our
/// port set (RFC 7597 5.1), as [`cpe_bus::map_e::in_force`] computes it
/// for the WAN daemon's tunnel from the same facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSnat {
    /// The shared IPv4 address.
    pub ipv4: Ipv4Addr,
    /// The port set: disjoint ranges, ascending.
    pub ports: Vec<(u16, u16)>,
}

impl MapSnat {
    /// From `[wan.ipv4_over_ipv6]` and the state: `None` unless MAP-E is
    /// what runs ([`cpe_bus::s46::choose`], the WAN daemon's choice on the
    /// same facts) and a rule (the config's, else DHCPv6's) maps a
    /// delegated prefix; then there is no `map0` either.
    pub fn from_state(s46: &Ipv4OverIpv6, state: &SharedState) -> Option<MapSnat> {
        let chosen = cpe_bus::s46::choose(s46, &state.dhcp6).mechanism;
        if chosen != Some(cpe_bus::s46::Mechanism::MapE) {
            return None;
        }
        let delegated: Vec<Ipv6Net> = state
            .dhcp6
            .delegated_prefixes
            .iter()
            .map(|p| p.prefix)
            .collect();
        let f = cpe_bus::map_e::in_force(
            s46.map_rule.as_ref(),
            state.dhcp6.map_e.as_ref(),
            &delegated,
        )
        .ok()?;
        Some(MapSnat {
            ipv4: f.mapping.ipv4,
            ports: f
                .mapping
                .port_ranges()
                .into_iter()
                .map(|r| (*r.start(), *r.end()))
                .collect(),
        })
    }
}

impl Snapshot {
    /// From the supervisor's shared state.
    pub fn from_state(state: &SharedState) -> Snapshot {
        let mut s = Snapshot::default();
        for lan in &state.lan {
            for p in &lan.prefixes {
                let net = p.prefix.trunc();
                if p.deprecated {
                    s.deprecated.push(net);
                } else {
                    s.current.push(net);
                }
            }
        }
        for v in [&mut s.current, &mut s.deprecated] {
            v.sort();
            v.dedup();
        }
        // A prefix that is current on one LAN is not stale on another.
        let current = s.current.clone();
        s.deprecated
            .retain(|d| !current.iter().any(|c| c.contains(d)));
        s
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use cpe_bus::state::{DelegatedPrefix, MapEOffer};
    use cpe_bus::time::MonoTime;
    use cpe_config::S46Mode;

    /// RFC 7597 appendix A example 1's prefix; option 94 and option 64 as
    /// the ISP's Reply had them.
    fn state(aftr: bool, map_e: bool) -> SharedState {
        let mut s = SharedState::default();
        s.dhcp6.delegated_prefixes = vec![DelegatedPrefix {
            prefix: "2001:db8:12:3400::/56".parse().unwrap(),
            preferred_until: MonoTime(1_000_000),
            valid_until: MonoTime(2_000_000),
        }];
        s.dhcp6.aftr_name = aftr.then(|| "aftr.isp.example".to_owned());
        s.dhcp6.map_e = map_e.then(MapEOffer::rfc7597_example_1);
        s
    }

    /// `auto` SNATs into the port set exactly while the WAN daemon runs
    /// MAP-E on the same facts: option 94 there, then withdrawn for an
    /// AFTR name (DS-Lite: the AFTR does the NAT), then back.
    #[test]
    fn auto_snat_follows_the_choice() {
        let auto = Ipv4OverIpv6 {
            mode: S46Mode::Auto,
            ..Ipv4OverIpv6::default()
        };
        let snat = MapSnat::from_state(&auto, &state(true, true)).unwrap();
        assert_eq!(snat.ipv4, Ipv4Addr::new(192, 0, 2, 18));
        assert_eq!(snat.ports.first(), Some(&(1232, 1235)));
        assert_eq!(MapSnat::from_state(&auto, &state(true, false)), None);
        assert_eq!(MapSnat::from_state(&auto, &state(false, false)), None);
        assert!(MapSnat::from_state(&auto, &state(false, true)).is_some());
        let dslite = Ipv4OverIpv6 {
            mode: S46Mode::DsLite,
            ..Ipv4OverIpv6::default()
        };
        assert_eq!(MapSnat::from_state(&dslite, &state(true, true)), None);
    }
}
