//! What the server did, for `cpectl show dhcp6s`.

use std::collections::BTreeMap;

use cpe_bus::status::dhcp6s::Dhcp6sCounters;
use cpe_bus::status::named_counts;

/// Counters of one LAN's server. Keys are stable snake_case words an
/// engineer can grep for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams received (before any check).
    pub received: u64,
    /// Well-formed requests by message type name.
    pub requests: BTreeMap<&'static str, u64>,
    /// Replies sent.
    pub replies: u64,
    /// Dropped datagrams by reason.
    pub drops: BTreeMap<&'static str, u64>,
    /// Replies decided but not sent, by reason: `send_buffer_full` (the
    /// socket's buffer was full, typically of replies to spoofed sources
    /// waiting for Neighbour Discovery; the loop never waits for room)
    /// or `send_error`.
    pub unsent: BTreeMap<&'static str, u64>,
}

impl Counters {
    /// Counts a drop.
    pub fn drop(&mut self, reason: &'static str) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }

    /// Counts a well-formed request.
    pub fn request(&mut self, kind: &'static str) {
        *self.requests.entry(kind).or_insert(0) += 1;
    }

    /// Counts a reply that could not be sent.
    pub fn unsent(&mut self, reason: &'static str) {
        *self.unsent.entry(reason).or_insert(0) += 1;
    }

    /// Total drops.
    pub fn dropped(&self) -> u64 {
        self.drops.values().sum()
    }

    /// As published for the console.
    pub fn to_status(&self) -> Dhcp6sCounters {
        Dhcp6sCounters {
            received: self.received,
            requests: named_counts(&self.requests),
            replies: self.replies,
            dropped: self.dropped(),
            drops: named_counts(&self.drops),
            unsent: named_counts(&self.unsent),
        }
    }
}
