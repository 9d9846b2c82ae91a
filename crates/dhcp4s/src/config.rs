//! What one LAN's server hands out, from `[lan.ipv4]` and `dns.local_domain`.

use std::net::Ipv4Addr;
use std::time::Duration;

use cpe_config::LanIpv4;
use ipnet::Ipv4Net;

/// How long an offered address is held for the client that was offered it
/// (RFC 2131 4.3.1 leaves it to the server; clients answer within seconds).
pub const OFFER_HOLD: Duration = Duration::from_secs(60);

/// The offer hold while many newcomers hold offers (at least half of
/// [`PoolConfig::newcomer_offer_limit`]): an honest client sends its
/// REQUEST within a second or two of the OFFER (RFC 2131 4.4.1), so 10 s is
/// still ample, and addresses held by a flood of made-up clients come back
/// six times sooner.
pub const OFFER_HOLD_UNDER_PRESSURE: Duration = Duration::from_secs(10);

/// Smallest [`PoolConfig::newcomer_offer_limit`]: a handful of devices
/// booting together after a power cut must all get offers at once.
pub const MIN_NEWCOMER_OFFERS: u64 = 8;

/// How long a declined address stays out of the pool (RFC 2131 4.3.3: the
/// server marks it unavailable; someone squats on it, so retrying soon
/// would only hand the conflict to the next client).
pub const DECLINE_QUARANTINE: Duration = Duration::from_secs(600);

/// The server's settings for one LAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The router's address and the LAN subnet (`lan.ipv4.address`).
    pub address: Ipv4Net,
    /// First and last address handed out, inclusive.
    pub pool: (Ipv4Addr, Ipv4Addr),
    /// Lease time, seconds.
    pub lease_time: u32,
    /// Option 15 and 119 (`dns.local_domain`); `None` sends neither.
    pub domain: Option<String>,
}

impl PoolConfig {
    /// From the validated config.
    pub fn from_lan(v4: &LanIpv4, local_domain: &str) -> Self {
        Self {
            address: v4.address,
            pool: v4.pool,
            lease_time: v4.lease_time,
            domain: (!local_domain.is_empty()).then(|| local_domain.to_string()),
        }
    }

    /// The router's own address: server identifier, router and DNS server.
    pub fn server_address(&self) -> Ipv4Addr {
        self.address.addr()
    }

    /// Whether `a` may be handed out: inside the pool and the subnet, not
    /// the router, the network or the broadcast address.
    pub fn in_pool(&self, a: Ipv4Addr) -> bool {
        let net = self.address.trunc();
        a >= self.pool.0
            && a <= self.pool.1
            && net.contains(&a)
            && a != self.server_address()
            && a != net.network()
            && a != net.broadcast()
    }

    /// Whether `a` is on this LAN at all.
    pub fn on_subnet(&self, a: Ipv4Addr) -> bool {
        self.address.trunc().contains(&a)
    }

    /// Number of addresses in the pool (for status).
    pub fn pool_size(&self) -> u64 {
        let (s, e) = (u32::from(self.pool.0), u32::from(self.pool.1));
        if e < s { 0 } else { u64::from(e - s) + 1 }
    }

    /// How many offers to clients the server does not remember may be
    /// outstanding at once: a quarter of the pool, at least
    /// [`MIN_NEWCOMER_OFFERS`]. DISCOVERs come from 0.0.0.0 with whatever
    /// hardware address the sender makes up, so the only source a server
    /// can bound them by is the LAN itself; this keeps a flood from holding
    /// more than a quarter of the pool, and clients with a remembered
    /// address are never limited.
    pub fn newcomer_offer_limit(&self) -> usize {
        usize::try_from((self.pool_size() / 4).max(MIN_NEWCOMER_OFFERS)).unwrap_or(usize::MAX)
    }

    /// The lease time as a duration.
    pub fn lease_duration(&self) -> Duration {
        Duration::from_secs(u64::from(self.lease_time))
    }
}
