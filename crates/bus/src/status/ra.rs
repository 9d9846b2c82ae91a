//! The RA sender's status (`cpectl show ra`, the RA lines of `cpectl show
//! lan`): per LAN, what hosts are being told, the counters, and any other
//! router advertising on the link.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use serde::Serialize;

/// The daemon's whole status object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RaStatus {
    /// One entry per LAN interface.
    pub lans: Vec<RaLanStatus>,
}

/// One advertised prefix as hosts see it now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrefixStatus {
    /// `2001:db8:1:1::/64`.
    pub prefix: String,
    /// Seconds, as the next RA will say.
    pub valid_lifetime: u32,
    /// Seconds (0 when deprecated).
    pub preferred_lifetime: u32,
    /// Being withdrawn (renumbering or restart).
    pub deprecated: bool,
}

/// Status of the RA sender on one LAN interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RaLanStatus {
    /// The LAN interface.
    pub interface: String,
    /// `advertising`, `stopping` or `stopped`.
    pub state: String,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// RFC 4191 preference.
    pub preference: String,
    /// Router lifetime currently advertised (0 while the WAN has no default
    /// route or no global prefix is advertised on this LAN).
    pub router_lifetime: u16,
    /// Whether the WAN has a default route.
    pub upstream_default_route: bool,
    /// Why the router lifetime is forced to 0 (`null` when it is not), so an
    /// engineer seeing hosts without an IPv6 default route knows the cause.
    pub not_default_router: Option<String>,
    /// MTU option value.
    pub mtu: Option<u32>,
    /// Prefixes in the RA, deprecated ones included.
    pub prefixes: Vec<PrefixStatus>,
    /// Prefixes from before the restart still waiting for the delegation.
    pub remembered_prefixes: Vec<String>,
    /// Route Information prefixes.
    pub routes: Vec<String>,
    /// RDNSS addresses.
    pub rdnss: Vec<Ipv6Addr>,
    /// DNSSL names.
    pub dnssl: Vec<String>,
    /// RDNSS/DNSSL lifetime in seconds.
    pub dns_lifetime: u32,
    /// Milliseconds until the next multicast RA.
    pub next_ra_in_ms: Option<u64>,
    /// Seconds since the last multicast RA.
    pub last_ra_secs_ago: Option<u64>,
    /// Event counters.
    pub counters: RaCounters,
    /// RAs from sources beyond the per-source table.
    pub rogue_untracked: u64,
    /// Other routers seen on this LAN.
    pub rogue_routers: Vec<RogueRouter>,
    /// Datagrams the socket refused to send.
    pub send_errors: u64,
}

/// Event counters of one LAN's RA engine since the daemon started. The
/// engine counts into this very struct (drop reasons are its static
/// words, so counting never allocates after the first of a kind).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RaCounters {
    /// Periodic RAs sent.
    pub ra_sent_unsolicited: u64,
    /// RAs sent (also) to answer solicitations.
    pub ra_sent_solicited: u64,
    /// Final RAs (router lifetime 0) sent at shutdown.
    pub ra_sent_final: u64,
    /// Valid RSs received.
    pub rs_received: u64,
    /// RSs covered by an RA that was sent.
    pub rs_answered: u64,
    /// Our own RAs looped back to us (ignored).
    pub ra_received_own: u64,
    /// RAs from other routers.
    pub ra_received_rogue: u64,
    /// Dropped input by reason.
    pub dropped: BTreeMap<Cow<'static, str>, u64>,
    /// RAs that could not be encoded (should stay 0).
    pub encode_errors: u64,
    /// Options left out of RAs to keep them unfragmented (should stay 0).
    pub options_skipped: u64,
}

impl RaCounters {
    /// Counts one dropped input.
    pub fn drop_for(&mut self, reason: &'static str) {
        let n = self.dropped.entry(Cow::Borrowed(reason)).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// All drops, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().fold(0, |a, b| a.saturating_add(*b))
    }
}

/// Another router advertising on our LAN, with the latest content it sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RogueRouter {
    /// Link-local source address of the RA.
    pub source: Option<Ipv6Addr>,
    /// Its Source Link-Layer Address option as `aa:bb:..`, if any.
    pub link_layer_address: Option<String>,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// RFC 4191 preference.
    pub preference: String,
    /// Router lifetime in seconds (0 = does not offer a default route).
    pub router_lifetime: u16,
    /// PIOs as `prefix/len` with flags and lifetimes.
    pub prefixes: Vec<String>,
    /// RDNSS addresses.
    pub dns_servers: Vec<Ipv6Addr>,
    /// Why the RA could not be decoded, if it could not.
    pub malformed: Option<String>,
    /// RAs received from it.
    pub count: u64,
    /// Seconds since the first one.
    pub first_seen_secs_ago: u64,
    /// Seconds since the latest one.
    pub last_seen_secs_ago: u64,
    /// Seconds until what its latest RA told the hosts (router, prefix,
    /// route and DNS lifetimes) runs out; 0 once it has: the router is
    /// then history, no longer a problem on the LAN. `None`: infinite or
    /// unknown.
    pub holds_secs_left: Option<u64>,
}

crate::from_json! {
    RaStatus { lans }
    PrefixStatus { prefix, valid_lifetime, preferred_lifetime, deprecated }
    RaLanStatus { interface, state, managed, other_config, preference, router_lifetime, upstream_default_route, not_default_router, mtu, prefixes, remembered_prefixes, routes, rdnss, dnssl, dns_lifetime, next_ra_in_ms, last_ra_secs_ago, counters, rogue_untracked, rogue_routers, send_errors }
    RaCounters { ra_sent_unsolicited, ra_sent_solicited, ra_sent_final, rs_received, rs_answered, ra_received_own, ra_received_rogue, dropped, encode_errors, options_skipped }
    RogueRouter { source, link_layer_address, managed, other_config, preference, router_lifetime, prefixes, dns_servers, malformed, count, first_seen_secs_ago, last_seen_secs_ago, holds_secs_left }
}
