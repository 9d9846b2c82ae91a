//! What one LAN's Router Advertisements say and how often, plus the RFC
//! constants that bound it.
//!
//! This is the engine's own view of the `[lan.ra]` section: the driver maps
//! the validated router configuration onto it, so the engine can be built
//! and tested without the configuration crate. [`RaConfig::sanitized`] clamps
//! values into RFC 4861 6.2.1 ranges as a last line of defence; the
//! configuration validator is where users get told.

use std::net::Ipv6Addr;
use std::time::Duration;

use cpe_wire::nd::{DomainName, RouterPreference};
use ipnet::Ipv6Net;

/// RFC 4861 10: unsolicited RAs sent fast after an interface starts
/// advertising (or its information changes).
pub const MAX_INITIAL_RTR_ADVERTISEMENTS: u8 = 3;
/// RFC 4861 10: cap on the interval between those initial RAs.
pub const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
/// RFC 4861 10: at most one multicast RA per this interval.
pub const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 10: upper bound of the random delay before answering an RS.
pub const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);
/// RFC 9096 (ND_PREFERRED_LIMIT): cap on advertised PIO preferred lifetime.
pub const ND_PREFERRED_LIMIT: u32 = 2700;
/// RFC 9096 (ND_VALID_LIMIT): cap on advertised PIO valid lifetime.
pub const ND_VALID_LIMIT: u32 = 5400;
/// RFC 4861 6.2.1: largest allowed AdvDefaultLifetime.
pub const MAX_ROUTER_LIFETIME: u16 = 9000;
/// How long prefixes remembered from before a restart wait for the first
/// delegation before being deprecated anyway (the WAN may never come back).
pub const REMEMBERED_GRACE: Duration = Duration::from_secs(60);

/// The MTU option's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtuSetting {
    /// Advertise the WAN MTU (1492/1454 on PPPoE) so LAN hosts never send
    /// packets the uplink must fragment or drop.
    Auto,
    /// Advertise this value.
    Fixed(u32),
    /// No MTU option.
    Off,
}

/// One RDNSS entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsServer {
    /// The router's own LAN address (whatever the current prefixes make it).
    SelfAddress,
    /// A fixed address.
    Address(Ipv6Addr),
}

/// Router Advertisement settings for one LAN interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaConfig {
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// Default router preference (RFC 4191).
    pub preference: RouterPreference,
    /// MinRtrAdvInterval.
    pub min_interval: Duration,
    /// MaxRtrAdvInterval.
    pub max_interval: Duration,
    /// AdvDefaultLifetime in seconds while the WAN has a default route.
    pub router_lifetime: u16,
    /// Hop limit suggested to hosts.
    pub cur_hop_limit: u8,
    /// MTU option.
    pub mtu: MtuSetting,
    /// RDNSS entries.
    pub rdnss: Vec<DnsServer>,
    /// DNSSL entries.
    pub dnssl: Vec<DomainName>,
    /// Static /64s advertised in addition to the delegated ones.
    pub static_prefixes: Vec<Ipv6Net>,
    /// PIO A flag of every prefix (RFC 7084 L-6: set by default; L-7: user
    /// configurable).
    pub autonomous: bool,
    /// PIO L flag of every prefix (RFC 7084 L-6/L-7).
    pub on_link: bool,
}

impl Default for RaConfig {
    /// The defaults of the configuration language (`[lan.ra]`).
    fn default() -> Self {
        RaConfig {
            managed: false,
            other_config: true,
            preference: RouterPreference::Medium,
            min_interval: Duration::from_secs(200),
            max_interval: Duration::from_secs(600),
            router_lifetime: 1800,
            cur_hop_limit: 64,
            mtu: MtuSetting::Auto,
            rdnss: vec![DnsServer::SelfAddress],
            dnssl: DomainName::parse("lan").into_iter().collect(),
            static_prefixes: Vec::new(),
            autonomous: true,
            on_link: true,
        }
    }
}

impl RaConfig {
    /// A copy with every value forced into RFC 4861 6.2.1 ranges:
    /// MaxRtrAdvInterval 4..=1800 s, MinRtrAdvInterval 3 s..=0.75*Max,
    /// router lifetime 0 or Max..=9000 s; non-/64 static prefixes dropped
    /// (hosts ignore them for SLAAC, field lesson).
    pub fn sanitized(&self) -> RaConfig {
        let mut c = self.clone();
        c.max_interval = c
            .max_interval
            .clamp(Duration::from_secs(4), Duration::from_secs(1800));
        let min_cap = c.max_interval.mul_f64(0.75);
        c.min_interval = c.min_interval.clamp(Duration::from_secs(3), min_cap);
        if c.router_lifetime != 0 {
            let max_secs = u16::try_from(c.max_interval.as_secs()).unwrap_or(MAX_ROUTER_LIFETIME);
            c.router_lifetime = c.router_lifetime.clamp(max_secs, MAX_ROUTER_LIFETIME);
        }
        c.static_prefixes.retain(|p| p.prefix_len() == 64);
        c.static_prefixes = c.static_prefixes.iter().map(|p| p.trunc()).collect();
        c
    }

    /// RDNSS/DNSSL/RIO lifetime: RFC 8106 wants at least MaxRtrAdvInterval
    /// and recommends three times it, so one lost RA does not drop DNS.
    pub fn dns_lifetime(&self) -> u32 {
        u32::try_from(self.max_interval.as_secs().saturating_mul(3)).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_enforces_rfc_4861_ranges() {
        let c = RaConfig {
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(3600),
            router_lifetime: 60,
            static_prefixes: vec![
                "2001:db8::/48".parse().unwrap(),
                "2001:db8:0:1::5/64".parse().unwrap(),
            ],
            ..RaConfig::default()
        }
        .sanitized();
        assert_eq!(c.max_interval, Duration::from_secs(1800));
        assert_eq!(c.min_interval, Duration::from_secs(3));
        assert_eq!(c.router_lifetime, 1800);
        assert_eq!(
            c.static_prefixes,
            vec!["2001:db8:0:1::/64".parse::<Ipv6Net>().unwrap()]
        );
        let c = RaConfig {
            min_interval: Duration::from_secs(590),
            ..RaConfig::default()
        }
        .sanitized();
        assert_eq!(c.min_interval, Duration::from_secs(450));
        assert_eq!(c.dns_lifetime(), 1800);
        let zero = RaConfig {
            router_lifetime: 0,
            ..RaConfig::default()
        }
        .sanitized();
        assert_eq!(zero.router_lifetime, 0);
    }
}
