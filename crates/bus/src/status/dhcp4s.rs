//! The DHCPv4 server's status (`cpectl show dhcp4s`, the DHCPv4 lines of
//! `cpectl show lan`).

use std::collections::BTreeMap;

use serde::Serialize;

/// The daemon's whole status object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp4sStatus {
    /// One entry per LAN interface.
    pub lans: Vec<Dhcp4sLanStatus>,
}

/// The server on one LAN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp4sLanStatus {
    /// The LAN interface.
    pub interface: String,
    /// Whether UDP 67 is open.
    pub listening: bool,
    /// The router's own address on the LAN.
    pub address: String,
    /// `first-last`.
    pub pool: String,
    /// Addresses in the pool.
    pub pool_size: Option<u64>,
    /// Lease time offered, seconds.
    pub lease_time: Option<u32>,
    /// Domain name handed out (option 15).
    pub domain: Option<String>,
    /// NTP servers handed out in option 42 to clients that ask (the WAN's,
    /// `wan.ntp_servers`); empty: none known, option 42 not sent.
    pub ntp: Vec<String>,
    /// Leases bound.
    pub bound: Option<u64>,
    /// Leases offered and not yet requested.
    pub offered: Option<u64>,
    /// Addresses a client declined (in use by someone else).
    pub declined: Option<u64>,
    /// Every lease that is not free.
    pub leases: Vec<Dhcp4sLease>,
    /// What the server did.
    pub counters: Dhcp4sCounters,
    /// The lease file on flash.
    pub lease_file: LeaseFile,
}

/// One lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp4sLease {
    /// The address.
    pub address: String,
    /// The client's hardware address.
    pub mac: String,
    /// Its client identifier.
    pub client: String,
    /// Host name it gave (option 12).
    pub hostname: Option<String>,
    /// `offered`, `bound`, `declined`...
    pub state: String,
    /// Seconds until it ends.
    pub expires_in: Option<u64>,
}

/// Counters of one LAN's server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp4sCounters {
    /// Datagrams received.
    pub received: u64,
    /// Well-formed requests by message type (`discover`, `request`, ...).
    pub requests: BTreeMap<String, u64>,
    /// Replies sent by type (`offer`, `ack`, `nak`).
    pub replies: BTreeMap<String, u64>,
    /// All drops.
    pub dropped: u64,
    /// Dropped datagrams by reason.
    pub drops: BTreeMap<String, u64>,
    /// Replies decided but not sent, by reason.
    pub unsent: BTreeMap<String, u64>,
}

/// Writes of the lease file (flash wear is counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaseFile {
    /// Writes since start.
    pub writes: u64,
    /// A write is waiting (coalesced or retrying).
    pub pending: bool,
}

crate::from_json! {
    Dhcp4sStatus { lans }
    Dhcp4sLanStatus { interface, listening, address, pool, pool_size, lease_time, domain, ntp, bound, offered, declined, leases, counters, lease_file }
    Dhcp4sLease { address, mac, client, hostname, state, expires_in }
    Dhcp4sCounters { received, requests, replies, dropped, drops, unsent }
    LeaseFile { writes, pending }
}
