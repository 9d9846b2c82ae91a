//! The DNS forwarder's status (`cpectl show dns`, the DNS lines of
//! `cpectl status` and `cpectl why`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

/// Everything the console shows about the forwarder.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DnsStatus {
    /// Upstreams with health and latency.
    pub upstreams: Vec<UpstreamStatus>,
    /// Cached entries.
    pub cache_entries: u64,
    /// Cache bound.
    pub cache_capacity: u64,
    /// Cache hits / (hits + misses) since start, 0..1.
    pub cache_hit_rate: f64,
    /// Cache heap bytes per entry.
    pub cache_bytes_per_entry: u64,
    /// Outstanding upstream questions.
    pub outstanding: u64,
    /// Open LAN TCP connections.
    pub tcp_clients: u64,
    /// Queries per second since the previous status snapshot.
    pub queries_per_second: f64,
    /// Counters, including drops by reason.
    pub counters: DnsCounters,
    /// Host names of DHCPv4 leases answered under the local domain.
    pub lease_names: u64,
    /// Lease names refused (not a label, the router's, a configured
    /// host's, or held by another lease); each is logged once.
    pub lease_names_refused: u64,
    /// UDP answers the kernel refused to send (the driver's count).
    pub udp_send_errors: u64,
    /// LAN TCP connections refused because the table was full (driver).
    pub tcp_overflows: u64,
    /// LAN TCP connections closed because the client stopped reading
    /// (driver).
    pub tcp_stalled: u64,
}

/// One upstream server.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpstreamStatus {
    /// Address (RFC 5952 for IPv6).
    pub address: String,
    /// "up" or "down".
    pub health: String,
    /// Smoothed round-trip time in milliseconds, if measured.
    pub srtt_ms: Option<f64>,
    /// Queries sent.
    pub queries: u64,
    /// Answers accepted.
    pub answers: u64,
    /// Failed attempts.
    pub failures: u64,
    /// Failed TCP attempts (refused, reset, timed out).
    pub tcp_failures: u64,
}

impl UpstreamStatus {
    /// The server's address alone: the forwarder reports a socket address
    /// (`[2001:db8::53]:53`), the WAN an address.
    pub fn host(&self) -> String {
        self.address
            .parse::<std::net::SocketAddr>()
            .map_or_else(|_| self.address.clone(), |a| a.ip().to_string())
    }
}

/// Query counters; the forwarder's engine counts into this struct.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DnsCounters {
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
    /// Drops by reason (the names of the forwarder's `DropReason`).
    pub drops: BTreeMap<Cow<'static, str>, u64>,
}

impl DnsCounters {
    /// Counts one drop under `reason`.
    pub fn drop_for(&mut self, reason: &'static str) {
        let n = self.drops.entry(Cow::Borrowed(reason)).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Drops counted under `reason`.
    pub fn drops_of(&self, reason: &str) -> u64 {
        self.drops.get(reason).copied().unwrap_or(0)
    }

    /// Total queries received.
    pub fn queries(&self) -> u64 {
        self.queries_udp + self.queries_tcp
    }
}

crate::from_json! {
    DnsStatus {
        upstreams, cache_entries, cache_capacity, cache_hit_rate, cache_bytes_per_entry,
        outstanding, tcp_clients, queries_per_second, counters, lease_names,
        lease_names_refused, udp_send_errors, tcp_overflows, tcp_stalled
    }
    UpstreamStatus { address, health, srtt_ms, queries, answers, failures, tcp_failures }
    DnsCounters { queries_udp, queries_tcp, answered_local, answered_cache, answered_upstream, joined, upstream_queries, upstream_truncated, upstream_tcp_failed, upstream_tcp_skipped, attempts_capped, all_down_queries, truncated_to_client, error_responses, servfail, drops }
}
