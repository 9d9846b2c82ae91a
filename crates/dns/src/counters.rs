//! Counters shown by `cpectl show dns`: every dropped packet is counted
//! under the reason it was dropped, so a field engineer can tell a spoofing
//! attempt from a broken client from an overloaded router.

use serde::Serialize;
use std::collections::BTreeMap;

/// Why a packet or query was dropped (or answered with SERVFAIL instead of
/// being forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// A client packet too short or broken to even answer with FORMERR.
    ClientMalformed,
    /// A response arrived on the listening port (possible reflection loop).
    ClientNotQuery,
    /// A query arrived on an interface that is not a LAN interface.
    NotLan,
    /// The outstanding-query table is full; the client got SERVFAIL.
    TableFull,
    /// Too many clients already wait for the same question.
    TooManyWaiters,
    /// The TCP client table is full; the connection was closed.
    TcpClientsFull,
    /// One client address already holds its share of TCP connections.
    TcpPerClientFull,
    /// A TCP connection delivered no whole message in time and was closed.
    TcpNoMessage,
    /// Too many pipelined queries on one TCP connection.
    TcpPipelineFull,
    /// No upstream is configured or learned yet; the client got SERVFAIL.
    NoUpstream,
    /// No upstream answered in time; waiting clients got SERVFAIL.
    UpstreamTimeout,
    /// Every upstream is marked down and none answered its short try;
    /// waiting clients got SERVFAIL.
    UpstreamsDown,
    /// The answer was truncated over UDP and TCP to that upstream failed or
    /// is backing off; waiting clients got SERVFAIL.
    UpstreamNoTcp,
    /// Reply on a socket with no outstanding query (late or unsolicited).
    UnknownSocket,
    /// Reply from an address/port other than the one queried (spoofing).
    WrongSource,
    /// Reply with a transaction ID other than the one sent (spoofing).
    WrongId,
    /// Reply whose question differs from the one asked (spoofing).
    WrongQuestion,
    /// Reply that could not be parsed.
    UpstreamMalformed,
    /// A client retransmitted a query that is already waiting.
    DuplicateQuery,
}

impl DropReason {
    /// Stable snake_case name used as the counter key in status output.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::ClientMalformed => "client_malformed",
            DropReason::ClientNotQuery => "client_not_query",
            DropReason::NotLan => "not_lan",
            DropReason::TableFull => "table_full",
            DropReason::TooManyWaiters => "too_many_waiters",
            DropReason::TcpClientsFull => "tcp_clients_full",
            DropReason::TcpPerClientFull => "tcp_per_client_full",
            DropReason::TcpNoMessage => "tcp_no_message",
            DropReason::TcpPipelineFull => "tcp_pipeline_full",
            DropReason::NoUpstream => "no_upstream",
            DropReason::UpstreamTimeout => "upstream_timeout",
            DropReason::UpstreamsDown => "upstreams_down",
            DropReason::UpstreamNoTcp => "upstream_no_tcp",
            DropReason::UnknownSocket => "unknown_socket",
            DropReason::WrongSource => "wrong_source",
            DropReason::WrongId => "wrong_id",
            DropReason::WrongQuestion => "wrong_question",
            DropReason::UpstreamMalformed => "upstream_malformed",
            DropReason::DuplicateQuery => "duplicate_query",
        }
    }
}

/// Query counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Queries received over UDP.
    pub queries_udp: u64,
    /// Queries received over TCP.
    pub queries_tcp: u64,
    /// Answered from local names.
    pub answered_local: u64,
    /// Answered from the cache.
    pub answered_cache: u64,
    /// Answered from a fresh upstream reply.
    pub answered_upstream: u64,
    /// Joined an identical outstanding upstream query.
    pub joined: u64,
    /// Upstream queries sent (UDP and TCP, including retries).
    pub upstream_queries: u64,
    /// Upstream replies that were truncated and retried over TCP.
    pub upstream_truncated: u64,
    /// TCP attempts to upstreams that failed (refused, reset, timed out).
    pub upstream_tcp_failed: u64,
    /// Truncated upstream answers not retried over TCP because that
    /// upstream's TCP is backing off after a failure or already had its
    /// TCP connections for this second.
    pub upstream_tcp_skipped: u64,
    /// Questions that reached the per-question attempt cap.
    pub attempts_capped: u64,
    /// Questions that arrived while every upstream was marked down (each got
    /// one short try per upstream, then SERVFAIL if nothing answered).
    pub all_down_queries: u64,
    /// Responses to clients that were truncated to fit their UDP size.
    pub truncated_to_client: u64,
    /// FORMERR/NOTIMP/REFUSED/BADVERS answers to bad queries.
    pub error_responses: u64,
    /// SERVFAIL answers (no upstream, timeouts, table full).
    pub servfail: u64,
    /// Drops by reason.
    #[serde(serialize_with = "serialize_drops")]
    pub drops: BTreeMap<DropReason, u64>,
}

fn serialize_drops<S: serde::Serializer>(
    drops: &BTreeMap<DropReason, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(drops.len()))?;
    for (k, v) in drops {
        m.serialize_entry(k.name(), v)?;
    }
    m.end()
}

impl Counters {
    /// Counts one drop.
    pub fn drop(&mut self, reason: DropReason) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }

    /// Drops counted under `reason`.
    pub fn drops_of(&self, reason: DropReason) -> u64 {
        self.drops.get(&reason).copied().unwrap_or(0)
    }

    /// Total queries received.
    pub fn queries(&self) -> u64 {
        self.queries_udp + self.queries_tcp
    }
}
