//! The status object shown by `cpectl show lan` (counters in
//! [`crate::counters`]).
//!
//! Field engineers read this on a serial console to answer "what are the
//! hosts being told, and is anyone else telling them something?", so it
//! carries the live RA content (lifetimes as of now) next to the counters.

use std::net::Ipv6Addr;

use serde::Serialize;

use crate::counters::Counters;
use crate::rogue::RogueStatus;

/// One advertised prefix as hosts see it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct RaStatus {
    /// `advertising`, `stopping` or `stopped`.
    pub state: &'static str,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// RFC 4191 preference.
    pub preference: &'static str,
    /// Router lifetime currently advertised (0 while the WAN has no default
    /// route or no global prefix is advertised on this LAN).
    pub router_lifetime: u16,
    /// Whether the WAN has a default route.
    pub upstream_default_route: bool,
    /// Why the router lifetime is forced to 0 (`null` when it is not), so an
    /// engineer seeing hosts without an IPv6 default route knows the cause.
    pub not_default_router: Option<&'static str>,
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
    pub counters: Counters,
    /// RAs from sources beyond the per-source table.
    pub rogue_untracked: u64,
    /// Other routers seen on this LAN.
    pub rogue_routers: Vec<RogueStatus>,
}
