//! Which IPv4-over-IPv6 mechanism runs: one pure function of the config
//! and the DHCPv6 client's facts, called by the WAN daemon (which tunnel it
//! brings up) and by the firewall (whether it SNATs into a MAP-E port set),
//! so the two cannot disagree and neither waits for the other to publish.
//!
//! `mode = "auto"` follows the selection logic of RFC 8026 section 1.4:
//! take the highest-priority mechanism for which DHCPv6 delivered a usable
//! configuration, skipping one whose option came but cannot be used. RFC
//! 8026's priority list (OPTION_S46_PRIORITY, 111) is not asked for; the
//! order is ours: MAP-E (option 94) before DS-Lite (option 64). An ISP
//! that offers both runs MAP-E for the customers whose prefix a rule maps
//! (the router keeps the NAT state and the ISP's BR none), and DS-Lite
//! where no rule maps the prefix. Without a usable rule and without an
//! AFTR, an offered (or configured) MAP-E rule still wins, so the console
//! shows why it does not map rather than "nothing offered".
//!
//! The choice moves with the facts: a Reply that adds or drops option 94,
//! or a new delegated prefix that a rule now maps or no longer maps,
//! switches the mechanism without a restart.

use std::fmt;

use cpe_config::{Ipv4OverIpv6, S46Mode};
use ipnet::Ipv6Net;

use crate::map_e::{NotMapped, in_force};
use crate::state::Dhcp6Facts;

/// A softwire mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// DS-Lite B4 (RFC 6333), AFTR from option 64 or the config.
    DsLite,
    /// MAP-E CE (RFC 7597), rule from option 94 or the config.
    MapE,
}

impl Mechanism {
    /// The word used in the config and on the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::DsLite => "dslite",
            Mechanism::MapE => "map-e",
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What runs, and why, in the words the console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The mechanism that runs; `None`: no softwire.
    pub mechanism: Option<Mechanism>,
    /// Why (for `auto`, what DHCPv6 offered).
    pub why: String,
    /// `auto` before DHCPv6's first Reply: nothing is offered *yet*, which
    /// is no finding of its own (the DHCPv6 client's status says why).
    pub waiting: bool,
}

/// The reason `auto` gives when DHCPv6 offered no S46 option at all.
pub const NOTHING_OFFERED: &str = "auto: the ISP offered neither option 64 nor 94";

/// The reason `auto` gives before DHCPv6's first Reply.
pub const NO_REPLY_YET: &str = "auto: no DHCPv6 Reply yet to offer option 64 or 94";

