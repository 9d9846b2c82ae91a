//! The stateless DHCPv6 server's status (`cpectl show dhcp6s`, the DHCPv6
//! lines of `cpectl show lan`).

use std::collections::BTreeMap;

use serde::Serialize;

/// The daemon's whole status object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp6sStatus {
    /// One entry per LAN interface.
    pub lans: Vec<Dhcp6sLanStatus>,
    /// The server's DUID (option 2 of every Reply).
    pub duid: Option<String>,
}

/// The server on one LAN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp6sLanStatus {
    /// The LAN interface.
    pub interface: String,
    /// Whether UDP 547 is open.
    pub listening: bool,
    /// The router's address `"self"` stands for, when it has one.
    pub self_address: Option<String>,
    /// DNS servers answered (option 23), `"self"` resolved.
    pub dns: Vec<String>,
    /// Domain search list (option 24).
    pub domain_search: Vec<String>,
    /// NTP servers (option 56).
    pub ntp: Vec<String>,
    /// Information refresh time, seconds (option 32).
    pub information_refresh: Option<u32>,
    /// What the server did.
    pub counters: Dhcp6sCounters,
}

/// Counters of one LAN's server. Keys are stable snake_case words an
/// engineer can grep for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp6sCounters {
    /// Datagrams received (before any check).
    pub received: u64,
    /// Well-formed requests by message type name.
    pub requests: BTreeMap<String, u64>,
    /// Replies sent.
    pub replies: u64,
    /// All drops.
    pub dropped: u64,
    /// Dropped datagrams by reason.
    pub drops: BTreeMap<String, u64>,
    /// Replies decided but not sent, by reason.
    pub unsent: BTreeMap<String, u64>,
}

crate::from_json! {
    Dhcp6sStatus { lans, duid }
    Dhcp6sLanStatus { interface, listening, self_address, dns, domain_search, ntp, information_refresh, counters }
    Dhcp6sCounters { received, requests, replies, dropped, drops, unsent }
}
