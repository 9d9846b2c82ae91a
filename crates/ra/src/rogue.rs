//! Other routers advertising on our LAN (the most common LAN incident: a PC
//! sharing its connection, a second home router plugged in backwards).
//!
//! Each source is reported once (so a rogue sending every few seconds does
//! not flood the log) and then tracked in the status with its latest content.
//! The table is bounded: RAs are easy to spoof from many source addresses.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Instant;

use cpe_bus::status::ra::RogueRouter;
use cpe_wire::nd::{RouterAdvertisement, RouterPreference};

/// Sources tracked individually; further ones are only counted.
pub const MAX_ROGUE_SOURCES: usize = 32;

/// What a rogue RA said, in the shape field engineers need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RogueSummary {
    /// Link-local source address of the RA.
    pub source: Ipv6Addr,
    /// Its Source Link-Layer Address option as `aa:bb:..`, if any.
    pub link_layer_address: Option<String>,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// RFC 4191 preference.
    pub preference: &'static str,
    /// Router lifetime in seconds (0 = does not offer a default route).
    pub router_lifetime: u16,
    /// PIOs as `prefix/len` with flags and lifetimes.
    pub prefixes: Vec<String>,
    /// RDNSS addresses.
    pub dns_servers: Vec<Ipv6Addr>,
    /// Why the RA could not be decoded, if it could not: we drop it, but
    /// hosts with a lenient parser may still act on its header, so it is
    /// reported all the same (only the fixed header is then known).
    pub malformed: Option<&'static str>,
    /// How long what this RA told the hosts holds, in seconds: the longest
    /// of its router lifetime and the lifetimes of its prefixes, routes
    /// and DNS options; `None` for infinite or unknown (a malformed RA).
    /// A router that went quiet is still a problem until then (hosts keep
    /// its route and addresses), and only history after.
    pub holds_secs: Option<u32>,
}

/// The longest lifetime an RA gives hosts (see [`RogueSummary::holds_secs`]).
fn holds_secs(ra: &RouterAdvertisement) -> Option<u32> {
    let longest = ra
        .prefixes()
        .map(|p| p.valid_lifetime)
        .chain(ra.routes().map(|r| r.route_lifetime))
        .chain(ra.rdnss().map(|r| r.lifetime))
        .chain(ra.dnssl().map(|d| d.lifetime))
        .fold(u32::from(ra.router_lifetime), u32::max);
    (longest != u32::MAX).then_some(longest)
}

impl RogueSummary {
    /// Summarises a decoded RA from `source`.
    pub fn new(source: Ipv6Addr, ra: &RouterAdvertisement) -> Self {
        RogueSummary {
            source,
            link_layer_address: ra.source_link_layer_address().map(|b| {
                b.iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            }),
            managed: ra.managed,
            other_config: ra.other_config,
            preference: ra.preference.as_str(),
            router_lifetime: ra.router_lifetime,
            prefixes: ra
                .prefixes()
                .map(|p| {
                    format!(
                        "{}/{} L={} A={} valid={} preferred={}",
                        p.prefix,
                        p.prefix_len,
                        u8::from(p.on_link),
                        u8::from(p.autonomous),
                        p.valid_lifetime,
                        p.preferred_lifetime
                    )
                })
                .collect(),
            dns_servers: ra.dns_servers().copied().collect(),
            malformed: None,
            holds_secs: holds_secs(ra),
        }
    }

    /// Summarises an RA that failed to decode, from its fixed header
    /// (flags and lifetime are left at "unknown" defaults if even that is
    /// truncated).
    pub fn malformed(source: Ipv6Addr, message: &[u8], reason: &'static str) -> Self {
        let flags = message.get(5).copied().unwrap_or(0);
        let lifetime = match message.get(6..8) {
            Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
            _ => 0,
        };
        RogueSummary {
            source,
            link_layer_address: None,
            managed: flags & 0x80 != 0,
            other_config: flags & 0x40 != 0,
            preference: RouterPreference::from_bits(flags >> 3).as_str(),
            router_lifetime: lifetime,
            prefixes: Vec::new(),
            dns_servers: Vec::new(),
            malformed: Some(reason),
            holds_secs: None,
        }
    }

    /// Whether hosts would take it as a default router over ours (same or
    /// higher preference and a non-zero lifetime): the dangerous case.
    pub fn competes_for_default(&self, ours: RouterPreference) -> bool {
        let rank = |p: &str| match p {
            "high" => 2,
            "low" => 0,
            _ => 1,
        };
        self.router_lifetime > 0 && rank(self.preference) >= rank(ours.as_str())
    }
}

#[derive(Debug, Clone)]
struct Seen {
    first_seen: Instant,
    last_seen: Instant,
    count: u64,
    latest: RogueSummary,
}

/// Rogue sources seen on one LAN.
#[derive(Debug, Clone, Default)]
pub struct RogueWatch {
    sources: BTreeMap<Ipv6Addr, Seen>,
    /// RAs from sources beyond the table's bound.
    untracked: u64,
}

impl RogueWatch {
    /// Records an RA from a foreign router; returns the summary if this
    /// source is new (to be reported once).
    pub fn observe(&mut self, summary: RogueSummary, now: Instant) -> Option<RogueSummary> {
        let source = summary.source;
        if let Some(seen) = self.sources.get_mut(&source) {
            seen.last_seen = now;
            seen.count = seen.count.saturating_add(1);
            seen.latest = summary;
            return None;
        }
        if self.sources.len() >= MAX_ROGUE_SOURCES {
            self.untracked = self.untracked.saturating_add(1);
            return None;
        }
        self.sources.insert(
            source,
            Seen {
                first_seen: now,
                last_seen: now,
                count: 1,
                latest: summary.clone(),
            },
        );
        Some(summary)
    }

    /// RAs from sources beyond [`MAX_ROGUE_SOURCES`].
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// Total rogue RAs received.
    pub fn total(&self) -> u64 {
        self.sources
            .values()
            .map(|s| s.count)
            .fold(self.untracked, u64::saturating_add)
    }

    /// Per-source status at `now`.
    pub fn status(&self, now: Instant) -> Vec<RogueRouter> {
        self.sources
            .values()
            .map(|s| RogueRouter {
                source: Some(s.latest.source),
                link_layer_address: s.latest.link_layer_address.clone(),
                managed: s.latest.managed,
                other_config: s.latest.other_config,
                preference: s.latest.preference.into(),
                router_lifetime: s.latest.router_lifetime,
                prefixes: s.latest.prefixes.clone(),
                dns_servers: s.latest.dns_servers.clone(),
                malformed: s.latest.malformed.map(Into::into),
                count: s.count,
                first_seen_secs_ago: now.saturating_duration_since(s.first_seen).as_secs(),
                last_seen_secs_ago: now.saturating_duration_since(s.last_seen).as_secs(),
                holds_secs_left: s.latest.holds_secs.map(|h| {
                    u64::from(h)
                        .saturating_sub(now.saturating_duration_since(s.last_seen).as_secs())
                }),
            })
            .collect()
    }
}