/// The mechanism `cfg` asks for on the facts `dhcp6` (see the module
/// comment for `auto`).
pub fn choose(cfg: &Ipv4OverIpv6, dhcp6: &Dhcp6Facts) -> Choice {
    let fixed = |mechanism, why: &str| Choice {
        mechanism,
        why: why.to_owned(),
        waiting: false,
    };
    match cfg.mode {
        S46Mode::Off => return fixed(None, "off in the config"),
        S46Mode::DsLite => return fixed(Some(Mechanism::DsLite), "dslite in the config"),
        S46Mode::MapE => return fixed(Some(Mechanism::MapE), "map-e in the config"),
        S46Mode::Auto => {}
    }
    let delegated: Vec<Ipv6Net> = dhcp6.delegated_prefixes.iter().map(|p| p.prefix).collect();
    let map_e = in_force(cfg.map_rule.as_ref(), dhcp6.map_e.as_ref(), &delegated);
    let rule_from = |source: &str| {
        if source == "config" {
            "the MAP-E rule in the config".to_owned()
        } else {
            "the MAP-E rule of option 94".to_owned()
        }
    };
    let not_mapped = match map_e {
        Ok(f) => {
            return Choice {
                mechanism: Some(Mechanism::MapE),
                why: format!(
                    "auto: {} maps the delegated prefix {}",
                    rule_from(f.source),
                    f.delegated
                ),
                waiting: false,
            };
        }
        Err(e) => e,
    };
    let map_e_why = not_mapped.to_string();
    let map_e_why = map_e_why.strip_prefix("MAP-E: ").unwrap_or(&map_e_why);
    let aftr = match (&cfg.aftr, &dhcp6.aftr_name) {
        (Some(a), _) => Some(format!("the AFTR {a} in the config")),
        (None, Some(n)) => Some(format!("AFTR-Name {n} (option 64)")),
        (None, None) => None,
    };
    match (aftr, not_mapped) {
        (Some(aftr), NotMapped::NoRule) => Choice {
            mechanism: Some(Mechanism::DsLite),
            why: format!("auto: {aftr}, no MAP-E rule (option 94)"),
            waiting: false,
        },
        (Some(aftr), _) => Choice {
            mechanism: Some(Mechanism::DsLite),
            why: format!("auto: {aftr}; MAP-E offered but unusable: {map_e_why}"),
            waiting: false,
        },
        // No lease and no answer yet (stateless DHCPv6 is `idle`).
        (None, NotMapped::NoRule)
            if dhcp6.server_duid.is_none()
                && matches!(dhcp6.state.as_str(), "" | "soliciting" | "requesting") =>
        {
            Choice {
                mechanism: None,
                why: NO_REPLY_YET.to_owned(),
                waiting: true,
            }
        }
        (None, NotMapped::NoRule) => fixed(None, NOTHING_OFFERED),
        (None, _) => Choice {
            mechanism: Some(Mechanism::MapE),
            why: format!("auto: MAP-E offered, no AFTR-Name (option 64); not mapped: {map_e_why}"),
            waiting: false,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::state::{DelegatedPrefix, MapEOffer};
    use crate::time::MonoTime;
    use cpe_config::{Aftr, MapRule};

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    /// RFC 7597 appendix A example 1's BMR as DHCPv6 sends it.
    fn offer() -> MapEOffer {
        MapEOffer::rfc7597_example_1()
    }

    fn facts(prefix: Option<&str>, aftr: Option<&str>, map_e: Option<MapEOffer>) -> Dhcp6Facts {
        Dhcp6Facts {
            delegated_prefixes: prefix
                .map(|p| DelegatedPrefix {
                    prefix: net(p),
                    preferred_until: MonoTime(1_000_000),
                    valid_until: MonoTime(2_000_000),
                })
                .into_iter()
                .collect(),
            aftr_name: aftr.map(str::to_owned),
            map_e,
            state: "bound".to_owned(),
            server_duid: Some("000300010200000001".to_owned()),
            ..Dhcp6Facts::default()
        }
    }

    fn auto() -> Ipv4OverIpv6 {
        Ipv4OverIpv6 {
            mode: S46Mode::Auto,
            ..Ipv4OverIpv6::default()
        }
    }

    const INSIDE: &str = "2001:db8:12:3400::/56";
    const OUTSIDE: &str = "2001:db9:1::/56";
    const AFTR: &str = "aftr.isp.example";

    #[test]
    fn fixed_modes_ignore_the_facts() {
        let f = facts(Some(INSIDE), Some(AFTR), Some(offer()));
        for (mode, want) in [
            (S46Mode::Off, None),
            (S46Mode::DsLite, Some(Mechanism::DsLite)),
            (S46Mode::MapE, Some(Mechanism::MapE)),
        ] {
            let cfg = Ipv4OverIpv6 {
                mode,
                ..Ipv4OverIpv6::default()
            };
            assert_eq!(choose(&cfg, &f).mechanism, want, "{mode:?}");
            assert_eq!(choose(&cfg, &Dhcp6Facts::default()).mechanism, want);
        }
    }

    #[test]
    fn auto_nothing_offered_says_so() {
        let c = choose(&auto(), &facts(Some(INSIDE), None, None));
        assert_eq!(c.mechanism, None);
        assert_eq!(c.why, "auto: the ISP offered neither option 64 nor 94");
        assert!(!c.waiting);
        // Before the first Reply nothing is offered yet: not the ISP's
        // "neither".
        let soliciting = Dhcp6Facts {
            state: "soliciting".to_owned(),
            ..Dhcp6Facts::default()
        };
        let c = choose(&auto(), &soliciting);
        assert_eq!(
            (c.mechanism, c.why.as_str(), c.waiting),
            (
                None,
                "auto: no DHCPv6 Reply yet to offer option 64 or 94",
                true
            )
        );
    }

    #[test]
    fn auto_a_rule_that_maps_the_prefix_is_map_e_even_beside_an_aftr() {
        for aftr in [None, Some(AFTR)] {
            let c = choose(&auto(), &facts(Some(INSIDE), aftr, Some(offer())));
            assert_eq!(c.mechanism, Some(Mechanism::MapE));
            assert_eq!(
                c.why,
                "auto: the MAP-E rule of option 94 maps the delegated prefix \
                 2001:db8:12:3400::/56"
            );
        }
    }

    #[test]
    fn auto_a_configured_rule_is_map_e_without_option_94() {
        let cfg = Ipv4OverIpv6 {
            map_rule: Some(MapRule {
                ipv6_prefix: net("2001:db8::/40"),
                ipv4_prefix: "192.0.2.0/24".parse().unwrap(),
                ea_bits: 16,
                psid_offset: 6,
                br: "2001:db8:ffff::1".parse().unwrap(),
            }),
            ..auto()
        };
        let c = choose(&cfg, &facts(Some(INSIDE), Some(AFTR), None));
        assert_eq!(c.mechanism, Some(Mechanism::MapE));
        assert!(c.why.contains("the MAP-E rule in the config"), "{}", c.why);
    }

    #[test]
    fn auto_an_aftr_alone_is_dslite() {
        let c = choose(&auto(), &facts(Some(INSIDE), Some(AFTR), None));
        assert_eq!(c.mechanism, Some(Mechanism::DsLite));
        assert_eq!(
            c.why,
            "auto: AFTR-Name aftr.isp.example (option 64), no MAP-E rule (option 94)"
        );
        let cfg = Ipv4OverIpv6 {
            aftr: Some(Aftr::Name(AFTR.to_owned())),
            ..auto()
        };
        let c = choose(&cfg, &facts(None, None, None));
        assert_eq!(c.mechanism, Some(Mechanism::DsLite));
        assert!(c.why.contains("in the config"), "{}", c.why);
    }

    #[test]
    fn auto_an_unusable_rule_falls_back_to_the_aftr_and_says_why() {
        // The rule does not cover the prefix.
        let c = choose(&auto(), &facts(Some(OUTSIDE), Some(AFTR), Some(offer())));
        assert_eq!(c.mechanism, Some(Mechanism::DsLite));
        assert_eq!(
            c.why,
            "auto: AFTR-Name aftr.isp.example (option 64); MAP-E offered but unusable: \
             delegated prefix 2001:db9:1::/56 is not inside the rule's 2001:db8::/40"
        );
        // No Border Relay.
        let mut o = offer();
        o.br.clear();
        let c = choose(&auto(), &facts(Some(INSIDE), Some(AFTR), Some(o)));
        assert_eq!(c.mechanism, Some(Mechanism::DsLite));
        assert!(c.why.contains("names no Border Relay"), "{}", c.why);
        // No prefix yet: the AFTR does not wait for one.
        let c = choose(&auto(), &facts(None, Some(AFTR), Some(offer())));
        assert_eq!(c.mechanism, Some(Mechanism::DsLite));
    }

    #[test]
    fn auto_an_unusable_rule_without_an_aftr_stays_map_e_with_its_reason() {
        let c = choose(&auto(), &facts(Some(OUTSIDE), None, Some(offer())));
        assert_eq!(c.mechanism, Some(Mechanism::MapE));
        assert_eq!(
            c.why,
            "auto: MAP-E offered, no AFTR-Name (option 64); not mapped: delegated prefix \
             2001:db9:1::/56 is not inside the rule's 2001:db8::/40"
        );
        let c = choose(&auto(), &facts(None, None, Some(offer())));
        assert_eq!(c.mechanism, Some(Mechanism::MapE));
        assert!(c.why.contains("no delegated prefix yet"), "{}", c.why);
    }
}
