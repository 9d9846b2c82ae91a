//! The forwarder's tunables, with defaults that suit a home router. The
//! driver derives them from `[dns]` of the configuration (driver/setup.rs).

use crate::local::LocalConfig;
use std::time::Duration;

/// Tunables; defaults suit a home router.
#[derive(Debug, Clone)]
pub struct ForwarderConfig {
    /// Cache bound in entries (`dns.cache_size`).
    pub cache_size: usize,
    /// Outstanding upstream questions; beyond this clients get SERVFAIL.
    pub max_outstanding: usize,
    /// Clients waiting on one outstanding question.
    pub max_waiters: usize,
    /// Concurrent LAN TCP connections; further ones are closed at once.
    pub max_tcp_clients: usize,
    /// Concurrent LAN TCP connections from one client address, so one host
    /// cannot take every slot.
    pub max_tcp_per_client: usize,
    /// Time a new LAN TCP connection has to deliver its first whole message
    /// (a slowloris that sends nothing, or only a length prefix, is closed).
    pub tcp_first_message: Duration,
    /// Queries in flight per LAN TCP connection.
    pub max_tcp_pipeline: usize,
    /// Idle time after which a LAN TCP connection is closed (RFC 7766 6.2.3).
    pub tcp_idle: Duration,
    /// Total time a query may wait for upstreams before SERVFAIL.
    pub query_deadline: Duration,
    /// Time allowed for a TCP retry of a truncated answer.
    pub upstream_tcp_timeout: Duration,
    /// Interfaces queries may arrive on (indexes); empty = the driver
    /// already restricts sockets to LAN interfaces.
    pub lan_ifaces: Vec<u32>,
    /// Local names.
    pub local: LocalConfig,
}

impl Default for ForwarderConfig {
    fn default() -> ForwarderConfig {
        ForwarderConfig {
            cache_size: 10_000,
            max_outstanding: 2048,
            max_waiters: 64,
            max_tcp_clients: 64,
            max_tcp_per_client: 16,
            tcp_first_message: Duration::from_secs(2),
            max_tcp_pipeline: 32,
            tcp_idle: Duration::from_secs(10),
            query_deadline: Duration::from_secs(4),
            upstream_tcp_timeout: Duration::from_secs(3),
            lan_ifaces: Vec::new(),
            local: LocalConfig::default(),
        }
    }
}
