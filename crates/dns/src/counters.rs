//! Counters shown by `cpectl show dns`: every dropped packet is counted
//! under the reason it was dropped, so a field engineer can tell a spoofing
//! attempt from a broken client from an overloaded router.

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

/// The forwarder's counters: the status struct of `cpe-bus`, counted into
/// directly.
pub type Counters = cpe_bus::status::dns::DnsCounters;

/// Counting by [`DropReason`] into [`Counters`].
pub trait CountDrops {
    /// Counts one drop.
    fn drop(&mut self, reason: DropReason);
    /// Drops counted under `reason`.
    fn drops_by(&self, reason: DropReason) -> u64;
}

impl CountDrops for Counters {
    fn drop(&mut self, reason: DropReason) {
        self.drop_for(reason.name());
    }

    fn drops_by(&self, reason: DropReason) -> u64 {
        self.drops_of(reason.name())
    }
}
