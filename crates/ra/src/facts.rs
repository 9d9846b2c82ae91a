//! What the engine needs to know about the LAN and the uplink, as one value.
//!
//! The driver rebuilds it from every shared-state snapshot and hands it over
//! whole; the engine works out what changed. One input instead of many small
//! ones means a snapshot can never be half applied.

use std::net::Ipv6Addr;
use std::time::Instant;

use ipnet::Ipv6Net;

use crate::prefixes::LanPrefix;

/// A more-specific route to announce with a Route Information option
/// (RFC 4191): the ULA /48 and other LANs' prefixes, so hosts keep reaching
/// them through us even while we are not a default router (WAN down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteAdvert {
    /// Destination prefix.
    pub prefix: Ipv6Net,
    /// End of its validity; `None` = as long as we advertise.
    pub valid_until: Option<Instant>,
}

/// Snapshot of everything outside the RA configuration that shapes our RAs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LanFacts {
    /// Delegated-derived (and ULA) /64s for this LAN with their lifetimes.
    pub prefixes: Vec<LanPrefix>,
    /// `prefixes` reflect a delegation (or are final, e.g. static only), so
    /// prefixes remembered from before a restart that are missing from them
    /// can be deprecated (RFC 9096). False while the WAN is still coming up.
    pub delegation_known: bool,
    /// The router's own global/ULA addresses on this interface (RDNSS "self").
    pub router_addresses: Vec<Ipv6Addr>,
    /// The router's link-local addresses on this interface: RAs from any
    /// other source are foreign.
    pub link_local: Vec<Ipv6Addr>,
    /// The interface's MAC for the Source Link-Layer Address option.
    pub link_layer_address: Option<[u8; 6]>,
    /// Whether the WAN has an IPv6 default route (RFC 7084 G-4/G-5).
    pub upstream_default_route: bool,
    /// WAN MTU for `mtu = "auto"`.
    pub wan_mtu: Option<u32>,
    /// Route Information to announce.
    pub routes: Vec<RouteAdvert>,
}
