//! What the firewall reads: its config slice and the state it follows.

use cpe_bus::state::SharedState;
use cpe_config::{Firewall, Lan};
use ipnet::{Ipv4Net, Ipv6Net};
use serde::Deserialize;

/// The policy: `[firewall]` plus the interface names it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `[firewall]`.
    pub firewall: Firewall,
    /// The WAN interface; on PPPoE the PPP units ([`PPP_UNITS`]), since
    /// traffic leaves and arrives on `pppN`, never on the Ethernet port
    /// the session runs over.
    pub wan: String,
    /// The DS-Lite softwire, a second WAN-side interface for IPv4: MSS
    /// clamped, unsolicited inbound treated like the WAN's, and never
    /// NATed (the AFTR does the NAT, RFC 6333 2).
    pub softwire: Option<String>,
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
    /// From the loaded config.
    pub fn from_config(c: &cpe_config::Config) -> Policy {
        Policy {
            firewall: c.firewall.clone(),
            wan: match c.wan.mode {
                cpe_config::Mode::Pppoe => PPP_UNITS.to_owned(),
                cpe_config::Mode::Ipoe => c.wan.interface.clone(),
            },
            softwire: c.wan.ipv4_over_ipv6.softwire().map(str::to_owned),
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
