//! Counters an engineer reads on the console: what was sent, what was
//! dropped and why.

use std::collections::BTreeMap;

use serde::Serialize;

/// Traffic and drop counters of one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
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
    pub malformed: BTreeMap<&'static str, u64>,
    /// Well-formed messages that were not acceptable, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
}

/// Why a well-formed message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not an Advertise or Reply (clients receive nothing else we act on).
    UnexpectedType,
    /// No exchange in progress that the message could answer.
    NoExchange,
    /// Transaction id does not match the exchange in progress.
    WrongTransactionId,
    /// No Server Identifier, or more than one.
    BadServerId,
    /// No Client Identifier, more than one, or not ours.
    BadClientId,
    /// A Reply from a server other than the one the message was sent to.
    WrongServer,
    /// A Reply to Solicit without Rapid Commit, or when we did not offer it.
    ReplyWithoutRapidCommit,
    /// An Advertise offering neither prefix nor address (ignored per 18.2.9).
    AdvertiseWithoutLeases,
    /// A Reply with a failure status at message level (kept retransmitting).
    ReplyFailureStatus,
    /// A Reply that answered none of our IAs (kept retransmitting).
    ReplyWithoutIa,
}

impl DropReason {
    /// Counter key.
    pub fn name(self) -> &'static str {
        match self {
            Self::UnexpectedType => "unexpected_type",
            Self::NoExchange => "no_exchange",
            Self::WrongTransactionId => "wrong_transaction_id",
            Self::BadServerId => "bad_server_id",
            Self::BadClientId => "bad_client_id",
            Self::WrongServer => "wrong_server",
            Self::ReplyWithoutRapidCommit => "reply_without_rapid_commit",
            Self::AdvertiseWithoutLeases => "advertise_without_leases",
            Self::ReplyFailureStatus => "reply_failure_status",
            Self::ReplyWithoutIa => "reply_without_ia",
        }
    }
}

impl Counters {
    pub(crate) fn malformed(&mut self, kind: &'static str) {
        *self.malformed.entry(kind).or_default() += 1;
    }

    pub(crate) fn drop(&mut self, reason: DropReason) {
        *self.dropped.entry(reason.name()).or_default() += 1;
    }

    /// As published for the console.
    pub fn to_status(&self) -> cpe_bus::status::dhcp6c::Dhcp6cCounters {
        cpe_bus::status::dhcp6c::Dhcp6cCounters {
            received: self.received,
            transmitted: self.transmitted,
            retransmissions: self.retransmissions,
            declined: self.declined,
            malformed: cpe_bus::status::named_counts(&self.malformed),
            dropped: cpe_bus::status::named_counts(&self.dropped),
        }
    }

    /// Messages that were a server's answer to us, a refusal included:
    /// what was received less what was undecodable or not for our
    /// exchange. The console's "N replies" (a server that answers "no" is
    /// not a server that is gone).
    pub fn answers(&self) -> u64 {
        let not_ours: u64 = [
            DropReason::UnexpectedType,
            DropReason::NoExchange,
            DropReason::WrongTransactionId,
            DropReason::BadServerId,
            DropReason::BadClientId,
            DropReason::WrongServer,
        ]
        .iter()
        .filter_map(|r| self.dropped.get(r.name()))
        .sum();
        let malformed: u64 = self.malformed.values().sum();
        self.received
            .saturating_sub(not_ours)
            .saturating_sub(malformed)
    }

    /// Total drops of either kind (the driver logs when this moves).
    pub fn total_dropped(&self) -> u64 {
        self.malformed.values().chain(self.dropped.values()).sum()
    }
}
