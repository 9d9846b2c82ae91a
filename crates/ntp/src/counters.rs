//! What the client counted, for `cpectl show ntp`.

use std::collections::BTreeMap;

/// Counters of the client. Keys are stable snake_case words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests sent.
    pub sent: u64,
    /// Datagrams received (before any check).
    pub received: u64,
    /// Replies whose sample was used.
    pub accepted: u64,
    /// Requests that got no usable reply before the next one.
    pub timeouts: u64,
    /// Kiss-o'-Death packets by code (`RATE`, `DENY`, ...).
    pub kisses: BTreeMap<String, u64>,
    /// Dropped datagrams by reason (`wrong_source`, `bogus_origin`, ...).
    pub drops: BTreeMap<&'static str, u64>,
    /// Clock steps performed.
    pub steps: u64,
}

impl Counters {
    /// Counts a drop.
    pub fn drop(&mut self, reason: &'static str) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }

    /// Total drops.
    pub fn dropped(&self) -> u64 {
        self.drops.values().sum()
    }

    /// The typed counters of the status shown by the console.
    pub fn to_status(&self) -> cpe_bus::status::ntp::NtpCounters {
        cpe_bus::status::ntp::NtpCounters {
            sent: self.sent,
            received: self.received,
            accepted: self.accepted,
            timeouts: self.timeouts,
            kisses: self.kisses.clone(),
            dropped: self.dropped(),
            drops: self
                .drops
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            steps: self.steps,
        }
    }
}
