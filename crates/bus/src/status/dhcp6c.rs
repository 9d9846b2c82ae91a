//! The DHCPv6 client's status (`cpectl show dhcp6c`): the lease with
//! lifetimes left, what a stateless ISP said, why the ISP refused us.

use std::collections::BTreeMap;

use serde::Serialize;

/// The daemon's whole status object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp6cStatus {
    /// State machine state (`soliciting`, `bound`, ...).
    pub state: String,
    /// The WAN interface.
    pub interface: String,
    /// Our DUID, hex.
    pub duid: String,
    /// The server we are bound to, DUID in hex.
    pub server_duid: Option<String>,
    /// Prefixes delegated now.
    pub delegated_prefixes: Vec<Lifetimed>,
    /// Prefixes replaced or withdrawn and still valid.
    pub previous_prefixes: Vec<Lifetimed>,
    /// IA_NA addresses leased.
    pub addresses: Vec<LeasedAddress>,
    /// Seconds until Renew.
    pub t1: Option<u64>,
    /// Seconds until Rebind.
    pub t2: Option<u64>,
    /// DNS servers in force (the lease's, else Information-request's).
    pub dns_servers: Vec<String>,
    /// Search list in force.
    pub domains: Vec<String>,
    /// NTP servers from option 56 (RFC 5908), for the NTP client.
    pub ntp_servers: Vec<String>,
    /// Learned by Information-request (the stateless fallback).
    pub other_config: Option<OtherConfig>,
    /// The last refusal of our IAs while no prefix is bound.
    pub refusal: Option<Refusal>,
    /// SOL_MAX_RT in force, seconds.
    pub sol_max_rt: u64,
    /// What the client counted.
    pub counters: Dhcp6cCounters,
    /// IA_NA addresses put on the WAN as /128 (RFC 7084 W-1).
    pub wan_addresses: Vec<WanAddress>,
    /// Seconds in the current state.
    pub state_age: Option<u64>,
    /// Messages sent since the current state began (Solicits while
    /// soliciting, Renews while renewing, ...).
    pub sent_in_state: u64,
    /// Server answers (replies, refusals included) since then.
    pub replies_in_state: u64,
    /// Seconds since a server last answered; `None`: never.
    pub last_reply_age: Option<u64>,
    /// Why the client is idle, in its own words (`ISP RA has M=0 O=0;
    /// wan.dhcpv6.start = "ra"`); `None` while it runs.
    pub waiting: Option<String>,
}

/// A delegated prefix with lifetimes left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lifetimed {
    /// The prefix.
    pub prefix: String,
    /// Seconds of preferred lifetime left.
    pub preferred_lft: Option<u64>,
    /// Seconds of valid lifetime left.
    pub valid_lft: Option<u64>,
}

/// An IA_NA address with lifetimes left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeasedAddress {
    /// The address.
    pub address: String,
    /// Seconds of preferred lifetime left.
    pub preferred_lft: Option<u64>,
    /// Seconds of valid lifetime left.
    pub valid_lft: Option<u64>,
}

/// Configuration learned by Information-request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OtherConfig {
    /// The server that answered.
    pub server_duid: String,
    /// DNS servers.
    pub dns_servers: Vec<String>,
    /// Search list.
    pub domains: Vec<String>,
    /// Seconds to the next Information-request.
    pub refresh_in: u64,
}

/// The last refusal of our IAs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The server that refused.
    pub server_duid: String,
    /// `IA_PD`, `IA_NA` or `message`.
    pub scope: String,
    /// RFC 8415 status name (`NoPrefixAvail`).
    pub status: String,
    /// Its code.
    pub status_code: u16,
    /// The server's text.
    pub message: String,
    /// Seconds since last seen.
    pub age: u64,
}

/// Traffic and drop counters of the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp6cCounters {
    /// Datagrams handed to the engine.
    pub received: u64,
    /// Messages sent (first transmissions and retransmissions).
    pub transmitted: u64,
    /// Of those, retransmissions.
    pub retransmissions: u64,
    /// Leased addresses that failed duplicate address detection and were
    /// declined.
    pub declined: u64,
    /// Undecodable datagrams, by decode error kind.
    pub malformed: BTreeMap<String, u64>,
    /// Well-formed messages that were not acceptable, by reason.
    pub dropped: BTreeMap<String, u64>,
}

/// An address the client put on the WAN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WanAddress {
    /// The address.
    pub address: String,
    /// `tentative` or `done`.
    pub dad: String,
}

crate::from_json! {
    Dhcp6cStatus { state, interface, duid, server_duid, delegated_prefixes, previous_prefixes, addresses, t1, t2, dns_servers, domains, ntp_servers, other_config, refusal, sol_max_rt, counters, wan_addresses, state_age, sent_in_state,
        replies_in_state, last_reply_age, waiting }
    Lifetimed { prefix, preferred_lft, valid_lft }
    LeasedAddress { address, preferred_lft, valid_lft }
    OtherConfig { server_duid, dns_servers, domains, refresh_in }
    Refusal { server_duid, scope, status, status_code, message, age }
    Dhcp6cCounters { received, transmitted, retransmissions, declined, malformed, dropped }
    WanAddress { address, dad }
}
