//! What the server did, for `cpectl show dhcp4s`.

use std::collections::BTreeMap;

use cpe_bus::status::dhcp4s::Dhcp4sCounters;
use cpe_bus::status::named_counts;

/// Counters of one LAN's server. Keys are stable words an engineer greps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams received.
    pub received: u64,
    /// Well-formed requests by message type (`discover`, `request`, ...).
    pub requests: BTreeMap<&'static str, u64>,
    /// Replies sent by type (`offer`, `ack`, `nak`).
    pub replies: BTreeMap<&'static str, u64>,
    /// Dropped datagrams by reason.
    pub drops: BTreeMap<&'static str, u64>,
    /// Replies decided but not sent, by reason: `send_buffer_full` (the
    /// loop never waits for room) or `send_error`.
    pub unsent: BTreeMap<&'static str, u64>,
}

impl Counters {
    /// Counts a drop.
    pub fn drop(&mut self, reason: &'static str) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }

    /// Counts a request.
    pub fn request(&mut self, kind: &'static str) {
        *self.requests.entry(kind).or_insert(0) += 1;
    }

    /// Counts a reply.
    pub fn reply(&mut self, kind: &'static str) {
        *self.replies.entry(kind).or_insert(0) += 1;
    }

    /// Counts a reply that could not be sent.
    pub fn unsent(&mut self, reason: &'static str) {
        *self.unsent.entry(reason).or_insert(0) += 1;
    }

    /// Total drops.
    pub fn dropped(&self) -> u64 {
        self.drops.values().sum()
    }

    /// Total replies.
    pub fn replied(&self) -> u64 {
        self.replies.values().sum()
    }

    /// As published for the console.
    pub fn to_status(&self) -> Dhcp4sCounters {
        Dhcp4sCounters {
            received: self.received,
            requests: named_counts(&self.requests),
            replies: named_counts(&self.replies),
            dropped: self.dropped(),
            drops: named_counts(&self.drops),
            unsent: named_counts(&self.unsent),
        }
    }
}
