//! What the RA engine of one LAN counts, shown in its status.

use std::collections::BTreeMap;

use serde::Serialize;

/// Event counters since the daemon started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
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
    pub dropped: BTreeMap<&'static str, u64>,
    /// RAs that could not be encoded (should stay 0).
    pub encode_errors: u64,
    /// Options left out of RAs to keep them unfragmented (should stay 0).
    pub options_skipped: u64,
}

impl Counters {
    /// Counts one dropped input.
    pub fn drop_for(&mut self, reason: &'static str) {
        let n = self.dropped.entry(reason).or_insert(0);
        *n = n.saturating_add(1);
    }
}
